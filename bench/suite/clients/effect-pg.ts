/**
 * effect-pg in the peer benchmark, through the Expert API (`src/Expert.ts`) on its defaults since
 * "Rows as objects" (decision 022): typed results (`TypeRegistry` "typed": int4 → number,
 * timestamptz → PgTimestamp, jsonb parsed, …) and rows as objects keyed by column name, like every
 * peer's. `connect(url)` scoped, `query(sql, params)` (statement cache on: binary result formats
 * once a statement's columns are known; numbers as parameters), `stream(sql, params)` and
 * `copyIn(sql, Stream<Uint8Array>)`.
 *
 * Does: one runner per workload, timing only the measured section (see workloads.ts), decoding and
 * object building included. `pool` uses src/Pool.ts (`Pool.make({ connect, min: 8, max: 8 })`,
 * Expert view, `query`: a one-shot statement goes to the least loaded of the pool's connections,
 * pipelined). A second entry, "effect-pg (8 conns, round-robin)", runs `pool` on 8 plain
 * connections with query i sent to connection i mod 8 (so each connection pipelines up to 32
 * queries) — what the pool workload measured before Pool.ts existed.
 * Does NOT: tune the pool (defaults apart from min/max), or change the connection's defaults.
 * Invariants: each runner checks the data it got (values, their JS types, or a count) before
 * returning a number.
 */
import { Effect, Option, type Scope, Stream } from "effect"
import * as Expert from "../../../src/Expert.ts"
import * as Pool from "../../../src/Pool.ts"
import type { ObjectRow } from "../../../src/Result.ts"
import { checkMixed } from "../mixed.ts"
import type { BenchContext, ClientModule, Sample } from "../types.ts"
import {
  CONCURRENCY,
  CONNECTS,
  COPY_ROWS,
  COPY_SQL,
  COPY_TABLE,
  check,
  copyChunks,
  MEMORY_ROWS,
  MIXED_QUERIES,
  MIXED_SQL,
  MIXED_TABLE_ROWS,
  MIXED_WARMUP_QUERIES,
  PIPE_QUERIES,
  POOL_QUERIES,
  POOL_SIZE,
  ROWS,
  ROWS_SQL,
  SELECT_INT,
  SEQ_QUERIES,
  startClock,
  WARMUP_QUERIES,
  WARMUP_ROWS
} from "../workloads.ts"

const run = (program: Effect.Effect<Sample, unknown, Scope.Scope>): Promise<Sample> =>
  Effect.runPromise(Effect.scoped(program))

const connect = (url: string) => Expert.connect(url)

const timed = <E, R>(count: number, body: Effect.Effect<unknown, E, R>, bytes?: number) =>
  Effect.gen(function* () {
    const clock = startClock()
    yield* body
    return clock.end(count, bytes)
  })

const one = (conn: Expert.ConnectionApi<unknown>, value: number) =>
  Effect.map(conn.query(SELECT_INT, [value]), (r) => r.rows[0]?.int4)

const seq = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const conn = yield* connect(ctx.url)
      for (let i = 0; i < WARMUP_QUERIES; i++) yield* one(conn, i)
      let last: unknown
      const sample = yield* timed(
        SEQ_QUERIES,
        Effect.gen(function* () {
          for (let i = 0; i < SEQ_QUERIES; i++) last = yield* one(conn, i)
        })
      )
      check(last === SEQ_QUERIES - 1, "last seq value (a number: typed results)")
      return sample
    })
  )

const fanOut = (conns: ReadonlyArray<Expert.ConnectionApi<unknown>>, n: number) => {
  let sum = 0
  return {
    run: Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (p, i) =>
        Effect.map(one(conns[i % conns.length]!, p), (v) => {
          sum += v as number
        }),
      { concurrency: CONCURRENCY, discard: true }
    ),
    sum: () => sum
  }
}

const concurrent = (ctx: BenchContext, connections: number, n: number) =>
  run(
    Effect.gen(function* () {
      const conns: Array<Expert.ConnectionApi<unknown>> = []
      for (let i = 0; i < connections; i++) conns.push(yield* connect(ctx.url))
      yield* fanOut(conns, WARMUP_QUERIES).run
      const work = fanOut(conns, n)
      const sample = yield* timed(n, work.run)
      check(work.sum() === (n * (n - 1)) / 2, "sum of pipelined values")
      return sample
    })
  )

const pooled = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const { expert } = yield* Pool.make({ connect: ctx.url, min: POOL_SIZE, max: POOL_SIZE })
      const work = (n: number) => {
        let sum = 0
        return {
          run: Effect.forEach(
            Array.from({ length: n }, (_, i) => i),
            (p) =>
              Effect.map(expert.query(SELECT_INT, [p]), (r) => {
                sum += r.rows[0]?.int4 as number
              }),
            { concurrency: CONCURRENCY, discard: true }
          ),
          sum: () => sum
        }
      }
      yield* work(WARMUP_QUERIES).run
      const measured = work(POOL_QUERIES)
      const sample = yield* timed(POOL_QUERIES, measured.run)
      check(measured.sum() === (POOL_QUERIES * (POOL_QUERIES - 1)) / 2, "sum of pooled values")
      return sample
    })
  )

