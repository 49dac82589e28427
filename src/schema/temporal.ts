/**
 * Effect Schemas for effect-pg's date, time, interval and range values (src/types/), and the
 * conversions a user wants from them: a timestamp as a JS `Date` or an Effect `DateTime.Utc`, a
 * date as a `Date`, an interval as an Effect `Duration` (decision 025).
 *
 * Does: `Timestamp`, `Date`, `Time`, `TimeTz`, `Interval` accept exactly the value classes the
 * codecs decode to (`PgTimestamp`, `PgDate`, …); `Range(of)` accepts a `PgRange` and decodes its
 * bounds with `of`. Each conversion refuses, with an issue that says why, what its target cannot
 * hold: ±infinity, instants beyond a Date's ±8.64e15 ms, an interval with months (a month has no
 * fixed length). Every schema encodes back to the value class, so it can build parameters too.
 * Does NOT: round silently except where said (a timestamp's microseconds below the millisecond
 * are floored, as `PgTimestamp.toDate` does), do time zones (a `timestamp` without zone is its
 * wall-clock time read as UTC), or give JSON codecs (the classes' `toJSON` print the server's
 * text).
 */
import {
  DateTime,
  Duration,
  Effect,
  Schema,
  type SchemaAST,
  SchemaIssue,
  SchemaParser,
  SchemaTransformation
} from "effect"
import { PgInterval } from "../types/interval.ts"
import { PgRange } from "../types/range.ts"
import { PgDate, PgTime, PgTimestamp, PgTimeTz } from "../types/values.ts"

/** Milliseconds a Date can hold either side of the epoch (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15

const refuse = (message: string, input: unknown, options: SchemaAST.ParseOptions) =>
  Effect.fail(new SchemaIssue.InvalidValue({ message }, input, options))

/** A `timestamp` or `timestamptz` value: `PgTimestamp` (microseconds, ±infinity). */
export const Timestamp = Schema.instanceOf(PgTimestamp, {
  expected: "a PgTimestamp (a timestamp or timestamptz value)"
})

/** A `date` value: `PgDate` (days since 1970-01-01, ±infinity). */
const DateValue = Schema.instanceOf(PgDate, { expected: "a PgDate (a date value)" })

/** `Date` is exported under that name: `PgSchema.Date` (a PgDate, not a JS Date). */
export { DateValue as Date }

/** A `time` value: `PgTime` (microseconds since midnight). */
export const Time = Schema.instanceOf(PgTime, { expected: "a PgTime (a time value)" })

/** A `timetz` value: `PgTimeTz` (microseconds since midnight and an offset in seconds). */
export const TimeTz = Schema.instanceOf(PgTimeTz, {
  expected: "a PgTimeTz (a timetz value)"
})

/** An `interval` value: `PgInterval` (months, days and microseconds apart). */
export const Interval = Schema.instanceOf(PgInterval, {
  expected: "a PgInterval (an interval value)"
})

/** The type of `Range(of)`: a `PgRange` whose bounds `of` decodes. */
export interface Range<S extends Schema.Top>
  extends Schema.declareConstructor<PgRange<S["Type"]>, PgRange<S["Encoded"]>, readonly [S]> {}

/**
 * A range (int4range, tstzrange, …) whose bounds are decoded with `of`: `Range(Schema.Number)`
 * for int4range, `Range(PgSchema.DateFromTimestamp)` for a tstzrange of JS Dates. An issue in a
 * bound has the path `lower` or `upper`. A multirange is `Schema.Array(Range(of))`.
 */
export const Range = <S extends Schema.Top>(of: S): Range<S> =>
  Schema.declareConstructor<PgRange<S["Type"]>, PgRange<S["Encoded"]>>()(
    [of],
    ([bound]) =>
      (input, ast, options) => {
        if (!(input instanceof PgRange)) return Effect.fail(new SchemaIssue.InvalidType(ast, input, options))
        const range = input as PgRange<unknown>
        if (range.isEmpty) return Effect.succeed(PgRange.empty())
        const parse = SchemaParser.decodeUnknownEffect(bound)
        const side = (key: "lower" | "upper", value: unknown) =>
          value === null
            ? Effect.succeed(null)
            : Effect.mapError(parse(value, options), (issue) => new SchemaIssue.Pointer([key], issue))
        return Effect.map(
          Effect.all([side("lower", range.lower), side("upper", range.upper)]),
          ([lower, upper]) => new PgRange(lower, upper, range.lowerInclusive, range.upperInclusive)
        )
      },
    { expected: "a PgRange (a range value)" }
  ) as unknown as Range<S>

/**
 * A timestamp as a JS `Date`, floored to the millisecond. ±infinity and instants beyond a Date's
 * range are refused (keep `Timestamp` for those columns). Encodes a Date back to a PgTimestamp.
 */
