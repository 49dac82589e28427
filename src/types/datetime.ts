/**
 * Codecs of date, time, timetz, timestamp and timestamptz: lossless by default (PgDate, PgTime,
 * PgTimeTz, PgTimestamp from values.ts), and `Date`-valued alternatives one `registry.with(...)`
 * away (`dateCodecs`).
 *
 * Does: parse the server's ISO text (DateStyle ISO, the server default: "2024-02-29",
 * "0044-03-15 BC", "2024-01-02 03:04:05.123456+05:30", "infinity"), read and write the binary
 * forms (int32 days and int64 microseconds since 2000-01-01, ±infinity as the int extremes,
 * timetz's zone in seconds west of UTC), and encode Dates, the value types and strings.
 * Does NOT: read other DateStyles (a non-ISO text is a Malformed ValueError), or resolve zone
 * names: timestamptz text always carries a numeric offset, and a string without one cannot be
 * encoded in binary (send it as text, where the server applies the session TimeZone).
 *
 * The Date alternatives drop the microseconds below the millisecond (floored) and fail with an
 * OutOfRange ValueError for ±infinity and instants beyond a Date's ±8.64e15 ms, never silently.
 */
import type { Writer } from "../protocol/Writer.ts"
import { expectLength, int32, splitMicros, writeMicros } from "./bytes.ts"
import { type Codec, parseForEncoding } from "./Codec.ts"
import { formatDate, formatTime, formatTimestamp, formatZone } from "./dates.ts"
import { parseDate, parsed, parseTime, parseTimestamp } from "./datetimeText.ts"
import { notEncodable, outOfRange } from "./ValueError.ts"
import { PgDate, PgTime, PgTimestamp, PgTimeTz } from "./values.ts"

/** Seconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
const PG_EPOCH_SECONDS = 946684800
const PG_EPOCH_DAYS = 10957
const INT32_MAX = 0x7fffffff
const INT32_MIN = -0x80000000
/** Whole seconds either side of 2000-01-01 that int64 microseconds hold (the server's range is narrower). */
const MAX_SECONDS = 9223372036854

// ---------------------------------------------------------------------------------------------
// Binary reading and writing

/** Reads a timestamp's int64 into `parsed` (seconds since 1970, micros). */
const readTimestamp = (type: string, b: Uint8Array, p: number, n: number): void => {
  expectLength(type, n, 8)
  const hi = int32(b, p)
  const lo = int32(b, p + 4)
  if (hi === INT32_MAX && lo === -1) {
    parsed.seconds = Infinity
    parsed.micros = 0
  } else if (hi === INT32_MIN && lo === 0) {
    parsed.seconds = -Infinity
    parsed.micros = 0
  } else {
    const split = splitScratch
    splitMicros(b, p, split)
    parsed.seconds = split.units + PG_EPOCH_SECONDS
    parsed.micros = split.micros
  }
}
const splitScratch = { units: 0, micros: 0 }

const writeTimestamp = (type: string, w: Writer, seconds: number, micros: number): void => {
  if (seconds === Infinity) {
    w.int32(INT32_MAX)
    w.int32(-1)
  } else if (seconds === -Infinity) {
    w.int32(INT32_MIN)
    w.int32(0)
  } else if (Number.isInteger(seconds) && Math.abs(seconds - PG_EPOCH_SECONDS) < MAX_SECONDS) {
    writeMicros(w, seconds - PG_EPOCH_SECONDS, micros)
  } else throw outOfRange(type, "the instant is outside the timestamp range")
}

/** Seconds and micros of what a timestamp encoder takes, into `parsed`. */
const instantOf = (type: string, value: unknown, zoned: boolean): void => {
  if (value instanceof PgTimestamp) {
    parsed.seconds = value.seconds
    parsed.micros = value.micros
  } else if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) throw notEncodable(type, value, "an invalid Date")
    const seconds = Math.floor(ms / 1000)
    parsed.seconds = seconds
    parsed.micros = (ms - seconds * 1000) * 1000
  } else if (typeof value === "string") parseForEncoding(type, value, (s) => parseTimestamp(type, s, zoned))
  else throw notEncodable(type, value, "expected a PgTimestamp, a Date or a string")
}

type TimestampInput = PgTimestamp | Date | string

const timestampCodec = <T>(
  oid: number,
  name: string,
  arrayOid: number,
  zoned: boolean,
  make: (seconds: number, micros: number) => T
): Codec<T, T | TimestampInput> => ({
  oid,
  name,
  arrayOid,
  text: {
    decode: (s) => {
      parseTimestamp(name, s, zoned)
      return make(parsed.seconds, parsed.micros)
    },
    encode: (v) => {
      if (typeof v === "string") return v
      instantOf(name, v, zoned)
      return formatTimestamp(parsed.seconds, parsed.micros, zoned ? 0 : undefined)
    }
  },
  binary: {
    decode: (b, p, n) => {
      readTimestamp(name, b, p, n)
      return make(parsed.seconds, parsed.micros)
    },
    encode: (v, w) => {
      instantOf(name, v, zoned)
      writeTimestamp(name, w, parsed.seconds, parsed.micros)
    }
  },
  accepts: (v) => v instanceof PgTimestamp || v instanceof Date || typeof v === "string"
})

const pgTimestamp = (seconds: number, micros: number): PgTimestamp =>
  seconds === Infinity
    ? PgTimestamp.infinity
    : seconds === -Infinity
      ? PgTimestamp.negativeInfinity
      : new PgTimestamp(seconds, micros)

export const timestamp = timestampCodec(1114, "timestamp", 1115, false, pgTimestamp)
export const timestamptz = timestampCodec(1184, "timestamptz", 1185, true, pgTimestamp)

