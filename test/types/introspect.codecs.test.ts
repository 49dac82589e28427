/**
 * The pure codecs of user-defined types (src/types/composite.ts, catalog.ts), without a server:
 * record literals as record_out prints them and record_in reads them (quotes, backslashes, empty =
 * NULL, "" = empty string, nested records), the binary record form, enums, and `withCatalog`
 * building enums, composites (nested, holding arrays and domains), domains, ranges over user
 * types and arrays of each. Property tests (fast-check, seeded) check decode ∘ encode = identity
 * in text and binary and that both formats agree, over random composites of random attributes.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type CatalogEntry, withCatalog } from "../../src/types/catalog.ts"
import { compositeCodec, enumCodec, formatRecordText, parseRecordText } from "../../src/types/composite.ts"
import { defaultRegistry, PgRange } from "../../src/types/index.ts"
import { bin, fromBin, thrown } from "./support/codecs.ts"

const entry = (e: Partial<CatalogEntry> & Pick<CatalogEntry, "oid" | "name" | "kind">): CatalogEntry => ({
  namespace: "public",
  category: e.kind === "e" ? "E" : e.kind === "c" ? "C" : "U",
  delimiter: ",",
  baseType: 0,
  element: 0,
  arrayType: 0,
  rangeSubtype: 0,
  multirangeRange: 0,
  attributes: [],
  labels: [],
  ...e
})

describe("record literals", () => {
  it("reads record_out's text: quotes, doubled quotes, backslashes, NULL and the empty string", () => {
    expect(parseRecordText("r", '(1,"a b",,"x""y")')).toEqual(["1", "a b", null, 'x"y'])
    expect(parseRecordText("r", '("",)')).toEqual(["", null])
    expect(parseRecordText("r", '("a\\\\b","(1,2)")')).toEqual(["a\\b", "(1,2)"])
    expect(parseRecordText("r", "()")).toEqual([null])
    // record_in: backslash escapes outside quotes too, whitespace is part of an unquoted field.
    expect(parseRecordText("r", "(a\\,b, c )")).toEqual(["a,b", " c "])
  })

  it("writes what record_out writes", () => {
    expect(formatRecordText(["1", "a b", null, 'x"y', "", "a\\b", "(x)", "p,q"])).toBe(
      '(1,"a b",,"x""y","","a\\\\b","(x)","p,q")'
    )
  })

  it("refuses what is not a record literal", () => {
    expect(thrown(() => parseRecordText("pair", "1,2")).reason).toBe("Malformed")
    expect(thrown(() => parseRecordText("pair", '(1,"2')).message).toMatch(/cut short/)
    expect(thrown(() => parseRecordText("pair", "(1,2) x")).message).toMatch(/text after/)
  })
})

describe("compositeCodec", () => {
  const pair = compositeCodec(
    20001,
    "pair",
    [
      { name: "n", typeOid: 23 },
      { name: "t", typeOid: 25 },
      { name: "xs", typeOid: 1007 }
    ],
    defaultRegistry,
    { arrayOid: 20002 }
  )

  it("decodes text and binary to an object in attribute order", () => {
    const value = pair.text.decode('(1,"a, \\"b\\"","{1,NULL}")')
    expect(value).toEqual({ n: 1, t: 'a, "b"', xs: [1, null] })
    expect(Object.keys(value)).toEqual(["n", "t", "xs"])
    expect(fromBin(pair, bin(pair, value))).toEqual(value)
    expect(pair.text.decode("(,,)")).toEqual({ n: null, t: null, xs: null })
  })

  it("encodes objects, arrays in attribute order and passes literals through", () => {
    expect(pair.text.encode({ n: 1, t: "", xs: [] })).toBe('(1,"",{})')
    expect(pair.text.encode({ t: "x" })).toBe("(,x,)")
    expect(pair.text.encode([2, null, [3]])).toBe("(2,,{3})")
    expect(pair.text.encode("(1,x,)")).toBe("(1,x,)")
    expect(fromBin(pair, bin(pair, "(1,x,{2})"))).toEqual({ n: 1, t: "x", xs: [2] })
  })

  it("refuses unknown keys, wrong widths and bad fields, naming the attribute", () => {
    expect(thrown(() => pair.text.encode({ m: 1 })).message).toMatch(/"m" is not an attribute of pair/)
    expect(thrown(() => pair.text.encode([1])).reason).toBe("NotEncodable")
    const bad = thrown(() => pair.text.encode({ n: 2 ** 40 }))
    expect(bad.message).toMatch(/attribute "n"/)
    expect(bad.reason).toBe("OutOfRange")
    expect(thrown(() => pair.text.decode("(x,,)")).message).toMatch(/pair: attribute "n"/)
  })

  it("calls onMismatch when a value has another shape than the attributes", () => {
    const seen: number[] = []
    const codec = compositeCodec(20003, "two", [{ name: "a", typeOid: 23 }], defaultRegistry, {
      onMismatch: (oid) => seen.push(oid)
    })
    expect(thrown(() => codec.text.decode("(1,2)")).reason).toBe("Malformed")
    const wide = compositeCodec(
      20004,
      "wide",
      [
        { name: "a", typeOid: 23 },
        { name: "b", typeOid: 23 }
      ],
      defaultRegistry
    )
    expect(thrown(() => codec.binary!.decode(bin(wide, [1, 2]), 0, bin(wide, [1, 2]).length)).reason).toBe(
      "Malformed"
    )
    const other = compositeCodec(20005, "other", [{ name: "a", typeOid: 20 }], defaultRegistry)
    expect(thrown(() => fromBin(codec, bin(other, [1n]))).message).toMatch(/came as type 20/)
    expect(seen).toEqual([20003, 20003, 20003])
  })

  it("has no binary format when an attribute's type has none (read as text)", () => {
    const codec = compositeCodec(20006, "t", [{ name: "v", typeOid: 3614 }], defaultRegistry)
    expect(codec.binary).toBeUndefined()
    const unknown = compositeCodec(20007, "u", [{ name: "v", typeOid: 99999 }], defaultRegistry)
    expect(unknown.text.decode("(abc)")).toEqual({ v: "abc" })
    expect(unknown.binary).toBeUndefined()
  })
})

describe("__proto__", () => {
  it("an attribute named __proto__ is an own property", () => {
    const codec = compositeCodec(20020, "p", [{ name: "__proto__", typeOid: 23 }], defaultRegistry)
    const value = codec.text.decode("(1)")
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(value, "__proto__")?.value).toBe(1)
    expect(codec.text.encode(value)).toBe("(1)")
    expect(Object.getOwnPropertyDescriptor(fromBin(codec, bin(codec, value)), "__proto__")?.value).toBe(1)
  })
})

describe("enumCodec", () => {
  it("is the label, in text and binary", () => {
    const mood = enumCodec(20010, "mood", ["sad", "ok"], 20011)
    expect(mood.text.decode("ok")).toBe("ok")
    expect(fromBin(mood, bin(mood, "sad ü"))).toBe("sad ü")
    expect(mood.labels).toEqual(["sad", "ok"])
    expect(thrown(() => mood.text.encode(1 as never)).reason).toBe("NotEncodable")
  })
})

describe("withCatalog", () => {
  const entries: ReadonlyArray<CatalogEntry> = [
    entry({ oid: 30001, name: "mood", kind: "e", labels: ["sad", "ok"], arrayType: 30002 }),
    entry({ oid: 30002, name: "_mood", kind: "b", category: "A", element: 30001 }),
    entry({ oid: 30003, name: "posint", kind: "d", baseType: 23, arrayType: 30004 }),
    // outer holds inner[] and a domain over inner; inner is listed after it.
    entry({
      oid: 30010,
      name: "outer",
      kind: "c",
      arrayType: 30011,
      attributes: [
        { name: "id", typeOid: 30003 },
        { name: "inners", typeOid: 30021 },
        { name: "one", typeOid: 30030 },
        { name: "moods", typeOid: 30002 }
      ]
    }),
    entry({ oid: 30030, name: "inner_d", kind: "d", baseType: 30020 }),
    entry({
      oid: 30020,
      name: "inner",
      kind: "c",
      arrayType: 30021,
      attributes: [
        { name: "m", typeOid: 30001 },
        { name: "s", typeOid: 25 }
      ]
    }),
    entry({ oid: 30040, name: "moodrange", kind: "r", rangeSubtype: 30050, arrayType: 30041 }),
    entry({ oid: 30050, name: "label", kind: "d", baseType: 25 }),
    entry({ oid: 30060, name: "moodmulti", kind: "m", multirangeRange: 30040 }),
    entry({ oid: 30070, name: "citext", kind: "b", arrayType: 30071 }),
    entry({ oid: 30080, name: "anyx", kind: "p" })
  ]
  const registry = withCatalog(defaultRegistry, entries)

  it("makes enums, domains, nested composites, ranges and arrays of each", () => {
    expect(registry.codecFor(30002).text.decode("{sad,ok}")).toEqual(["sad", "ok"])
    const posint = registry.codecFor(30003)
    expect(posint.text.decode("5")).toBe(5)
    expect(fromBin(posint, bin(posint, 7))).toBe(7)
    expect(posint.name).toBe("posint")
    expect(registry.codecFor(30004).text.decode("{1,2}")).toEqual([1, 2])
    const outer = registry.codecFor(30010)
    // What record_out prints (the server printed the same: introspect.integration.test.ts).
    const text = String.raw`(7,"{""(ok,x)"",""(sad,\\""\\""\\""y\\""\\""\\"")""}","(ok,"""")",{sad})`
    const value = {
      id: 7,
      inners: [
        { m: "ok", s: "x" },
        { m: "sad", s: '"y"' }
      ],
      one: { m: "ok", s: "" },
      moods: ["sad"]
    }
    expect(outer.text.encode(value)).toBe(text)
    expect(outer.text.decode(text)).toEqual(value)
    expect(outer.text.decode(outer.text.encode(value))).toEqual(value)
    expect(fromBin(outer, bin(outer, value))).toEqual(value)
    expect(registry.codecFor(30011).text.decode(`{"${text.replace(/["\\]/g, "\\$&")}"}`)).toEqual([value])
    const range = registry.codecFor(30040)
    expect(range.text.decode("[a,b)")).toEqual(PgRange.of("a", "b"))
    expect(registry.codecFor(30060).text.decode("{[a,b)}")).toEqual([PgRange.of("a", "b")])
    expect(registry.codecFor(30071).text.decode("{a,B}")).toEqual(["a", "B"])
    expect(registry.get(30080)).toBeUndefined()
    expect(registry.named("mood")?.oid).toBe(30001)
  })

  it("keeps a codec the registry already has", () => {
    const mine = {
      ...enumCodec(30001, "mood"),
      text: { decode: (s: string) => s.toUpperCase(), encode: (v: string) => v }
    }
    const r = withCatalog(defaultRegistry.with(mine), entries)
    expect(r.codecFor(30001).text.decode("ok")).toBe("OK")
    expect(r.codecFor(30020).text.decode("(ok,x)")).toEqual({ m: "OK", s: "x" })
  })
})

describe("properties", () => {
  /** Attribute types with value arbitraries (no NUL in text: PostgreSQL text cannot hold it). */
  const kinds: ReadonlyArray<readonly [number, fc.Arbitrary<unknown>]> = [
    [23, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })],
    [20, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
    [25, fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => !s.includes("\0"))],
    [16, fc.boolean()],
    [701, fc.double({ noNaN: true })],
    [1007, fc.array(fc.option(fc.integer({ min: -1000, max: 1000 })), { maxLength: 4 })],
    [1009, fc.array(fc.option(fc.constantFrom("", "a b", 'q"', "\\", "(,)", "NULL")), { maxLength: 3 })]
  ]
  const attrs = fc.uniqueArray(
    fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), fc.nat(kinds.length - 1)),
    {
      minLength: 1,
      maxLength: 5,
      selector: ([name]) => name
    }
  )

  it("decode ∘ encode is the identity in text and binary, and both agree (nested one level)", () => {
    fc.assert(
      fc.property(
        attrs.chain((spec) => {
          const attributes = spec.map(([name, k]) => ({ name, typeOid: kinds[k]![0] }))
          const inner = compositeCodec(40001, "inner", attributes, defaultRegistry)
          const outer = compositeCodec(
            40002,
            "outer",
            [
              { name: "x", typeOid: 40001 },
              { name: "y", typeOid: 25 }
            ],
            defaultRegistry.with(inner)
          )
          const record = fc.tuple(...spec.map(([, k]) => fc.option(kinds[k]![1]))).map((values) => {
            const out: Record<string, unknown> = {}
            spec.forEach(([name], i) => {
              out[name] = values[i]
            })
            return out
          })
          return fc.tuple(fc.constant(outer), fc.record({ x: fc.option(record), y: fc.option(fc.string()) }))
        }),
        ([codec, value]) => {
          const v = { x: value.x, y: value.y === null ? null : value.y.replace(/\0/g, "") }
          const fromText = codec.text.decode(codec.text.encode(v))
          expect(fromText).toEqual(v)
          expect(fromBin(codec, bin(codec, v))).toEqual(v)
        }
      ),
      { seed: 12012, numRuns: 300 }
    )
  })
})
