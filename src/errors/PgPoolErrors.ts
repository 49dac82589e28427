/**
 * The Pool's own error, `PgPoolTimeoutError` (no connection within the acquire timeout), and the
 * Pool's error union `PgPoolExpertError` = the connection-level `PgExpertError` | the pool's own.
 *
 * What it does: defines the error, the union (type and schema, so that the normal `PgError` can
 * wrap pool errors too) and its guard `isPgPoolExpertError`. It re-exports `PgTransactionError`,
 * which is a connection-level error (defined in PgExpertError.ts: the engine's transaction guard
 * raises it) that the pool raises as well.
 *
 * What it does NOT do: decide when the errors happen (src/pool/), or map them to `PgError`.
 *
 * Invariants: defined below the Pool, so that the errors layer (PgError) can name them without
 * importing the Pool; `PgExpertError` never contains `PgPoolTimeoutError`.
 */
import { Schema } from "effect"
import { isPgExpertError, PgExpertError } from "./PgExpertError.ts"

export { PgTransactionError, PgTransactionErrorReason } from "./PgExpertError.ts"

/**
 * No connection could be handed out within `acquireTimeout`: every connection stayed busy (or
 * could not be opened) and this borrower waited in line the whole time. Nothing was sent.
 */
export class PgPoolTimeoutError extends Schema.TaggedError<PgPoolTimeoutError>()("PgPoolTimeoutError", {
  message: Schema.String,
  /** The acquire timeout that expired, in milliseconds. */
  timeoutMillis: Schema.Number,
  /** How many borrowers were waiting (this one included) when it expired. */
  waiting: Schema.Number,
  /** The pool's `max`. */
  max: Schema.Number
}) {}

/** The error channel of the Expert pool: every connection-level error, plus the pool's own. */
export type PgPoolExpertError = PgExpertError | PgPoolTimeoutError

/** Schema of {@link PgPoolExpertError}. */
export const PgPoolExpertError = Schema.Union([...PgExpertError.members, PgPoolTimeoutError])

/** `true` when `u` is a connection-level Expert error or one of the pool's own. */
export const isPgPoolExpertError = (u: unknown): u is PgPoolExpertError =>
  u instanceof PgPoolTimeoutError || isPgExpertError(u)