// ---------------------------------------------------------------------------------------------
// date, time, timetz

const daysOf = (value: unknown): number => {
  if (value instanceof PgDate) return value.days
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) throw notEncodable("date", value, "an invalid Date")
    return Math.floor(ms / 86400000)
  }
  if (typeof value === "string") return parseForEncoding("date", value, parseDate)
  throw notEncodable("date", value, "expected a PgDate, a Date or a string")
}

const readDays = (b: Uint8Array, p: number, n: number): number => {
  expectLength("date", n, 4)
  const d = int32(b, p)
  return d === INT32_MAX ? Infinity : d === INT32_MIN ? -Infinity : d + PG_EPOCH_DAYS
}

const writeDays = (w: Writer, days: number): void => {
  if (days === Infinity) w.int32(INT32_MAX)
  else if (days === -Infinity) w.int32(INT32_MIN)
  else {
    const d = days - PG_EPOCH_DAYS
    if (!Number.isInteger(d) || d <= INT32_MIN || d >= INT32_MAX)
      throw outOfRange("date", "outside the date range")
    w.int32(d)
  }
}

const dateCodec = <T>(make: (days: number) => T): Codec<T, T | PgDate | Date | string> => ({
  oid: 1082,
  name: "date",
  arrayOid: 1182,
  text: {
    decode: (s) => make(parseDate(s)),
    encode: (v) => (typeof v === "string" ? v : formatDate(daysOf(v)))
  },
  binary: { decode: (b, p, n) => make(readDays(b, p, n)), encode: (v, w) => writeDays(w, daysOf(v)) },
  accepts: (v) => v instanceof PgDate || v instanceof Date || typeof v === "string"
})

const pgDate = (days: number): PgDate =>
  days === Infinity ? PgDate.infinity : days === -Infinity ? PgDate.negativeInfinity : new PgDate(days)

export const date = dateCodec(pgDate)

const microsOfTime = (value: unknown): number => {
  if (value instanceof PgTime) return value.micros
  if (typeof value === "string") return parseForEncoding("time", value, (s) => parseTime("time", s, false))
  throw notEncodable("time", value, "expected a PgTime or a string")
}

const readInt64Micros = (b: Uint8Array, p: number): number => {
  splitMicros(b, p, splitScratch)
  return splitScratch.units * 1e6 + splitScratch.micros
}

export const time: Codec<PgTime, PgTime | string> = {
  oid: 1083,
  name: "time",
  arrayOid: 1183,
  text: {
    decode: (s) => new PgTime(parseTime("time", s, false)),
    encode: (v) => (typeof v === "string" ? v : formatTime(microsOfTime(v)))
  },
  binary: {
    decode: (b, p, n) => {
      expectLength("time", n, 8)
      return new PgTime(readInt64Micros(b, p))
    },
    encode: (v, w) => writeMicros(w, 0, microsOfTime(v))
  },
  accepts: (v) => v instanceof PgTime || typeof v === "string"
}

const timeTzOf = (value: unknown): PgTimeTz => {
  if (value instanceof PgTimeTz) return value
  if (typeof value === "string")
    return new PgTimeTz(
      parseForEncoding("timetz", value, (s) => parseTime("timetz", s, true)),
      parsed.offset
    )
  throw notEncodable("timetz", value, "expected a PgTimeTz or a string")
}

export const timetz: Codec<PgTimeTz, PgTimeTz | string> = {
  oid: 1266,
  name: "timetz",
  arrayOid: 1270,
  text: {
    decode: (s) => new PgTimeTz(parseTime("timetz", s, true), parsed.offset),
    encode: (v) => {
      if (typeof v === "string") return v
      const t = timeTzOf(v)
      return formatTime(t.micros) + formatZone(t.offset)
    }
  },
  binary: {
    decode: (b, p, n) => {
      expectLength("timetz", n, 12)
      return new PgTimeTz(readInt64Micros(b, p), 0 - int32(b, p + 8))
    },
    encode: (v, w) => {
      const t = timeTzOf(v)
      writeMicros(w, 0, t.micros)
      w.int32(-t.offset)
    }
  },
  accepts: (v) => v instanceof PgTimeTz || typeof v === "string"
}

// ---------------------------------------------------------------------------------------------
// The Date alternatives

const MAX_DATE_MS = 8.64e15

const jsDate =
  (type: string) =>
  (seconds: number, micros: number): Date => {
    const ms = seconds * 1000 + Math.floor(micros / 1000)
    if (!(Math.abs(ms) <= MAX_DATE_MS))
      throw outOfRange(
        type,
        `${formatTimestamp(seconds, micros, 0)} cannot be a JS Date (use the PgTimestamp codec)`
      )
    return new Date(ms)
  }

/** timestamptz as Date: microseconds floored to the millisecond; ±infinity is an OutOfRange error. */
export const timestamptzAsDate = timestampCodec(1184, "timestamptz", 1185, true, jsDate("timestamptz"))
/** timestamp as Date (the wall-clock time read as UTC): as {@link timestamptzAsDate}. */
export const timestampAsDate = timestampCodec(1114, "timestamp", 1115, false, jsDate("timestamp"))
/** date as a Date at midnight UTC; ±infinity is an OutOfRange error. */
export const dateAsDate = dateCodec((days) => {
  const ms = days * 86400000
  if (!(Math.abs(ms) <= MAX_DATE_MS)) throw outOfRange("date", `${formatDate(days)} cannot be a JS Date`)
  return new Date(ms)
})

/** The three Date codecs: `registry.with(...dateCodecs)` makes dates, timestamps and their arrays and ranges Dates. */
export const dateCodecs = [timestamptzAsDate, timestampAsDate, dateAsDate] as const
