/**
 * `postgresql://` and `postgres://` connection URIs, parsed exactly as libpq's
 * `conninfo_uri_parse_options` / `conninfo_uri_parse_params` / `conninfo_uri_decode`.
 *
 * What it does: `scheme://[user[:password]@][netloc][,netloc...][/dbname][?key=value&...]` where a
 * netloc is `host[:port]` or `[ipv6][:port]`. The userinfo is recognised only when an `@` comes before
 * any `/`; the password runs from the first `:` to that `@`. Hosts and ports are joined with commas
 * into libpq's `host` and `port` lists (an empty host or port is an empty list element), then
 * percent-decoded as a whole; so `%2Fvar%2Frun%2Fpostgresql` is a Unix-socket directory and `%2C`
 * splits hosts, as in libpq. Every part is percent-decoded (`+` is not a space); `%00` and malformed
 * `%` escapes are errors. Empty user, password, host, port and dbname parts are not stored (so the
 * environment still applies). Query parameters are keywords; `ssl=true` means `sslmode=require`
 * (JDBC compatibility); an unknown keyword is an error.
 *
 * What it does NOT do: accept other schemes or an upper-case scheme (libpq compares the prefix
 * case-sensitively), treat `#` as a fragment (it is part of the value, as in libpq), validate values.
 *
 * Invariants: errors never quote the URI (its userinfo may hold a password) nor the password part or
 * a secret parameter's value; decoded bytes must be UTF-8 (libpq passes raw bytes through, but a JS
 * string cannot hold them faithfully).
 */
import { Result } from "effect"
import { configError, type PgConfigError } from "./ConfigError.ts"
import { isSecretKeyword, type RawOptions, storeOption } from "./Keywords.ts"

const prefixes = ["postgresql://", "postgres://"] as const

/** The length of the URI designator `input` starts with (case-sensitive), or 0. */
export const uriPrefixLength = (input: string): number => {
  for (const prefix of prefixes) if (input.startsWith(prefix)) return prefix.length
  return 0
}

/** Whether `input` is a connection URI (as opposed to a `key=value` string). */
export const isConnectionUri = (input: string): boolean => uriPrefixLength(input) > 0

const fail = (message: string, key?: string): Result.Result<never, PgConfigError> =>
  Result.fail(configError("InvalidSyntax", message, { key, origin: "connection URI" }))

