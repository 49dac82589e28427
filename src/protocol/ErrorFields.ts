/**
 * The fields of ErrorResponse and NoticeResponse.
 *
 * Does: map the one-byte field codes ('S', 'V', 'C', 'M', 'D', 'H', 'P', 'p', 'q', 'W', 's',
 * 't', 'c', 'd', 'n', 'F', 'L', 'R') to named properties and decode a field list from a frame
 * body, keeping unknown codes (the spec says more may be added) in `unknown`.
 * Does NOT: interpret values (position, line stay strings exactly as sent), translate SQLSTATE
 * codes, or decide whether an error is fatal.
 *
 * Invariants: `severity`, `code` and `message` are always present (the server always sends them;
 * if a non-conforming peer omits one it is ""); when a code repeats, the last value wins (as in
 * libpq); strings are decoded as UTF-8 with U+FFFD for invalid bytes.
 *
 * @see https://www.postgresql.org/docs/current/protocol-error-fields.html
 */
import type { Reader } from "./Reader.ts"

/** A field whose code this codec does not know. `code` is the one-character field code. */
export interface UnknownErrorField {
  readonly code: string
  readonly value: string
}

/** Every field of an ErrorResponse / NoticeResponse. Optional fields are absent when not sent. */
export interface ErrorFields {
  /** 'S': severity, possibly localized (ERROR, FATAL, PANIC, WARNING, NOTICE, DEBUG, INFO, LOG). */
  readonly severity: string
  /** 'V': severity, never localized (PostgreSQL 9.6+). */
  readonly severityNonLocalized?: string
  /** 'C': SQLSTATE code. */
  readonly code: string
  /** 'M': primary message. */
  readonly message: string
  /** 'D': detail. */
  readonly detail?: string
  /** 'H': hint. */
  readonly hint?: string
  /** 'P': 1-based character position in the original query, as a decimal string. */
  readonly position?: string
  /** 'p': position in an internally generated query, as a decimal string. */
  readonly internalPosition?: string
  /** 'q': the internally generated query. */
  readonly internalQuery?: string
  /** 'W': context (call stack), one entry per line. */
  readonly where?: string
  /** 's': schema name. */
  readonly schema?: string
  /** 't': table name. */
  readonly table?: string
  /** 'c': column name. */
  readonly column?: string
  /** 'd': data type name. */
  readonly dataType?: string
  /** 'n': constraint name. */
  readonly constraint?: string
  /** 'F': server source file. */
  readonly file?: string
  /** 'L': server source line, as a decimal string. */
  readonly line?: string
  /** 'R': server source routine. */
  readonly routine?: string
  /** Fields with codes not listed above, in arrival order. */
  readonly unknown?: ReadonlyArray<UnknownErrorField>
}

/** Names of the known fields (every key of {@link ErrorFields} except `unknown`). */
export type ErrorFieldName = Exclude<keyof ErrorFields, "unknown">

/** Field name → one-byte code. */
export const ErrorFieldCode: { readonly [K in ErrorFieldName]: number } = {
  severity: 0x53, // 'S'
  severityNonLocalized: 0x56, // 'V'
  code: 0x43, // 'C'
  message: 0x4d, // 'M'
  detail: 0x44, // 'D'
  hint: 0x48, // 'H'
  position: 0x50, // 'P'
  internalPosition: 0x70, // 'p'
  internalQuery: 0x71, // 'q'
  where: 0x57, // 'W'
  schema: 0x73, // 's'
  table: 0x74, // 't'
  column: 0x63, // 'c'
  dataType: 0x64, // 'd'
  constraint: 0x6e, // 'n'
  file: 0x46, // 'F'
  line: 0x4c, // 'L'
  routine: 0x52 // 'R'
}

/** One-byte code → field name (index by the code byte). */
const nameByCode: Array<ErrorFieldName | undefined> = new Array(256).fill(undefined)
for (const name of Object.keys(ErrorFieldCode) as Array<ErrorFieldName>)
  nameByCode[ErrorFieldCode[name]] = name

/** The field name of a code byte, or undefined for an unknown code. */
export const errorFieldName = (code: number): ErrorFieldName | undefined => nameByCode[code & 0xff]

type MutableFields = { -readonly [K in ErrorFieldName]?: string } & { unknown?: Array<UnknownErrorField> }

/**
 * Reads `(Byte1 code, String value)*` up to the terminating zero byte. Errors (no terminator,
 * missing NUL) are left in `reader.error`; the caller checks `reader.done()`.
 */
export const readErrorFields = (reader: Reader): ErrorFields => {
  const fields: MutableFields = {}
  for (;;) {
    const code = reader.uint8("the field terminator")
    if (code === 0 || reader.error !== undefined) break
    const name = nameByCode[code]
    const value = reader.cstring("an error field")
    if (name !== undefined) fields[name] = value
    else {
      const entry: UnknownErrorField = { code: String.fromCharCode(code), value }
      if (fields.unknown === undefined) fields.unknown = [entry]
      else fields.unknown.push(entry)
    }
  }
  if (fields.severity === undefined) fields.severity = ""
  if (fields.code === undefined) fields.code = ""
  if (fields.message === undefined) fields.message = ""
  return fields as ErrorFields
}
