/**
 * interval: PgInterval — months, days and microseconds kept apart, as PostgreSQL stores them
 * ('1 mon' is not '30 days', and '1 day' is not '24 hours' across a DST change).
 *
 * Does: parse and print the server's default IntervalStyle (`postgres`: "1 year 2 mons 3 days
 * 04:05:06.789", "-1 days +02:00:00", "00:00:00"), PostgreSQL 17's ±infinity, and the binary
 * form (int64 µs, int32 days, int32 months).
 * Does NOT: read the other IntervalStyles (sql_standard, iso_8601, postgres_verbose: a Malformed
 * ValueError; the connection keeps the default), or normalise (25 hours stay 25 hours).
 */
import type { Writer } from "../protocol/Writer.ts"
import { expectLength, int32, int64, writeInt64 } from "./bytes.ts"
import { type Codec, parseForEncoding } from "./Codec.ts"
import { malformed, notEncodable, outOfRange, quoted } from "./ValueError.ts"

const INT32_MAX = 2147483647
const INT32_MIN = -2147483648
const INT64_MAX = 2n ** 63n - 1n
const INT64_MIN = -(2n ** 63n)

/** An interval: `months` and `days` (int32) and `micros` (int64, as bigint). */
export class PgInterval {
  readonly months: number
  readonly days: number
  readonly micros: bigint
  constructor(months: number, days: number, micros: bigint) {
    this.months = months
    this.days = days
    this.micros = micros
  }

  /** 'infinity' (PostgreSQL 17+): every field at its maximum. */
  static readonly infinity: PgInterval = new PgInterval(INT32_MAX, INT32_MAX, INT64_MAX)
  /** '-infinity' (PostgreSQL 17+): every field at its minimum. */
  static readonly negativeInfinity: PgInterval = new PgInterval(INT32_MIN, INT32_MIN, INT64_MIN)

  /** From parts; each defaults to 0. Fractional seconds are kept to the microsecond. */
  static of(parts: {
    readonly years?: number
    readonly months?: number
    readonly days?: number
    readonly hours?: number
    readonly minutes?: number
    readonly seconds?: number
    readonly micros?: number | bigint
  }): PgInterval {
    const months = (parts.years ?? 0) * 12 + (parts.months ?? 0)
    const whole = ((parts.hours ?? 0) * 60 + (parts.minutes ?? 0)) * 60
    const us = BigInt(whole) * 1000000n + BigInt(Math.round((parts.seconds ?? 0) * 1e6))
    return new PgInterval(months, parts.days ?? 0, us + BigInt(parts.micros ?? 0))
  }

  /** The server's text in IntervalStyle postgres. */
  toString(): string {
    return formatInterval(this)
  }

  toJSON(): string {
    return this.toString()
  }
}

const isInfinite = (v: PgInterval): 1 | -1 | 0 =>
  v.months === INT32_MAX && v.days === INT32_MAX && v.micros === INT64_MAX
    ? 1
    : v.months === INT32_MIN && v.days === INT32_MIN && v.micros === INT64_MIN
      ? -1
      : 0

/** AddPostgresIntPart: " +3 days", "1 year", "-2 mons" — plural unless exactly 1. */
const part = (out: string, value: number, unit: string, before: boolean): string =>
  `${out === "" ? "" : " "}${before && value > 0 ? "+" : ""}${value} ${unit}${value === 1 ? "" : "s"}`

/** "[-]HH:MM:SS[.ffffff]" of a signed microsecond count; `plus` goes before a non-negative one. */
const clock = (micros: bigint, plus: string): string => {
  const minus = micros < 0n
  const abs = minus ? -micros : micros
  const hours = abs / 3600000000n
  const rest = Number(abs - hours * 3600000000n)
  const minutes = Math.floor(rest / 60e6)
  const us = rest - minutes * 60e6
  const secs = Math.floor(us / 1e6)
  const frac = us - secs * 1e6
  const hh = hours < 10n ? `0${hours}` : String(hours)
  const fraction =
    frac === 0
      ? ""
      : `.${String(1e6 + frac)
          .slice(1)
          .replace(/0+$/, "")}`
  return `${minus ? "-" : plus}${hh}:${String(minutes).padStart(2, "0")}:${String(secs).padStart(2, "0")}${fraction}`
}

/** EncodeInterval in IntervalStyle postgres. */
export const formatInterval = (v: PgInterval): string => {
  const inf = isInfinite(v)
  if (inf !== 0) return inf > 0 ? "infinity" : "-infinity"
  const year = Math.trunc(v.months / 12)
  const mon = v.months - year * 12
  let out = ""
  let before = false
  for (const [value, unit] of [
    [year, "year"],
    [mon, "mon"],
    [v.days, "day"]
  ] as const) {
    if (value === 0) continue
    out += part(out, value, unit, before)
    before = value < 0
  }
  if (out !== "" && v.micros === 0n) return out
  const time = clock(v.micros, before ? "+" : "")
  return out === "" ? time : `${out} ${time}`
}

