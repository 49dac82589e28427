/**
 * The character and byte types: UTF-8 in both directions (non-ASCII, astral, long), NUL refused,
 * bytea in hex and escape text and raw binary (empty, NUL-containing, copied out of the frame),
 * "char", uuid in every input form uuid_in reads, and json/jsonb (version byte, JSON strings).
 */
import { describe, expect, it } from "vitest"
import { bpchar, bytea, char, json, jsonb, jsonpath, text, uuid, varchar } from "../../src/types/index.ts"
import { bin, fromBin, hex, roundTrips, thrown, toHex } from "./support/codecs.ts"

describe("strings", () => {
  it("decode UTF-8 at any length, in both formats", () => {
    for (const s of ["", "a", "héllo", "✓😀", "x".repeat(13), "é".repeat(5000), "tab\tnew\nline"]) {
      roundTrips(text, s)
      expect(new TextDecoder().decode(bin(text, s))).toBe(s)
    }
    expect(fromBin(varchar, hex("c3a9"))).toBe("é")
    expect(bpchar.text.decode("ab  ")).toBe("ab  ")
    expect(text.preferredFormat).toBe(0)
  })

  it("take numbers, bigints and booleans as their String(), nothing else", () => {
    expect(text.text.encode(42)).toBe("42")
    expect(text.text.encode(10n)).toBe("10")
    expect(text.text.encode(true)).toBe("true")
    expect(thrown(() => text.text.encode({} as never)).reason).toBe("NotEncodable")
  })

  it("refuse NUL, which PostgreSQL text cannot hold", () => {
    const e = thrown(() => text.text.encode("a\0b"))
    expect(e.reason).toBe("NotEncodable")
    expect(e.message).toContain("NUL")
    expect(e.message).not.toContain("a\0b")
    expect(thrown(() => bin(text, "\0")).reason).toBe("NotEncodable")
  })
})

describe("bytea", () => {
  it("reads hex and escape text", () => {
    expect(bytea.text.decode("\\x")).toStrictEqual(new Uint8Array(0))
    expect(bytea.text.decode("\\x00FFab")).toStrictEqual(new Uint8Array([0, 255, 0xab]))
    expect(bytea.text.decode("a\\000\\\\\\377")).toStrictEqual(new Uint8Array([97, 0, 92, 255]))
    expect(bytea.text.decode("")).toStrictEqual(new Uint8Array(0))
    expect(thrown(() => bytea.text.decode("\\x0")).reason).toBe("Malformed")
    expect(thrown(() => bytea.text.decode("\\xzz")).reason).toBe("Malformed")
    expect(thrown(() => bytea.text.decode("\\9")).reason).toBe("Malformed")
  })

  it("writes hex text and raw binary; decodes a copy", () => {
    const bytes = new Uint8Array([0, 1, 0, 255])
    expect(bytea.text.encode(bytes)).toBe("\\x000100ff")
    expect(toHex(bin(bytea, bytes))).toBe("000100ff")
    roundTrips(bytea, bytes)
    roundTrips(bytea, new Uint8Array(0))
    const frame = new Uint8Array([9, 1, 2, 9])
    const decoded = bytea.binary!.decode(frame, 1, 2) as Uint8Array
    frame[1] = 7
    expect(decoded).toStrictEqual(new Uint8Array([1, 2]))
    expect(decoded.buffer).not.toBe(frame.buffer)
    expect(thrown(() => bytea.text.encode([1, 2] as never)).reason).toBe("NotEncodable")
  })

  it("takes a large array", () => {
    const big = Uint8Array.from({ length: 70000 }, (_, i) => i & 255)
    roundTrips(bytea, big)
  })
})

describe('"char"', () => {
  it("is one byte; high bytes as \\ooo, as PostgreSQL 15+ prints them", () => {
    expect(fromBin(char, hex("61"))).toBe("a")
    expect(fromBin(char, hex("00"))).toBe("")
    expect(fromBin(char, hex("80"))).toBe("\\200")
    expect(toHex(bin(char, "\\377"))).toBe("ff")
    expect(toHex(bin(char, ""))).toBe("00")
    roundTrips(char, "z")
    expect(thrown(() => bin(char, "ab")).reason).toBe("NotEncodable")
  })
})

describe("uuid", () => {
  it("prints lowercase canonical, reads uuid_in's forms", () => {
    const canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    const bytes = bin(uuid, canonical)
    expect(toHex(bytes)).toBe("a0eebc999c0b4ef8bb6d6bb9bd380a11")
    expect(fromBin(uuid, bytes)).toBe(canonical)
    for (const form of [
      "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
      "a0eebc999c0b4ef8bb6d6bb9bd380a11",
      "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11"
    ])
      expect(fromBin(uuid, bin(uuid, form))).toBe(canonical)
    for (const bad of [
      "a0eebc99",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11ff",
      "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
      "g0eebc999c0b4ef8bb6d6bb9bd380a11"
    ])
      expect(thrown(() => bin(uuid, bad)).reason).toBe("NotEncodable")
  })
})

describe("json, jsonb, jsonpath", () => {
  it("parse and stringify; strings are JSON strings", () => {
    expect(json.text.decode('{"a":[1,{"b":null}]}')).toStrictEqual({ a: [1, { b: null }] })
    expect(json.text.encode("a")).toBe('"a"')
    expect(json.text.encode({ a: 1 })).toBe('{"a":1}')
    expect(json.text.decode("null")).toBe(null)
    roundTrips(json, { x: [1, "é", true, null] })
    roundTrips(jsonb, [1, 2, { k: "v" }])
    roundTrips(jsonb, "just a string")
  })

  it("jsonb and jsonpath carry version byte 1 in binary", () => {
    expect(toHex(bin(jsonb, { a: 1 }))).toBe(`01${toHex(new TextEncoder().encode('{"a":1}'))}`)
    expect(fromBin(jsonb, hex("015b315d"))).toStrictEqual([1])
    expect(thrown(() => fromBin(jsonb, hex("025b315d"))).reason).toBe("Malformed")
    expect(thrown(() => fromBin(jsonb, new Uint8Array(0))).reason).toBe("Malformed")
    expect(fromBin(jsonpath, hex("0124"))).toBe("$")
    expect(toHex(bin(jsonpath, "$"))).toBe("0124")
  })

  it("refuse what JSON cannot hold, and malformed JSON", () => {
    expect(thrown(() => json.text.encode(undefined)).reason).toBe("NotEncodable")
    expect(thrown(() => json.text.encode(1n)).reason).toBe("NotEncodable")
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(thrown(() => jsonb.text.encode(cyclic)).reason).toBe("NotEncodable")
    expect(thrown(() => json.text.decode("{")).reason).toBe("Malformed")
  })
})
