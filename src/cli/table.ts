/**
 * Renders statement results as psql-style aligned tables. Pure string formatting: no I/O.
 */
import type { StatementResult } from "../Result.ts"

const width = (s: string): number => [...s].length

const pad = (s: string, n: number, right: boolean): string => {
  const fill = " ".repeat(Math.max(0, n - width(s)))
  return right ? fill + s : s + fill
}

/** Numeric type OIDs are right-aligned, like psql. */
const numericOids = new Set([20, 21, 23, 26, 700, 701, 1700])

/** One result: header, separator, rows, "(n rows)"; or the command tag when there are no columns. */
export const renderResult = (result: StatementResult): string => {
  if (result.columns.length === 0) return result.command?.tag ?? ""
  const names = result.columns.map((c) => c.name)
  const cells = result.rows.map((row) => row.map((v) => (v === null ? "" : v.replace(/\n/g, "\\n"))))
  const widths = names.map((name, i) => Math.max(width(name), ...cells.map((r) => width(r[i] ?? ""))))
  const right = result.columns.map((c) => numericOids.has(c.typeOid))
  const header = names.map((n, i) => ` ${pad(n, widths[i]!, false)} `).join("|")
  const rule = widths.map((w) => "-".repeat(w + 2)).join("+")
  const lines = cells.map((r) => r.map((v, i) => ` ${pad(v, widths[i]!, right[i]!)} `).join("|"))
  const n = result.rows.length
  return [header, rule, ...lines, `(${n} ${n === 1 ? "row" : "rows"})`].join("\n")
}
