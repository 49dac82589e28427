/**
 * numeric: the binary form decodes to exactly numeric_out's text (weights, display scale, NaN,
 * ±Infinity, 1000 digits, leading fractional zero groups), decimal text with exponents encodes to
 * numeric_in's digits and scale, and every canonical string survives encode ∘ decode.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { numeric } from "../../src/types/index.ts"
import { bin, fromBin, hex, thrown, toHex } from "./support/codecs.ts"

describe("numeric binary", () => {
  it.each([
    // ndigits weight sign dscale digits...
    ["0", "0000 0000 0000 0000"],
    ["0.000", "0000 0000 0000 0003"],
    ["1", "0001 0000 0000 0000 0001"],
    ["10000", "0001 0001 0000 0000 0001"],
    ["-0.001", "0001 ffff 4000 0003 000a"],
    ["1.50", "0002 0000 0000 0002 0001 1388"],
    ["123456789.123456789", "0006 0002 0000 0009 0001 0929 1a85 04d2 162e 2328"],
    ["0.00000000000000000001", "0001 fffb 0000 0014 0001"],
    ["NaN", "0000 0000 c000 0000"],
    ["Infinity", "0000 0000 d000 0000"],
    ["-Infinity", "0000 0000 f000 0000"]
  ])("%s ⇄ %s", (text, bytes) => {
    expect(fromBin(numeric, hex(bytes))).toBe(text)
    expect(toHex(bin(numeric, text))).toBe(bytes.replace(/ /g, ""))
  })

  it("short values (built from cached digit groups) and long ones agree with numeric_out at the boundary", () => {
    for (const text of [
      "0.00",
      "12.30",
      "99999999.99",
      "-9999999.99",
      "123456789012",
      "-12345678901",
      "1234567890123",
      "-123456789012",
      "0.00000001",
      "-0.0000001",
      "12.3456789",
      "1.000000001",
      "100000000.5",
      "0.12345678901"
    ]) {
      expect(fromBin(numeric, bin(numeric, text))).toBe(text)
      expect(fromBin(numeric, bin(numeric, text))).toBe(numeric.text.decode(text))
    }
  })

  it("reads what numeric_in reads: exponents, signs, spaces, special spellings", () => {
    const canonical = (s: string) => fromBin(numeric, bin(numeric, s))
    expect(canonical("1.5e-3")).toBe("0.0015")
    expect(canonical("-1.5E+3")).toBe("-1500")
    expect(canonical("+.5")).toBe("0.5")
    expect(canonical("5.")).toBe("5")
    expect(canonical(" 007.0100 ")).toBe("7.0100")
    expect(canonical("-0")).toBe("0")
    expect(canonical("1e-20")).toBe("0.00000000000000000001")
    expect(canonical("12.345e1")).toBe("123.45")
    expect(canonical("inf")).toBe("Infinity")
    expect(canonical("-Infinity")).toBe("-Infinity")
    expect(canonical("nan")).toBe("NaN")
  })

  it("encodes numbers and bigints", () => {
    expect(fromBin(numeric, bin(numeric, 0.1))).toBe("0.1")
    expect(fromBin(numeric, bin(numeric, 1e21))).toBe("1000000000000000000000")
    expect(fromBin(numeric, bin(numeric, -(2n ** 100n)))).toBe(String(-(2n ** 100n)))
    expect(fromBin(numeric, bin(numeric, Number.NaN))).toBe("NaN")
    expect(numeric.text.encode(-Infinity)).toBe("-Infinity")
    expect(numeric.text.encode(12n)).toBe("12")
  })

  it("keeps 1000 digits either side of the point", () => {
    const big = `-${"9".repeat(1000)}.0${"7".repeat(999)}`
    expect(fromBin(numeric, bin(numeric, big))).toBe(big)
  })

  it("refuses what is not a decimal, and scales numeric cannot hold", () => {
    expect(thrown(() => bin(numeric, "12abc")).reason).toBe("NotEncodable")
    expect(thrown(() => bin(numeric, "0x1F")).reason).toBe("NotEncodable")
    expect(thrown(() => bin(numeric, "1e-20000")).reason).toBe("OutOfRange")
    expect(thrown(() => bin(numeric, {})).reason).toBe("NotEncodable")
    expect(thrown(() => fromBin(numeric, hex("0002 0000 0000 0000 0001"))).reason).toBe("Malformed")
    expect(thrown(() => fromBin(numeric, hex("0001 0000 0000 0000 2710"))).message).toContain("base 10000")
  })
})

/** Canonical numeric text: no leading zeros, any number of fraction digits (the display scale). */
const canonicalNumeric = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.constant("0"), fc.stringMatching(/^[1-9][0-9]{0,40}$/)),
    fc.option(fc.stringMatching(/^[0-9]{1,40}$/), { nil: undefined })
  )
  .map(([negative, int, frac]) => {
    const s = frac === undefined ? int : `${int}.${frac}`
    return negative && /[1-9]/.test(s) ? `-${s}` : s
  })

describe("numeric properties", () => {
  it("encode ∘ decode is the identity on canonical text; text and binary agree", () => {
    fc.assert(
      fc.property(canonicalNumeric, (s) => {
        expect(fromBin(numeric, bin(numeric, s))).toBe(s)
        expect(numeric.text.decode(numeric.text.encode(s))).toBe(s)
      }),
      { numRuns: 2000 }
    )
  })

  it("an exponent moves the point: moving it back gives the same value", () => {
    const value = (s: string) => s.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "")
    fc.assert(
      fc.property(canonicalNumeric, fc.integer({ min: -30, max: 30 }), (s, e) => {
        const moved = fromBin(numeric, bin(numeric, `${s}e${e}`)) as string
        expect(value(fromBin(numeric, bin(numeric, `${moved}e${-e}`)) as string)).toBe(value(s))
      }),
      { numRuns: 1000 }
    )
  })
})
