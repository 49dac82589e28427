/**
 * The workloads of the peer benchmark: their sizes, SQL, units and time bounds, and small helpers
 * every client module shares (the COPY input, concurrent promise workers, peak RSS).
 *
 * Does: define what is measured, identically for every client. Does NOT: talk to a server.
 * Invariants: every client runs the same SQL with the same counts; the timed section of a run
 * starts after the connection is open and after a warm-up (except `connect`, which times the
 * whole open-query-close cycle).
 */
import { readFileSync } from "node:fs"
import type { Sample, WorkloadName } from "./types.ts"

export const SEQ_QUERIES = 20_000
export const PIPE_QUERIES = 50_000
export const POOL_QUERIES = 50_000
export const CONCURRENCY = 256
export const POOL_SIZE = 8
export const ROWS = 1_000_000
export const MEMORY_ROWS = 10_000_000
export const COPY_ROWS = 1_000_000
export const CONNECTS = 500
export const MEMORY_LIMIT_MB = 150

/** The mixed workload: a table of this many rows, read whole this many times (one after another). */
export const MIXED_TABLE_ROWS = 1_000
export const MIXED_QUERIES = 500
export const MIXED_WARMUP_QUERIES = 50
export const MIXED_TABLE = "bench_mixed"
export const MIXED_SQL = `select id, amount, created_at, email, active, attrs, tags from ${MIXED_TABLE} order by id`

/** Warm-up before timing: round trips for seq/pipe/pool, rows for the row workloads. */
export const WARMUP_QUERIES = 2_000
export const WARMUP_ROWS = 50_000

export const SELECT_INT = "select $1::int"
/**
 * The row workloads' query, with the row count as its parameter: the warm-up and the measured
 * query are the same statement, so a client that caches statements (and, for effect-pg with
 * typed results, binds binary result formats once the columns are known) is measured on that path.
 */
export const ROWS_SQL =
  "select g, g::text, now(), g*1.5::float8, md5(g::text) from generate_series(1, $1::int) g"
export const COPY_TABLE = "bench_copy"
export const COPY_SQL = `copy ${COPY_TABLE} (a, b, c) from stdin`
export const CREATE_COPY_TABLE = `create table if not exists ${COPY_TABLE} (a int, b text, c float8)`

export interface WorkloadInfo {
  readonly name: WorkloadName
  readonly title: string
  /** Unit of the throughput figure. */
  readonly unit: "queries/s" | "rows/s" | "connections/s"
  /** Hard bound for one child process, seconds. */
  readonly timeoutSeconds: number
  readonly description: string
}