const hexValue = (c: string | undefined): number => {
  if (c === undefined) return -1
  const code = c.charCodeAt(0)
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 65 && code <= 70) return code - 55
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Percent-decodes one URI part (libpq's `conninfo_uri_decode`). `label` names the part in errors;
 * `secret` parts are never quoted.
 */
export const percentDecode = (
  raw: string,
  label: string,
  secret = false
): Result.Result<string, PgConfigError> => {
  if (!raw.includes("%")) return Result.succeed(raw)
  const shown = secret ? `in ${label}` : `"${raw}"`
  const bytes: Array<number> = []
  let i = 0
  while (i < raw.length) {
    if (raw[i] !== "%") {
      const cp = raw.codePointAt(i)!
      const ch = String.fromCodePoint(cp)
      for (const b of utf8.encode(ch)) bytes.push(b)
      i += ch.length
      continue
    }
    const hi = hexValue(raw[i + 1])
    const lo = hi < 0 ? -1 : hexValue(raw[i + 2])
    if (hi < 0 || lo < 0) return fail(`invalid percent-encoded token: ${shown}`)
    const byte = (hi << 4) | lo
    if (byte === 0) return fail(`forbidden value %00 in percent-encoded value: ${shown}`)
    bytes.push(byte)
    i += 3
  }
  try {
    return Result.succeed(strictUtf8.decode(new Uint8Array(bytes)))
  } catch {
    return fail(`percent-decoded value is not valid UTF-8: ${shown}`)
  }
}

/** Parses a `postgresql://` or `postgres://` URI into raw options (keyword → value). */
export const parseUri = (uri: string): Result.Result<RawOptions, PgConfigError> => {
  const prefix = uriPrefixLength(uri)
  if (prefix === 0) return fail(`a connection URI must start with "postgresql://" or "postgres://"`)
  if (uri.includes("\0")) return fail("connection URI contains a NUL character")
  const options = new Map<string, string>()
  const n = uri.length
  const at = (i: number): string => (i < n ? uri[i]! : "")

  // Userinfo: only when an '@' comes before any '/'.
  let p = prefix
  while (p < n && at(p) !== "@" && at(p) !== "/") p++
  if (at(p) === "@") {
    let q = prefix
    while (at(q) !== ":" && at(q) !== "@") q++
    const user = uri.slice(prefix, q)
    if (user !== "") {
      const decoded = percentDecode(user, "the user name")
      if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
      options.set("user", decoded.success)
    }
    if (at(q) === ":") {
      const password = uri.slice(q + 1, p)
      if (password !== "") {
        const decoded = percentDecode(password, "the password", true)
        if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
        options.set("password", decoded.success)
      }
    }
    p++
  } else {
    p = prefix
  }

  // Netlocs: host[:port] or [ipv6][:port], separated by commas.
  const hosts: Array<string> = []
  const ports: Array<string> = []
  let terminator = ""
  for (;;) {
    let host: string
    if (at(p) === "[") {
      const start = ++p
      while (p < n && at(p) !== "]") p++
      if (p >= n)
        return fail(`end of string reached when looking for matching "]" in IPv6 host address in URI`)
      if (p === start) return fail("IPv6 host address may not be empty in URI")
      host = uri.slice(start, p)
      p++
      const c = at(p)
      if (c !== "" && c !== ":" && c !== "/" && c !== "?" && c !== ",") {
        return fail(`unexpected character "${c}" at position ${p + 1} in URI (expected ":" or "/")`)
      }
    } else {
      const start = p
      while (p < n && !":/?,".includes(at(p))) p++
      host = uri.slice(start, p)
    }
    hosts.push(host)
    terminator = at(p)
    let port: string | undefined
    if (terminator === ":") {
      const start = ++p
      while (p < n && !"/?,".includes(at(p))) p++
      port = uri.slice(start, p)
      terminator = at(p)
    }
    ports.push(port ?? "")
    if (terminator !== ",") break
    p++
  }
  const hostList = hosts.join(",")
  const portList = ports.join(",")
  if (hostList !== "") {
    const decoded = percentDecode(hostList, "the host")
    if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
    options.set("host", decoded.success)
  }
  if (portList !== "") {
    const decoded = percentDecode(portList, "the port")
    if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
    options.set("port", decoded.success)
  }

  // Database name: after the '/' that ended the netlocs, up to '?'.
  if (terminator !== "" && terminator !== "?") {
    const start = ++p
    while (p < n && at(p) !== "?") p++
    const dbname = uri.slice(start, p)
    terminator = at(p)
    if (dbname !== "") {
      const decoded = percentDecode(dbname, "the database name")
      if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
      options.set("dbname", decoded.success)
    }
  }

  if (terminator !== "") {
    const error = parseParams(uri.slice(p + 1), options)
    if (error !== undefined) return Result.fail(error)
  }
  return Result.succeed(options)
}

/** The query part: `key=value` pairs separated by `&` (libpq's `conninfo_uri_parse_params`). */
const parseParams = (query: string, options: Map<string, string>): PgConfigError | undefined => {
  let i = 0
  const n = query.length
  while (i < n) {
    const start = i
    let eq = -1
    for (;;) {
      const c = i < n ? query[i] : ""
      if (c === "=") {
        if (eq >= 0) {
          return syntaxError(
            `extra key/value separator "=" in URI query parameter: "${query.slice(start, eq)}"`
          )
        }
        eq = i
        i++
      } else if (c === "&" || c === "") {
        if (eq < 0) {
          return syntaxError(
            `missing key/value separator "=" in URI query parameter: "${query.slice(start, i)}"`
          )
        }
        break
      } else {
        i++
      }
    }
    const rawKey = query.slice(start, eq)
    const rawValue = query.slice(eq + 1, i)
    if (i < n) i++ // past '&'
    const key = percentDecode(rawKey, "a query parameter name")
    if (Result.isFailure(key)) return key.failure
    const value = percentDecode(rawValue, `the value of "${key.success}"`, isSecretKeyword(key.success))
    if (Result.isFailure(value)) return value.failure
    let keyword = key.success
    let val = value.success
    if (keyword === "ssl" && val === "true") {
      keyword = "sslmode"
      val = "require"
    }
    if (storeOption(options, keyword, val) === "unknown") {
      return configError("UnknownOption", `invalid URI query parameter: "${keyword}"`, {
        key: keyword,
        origin: "connection URI"
      })
    }
  }
  return undefined
}

const syntaxError = (message: string): PgConfigError =>
  configError("InvalidSyntax", message, { origin: "connection URI" })
