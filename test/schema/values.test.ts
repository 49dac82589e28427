/**
 * PgSchema without a server (decision 025): the value-class schemas accept their class only; the
 * conversions decode what their target holds and refuse, with a message saying why, what it
 * cannot (±infinity, beyond a Date, months in an interval, digits a double cannot hold, fractions
 * for a bigint, bigints beyond 2^53); each encodes back; Range decodes its bounds with the issue
 * path "lower"/"upper"; decimalKey compares decimals by value (property-checked against
 * String(number)). Also the row error built from synthetic results: column names, indexes and
 * types for object and array rows, duplicate column names, nested paths, unknown OIDs.
 */
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Exit, Schema, SchemaParser } from "effect"
import * as PgSchema from "../../src/PgSchema.ts"
import type { Column } from "../../src/Result.ts"
import * as Rows from "../../src/Rows.ts"
import { decimalKey } from "../../src/schema/numeric.ts"
import { PgDate, PgInterval, PgRange, PgTime, PgTimestamp, PgTimeTz } from "../../src/types/index.ts"

const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, input: unknown) =>
  Effect.runSyncExit(SchemaParser.decodeUnknownEffect(schema)(input))

const ok = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  input: unknown
): S["Type"] => {
  const exit = decode(schema, input)
  if (Exit.isFailure(exit)) assert.fail(`refused: ${String(exit.cause)}`)
  return (exit as Exit.Success<S["Type"]>).value
}

/** The message of the refusal, through the formatter the row errors use. */
const refused = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  input: unknown
): string => {
  const exit = Effect.runSyncExit(Schema.decodeUnknownEffect(schema)(input))
  assert.isTrue(Exit.isFailure(exit), `expected ${String(input)} to be refused`)
  return Exit.isFailure(exit) ? String(exit.cause) : ""
}

const encode = <S extends Schema.Top & { readonly EncodingServices: never }>(schema: S, value: unknown) =>
  Effect.runSync(SchemaParser.encodeUnknownEffect(schema)(value))

describe("value classes", () => {
  it("each accepts its class only", () => {
    const ts = new PgTimestamp(0, 1)
    assert.strictEqual(ok(PgSchema.Timestamp, ts), ts)
    assert.strictEqual(ok(PgSchema.Date, PgDate.of(2024, 2, 29)).days, PgDate.of(2024, 2, 29).days)
    assert.strictEqual(ok(PgSchema.Time, new PgTime(5)).micros, 5)
    assert.strictEqual(ok(PgSchema.TimeTz, new PgTimeTz(5, 3600)).offset, 3600)
    assert.strictEqual(ok(PgSchema.Interval, new PgInterval(1, 2, 3n)).micros, 3n)
    assert.match(refused(PgSchema.Timestamp, new Date(0)), /Expected a PgTimestamp/)
    assert.match(refused(PgSchema.Date, new Date(0)), /Expected a PgDate/)
    assert.match(refused(PgSchema.Interval, "1 day"), /Expected a PgInterval/)
  })

  it("Range decodes its bounds and names the side that failed", () => {
    const r = ok(PgSchema.Range(PgSchema.DateFromTimestamp), PgRange.of(new PgTimestamp(0, 0), null, "[]"))
    assert.deepStrictEqual(r, new PgRange(new Date(0), null, true, false))
    assert.isTrue(ok(PgSchema.Range(Schema.Number), PgRange.empty()).isEmpty)
    const exit = decode(PgSchema.Range(Schema.Number), PgRange.of<unknown>(1, "x"))
    assert.isTrue(Exit.isFailure(exit))
    assert.match(refused(PgSchema.Range(Schema.Number), PgRange.of<unknown>(1, "x")), /upper/)
    assert.match(refused(PgSchema.Range(Schema.Number), [1, 2]), /Expected a PgRange/)
    const back = encode(
      PgSchema.Range(PgSchema.DateFromTimestamp),
      PgRange.of(new Date(1000), new Date(2000))
    )
    assert.deepStrictEqual(back, PgRange.of(new PgTimestamp(1, 0), new PgTimestamp(2, 0)))
  })
})

