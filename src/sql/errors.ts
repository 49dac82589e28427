/**
 * effect-pg's errors as effect/sql's `SqlError`: the reason is classified from the SQLSTATE (or
 * from the kind of failure when there is none), and effect-pg's own error is the reason's `cause`,
 * so the SQLSTATE, the constraint, `mayHaveRun` and the full server error stay reachable
 * (`pgErrorOf(sqlError)`).
 *
 * Classification (the reasons effect 4.1's SqlError.ts offers, in this order):
 * - a connection-level failure (transport, closed connection, pool timeout, SQLSTATE class 08,
 *   a protocol violation) → ConnectionError
 * - class 28 or an authentication failure → AuthenticationError; 42501 → AuthorizationError
 * - the rest of class 42 (42601 syntax_error, 42P01 undefined_table, …) → SqlSyntaxError, as
 *   @effect/sql-pg does, so that switching drivers keeps the classification
 * - 23505 → UniqueViolation (its `constraint`), other class 23 → ConstraintError
 * - 40P01 → DeadlockError, 40001 → SerializationError, 55P03 → LockTimeoutError
 * - 57014 that came from a timeout (effect-pg's `timeout` option, or the server's
 *   statement_timeout) → StatementTimeoutError; a 57014 from a user's cancel → UnknownError
 * - anything else (configuration errors, codec refusals, other SQLSTATEs) → UnknownError
 *
 * It does NOT retry, nor decide what the caller may retry: `mayHaveRun` on the cause says that.
 */
import {
  AuthenticationError,
  AuthorizationError,
  ConnectionError,
  ConstraintError,
  DeadlockError,
  LockTimeoutError,
  SerializationError,
  SqlError,
  type SqlErrorReason,
  SqlSyntaxError,
  StatementTimeoutError,
  UniqueViolation,
  UnknownError
} from "effect/sql/SqlError"
import { isPgError, PgError } from "../Errors.ts"
import { isPgPoolExpertError } from "../Pool.ts"

interface Props {
  readonly cause: unknown
  readonly message: string
  readonly operation: string
}

const fromCode = (code: string, props: Props, error: PgError): SqlErrorReason | undefined => {
  if (code.startsWith("08")) return new ConnectionError(props)
  if (code.startsWith("28")) return new AuthenticationError(props)
  if (code === "42501") return new AuthorizationError(props)
  if (code.startsWith("42")) return new SqlSyntaxError(props)
  if (code === "23505") {
    const constraint = error.serverError?.constraint?.trim()
    return new UniqueViolation({
      ...props,
      constraint: constraint === undefined || constraint === "" ? "unknown" : constraint
    })
  }
  if (code.startsWith("23")) return new ConstraintError(props)
  if (code === "40P01") return new DeadlockError(props)
  if (code === "40001") return new SerializationError(props)
  if (code === "55P03") return new LockTimeoutError(props)
  if (code === "57014") {
    const timedOut =
      error.cause._tag === "PgTimeoutError" || /statement timeout/i.test(error.serverError?.message ?? "")
    return timedOut ? new StatementTimeoutError(props) : undefined
  }
  return undefined
}

/** The reason for one effect-pg `PgError`. */
export const classify = (error: PgError, operation: string): SqlErrorReason => {
  const props: Props = { cause: error, message: error.message, operation }
  switch (error.cause._tag) {
    case "PgConnectionError":
    case "PgClosedError":
    case "PgPoolTimeoutError":
      return new ConnectionError(props)
    case "PgAuthError":
      return new AuthenticationError(props)
    case "PgTimeoutError":
      if (error.cause.serverError === undefined || error.cause.serverError.code === "57014") {
        return new StatementTimeoutError(props)
      }
      break
    case "PgProtocolError":
      if (error.code === "08P01") return new ConnectionError(props)
      break
  }
  const code = error.code
  return (code !== undefined ? fromCode(code, props, error) : undefined) ?? new UnknownError(props)
}

/** Any failure of effect-pg (a `PgError`, or another error such as a configuration error) as a `SqlError`. */
export const toSqlError = (error: unknown, operation: string): SqlError => {
  if (error instanceof SqlError) return error
  if (isPgError(error)) return new SqlError({ reason: classify(error, operation) })
  if (isPgPoolExpertError(error))
    return new SqlError({ reason: classify(PgError.fromExpert(error), operation) })
  const message =
    typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
      ? error.message
      : String(error)
  return new SqlError({ reason: new UnknownError({ cause: error, message, operation }) })
}

/**
 * effect-pg's error behind a `SqlError` made by this driver (its reason's `cause`), or
 * `undefined` for a `SqlError` from elsewhere. `pgErrorOf(e)?.code`, `?.serverError?.constraint`,
 * `?.mayHaveRun`.
 */
export const pgErrorOf = (error: SqlError): PgError | undefined => {
  const cause = error.reason.cause
  return isPgError(cause) ? cause : undefined
}
