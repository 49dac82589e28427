/**
 * effect-pg in the peer benchmark, through the Expert API (`src/Expert.ts`): `connect(url)` scoped,
 * `query(sql, params)` (unnamed statement, text parameters, rows as text), `stream(sql)` and
 * `copyIn(sql, Stream<Uint8Array>)`.
 *
 * Does: one runner per workload, timing only the measured section (see workloads.ts).
 * `pool` uses src/Pool.ts (`Pool.make({ connect, min: 8, max: 8 })`, Expert view, `query`: a
 * one-shot statement goes to the least loaded of the pool's connections, pipelined). A second entry, "effect-pg (8 conns, round-robin)",
 * runs `pool` on 8 plain connections with query i sent to connection i mod 8 (so each connection
 * pipelines up to 32 queries) — what the pool workload measured before Pool.ts existed.
 * Does NOT: tune the pool (defaults apart from min/max).
 * Invariants: each runner checks the data it got (a value or a count) before returning a number.
 */
import { Effect, type Scope, Stream } from "effect"
import * as Expert from "../../../src/Expert.ts"
import * as Pool from "../../../src/Pool.ts"
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
  PIPE_QUERIES,
  POOL_QUERIES,
  POOL_SIZE,
  ROWS,
  rowsSql,
  SELECT_INT,
  SEQ_QUERIES,
  startClock,
  WARMUP_QUERIES,
  WARMUP_ROWS
} from "../workloads.ts"

const run = (program: Effect.Effect<Sample, unknown, Scope.Scope>): Promise<Sample> =>
  Effect.runPromise(Effect.scoped(program))

const timed = <E, R>(count: number, body: Effect.Effect<unknown, E, R>, bytes?: number) =>
  Effect.gen(function* () {
    const clock = startClock()
    yield* body
    return clock.end(count, bytes)
  })

const params = (n: number): Array<[string]> => Array.from({ length: n }, (_, i) => [String(i)])

const one = (conn: Expert.ConnectionApi<unknown>, value: [string]) =>
  Effect.map(conn.query(SELECT_INT, value), (r) => r.rows[0]?.[0])

const seq = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const conn = yield* Expert.connect(ctx.url)
      const all = params(SEQ_QUERIES)
      for (let i = 0; i < WARMUP_QUERIES; i++) yield* one(conn, all[i]!)
      let last: unknown
      const sample = yield* timed(
        SEQ_QUERIES,
        Effect.gen(function* () {
          for (let i = 0; i < SEQ_QUERIES; i++) last = yield* one(conn, all[i]!)
        })
      )
      check(last === String(SEQ_QUERIES - 1), "last seq value")
      return sample
    })
  )

const fanOut = (conns: ReadonlyArray<Expert.ConnectionApi<unknown>>, n: number) => {
  const all = params(n)
  let sum = 0
  return {
    run: Effect.forEach(
      all,
      (p, i) =>
        Effect.map(one(conns[i % conns.length]!, p), (v) => {
          sum += Number(v)
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
      for (let i = 0; i < connections; i++) conns.push(yield* Expert.connect(ctx.url))
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
            params(n),
            (p) =>
              Effect.map(expert.query(SELECT_INT, p), (r) => {
                sum += Number(r.rows[0]?.[0])
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

const rows = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const conn = yield* Expert.connect(ctx.url)
      yield* conn.query(rowsSql(WARMUP_ROWS))
      let got = 0
      const sample = yield* timed(
        ROWS,
        Effect.map(conn.query(rowsSql(ROWS)), (r) => {
          got = r.rows.length
        })
      )
      check(got === ROWS, "row count")
      return sample
    })
  )

const streamed = (n: number) => (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const conn = yield* Expert.connect(ctx.url)
      yield* Stream.runDrain(conn.stream(rowsSql(WARMUP_ROWS)))
      let got = 0
      const sample = yield* timed(
        n,
        Effect.map(Stream.runCount(conn.stream(rowsSql(n))), (c) => {
          got = c
        })
      )
      check(got === n, "streamed row count")
      return sample
    })
  )

const copy = (ctx: BenchContext) =>
  run(
    Effect.gen(function* () {
      const input = copyChunks(ctx.copyFile)
      const conn = yield* Expert.connect(ctx.url)
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
        Effect.flatMap(Expert.connect(url), (conn) =>
          Effect.map(conn.query("select 1"), (r) => r.rows[0]?.[0])
        )
      )
      yield* cycle
      let ok = 0
      const sample = yield* timed(
        CONNECTS,
        Effect.gen(function* () {
          for (let i = 0; i < CONNECTS; i++) if ((yield* cycle) === "1") ok++
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
  how: "Expert API: `connect(url)`, `query(sql, [String(i)])`, `stream(sql)`, `copyIn(sql, Stream.fromIterable(chunks))`; pool = src/Pool.ts `Pool.make({ connect, min: 8, max: 8 })` and its Expert `query` (one-shot statements share the pool's connections, pipelined); rows come back as arrays of text",
  workloads: {
    seq,
    pipe: (ctx) => concurrent(ctx, 1, PIPE_QUERIES),
    pool: pooled,
    rows,
    "rows-stream": streamed(ROWS),
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
    copy: poolOnly,
    "connect-trust": poolOnly,
    "connect-scram": poolOnly,
    memory: poolOnly
  }
}