describe("temporal conversions", () => {
  it("DateFromTimestamp floors to the millisecond and refuses what a Date cannot hold", () => {
    assert.strictEqual(ok(PgSchema.DateFromTimestamp, new PgTimestamp(1, 999999)).getTime(), 1999)
    assert.strictEqual(ok(PgSchema.DateFromTimestamp, new PgTimestamp(-1, 500)).getTime(), -1000)
    assert.match(
      refused(PgSchema.DateFromTimestamp, PgTimestamp.infinity),
      /timestamp infinity cannot be a JS Date/
    )
    assert.match(
      refused(PgSchema.DateFromTimestamp, PgTimestamp.negativeInfinity),
      /-infinity cannot be a JS Date/
    )
    assert.match(
      refused(PgSchema.DateFromTimestamp, new PgTimestamp(8.64e12 + 1, 0)),
      /beyond the range of a JS Date/
    )
    assert.deepStrictEqual(encode(PgSchema.DateFromTimestamp, new Date(1500)), new PgTimestamp(1, 500000))
  })

  it("DateTimeUtcFromTimestamp", () => {
    const dt = ok(PgSchema.DateTimeUtcFromTimestamp, new PgTimestamp(1704067200, 123456))
    assert.strictEqual(DateTime.toEpochMillis(dt), 1704067200123)
    assert.match(refused(PgSchema.DateTimeUtcFromTimestamp, PgTimestamp.infinity), /cannot be a DateTime/)
    assert.match(
      refused(PgSchema.DateTimeUtcFromTimestamp, new PgTimestamp(-8.64e12 - 1, 0)),
      /beyond the range/
    )
    const back = encode(PgSchema.DateTimeUtcFromTimestamp, DateTime.makeUnsafe(1704067200123))
    assert.deepStrictEqual(back, new PgTimestamp(1704067200, 123000))
  })

  it("DateFromPgDate is midnight UTC", () => {
    assert.strictEqual(
      ok(PgSchema.DateFromPgDate, PgDate.of(2024, 2, 29)).toISOString(),
      "2024-02-29T00:00:00.000Z"
    )
    assert.match(refused(PgSchema.DateFromPgDate, PgDate.infinity), /date infinity cannot be a JS Date/)
    assert.match(refused(PgSchema.DateFromPgDate, new PgDate(100_000_001)), /beyond the range/)
    assert.strictEqual(encode(PgSchema.DateFromPgDate, new Date(Date.UTC(1970, 0, 2, 23))).days, 1)
  })

  it("DurationFromInterval: days as 24 hours, no months, infinities kept", () => {
    const d = ok(PgSchema.DurationFromInterval, new PgInterval(0, 2, -1n))
    assert.strictEqual(Duration.toNanosUnsafe(d), (2n * 86400000000n - 1n) * 1000n)
    assert.match(
      refused(PgSchema.DurationFromInterval, new PgInterval(1, 0, 0n)),
      /interval "1 mon" has months, which have no fixed length/
    )
    assert.isTrue(Duration.equals(ok(PgSchema.DurationFromInterval, PgInterval.infinity), Duration.infinity))
    assert.isTrue(
      Duration.equals(
        ok(PgSchema.DurationFromInterval, PgInterval.negativeInfinity),
        Duration.negativeInfinity
      )
    )
    assert.deepStrictEqual(
      encode(PgSchema.DurationFromInterval, Duration.seconds(90)),
      new PgInterval(0, 0, 90000000n)
    )
    assert.strictEqual(encode(PgSchema.DurationFromInterval, Duration.infinity), PgInterval.infinity)
    assert.strictEqual(
      encode(PgSchema.DurationFromInterval, Duration.negativeInfinity),
      PgInterval.negativeInfinity
    )
    const nanos = Effect.runSyncExit(
      SchemaParser.encodeUnknownEffect(PgSchema.DurationFromInterval)(Duration.nanos(1500n))
    )
    assert.isTrue(Exit.isFailure(nanos))
  })
})

