/**
 * Renders one statement result as a psql-style aligned table ("aligned" format, border 1).
 *
 * Does: pads by display width (width.ts), so CJK, emoji and combining marks line up; centres the
 * headers; right-aligns the numeric types psql right-aligns; shows NULL as an empty cell and a
 * newline, carriage return or tab inside a value as `\n`, `\r`, `\t` (one line per row); adds the
 * "(n rows)" footer; for a statement without columns returns its command tag ("INSERT 0 3").
 * Does NOT: write anything (pure string formatting), wrap wide tables, or print psql's `+`
 * continuation lines for multi-line values. No line ends in padding.
 */
import type { StatementResult } from "../Result.ts"
import { displayWidth } from "./width.ts"

/** int8, int2, int4, oid, xid, cid, float4, float8, money, numeric, xid8: psql's right-aligned types. */
const numericOids: ReadonlySet<number> = new Set([20, 21, 23, 26, 28, 29, 700, 701, 790, 1700, 5069])

const escapes: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" }

/** The text of a cell: empty for NULL, line breaks and tabs escaped. */
export const cellText = (value: string | null): string =>
  value === null ? "" : value.replace(/[\n\r\t]/g, (c) => escapes[c]!)

const spaces = (n: number): string => " ".repeat(Math.max(0, n))

/** The rows line for one result: "(1 row)", "(3 rows)". */
export const rowsFooter = (n: number): string => `(${n} ${n === 1 ? "row" : "rows"})`

/** One result: header, rule, rows, "(n rows)"; or the command tag when there are no columns. */
export const renderResult = (result: StatementResult): string => {
  if (result.columns.length === 0) return result.command?.tag ?? ""
  const names = result.columns.map((c) => cellText(c.name))
  const cells = result.rows.map((row) => row.map(cellText))
  const cellWidths = cells.map((r) => r.map(displayWidth))
  const widths = names.map((name, i) =>
    cellWidths.reduce((w, r) => Math.max(w, r[i] ?? 0), displayWidth(name))
  )
  const right = result.columns.map((c) => numericOids.has(c.typeOid))
  const last = names.length - 1
  const header = names.map((name, i) => {
    const free = widths[i]! - displayWidth(name)
    const left = Math.floor(free / 2)
    return spaces(left) + name + (i === last ? "" : spaces(free - left))
  })
  const rule = widths.map((w) => "-".repeat(w + 2)).join("+")
  const lines = cells.map((row, r) =>
    row.map((value, i) => {
      const fill = spaces(widths[i]! - cellWidths[r]![i]!)
      if (right[i]) return fill + value
      return i === last ? value : value + fill
    })
  )
  return [line(header), rule, ...lines.map(line), rowsFooter(result.rows.length)].join("\n")
}

/** " a | b | c": each cell between one space of margin, without the margin after the last. */
const line = (cells: ReadonlyArray<string>): string =>
  cells
    .map((c) => ` ${c} `)
    .join("|")
    .slice(0, -1)
