/**
 * COPY IN benchmark: effect-pg `copyIn` of a 1M-row text file read from disk as a byte stream,
 * against `psql -c "\copy t from 'file'"` (libpq), on the same server, interleaved.
 *
 *   node bench/copy.bench.ts            (PG_URL=... to use a running server; BENCH_ROUNDS=n, default 5)
 *
 * What is timed: effect-pg, from opening the file to the CommandComplete, on a connection opened
 * before (one per round); psql, the whole process (start, connect, authenticate, \copy, exit), with
 * the median of `psql -c "select 1"` printed beside it as psql's fixed cost. Each round TRUNCATEs
 * the table first and checks the row count and a checksum after. Prints rows/s and MB/s per run,
 * the medians and the ratio effect-pg / psql. Skips psql (with a note) when /usr/bin/psql is missing.
 * Not measured: TLS, a remote server, binary COPY, copyInRows (the encoder) — only bytes in.
 */
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises"
import { cpus, freemem, loadavg, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, FileSystem } from "effect"
import * as Expert from "../src/Expert.ts"
import * as Testing from "../src/testing/index.ts"

const run = promisify(execFile)
const PSQL = "/usr/bin/psql"
const ROWS = 1_000_000
const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 5))

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (x: number) => Math.round(x).toLocaleString("en-US")
const mb = (bytes: number, ms: number) => bytes / 1024 / 1024 / (ms / 1000)

/** The same file every run: int, text, float8; about 40 MB. */
const writeRows = async (path: string) => {
  const parts: Array<string> = []
  for (let i = 1; i <= ROWS; i++) parts.push(`${i}\trow number ${i} of the benchmark\t${i * 0.25}\n`)
  await writeFile(path, parts.join(""))
}

const program = Effect.gen(function* () {
  const url =
    process.env.PG_URL ??
    (yield* Testing.PgTestServer.start({ version: 18, tls: false, backend: "local" })).url
  const fs = yield* FileSystem.FileSystem
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "effect-pg-copy-bench-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  const file = join(dir, "rows.txt")
  yield* Effect.promise(() => writeRows(file))
  const bytes = (yield* Effect.promise(() => stat(file))).size

  const admin = yield* Expert.connect(url)
  yield* admin.query("drop table if exists copy_bench")
  yield* admin.query("create table copy_bench (a int, b text, c float8)")
  const check = Effect.gen(function* () {
    const r = yield* admin.query("select count(*)::int, sum(a)::text from copy_bench")
    const want = [String(ROWS), String((ROWS * (ROWS + 1)) / 2)]
    if (JSON.stringify(r.rows[0]) !== JSON.stringify(want)) {
      return yield* Effect.die(
        new Error(`copy_bench holds ${JSON.stringify(r.rows[0])}, expected ${JSON.stringify(want)}`)
      )
    }
  })

  const hasPsql = existsSync(PSQL)
  const psqlVersion = hasPsql
    ? (yield* Effect.promise(() => run(PSQL, ["--version"]))).stdout.trim()
    : "absent"
  if (!hasPsql) console.log(`note: ${PSQL} is missing; measuring effect-pg alone`)
  const psql = (command: string) =>
    Effect.promise(async () => {
      const t = performance.now()
      const out = await run(PSQL, [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command])
      return { ms: performance.now() - t, stdout: out.stdout }
    })

  const effectPg: Array<number> = []
  const libpq: Array<number> = []
  const psqlStartup: Array<number> = []
  const clientCpu: Array<number> = []
  for (let round = 1; round <= ROUNDS; round++) {
    yield* admin.query("truncate copy_bench")
    yield* admin.query("checkpoint")
    const ms = yield* Effect.scoped(
      Effect.gen(function* () {
        const conn = yield* Expert.connect(url)
        const cpu = process.cpuUsage()
        const t = performance.now()
        const done = yield* conn.copyIn(
          "copy copy_bench from stdin",
          fs.stream(file, { chunkSize: 64 * 1024 })
        )
        const elapsed = performance.now() - t
        const used = process.cpuUsage(cpu)
        clientCpu.push((used.user + used.system) / 1000)
        if (done.rows !== ROWS) return yield* Effect.die(new Error(`COPY reported ${done.rows} rows`))
        return elapsed
      })
    )
    yield* check
    effectPg.push(ms)
    console.log(
      `round ${round} effect-pg: ${fmt(ROWS / (ms / 1000))} rows/s, ${mb(bytes, ms).toFixed(1)} MB/s (client CPU ${clientCpu.at(-1)!.toFixed(0)} ms)`
    )

    if (hasPsql) {
      yield* admin.query("truncate copy_bench")
      yield* admin.query("checkpoint")
      const r = yield* psql(`\\copy copy_bench from '${file}'`)
      yield* check
      libpq.push(r.ms)
      psqlStartup.push((yield* psql("select 1")).ms)
      console.log(
        `round ${round} psql \\copy: ${fmt(ROWS / (r.ms / 1000))} rows/s, ${mb(bytes, r.ms).toFixed(1)} MB/s`
      )
    }
  }
  yield* admin.query("drop table copy_bench")

  const e = median(effectPg)
  console.log("")
  console.log(
    `file: ${fmt(ROWS)} rows, ${(bytes / 1024 / 1024).toFixed(1)} MB (int, text, float8; text format)`
  )
  console.log(
    `effect-pg copyIn  median: ${fmt(ROWS / (e / 1000))} rows/s, ${mb(bytes, e).toFixed(1)} MB/s (${e.toFixed(0)} ms; client CPU ${median(clientCpu).toFixed(0)} ms)`
  )
  if (hasPsql) {
    const p = median(libpq)
    const s = median(psqlStartup)
    console.log(
      `psql \\copy        median: ${fmt(ROWS / (p / 1000))} rows/s, ${mb(bytes, p).toFixed(1)} MB/s (${p.toFixed(0)} ms, of which ~${s.toFixed(0)} ms is psql's start, connect and exit)`
    )
    console.log(`ratio effect-pg / psql (throughput): ${(p / e).toFixed(2)} (target >= 0.8)`)
    console.log(`ratio without psql's fixed cost:     ${((p - s) / e).toFixed(2)}`)
  }
  console.log("")
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} free), load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" / ")}`
  )
  console.log(`versions: node ${process.version}, server ${admin.serverVersion}, ${psqlVersion}`)
  console.log(`command: node bench/copy.bench.ts (${ROUNDS} rounds, interleaved effect-pg / psql)`)
})

Effect.runPromise(Effect.scoped(program).pipe(Effect.provide(NodeFileSystem.layer))).catch((e) => {
  console.error(e)
  process.exitCode = 1
})