/** Months, days or microseconds per unit word. */
const UNITS: Record<string, readonly ["months" | "days" | "micros", number]> = {
  year: ["months", 12],
  years: ["months", 12],
  mon: ["months", 1],
  mons: ["months", 1],
  day: ["days", 1],
  days: ["days", 1],
  hours: ["micros", 3600e6],
  mins: ["micros", 60e6],
  secs: ["micros", 1e6]
}

const TIME = /^([+-])?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/
const NUMBER = /^([+-])?(\d+)(?:\.(\d{1,6}))?$/

/** A signed decimal with up to 6 fraction digits, times `scale` (an integer multiple of 10^6 or 1), as bigint. */
const scaled = (m: RegExpExecArray, scale: number): bigint => {
  const whole = BigInt(m[2]!) * BigInt(scale)
  const frac = m[3] === undefined ? 0n : (BigInt(m[3].padEnd(6, "0")) * BigInt(scale)) / 1000000n
  return m[1] === "-" ? -(whole + frac) : whole + frac
}

/**
 * Parses IntervalStyle postgres output — "[N year[s]] [N mon[s]] [N day[s]] [[+-]H:MM:SS[.f]]" —
 * and the "N hours N mins N.f secs" parts this codec's own text encoder writes.
 */
const parseInterval = (s: string): PgInterval => {
  if (s === "infinity") return PgInterval.infinity
  if (s === "-infinity") return PgInterval.negativeInfinity
  const words = s.split(" ")
  let months = 0
  let days = 0
  let micros = 0n
  for (let i = 0; i < words.length; i += 2) {
    const word = words[i]!
    const time = i === words.length - 1 ? TIME.exec(word) : null
    if (time !== null) {
      const us =
        (BigInt(time[2]!) * 3600n + BigInt(Number(time[3]) * 60 + Number(time[4]))) * 1000000n +
        BigInt((time[5] ?? "").padEnd(6, "0"))
      micros += time[1] === "-" ? -us : us
      break
    }
    const unit = UNITS[words[i + 1] ?? ""]
    const number = NUMBER.exec(word)
    if (unit === undefined || number === null || (number[3] !== undefined && unit[0] !== "micros"))
      throw malformed("interval", `${quoted(s)} is not in IntervalStyle postgres`)
    if (unit[0] === "micros") micros += scaled(number, unit[1])
    else if (unit[0] === "months") months += Number(word) * unit[1]
    else days += Number(word)
  }
  if (
    months > INT32_MAX ||
    months < INT32_MIN ||
    days > INT32_MAX ||
    days < INT32_MIN ||
    micros > INT64_MAX ||
    micros < INT64_MIN
  )
    throw malformed("interval", `${quoted(s)} is out of range`)
  return new PgInterval(months, days, micros)
}

const intervalOf = (value: unknown): PgInterval => {
  if (value instanceof PgInterval) return value
  if (typeof value === "string") return parseForEncoding("interval", value, parseInterval)
  throw notEncodable("interval", value, "expected a PgInterval or a string")
}

const checkInt32 = (what: string, n: number): number => {
  if (!Number.isInteger(n) || n > INT32_MAX || n < INT32_MIN)
    throw outOfRange("interval", `${what} ${n} is not an int32`)
  return n
}

const writeInterval = (value: PgInterval | string, w: Writer): void => {
  const v = intervalOf(value)
  if (v.micros > INT64_MAX || v.micros < INT64_MIN)
    throw outOfRange("interval", "the microseconds are not an int64")
  writeInt64(w, v.micros)
  w.int32(checkInt32("days", v.days))
  w.int32(checkInt32("months", v.months))
}

/**
 * Text to send: "M mons D days H hours M mins S.ffffff secs", each time unit carrying the sign,
 * which interval_in reads exactly, the int64 extremes included (its "-H:MM:SS" form overflows at
 * the minimum). PostgreSQL 14 reads no more than 2147483647 hours.
 */
const intervalText = (value: PgInterval | string): string => {
  if (typeof value === "string") return value
  const v = intervalOf(value)
  const inf = isInfinite(v)
  if (inf !== 0) return inf > 0 ? "infinity" : "-infinity"
  const sign = v.micros < 0n ? "-" : ""
  const abs = v.micros < 0n ? -v.micros : v.micros
  const hours = abs / 3600000000n
  const rest = Number(abs - hours * 3600000000n)
  const minutes = Math.floor(rest / 60e6)
  const us = rest - minutes * 60e6
  const secs = Math.floor(us / 1e6)
  const frac = String(1e6 + us - secs * 1e6).slice(1)
  return `${checkInt32("months", v.months)} mons ${checkInt32("days", v.days)} days ${sign}${hours} hours ${sign}${minutes} mins ${sign}${secs}.${frac} secs`
}

export const interval: Codec<PgInterval, PgInterval | string> = {
  oid: 1186,
  name: "interval",
  arrayOid: 1187,
  text: { decode: parseInterval, encode: intervalText },
  binary: {
    decode: (b, p, n) => {
      expectLength("interval", n, 16)
      return new PgInterval(int32(b, p + 12), int32(b, p + 8), int64(b, p))
    },
    encode: writeInterval
  },
  accepts: (v) => v instanceof PgInterval || typeof v === "string"
}
