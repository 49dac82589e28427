/**
 * `PgError`: the one error type of the normal API, and the mappings from the Expert API to it.
 *
 * What it does: wraps any Expert error — a connection's (`PgExpertError`) or the pool's
 * (`PgPoolExpertError`, which adds `PgPoolTimeoutError`) — in a `PgError` whose message names the
 * failure, its SQLSTATE, the server's detail/hint/context, a psql-style cursor for errors with a
 * position, and the SQL and parameters (truncated to `MessageLimits`); maps an Effect or a Stream
 * from either error channel to `PgError` (`toNormal`, `toNormalStream`).
 *
 * What it does NOT do: decide whether to retry, keep the full SQL or parameters as fields (only
 * the truncated text of the message holds them), or read configuration: no password can reach a
 * message because none is ever given to it (and `Redacted` parameters print as `<redacted>`).
 *
 * Invariants: `cause` is the Expert error unchanged, so `error.cause._tag` branches exactly as the
 * Expert API does; `code` is a SQLSTATE only when the cause carries one (server errors, auth errors
 * refused by the server, 08003 for a closed connection, and the SQLSTATE-like codes of
 * postgres_async: 28000 for an authentication method the client does not implement, 08P01 for a
 * protocol violation), never invented for transport errors.
 */
import { Effect, Schema, Stream } from "effect"
import { dual } from "effect/Function"
import * as Sqlstate from "../Sqlstate.ts"
import { caretLines, type MessageLimits, renderParams, resolveLimits, truncate } from "./format.ts"
import {
  mayHaveRun,
  type PgAuthError,
  type PgConnectionError,
  type PgProtocolError
} from "./PgExpertError.ts"
import { PgPoolExpertError } from "./PgPoolErrors.ts"
import type { PgServerError } from "./PgServerError.ts"

/** What the normal API knows about the operation that failed. */
export interface ErrorContext {
  /** The SQL text of the statement. */
  readonly sql?: string | undefined
  /** Its parameters, shown rendered and truncated (`$1 = 'a'`). */
  readonly params?: ReadonlyArray<unknown> | undefined
  /** How much SQL and how many parameters to show; defaults: {@link defaultMessageLimits}. */
  readonly limits?: Partial<MessageLimits> | undefined
}

/**
 * The error of the normal API. `cause` is the Expert error it came from; the getters answer the
 * common questions without a switch on `cause._tag`.
 */
