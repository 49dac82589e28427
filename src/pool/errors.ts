/**
 * The errors of the Pool beyond a connection's, and the Pool's error channels.
 *
 * What it does: names the errors the pool raises itself (`PgPoolError`: `PgPoolTimeoutError`, no
 * connection within the acquire timeout; `PgTransactionError`, a transaction that did not end as
 * asked), the Expert pool's union `PgPoolExpertError` (= `PgExpertError` | `PgPoolTimeoutError`;
 * `PgTransactionError` is already a connection-level error, raised by the engine's transaction
 * guard too), and the mapping of the Expert pool's errors to the normal view (`normalPoolLift`).
 *
 * What it does NOT do: decide when they happen (pool/lines.ts, pool/room.ts, pool/transaction.ts),
 * nor define them (errors/PgPoolErrors.ts, errors/PgExpertError.ts, below the Pool, so that
 * `PgError` can wrap them).
 *
 * Invariants: like every effect-pg error, they hold no configuration; `message` is never empty.
 * `normalPoolLift` maps every member of `PgPoolExpertError` to `PgError` and nothing else.
 */
import { type Lift, mapErrors } from "../connection/api.ts"
import { PgError } from "../Errors.ts"
import {
  isPgPoolExpertError,
  type PgPoolExpertError,
  PgPoolTimeoutError,
  PgTransactionError
} from "../errors/PgPoolErrors.ts"

export type { PgPoolExpertError } from "../errors/PgPoolErrors.ts"
export { PgPoolTimeoutError, PgTransactionError, PgTransactionErrorReason } from "../errors/PgPoolErrors.ts"

/** The errors the Pool raises itself (a `PgTransactionError` may also come from a shared connection). */
export type PgPoolError = PgPoolTimeoutError | PgTransactionError

/** The error channel of the normal pool: the one `PgError` (pool errors are its `cause` too). */
export type PgPoolNormalError = PgError

/** `true` for the errors the pool raises itself. */
export const isPgPoolError = (u: unknown): u is PgPoolError =>
  u instanceof PgPoolTimeoutError || u instanceof PgTransactionError

/**
 * The normal pool's lift (connection/api.ts): connection errors and the pool's own become
 * `PgError` (with the SQL when known); anything else (a user's own error) stays as it is.
 */
export const normalPoolLift: Lift<PgPoolNormalError, PgPoolExpertError> = mapErrors(
  (error: PgPoolExpertError, { sql, params }) => PgError.fromExpert(error, { sql, params }),
  isPgPoolExpertError
)
