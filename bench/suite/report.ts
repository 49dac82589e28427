/**
 * Formatting of the results: the short summary printed by `npm run bench`, the targets check, and
 * the "Peers" section of docs/benchmarks.md (main table, chart link, per-workload details,
 * machine, versions, server settings, method).
 *
 * Does: produce text. Does NOT: write files other than through `updateDoc` (which keeps every other
 * section of docs/benchmarks.md: only the text between the peers markers is replaced).
 * Invariants: every client appears in every workload row: a number, a failure, or the reason it
 * does not run there.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { clients } from "./clients/index.ts"
import type { Results } from "./harness.ts"
import type { MachineFacts } from "./machine.ts"
import type { ServerFacts } from "./server.ts"
import { ratio, type Summary, type WorkloadSummary } from "./stats.ts"
import { MEMORY_LIMIT_MB, workloadInfo } from "./workloads.ts"

export const fmt = (x: number): string =>
  x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toLocaleString("en-US", { maximumFractionDigits: 1 })

const times = (r: number | undefined): string => (r === undefined ? "" : `${r.toFixed(2)}×`)

const cellText = (results: Results, w: WorkloadSummary, id: string, withRatio: boolean): string => {
  const cell = results.get(w.workload)?.get(id)
  if (cell === undefined) return ""
  // A variant that only exists for other workloads is left blank here (its reason is in the details).
  // The main table shows the reason up to its first "(", ":" or ";"; the details give it whole.
  if (cell.unsupported !== undefined)
    return cell.unsupported.startsWith("— variant") ? "" : (cell.unsupported.split(/[(:;]/)[0] ?? "").trim()
  const s = w.byClient.get(id)
  if (s === undefined) return `failed: ${cell.failures[0] ?? "no samples"}`
  const r = ratio(s, w)
  return withRatio && r !== undefined ? `${fmt(s.median)} (${times(r)})` : fmt(s.median)
}

export interface Target {
  readonly what: string
  readonly goal: string
  readonly measured: number | undefined
  readonly threshold: number
  readonly lowerIsBetter?: boolean
}

const byId = (w: WorkloadSummary | undefined, id: string): Summary | undefined => w?.byClient.get(id)

export const targets = (summaries: ReadonlyArray<WorkloadSummary>): Array<Target> => {
  const get = (name: string) => summaries.find((s) => s.workload === name)
  const vsPeer = (name: string, threshold: number): Target => {
    const w = get(name)
    return {
      what: `${name}: effect-pg ÷ fastest JS peer`,
      goal: `≥ ${threshold.toFixed(1)}×`,
      measured: w === undefined ? undefined : ratio(byId(w, "effect-pg"), w),
      threshold
    }
  }
  const vsC = (name: string, threshold: number, tool: string): Target => {
    const w = get(name)
    const self = byId(w, "effect-pg")
    const c = byId(w, "libpq")
    return {
      what: `${name}: effect-pg ÷ ${tool}`,
      goal: `≥ ${threshold.toFixed(1)}×`,
      measured: self === undefined || c === undefined ? undefined : self.median / c.median,
      threshold
    }
  }
  const memory = byId(get("memory"), "effect-pg")
  return [
    vsPeer("seq", 1.0),
    vsPeer("rows", 1.1),
    vsPeer("rows-stream", 1.1),
    vsPeer("mixed", 1.0),
    vsPeer("copy", 1.0),
    vsPeer("connect-trust", 1.0),
    vsPeer("connect-scram", 1.0),
    vsPeer("pipe", 1.3),
    vsPeer("pool", 1.3),
    vsC("seq", 0.8, "pgbench -M prepared -c 1"),
    vsC("copy", 0.8, "psql \\copy"),
    {
      what: "memory: effect-pg peak RSS streaming 10M rows (MB, max over runs)",
      goal: `< ${MEMORY_LIMIT_MB} MB`,
      measured: memory?.rssMax,
      threshold: MEMORY_LIMIT_MB,
      lowerIsBetter: true
    }
  ]
}

/** Ratios are judged as shown (2 decimals), so a cell reading 1.00× never says "NOT met" against 1.0×. */
const verdict = (t: Target): string => {
  if (t.measured === undefined) return "not measured"
  const shown = Math.round(t.measured * 100) / 100
  const ok = t.lowerIsBetter === true ? t.measured < t.threshold : shown >= t.threshold
  return ok ? "met" : "NOT met"
}

