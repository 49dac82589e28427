/**
 * The errors the Pool adds to the Expert union: no connection within the acquire timeout
 * (`PgPoolTimeoutError`), and a transaction that did not end as asked (`PgTransactionError`).
 *
 * What it does: defines the two tagged errors, their union `PgPoolError`, and the mapping of the
 * Pool's Expert errors to the normal view (`toNormalError`).
 *
 * What it does NOT do: decide when they happen (pool/core.ts, pool/transaction.ts).
 *
 * Invariants: like every effect-pg error, they hold no configuration; `message` is never empty.
 * The normal view maps every Expert error to `PgError` and passes these two through unchanged
 * until `PgExpertError` includes them (see docs/pool.md, "Errors").
 */
import { Schema } from "effect"
import { isPgExpertError, PgError, type PgExpertError } from "../Errors.ts"

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

/**
 * Why a transaction failed although no statement did:
 * - `CommitRolledBack`: COMMIT was answered with the command tag ROLLBACK: an earlier statement
 *   failed (the error was caught and the transaction went on), so the server rolled back instead
 *   of committing. Nothing of the transaction was kept.
 * - `NestedOptions`: a nested `withTransaction` asked for an isolation level, read-only or
 *   deferrable mode; a SAVEPOINT cannot change them, so the call was refused before it ran.
 * - `InvalidOptions`: an isolation level that PostgreSQL does not have; nothing was sent.
 */
export const PgTransactionErrorReason = Schema.Literals([
  "CommitRolledBack",
  "NestedOptions",
  "InvalidOptions"
])
export type PgTransactionErrorReason = typeof PgTransactionErrorReason.Type

/** A transaction did not end as asked; see {@link PgTransactionErrorReason}. */
export class PgTransactionError extends Schema.TaggedError<PgTransactionError>()("PgTransactionError", {
  reason: PgTransactionErrorReason,
  message: Schema.String
}) {}

/** The errors of the Pool beyond the connection's. */
export type PgPoolError = PgPoolTimeoutError | PgTransactionError

/** The error channel of the Expert pool. */
export type PgPoolExpertError = PgExpertError | PgPoolError

/** The error channel of the normal pool: `PgError`, plus the pool's own two errors. */
export type PgPoolNormalError = PgError | PgPoolError

/** `true` for the pool's own errors. */
export const isPgPoolError = (u: unknown): u is PgPoolError =>
  u instanceof PgPoolTimeoutError || u instanceof PgTransactionError

/**
 * Maps an Expert-pool error to the normal view: connection errors become `PgError` (with the SQL
 * when known), the pool's own errors stay as they are.
 */
export const toNormalError =
  (sql?: string, params?: ReadonlyArray<unknown>) =>
  <X>(error: X): PgPoolNormalError | Exclude<X, PgPoolExpertError> =>
    (isPgExpertError(error) ? PgError.fromExpert(error, { sql, params }) : error) as
      | PgPoolNormalError
      | Exclude<X, PgPoolExpertError>
