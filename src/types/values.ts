/**
 * The lossless JS values of PostgreSQL's date and time types: PgDate, PgTime, PgTimeTz and
 * PgTimestamp (both timestamp and timestamptz). Decision 016 says why they are not `Date`.
 *
 * Does: hold exactly what the server holds — microseconds, the whole range (4713 BC to 294276 AD,
 * date to 5874897 AD), ±infinity — as plain numbers (no bigint on the hot path), and convert to
 * and from `Date` where the conversion is exact or explicitly lossy (`toDate` drops the
 * microseconds below the millisecond, says so, and throws for what a Date cannot hold).
 * Does NOT: do calendar arithmetic or time zones (use a date library on `toDate()` or on the
 * fields), or parse (the codecs do).
 *
 * Invariants: values are immutable; `micros` is always in 0 .. 999999 (the seconds are floored,
 * so -1 µs is seconds -1, micros 999999); an infinite value has `micros` 0. Two equal values
 * compare equal with deep equality (plain fields, one prototype).
 */
import { daysFromCivil, formatDate, formatIso, formatTime, formatZone } from "./dates.ts"

/** Milliseconds a Date can hold either side of the epoch (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15

const rangeError = (what: string): RangeError => new RangeError(`${what} cannot be a JS Date`)

/** A calendar date: days since 1970-01-01 (negative before), or ±Infinity for 'infinity'. */
export class PgDate {
  readonly days: number
  constructor(days: number) {
    this.days = days
  }

  static readonly infinity: PgDate = new PgDate(Infinity)
  static readonly negativeInfinity: PgDate = new PgDate(-Infinity)

  /** From a proleptic Gregorian date with an astronomical year (0 is 1 BC, -43 is 44 BC). */
  static of(year: number, month: number, day: number): PgDate {
    return new PgDate(daysFromCivil(year, month, day))
  }

  /** The UTC calendar date of a Date (a Date at local midnight east of UTC is the day before!). */
  static fromDate(date: Date): PgDate {
    const ms = date.getTime()
    if (Number.isNaN(ms)) throw new RangeError("an invalid Date has no calendar date")
    return new PgDate(Math.floor(ms / 86400000))
  }

  get isFinite(): boolean {
    return Number.isFinite(this.days)
  }

  /** Midnight UTC of this date. Throws RangeError for ±infinity and dates a Date cannot hold. */
  toDate(): Date {
    const ms = this.days * 86400000
    if (!(Math.abs(ms) <= MAX_DATE_MS)) throw rangeError(`date ${this.toString()}`)
    return new Date(ms)
  }

  /** The server's text: "2024-02-29", "0044-03-15 BC", "infinity". */
  toString(): string {
    return formatDate(this.days)
  }

  toJSON(): string {
    return this.toString()
  }
}

/** A time of day: microseconds since midnight, 0 .. 86400000000 (24:00:00 is valid). */
export class PgTime {
  readonly micros: number
  constructor(micros: number) {
    this.micros = micros
  }

  static of(hours: number, minutes: number, seconds: number, micros = 0): PgTime {
    return new PgTime(((hours * 60 + minutes) * 60 + seconds) * 1e6 + micros)
  }

  /** "HH:MM:SS[.ffffff]". */
  toString(): string {
    return formatTime(this.micros)
  }

  toJSON(): string {
    return this.toString()
  }
}

/** A time of day with a fixed UTC offset (`offset` in seconds east of UTC: +05:30 is 19800). */
export class PgTimeTz {
  readonly micros: number
  readonly offset: number
  constructor(micros: number, offset: number) {
    this.micros = micros
    this.offset = offset
  }

  /** "HH:MM:SS[.ffffff]+HH[:MM[:SS]]". */
  toString(): string {
    return formatTime(this.micros) + formatZone(this.offset)
  }

  toJSON(): string {
    return this.toString()
  }
}

/**
 * An instant with microsecond precision: whole `seconds` since 1970-01-01 00:00:00 UTC (floored)
 * plus `micros` (0 .. 999999); ±Infinity seconds for ±infinity. For `timestamp` (without time
 * zone) it is the wall-clock time read as UTC, as PostgreSQL itself stores it.
 */
export class PgTimestamp {
  readonly seconds: number
  readonly micros: number
  constructor(seconds: number, micros: number) {
    this.seconds = seconds
    this.micros = micros
  }

  static readonly infinity: PgTimestamp = new PgTimestamp(Infinity, 0)
  static readonly negativeInfinity: PgTimestamp = new PgTimestamp(-Infinity, 0)

  /** The instant of a Date (exact: a Date has whole milliseconds). Throws RangeError for an invalid Date. */
  static fromDate(date: Date): PgTimestamp {
    const ms = date.getTime()
    if (Number.isNaN(ms)) throw new RangeError("an invalid Date is not an instant")
    return PgTimestamp.fromEpochMilliseconds(ms)
  }

  /** From milliseconds since the epoch (an integer, or a fraction down to the microsecond). */
  static fromEpochMilliseconds(ms: number): PgTimestamp {
    const seconds = Math.floor(ms / 1000)
    const micros = Math.round((ms - seconds * 1000) * 1000)
    return micros === 1000000 ? new PgTimestamp(seconds + 1, 0) : new PgTimestamp(seconds, micros)
  }

  /** From microseconds since the epoch. */
  static fromEpochMicroseconds(us: bigint): PgTimestamp {
    let seconds = us / 1000000n
    let micros = us - seconds * 1000000n
    if (micros < 0n) {
      seconds -= 1n
      micros += 1000000n
    }
    return new PgTimestamp(Number(seconds), Number(micros))
  }

  get isFinite(): boolean {
    return Number.isFinite(this.seconds)
  }

  /** Milliseconds since the epoch, floored (exact within a Date's range); ±Infinity for ±infinity. */
  get epochMilliseconds(): number {
    return this.seconds * 1000 + Math.floor(this.micros / 1000)
  }

  /** Microseconds since the epoch, exact. Throws RangeError for ±infinity. */
  get epochMicroseconds(): bigint {
    if (!this.isFinite) throw new RangeError("infinity has no epoch microseconds")
    return BigInt(this.seconds) * 1000000n + BigInt(this.micros)
  }

  /**
   * The Date of this instant, floored to the millisecond (the microseconds below it are
   * dropped). Throws RangeError for ±infinity and instants beyond a Date's ±8.64e15 ms.
   */
  toDate(): Date {
    const ms = this.epochMilliseconds
    if (!(Math.abs(ms) <= MAX_DATE_MS)) throw rangeError(`timestamp ${this.toISOString()}`)
    return new Date(ms)
  }

  /** "2024-01-02T03:04:05.123456Z" (Date's format with microseconds), "infinity", "-infinity". */
  toISOString(): string {
    return formatIso(this.seconds, this.micros)
  }

  toString(): string {
    return this.toISOString()
  }

  toJSON(): string {
    return this.toISOString()
  }
}
