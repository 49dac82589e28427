/**
 * The Expert error union: `PgConnectionError`, `PgAuthError`, `PgProtocolError`, `PgClosedError`,
 * `PgTimeoutError`, `PgTransactionError`, and `PgServerError` (in its own module), each a
 * yieldable tagged error with a readable `message`. These are the connection-level errors; the
 * pool adds its own in PgPoolErrors.ts.
 *
 * What it does: defines the rich errors the Expert API fails with, the `PgExpertError` union (type
 * and schema), and the 08003 rule for calls made after a connection failed
 * (`PgClosedError.previouslyFailed`).
 *
 * What it does NOT do: perform I/O, hold configuration (no host, user or password ever sits in an
 * error: messages are written by the layer that raises the error), or add the query text (the
 * normal `PgError` does that).
 *
 * Invariants: `unknown` causes (socket errors, TLS errors) only travel in `cause`, typed as a defect;
 * a `PgClosedError` never wraps another `PgClosedError`, so `original` is always the error that
 * ended the connection; only the operation that hit an error reports its SQLSTATE, and every later
 * call on that connection gets 08003 `connection_does_not_exist` (postgres_async's
 * "query issued against previously-failed connection").
 */
import { Schema } from "effect"
import { PgConfigError } from "../config/ConfigError.ts"
import * as Sqlstate from "../Sqlstate.ts"
import type { PgPoolTimeoutError } from "./PgPoolErrors.ts"
import { PgServerError } from "./PgServerError.ts"

/**
 * The transport failed: connecting (DNS, refused, unreachable), the TLS upgrade, the
 * authentication exchange at the transport level, or reading/writing on an open connection.
 *
 * `mayHaveReachedServer` is libpq's "the command may or may not have executed": `true` when a
 * statement had been (at least partly) written before the failure, so it may have run, and even
 * committed, on the server. Retrying such a statement is only safe when it is idempotent.
 */
export class PgConnectionError extends Schema.TaggedError<PgConnectionError>()("PgConnectionError", {
  /** Where the failure happened: dialing, the TLS upgrade, the auth exchange, or I/O on an open connection. */
  phase: Schema.Literals(["connect", "tls", "auth", "io"]),
  /** Whether the statement that was running may have reached, and run on, the server. */
  mayHaveReachedServer: Schema.Boolean,
  message: Schema.String,
  /** The underlying error (a socket or TLS error), kept as a defect. */
  cause: Schema.optional(Schema.Defect())
}) {
  /**
   * SQLSTATE-like code (the client's, as postgres_async reports it; the server sent none):
   * 08001 `sqlclient_unable_to_establish_sqlconnection` when no session was established (dialing,
   * TLS, the auth exchange's transport, a connect timeout or interruption); 08006
   * `connection_failure` when an open connection's I/O failed.
   */
  get code(): string {
    return this.phase === "io"
      ? Sqlstate.CONNECTION_FAILURE
      : Sqlstate.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION
  }
}

/** Why authentication did not complete. */
export const PgAuthErrorReason = Schema.Literals([
  "unsupported-method",
  "refused-by-require-auth",
  "channel-binding-required",
  "server-signature-invalid",
  "server-rejected",
  "protocol"
])
export type PgAuthErrorReason = typeof PgAuthErrorReason.Type

/**
 * Authentication failed. `method` is the method the server asked for ("md5", "scram-sha-256",
 * "SASL", "GSS", "SSPI", "KerberosV5", "SCMCredential", "password", or "unknown (code N)" for a
 * request code the protocol does not define). `reason`:
 * - `unsupported-method`: the server asked for a method this client does not implement (the
 *   message names it and its request code; `code` is 28000, as postgres_async reports it);
 * - `refused-by-require-auth`: the client refused a method the configuration does not allow
 *   (libpq's `require_auth`);
 * - `channel-binding-required`: channel binding was required but the server cannot do it;
 * - `server-signature-invalid`: the SCRAM server signature did not verify (the server does not
 *   know the password, so the client stops);
 * - `server-rejected`: the server refused the credentials; `serverError` holds its ErrorResponse
 *   (28P01 invalid_password, 28000 invalid_authorization_specification);
 * - `protocol`: the authentication exchange itself was malformed.
 */
