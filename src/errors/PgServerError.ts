/**
 * `PgServerError`: an ErrorResponse sent by the server, with every field the protocol defines.
 *
 * What it does: names the single-letter fields of ErrorResponse ('S', 'V', 'C', 'M', ...), turns the
 * numeric ones (P, p, L) into numbers, and looks up the SQLSTATE's condition name and class. Two
 * fields come from the client, not the server: `completed` (the statements of a simple query that
 * completed before the error) and `cause` (why the client ended a COPY it then saw fail).
 *
 * What it does NOT do: decode bytes (the protocol layer hands over the fields it decoded), decide
 * what the connection does next (a FATAL error ends the session, but that is the Connection's
 * business), or format the long, query-carrying message (that is `PgError`'s job).
 *
 * Invariants: `severity`, `code` and `message` are always present (the protocol says the server
 * always sends S, C and M; `fromFields` falls back to "ERROR", "XX000" and a fixed text if a server
 * leaves one out). Optional fields are absent rather than empty when the server did not send them.
 * `position`, `internalPosition` and `line` are non-negative integers or absent: a value that is not a
 * decimal integer is dropped, since it can be neither a cursor position nor a line number.
 * Unknown field codes are ignored, as the protocol asks of frontends.
 *
 * @see https://www.postgresql.org/docs/current/protocol-error-fields.html
 */
import { Schema } from "effect"
import * as Sqlstate from "../Sqlstate.ts"

const optionalString = Schema.optional(Schema.String)
const optionalInt = Schema.optional(Schema.Int)

/** Schema of Result.ts's `Column` (a RowDescription field). */
const ColumnSchema = Schema.Struct({
  name: Schema.String,
  tableOid: Schema.Number,
  columnAttr: Schema.Number,
  typeOid: Schema.Number,
  typeSize: Schema.Number,
  typeModifier: Schema.Number,
  format: Schema.Number
})

/** Schema of Result.ts's `CommandComplete`. */
const CommandCompleteSchema = Schema.Struct({
  tag: Schema.String,
  command: Schema.String,
  rows: Schema.UndefinedOr(Schema.Number),
  oid: Schema.optional(Schema.Number)
})

/** Schema of Result.ts's `StatementResult` (one statement of a simple query). */
export const StatementResultSchema = Schema.Struct({
  columns: Schema.Array(ColumnSchema),
  rows: Schema.Array(Schema.Array(Schema.NullOr(Schema.String))),
  command: Schema.UndefinedOr(CommandCompleteSchema)
})

/**
 * An error reported by the server in an ErrorResponse message. The statement reached the server
 * and failed there; `message` is the server's primary message (field M), unchanged.
 *
 * Match it with `Effect.catchTag("PgServerError", ...)` and branch on `code` with the constants of
 * `Sqlstate` (`e.code === Sqlstate.UNIQUE_VIOLATION`).
 */