const measuredText = (t: Target) =>
  t.measured === undefined ? "—" : t.lowerIsBetter === true ? `${fmt(t.measured)} MB` : times(t.measured)

/** The short table printed at the end of a run. */
export const consoleSummary = (results: Results, summaries: ReadonlyArray<WorkloadSummary>): string => {
  const active = clients.filter((c) => summaries.some((w) => w.byClient.get(c.id) !== undefined))
  const head = ["workload", ...active.map((c) => c.label)]
  const rows = summaries.map((w) => [
    workloadInfo(w.workload).title,
    ...active.map((c) => {
      const s = w.byClient.get(c.id)
      if (s !== undefined) return `${fmt(s.median)} ${times(ratio(s, w))}`
      const cell = results.get(w.workload)?.get(c.id)
      return cell?.unsupported !== undefined ? "—" : "failed"
    })
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: ReadonlyArray<string>) => r.map((x, i) => x.padEnd(widths[i]!)).join("  ")
  const lines = [line(head), ...rows.map(line), ""]
  lines.push(
    "median throughput (ratio to the fastest JS peer); — = not supported, see docs/benchmarks.md",
    ""
  )
  for (const t of targets(summaries))
    lines.push(`${verdict(t).padEnd(12)} ${t.what} ${t.goal}: ${measuredText(t)}`)
  return lines.join("\n")
}

export interface ReportInput {
  readonly results: Results
  readonly summaries: ReadonlyArray<WorkloadSummary>
  readonly machine: MachineFacts
  readonly server: ServerFacts
  readonly runs: number
  readonly loadEnd: string
  readonly durationSeconds: number
  readonly date: string
}

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map((x) => x.replace(/\|/g, "\\|")).join(" | ")} |`)
  ].join("\n")

const details = (input: ReportInput, w: WorkloadSummary): string => {
  const info = workloadInfo(w.workload)
  const shown = clients.filter((c) => {
    const reason = input.results.get(w.workload)?.get(c.id)?.unsupported
    return reason === undefined || !reason.startsWith("— variant")
  })
  const rows = shown.map((c) => {
    const cell = input.results.get(w.workload)?.get(c.id)
    const s = w.byClient.get(c.id)
    if (s === undefined)
      return [c.label, cell?.unsupported ?? `failed: ${cell?.failures[0] ?? "?"}`, "", "", "", "", "", "", ""]
    const failed = cell !== undefined && cell.failures.length > 0 ? ` (${cell.failures.length} failed)` : ""
    return [
      c.label,
      fmt(s.median),
      `${fmt(s.min)} – ${fmt(s.max)}`,
      times(ratio(s, w)),
      s.mbPerSecond === undefined ? "" : fmt(s.mbPerSecond),
      s.cpuMicros === undefined ? "" : s.cpuMicros < 10 ? s.cpuMicros.toFixed(2) : fmt(s.cpuMicros),
      s.rssMedian === undefined ? "" : `${fmt(s.rssMedian)} / ${fmt(s.rssMax!)}`,
      s.rssLoaded === undefined ? "" : fmt(s.rssLoaded),
      `${s.runs}${failed}`
    ]
  })
  const peer = w.fastestPeer === undefined ? "none" : clients.find((c) => c.id === w.fastestPeer!.id)?.label
  return [
    `#### ${info.title}: ${info.description}`,
    "",
    `Unit: ${info.unit}. Fastest JS peer: ${peer}.`,
    "",
    table(
      [
        "client",
        `median ${info.unit}`,
        "min – max",
        "÷ fastest JS peer",
        "MB/s",
        "client CPU µs/op",
        "peak RSS MB (median / max)",
        "RSS after load MB",
        "runs"
      ],
      rows
    )
  ].join("\n")
}

export const START = "<!-- peers:start (generated by `npm run bench`; edit bench/suite/report.ts instead) -->"
export const END = "<!-- peers:end -->"