export class PgAuthError extends Schema.TaggedError<PgAuthError>()("PgAuthError", {
  method: Schema.String,
  reason: PgAuthErrorReason,
  message: Schema.String,
  /** The server's ErrorResponse when the server refused the client. */
  serverError: Schema.optional(PgServerError),
  /** An underlying error (e.g. a crypto failure), kept as a defect. */
  cause: Schema.optional(Schema.Defect())
}) {
  /**
   * SQLSTATE-like code: the server's refusal's (28P01, 28000) when it sent one; 28000
   * `invalid_authorization_specification` for a method this client does not implement (the code
   * postgres_async makes up); otherwise undefined (a client-side refusal has no SQLSTATE).
   */
  get code(): string | undefined {
    if (this.serverError !== undefined) return this.serverError.code
    return this.reason === "unsupported-method" ? Sqlstate.INVALID_AUTHORIZATION_SPECIFICATION : undefined
  }
}

/**
 * Reasons of refusals the client makes on its own, answered by a server that kept to the
 * protocol: the session stays in step, so they are no protocol violation (no 08P01).
 */
const IN_STEP_REASONS: ReadonlySet<string> = new Set([
  "NotCopy",
  "UnexpectedRows",
  "CopyNotSupported",
  "UndecodableValue"
])

/**
 * The bytes from the server broke the protocol (bad length, unknown message, unexpected message in
 * this state...). The Effect-side wrapper of the pure codec's `ProtocolError`: same `reason`,
 * `message` and `messageType` (the message type byte, e.g. 0x44 for 'D'). After a protocol error
 * the connection cannot be trusted and is closed.
 */
export class PgProtocolError extends Schema.TaggedError<PgProtocolError>()("PgProtocolError", {
  reason: Schema.String,
  message: Schema.String,
  messageType: Schema.optional(Schema.Number),
  /**
   * `false` when the client knows the statement did not take effect: the request could not be
   * encoded and was never sent, or a COPY FROM STDIN it refused was aborted with CopyFail. Absent:
   * the error came from the server's bytes, so nothing is known (it may have run).
   */
  mayHaveRun: Schema.optional(Schema.Boolean)
}) {
  /**
   * SQLSTATE-like code: 08P01 `protocol_violation` when the server's bytes broke the protocol (a
   * malformed or out-of-place message: the connection failed); undefined for what the client
   * refused on its own and the session survived (a request it could not encode or aborted,
   * `mayHaveRun: false`; a statement that was not the COPY asked for, `NotCopy`; rows where none
   * were expected, `UnexpectedRows`; a COPY an operation does not run, `CopyNotSupported`; a result
   * value its codec could not decode, `UndecodableValue`, the rest of the rows drained).
   */
  get code(): string | undefined {
    return this.mayHaveRun === false || IN_STEP_REASONS.has(this.reason)
      ? undefined
      : Sqlstate.PROTOCOL_VIOLATION
  }

  /** Copies the plain fields of a codec error (or any value of that shape). */
  static fromCodec(error: {
    readonly reason: string
    readonly message: string
    readonly messageType?: number | undefined
  }): PgProtocolError {
    return new PgProtocolError({
      reason: error.reason,
      message: error.message,
      ...(error.messageType === undefined ? {} : { messageType: error.messageType })
    })
  }

  /** A request the client could not encode (a NUL in a string, a value too large): never sent. */
  static notSent(error: { readonly reason: string; readonly message: string }): PgProtocolError {
    return new PgProtocolError({ reason: error.reason, message: error.message, mayHaveRun: false })
  }
}

/** The errors that can end a connection, and so be the `original` of a `PgClosedError`. */
export type PgConnectionFailure = PgServerError | PgConnectionError | PgProtocolError | PgAuthError

/** Schema of {@link PgConnectionFailure}. */
export const PgConnectionFailure = Schema.Union([
  PgServerError,
  PgConnectionError,
  PgProtocolError,
  PgAuthError
])

