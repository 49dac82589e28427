/**
 * End-to-end micro-benchmark of effect-pg against a throwaway PostgreSQL 18 (effect-pg/testing) or
 * PG_URL: SELECT round trips per second (sequential, and pipelined from concurrent fibers) and
 * rows per second reading 1M rows into memory and as a stream. Prints one line per measure.
 *
 *   node bench/query.bench.ts            (or: npm run bench:query)
 *
 * Not measured here: the peers (pg, postgres.js, @effect/sql-pg) — see the benchmark issue.
 */
import { Effect, Stream } from "effect"
import * as Expert from "../src/Expert.ts"
import * as Testing from "../src/testing/index.ts"

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const program = Effect.gen(function* () {
  const url =
    process.env.PG_URL ??
    (yield* Testing.PgTestServer.start({ version: 18, tls: false, backend: "local" })).url
  const conn = yield* Expert.connect(url)
  const runs = 5
  const seq: Array<number> = []
  const pipe: Array<number> = []
  const rows: Array<number> = []
  const streamed: Array<number> = []
  for (let run = 0; run < runs; run++) {
    let t = performance.now()
    for (let i = 0; i < 10_000; i++) yield* conn.query("select $1::int", [String(i)])
    seq.push(10_000 / ((performance.now() - t) / 1000))
    t = performance.now()
    yield* Effect.forEach(
      Array.from({ length: 20_000 }, (_, i) => String(i)),
      (i) => conn.query("select $1::int", [i]),
      {
        concurrency: 256,
        discard: true
      }
    )
    pipe.push(20_000 / ((performance.now() - t) / 1000))
    const sql = "select g, g::text, now(), g*1.5::float8, md5(g::text) from generate_series(1, 1000000) g"
    t = performance.now()
    const r = yield* conn.query(sql)
    rows.push(r.rows.length / ((performance.now() - t) / 1000))
    t = performance.now()
    const n = yield* Stream.runCount(conn.stream(sql))
    streamed.push(n / ((performance.now() - t) / 1000))
  }
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US")
  console.log(`server ${conn.serverVersion}, ${runs} runs, medians`)
  console.log(`seq round trips (10k SELECT $1::int, awaited one by one): ${fmt(median(seq))} /s`)
  console.log(`pipelined (20k SELECT $1::int, 256 fibers, one connection): ${fmt(median(pipe))} /s`)
  console.log(`rows into memory (1M rows x 5 columns): ${fmt(median(rows))} rows/s`)
  console.log(`rows as a stream (1M rows x 5 columns): ${fmt(median(streamed))} rows/s`)
})

Effect.runPromise(Effect.scoped(program)).catch((e) => {
  console.error(e)
  process.exitCode = 1
})
