/**
 * The interrupt storm: 1,000 operations on ONE connection — queries that sleep, queries with many
 * rows, streams read whole or in part, COPY IN, COPY OUT, simple multi-statement queries and
 * queries with a `timeout` —, alone or two or three at once, each interrupted at a point chosen by
 * a seeded RNG (or left alone). Every operation's answer carries a token unique to it, so an answer
 * delivered to the wrong caller, a stray row, a lost row or a cancel that hits a later statement
 * shows up: after every group a fresh token query must come back exact, every operation that
 * completed must have exactly its own answer, an operation that was not interrupted must not fail
 * (except a stream that a timed-out neighbour's late cancel hit after it delivered rows: docs/errors.md),
 * and every COPY IN must have landed whole or not at all.
 *
 * The seed is printed; STORM_SEED=<n> replays a run.
 */
import { assert, layer } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Stream } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"

/** mulberry32: a small seeded PRNG, good enough to pick interrupt points. */
const rngFrom = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Op {
  readonly kind: string
  readonly token: string
  readonly run: Effect.Effect<unknown, unknown>
  /** undefined when `result` is exactly this operation's answer; else what is wrong. */
  readonly check: (result: unknown) => string | undefined
  /** A failure that is allowed without an interrupt (a timeout). */
  readonly allowed?: (error: unknown) => boolean
  /** For COPY IN: how many rows it writes (checked on the server as all or nothing). */
  readonly copied?: number
}

const same = (what: string, got: unknown, want: unknown): string | undefined =>
  JSON.stringify(got) === JSON.stringify(want)
    ? undefined
    : `${what}: got ${JSON.stringify(got).slice(0, 200)}, want ${JSON.stringify(want).slice(0, 200)}`

const numbered = (token: string, n: number) => Array.from({ length: n }, (_, g) => [`${token}:${g + 1}`])

/** The rows of `series` (one unnamed column) as objects, for query and stream. */
const numberedRows = (token: string, n: number) =>
  Array.from({ length: n }, (_, g) => ({ "?column?": `${token}:${g + 1}` }))

