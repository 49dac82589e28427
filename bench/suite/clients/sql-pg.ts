/**
 * @effect/sql-pg 4 (its own wire-protocol client) in the peer benchmark, used through the
 * `SqlClient` it provides: `sql\`select ${i}::int\`` (prepared-statement cache on by default,
 * default type codecs, object rows), `sql.unsafe(text).stream` for streams. One connection is
 * `PgClient.makeClient`, the pool is `PgClient.make({ maxConnections: 8, minConnections: 8 })`.
 * Two entries: `multiplex: false` (the default: one statement per connection at a time) and
 * `multiplex: true` (statements of many fibers pipelined on a connection, 32 per pooled
 * connection by default).
 *
 * Does NOT: COPY (the package has no COPY API: its protocol engine rejects CopyInResponse).
 * Streams always reserve the connection, so they run the same code with multiplex on or off; the
 * multiplexed entry leaves them out rather than measuring the same path twice.
 * Invariants: every client is closed with its scope before the runner returns.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, type Scope, Stream } from "effect"
import * as Redacted from "effect/Redacted"
import * as Reactivity from "effect/reactivity/Reactivity"
import { checkMixed } from "../mixed.ts"
import type { BenchContext, ClientModule, Sample } from "../types.ts"
import {
  CONCURRENCY,
  CONNECTS,
  check,
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

const single = (url: string, multiplex: boolean) =>
  PgClient.makeClient({ url: redacted(url), multiplex, applicationName: "bench" })

const pooled = (url: string, multiplex: boolean) =>
  PgClient.make({
    url: redacted(url),
    multiplex,
    maxConnections: POOL_SIZE,
    minConnections: POOL_SIZE,
    applicationName: "bench"
  })

const redacted = (url: string) => Redacted.make(url)

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

const seq = (multiplex: boolean) => (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const sql = yield* single(ctx.url, multiplex)
      for (let i = 0; i < WARMUP_QUERIES; i++) yield* one(sql, i)
      let last = -1
      const sample = yield* timed(
        SEQ_QUERIES,
        Effect.gen(function* () {
          for (let i = 0; i < SEQ_QUERIES; i++) last = yield* one(sql, i)
        })
      )
      check(last === SEQ_QUERIES - 1, "last seq value")
      return sample
    })
  )

const concurrent = (multiplex: boolean, pool: boolean, n: number) => (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const sql = pool ? yield* pooled(ctx.url, multiplex) : yield* single(ctx.url, multiplex)
      yield* fanOut(sql, WARMUP_QUERIES).run
      const work = fanOut(sql, n)
      const sample = yield* timed(n, work.run)
      check(work.sum() === (n * (n - 1)) / 2, "sum of values")
      return sample
    })
  )

const rows = (multiplex: boolean) => (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const sql = yield* single(ctx.url, multiplex)
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

const streamed = (n: number) => (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const sql = yield* single(ctx.url, false)
      yield* Stream.runDrain(sql.unsafe(ROWS_SQL, [WARMUP_ROWS]).stream)
      let got = 0
      const sample = yield* timed(
        n,
        Effect.map(Stream.runCount(sql.unsafe(ROWS_SQL, [n]).stream), (c) => {
          got = c
        })
      )
      check(got === n, "streamed row count")
      return sample
    })
  )

/** The mixed row: `sql.unsafe` (prepared-statement cache, binary results, default codecs). */
const mixed = (multiplex: boolean) => (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const sql = yield* single(ctx.url, multiplex)
      for (let i = 0; i < MIXED_WARMUP_QUERIES; i++) yield* sql.unsafe(MIXED_SQL)
      let last: ReadonlyArray<unknown> = []
      const sample = yield* timed(
        MIXED_QUERIES * MIXED_TABLE_ROWS,
        Effect.gen(function* () {
          for (let i = 0; i < MIXED_QUERIES; i++) last = yield* sql.unsafe(MIXED_SQL)
        })
      )
      checkMixed(last, { int8AsString: false })
      return sample
    })
  )

const connectMany = (url: string | undefined, multiplex: boolean) => (_: BenchContext) =>
  run(
    Effect.gen(function* () {
      if (url === undefined) return yield* Effect.die(new Error("no scram role on this server"))
      const cycle = Effect.scoped(
        Effect.flatMap(single(url, multiplex), (sql) => Effect.map(sql`select 1 as x`, (r) => r[0]?.x))
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

const noCopy = { unsupported: "— no COPY API" }

export const sqlPg: ClientModule = {
  id: "sql-pg",
  label: "@effect/sql-pg",
  kind: "js",
  how: "`PgClient.makeClient({ url })` / `PgClient.make({ url, maxConnections: 8, minConnections: 8 })`, the `sql` tagged template for `select $1::int` (prepared-statement cache, default codecs, object rows), `sql.unsafe(text).stream`; multiplex off (default)",
  workloads: {
    seq: seq(false),
    pipe: concurrent(false, false, PIPE_QUERIES),
    pool: concurrent(false, true, POOL_QUERIES),
    rows: rows(false),
    "rows-stream": streamed(ROWS),
    mixed: mixed(false),
    copy: noCopy,
    "connect-trust": (ctx) => connectMany(ctx.url, false)(ctx),
    "connect-scram": (ctx) => connectMany(ctx.scramUrl, false)(ctx),
    memory: streamed(MEMORY_ROWS)
  }
}

const sameAsOff = { unsupported: "— streams reserve the connection: same path as multiplex off" }

export const sqlPgMultiplex: ClientModule = {
  id: "sql-pg-mux",
  label: "@effect/sql-pg (multiplex)",
  kind: "js",
  how: "as @effect/sql-pg with `multiplex: true` (default `multiplexConcurrency` 32 per pooled connection)",
  workloads: {
    seq: seq(true),
    pipe: concurrent(true, false, PIPE_QUERIES),
    pool: concurrent(true, true, POOL_QUERIES),
    rows: rows(true),
    "rows-stream": sameAsOff,
    mixed: mixed(true),
    copy: noCopy,
    "connect-trust": (ctx) => connectMany(ctx.url, true)(ctx),
    "connect-scram": (ctx) => connectMany(ctx.scramUrl, true)(ctx),
    memory: sameAsOff
  }
}