export const peersSection = (input: ReportInput): string => {
  const { results, summaries, machine, server } = input
  const main = table(
    ["workload", "unit", ...clients.map((c) => c.label)],
    summaries.map((w) => [
      workloadInfo(w.workload).title,
      workloadInfo(w.workload).unit,
      ...clients.map((c) => cellText(results, w, c.id, true))
    ])
  )
  const targetRows = targets(summaries).map((t) => [t.what, t.goal, measuredText(t), verdict(t)])
  return [
    START,
    "## Peers: effect-pg against pg, postgres.js, @effect/sql-pg and libpq",
    "",
    `Generated by \`npm run bench\` (bench/run.ts) on ${input.date}: ${input.runs} runs per (workload, client), interleaved, ` +
      `${Math.round(input.durationSeconds / 60)} min in all. Cells: median throughput (ratio to the fastest JS peer; higher is better); a blank cell is a variant measured on other workloads only, and the details below say why a client does not run a workload.`,
    "",
    main,
    "",
    ...busyNote(machine, input.loadEnd),
    "![Median throughput divided by the fastest JS peer, per workload](benchmarks.svg)",
    "",
    "### Targets",
    "",
    table(["target", "goal", "measured", ""], targetRows),
    "",
    "### Details",
    "",
    summaries.map((w) => details(input, w)).join("\n\n"),
    "",
    "### Machine and versions",
    "",
    table(
      ["", ""],
      [
        [
          "machine",
          `${machine.cores} cores (nproc), ${machine.memoryGiB} GiB, ${machine.cpu}, ${machine.os}`
        ],
        ["load average (1/5/15 min)", `start ${machine.loadStart}; end ${input.loadEnd}`],
        ["node", machine.node],
        ["PostgreSQL", `${server.version} (${server.source}, same machine, TCP 127.0.0.1)`],
        ...machine.versions.map(([k, v]) => [k, v] as [string, string])
      ]
    ),
    "",
    "Server settings (from `pg_settings` of the server measured):",
    "",
    table(
      ["setting", "value"],
      server.settings.map(([k, v]) => [k, v])
    ),
    "",
    "### Method",
    "",
    ...methodLines(),
    END
  ].join("\n")
}

/** A warning when the machine was busier than its cores during the run (shared machines). */
const busyNote = (machine: MachineFacts, loadEnd: string): Array<string> => {
  const first = (load: string) => Number(load.split(" / ")[0])
  if (Math.max(first(machine.loadStart), first(loadEnd)) <= machine.cores) return []
  return [
    `The machine was shared with other work during this run (1-minute load average ${machine.loadStart.split(" / ")[0]} at the start, ${loadEnd.split(" / ")[0]} at the end, on ${machine.cores} cores), so the wall-clock min – max spreads are wide. The interleaving keeps the ratios comparable; the \`client CPU µs/op\` column in the details is the steadier measure of each client's own cost.`,
    ""
  ]
}