const makeOp = (conn: ExpertConnection, i: number, rnd: () => number): Op => {
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1))
  const token = `t${i}x${int(0, 1e9)}`
  const series = "select $1::text || ':' || g from generate_series(1, $2::int) g"
  switch (int(0, 8)) {
    case 0:
    case 1: {
      const ms = int(0, 15)
      return {
        kind: "query-sleep",
        token,
        run: conn.query("select $1::text, pg_sleep($2::float8 / 1000)::text", [token, String(ms)]),
        check: (r) => same("query-sleep", (r as { rows: unknown }).rows, [{ text: token, pg_sleep: "" }])
      }
    }
    case 2: {
      const n = int(1, 3000)
      return {
        kind: "query-rows",
        token,
        run: conn.query(series, [token, String(n)]),
        check: (r) => same("query-rows", (r as { rows: unknown }).rows, numberedRows(token, n))
      }
    }
    case 3: {
      const n = int(1, 20000)
      const take = rnd() < 0.5 ? int(1, n) : n
      return {
        kind: "stream",
        token,
        run: Stream.runCollect(conn.stream(series, [token, String(n)]).pipe(Stream.take(take))),
        check: (r) => same("stream", r, numberedRows(token, take))
      }
    }
    case 4: {
      const n = int(1, 400)
      const rows = Stream.range(1, n, 50).pipe(
        Stream.map((g) => [token, String(g)] as const),
        Stream.tap((row) => (row[1].endsWith("0") && rnd() < 0.2 ? Effect.sleep("1 millis") : Effect.void))
      )
      return {
        kind: "copy-in",
        token,
        copied: n,
        run: conn.copyInRows({ table: "storm_in", columns: ["token", "g"] }, rows),
        check: (r) => same("copy-in", (r as { rows: unknown }).rows, n)
      }
    }
    case 5: {
      const n = int(1, 20000)
      const sql = `copy (select '${token}:' || g from generate_series(1, ${n}) g) to stdout`
      const take = rnd() < 0.5 ? int(1, n) : n
      return {
        kind: "copy-out",
        token,
        run: Stream.runCollect(conn.copyOutRows(sql).pipe(Stream.take(take))),
        check: (r) => same("copy-out", r, numbered(token, take))
      }
    }
    case 6: {
      const ms = int(0, 10)
      return {
        kind: "simple",
        token,
        run: conn.simpleQuery(`select '${token}' as a; select pg_sleep(${ms / 1000}); select 2 as b`),
        check: (r) =>
          same(
            "simple",
            (r as { results: ReadonlyArray<{ rows: unknown }> }).results.map((s) => s.rows),
            [[[token]], [[""]], [["2"]]]
          )
      }
    }
    default: {
      const ms = int(0, 20)
      const limit = int(1, 20)
      return {
        kind: "timeout",
        token,
        run: conn.query("select $1::text, pg_sleep($2::float8 / 1000)::text", [token, String(ms)], {
          timeout: `${limit} millis`
        }),
        check: (r) => same("timeout", (r as { rows: unknown }).rows, [{ text: token, pg_sleep: "" }]),
        allowed: (e) => (e as { _tag?: string })._tag === "PgTimeoutError"
      }
    }
  }
}

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "interrupt storm (PG18)",
  (it) => {
    it.effect(
      "1,000 operations on one connection, each interrupted at a random point: every answer stays exact",
      () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const conn = yield* Expert.connect(server.url)
          const seed = Number(process.env.STORM_SEED ?? Date.now() % 1_000_000)
          console.log(`interrupt storm seed: ${seed} (replay with STORM_SEED=${seed})`)
          const rnd = rngFrom(seed)
          const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1))
          yield* conn.query("create table storm_in (token text, g int)")

          const problems: Array<string> = []
          const copies: Array<{ token: string; rows: number; completed: boolean }> = []
          const stats = { total: 0, interrupted: 0, completed: 0, timedOut: 0, collateral: 0 }
          const started = Date.now()
          for (let i = 0; i < 1000 && problems.length === 0; ) {
            const size = Math.min(1000 - i, rnd() < 0.3 ? int(2, 3) : 1)
            const ops = Array.from({ length: size }, () => makeOp(conn, i++, rnd))
            // undefined: left alone; a number: interrupted after that many ms (0: at once).
            const plans = ops.map(() => (rnd() < 0.2 ? undefined : rnd() < 0.15 ? 0 : int(1, 25)))
            const fibers = yield* Effect.forEach(ops, (op) => Effect.forkChild(op.run))
            const exits = yield* Effect.forEach(
              fibers,
              (fiber, k) => {
                const plan = plans[k]
                if (plan === undefined) return Fiber.await(fiber)
                return (plan === 0 ? Effect.void : Effect.sleep(`${plan} millis`)).pipe(
                  Effect.andThen(Fiber.interrupt(fiber)),
                  Effect.andThen(Fiber.await(fiber))
                )
              },
              { concurrency: "unbounded" }
            )
            // A timeout's cancel may land late even when its own result still arrived in the slack.
            const timedOutInGroup = ops.some((op) => op.kind === "timeout")
            exits.forEach((exit, k) => {
              const op = ops[k]!
              stats.total++
              if (op.copied !== undefined) {
                copies.push({ token: op.token, rows: op.copied, completed: Exit.isSuccess(exit) })
              }
              if (Exit.isSuccess(exit)) {
                stats.completed++
                const wrong = op.check(exit.value)
                if (wrong !== undefined) problems.push(`op ${op.token} (${op.kind}): ${wrong}`)
                return
              }
              if (Cause.hasInterruptsOnly(exit.cause) && plans[k] !== undefined) {
                stats.interrupted++
                return
              }
              const error = Cause.squash(exit.cause)
              if (op.allowed?.(error) === true) {
                stats.timedOut++
                return
              }
              // docs/errors.md, Timeouts: a neighbour's late cancel may hit a stream that already
              // delivered rows; it fails with that 57014 (it cannot be sent again without repeating
              // rows). Allowed only for streams, and only next to an operation with a timeout.
              if (
                (op.kind === "stream" || op.kind === "copy-out") &&
                (error as { code?: string }).code === "57014" &&
                timedOutInGroup
              ) {
                stats.collateral++
                return
              }
              problems.push(`op ${op.token} (${op.kind}) failed: ${Cause.pretty(exit.cause).slice(0, 400)}`)
            })
            // The connection answers the next question with its own answer, and nothing else.
            const probe = `probe${i}`
            const r = yield* Effect.exit(conn.query("select $1::text", [probe]))
            if (Exit.isFailure(r))
              problems.push(`probe after op ${i}: ${Cause.pretty(r.cause).slice(0, 400)}`)
            else if (same("probe", r.value.rows, [{ text: probe }]) !== undefined)
              problems.push(`probe after op ${i}: ${JSON.stringify(r.value.rows).slice(0, 200)}`)
          }
          const elapsed = Date.now() - started
          console.log(`interrupt storm: ${JSON.stringify(stats)} in ${elapsed} ms`)
          assert.deepStrictEqual(problems, [])

          // Every COPY IN landed whole (or, if interrupted, not at all).
          const landed = yield* conn.query("select token, count(*)::int, max(g) from storm_in group by token")
          const byToken = new Map(landed.rows.map((row) => [row.token as string, row.count as number]))
          for (const copy of copies) {
            const n = byToken.get(copy.token) ?? 0
            if (copy.completed) assert.strictEqual(n, copy.rows, `completed copy ${copy.token}`)
            else assert.include([0, copy.rows], n, `interrupted copy ${copy.token}`)
          }
          assert.strictEqual(landed.rows.length, new Set(landed.rows.map((row) => row.token)).size)
          assert.isTrue([...byToken.keys()].every((t) => copies.some((c) => c.token === t)))

          // The storm really stormed: many operations were cut short, many completed.
          assert.strictEqual(stats.total, 1000)
          assert.isAbove(stats.interrupted, 250)
          assert.isAbove(stats.completed, 250)
          assert.strictEqual((yield* conn.status)._tag, "Open")
          assert.strictEqual(yield* conn.transactionStatus, "I")
          yield* conn.query("drop table storm_in")
          // And the server saw both ways of stopping: CancelRequests and CopyFails.
          if (server.readLog !== undefined) {
            const log = (yield* Effect.orDie(server.readLog))
              .split("\n")
              .filter((line) => line.includes(` [${conn.processId}] `))
            const cancels = log.filter((line) =>
              line.includes("canceling statement due to user request")
            ).length
            const copyFails = log.filter((line) => line.includes("COPY from stdin failed")).length
            console.log(`interrupt storm: the server logged ${cancels} cancels and ${copyFails} CopyFails`)
            assert.isAbove(cancels, 50)
            assert.isAbove(copyFails, 5)
          }
        }),
      90_000
    )
  }
)
