/**
 * COPY text format, both ways, and SQL identifier quoting. Pure functions, no I/O.
 *
 * Encoding (rows → bytes): columns are separated by TAB and rows end with LF; a null is `\N`;
 * inside a value, backslash, TAB, LF and CR are escaped (`\\`, `\t`, `\n`, `\r`), so the literal
 * two-character string `\N` is sent as `\\N` and never read back as null. A NUL character cannot
 * be stored in a PostgreSQL text value and is refused with a `CopyTextError`.
 * Decoding (bytes → rows) accepts chunks cut anywhere (inside a row, a UTF-8 sequence or an
 * escape) and understands every escape COPY TO emits, plus the octal/hex forms COPY FROM accepts.
 * Typed rows (`decodeTextRows`): each parsed field read by its column's text codec, the row's
 * width checked against the columns. Turning JS values into text is the connection layer's
 * (connection/copyOps.ts, by the registry); this module only escapes strings.
 *
 * @see https://www.postgresql.org/docs/current/sql-copy.html (File Formats → Text Format)
 */

import { identity } from "../types/Codec.ts"
import { toValueError } from "../types/ValueError.ts"
import type { CopyColumn } from "./CopyBinary.ts"

/** A value COPY text format cannot carry (or, decoding, a row its columns cannot read). */
export class CopyTextError {
  readonly _tag = "CopyTextError"
  readonly message: string
  readonly row: number
  readonly column: number
  constructor(message: string, row: number, column: number) {
    this.message = message
    this.row = row
    this.column = column
  }
}

/** Quotes an SQL identifier: `my "table"` → `"my ""table"""`. Refuses NUL. */
export const quoteIdentifier = (name: string): string => {
  if (name.includes("\0")) throw new TypeError("an identifier cannot contain a NUL character")
  return `"${name.replace(/"/g, '""')}"`
}

/** Quotes an SQL string literal (standard_conforming_strings on): `it's` → `'it''s'`. */
export const quoteLiteral = (value: string): string => {
  if (value.includes("\0")) throw new TypeError("a string literal cannot contain a NUL character")
  return `'${value.replace(/'/g, "''")}'`
}

const needsEscape = /[\\\t\n\r\0]/

const escapeValue = (value: string): string | undefined => {
  if (!needsEscape.test(value)) return value
  let out = ""
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    switch (c) {
      case "\\":
        out += "\\\\"
        break
      case "\t":
        out += "\\t"
        break
      case "\n":
        out += "\\n"
        break
      case "\r":
        out += "\\r"
        break
      case "\0":
        return undefined
      default:
        out += c
    }
  }
  return out
}

/** Encodes rows to COPY text format (one string; the caller UTF-8 encodes it). */
export const encodeRows = (
  rows: ReadonlyArray<ReadonlyArray<string | null>>,
  firstRowNumber = 1
): string | CopyTextError => {
  let out = ""
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    for (let c = 0; c < row.length; c++) {
      if (c > 0) out += "\t"
      const v = row[c]
      if (v === null || v === undefined) {
        out += "\\N"
        continue
      }
      const escaped = escapeValue(v)
      if (escaped === undefined) {
        return new CopyTextError(
          `row ${firstRowNumber + r}, column ${c + 1}: a NUL character cannot be stored in a PostgreSQL text value`,
          firstRowNumber + r,
          c + 1
        )
      }
      out += escaped
    }
    out += "\n"
  }
  return out
}

const unescapeField = (field: string): string | null => {
  if (field === "\\N") return null
  if (!field.includes("\\")) return field
  let out = ""
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!
    if (c !== "\\" || i + 1 >= field.length) {
      out += c
      continue
    }
    const n = field[++i]!
    switch (n) {
      case "b":
        out += "\b"
        break
      case "f":
        out += "\f"
        break
      case "n":
        out += "\n"
        break
      case "r":
        out += "\r"
        break
      case "t":
        out += "\t"
        break
      case "v":
        out += "\v"
        break
      case "x": {
        const m = /^[0-9a-fA-F]{1,2}/.exec(field.slice(i + 1))
        if (m === null) out += "x"
        else {
          out += String.fromCharCode(Number.parseInt(m[0], 16))
          i += m[0].length
        }
        break
      }
      default:
        if (n >= "0" && n <= "7") {
          const m = /^[0-7]{1,3}/.exec(field.slice(i))!
          out += String.fromCharCode(Number.parseInt(m[0], 8))
          i += m[0].length - 1
        } else out += n
    }
  }
  return out
}

/** Parses one line (without its LF) of COPY text output. */
export const parseLine = (line: string): Array<string | null> => line.split("\t").map(unescapeField)

/**
 * Incremental COPY text parser: feed chunks of bytes, get complete rows. Keeps the undecoded tail
 * (a partial row or a partial UTF-8 sequence) between chunks.
 */
export class CopyTextParser {
  private readonly decoder = new TextDecoder("utf-8")
  private tail = ""

  push(chunk: Uint8Array): Array<Array<string | null>> {
    const text = this.tail + this.decoder.decode(chunk, { stream: true })
    const lines = text.split("\n")
    this.tail = lines.pop()!
    const rows: Array<Array<string | null>> = []
    for (const line of lines) {
      if (line === "\\.") continue
      rows.push(parseLine(line))
    }
    return rows
  }

  /** The end of the data: returns the last row if it had no final LF. */
  end(): Array<Array<string | null>> {
    const rest = this.tail + this.decoder.decode()
    this.tail = ""
    return rest === "" || rest === "\\." ? [] : [parseLine(rest)]
  }
}

/**
 * Reads parsed text rows (numbered from `firstRow`) with one text codec per column. Returns the
 * first failure instead: a row of another width, or a field its codec cannot read.
 */
export const decodeTextRows = (
  rows: ReadonlyArray<ReadonlyArray<string | null>>,
  columns: ReadonlyArray<CopyColumn>,
  firstRow = 1
): Array<Array<unknown>> | CopyTextError => {
  const n = columns.length
  const decoders = columns.map((c) => c.codec.text.decode)
  const out = new Array<Array<unknown>>(rows.length)
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    if (row.length !== n)
      return new CopyTextError(`row ${firstRow + r} has ${row.length} fields, expected ${n}`, firstRow + r, 0)
    const values = new Array<unknown>(n)
    let c = 0
    try {
      for (; c < n; c++) {
        const field = row[c]!
        const decode = decoders[c]!
        values[c] = field === null ? null : decode === identity ? field : decode(field)
      }
    } catch (thrown) {
      const column = columns[c]!
      const error = toValueError(column.codec.name, thrown)
      return new CopyTextError(
        `row ${firstRow + r}, column ${c + 1} "${column.name}" (${column.codec.name}): ${error.message}`,
        firstRow + r,
        c + 1
      )
    }
    out[r] = values
  }
  return out
}