const methodLines = (): Array<string> => [
  "* **One server, one run, interleaved.** All clients measure the same server in the same run. For each workload the suite runs round 1 of every client, then round 2, and so on (A B C A B C), so drift in machine load spreads over all clients.",
  "* **One process per measurement.** Every (workload, client, run) runs in a fresh `node` child process (bench/suite/child.ts): no heap, JIT or RSS carry-over between runs. Peak RSS is that process's `maxRSS` (`process.resourceUsage()`), so it includes Node itself and the client library (83–135 MB before the first query here: see `RSS after load`).",
  "* **What is timed.** The connection (or pool) is opened first, a warm-up runs (2,000 queries, or one 50,000-row query), then the timer covers exactly the workload. `connect` times the whole cycle: open, authenticate, `select 1`, close, 500 times in a row. COPY input is read from disk and cut into 64 KiB chunks before the timer starts; the same bytes go to every client and to psql.",
  "* **Checked, not trusted.** Every run verifies its data (the last value, the sum of all pipelined values, the row count, the COPY row count) and a run that fails a check reports a failure, not a number.",
  "* **Bounded.** Each child has a hard time limit per workload (120–300 s) and is killed past it; the run goes on and the table says `failed`.",
  '* **Each client as its documentation shows it, values decoded.** That includes their defaults: pg and postgres.js parse values into JS types (int, Date, float, parsed JSON, arrays; int8 and numeric stay strings, their documented default) and build one object per row; @effect/sql-pg decodes binary results through its codecs; effect-pg runs on its defaults, typed results (binary formats once a statement is cached: int8 → bigint, timestamptz → PgTimestamp, numeric → exact string) and object rows keyed by column name (decision 022). The `pg (text rows)` entry (`rowMode: "array"`, identity parsers) is the text-only reference on the rows workload. postgres.js and @effect/sql-pg prepare and cache named statements by default, and so does effect-pg (its statement cache); pg sends an unnamed Parse with every query. The row workloads pass the row count as a parameter, so the warm-up and the timed query are the same statement. `mixed` checks every value of the last result (bench/suite/mixed.ts): a client returning text where a value is due fails the run.',
  "* **Same connection settings.** Every client gets the same URL with `sslmode=disable` (the server has no TLS). Without it effect-pg, like libpq, defaults to `prefer` and sends an SSLRequest first: one more round trip per connect that pg and postgres.js (no TLS by default) do not make.",
  "* **Memory.** Peak RSS includes the runtime: effect-pg is loaded from its TypeScript sources through Node's type stripping (about 17 MB more than plain JS) together with `effect` (the barrel import alone is about 47 MB over a bare Node process). The column `RSS after load` is the RSS once the client library is imported and before connecting; a flat stream shows as the same peak for 1M (rows (stream)) and 10M rows (stream 10M).",
  "* **The C reference.** `seq` is compared with `pgbench -n -M prepared -c 1 -j 1 -t 20000` running `\\set x random(1, 1000000)` + `select :x::int;` (libpq, one prepared statement, Bind/Execute/Sync and a wait per query, tps without the initial connection). `pipe`/`pool` use pgbench `\\startpipeline … \\endpipeline` batches of 256 on 1 connection / 32 on each of 8 connections. `connect` is `pgbench -C -M simple -t 500` with `select 1;`. `copy` is the wall time of `psql -X -c \"\\copy bench_copy (a, b, c) from 'file'\"` (process start-up and connect included). pgbench and psql are PostgreSQL 15's client tools (Debian); the server is 18.",
  "* **Client CPU.** Next to the wall-clock throughput, the details give the CPU time (user + system, `process.cpuUsage()`) the client process spent per operation in the timed section. Client and server share 2 cores, so a machine that is busy with other work moves the wall-clock numbers a lot; the CPU cost of a client moves much less, and it is what a client can improve.",
  "* **Not measured.** TLS, network latency (client and server share 2 cores over loopback, so a client's CPU use slows the server too), prepared-statement reuse across runs, query planning variance, long-run memory growth beyond one run.",
  "* **Run it.** `npm run bench`. `BENCH_RUNS=n` sets the rounds (default 5), `BENCH_ONLY=seq,pipe` runs some workloads (the docs are rewritten only for a full run of ≥ 5 rounds, or with `BENCH_WRITE_DOCS=1`), `BENCH_PROFILE=seq,pipe,rows` writes `node --cpu-prof` profiles of effect-pg and prints the top self-time functions, `PG_URL` (and `PG_SCRAM_URL`) measure an existing server.",
  "",
  "Clients:",
  "",
  ...clients.map((c) => `* **${c.label}**: ${c.how}.`),
  ""
]

/** Replaces the peers section of docs/benchmarks.md (or puts it at the top), keeping the rest. */
export const updateDoc = (path: string, section: string): void => {
  const title = "# Benchmarks"
  if (!existsSync(path)) {
    writeFileSync(path, `${title}\n\n${section}\n`)
    return
  }
  const text = readFileSync(path, "utf8")
  const start = text.indexOf(START.slice(0, 20))
  const end = text.indexOf(END)
  if (start !== -1 && end !== -1) {
    writeFileSync(path, text.slice(0, start) + section + text.slice(end + END.length))
    return
  }
  const rest = text.startsWith("# ") ? text.slice(text.indexOf("\n") + 1).replace(/^\n+/, "") : text
  writeFileSync(path, `${title}\n\n${section}\n\n${rest}`)
}
