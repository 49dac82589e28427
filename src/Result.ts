/**
 * The values a query returns: column metadata, rows, the CommandComplete tag, the notices the
 * statement raised, and a simple query's warnings (a COPY TO STDOUT whose data it discarded).
 * Plain data, no behaviour beyond parsing the command tag.
 *
 * Rows are in text format: one `string | null` per column, in column order (the server's text
 * output). Typed decoding comes later; nothing here interprets a value.
 */
import type { ErrorFields } from "./protocol/ErrorFields.ts"

/** A column as RowDescription describes it. */
export interface Column {
  readonly name: string
  /** OID of the table the column comes from, 0 if none. */
  readonly tableOid: number
  /** Attribute number in that table, 0 if none. */
  readonly columnAttr: number
  readonly typeOid: number
  readonly typeSize: number
  readonly typeModifier: number
  /** 0 text, 1 binary. */
  readonly format: number
}

/** One row: a value per column, `null` for SQL NULL. */
export type Row = ReadonlyArray<string | null>

/**
 * A NoticeResponse (or a WARNING/NOTICE/INFO): the same named fields as an ErrorResponse —
 * severity, code (SQLSTATE), message, detail, hint, where, position and the rest.
 */
export type Notice = ErrorFields

/** The CommandComplete tag, parsed: "INSERT 0 3" → { command: "INSERT", rows: 3, oid: 0 }. */
export interface CommandComplete {
  readonly tag: string
  readonly command: string
  /** Rows affected or returned, when the tag carries a count. */
  readonly rows: number | undefined
  /** INSERT's legacy OID field. */
  readonly oid?: number | undefined
}

export interface QueryResult {
  readonly columns: ReadonlyArray<Column>
  readonly rows: ReadonlyArray<Row>
  readonly command: CommandComplete
  readonly notices: ReadonlyArray<Notice>
}

/** One statement's result inside a simple (multi-statement) query. */
export interface StatementResult {
  readonly columns: ReadonlyArray<Column>
  readonly rows: ReadonlyArray<Row>
  /** undefined for the empty query. */
  readonly command: CommandComplete | undefined
}

/**
 * Something a simple query noticed that is no error: a COPY TO STDOUT among its statements ran
 * and completed (its result is in `results`), and its data was discarded.
 */
export interface SimpleQueryWarning {
  /** The index in `results` of the statement it concerns. */
  readonly statement: number
  readonly message: string
}

export interface SimpleQueryResult {
  readonly results: ReadonlyArray<StatementResult>
  readonly notices: ReadonlyArray<Notice>
  /** Empty unless a statement was a COPY TO STDOUT (its data discarded; use copyOut). */
  readonly warnings: ReadonlyArray<SimpleQueryWarning>
}

/** Parses a CommandComplete tag. Tags with a count end in it; INSERT has an OID before it. */
export const parseCommandTag = (tag: string): CommandComplete => {
  const parts = tag.split(" ")
  const command = parts[0] ?? ""
  const last = parts.length > 1 ? parts[parts.length - 1] : undefined
  const rows = last !== undefined && /^\d+$/.test(last) ? Number(last) : undefined
  if (command === "INSERT" && parts.length === 3) {
    return { tag, command, rows, oid: Number(parts[1]) }
  }
  return { tag, command: rows === undefined ? tag : parts.slice(0, -1).join(" "), rows }
}
