/**
 * effect-pg's effect/sql driver (`effect-pg/sql`, src/sql) in the benchmark, used exactly as the
 * @effect/sql-pg entry uses its own: `sql\`select ${i}::int\`` through `SqlClient` (object rows,
 * typed values), `sql.unsafe(text).stream` for streams. Its `PgClient.make` is over effect-pg's
 * Pool: `maxConnections: 1` for seq and pipe (the Pool's one-shot statements pipelined on its one
 * connection), 8 for pool. Issue 13's targets compare it with effect-pg's own API (≥ 0.9×) and
 * with @effect/sql-pg's SqlClient (≥ 1.3×) on pipe and pool.
 *
 * Does NOT: COPY, connect workloads (the driver adds nothing there: effect-pg's numbers hold).
 * Invariants: every client is closed with its scope before the runner returns.
 */
import { Effect, Layer, type Scope, Stream } from "effect"
import * as Redacted from "effect/Redacted"
import * as Reactivity from "effect/reactivity/Reactivity"
import { PgClient } from "../../../src/sql/index.ts"
import type { BenchContext, ClientModule, Sample } from "../types.ts"
import {
  CONCURRENCY,
  check,
  PIPE_QUERIES,
  POOL_QUERIES,
  POOL_SIZE,
  ROWS,
  ROWS_SQL,
  SEQ_QUERIES,
  startClock,
  WARMUP_QUERIES,
  WARMUP_ROWS
} from "../workloads.ts"

type Client = PgClient.PgClient

const run = (program: Effect.Effect<Sample, unknown, Scope.Scope | Reactivity.Reactivity>): Promise<Sample> =>
  Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(Layer.fresh(Reactivity.layer))))

const timed = <E, R>(count: number, body: Effect.Effect<unknown, E, R>) =>
  Effect.gen(function* () {
    const clock = startClock()
    yield* body
    return clock.end(count)
  })

const client = (url: string, connections: number) =>
  PgClient.make({
    url: Redacted.make(url),
    maxConnections: connections,
    minConnections: connections,
    applicationName: "bench"
  })

const one = (sql: Client, i: number) => Effect.map(sql`select ${i}::int`, (rows) => rows[0]?.int4 as number)

const fanOut = (sql: Client, n: number) => {
  let sum = 0
  return {
    run: Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) =>
        Effect.map(one(sql, i), (v) => {
          sum += v
        }),
      { concurrency: CONCURRENCY, discard: true }
    ),
    sum: () => sum
  }
}

const seq = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const sql = yield* client(ctx.url, 1)
      for (let i = 0; i < WARMUP_QUERIES; i++) yield* one(sql, i)
      let last = -1
      const sample = yield* timed(
        SEQ_QUERIES,
        Effect.gen(function* () {
          for (let i = 0; i < SEQ_QUERIES; i++) last = yield* one(sql, i)
        })
      )
      check(last === SEQ_QUERIES - 1, "last seq value (a number: typed values)")
      return sample
    })
  )

const concurrent = (connections: number, n: number) => (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const sql = yield* client(ctx.url, connections)
      yield* fanOut(sql, WARMUP_QUERIES).run
      const work = fanOut(sql, n)
      const sample = yield* timed(n, work.run)
      check(work.sum() === (n * (n - 1)) / 2, "sum of values")
      return sample
    })
  )

const rows = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const sql = yield* client(ctx.url, 1)
      yield* sql.unsafe(ROWS_SQL, [WARMUP_ROWS])
      let got = 0
      const sample = yield* timed(
        ROWS,
        Effect.map(sql.unsafe(ROWS_SQL, [ROWS]), (r) => {
          got = r.length
        })
      )
      check(got === ROWS, "row count")
      return sample
    })
  )

const streamed = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const sql = yield* client(ctx.url, 1)
      yield* Stream.runDrain(sql.unsafe(ROWS_SQL, [WARMUP_ROWS]).stream)
      let got = 0
      const sample = yield* timed(
        ROWS,
        Effect.map(Stream.runCount(sql.unsafe(ROWS_SQL, [ROWS]).stream), (c) => {
          got = c
        })
      )
      check(got === ROWS, "streamed row count")
      return sample
    })
  )

const notHere = { unsupported: "— measured through effect-pg's own API (the driver adds nothing there)" }

export const effectPgSql: ClientModule = {
  id: "effect-pg-sql",
  label: "effect-pg/sql (SqlClient)",
  kind: "self",
  how: "effect-pg's effect/sql driver: `PgClient.make({ url, maxConnections })` over effect-pg's Pool (1 connection for seq, pipe, rows; 8 for pool), the `sql` tagged template for `select $1::int`, `sql.unsafe(text)` and `.stream`, as the @effect/sql-pg entry uses its own",
  workloads: {
    seq,
    pipe: concurrent(1, PIPE_QUERIES),
    pool: concurrent(POOL_SIZE, POOL_QUERIES),
    rows,
    "rows-stream": streamed,
    mixed: notHere,
    copy: notHere,
    "connect-trust": notHere,
    "connect-scram": notHere,
    memory: notHere
  }
}
