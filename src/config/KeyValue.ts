/**
 * libpq `key=value` connection strings (`host=db port=5432 password='it\'s'`), parsed exactly as
 * libpq's `conninfo_parse`.
 *
 * What it does: skips C whitespace (space, \t, \n, \v, \f, \r) between pairs; reads a keyword up to
 * `=` or whitespace (whitespace may come before and after `=`); reads an unquoted value up to the next
 * whitespace, where `\x` stands for `x`; or a single-quoted value up to the closing quote, where `\'`
 * and `\\` (any `\x`) stand for `x`. A quoted value may be followed directly by the next keyword
 * (`host='a'port=5` is two pairs). Each pair is stored through `storeOption` (libpq's
 * `conninfo_storeval`): later pairs replace earlier ones, `requiressl` maps to `sslmode`, unknown
 * keywords fail.
 *
 * What it does NOT do: validate values, read the environment, expand a `dbname` that is itself a
 * connection string (only libpq's `PQconnectdbParams` does that), or accept URLs (see Url.ts).
 *
 * Invariants: errors are libpq's messages; a token that follows a secret keyword's value (a password
 * with an unquoted space) is never quoted in an error. A NUL character is an error (libpq would
 * silently cut the string there).
 */
import { Result } from "effect"
import { configError, type PgConfigError } from "./ConfigError.ts"
import { isSecretKeyword, type RawOptions, storeOption } from "./Keywords.ts"

/** C `isspace` in the C locale. */
export const isCSpace = (c: string | undefined): boolean =>
  c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r"

const syntax = (message: string, key?: string): PgConfigError =>
  configError("InvalidSyntax", message, { key, origin: "connection string" })

/** Parses a libpq `key=value` connection string into raw options (keyword → value). */
export const parseKeyValue = (input: string): Result.Result<RawOptions, PgConfigError> => {
  if (input.includes("\0")) return Result.fail(syntax("connection string contains a NUL character"))
  const options = new Map<string, string>()
  const n = input.length
  let i = 0
  // True while the previous value belonged to a secret keyword: its stray tokens are not echoed.
  let afterSecret = false
  while (i < n) {
    if (isCSpace(input[i])) {
      i++
      continue
    }
    // The keyword: up to '=' or whitespace.
    const start = i
    while (i < n && input[i] !== "=" && !isCSpace(input[i])) i++
    const keyword = input.slice(start, i)
    while (i < n && isCSpace(input[i])) i++
    if (input[i] !== "=") {
      return Result.fail(
        syntax(
          afterSecret
            ? `missing "=" after a token that follows a secret value in connection info string (quote values that contain spaces)`
            : `missing "=" after "${keyword}" in connection info string`
        )
      )
    }
    i++
    while (i < n && isCSpace(input[i])) i++
    // The value.
    let value = ""
    if (input[i] !== "'") {
      while (i < n) {
        const c = input[i]!
        if (isCSpace(c)) {
          i++
          break
        }
        if (c === "\\") {
          i++
          if (i < n) value += input[i++]
        } else {
          value += c
          i++
        }
      }
    } else {
      i++
      for (;;) {
        if (i >= n) {
          return Result.fail(
            syntax("unterminated quoted string in connection info string", afterSecret ? undefined : keyword)
          )
        }
        const c = input[i]!
        if (c === "\\") {
          i++
          if (i < n) value += input[i++]
          continue
        }
        if (c === "'") {
          i++
          break
        }
        value += c
        i++
      }
    }
    if (storeOption(options, keyword, value) === "unknown") {
      return Result.fail(
        configError(
          "UnknownOption",
          afterSecret
            ? "invalid connection option after a secret value (quote values that contain spaces)"
            : `invalid connection option "${keyword}"`,
          { key: afterSecret ? undefined : keyword, origin: "connection string" }
        )
      )
    }
    afterSecret = isSecretKeyword(keyword)
  }
  return Result.succeed(options)
}
