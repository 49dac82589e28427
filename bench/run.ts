/**
 * `npm run bench`: effect-pg against its peers (pg, postgres.js, @effect/sql-pg with and without
 * multiplexing) and the libpq tools (pgbench, psql), on one PostgreSQL 18 started here (or PG_URL).
 *
 * Environment:
 *   BENCH_RUNS=n            rounds per (workload, client), default 5
 *   BENCH_ONLY=seq,pipe     only these workloads (seq pipe pool rows rows-stream mixed copy
 *                           connect-trust connect-scram memory)
 *   BENCH_PROFILE=seq,rows  also profile effect-pg on these workloads (node --cpu-prof) and print
 *                           the top self-time functions; profiles land in $TMPDIR/effect-pg-bench-profiles/
 *   BENCH_WRITE_DOCS=1      rewrite docs/benchmarks.md and docs/benchmarks.svg even for a partial run
 *   PG_URL, PG_SCRAM_URL    measure an existing server instead of starting one
 *   BENCH_FROM=file         no measuring: re-render the summary (and docs) from the raw results a
 *                           previous run saved in $TMPDIR/effect-pg-bench-results.json
 *
 * Writes the "Peers" section of docs/benchmarks.md and docs/benchmarks.svg after a full run
 * (every workload, at least 5 rounds). Does NOT: change src/ or compare against stored numbers.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { renderChart } from "./suite/chart.ts"
import { type Cell, type Results, runAll } from "./suite/harness.ts"
import { formatLoad, type MachineFacts, machineFacts } from "./suite/machine.ts"
import { formatSelfTimes, profileWorkload } from "./suite/profile.ts"
import { consoleSummary, peersSection, updateDoc } from "./suite/report.ts"
import { prepareServer, type ServerFacts } from "./suite/server.ts"
import { summarizeAll } from "./suite/stats.ts"
import type { WorkloadName } from "./suite/types.ts"
import { workloads } from "./suite/workloads.ts"

const list = (value: string | undefined): Array<string> =>
  (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")

const parseWorkloads = (value: string | undefined): Array<WorkloadName> => {
  const names = list(value)
  const known = workloads.map((w) => w.name as string)
  const unknown = names.filter((n) => !known.includes(n))
  if (unknown.length > 0)
    throw new Error(`unknown workload(s) ${unknown.join(", ")}; known: ${known.join(", ")}`)
  return (names.length === 0 ? known : known.filter((n) => names.includes(n))) as Array<WorkloadName>
}

interface RunRecord {
  readonly results: Array<[WorkloadName, Array<[string, Cell]>]>
  readonly machine: MachineFacts
  readonly server: ServerFacts
  readonly runs: number
  readonly full: boolean
  readonly loadEnd: string
  readonly durationSeconds: number
  readonly date: string
}

const RECORD = join(tmpdir(), "effect-pg-bench-results.json")

/** Prints the summary and (for a full run, or when forced) rewrites the docs. */
const render = (record: RunRecord): void => {
  const results: Results = new Map(record.results.map(([w, cells]) => [w, new Map(cells)]))
  const summaries = summarizeAll(results)
  console.log(`\n${consoleSummary(results, summaries)}`)
  if (!record.full && process.env.BENCH_WRITE_DOCS !== "1") {
    console.log("\npartial run: docs/benchmarks.md not rewritten (BENCH_WRITE_DOCS=1 forces it)")
    return
  }
  const docs = new URL("../docs/", import.meta.url)
  mkdirSync(docs, { recursive: true })
  writeFileSync(new URL("benchmarks.svg", docs), renderChart(summaries))
  updateDoc(new URL("benchmarks.md", docs).pathname, peersSection({ ...record, results, summaries }))
  console.log("\nwrote docs/benchmarks.md (Peers section) and docs/benchmarks.svg")
}

const measure = Effect.gen(function* () {
  const runs = Number(process.env.BENCH_RUNS ?? "5")
  if (!Number.isInteger(runs) || runs < 1)
    return yield* Effect.die(new Error("BENCH_RUNS must be a positive integer"))
  const selected = parseWorkloads(process.env.BENCH_ONLY)
  const profiled = (process.env.BENCH_PROFILE ?? "") === "" ? [] : parseWorkloads(process.env.BENCH_PROFILE)
  const started = performance.now()
  const { ctx, facts } = yield* prepareServer
  const machine = machineFacts(ctx)
  console.log(`server: ${facts.version}`)
  console.log(
    `machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.cpu}, load ${machine.loadStart}`
  )
  console.log(`${runs} rounds of: ${selected.join(", ")}`)

  const results = yield* Effect.promise(() =>
    runAll({ workloads: selected, runs, ctx, log: (l) => console.log(l) })
  )
  const record: RunRecord = {
    results: [...results].map(([w, cells]) => [w, [...cells]]),
    machine,
    server: facts,
    runs,
    full: selected.length === workloads.length && runs >= 5,
    loadEnd: formatLoad(),
    durationSeconds: (performance.now() - started) / 1000,
    date: new Date().toISOString().slice(0, 10)
  }
  writeFileSync(RECORD, JSON.stringify(record))
  console.log(`\nraw results: ${RECORD} (re-render with BENCH_FROM=${RECORD})`)
  render(record)

  if (profiled.length > 0) {
    const dir = join(tmpdir(), "effect-pg-bench-profiles")
    mkdirSync(dir, { recursive: true })
    for (const workload of profiled) {
      const top = yield* Effect.promise(() => profileWorkload(workload, ctx, dir))
      console.log(`\n${formatSelfTimes(workload, top)}`)
    }
    console.log(`\nprofiles in ${dir}`)
  }
})

const from = process.env.BENCH_FROM ?? ""
const program: Effect.Effect<unknown, unknown> =
  from === ""
    ? Effect.scoped(measure)
    : Effect.sync(() => render(JSON.parse(readFileSync(from, "utf8")) as RunRecord))

Effect.runPromise(program).catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
