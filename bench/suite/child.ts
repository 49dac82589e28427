/**
 * One measurement in its own process: `node bench/suite/child.ts <workload> <client>` with the
 * BenchContext as JSON in BENCH_CTX. Prints one line `RESULT {json Sample}` on success; on failure
 * prints the error on stderr and exits 1.
 *
 * Does: isolate runs from each other (heap, JIT state, peak RSS) — one child per measurement —
 * and record the RSS right after the client library is loaded (`loadedRssMb`), before any work.
 * Does NOT: decide what to run or retry; the harness does.
 * Invariants: the only stdout line starting with "RESULT " is the sample.
 */
import { type BenchContext, type ClientModule, isUnsupported, type WorkloadName } from "./types.ts"
import { peakRssMb, workloadInfo } from "./workloads.ts"

/** Each child loads only the library it measures, so its RSS carries no other client. */
const loaders: Readonly<Record<string, () => Promise<ClientModule>>> = {
  "effect-pg": async () => (await import("./clients/effect-pg.ts")).effectPg,
  "effect-pg-rr": async () => (await import("./clients/effect-pg.ts")).effectPgRoundRobin,
  "effect-pg-sql": async () => (await import("./clients/effect-pg-sql.ts")).effectPgSql,
  pg: async () => (await import("./clients/pg.ts")).pgClient,
  "pg-text": async () => (await import("./clients/pg.ts")).pgText,
  postgres: async () => (await import("./clients/postgres.ts")).postgresJs,
  "sql-pg": async () => (await import("./clients/sql-pg.ts")).sqlPg,
  "sql-pg-mux": async () => (await import("./clients/sql-pg.ts")).sqlPgMultiplex,
  libpq: async () => (await import("./clients/libpq.ts")).libpq
}

const main = async () => {
  const [workload, clientId] = process.argv.slice(2)
  const ctxJson = process.env.BENCH_CTX
  if (workload === undefined || clientId === undefined || ctxJson === undefined) {
    throw new Error("usage: BENCH_CTX=<json> node bench/suite/child.ts <workload> <client>")
  }
  workloadInfo(workload as WorkloadName)
  const load = loaders[clientId]
  if (load === undefined) throw new Error(`unknown client ${clientId}`)
  const client = await load()
  const loadedRssMb = peakRssMb()
  const entry = client.workloads[workload as WorkloadName]
  if (isUnsupported(entry)) throw new Error(`${clientId} does not run ${workload}: ${entry.unsupported}`)
  const ctx = JSON.parse(ctxJson) as BenchContext
  const sample = await entry(ctx)
  const withBase = sample.peakRssMb === undefined ? sample : { ...sample, loadedRssMb }
  process.stdout.write(`RESULT ${JSON.stringify(withBase)}\n`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
