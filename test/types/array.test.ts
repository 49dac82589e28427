/**
 * Arrays: the text literal (quoting, backslashes, NULL and "NULL", empty, whitespace, dimension
 * decoration, several dimensions, box's ';'), the binary form (exact bytes, NULL flag, lower
 * bounds), lower bounds other than 1 kept, ragged input refused, and random nested arrays of
 * several element types round-tripping in both formats.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { arrayCodec, defaultRegistry, type PgArray, PgDate, withLowerBounds } from "../../src/types/index.ts"
import { bin, fromBin, hex, roundTrips, thrown, toHex } from "./support/codecs.ts"

const int4s = defaultRegistry.named("int4[]")!
const texts = defaultRegistry.named("_text")!
const boxes = defaultRegistry.named("box[]")!

describe("array text", () => {
  it("parses the server's literals", () => {
    expect(int4s.text.decode("{}")).toStrictEqual([])
    expect(int4s.text.decode("{1,2,3}")).toStrictEqual([1, 2, 3])
    expect(int4s.text.decode("{{1,2},{3,4}}")).toStrictEqual([
      [1, 2],
      [3, 4]
    ])
    expect(int4s.text.decode("{NULL,null,1}")).toStrictEqual([null, null, 1])
    expect(int4s.text.decode(" { 1 , 2 } ")).toStrictEqual([1, 2])
    expect(texts.text.decode('{"a b","c\\"d",NULL,"NULL","",x\\\\y,"{}",é}')).toStrictEqual([
      "a b",
      'c"d',
      null,
      "NULL",
      "",
      "x\\y",
      "{}",
      "é"
    ])
    expect(texts.text.decode("{a\\,b,  c d  }")).toStrictEqual(["a,b", "c d"])
    expect(texts.text.decode("{N\\ULL}")).toStrictEqual(["NULL"])
    expect(boxes.text.decode("{(1,1),(0,0);(3,3),(2,2)}")).toStrictEqual(["(1,1),(0,0)", "(3,3),(2,2)"])
  })

  it("keeps lower bounds other than 1", () => {
    const a = int4s.text.decode("[0:1]={1,2}") as PgArray<number>
    expect(a).toStrictEqual(withLowerBounds([1, 2], [0]))
    expect(a.lowerBounds).toStrictEqual([0])
    expect(int4s.text.encode(a)).toBe("[0:1]={1,2}")
    const b = int4s.text.decode("[-2:-1][1:2]={{1,2},{3,4}}") as PgArray<number>
    expect(b.lowerBounds).toStrictEqual([-2, 1])
    expect(int4s.text.encode(b)).toBe("[-2:-1][1:2]={{1,2},{3,4}}")
    expect(Object.hasOwn(int4s.text.decode("[1:2]={1,2}") as object, "lowerBounds")).toBe(false)
  })

  it("quotes what array_in needs quoted", () => {
    expect(texts.text.encode(["a b", 'c"d', null, "NULL", "", "x\\y", "{}", "é", "a,b", "\t"])).toBe(
      '{"a b","c\\"d",NULL,"NULL","","x\\\\y","{}",é,"a,b","\t"}'
    )
    expect(
      int4s.text.encode([
        [1, null],
        [3, 4]
      ])
    ).toBe("{{1,NULL},{3,4}}")
    expect(int4s.text.encode([])).toBe("{}")
    expect(int4s.text.encode([[], []])).toBe("{}")
    expect(boxes.text.encode(["(1,1),(0,0)", "(3,3),(2,2)"])).toBe("{(1,1),(0,0);(3,3),(2,2)}")
  })

  it("refuses malformed literals and ragged arrays", () => {
    for (const bad of ["", "{", "{1,2", "{1,,2}", "{{1},{2,3}}", "{1}x", '{"a}', "[0:1]{1,2}"])
      expect(thrown(() => int4s.text.decode(bad)).reason).toBe("Malformed")
    expect(thrown(() => int4s.text.encode([[1, 2], [3]])).reason).toBe("NotEncodable")
    expect(thrown(() => int4s.text.encode([[1], 2])).reason).toBe("NotEncodable")
    expect(thrown(() => int4s.text.encode(withLowerBounds([1], [0, 1]))).reason).toBe("NotEncodable")
    expect(thrown(() => int4s.text.encode(5 as never)).reason).toBe("NotEncodable")
    expect(thrown(() => int4s.text.decode("{1,x}")).type).toBe("int4")
  })
})

describe("array binary", () => {
  it("writes ndim, flags, element OID, dims with lower bounds, elements", () => {
    expect(toHex(bin(int4s, [1, null]))).toBe(
      "00000001 00000001 00000017 00000002 00000001 00000004 00000001 ffffffff".replace(/ /g, "")
    )
    expect(toHex(bin(int4s, []))).toBe("000000000000000000000017")
    expect(fromBin(int4s, hex("000000000000000000000017"))).toStrictEqual([])
    expect(
      fromBin(int4s, hex("00000001 00000000 00000017 00000001 00000000 00000004 00000007"))
    ).toStrictEqual(withLowerBounds([7], [0]))
    const two = [
      [1, 2],
      [3, 4]
    ]
    expect(fromBin(int4s, bin(int4s, two))).toStrictEqual(two)
    expect(fromBin(int4s, bin(int4s, withLowerBounds(two, [5, -5])))).toStrictEqual(
      withLowerBounds(two, [5, -5])
    )
  })

  it("refuses truncated and inconsistent bytes", () => {
    for (const bad of [
      "00000001",
      "00000007 00000000 00000017",
      "00000001 00000000 00000017 00000002 00000001 00000004 00000001",
      "00000001 00000000 00000017 00000001 00000001 00000004 00000001 00",
      "00000001 00000000 00000017 00000001 00000001 00000008 00000001"
    ])
      expect(thrown(() => fromBin(int4s, hex(bad))).reason).toBe("Malformed")
  })

  it("one dimension (its own fast path): NULLs, lower bounds, bad sizes refused", () => {
    const header = (size: string, lb: string) => `00000001 00000001 00000017 ${size} ${lb}`
    const decoded = fromBin(
      int4s,
      hex(`${header("00000003", "00000001")} 00000004 00000005 ffffffff 00000004 fffffff9`)
    )
    expect(decoded).toStrictEqual([5, null, -7])
    expect(Object.hasOwn(decoded as object, "lowerBounds")).toBe(false)
    expect(fromBin(int4s, hex(`${header("00000001", "fffffffe")} 00000004 00000001`))).toStrictEqual(
      withLowerBounds([1], [-2])
    )
    expect(fromBin(int4s, hex(header("00000000", "00000001")))).toStrictEqual([])
    for (const bad of [
      header("ffffffff", "00000001"),
      // two billion elements declared, one present: refused, not allocated
      `${header("7fffffff", "00000001")} 00000004 00000001`,
      `${header("00000001", "00000001")} 00000004 00000001 00000000`,
      `${header("00000001", "00000001")} 00000008 00000001`
    ])
      expect(thrown(() => fromBin(int4s, hex(bad))).reason).toBe("Malformed")
    // the element's own checks still apply: an int4 of 2 bytes
    expect(thrown(() => fromBin(int4s, hex(`${header("00000001", "00000001")} 00000002 0001`))).reason).toBe(
      "Malformed"
    )
  })

  it("a json array's elements stay JSON values: one dimension", () => {
    const jsons = defaultRegistry.named("_jsonb")!
    const value = [[1, 2], { a: [3] }, null]
    roundTrips(jsons, value)
    expect(jsons.text.encode(value)).toBe(
      '{"[1, 2]","{\\"a\\": [3]}",NULL}'.replace(/, /g, ",").replace(/: /g, ":")
    )
  })

  it("an array codec built for any element", () => {
    const dates = arrayCodec(defaultRegistry.named("date")!, 1182)
    roundTrips(dates, [PgDate.of(-43, 3, 15), null, PgDate.infinity])
    expect(dates.name).toBe("_date")
  })
})

/** A rectangular nested array with up to 3 dimensions and NULLs. */
const nested = <T>(element: fc.Arbitrary<T>) =>
  fc
    .tuple(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      fc.infiniteStream(fc.option(element))
    )
    .map(([dims, stream]) => {
      const it = stream[Symbol.iterator]()
      const build = (d: number): unknown[] =>
        Array.from({ length: dims[d]! }, () => (d + 1 < dims.length ? build(d + 1) : it.next().value))
      return build(0)
    })

describe("array properties", () => {
  it.each([
    ["_int4", fc.integer({ min: -2147483648, max: 2147483647 })],
    ["_int8", fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
    ["_text", fc.string({ unit: "grapheme" }).filter((s) => !s.includes("\0"))],
    ["_float8", fc.double()],
    ["_bool", fc.boolean()],
    ["_bytea", fc.uint8Array({ maxLength: 8 })]
  ] as const)("%s: encode ∘ decode is the identity in text and binary", (name, element) => {
    const codec = defaultRegistry.named(name)!
    fc.assert(
      fc.property(nested<unknown>(element), fc.boolean(), (value, shifted) => {
        const v = shifted
          ? withLowerBounds(
              value,
              dimsOf(value).map(() => -3)
            )
          : value
        expect(codec.text.decode(codec.text.encode(v))).toStrictEqual(v)
        expect(fromBin(codec, bin(codec, v))).toStrictEqual(v)
      }),
      { numRuns: 300 }
    )
  })
})

const dimsOf = (v: unknown): number[] =>
  Array.isArray(v) ? [v.length, ...(v.length > 0 ? dimsOf(v[0]) : [])] : []