export class PgError extends Schema.TaggedError<PgError>()("PgError", {
  message: Schema.String,
  cause: PgPoolExpertError
}) {
  /**
   * The SQLSTATE of the failure: the server's code, the code of the server's refusal for an auth
   * error (28000 for a method the client does not implement), 08003 for a closed or
   * previously-failed connection, 08P01 for a protocol violation (PgProtocolError.code), 08001 for
   * a connection that could not be established and 08006 for an open one whose I/O failed
   * (PgConnectionError.code); `undefined` for the client's own refusals, which have none.
   */
  get code(): string | undefined {
    const cause = this.cause
    switch (cause._tag) {
      case "PgServerError":
      case "PgClosedError":
      case "PgAuthError":
      case "PgProtocolError":
      case "PgConnectionError":
        return cause.code
      case "PgTimeoutError":
        return cause.serverError?.code
      default:
        return undefined
    }
  }

  /** The condition name of `code` ("unique_violation"), or `undefined`. */
  get conditionName(): string | undefined {
    const code = this.code
    return code === undefined ? undefined : Sqlstate.conditionName(code)
  }

  /** The server's ErrorResponse, when the server sent one (directly or as an auth refusal). */
  get serverError(): PgServerError | undefined {
    const cause = this.cause
    if (cause._tag === "PgServerError") return cause
    if (cause._tag === "PgAuthError") return cause.serverError
    return undefined
  }

  /** Whether the statement reached the server and the server rejected it. */
  get isServerError(): boolean {
    return this.cause._tag === "PgServerError"
  }

  /** Whether the transport failed (connect, TLS, I/O). */
  get isConnectionError(): boolean {
    return this.cause._tag === "PgConnectionError"
  }

  /** Whether the call was refused because the connection was already closed or failed (08003). */
  get isClosed(): boolean {
    return this.cause._tag === "PgClosedError"
  }

  /**
   * Whether the statement may have reached the server: always for server errors (it ran and
   * failed), as reported for transport errors, timeouts and closed connections (true when it had
   * been written), conservatively yes for protocol errors (the reply could not be read), never for
   * auth and configuration errors.
   */
  get mayHaveReachedServer(): boolean {
    const cause = this.cause
    switch (cause._tag) {
      case "PgServerError":
      case "PgProtocolError":
        return true
      case "PgConnectionError":
      case "PgTimeoutError":
        return cause.mayHaveReachedServer
      case "PgClosedError":
        return cause.mayHaveReachedServer === true
      default:
        return false
    }
  }

  /**
   * Whether the statement may have taken effect (run, and committed outside a transaction):
   * `false` means retrying cannot duplicate it. See {@link mayHaveRun}.
   */
  get mayHaveRun(): boolean {
    return mayHaveRun(this.cause)
  }

  /**
   * Wraps an Expert error (a connection's or the pool's), writing a message from it and the
   * optional SQL, parameters and limits.
   */
  static fromExpert(error: PgPoolExpertError, context?: ErrorContext): PgError {
    return new PgError({ message: normalMessage(error, context), cause: error })
  }
}

/** `true` when `u` is a {@link PgError}. */
export const isPgError = (u: unknown): u is PgError => u instanceof PgError

/**
 * Maps the Expert error channel of an Effect to `PgError`. Data-first `toNormal(effect, context?)`
 * or pipeable `effect.pipe(toNormal(context?))`.
 */
export const toNormal: {
  (
    context?: ErrorContext
  ): <A, E extends PgPoolExpertError, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, PgError, R>
  <A, E extends PgPoolExpertError, R>(
    self: Effect.Effect<A, E, R>,
    context?: ErrorContext
  ): Effect.Effect<A, PgError, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E extends PgPoolExpertError, R>(self: Effect.Effect<A, E, R>, context?: ErrorContext) =>
    Effect.mapError(self, (error) => PgError.fromExpert(error, context))
)

/**
 * Maps the Expert error channel of a Stream to `PgError`. Data-first `toNormalStream(stream, context?)`
 * or pipeable `stream.pipe(toNormalStream(context?))`.
 */
export const toNormalStream: {
  (
    context?: ErrorContext
  ): <A, E extends PgPoolExpertError, R>(self: Stream.Stream<A, E, R>) => Stream.Stream<A, PgError, R>
  <A, E extends PgPoolExpertError, R>(
    self: Stream.Stream<A, E, R>,
    context?: ErrorContext
  ): Stream.Stream<A, PgError, R>
} = dual(
  (args) => Stream.isStream(args[0]),
  <A, E extends PgPoolExpertError, R>(self: Stream.Stream<A, E, R>, context?: ErrorContext) =>
    Stream.mapError(self, (error) => PgError.fromExpert(error, context))
)

/** " (SQLSTATE 23505 unique_violation)" */
const sqlstateSuffix = (code: string): string => {
  const name = Sqlstate.conditionName(code)
  return ` (SQLSTATE ${code}${name === undefined ? "" : ` ${name}`})`
}