export const workloads: ReadonlyArray<WorkloadInfo> = [
  {
    name: "seq",
    title: "seq",
    unit: "queries/s",
    timeoutSeconds: 120,
    description: `${SEQ_QUERIES.toLocaleString("en-US")} \`${SELECT_INT}\` on one connection, each awaited before the next`
  },
  {
    name: "pipe",
    title: "pipe",
    unit: "queries/s",
    timeoutSeconds: 120,
    description: `${PIPE_QUERIES.toLocaleString("en-US")} \`${SELECT_INT}\` from ${CONCURRENCY} concurrent fibers/promises on one connection`
  },
  {
    name: "pool",
    title: "pool",
    unit: "queries/s",
    timeoutSeconds: 120,
    description: `${POOL_QUERIES.toLocaleString("en-US")} \`${SELECT_INT}\` from ${CONCURRENCY} concurrent fibers/promises over a pool of ${POOL_SIZE}`
  },
  {
    name: "rows",
    title: "rows (memory)",
    unit: "rows/s",
    timeoutSeconds: 180,
    description: `${ROWS.toLocaleString("en-US")} rows × 5 columns read into one in-memory array`
  },
  {
    name: "rows-stream",
    title: "rows (stream)",
    unit: "rows/s",
    timeoutSeconds: 180,
    description: `the same ${ROWS.toLocaleString("en-US")} rows consumed as a stream (rows counted, not kept)`
  },
  {
    name: "mixed",
    title: "mixed row",
    unit: "rows/s",
    timeoutSeconds: 180,
    description: `${MIXED_QUERIES} × \`${MIXED_SQL}\` (${MIXED_TABLE_ROWS.toLocaleString("en-US")} rows of int8, numeric(12,2), timestamptz, text, bool, jsonb, int4[]), each awaited, every value decoded to its JS type`
  },
  {
    name: "copy",
    title: "copy in",
    unit: "rows/s",
    timeoutSeconds: 180,
    description: `COPY … FROM STDIN of ${COPY_ROWS.toLocaleString("en-US")} rows (int, text, float8), text format, pre-encoded bytes`
  },
  {
    name: "connect-trust",
    title: "connect (trust)",
    unit: "connections/s",
    timeoutSeconds: 180,
    description: `${CONNECTS} × (connect, \`select 1\`, close), one after another, trust authentication, TCP`
  },
  {
    name: "connect-scram",
    title: "connect (scram)",
    unit: "connections/s",
    timeoutSeconds: 240,
    description: `${CONNECTS} × (connect, \`select 1\`, close), scram-sha-256 authentication, TCP`
  },
  {
    name: "memory",
    title: "stream 10M",
    unit: "rows/s",
    timeoutSeconds: 300,
    description: `a stream of ${MEMORY_ROWS.toLocaleString("en-US")} rows × 5 columns; pass = peak RSS < ${MEMORY_LIMIT_MB} MB`
  }
]

export const workloadInfo = (name: WorkloadName): WorkloadInfo => {
  const found = workloads.find((w) => w.name === name)
  if (found === undefined) throw new Error(`unknown workload ${name}`)
  return found
}

/** Peak resident set size of this process so far, in MB. */
export const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024

/** The COPY input: one line per row, `i \t row i \t i*1.5`. */
export const copyText = (rows: number): string => {
  const parts: Array<string> = []
  for (let i = 1; i <= rows; i++) parts.push(`${i}\trow number ${i}\t${i * 1.5}\n`)
  return parts.join("")
}

/** The COPY input file cut into 64 KiB chunks (cut anywhere, not at line ends), read before timing. */
export const copyChunks = (file: string): { readonly chunks: Array<Buffer>; readonly bytes: number } => {
  const all = readFileSync(file)
  const chunks: Array<Buffer> = []
  for (let at = 0; at < all.length; at += 65_536) chunks.push(all.subarray(at, at + 65_536))
  return { chunks, bytes: all.length }
}

/** `workers` async loops that together call `task(i)` for i in [0, total), each awaiting its call. */
export const concurrently = async (
  total: number,
  workers: number,
  task: (i: number) => Promise<unknown>
): Promise<void> => {
  let next = 0
  const loop = async () => {
    while (next < total) {
      const i = next++
      await task(i)
    }
  }
  await Promise.all(Array.from({ length: workers }, loop))
}

/** Starts a measurement; `end` returns the sample: wall time, CPU time of this process, peak RSS. */
export const startClock = () => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  return {
    end: (count: number, bytes?: number): Sample => {
      const seconds = (performance.now() - start) / 1000
      const used = process.cpuUsage(cpu)
      const base = { count, seconds, cpuSeconds: (used.user + used.system) / 1e6, peakRssMb: peakRssMb() }
      return bytes === undefined ? base : { ...base, bytes }
    }
  }
}

/** Times `body` and returns the sample. */
export const timed = async (count: number, body: () => Promise<unknown>, bytes?: number): Promise<Sample> => {
  const clock = startClock()
  await body()
  return clock.end(count, bytes)
}

/** Throws when a check fails: a run that returns wrong data must not produce a number. */
export const check = (ok: boolean, what: string): void => {
  if (!ok) throw new Error(`check failed: ${what}`)
}
