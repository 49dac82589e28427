/**
 * WAL positions (LSNs) and replication timestamps as plain values.
 *
 * Does: format an LSN (`bigint`, unsigned 64-bit) as PostgreSQL's `X/X` text and parse that text
 * back; convert the protocol's timestamps (signed int64 microseconds since 2000-01-01 00:00 UTC,
 * `TimestampTz`) to a `Date` or an ISO 8601 string with all six fractional digits, and build one
 * from a `Date` or Unix milliseconds.
 * Does NOT: read the clock (callers pass `Date.now()`), know time zones (everything is UTC), or
 * throw: bad input gives a ProtocolError or `undefined`, as documented per function.
 *
 * @see https://www.postgresql.org/docs/current/datatype-pg-lsn.html
 * @see https://www.postgresql.org/docs/current/protocol-replication.html
 */
import { ProtocolError } from "../protocol/ProtocolError.ts"

/** A WAL position: unsigned 64-bit (0 .. 2^64-1). `0n` is InvalidXLogRecPtr ("none"). */
export type Lsn = bigint

/** A replication timestamp: signed 64-bit microseconds since 2000-01-01 00:00:00 UTC. */
export type PgTimestamp = bigint

/** InvalidXLogRecPtr: "no position". */
export const INVALID_LSN: Lsn = 0n

/** Largest LSN (2^64 - 1). */
export const MAX_LSN: Lsn = 0xffff_ffff_ffff_ffffn

/** The PostgreSQL epoch (2000-01-01 00:00:00 UTC) in Unix milliseconds. */
export const PG_EPOCH_UNIX_MILLIS = 946_684_800_000

const PG_EPOCH_MICROS = BigInt(PG_EPOCH_UNIX_MILLIS) * 1000n

/** `true` when `lsn` fits an unsigned 64-bit WAL position. */
export const isLsn = (lsn: bigint): boolean => lsn >= 0n && lsn <= MAX_LSN

/**
 * Formats an LSN as PostgreSQL prints `pg_lsn` before version 18: `%X/%X`, upper-case hex with no
 * padding (`16/B374D848`). Values outside 64 bits are reduced modulo 2^64. Version 18 pads the low
 * half to 8 digits (`16/0B374D84`); {@link parseLsn} reads both forms.
 */
export const formatLsn = (lsn: Lsn): string => {
  const v = BigInt.asUintN(64, lsn)
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffff_ffffn).toString(16).toUpperCase()}`
}

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/

/** Parses `X/X` (1 to 8 hex digits on each side, as `pg_lsn` input accepts). */
export const parseLsn = (text: string): Lsn | ProtocolError => {
  const m = LSN_TEXT.exec(text)
  if (m === null)
    return new ProtocolError("InvalidValue", `LSN ${JSON.stringify(text)} is not of the form X/X`)
  return (BigInt(`0x${m[1]!}`) << 32n) | BigInt(`0x${m[2]!}`)
}

/** Floor division for bigints (BigInt's `/` truncates toward zero). */
const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q
}

/**
 * The timestamp as a `Date` (millisecond precision: the microseconds are floored). Outside the
 * range of `Date` (±8.64e15 ms around 1970) the result is an invalid Date (`getTime()` is NaN).
 */
export const pgTimestampToDate = (us: PgTimestamp): Date => {
  const ms = floorDiv(us + PG_EPOCH_MICROS, 1000n)
  return new Date(ms > 8_640_000_000_000_000n || ms < -8_640_000_000_000_000n ? Number.NaN : Number(ms))
}

/**
 * The timestamp as ISO 8601 UTC with microseconds (`2025-01-02T03:04:05.123456Z`), or `undefined`
 * outside the range of `Date`.
 */
export const pgTimestampToIso = (us: PgTimestamp): string | undefined => {
  const unixMicros = us + PG_EPOCH_MICROS
  const seconds = floorDiv(unixMicros, 1_000_000n)
  const fraction = unixMicros - seconds * 1_000_000n
  const ms = seconds * 1000n
  if (ms > 8_640_000_000_000_000n || ms < -8_640_000_000_000_000n) return undefined
  const iso = new Date(Number(ms)).toISOString()
  return `${iso.slice(0, iso.length - 5)}.${fraction.toString().padStart(6, "0")}Z`
}

/**
 * Unix milliseconds (e.g. `Date.now()`) as a replication timestamp (rounded to whole microseconds),
 * or `undefined` when not finite or outside the signed 64-bit range.
 */
export const pgTimestampFromUnixMillis = (ms: number): PgTimestamp | undefined => {
  const unixMicros = Math.round(ms * 1000)
  if (!Number.isFinite(unixMicros)) return undefined
  const us = BigInt(unixMicros) - PG_EPOCH_MICROS
  return BigInt.asIntN(64, us) === us ? us : undefined
}

/** A `Date` as a replication timestamp, or `undefined` for an invalid Date. */
export const pgTimestampFromDate = (date: Date): PgTimestamp | undefined =>
  pgTimestampFromUnixMillis(date.getTime())
