/**
 * Ranges and multiranges: empty, inclusive and exclusive, unbounded, quoted bounds with both
 * escape styles, the binary flags, ranges over timestamps with an infinite bound, and random
 * ranges round-tripping in text and binary.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { defaultRegistry, PgRange, PgTimestamp } from "../../src/types/index.ts"
import { bin, fromBin, hex, roundTrips, thrown, toHex } from "./support/codecs.ts"

const int4range = defaultRegistry.named("int4range")!
const tsrange = defaultRegistry.named("tsrange")!
const numrange = defaultRegistry.named("numrange")!
const int4multirange = defaultRegistry.named("int4multirange")!

describe("range text", () => {
  it("reads range_out's forms", () => {
    expect(int4range.text.decode("[1,5)")).toStrictEqual(PgRange.of(1, 5))
    expect(int4range.text.decode("empty")).toStrictEqual(PgRange.empty())
    expect(int4range.text.decode(" EMPTY ")).toStrictEqual(PgRange.empty())
    expect(int4range.text.decode("(,5]")).toStrictEqual(PgRange.of(null, 5, "(]"))
    expect(int4range.text.decode("[,]")).toStrictEqual(PgRange.of(null, null, "()"))
    expect(int4range.text.decode('["1","5"]')).toStrictEqual(PgRange.of(1, 5, "[]"))
    expect(tsrange.text.decode('["2024-01-01 00:00:00",infinity)')).toStrictEqual(
      PgRange.of(new PgTimestamp(1704067200, 0), PgTimestamp.infinity)
    )
    const texts = defaultRegistry.withRange(900001, "textrange", 25)
    const textrange = texts.get(900001)!
    expect(textrange.text.decode('["a\\"b","c""d")')).toStrictEqual(PgRange.of('a"b', 'c"d'))
    expect(textrange.text.decode('("",z]')).toStrictEqual(PgRange.of("", "z", "(]"))
    expect(textrange.text.encode(PgRange.of('a"b', "x y"))).toBe('["a""b","x y")')
    expect(textrange.text.encode(PgRange.of("", null))).toBe('["",)')
  })

  it("writes range_in's forms; unbounded sides are never inclusive", () => {
    expect(int4range.text.encode(PgRange.of(1, 5))).toBe("[1,5)")
    expect(int4range.text.encode(PgRange.of(null, 5, "[]"))).toBe("(,5]")
    expect(int4range.text.encode(PgRange.empty())).toBe("empty")
    expect(PgRange.of(null, null, "[]")).toStrictEqual(PgRange.of(null, null, "()"))
    expect(numrange.text.encode(PgRange.of("1.5", "2.5", "(]"))).toBe("(1.5,2.5]")
  })

  it("refuses malformed ranges", () => {
    for (const bad of ["", "[1,5", "1,5)", "[1;5)", "[1,5) x", '["1,5)'])
      expect(thrown(() => int4range.text.decode(bad)).reason).toBe("Malformed")
    expect(thrown(() => int4range.text.encode([1, 5] as never)).reason).toBe("NotEncodable")
  })
})

describe("range binary", () => {
  it("is a flags byte and the present bounds", () => {
    expect(toHex(bin(int4range, PgRange.empty()))).toBe("01")
    expect(toHex(bin(int4range, PgRange.of(1, 5)))).toBe(
      "02 00000004 00000001 00000004 00000005".replace(/ /g, "")
    )
    expect(toHex(bin(int4range, PgRange.of(null, 5, "(]")))).toBe("0c0000000400000005")
    expect(toHex(bin(int4range, PgRange.of(null, null)))).toBe("18")
    expect(fromBin(int4range, hex("06 00000004 00000001 00000004 00000005"))).toStrictEqual(
      PgRange.of(1, 5, "[]")
    )
    expect(thrown(() => fromBin(int4range, hex("02 00000004 00000001"))).reason).toBe("Malformed")
    expect(thrown(() => fromBin(int4range, hex("0100"))).reason).toBe("Malformed")
  })

  it("multiranges: a count of length-prefixed ranges; text with spaces", () => {
    const value = [PgRange.of(1, 3), PgRange.of(5, null, "[)")]
    expect(int4multirange.text.decode("{[1,3), [5,)}")).toStrictEqual(value)
    expect(int4multirange.text.encode(value)).toBe("{[1,3),[5,)}")
    expect(int4multirange.text.decode("{}")).toStrictEqual([])
    roundTrips(int4multirange, value)
    roundTrips(int4multirange, [])
    expect(toHex(bin(int4multirange, [PgRange.empty()]))).toBe("000000010000000101")
    expect(thrown(() => int4multirange.text.decode("{[1,3)")).reason).toBe("Malformed")
    expect(thrown(() => bin(int4multirange, [1])).reason).toBe("NotEncodable")
  })
})

const bound = fc.option(fc.integer({ min: -2147483648, max: 2147483647 }))

describe("range properties", () => {
  it("int4range and int4multirange round-trip in both formats", () => {
    const range = fc.oneof(
      fc.constant(PgRange.empty<number>()),
      fc.tuple(bound, bound, fc.boolean(), fc.boolean()).map(([l, u, li, ui]) => new PgRange(l, u, li, ui))
    )
    fc.assert(
      fc.property(range, fc.array(range, { maxLength: 4 }), (r, rs) => {
        roundTrips(int4range, r)
        roundTrips(int4multirange, rs)
        expect(int4range.text.decode(int4range.text.encode(r))).toStrictEqual(
          fromBin(int4range, bin(int4range, r))
        )
      }),
      { numRuns: 1000 }
    )
  })
})