export class PgServerError extends Schema.TaggedError<PgServerError>()("PgServerError", {
  /** S: ERROR, FATAL or PANIC, possibly localized (lc_messages). */
  severity: Schema.String,
  /** V: the severity, never localized (PostgreSQL 9.6 and later). */
  severityNonLocalized: optionalString,
  /** C: the SQLSTATE code, e.g. "23505". */
  code: Schema.String,
  /** M: the primary human-readable message. */
  message: Schema.String,
  /** D: an optional secondary message with more detail. */
  detail: optionalString,
  /** H: an optional suggestion of what to do about the problem. */
  hint: optionalString,
  /** P: error cursor position in the original query string, 1-based, counted in characters. */
  position: optionalInt,
  /** p: like `position`, but into `internalQuery` (an internally generated command). */
  internalPosition: optionalInt,
  /** q: the text of a failed internally generated command, e.g. a SQL query issued by a PL/pgSQL function. */
  internalQuery: optionalString,
  /** W: the context in which the error occurred (call stack traceback, one entry per line). */
  where: optionalString,
  /** s: the schema of the object the error concerns. */
  schema: optionalString,
  /** t: the table the error concerns. */
  table: optionalString,
  /** c: the column the error concerns. */
  column: optionalString,
  /** d: the data type the error concerns. */
  dataType: optionalString,
  /** n: the constraint the error concerns. */
  constraint: optionalString,
  /** F: the server source file that reported the error. */
  file: optionalString,
  /** L: the line number in that source file. */
  line: optionalInt,
  /** R: the server source routine that reported the error. */
  routine: optionalString,
  /**
   * Not from the ErrorResponse: in a multi-statement simple query (`simpleQuery`,
   * `executeSimple`), the results of the statements of the same string that completed before
   * this error, in order (so the one that failed is statement number `completed.length`, from 0).
   * Absent when none did, and for the other operations. Their effects stay only where a COMMIT
   * among them committed them: the error aborts the transaction they ran in (docs/errors.md).
   */
  completed: Schema.optional(Schema.Array(StatementResultSchema)),
  /**
   * Not from the ErrorResponse: what made the client end the statement, when it did (the COPY
   * source's own error, for the 57014 that answers the CopyFail sent when that source failed).
   */
  cause: Schema.optional(Schema.Defect())
}) {
  /** The condition name of `code` ("unique_violation"), or `undefined` for a code PostgreSQL 18 does not list. */
  get conditionName(): string | undefined {
    return Sqlstate.conditionName(this.code)
  }

  /** The SQLSTATE class: the first two characters of `code` ("23"). */
  get codeClass(): string {
    return Sqlstate.classOf(this.code)
  }

  /** The name of the SQLSTATE class ("Integrity Constraint Violation"), or `undefined` if unknown. */
  get className(): string | undefined {
    return Sqlstate.className(this.code)
  }

  /**
   * Whether the server ends the session after this error (severity FATAL or PANIC). Reads the
   * non-localized severity when the server sent one, so a localized "FATAL" still counts.
   */
  get isFatal(): boolean {
    const severity = this.severityNonLocalized ?? this.severity
    return severity === "FATAL" || severity === "PANIC"
  }

  /** The same error with `cause` set: why the client ended the statement (a COPY source's error). */
  withCause(cause: unknown): PgServerError {
    const props: Record<string, unknown> = { message: this.message, cause }
    const self = this as unknown as Readonly<Record<string, unknown>>
    for (const key of Object.keys(this)) if (key !== "_tag" && key !== "cause") props[key] = self[key]
    return new PgServerError(props as ConstructorParameters<typeof PgServerError>[0])
  }

  /**
   * Builds the error from the fields of an ErrorResponse as the protocol layer decodes them: either
   * keyed by the one-letter field code ('S', 'V', 'C', 'M', 'D', 'H', 'P', 'p', 'q', 'W', 's', 't',
   * 'c', 'd', 'n', 'F', 'L', 'R'), as a Map or a record, or keyed by the property names of this
   * class (`severity`, `code`, `message`, `position` as a decimal string...), which is the shape
   * `protocol/ErrorFields.ts` decodes to. Unknown codes are ignored; an empty S, C or M counts as absent.
   */
  static fromFields(
    fields: ErrorResponseFields,
    client?: {
      readonly completed?: ReadonlyArray<typeof StatementResultSchema.Type> | undefined
      readonly cause?: unknown
    }
  ): PgServerError {
    const get = fieldReader(fields)
    const props: Record<string, unknown> = {
      severity: nonEmpty(get("S", "severity")) ?? nonEmpty(get("V", "severityNonLocalized")) ?? "ERROR",
      code: nonEmpty(get("C", "code")) ?? Sqlstate.INTERNAL_ERROR,
      message: nonEmpty(get("M", "message")) ?? "(the server sent no message)"
    }
    for (const [letter, name] of stringFields) {
      const value = get(letter, name)
      if (value !== undefined) props[name] = value
    }
    for (const [letter, name] of integerFields) {
      const value = parseInteger(get(letter, name))
      if (value !== undefined) props[name] = value
    }
    if (client?.completed !== undefined && client.completed.length > 0) props.completed = client.completed
    if (client?.cause !== undefined) props.cause = client.cause
    return new PgServerError(props as ConstructorParameters<typeof PgServerError>[0])
  }
}

/**
 * The decoded fields of an ErrorResponse: by one-letter code (Map or record), or by name with the
 * numeric fields still strings (the shape of `protocol/ErrorFields.ts`, described here structurally
 * so that this module does not depend on the codec).
 */
export type ErrorResponseFields =
  | ReadonlyMap<string, string>
  | Readonly<Record<string, string>>
  | NamedErrorFields

/** ErrorResponse fields by name, with the numeric ones (position, internalPosition, line) as sent: strings. */
export interface NamedErrorFields {
  readonly severity: string
  readonly severityNonLocalized?: string | undefined
  readonly code: string
  readonly message: string
  readonly detail?: string | undefined
  readonly hint?: string | undefined
  readonly position?: string | undefined
  readonly internalPosition?: string | undefined
  readonly internalQuery?: string | undefined
  readonly where?: string | undefined
  readonly schema?: string | undefined
  readonly table?: string | undefined
  readonly column?: string | undefined
  readonly dataType?: string | undefined
  readonly constraint?: string | undefined
  readonly file?: string | undefined
  readonly line?: string | undefined
  readonly routine?: string | undefined
}

/** Optional string fields: protocol field code → property name. */
const stringFields: ReadonlyArray<readonly [string, string]> = [
  ["V", "severityNonLocalized"],
  ["D", "detail"],
  ["H", "hint"],
  ["q", "internalQuery"],
  ["W", "where"],
  ["s", "schema"],
  ["t", "table"],
  ["c", "column"],
  ["d", "dataType"],
  ["n", "constraint"],
  ["F", "file"],
  ["R", "routine"]
]

/** Optional integer fields: protocol field code → property name. */
const integerFields: ReadonlyArray<readonly [string, string]> = [
  ["P", "position"],
  ["p", "internalPosition"],
  ["L", "line"]
]

/** Reads a field by letter (Map or record) or, for records, by property name. Non-strings count as absent. */
const fieldReader =
  (fields: ErrorResponseFields) =>
  (letter: string, name: string): string | undefined => {
    if (isMap(fields)) return fields.get(letter)
    const record = fields as Readonly<Record<string, unknown>>
    const value = Object.hasOwn(record, letter)
      ? record[letter]
      : Object.hasOwn(record, name)
        ? record[name]
        : undefined
    return typeof value === "string" ? value : undefined
  }

const isMap = (fields: ErrorResponseFields): fields is ReadonlyMap<string, string> =>
  fields instanceof Map || typeof (fields as { readonly get?: unknown }).get === "function"

const nonEmpty = (value: string | undefined): string | undefined => (value === "" ? undefined : value)

/** Decimal digits only, at most 15 of them (stays a safe integer); anything else is dropped. */
const parseInteger = (value: string | undefined): number | undefined =>
  value !== undefined && /^[0-9]{1,15}$/.test(value) ? Number(value) : undefined
