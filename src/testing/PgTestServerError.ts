/**
 * The one error type of `effect-pg/testing`.
 *
 * Does: names what went wrong while finding binaries, preparing, starting, controlling or stopping a
 * throwaway PostgreSQL server (or its TCP proxy), or making a test database on it, with a
 * human-readable message that carries the relevant log/output tail, and the list of places that
 * were tried when binaries are missing.
 * Does NOT: carry SQLSTATEs itself (a failed statement of PgTestDatabase is its `cause`) or retry
 * anything.
 * Invariants: `reason` is one of a closed set of literals; `message` is self-contained (it can be
 * printed alone and still says what to do next).
 */
import { Schema } from "effect"

/** Why a test server could not be provided or controlled. */
export const PgTestServerErrorReason = Schema.Literals([
  /** No usable `initdb`/`postgres` pair was found; `tried` lists every candidate and why it failed. */
  "BinariesNotFound",
  /** Options or override environment variables are malformed. */
  "InvalidOptions",
  /** The unprivileged run-as user could not be found or created (only when running as root). */
  "UserSetup",
  /** Creating, writing or removing the cluster's files failed. */
  "Filesystem",
  /** Generating the TLS material with the `openssl` CLI failed. */
  "Tls",
  /** `initdb` failed. */
  "Initdb",
  /** Creating roles in single-user mode failed. */
  "Setup",
  /** The server did not become ready (exited, port race lost too often, or timed out). */
  "Start",
  /** Sending a signal to the server or one of its backends failed, or the pid is not a backend. */
  "Signal",
  /** A testcontainers-based server could not be started. */
  "Container",
  /** The TCP proxy could not listen or connect. */
  "Proxy",
  /** Creating, cloning or dropping a test database (PgTestDatabase), or connecting to one, failed. */
  "Database",
  /** A standby did not stream, catch up or promote in time (PgTestReplication). */
  "Replication",
  /** PgBouncer could not be found, configured or started (PgTestBouncer). */
  "Bouncer"
])
export type PgTestServerErrorReason = typeof PgTestServerErrorReason.Type

export class PgTestServerError extends Schema.TaggedError<PgTestServerError>()("PgTestServerError", {
  reason: PgTestServerErrorReason,
  message: Schema.String,
  /** For `BinariesNotFound`: each candidate that was tried, with the reason it was rejected. */
  tried: Schema.optional(Schema.Array(Schema.String)),
  cause: Schema.optional(Schema.Defect())
}) {}

/** Builds an error from a caught value, keeping the original as `cause`. */
export const fromUnknown =
  (reason: PgTestServerErrorReason, what: string) =>
  (cause: unknown): PgTestServerError =>
    cause instanceof PgTestServerError
      ? cause
      : new PgTestServerError({
          reason,
          message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause
        })
