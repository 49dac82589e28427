/**
 * The errors the Pool adds to the Expert union: no connection within the acquire timeout
 * (`PgPoolTimeoutError`), and a transaction that did not end as asked (`PgTransactionError`).
 * Defined here, below the Pool, so that `PgExpertError` can include them.
 */
import { Schema } from "effect"

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