/** Row g of the rows workload, typed: int4 → number, text, timestamptz → PgTimestamp, float8 (`?column?`). */
const checkRowsRow = (row: ObjectRow | undefined, g: number) => {
  check(row !== undefined && row.g === g, `row ${g}: g is the number ${g}`)
  check(
    row!.g === g && typeof row!.md5 === "string" && row!["?column?"] === g * 1.5,
    `row ${g}: typed values`
  )
  const now = row!.now as { toDate?: unknown } | undefined
  check(typeof now?.toDate === "function", `row ${g}: now() is a PgTimestamp`)
}

const rows = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const conn = yield* connect(ctx.url)
      yield* conn.query(ROWS_SQL, [WARMUP_ROWS])
      let got: ReadonlyArray<ObjectRow> = []
      const sample = yield* timed(
        ROWS,
        Effect.map(conn.query(ROWS_SQL, [ROWS]), (r) => {
          got = r.rows
        })
      )
      check(got.length === ROWS, "row count")
      checkRowsRow(got[0], 1)
      checkRowsRow(got[ROWS - 1], ROWS)
      return sample
    })
  )

const streamed = (n: number) => (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const conn = yield* connect(ctx.url)
      yield* Stream.runDrain(conn.stream(ROWS_SQL, [WARMUP_ROWS]))
      let got = 0
      const sample = yield* timed(
        n,
        Effect.map(Stream.runCount(conn.stream(ROWS_SQL, [n])), (c) => {
          got = c
        })
      )
      check(got === n, "streamed row count")
      // The values of the same statement's stream, checked outside the timed section.
      const head = yield* Stream.runHead(conn.stream(ROWS_SQL, [2]))
      checkRowsRow(Option.getOrUndefined(head), 1)
      return sample
    })
  )

const mixed = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const conn = yield* connect(ctx.url)
      for (let i = 0; i < MIXED_WARMUP_QUERIES; i++) yield* conn.query(MIXED_SQL)
      let last: ReadonlyArray<ObjectRow> = []
      const sample = yield* timed(
        MIXED_QUERIES * MIXED_TABLE_ROWS,
        Effect.gen(function* () {
          for (let i = 0; i < MIXED_QUERIES; i++) last = (yield* conn.query(MIXED_SQL)).rows
        })
      )
      checkMixed(last, { int8AsString: false })
      return sample
    })
  )

const copy = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const input = copyChunks(ctx.copyFile)
      const conn = yield* connect(ctx.url)
      yield* conn.simpleQuery(`truncate ${COPY_TABLE}`)
      let done: number | undefined
      const sample = yield* timed(
        COPY_ROWS,
        Effect.map(conn.copyIn(COPY_SQL, Stream.fromIterable(input.chunks)), (c) => {
          done = c.rows
        }),
        input.bytes
      )
      check(done === COPY_ROWS, "COPY row count")
      return sample
    })
  )

const connectMany = (url: string | undefined) => (_: BenchContext) =>
  run(
    Effect.gen(function* () {
      if (url === undefined) return yield* Effect.die(new Error("no scram role on this server"))
      const cycle = Effect.scoped(
        Effect.flatMap(connect(url), (conn) => Effect.map(conn.query("select 1 as x"), (r) => r.rows[0]?.x))
      )
      yield* cycle
      let ok = 0
      const sample = yield* timed(
        CONNECTS,
        Effect.gen(function* () {
          for (let i = 0; i < CONNECTS; i++) if ((yield* cycle) === 1) ok++
        })
      )
      check(ok === CONNECTS, "select 1 after each connect")
      return sample
    })
  )

export const effectPg: ClientModule = {
  id: "effect-pg",
  label: "effect-pg",
  kind: "self",
  how: "Expert API on its defaults (typed results, object rows): `connect(url)`, `query(sql, [i])`, `stream(sql, [n])`, `copyIn(sql, Stream.fromIterable(chunks))`; pool = src/Pool.ts `Pool.make({ connect, min: 8, max: 8 })` and its Expert `query` (one-shot statements share the pool's connections, pipelined); statement cache on (the default: binary result formats once a statement's columns are known)",
  workloads: {
    seq,
    pipe: (ctx) => concurrent(ctx, 1, PIPE_QUERIES),
    pool: pooled,
    rows,
    "rows-stream": streamed(ROWS),
    mixed,
    copy,
    "connect-trust": (ctx) => connectMany(ctx.url)(ctx),
    "connect-scram": (ctx) => connectMany(ctx.scramUrl)(ctx),
    memory: streamed(MEMORY_ROWS)
  }
}

const poolOnly = { unsupported: "— variant measured for the pool workload only" }

export const effectPgRoundRobin: ClientModule = {
  id: "effect-pg-rr",
  label: "effect-pg (8 conns, round-robin)",
  kind: "self",
  how: "effect-pg without the Pool: 8 Expert connections, query i sent to connection i mod 8, so each connection pipelines the queries of 32 fibers",
  workloads: {
    seq: poolOnly,
    pipe: poolOnly,
    pool: (ctx) => concurrent(ctx, POOL_SIZE, POOL_QUERIES),
    rows: poolOnly,
    "rows-stream": poolOnly,
    mixed: poolOnly,
    copy: poolOnly,
    "connect-trust": poolOnly,
    "connect-scram": poolOnly,
    memory: poolOnly
  }
}