describe("number conversions", () => {
  it("decimalKey compares decimals by value", () => {
    assert.strictEqual(decimalKey("1.50"), decimalKey("15e-1"))
    assert.strictEqual(decimalKey("-0.00"), "0")
    assert.strictEqual(decimalKey("007"), "7e0")
    assert.strictEqual(decimalKey("1200"), "12e2")
    assert.notStrictEqual(decimalKey("1.5"), decimalKey("-1.5"))
    assert.isUndefined(decimalKey("."))
    assert.isUndefined(decimalKey("1_000"))
    assert.isUndefined(decimalKey("abc"))
    // Every double's printing is a decimal equal to itself after a round trip through Number.
    for (let i = 0; i < 2000; i++) {
      const n = (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 40 - 20)
      assert.strictEqual(decimalKey(String(Number(String(n)))), decimalKey(String(n)), String(n))
    }
  })

  it("NumberFromNumeric takes exact values and refuses lost digits", () => {
    assert.strictEqual(ok(PgSchema.NumberFromNumeric, "12.50"), 12.5)
    assert.strictEqual(ok(PgSchema.NumberFromNumeric, "0.1"), 0.1)
    assert.strictEqual(ok(PgSchema.NumberFromNumeric, "-0.0015"), -0.0015)
    assert.strictEqual(ok(PgSchema.NumberFromNumeric, "9007199254740992"), 2 ** 53)
    assert.strictEqual(ok(PgSchema.NumberFromNumeric, "100000000000000000000000"), 1e23)
    assert.isTrue(Number.isNaN(ok(PgSchema.NumberFromNumeric, "NaN")))
    assert.strictEqual(ok(PgSchema.NumberFromNumeric, "-Infinity"), Number.NEGATIVE_INFINITY)
    assert.match(
      refused(PgSchema.NumberFromNumeric, "9007199254740993"),
      /numeric 9007199254740993 cannot be a JS number without losing digits/
    )
    assert.match(refused(PgSchema.NumberFromNumeric, "0.12345678901234567890"), /losing digits/)
    assert.match(refused(PgSchema.NumberFromNumeric, "1e400"), /losing digits/)
    assert.match(refused(PgSchema.NumberFromNumeric, "twelve"), /is not a numeric value/)
    assert.match(refused(PgSchema.NumberFromNumeric, 12), /Expected string/)
    assert.strictEqual(encode(PgSchema.NumberFromNumeric, 12.5), "12.5")
  })

  it("BigIntFromNumeric takes integral values only", () => {
    assert.strictEqual(
      ok(PgSchema.BigIntFromNumeric, "123456789012345678901234567890"),
      123456789012345678901234567890n
    )
    assert.strictEqual(ok(PgSchema.BigIntFromNumeric, "-42.000"), -42n)
    assert.match(refused(PgSchema.BigIntFromNumeric, "42.5"), /numeric 42.5 is not an integer/)
    assert.match(refused(PgSchema.BigIntFromNumeric, "NaN"), /not an integer/)
    assert.match(refused(PgSchema.BigIntFromNumeric, "Infinity"), /not an integer/)
    assert.match(refused(PgSchema.BigIntFromNumeric, "x"), /is not a numeric value/)
    assert.strictEqual(encode(PgSchema.BigIntFromNumeric, 7n), "7")
  })

  it("NumberFromBigInt stays within 2^53", () => {
    assert.strictEqual(ok(PgSchema.NumberFromBigInt, 9007199254740991n), Number.MAX_SAFE_INTEGER)
    assert.strictEqual(ok(PgSchema.NumberFromBigInt, -9007199254740991n), -Number.MAX_SAFE_INTEGER)
    assert.match(refused(PgSchema.NumberFromBigInt, 9007199254740992n), /beyond ±\(2\^53 - 1\)/)
    assert.match(refused(PgSchema.NumberFromBigInt, -9007199254740992n), /beyond/)
    assert.match(refused(PgSchema.NumberFromBigInt, 1), /Expected bigint/)
    assert.strictEqual(encode(PgSchema.NumberFromBigInt, 5), 5n)
    const fraction = Effect.runSyncExit(SchemaParser.encodeUnknownEffect(PgSchema.NumberFromBigInt)(1.5))
    assert.isTrue(Exit.isFailure(fraction))
  })
})

