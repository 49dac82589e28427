/**
 * The machine-readable output formats of the CLI: CSV and JSON, one block of text per result.
 *
 * Does: CSV per RFC 4180 — a header row of the column names, then one record per row, records
 * ended by CRLF, a field quoted (`"…"`, inner quotes doubled) when it holds a comma, a quote, CR
 * or LF, or is exactly `\.` (so the output can be fed back to COPY … CSV); NULL is an empty
 * unquoted field and the empty string is `""`, so the two stay apart. JSON — one line per result:
 * an array with one object per row, keys the column names in column order, values the server's
 * text form as JSON strings and SQL NULL as `null`; a repeated column name gets a suffix (`a`,
 * `a_2`, …) so no value is lost.
 * Does NOT: write anything (pure), convert values to JSON numbers or booleans (bigint and numeric
 * would lose digits; every value is its text form), or render results without columns (a command
 * like INSERT has no rows to show: the caller prints nothing for it in these formats).
 */
import { type Column, columnKeys, type TextRow } from "../Result.ts"

const needsQuotes = /[",\r\n]/

/** One CSV field. */
export const csvField = (value: string | null): string => {
  if (value === null) return ""
  if (value === "" || value === "\\." || needsQuotes.test(value)) return `"${value.replace(/"/g, '""')}"`
  return value
}

/** Header and rows as CSV records, each ended by CRLF. */
export const renderCsv = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<TextRow>): string => {
  const record = (fields: ReadonlyArray<string | null>) => fields.map(csvField).join(",") + "\r\n"
  return record(columns.map((c) => c.name)) + rows.map(record).join("")
}

/** The JSON keys for `names`: each name, with `_2`, `_3`, … added to a name already taken. */
export const jsonKeys = columnKeys

/** The rows as one line of JSON (an array of objects), without the newline. */
export const renderJson = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<TextRow>): string => {
  const keys = jsonKeys(columns.map((c) => c.name)).map((k) => JSON.stringify(k))
  const objects = rows.map(
    (row) => "{" + keys.map((key, i) => `${key}:${JSON.stringify(row[i] ?? null)}`).join(",") + "}"
  )
  return "[" + objects.join(",") + "]"
}