export const DateFromTimestamp = Timestamp.pipe(
  Schema.decodeTo(
    Schema.Date,
    SchemaTransformation.transformEffect({
      decode: (ts: PgTimestamp, options) => {
        const ms = ts.epochMilliseconds
        if (!ts.isFinite) return refuse(`timestamp ${ts.toISOString()} cannot be a JS Date`, ts, options)
        if (!(Math.abs(ms) <= MAX_DATE_MS))
          return refuse(`timestamp ${ts.toISOString()} is beyond the range of a JS Date`, ts, options)
        return Effect.succeed(new Date(ms))
      },
      encode: (date: Date) => Effect.succeed(PgTimestamp.fromDate(date))
    })
  )
)

/**
 * A timestamp as an Effect `DateTime.Utc` (millisecond precision, microseconds floored); the
 * same refusals as `DateFromTimestamp`.
 */
export const DateTimeUtcFromTimestamp = Timestamp.pipe(
  Schema.decodeTo(
    Schema.DateTimeUtc,
    SchemaTransformation.transformEffect({
      decode: (ts: PgTimestamp, options) => {
        if (!ts.isFinite) return refuse(`timestamp ${ts.toISOString()} cannot be a DateTime`, ts, options)
        const ms = ts.epochMilliseconds
        const dt = Math.abs(ms) <= MAX_DATE_MS ? DateTime.make(ms) : undefined
        if (dt === undefined || dt._tag === "None")
          return refuse(`timestamp ${ts.toISOString()} is beyond the range of a DateTime`, ts, options)
        return Effect.succeed(DateTime.toUtc(dt.value))
      },
      encode: (dt: DateTime.Utc) =>
        Effect.succeed(PgTimestamp.fromEpochMilliseconds(DateTime.toEpochMillis(dt)))
    })
  )
)

/**
 * A date as a JS `Date` at midnight UTC of that day. ±infinity and dates beyond a Date's range
 * are refused. Encodes a Date back to its UTC calendar date.
 */
export const DateFromPgDate = DateValue.pipe(
  Schema.decodeTo(
    Schema.Date,
    SchemaTransformation.transformEffect({
      decode: (d: PgDate, options) => {
        const ms = d.days * 86400000
        if (!d.isFinite) return refuse(`date ${d.toString()} cannot be a JS Date`, d, options)
        if (!(Math.abs(ms) <= MAX_DATE_MS))
          return refuse(`date ${d.toString()} is beyond the range of a JS Date`, d, options)
        return Effect.succeed(new Date(ms))
      },
      encode: (date: Date) => Effect.succeed(PgDate.fromDate(date))
    })
  )
)

const MICROS_PER_DAY = 86400000000n
const INT64_MAX = 2n ** 63n - 1n

const isInfinity = (v: PgInterval, inf: PgInterval): boolean =>
  v.months === inf.months && v.days === inf.days && v.micros === inf.micros

/**
 * An interval as an Effect `Duration`: its days count as 24 hours each, its microseconds as they
 * are; PostgreSQL 17's ±infinity become `Duration.infinity` / `negativeInfinity`. An interval
 * with months is refused: a month has no fixed length (keep `Interval`, or use
 * `justify_interval`/`extract(epoch from …)` in SQL). Encodes a Duration as days 0 and
 * microseconds, refusing one with nanoseconds below the microsecond.
 */
export const DurationFromInterval = Interval.pipe(
  Schema.decodeTo(
    Schema.Duration,
    SchemaTransformation.transformEffect({
      decode: (v: PgInterval, options) => {
        if (isInfinity(v, PgInterval.infinity)) return Effect.succeed(Duration.infinity)
        if (isInfinity(v, PgInterval.negativeInfinity)) return Effect.succeed(Duration.negativeInfinity)
        if (v.months !== 0)
          return refuse(
            `interval ${JSON.stringify(v.toString())} has months, which have no fixed length:` +
              " it cannot be a Duration",
            v,
            options
          )
        return Effect.succeed(Duration.micros(BigInt(v.days) * MICROS_PER_DAY + v.micros))
      },
      encode: (d: Duration.Duration, options) => {
        if (!Duration.isFinite(d))
          return Effect.succeed(Duration.toMillis(d) > 0 ? PgInterval.infinity : PgInterval.negativeInfinity)
        const nanos = Duration.toNanosUnsafe(d)
        if (nanos % 1000n !== 0n)
          return refuse("a Duration with nanoseconds below the microsecond cannot be an interval", d, options)
        const micros = nanos / 1000n
        if (micros > INT64_MAX || micros < -INT64_MAX)
          return refuse("a Duration beyond ±2^63 microseconds cannot be an interval", d, options)
        return Effect.succeed(new PgInterval(0, 0, micros))
      }
    })
  )
)