/**
 * The connection is closed (gracefully, or by `close`) or failed earlier. `original` is the error
 * that ended the connection, absent when it was closed on purpose; its SQLSTATE, if any, was
 * reported to the operation that hit it, and this error always reports 08003
 * `connection_does_not_exist`.
 *
 * `mayHaveReachedServer`: `true` when this request had already been written to the socket when the
 * connection ended (it was pipelined behind the one that failed, or was running when the
 * connection was closed): it may have run, and even committed. Absent or `false`: the request never
 * left the client (a call on a closed connection, or one still queued), so it did not run.
 */
export class PgClosedError extends Schema.TaggedError<PgClosedError>()("PgClosedError", {
  message: Schema.String,
  /** The error that ended the connection; absent when it was closed on purpose. */
  original: Schema.optional(PgConnectionFailure),
  /** Whether the request had been written before the connection ended (so it may have run). */
  mayHaveReachedServer: Schema.optional(Schema.Boolean)
}) {
  /** Always 08003 `connection_does_not_exist`. */
  readonly code: typeof Sqlstate.CONNECTION_DOES_NOT_EXIST = Sqlstate.CONNECTION_DOES_NOT_EXIST

  /** For a call on a connection that was closed on purpose. */
  static closed(): PgClosedError {
    return new PgClosedError({ message: "connection is closed" })
  }

  /**
   * For a call on a connection that failed earlier with `error`. A `PgClosedError` is returned as
   * is, so wrapping never nests and `original` stays the first failure.
   */
  static previouslyFailed(error: PgConnectionFailure | PgClosedError): PgClosedError {
    if (error._tag === "PgClosedError") return error
    return new PgClosedError({
      message: `query issued against previously-failed connection (${error._tag}: ${error.message})`,
      original: error
    })
  }

  /**
   * For a request that was already written when the connection ended with `error` (or was closed,
   * when `error` is undefined): it may have run.
   */
  static afterSend(error: PgConnectionFailure | PgClosedError | undefined): PgClosedError {
    const original = error === undefined || error._tag === "PgClosedError" ? error?.original : error
    const why = original === undefined ? "was closed" : `failed (${original._tag}: ${original.message})`
    return new PgClosedError({
      message: `the connection ${why} after this statement was sent; it may or may not have run on the server`,
      ...(original === undefined ? {} : { original }),
      mayHaveReachedServer: true
    })
  }
}

/**
 * What became of a statement whose `timeout` expired:
 * - `not-sent`: it was still queued in the client and was withdrawn: it never ran;
 * - `cancelled`: the server answered 57014 `query_canceled` (in `serverError`): it was stopped and
 *   its effects rolled back;
 * - `unknown`: it was written, and its outcome did not arrive within the timeout's slack (a stalled
 *   network or server): it may have run, and even committed.
 * A statement whose own result (or own error) arrived before the cancel took effect is not a
 * timeout: its caller gets that result (or error).
 */
export const PgTimeoutOutcome = Schema.Literals(["not-sent", "cancelled", "unknown"])
export type PgTimeoutOutcome = typeof PgTimeoutOutcome.Type

/**
 * An operation ran longer than its `timeout`. effect-pg sent a CancelRequest for it, waited a short
 * slack for its outcome (never the whole cancel: a timeout is a bound), and reports what it knows
 * in `outcome`. `serverError` is the server's answer when one arrived (57014 when the cancel
 * landed).
 */
export class PgTimeoutError extends Schema.TaggedError<PgTimeoutError>()("PgTimeoutError", {
  message: Schema.String,
  /** The timeout that expired, in milliseconds. */
  timeoutMillis: Schema.Number,
  /** Whether a CancelRequest was delivered to the server. */
  cancelSent: Schema.Boolean,
  /** What became of the statement; see {@link PgTimeoutOutcome}. */
  outcome: PgTimeoutOutcome,
  /** Whether the statement was written to the server (every outcome but `not-sent`). */
  mayHaveReachedServer: Schema.Boolean,
  serverError: Schema.optional(PgServerError)
}) {}

