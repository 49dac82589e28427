/**
 * Value parsers for libpq keywords, each with libpq's acceptance rules and error message.
 *
 * What it does: integers as libpq's `pqParseIntParam` (strtol: leading whitespace, an optional sign,
 * decimal digits, trailing whitespace only, must fit a C int), ports (1..65535), case-sensitive
 * enumerations (`invalid sslmode value: "x"`), wire-protocol versions (`3.0`, `3.2`, `latest`) and TLS
 * versions (`TLSv1`..`TLSv1.3`, case-insensitive, empty = unset) with libpq's range rule.
 *
 * What it does NOT do: decide defaults or cross-keyword rules (Resolve.ts), or read anything.
 *
 * Invariants: pure; every failure is a `PgConfigError` naming the keyword and the value's origin.
 * None of these parsers is ever given a secret value.
 */
import { Result } from "effect"
import { configError, type PgConfigError } from "./ConfigError.ts"
import type { Sourced } from "./Env.ts"
import { isCSpace } from "./KeyValue.ts"

const invalid = (keyword: string, source: Sourced, message: string): Result.Result<never, PgConfigError> =>
  Result.fail(configError("InvalidValue", message, { key: keyword, origin: source.origin }))

/** libpq's `pqParseIntParam`: a C `int` as `strtol` reads it, with nothing but spaces after it. */
export const parseIntParam = (keyword: string, source: Sourced): Result.Result<number, PgConfigError> => {
  const s = source.value
  let i = 0
  while (isCSpace(s[i])) i++
  let sign = 1
  if (s[i] === "+" || s[i] === "-") {
    if (s[i] === "-") sign = -1
    i++
  }
  const digitsStart = i
  while (i < s.length && s[i]! >= "0" && s[i]! <= "9") i++
  const digits = s.slice(digitsStart, i)
  while (isCSpace(s[i])) i++
  const value = sign * Number(digits)
  if (digits === "" || i !== s.length || value > 2147483647 || value < -2147483648) {
    return invalid(keyword, source, `invalid integer value "${s}" for connection option "${keyword}"`)
  }
  return Result.succeed(value === 0 ? 0 : value)
}

/** A port as libpq reads it at connect time: an integer in 1..65535. */
export const parsePort = (source: Sourced): Result.Result<number, PgConfigError> =>
  Result.flatMap(parseIntParam("port", source), (port) =>
    port < 1 || port > 65535
      ? invalid("port", source, `invalid port number: "${source.value}"`)
      : Result.succeed(port)
  )

/** One of `allowed`, compared case-sensitively as libpq does. */
export const parseEnum = <const A extends string>(
  keyword: string,
  source: Sourced,
  allowed: ReadonlyArray<A>
): Result.Result<A, PgConfigError> =>
  (allowed as ReadonlyArray<string>).includes(source.value)
    ? Result.succeed(source.value as A)
    : invalid(keyword, source, `invalid ${keyword} value: "${source.value}"`)

/** The wire-protocol versions libpq 18 can ask for. */
export type ProtocolVersion = "3.0" | "3.2"

/** The newest protocol version (libpq 18's `PG_PROTOCOL_LATEST`). */
export const latestProtocolVersion: ProtocolVersion = "3.2"

/** `3.0`, `3.2` or `latest` (3.1 never existed). */
export const parseProtocolVersion = (
  keyword: string,
  source: Sourced
): Result.Result<ProtocolVersion, PgConfigError> => {
  switch (source.value) {
    case "3.0":
      return Result.succeed("3.0")
    case "3.2":
    case "latest":
      return Result.succeed("3.2")
    default:
      return invalid(keyword, source, `invalid ${keyword} value: "${source.value}"`)
  }
}

/** TLS protocol versions, in increasing order. */
export const tlsVersions = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const
export type TlsVersion = (typeof tlsVersions)[number]

/** A TLS version, case-insensitive; the empty string means "no bound" (libpq). */
export const parseTlsVersion = (
  keyword: string,
  source: Sourced
): Result.Result<TlsVersion | undefined, PgConfigError> => {
  if (source.value === "") return Result.succeed(undefined)
  const found = tlsVersions.find((v) => v.toLowerCase() === source.value.toLowerCase())
  return found === undefined
    ? invalid(keyword, source, `invalid "${keyword}" value: "${source.value}"`)
    : Result.succeed(found)
}

/** libpq's `sslVerifyProtocolRange`: a missing bound is fine, otherwise min ≤ max. */
export const isTlsRangeValid = (min: TlsVersion | undefined, max: TlsVersion | undefined): boolean =>
  min === undefined || max === undefined || tlsVersions.indexOf(min) <= tlsVersions.indexOf(max)
