/**
 * Typed COPY benchmark (decision 024): rows/s of copyInRows and copyOutTyped, text format against
 * binary, for 200k mixed rows (int8, text, float8, timestamptz, bool, int4[], numeric, NULLs),
 * interleaved rounds on one connection to a local PostgreSQL 18.
 *
 *   node bench/copy-typed.bench.ts        (PG_URL=... to use a running server; BENCH_ROUNDS=n, default 5)
 *
 * What is timed: copyInRows from a Stream of JS rows (made before the clock starts, 1000 rows a
 * chunk) to the CommandComplete, after a TRUNCATE; copyOutTyped of the whole table, every row
 * decoded and counted. Each round checks the row count and the sum of the int8 column. Prints
 * each run and the medians. Not measured: TLS, a remote server, copyIn of raw bytes (copy.bench.ts).
 */
import { cpus, loadavg } from "node:os"
import { Effect, Stream } from "effect"
import type { ExpertConnection, Param } from "../src/connection/operations.ts"
import * as Expert from "../src/Expert.ts"
import * as Testing from "../src/testing/index.ts"
import { PgTimestamp } from "../src/types/index.ts"

const ROWS = 200_000
const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 5))
const COLUMNS = ["id", "label", "score", "at", "flag", "tags", "amount"]

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (x: number) => Math.round(x).toLocaleString("en-US")

const rows: ReadonlyArray<ReadonlyArray<Param>> = Array.from({ length: ROWS }, (_, j) => {
  const i = j + 1
  return [
    BigInt(i),
    i % 10 === 0 ? null : `label ${i}\twith a tab`,
    i / 8,
    new PgTimestamp(1_700_000_000 + i, i % 1_000_000),
    i % 2 === 0,
    [i, i + 1, i % 3 === 0 ? null : i + 2],
    `${i}.${String(i % 100).padStart(2, "0")}`
  ]
})

const program = Effect.gen(function* () {
  const url =
    process.env.PG_URL ??
    (yield* Testing.PgTestServer.start({ version: 18, tls: false, backend: "local" })).url
  const conn: ExpertConnection = yield* Expert.connect(url)
  yield* conn.query("drop table if exists copy_typed_bench")
  yield* conn.query(
    "create table copy_typed_bench (id int8, label text, score float8, at timestamptz, flag bool, tags int4[], amount numeric)"
  )
  const want = String((BigInt(ROWS) * BigInt(ROWS + 1)) / 2n)
  const check = Effect.gen(function* () {
    const r = yield* conn.query("select count(*)::int as n, sum(id)::text as s from copy_typed_bench")
    const row = r.rows[0] as unknown as { readonly n: number; readonly s: string } | ReadonlyArray<unknown>
    const [n, s] = Array.isArray(row) ? row : [(row as { n: number }).n, (row as { s: string }).s]
    if (Number(n) !== ROWS || s !== want)
      return yield* Effect.die(new Error(`table holds ${n} rows, sum ${s}`))
  })

  const results: Record<string, Array<number>> = {
    "in text": [],
    "in binary": [],
    "out text": [],
    "out binary": []
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const format of ["text", "binary"] as const) {
      yield* conn.query("truncate copy_typed_bench")
      const source = Stream.fromIterable(rows).pipe(Stream.rechunk(1000))
      const t = performance.now()
      const done = yield* conn.copyInRows({ table: "copy_typed_bench", columns: COLUMNS }, source, { format })
      const ms = performance.now() - t
      if (done.rows !== ROWS) return yield* Effect.die(new Error(`COPY reported ${done.rows} rows`))
      yield* check
      results[`in ${format}`]!.push(ms)
      console.log(
        `round ${round} copyInRows  ${format.padEnd(6)} ${fmt(ROWS / (ms / 1000))} rows/s (${ms.toFixed(0)} ms)`
      )
    }
    for (const format of ["text", "binary"] as const) {
      let count = 0
      const t = performance.now()
      yield* Stream.runForEach(
        conn.copyOutTyped({ table: "copy_typed_bench", columns: COLUMNS }, { format }),
        () =>
          Effect.sync(() => {
            count++
          })
      )
      const ms = performance.now() - t
      if (count !== ROWS) return yield* Effect.die(new Error(`copyOutTyped gave ${count} rows`))
      results[`out ${format}`]!.push(ms)
      console.log(
        `round ${round} copyOutTyped ${format.padEnd(6)} ${fmt(ROWS / (ms / 1000))} rows/s (${ms.toFixed(0)} ms)`
      )
    }
  }
  yield* conn.query("drop table copy_typed_bench")
  console.log("")
  console.log(`${fmt(ROWS)} rows of int8, text, float8, timestamptz, bool, int4[], numeric; ${ROUNDS} rounds`)
  for (const [name, ms] of Object.entries(results)) {
    const m = median(ms)
    console.log(
      `${name.padEnd(11)} median ${fmt(ROWS / (m / 1000)).padStart(10)} rows/s (${m.toFixed(0)} ms)`
    )
  }
  console.log(
    `binary / text: in ${(median(results["in text"]!) / median(results["in binary"]!)).toFixed(2)}x, out ${(median(results["out text"]!) / median(results["out binary"]!)).toFixed(2)}x`
  )
  console.log(
    `machine: ${cpus().length} CPUs, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}, node ${process.version}`
  )
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
