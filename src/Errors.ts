/**
 * The errors of effect-pg, in two layers (as in postgres_async):
 * - the Expert API fails with the union `PgExpertError` of rich tagged errors: `PgServerError`
 *   (every ErrorResponse field), `PgConnectionError`, `PgAuthError`, `PgProtocolError`, `PgClosedError`,
 *   `PgTimeoutError`, `PgTransactionError`, `PgConfigError`; the Expert pool adds its own
 *   `PgPoolTimeoutError` (`PgPoolExpertError`);
 * - the normal API fails with the single `PgError`, whose `cause` is the Expert error and whose
 *   message adds the SQL and parameters (`PgError.fromExpert`, `toNormal`, `toNormalStream`).
 *
 * What it does NOT do: this module only re-exports `src/errors/*`; the SQLSTATE constants live in
 * `src/Sqlstate.ts`. See docs/errors.md for when each error happens and the 08003 rule.
 *
 * Invariants: errors hold no configuration (no password can appear in one); `unknown` values travel
 * only in `cause` fields typed as defects; every error is yieldable in `Effect.gen`.
 */
export { defaultMessageLimits, type MessageLimits } from "./errors/format.ts"
export {
  type ErrorContext,
  isPgError,
  normalMessage,
  PgError,
  toNormal,
  toNormalStream
} from "./errors/PgError.ts"
export {
  isPgExpertError,
  mayHaveRun,
  PgAuthError,
  PgAuthErrorReason,
  PgClosedError,
  PgConnectionError,
  PgConnectionFailure,
  PgExpertError,
  PgProtocolError,
  PgTimeoutError,
  PgTimeoutOutcome
} from "./errors/PgExpertError.ts"
export {
  isPgPoolExpertError,
  PgPoolExpertError,
  PgPoolTimeoutError,
  PgTransactionError,
  PgTransactionErrorReason
} from "./errors/PgPoolErrors.ts"
export { type ErrorResponseFields, type NamedErrorFields, PgServerError } from "./errors/PgServerError.ts"
