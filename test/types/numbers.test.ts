/**
 * bool, the integer types, the floats and money: text and binary decoding of the extremes,
 * exact bytes of the binary forms, what each encoder takes and refuses, and NaN/±Infinity/-0.
 */
import { describe, expect, it } from "vitest"
import { bool, cid, float4, float8, int2, int4, int8, money, oid, xid8 } from "../../src/types/index.ts"
import { bin, fromBin, hex, roundTrips, thrown, toHex } from "./support/codecs.ts"

describe("bool", () => {
  it("reads t/f and 1 byte", () => {
    expect(bool.text.decode("t")).toBe(true)
    expect(bool.text.decode("f")).toBe(false)
    expect(fromBin(bool, hex("01"))).toBe(true)
    expect(fromBin(bool, hex("00"))).toBe(false)
    expect(toHex(bin(bool, true))).toBe("01")
    expect(bool.text.encode(false)).toBe("f")
  })
  it("refuses other text, lengths and values", () => {
    expect(thrown(() => bool.text.decode("yes")).reason).toBe("Malformed")
    expect(thrown(() => fromBin(bool, hex("0101"))).message).toContain("expected 1 bytes")
    expect(thrown(() => bool.text.encode(1 as never)).reason).toBe("NotEncodable")
    expect(toHex(bin(bool, "t"))).toBe("01")
  })
})

describe("integers", () => {
  it.each([
    [int2, -32768, "8000"],
    [int2, 32767, "7fff"],
    [int4, -2147483648, "80000000"],
    [int4, 2147483647, "7fffffff"],
    [int4, -1, "ffffffff"],
    [oid, 4294967295, "ffffffff"],
    [cid, 0, "00000000"]
  ] as const)("%s %d ⇄ %s", (codec, value, bytes) => {
    expect(toHex(bin(codec, value))).toBe(bytes)
    expect(fromBin(codec, hex(bytes))).toBe(value)
    expect(codec.text.decode(String(value))).toBe(value)
    expect(codec.text.encode(value)).toBe(String(value))
    roundTrips(codec, value)
  })

  it("int8 and xid8 are bigint, exact at the extremes", () => {
    expect(toHex(bin(int8, -(2n ** 63n)))).toBe("8000000000000000")
    expect(fromBin(int8, hex("7fffffffffffffff"))).toBe(2n ** 63n - 1n)
    expect(fromBin(int8, hex("ffffffffffffffff"))).toBe(-1n)
    expect(fromBin(xid8, hex("ffffffffffffffff"))).toBe(2n ** 64n - 1n)
    expect(int8.text.decode("-9223372036854775808")).toBe(-(2n ** 63n))
    expect(toHex(bin(int8, 5))).toBe("0000000000000005")
    expect(toHex(bin(int8, "-2"))).toBe("fffffffffffffffe")
    roundTrips(int8, 2n ** 63n - 1n)
    roundTrips(xid8, 2n ** 64n - 1n)
  })

  it("refuses out of range, fractions, other kinds; never truncates", () => {
    expect(thrown(() => bin(int2, 32768)).reason).toBe("OutOfRange")
    expect(thrown(() => bin(int4, 1.5)).reason).toBe("NotEncodable")
    expect(thrown(() => int4.text.encode(2 ** 31)).reason).toBe("OutOfRange")
    expect(thrown(() => bin(int8, 2n ** 63n)).reason).toBe("OutOfRange")
    expect(thrown(() => bin(oid, -1)).reason).toBe("OutOfRange")
    expect(thrown(() => int4.text.decode("12x")).reason).toBe("Malformed")
    expect(thrown(() => int2.text.decode("40000")).reason).toBe("Malformed")
    expect(thrown(() => int8.text.decode("1.5")).reason).toBe("Malformed")
    expect(thrown(() => bin(int4, {})).message).toBe(
      "int4: cannot encode an object: expected a number or a bigint"
    )
    expect(thrown(() => fromBin(int4, hex("0001"))).message).toBe("int4: expected 4 bytes, got 2")
    expect(thrown(() => int4.text.decode("x".repeat(100))).message).toBe(
      `int4: "${"x".repeat(40)}…" is not an integer`
    )
  })

  it("takes bigint for int4 and strings as text", () => {
    expect(toHex(bin(int4, 7n))).toBe("00000007")
    expect(int4.text.encode("0042")).toBe("0042")
    expect(toHex(bin(int4, "42"))).toBe("0000002a")
  })
})

describe("floats", () => {
  it("keep NaN, ±Infinity and -0 in both formats", () => {
    for (const v of [Number.NaN, Infinity, -Infinity, -0, 0, 5e-324, Number.MAX_VALUE, 0.1]) {
      roundTrips(float8, v)
      expect(float8.text.decode(float8.text.encode(v))).toStrictEqual(v)
    }
    expect(float8.text.encode(-0)).toBe("-0")
    expect(float8.text.encode(Number.NaN)).toBe("NaN")
    expect(float8.text.decode("-Infinity")).toBe(-Infinity)
    expect(toHex(bin(float8, 1))).toBe("3ff0000000000000")
    expect(toHex(bin(float8, -0))).toBe("8000000000000000")
    expect(fromBin(float8, hex("7ff8000000000000"))).toBeNaN()
  })

  it("float4 is the float32 value in both formats", () => {
    expect(float4.text.decode("1.1")).toBe(Math.fround(1.1))
    expect(fromBin(float4, hex("3f8ccccd"))).toBe(Math.fround(1.1))
    expect(toHex(bin(float4, 1.1))).toBe("3f8ccccd")
    expect(fromBin(float4, hex("ff800000"))).toBe(-Infinity)
    expect(fromBin(float4, hex("80000000"))).toStrictEqual(-0)
    expect(float4.text.decode("1e-45")).toBe(Math.fround(1e-45))
    roundTrips(float4, Math.fround(3.4028235e38))
  })

  it("refuse text that is not a number", () => {
    expect(thrown(() => float8.text.decode("")).reason).toBe("Malformed")
    expect(thrown(() => float8.text.decode("nan")).reason).toBe("Malformed")
    expect(thrown(() => float8.text.encode({} as never)).reason).toBe("NotEncodable")
  })
})

describe("money", () => {
  it("is bigint minor units, from any locale's text", () => {
    expect(money.text.decode("$1,234.56")).toBe(123456n)
    expect(money.text.decode("-$0.01")).toBe(-1n)
    expect(money.text.decode("($5.00)")).toBe(-500n)
    expect(money.text.decode("1.234,56 €")).toBe(123456n)
    expect(money.text.decode("$92,233,720,368,547,758.07")).toBe(2n ** 63n - 1n)
    expect(fromBin(money, hex("00000000000004d2"))).toBe(1234n)
    expect(money.text.encode(-1234n)).toBe("-12.34")
    expect(money.text.encode(5n)).toBe("0.05")
    expect(toHex(bin(money, "$12.34"))).toBe("00000000000004d2")
    expect(thrown(() => money.text.decode("$")).reason).toBe("Malformed")
  })
})
