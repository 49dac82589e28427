/**
 * The public description of a test server: connection settings plus, for a server this module
 * started, its roles, TLS material and fault-injection controls.
 *
 * Does: define types only.
 * Does NOT: hold behaviour (LocalServer.ts and External.ts build these values).
 * Invariants: `source` discriminates; on "external" and "container" servers every local-only field
 * is declared `?: undefined`, so `info.roles`, `info.tls`, `info.restart`... can be read (and a
 * test can skip) without narrowing first, while narrowing on `source === "local"` makes them required.
 */
import type { Effect } from "effect"
import type { PgTestRoles } from "./ClusterConfig.ts"
import type { PgTestServerError } from "./PgTestServerError.ts"
import type { PgTestTls } from "./Tls.ts"

export type { PgTestRole, PgTestRoles } from "./ClusterConfig.ts"
export type { PgTestTls } from "./Tls.ts"

/** How `restart` stops the server: "fast" (SIGINT: rolls back and disconnects) or "immediate" (SIGQUIT: crash-like, recovery on start). */
export type PgTestRestartMode = "fast" | "immediate"

interface Common {
  /** Where the server comes from: started here, named by EFFECT_PG_TEST_URL, or a testcontainers container. */
  readonly source: "local" | "external" | "container"
  /** Host name or address to connect to; for a unix-socket-only external server, the socket directory. */
  readonly host: string
  readonly port: number
  readonly database: string
  readonly user: string
  readonly password?: string
  /** A `postgres://` URL with the above. */
  readonly url: string
}

/** A cluster started by this module, with every feature available. */
export interface PgTestLocalServer extends Common {
  readonly source: "local"
  /** Major version, e.g. 18. */
  readonly version: number
  /** Equal to the server's `server_version` parameter, e.g. "18.4" or "15.18 (Debian 15.18-0+deb12u1)". */
  readonly versionString: string
  readonly host: "127.0.0.1"
  readonly database: "postgres"
  /** Superuser, `trust` over the socket and TCP. */
  readonly user: "postgres"
  /** Directory holding the unix socket `.s.PGSQL.<port>`. */
  readonly socketDir: string
  readonly roles: PgTestRoles
  /** Absent when started with `tls: false`. */
  readonly tls?: PgTestTls
  readonly binDir: string
  readonly dataDir: string
  /** The server's stderr log (log_connections=on, lc_messages=C, prefix "%m [%p] "). */
  readonly logFile: string
  /** The whole log so far. */
  readonly readLog: Effect.Effect<string, PgTestServerError>
  /** The current postmaster pid (it changes on restart). */
  readonly pid: Effect.Effect<number, PgTestServerError>
  /** SIGTERM to a backend of this server: what `pg_terminate_backend(pid)` does (FATAL 57P01 to its client). */
  readonly terminateBackend: (backendPid: number) => Effect.Effect<void, PgTestServerError>
  /** SIGINT to a backend of this server: what `pg_cancel_backend(pid)` does (57014 on the running query). */
  readonly cancelBackend: (backendPid: number) => Effect.Effect<void, PgTestServerError>
  /**
   * Stops the server (default "fast"; "immediate" is a crash) and leaves it stopped: clients get
   * refused connections until `restart` starts it again on the same port. Idempotent.
   */
  readonly stop: (options?: { readonly mode?: PgTestRestartMode }) => Effect.Effect<void>
  /** Stops the server (default "fast") if it runs, and starts it again on the same port; resolves when it is ready. */
  readonly restart: (options?: {
    readonly mode?: PgTestRestartMode
  }) => Effect.Effect<void, PgTestServerError>
}

/** A server named by EFFECT_PG_TEST_URL or run by testcontainers: no roles, TLS or controls. */
export interface PgTestRemoteServer extends Common {
  readonly source: "external" | "container"
  /** Known for containers (the image's major); unknown for external servers. */
  readonly version?: number
  readonly versionString?: undefined
  readonly socketDir?: string
  /** The `sslmode` requested by EFFECT_PG_TEST_URL, if any. */
  readonly sslMode?: string
  readonly roles?: undefined
  readonly tls?: undefined
  readonly binDir?: undefined
  readonly dataDir?: undefined
  readonly logFile?: undefined
  readonly readLog?: undefined
  readonly pid?: undefined
  readonly terminateBackend?: undefined
  readonly cancelBackend?: undefined
  readonly stop?: undefined
  readonly restart?: undefined
}

export type PgTestServerInfo = PgTestLocalServer | PgTestRemoteServer
