/**
 * Text helpers for error messages: truncation, parameter rendering and the error-cursor caret.
 *
 * What it does: turns a query, its parameters and a server error position into short, readable
 * lines, within configurable limits.
 *
 * What it does NOT do: choose what goes into a message (that is `PgError`), escape for any
 * purpose other than display (rendered parameters are not SQL literals to execute), or look at
 * connection configuration.
 *
 * Invariants: every function is pure and total (no input makes it throw: parameters whose
 * rendering throws are shown as `<unprintable ...>`); a rendered value shows at most its limit of
 * characters, plus quotes and a marker saying how much was cut; truncation never splits a UTF-16
 * surrogate pair; Effect `Redacted` parameters are shown as `<redacted>`, never by value.
 */
import { Redacted } from "effect"

/** How much of the query and its parameters a `PgError` message shows. */
export interface MessageLimits {
  /** Characters (UTF-16 code units) of SQL shown; the rest is replaced by a marker. Default 500. */
  readonly maxSqlLength: number
  /** Parameters shown; the others are counted. Default 10. */
  readonly maxParams: number
  /** Characters of each rendered parameter shown. Default 100. */
  readonly maxParamLength: number
}

/** The default limits: 500 characters of SQL, 10 parameters of 100 characters each. */
export const defaultMessageLimits: MessageLimits = { maxSqlLength: 500, maxParams: 10, maxParamLength: 100 }

const limit = (value: number | undefined, fallback: number): number =>
  value === undefined || Number.isNaN(value) ? fallback : Math.max(0, Math.floor(value))

/** Completes partial limits with the defaults; negative values count as 0, NaN as the default. */
export const resolveLimits = (limits: Partial<MessageLimits> | undefined): MessageLimits => ({
  maxSqlLength: limit(limits?.maxSqlLength, defaultMessageLimits.maxSqlLength),
  maxParams: limit(limits?.maxParams, defaultMessageLimits.maxParams),
  maxParamLength: limit(limits?.maxParamLength, defaultMessageLimits.maxParamLength)
})

/** Keeps the first `max` code units of `text` (one fewer if that would split a surrogate pair). */
export const truncate = (text: string, max: number): string => {
  if (text.length <= max) return text
  let cut = max
  const last = text.charCodeAt(cut - 1)
  if (cut > 0 && last >= 0xd800 && last <= 0xdbff) cut -= 1
  return `${text.slice(0, cut)}…[${text.length - cut} more chars]`
}

const hex = (bytes: Uint8Array, maxBytes: number): string => {
  let out = "\\x"
  const shown = Math.min(bytes.length, maxBytes)
  for (let i = 0; i < shown; i++) out += bytes[i]!.toString(16).padStart(2, "0")
  return out
}

/** Renders one parameter for display: strings quoted, NULL, numbers, bytes as hex, dates as ISO. */
export const renderParam = (value: unknown, maxLength: number): string => {
  try {
    if (value === null || value === undefined) return "NULL"
    if (Redacted.isRedacted(value)) return "<redacted>"
    if (typeof value === "string") return `'${truncate(value.replaceAll("'", "''"), maxLength)}'`
    if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
      return truncate(String(value), maxLength)
    }
    if (value instanceof Uint8Array) {
      // "\x" then two hex digits per byte: show only the bytes that fit.
      const maxBytes = Math.max(0, Math.floor((maxLength - 2) / 2))
      return `'${hex(value, maxBytes)}${value.length > maxBytes ? "…" : ""}' (${value.length} bytes)`
    }
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? "'Invalid Date'" : `'${value.toISOString()}'`
    }
    const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v))
    return json === undefined ? `<${typeof value}>` : truncate(json, maxLength)
  } catch {
    return `<unprintable ${typeof value}>`
  }
}

/** `$1 = 'a', $2 = NULL, … (and 3 more)`; an empty string for no parameters. */
export const renderParams = (params: ReadonlyArray<unknown>, limits: MessageLimits): string => {
  const shown = params
    .slice(0, limits.maxParams)
    .map((value, i) => `$${i + 1} = ${renderParam(value, limits.maxParamLength)}`)
  const hidden = params.length - shown.length
  if (hidden > 0) shown.push(`… (and ${hidden} more)`)
  return shown.join(", ")
}

/** Width of the window of a long line shown around the error cursor. */
const caretWindow = 80

/**
 * psql-style cursor display for a 1-based character `position` into `sql` (the P field of
 * ErrorResponse, counted in characters, not bytes):
 * ```
 * LINE 1: SELECT * FORM t
 *                  ^
 * ```
 * Long lines are cut to a window around the cursor, marked with "...". Returns no lines when the
 * position is outside the query. Tabs are shown as one space so the caret stays aligned; wide
 * characters (CJK, emoji) may shift it.
 */
export const caretLines = (sql: string, position: number, label = "LINE"): ReadonlyArray<string> => {
  const chars = Array.from(sql)
  const index = position - 1
  // The server may point one past the end ("syntax error at end of input").
  if (!Number.isInteger(position) || index < 0 || index > chars.length) return []
  let lineNumber = 1
  let lineStart = 0
  for (let i = 0; i < index; i++) {
    const c = chars[i]
    if (c === "\n" || (c === "\r" && chars[i + 1] !== "\n")) {
      lineNumber += 1
      lineStart = i + 1
    }
  }
  let lineEnd = lineStart
  while (lineEnd < chars.length && chars[lineEnd] !== "\n" && chars[lineEnd] !== "\r") lineEnd += 1
  const line = chars.slice(lineStart, lineEnd).map((c) => (c === "\t" ? " " : c))
  let column = index - lineStart
  let start = 0
  let end = line.length
  if (line.length > caretWindow) {
    start = Math.max(0, Math.min(column - caretWindow / 2, line.length - caretWindow))
    end = start + caretWindow
  }
  const prefix = `${label} ${lineNumber}: ${start > 0 ? "..." : ""}`
  const text = `${prefix}${line.slice(start, end).join("")}${end < line.length ? "..." : ""}`
  column -= start
  return [text, `${" ".repeat(prefix.length + column)}^`]
}
