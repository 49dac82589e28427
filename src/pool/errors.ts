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
 * Both are members of `PgExpertError`, so the normal view maps every error to `PgError`.
 */
import { isPgExpertError, PgError, type PgExpertError } from "../Errors.ts"
import { PgPoolTimeoutError, PgTransactionError } from "../errors/PgPoolErrors.ts"

export { PgPoolTimeoutError, PgTransactionError, PgTransactionErrorReason } from "../errors/PgPoolErrors.ts"

/** The errors of the Pool beyond the connection's. */
export type PgPoolError = PgPoolTimeoutError | PgTransactionError

/** The error channel of the Expert pool. */
export type PgPoolExpertError = PgExpertError | PgPoolError

/** The error channel of the normal pool: the one `PgError` (pool errors are its `cause` too). */
export type PgPoolNormalError = PgError

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