const column = (name: string, typeOid: number): Column => ({
  name,
  tableOid: 0,
  columnAttr: 0,
  typeOid,
  typeSize: -1,
  typeModifier: -1,
  format: 1
})

const rowError = (schema: Schema.Top & { readonly DecodingServices: never }, result: Rows.RowsResult) => {
  const exit = Effect.runSyncExit(Rows.decodeResult(schema)(result))
  assert.isTrue(Exit.isFailure(exit), "expected a refusal")
  const reason = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
  assert.strictEqual(reason?._tag, "Fail")
  return (reason as { readonly error: Rows.PgRowDecodeError }).error
}

describe("the row error", () => {
  it("names columns of object rows, duplicates included, and paths inside values", () => {
    const columns = [column("a", 23), column("a", 1007), column("x", 99999)]
    const rows = [
      { a: 1, a_2: [1, 2], x: "t" },
      { a: 2, a_2: [1, "2"], x: "t" }
    ]
    const e = rowError(Schema.Struct({ a: Schema.Number, a_2: Schema.Array(Schema.Number) }), {
      columns,
      rows
    })
    assert.strictEqual(e.row, 2)
    assert.strictEqual(e.column, "a_2")
    assert.strictEqual(e.columnIndex, 1)
    assert.strictEqual(e.pgType, "_int4")
    assert.deepStrictEqual(e.path, ["a_2", 1])
    assert.strictEqual(e.jsType, "string")
    assert.strictEqual(
      e.message,
      'row 2, column "a_2" (_int4)[1], a value of JS type string: Expected number'
    )
    const unknown = rowError(Schema.Struct({ x: Schema.Number }), { columns, rows })
    assert.strictEqual(unknown.pgType, "oid 99999")
    assert.strictEqual(unknown.row, 1)
  })

  it("names columns of array rows by position, and the row when no column is concerned", () => {
    const columns = [column("id", 20), column("at", 1184)]
    const e = rowError(Schema.Tuple([Schema.BigInt, PgSchema.DateFromTimestamp]), {
      columns,
      rows: [[1n, PgTimestamp.infinity]]
    })
    assert.strictEqual(e.column, "at")
    assert.strictEqual(e.columnIndex, 1)
    assert.strictEqual(e.pgType, "timestamptz")
    assert.strictEqual(e.jsType, "PgTimestamp")
    const whole = rowError(Schema.Tuple([Schema.BigInt]), { columns, rows: [{ id: 1n }] })
    assert.isUndefined(whole.column)
    assert.deepStrictEqual(whole.path, [])
    assert.match(
      whole.message,
      /^row 1, a value of JS type object: Expected array.*decode them with a Schema\.Struct/
    )
    // Without columns (a plain stream of arrays), the position only.
    const bare = rowError(Schema.Tuple([Schema.String]), { columns: [], rows: [[1]] })
    assert.isUndefined(bare.column)
    assert.strictEqual(bare.columnIndex, 0)
    assert.strictEqual(bare.message, "row 1, column 1, a value of JS type number: Expected string")
  })

  it("decodes every row when none is refused, with a Schema's own transformations", () => {
    const rows = Effect.runSync(
      Rows.decodeResult(Schema.Struct({ n: Schema.NumberFromString }))({
        columns: [column("n", 25)],
        rows: [{ n: "1" }, { n: "2" }]
      })
    )
    assert.deepStrictEqual(rows, [{ n: 1 }, { n: 2 }])
  })
})
