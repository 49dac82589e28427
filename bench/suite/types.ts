/**
 * Shared types of the peer benchmark suite: the workloads, what one measurement returns, the
 * context a child process receives, and the shape every client module exports.
 *
 * Does: define data only. Does NOT: run anything.
 * Invariants: a client module lists every workload; a workload it cannot run is an `Unsupported`
 * entry with the reason shown in the report (never dropped silently).
 */

export type WorkloadName =
  | "seq"
  | "pipe"
  | "pool"
  | "rows"
  | "rows-stream"
  | "mixed"
  | "copy"
  | "connect-trust"
  | "connect-scram"
  | "memory"

/** What one timed run produced. `count` is operations (queries, rows or connections). */
export interface Sample {
  readonly count: number
  readonly seconds: number
  /** Payload bytes moved (COPY), for MB/s. */
  readonly bytes?: number
  /** Peak RSS of the measuring process in MB; absent for external tools (pgbench, psql). */
  readonly peakRssMb?: number
  /** CPU time (user + system) this process spent in the timed section; absent for external tools. */
  readonly cpuSeconds?: number
  /** RSS once the client library is loaded, before connecting (set by child.ts). */
  readonly loadedRssMb?: number
}

/** Everything a child needs to reach the server and the shared inputs. */
export interface BenchContext {
  /** Superuser over TCP, trust. */
  readonly url: string
  /** `roles.scram` over TCP (no TLS); undefined when the server has no such role (PG_URL). */
  readonly scramUrl: string | undefined
  readonly host: string
  readonly port: number
  readonly user: string
  readonly database: string
  readonly password: string | undefined
  readonly scram: { readonly user: string; readonly password: string } | undefined
  /** COPY input: text format, `int \t text \t float8 \n`, 1,000,000 lines. */
  readonly copyFile: string
  /** A scratch directory for pgbench scripts. */
  readonly workDir: string
  readonly pgbench: string | undefined
  readonly psql: string | undefined
}

export interface Unsupported {
  readonly unsupported: string
}

export type Runner = (ctx: BenchContext) => Promise<Sample>

export type WorkloadEntry = Runner | Unsupported

export interface ClientModule {
  /** Stable id used on the command line and in the JSON results. */
  readonly id: string
  /** Label in the tables. */
  readonly label: string
  /** "js" clients compete for "fastest JS peer"; "c" is the libpq reference; "self" is effect-pg. */
  readonly kind: "self" | "js" | "c"
  /** How the client is used, one line for the method section. */
  readonly how: string
  readonly workloads: Readonly<Record<WorkloadName, WorkloadEntry>>
}

export const isUnsupported = (entry: WorkloadEntry): entry is Unsupported => typeof entry !== "function"
