/**
 * Dates, times, timestamps and intervals: BC dates and leap days, microseconds and ±infinity,
 * zones with seconds, the exact binary forms, the value types' conversions (and their stated
 * losses), the Date alternatives, and intervals in IntervalStyle postgres.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  date,
  dateAsDate,
  interval,
  PgDate,
  PgInterval,
  PgTime,
  PgTimestamp,
  PgTimeTz,
  time,
  timestamp,
  timestampAsDate,
  timestamptz,
  timestamptzAsDate,
  timetz
} from "../../src/types/index.ts"
import { bin, fromBin, hex, roundTrips, thrown, toHex } from "./support/codecs.ts"

describe("date", () => {
  it("reads ISO dates, BC, leap days, the extremes and infinity", () => {
    expect(date.text.decode("2024-02-29")).toStrictEqual(PgDate.of(2024, 2, 29))
    expect(date.text.decode("1970-01-01")).toStrictEqual(new PgDate(0))
    expect(date.text.decode("0001-12-31 BC")).toStrictEqual(PgDate.of(0, 12, 31))
    expect(date.text.decode("0044-03-15 BC").toString()).toBe("0044-03-15 BC")
    expect(date.text.decode("0005-02-29 BC").toString()).toBe("0005-02-29 BC")
    expect(thrown(() => date.text.decode("0004-02-29 BC")).reason).toBe("Malformed")
    expect(date.text.decode("infinity")).toBe(PgDate.infinity)
    expect(date.text.decode("5874897-12-31").toString()).toBe("5874897-12-31")
    expect(thrown(() => date.text.decode("2023-02-29")).reason).toBe("Malformed")
    expect(thrown(() => date.text.decode("1900-02-29")).reason).toBe("Malformed")
    expect(thrown(() => date.text.decode("02/29/2024")).reason).toBe("Malformed")
  })

  it("is int32 days since 2000-01-01 in binary, infinity at the extremes", () => {
    expect(toHex(bin(date, PgDate.of(2000, 1, 1)))).toBe("00000000")
    expect(toHex(bin(date, PgDate.of(1999, 12, 31)))).toBe("ffffffff")
    expect(toHex(bin(date, PgDate.infinity))).toBe("7fffffff")
    expect(toHex(bin(date, PgDate.negativeInfinity))).toBe("80000000")
    expect(fromBin(date, hex("7fffffff"))).toBe(PgDate.infinity)
    expect(toHex(bin(date, "2000-01-02"))).toBe("00000001")
    expect(toHex(bin(date, new Date(Date.UTC(2000, 0, 3, 23, 59))))).toBe("00000002")
    expect(date.text.encode(PgDate.of(-43, 3, 15))).toBe("0044-03-15 BC")
  })

  it("PgDate converts to a UTC-midnight Date and refuses what a Date cannot hold", () => {
    expect(PgDate.of(2024, 2, 29).toDate().toISOString()).toBe("2024-02-29T00:00:00.000Z")
    expect(PgDate.fromDate(new Date("2024-02-29T23:00:00Z"))).toStrictEqual(PgDate.of(2024, 2, 29))
    expect(() => PgDate.infinity.toDate()).toThrow(RangeError)
    expect(() => PgDate.of(300000, 1, 1).toDate()).toThrow(RangeError)
    expect(JSON.stringify({ d: PgDate.of(2024, 1, 2) })).toBe('{"d":"2024-01-02"}')
  })
})

describe("time and timetz", () => {
  it("keep microseconds, 24:00:00, zones with seconds", () => {
    expect(time.text.decode("23:59:59.999999")).toStrictEqual(PgTime.of(23, 59, 59, 999999))
    expect(time.text.decode("24:00:00").toString()).toBe("24:00:00")
    expect(time.text.decode("12:34:56.5").toString()).toBe("12:34:56.5")
    expect(toHex(bin(time, PgTime.of(0, 0, 1)))).toBe("00000000000f4240")
    expect(timetz.text.decode("12:00:00+05:30")).toStrictEqual(new PgTimeTz(43200e6, 19800))
    expect(timetz.text.decode("23:59:59-00:17:30")).toStrictEqual(new PgTimeTz(86399e6, -1050))
    expect(toHex(bin(timetz, new PgTimeTz(0, 3600)))).toBe("0000000000000000fffff1f0")
    expect(fromBin(timetz, hex("0000000000000001 00000e10"))).toStrictEqual(new PgTimeTz(1, -3600))
    roundTrips(time, PgTime.of(24, 0, 0))
    roundTrips(timetz, new PgTimeTz(1, -43200))
    expect(thrown(() => time.text.decode("25:00:00")).reason).toBe("Malformed")
    expect(thrown(() => time.text.decode("12:00:00+01")).reason).toBe("Malformed")
    expect(thrown(() => timetz.text.decode("12:00:00")).reason).toBe("Malformed")
  })
})

describe("timestamp and timestamptz", () => {
  it("read ISO text with microseconds, offsets with seconds, BC and infinity", () => {
    const ts = timestamptz.text.decode("2000-01-01 00:00:00.000001+00")
    expect(ts).toStrictEqual(new PgTimestamp(946684800, 1))
    expect(timestamptz.text.decode("2000-01-01 05:30:00.000001+05:30")).toStrictEqual(ts)
    expect(timestamptz.text.decode("1850-06-01 00:17:30+00:17:30")).toStrictEqual(
      timestamptz.text.decode("1850-06-01 00:00:00+00")
    )
    expect(timestamp.text.decode("1969-12-31 23:59:59.999999")).toStrictEqual(new PgTimestamp(-1, 999999))
    expect(timestamp.text.decode("0044-03-15 12:00:00 BC").toString()).toBe("-000043-03-15T12:00:00Z")
    expect(timestamptz.text.decode("infinity")).toBe(PgTimestamp.infinity)
    expect(timestamp.text.decode("-infinity")).toBe(PgTimestamp.negativeInfinity)
    expect(thrown(() => timestamptz.text.decode("2024-01-01 00:00:00")).message).toContain("no UTC offset")
    expect(thrown(() => timestamp.text.decode("2024-01-01 00:00:00+00")).message).toContain(
      "has a UTC offset"
    )
    expect(thrown(() => timestamp.text.decode("Mon Jan 01 00:00:00 2024")).reason).toBe("Malformed")
  })

  it("are int64 µs since 2000-01-01 in binary, exact at the range ends", () => {
    expect(toHex(bin(timestamptz, new PgTimestamp(946684800, 1)))).toBe("0000000000000001")
    expect(toHex(bin(timestamptz, new PgTimestamp(946684799, 999999)))).toBe("ffffffffffffffff")
    expect(toHex(bin(timestamptz, PgTimestamp.infinity))).toBe("7fffffffffffffff")
    expect(toHex(bin(timestamptz, PgTimestamp.negativeInfinity))).toBe("8000000000000000")
    expect(fromBin(timestamp, hex("8000000000000000"))).toBe(PgTimestamp.negativeInfinity)
    const last = timestamp.text.decode("294276-12-31 23:59:59.999999")
    expect(fromBin(timestamp, bin(timestamp, last))).toStrictEqual(last)
    const first = timestamp.text.decode("4713-11-24 00:00:00 BC")
    expect(fromBin(timestamp, bin(timestamp, first))).toStrictEqual(first)
    expect(timestamp.text.encode(first)).toBe("4713-11-24 00:00:00 BC")
    expect(timestamptz.text.encode(new PgTimestamp(946684800, 120))).toBe("2000-01-01 00:00:00.00012+00")
  })

  it("take Dates, the value type and ISO strings", () => {
    const d = new Date("2024-02-29T12:34:56.789Z")
    expect(fromBin(timestamptz, bin(timestamptz, d))).toStrictEqual(PgTimestamp.fromDate(d))
    expect(fromBin(timestamptz, bin(timestamptz, "2024-02-29T12:34:56.789Z"))).toStrictEqual(
      PgTimestamp.fromDate(d)
    )
    expect(timestamptz.text.encode(d)).toBe("2024-02-29 12:34:56.789+00")
    expect(timestamptz.text.encode("now")).toBe("now")
    const refused = thrown(() => bin(timestamptz, "secret-now"))
    expect(refused.reason).toBe("NotEncodable")
    expect(refused.message).not.toContain("secret")
    expect(thrown(() => bin(timestamptz, new Date(Number.NaN))).reason).toBe("NotEncodable")
    expect(thrown(() => bin(timestamptz, 1700000000000)).reason).toBe("NotEncodable")
  })

  it("PgTimestamp converts to Date with the microseconds floored, and says what a Date cannot hold", () => {
    const t = new PgTimestamp(-1, 999999)
    expect(t.toDate().getTime()).toBe(-1)
    expect(t.epochMicroseconds).toBe(-1n)
    expect(t.toISOString()).toBe("1969-12-31T23:59:59.999999Z")
    expect(PgTimestamp.fromEpochMicroseconds(-1n)).toStrictEqual(t)
    expect(PgTimestamp.fromEpochMilliseconds(1.5)).toStrictEqual(new PgTimestamp(0, 1500))
    expect(() => PgTimestamp.infinity.toDate()).toThrow(RangeError)
    expect(() => timestamp.text.decode("294276-12-31 23:59:59").toDate()).toThrow(RangeError)
    expect(PgTimestamp.infinity.toISOString()).toBe("infinity")
    expect(JSON.stringify(new PgTimestamp(0, 5))).toBe('"1970-01-01T00:00:00.000005Z"')
    expect(new PgTimestamp(-62198755200, 0).toISOString()).toBe("-000001-01-01T00:00:00Z")
  })

  it("round-trip any instant of the range, text and binary agreeing", () => {
    const min = timestamp.text.decode("4713-11-24 00:00:00 BC").seconds
    const max = timestamp.text.decode("294276-12-31 23:59:59").seconds
    fc.assert(
      fc.property(fc.integer({ min, max }), fc.integer({ min: 0, max: 999999 }), (seconds, micros) => {
        const v = new PgTimestamp(seconds, micros)
        for (const codec of [timestamp, timestamptz]) {
          expect(codec.text.decode(codec.text.encode(v))).toStrictEqual(v)
          expect(fromBin(codec, bin(codec, v))).toStrictEqual(v)
        }
      }),
      { numRuns: 3000 }
    )
  })

  it("dates round-trip over the whole range", () => {
    const min = date.text.decode("4713-11-24 BC").days
    const max = date.text.decode("5874897-12-31").days
    fc.assert(
      fc.property(fc.integer({ min, max }), (days) => {
        const v = new PgDate(days)
        expect(date.text.decode(date.text.encode(v))).toStrictEqual(v)
        expect(fromBin(date, bin(date, v))).toStrictEqual(v)
      }),
      { numRuns: 3000 }
    )
  })
})

describe("the Date alternatives", () => {
  it("floor to the millisecond and refuse infinity and out-of-range values", () => {
    expect(timestamptzAsDate.text.decode("2000-01-01 00:00:00.999999+00").toISOString()).toBe(
      "2000-01-01T00:00:00.999Z"
    )
    expect((fromBin(timestamptzAsDate, hex("ffffffffffffffff")) as Date).getTime()).toBe(946684799999)
    expect(timestampAsDate.text.decode("1969-12-31 23:59:59.9999").getTime()).toBe(-1)
    expect(dateAsDate.text.decode("2024-02-29").toISOString()).toBe("2024-02-29T00:00:00.000Z")
    expect(thrown(() => timestamptzAsDate.text.decode("infinity")).reason).toBe("OutOfRange")
    expect(thrown(() => fromBin(timestampAsDate, hex("7fffffffffffffff"))).reason).toBe("OutOfRange")
    expect(thrown(() => dateAsDate.text.decode("-infinity")).reason).toBe("OutOfRange")
    expect(thrown(() => timestampAsDate.text.decode("294276-01-01 00:00:00")).reason).toBe("OutOfRange")
    const d = new Date("2024-02-29T12:34:56.789Z")
    expect(fromBin(timestamptzAsDate, bin(timestamptzAsDate, d))).toStrictEqual(d)
  })
})

describe("interval", () => {
  it.each([
    ["1 year 2 mons 3 days 04:05:06.789", new PgInterval(14, 3, 14706789000n)],
    ["-1 days +02:00:00", new PgInterval(0, -1, 7200000000n)],
    ["-1 years -2 mons", new PgInterval(-14, 0, 0n)],
    ["1 mon -1 days", new PgInterval(1, -1, 0n)],
    ["00:00:00", new PgInterval(0, 0, 0n)],
    ["-00:00:00.000001", new PgInterval(0, 0, -1n)],
    ["1 day", new PgInterval(0, 1, 0n)],
    ["2562047788:00:54.775807", new PgInterval(0, 0, 2n ** 63n - 1n)],
    ["-2562047788:00:54.775808", new PgInterval(0, 0, -(2n ** 63n))],
    ["178956970 years 7 mons", new PgInterval(2147483647, 0, 0n)],
    ["infinity", PgInterval.infinity]
  ])("%s", (text, value) => {
    expect(interval.text.decode(text)).toStrictEqual(value)
    expect(value.toString()).toBe(text)
    roundTrips(interval, value)
  })

  it("is µs, days, months in binary", () => {
    expect(toHex(bin(interval, new PgInterval(14, 3, 1n)))).toBe(
      "0000000000000001 00000003 0000000e".replace(/ /g, "")
    )
    expect(fromBin(interval, hex("ffffffffffffffff fffffffe 00000001"))).toStrictEqual(
      new PgInterval(1, -2, -1n)
    )
    expect(PgInterval.of({ years: 1, days: 2, hours: 3, seconds: 1.5 })).toStrictEqual(
      new PgInterval(12, 2, 10801500000n)
    )
    expect(thrown(() => interval.text.decode("P1Y2M")).reason).toBe("Malformed")
    expect(thrown(() => bin(interval, new PgInterval(0.5, 0, 0n))).reason).toBe("OutOfRange")
  })

  it("round-trips any value, text and binary", () => {
    const int32 = fc.integer({ min: -2147483648, max: 2147483647 })
    fc.assert(
      fc.property(
        int32,
        int32,
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        (months, days, micros) => {
          const v = new PgInterval(months, days, micros)
          expect(interval.text.decode(interval.text.encode(v))).toStrictEqual(v)
          expect(interval.text.decode(v.toString())).toStrictEqual(v)
          expect(fromBin(interval, bin(interval, v))).toStrictEqual(v)
        }
      ),
      { numRuns: 3000 }
    )
  })
})