/**
 * Why a transaction failed although no statement did:
 * - `CommitRolledBack`: COMMIT was answered with the command tag ROLLBACK: an earlier statement
 *   failed (the error was caught and the transaction went on), so the server rolled back instead
 *   of committing. Nothing of the transaction was kept.
 * - `NestedOptions`: a nested `withTransaction` asked for an isolation level, read-only or
 *   deferrable mode; a SAVEPOINT cannot change them, so the call was refused before it ran.
 * - `InvalidOptions`: an isolation level that PostgreSQL does not have; nothing was sent.
 * - `LeftOpen`: a one-shot pool statement (on a shared connection) left that connection inside a
 *   transaction block (a BEGIN the pool could not see coming); the pool rolled it back, so the
 *   statement had no effect. Open transactions with `withTransaction` (or on a borrowed connection).
 * - `RolledBackByPool`: this statement was pipelined on a shared connection behind one that opened
 *   a transaction block, so it ran inside that transaction, which the pool rolled back: it had no
 *   effect and may be retried.
 * - `OutcomeUnknown`: as `RolledBackByPool`, but the transaction ended in a way the client cannot
 *   classify (a COMMIT among the pipelined statements whose answer was lost, PREPARE TRANSACTION):
 *   the statement may have taken effect (`mayHaveRun`).
 */
export const PgTransactionErrorReason = Schema.Literals([
  "CommitRolledBack",
  "NestedOptions",
  "InvalidOptions",
  "LeftOpen",
  "RolledBackByPool",
  "OutcomeUnknown"
])
export type PgTransactionErrorReason = typeof PgTransactionErrorReason.Type

/** A transaction did not end as asked; see {@link PgTransactionErrorReason}. */
export class PgTransactionError extends Schema.TaggedError<PgTransactionError>()("PgTransactionError", {
  reason: PgTransactionErrorReason,
  message: Schema.String,
  /** `true` only for `OutcomeUnknown`: the statement may have taken effect. */
  mayHaveRun: Schema.optional(Schema.Boolean)
}) {}

/**
 * The error channel of the Expert API: the errors a connection fails with. `PgConfigError`
 * (defined with the configuration) covers a bad connection string, option or password source:
 * nothing was sent. `PgTransactionError` is here because a connection produces it: the transaction
 * guard of a shared connection (engine/guard.ts) fails statements with it. The pool's own
 * `PgPoolTimeoutError` is not: the pool's union is `PgPoolExpertError` (PgPoolErrors.ts).
 */
export type PgExpertError =
  | PgServerError
  | PgConnectionError
  | PgAuthError
  | PgProtocolError
  | PgClosedError
  | PgConfigError
  | PgTimeoutError
  | PgTransactionError

/** Schema of {@link PgExpertError}. */
export const PgExpertError = Schema.Union([
  PgServerError,
  PgConnectionError,
  PgAuthError,
  PgProtocolError,
  PgClosedError,
  PgConfigError,
  PgTimeoutError,
  PgTransactionError
])

/**
 * Whether the statement that failed with `error` may have taken effect on the server (run, and
 * committed outside a transaction block): the question a retry must ask. `false` means it
 * certainly did not (it never left the client, or the server refused, cancelled or rolled it
 * back), so retrying cannot duplicate it; `true` means it may have (its outcome is unknown), so
 * only idempotent work may be retried. In a multi-statement simple query, `false` speaks of the
 * failing statement: statements before it that committed stay committed. docs/errors.md has the
 * table. It also answers for the pool's errors (`PgPoolTimeoutError`: nothing was sent).
 */
export const mayHaveRun = (error: PgExpertError | PgPoolTimeoutError): boolean => {
  switch (error._tag) {
    case "PgConnectionError":
      return error.mayHaveReachedServer
    case "PgClosedError":
      return error.mayHaveReachedServer === true
    case "PgProtocolError":
      return error.mayHaveRun !== false
    case "PgTimeoutError":
      return error.outcome === "unknown"
    case "PgTransactionError":
      return error.mayHaveRun === true
    default:
      return false
  }
}

/** `true` when `u` is one of the Expert (connection-level) errors; see `isPgPoolExpertError` for the pool's union. */
export const isPgExpertError = (u: unknown): u is PgExpertError =>
  u instanceof PgServerError ||
  u instanceof PgConnectionError ||
  u instanceof PgAuthError ||
  u instanceof PgProtocolError ||
  u instanceof PgClosedError ||
  u instanceof PgConfigError ||
  u instanceof PgTimeoutError ||
  u instanceof PgTransactionError