/** The server's message in psql's layout: severity, cursor, DETAIL, HINT, QUERY, CONTEXT. */
const serverLines = (error: PgServerError, sql: string | undefined): Array<string> => {
  const lines = [`${error.severity}: ${error.message}${sqlstateSuffix(error.code)}`]
  if (error.position !== undefined && sql !== undefined) lines.push(...caretLines(sql, error.position))
  if (error.detail !== undefined) lines.push(`DETAIL: ${error.detail}`)
  if (error.hint !== undefined) lines.push(`HINT: ${error.hint}`)
  if (error.internalQuery !== undefined) {
    // An internally generated query (e.g. inside PL/pgSQL): show the line of its cursor when there
    // is one, the (truncated) text otherwise.
    const cursor =
      error.internalPosition === undefined
        ? []
        : caretLines(error.internalQuery, error.internalPosition, "QUERY LINE")
    lines.push(...(cursor.length > 0 ? cursor : [`QUERY: ${truncate(error.internalQuery, 500)}`]))
  }
  if (error.where !== undefined) lines.push(`CONTEXT: ${error.where}`)
  if (error.completed !== undefined) lines.push(completedLine(error.completed))
  return lines
}

/**
 * What the statements of a simple query before the error did: their tags, and whether a COMMIT
 * among them kept their effects (otherwise the error aborted the transaction they ran in).
 */
const completedLine = (completed: NonNullable<PgServerError["completed"]>): string => {
  const tags = completed.map((r) => r.command?.tag ?? "(empty query)")
  const committed = tags.some((tag) => tag === "COMMIT" || tag === "COMMIT PREPARED")
  return (
    `COMPLETED BEFORE THE ERROR: ${truncate(tags.join("; "), 500)} ` +
    (committed
      ? "(what their COMMIT committed stays committed)"
      : "(not committed: the error aborted their transaction)")
  )
}

const authLines = (error: PgAuthError, sql: string | undefined): Array<string> => {
  const head = `authentication failed (method ${error.method}, ${error.reason}): ${error.message}`
  if (error.serverError === undefined)
    return [error.code === undefined ? head : head + sqlstateSuffix(error.code)]
  return [head, ...serverLines(error.serverError, sql)]
}

const connectionLines = (error: PgConnectionError): Array<string> => [
  `connection error (${error.phase}): ${error.message}${sqlstateSuffix(error.code)}`,
  ...(error.mayHaveReachedServer ? ["The statement may or may not have run on the server."] : [])
]

const protocolLines = (error: PgProtocolError): Array<string> => {
  const type = error.messageType
  const where =
    type === undefined
      ? ""
      : `, message type ${type >= 0x20 && type < 0x7f ? `'${String.fromCharCode(type)}' ` : ""}0x${type
          .toString(16)
          .padStart(2, "0")}`
  const code = error.code
  return [
    `protocol error (${error.reason}${where}): ${error.message}${code === undefined ? "" : sqlstateSuffix(code)}`
  ]
}

const causeLines = (error: PgPoolExpertError, sql: string | undefined): Array<string> => {
  switch (error._tag) {
    case "PgServerError":
      return serverLines(error, sql)
    case "PgAuthError":
      return authLines(error, sql)
    case "PgConnectionError":
      return connectionLines(error)
    case "PgProtocolError":
      return protocolLines(error)
    case "PgClosedError":
      return [`${error.message}${sqlstateSuffix(error.code)}`]
    case "PgConfigError":
      return [`invalid connection configuration: ${error.message}`]
    case "PgTimeoutError":
    case "PgPoolTimeoutError":
      return [error.message]
    case "PgTransactionError":
      return [`transaction error (${error.reason}): ${error.message}`]
  }
}

/** The whole normal message: the cause's lines, then the SQL and the parameters. */
export const normalMessage = (error: PgPoolExpertError, context?: ErrorContext): string => {
  const limits = resolveLimits(context?.limits)
  const sql = context?.sql
  const lines = causeLines(error, sql)
  if (sql !== undefined) lines.push(`SQL: ${truncate(sql, limits.maxSqlLength)}`)
  if (context?.params !== undefined && context.params.length > 0) {
    lines.push(`PARAMS: ${renderParams(context.params, limits)}`)
  }
  return lines.join("\n")
}
