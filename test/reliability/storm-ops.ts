/**
 * The operations of the reliability storm (storm.integration.test.ts), each a write with unique
 * ids or a read whose answer is known: a one-shot INSERT (extended or simple protocol, some with
 * a tight `timeout`), several INSERTs in one `withTransaction`, a COPY IN of a few rows
 * (`copyInRows`), and a stream abandoned after a few rows. SQL texts vary (a comment with a
 * variant number) so that the statement cache keeps evicting.
 *
 * `runOp` runs one, interrupted after a random delay when asked, and bounded in time: an
 * operation that does not end within `HUNG_MILLIS` is a problem of its own.
 */
import { Effect, Exit, Fiber, Stream } from "effect"
import type { NormalPool } from "../../src/Pool.ts"
import { outcomeOf, type Write } from "./support.ts"

export const HUNG_MILLIS = 15_000

export interface StormContext {
  readonly pool: NormalPool
  readonly table: string
  readonly rnd: () => number
  /** A fresh unique id. */
  readonly nextId: () => string
}

export interface StormOp {
  readonly kind: string
  readonly run: Effect.Effect<unknown, unknown>
  /** The ids it writes, all or nothing; undefined for a read. */
  readonly ids?: ReadonlyArray<string>
  /** For a read: undefined when the answer is exactly right, else what is wrong. */
  readonly check?: (value: unknown) => string | undefined
}

const int = (rnd: () => number, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1))

export const makeOp = (ctx: StormContext): StormOp => {
  const { pool, table, rnd } = ctx
  const variant = int(rnd, 0, 19)
  const pick = rnd()
  if (pick < 0.3) {
    const id = ctx.nextId()
    if (rnd() < 0.35) {
      // A tight timeout on a statement that takes about as long: the cancel races the commit.
      const ms = int(rnd, 0, 25)
      return {
        kind: "insert-timeout",
        ids: [id],
        run: pool.query(
          `insert into ${table} (id, grp) select $1, $2 from pg_sleep($3::float8 / 1000) /* t${variant} */`,
          [id, id, String(ms)],
          { timeout: `${int(rnd, 2, 30)} millis` }
        )
      }
    }
    return {
      kind: "insert",
      ids: [id],
      run: pool.query(`insert into ${table} (id, grp) values ($1, $2) /* v${variant} */`, [id, id])
    }
  }
  if (pick < 0.4) {
    const id = ctx.nextId()
    return {
      kind: "insert-simple",
      ids: [id],
      run: pool.simpleQuery(`insert into ${table} (id, grp) values ('${id}', '${id}')`)
    }
  }
  if (pick < 0.62) {
    const group = ctx.nextId()
    const ids = Array.from({ length: int(rnd, 2, 4) }, (_, k) => `${group}.${k}`)
    return {
      kind: "transaction",
      ids,
      run: pool.withTransaction((tx) =>
        Effect.forEach(ids, (id) =>
          tx.query(`insert into ${table} (id, grp) values ($1, $2) /* x${variant} */`, [id, group])
        )
      )
    }
  }
  if (pick < 0.75) {
    const group = ctx.nextId()
    const ids = Array.from({ length: int(rnd, 2, 5) }, (_, k) => `${group}.${k}`)
    return {
      kind: "copy-in",
      ids,
      run: pool.copyInRows(
        { table, columns: ["id", "grp"] },
        Stream.fromIterable(ids.map((id) => [id, group]))
      )
    }
  }
  const take = int(rnd, 1, 2000)
  return {
    kind: "stream",
    run: Stream.runCollect(
      pool.stream(`select g::text from generate_series(1, 50000) g /* s${variant} */`).pipe(Stream.take(take))
    ),
    check: (value) => {
      const rows = value as ReadonlyArray<Readonly<Record<string, unknown>>>
      if (rows.length !== take) return `stream: ${rows.length} rows, want ${take}`
      for (let i = 0; i < rows.length; i++)
        if (rows[i]!.g !== String(i + 1)) return `stream: row ${i} is ${JSON.stringify(rows[i])}`
      return undefined
    }
  }
}

export interface OpReport {
  readonly kind: string
  readonly write?: Write
  readonly problem?: string
  readonly interruptedOnPurpose: boolean
}

/** Runs `op`; with `interruptAfter`, interrupts it after that many ms (if still running). */
export const runOp = (op: StormOp, interruptAfter: number | undefined): Effect.Effect<OpReport> =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(op.run)
    if (interruptAfter !== undefined) {
      yield* Effect.sleep(`${interruptAfter} millis`)
      yield* Fiber.interrupt(fiber)
    }
    const ended = yield* Effect.timeoutOption(Fiber.await(fiber), `${HUNG_MILLIS} millis`)
    if (ended._tag === "None") {
      yield* Effect.forkDetach(Fiber.interrupt(fiber))
      const write =
        op.ids === undefined ? undefined : { ids: op.ids, outcome: { kind: "interrupted" as const } }
      return {
        kind: op.kind,
        ...(write === undefined ? {} : { write }),
        problem: `hung: a ${op.kind} did not end within ${HUNG_MILLIS} ms`,
        interruptedOnPurpose: false
      }
    }
    const exit = ended.value
    const outcome = outcomeOf(exit)
    const interruptedOnPurpose = interruptAfter !== undefined && outcome.kind === "interrupted"
    let problem: string | undefined
    if (outcome.kind === "defect") problem = `defect in a ${op.kind}: ${outcome.detail}`
    else if (outcome.kind === "interrupted" && interruptAfter === undefined)
      problem = `a ${op.kind} was interrupted although nobody interrupted it`
    else if (op.check !== undefined && Exit.isSuccess(exit)) problem = op.check(exit.value)
    const write = op.ids === undefined ? undefined : { ids: op.ids, outcome, what: `${op.kind} ${op.ids[0]}` }
    return {
      kind: op.kind,
      ...(write === undefined ? {} : { write }),
      ...(problem === undefined ? {} : { problem }),
      interruptedOnPurpose
    }
  })
