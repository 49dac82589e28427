/**
 * The registry (lookup by OID and name, unknown OIDs as text, copy-on-extend, arrays, ranges and
 * domains following an overridden element codec), the per-statement row decoder (every kind of
 * column, NULLs, errors returned with the column index, user codecs that throw), result formats,
 * and the parameter encoders (formats, NULL, errors as values, nothing half-written).
 */
import { describe, expect, it } from "vitest"
import { Writer } from "../../src/protocol/Writer.ts"
import {
  builtinCodecs,
  type Codec,
  dateCodecs,
  decodeValue,
  defaultRegistry,
  encodeParameter,
  int4,
  isValueError,
  PgRange,
  PgTimestamp,
  parameterFormat,
  Registry,
  RowDecoder,
  resultFormats,
  text,
  ValueError,
  writeParameter
} from "../../src/types/index.ts"
import { hex, toHex } from "./support/codecs.ts"

/** A DataRow body: column count, then each value as Int32 length + bytes (null → -1). */
const row = (...values: ReadonlyArray<Uint8Array | string | null>): Uint8Array => {
  const w = new Writer(64)
  w.int16(values.length)
  for (const v of values) {
    if (v === null) w.int32(-1)
    else {
      const bytes = typeof v === "string" ? new TextEncoder().encode(v) : v
      w.int32(bytes.length)
      w.bytes(bytes)
    }
  }
  return w.finish().slice()
}

describe("Registry", () => {
  it("finds every built-in type by OID and by name, arrays included", () => {
    for (const codec of builtinCodecs) {
      expect(defaultRegistry.get(codec.oid)).toBe(codec)
      expect(defaultRegistry.named(codec.name)).toBe(codec)
      if (codec.arrayOid !== undefined)
        expect(defaultRegistry.get(codec.arrayOid)?.name).toBe(`_${codec.name}`)
    }
    expect(defaultRegistry.named("integer")).toBe(int4)
    expect(defaultRegistry.named("timestamp with time zone")?.oid).toBe(1184)
    expect(defaultRegistry.named("INT4[]")?.oid).toBe(1007)
    expect(defaultRegistry.named("_int4")?.oid).toBe(1007)
    expect(defaultRegistry.named("tstzmultirange")?.oid).toBe(4534)
    expect(defaultRegistry.get(6153)?.name).toBe("_tstzmultirange")
    expect(defaultRegistry.named("nope")).toBeUndefined()
  })

  it("reads an unknown OID as its text and never fails", () => {
    const codec = defaultRegistry.codecFor(987654)
    expect(defaultRegistry.get(987654)).toBeUndefined()
    expect(codec.text.decode("whatever")).toBe("whatever")
    expect(codec.binary).toBeUndefined()
    expect(resultFormats(defaultRegistry, [987654, 23, 25])).toStrictEqual([0, 1, 0])
  })

  it("extends by copy; an override reaches the arrays, ranges and multiranges over it", () => {
    const dates = defaultRegistry.with(...dateCodecs)
    expect(dates).not.toBe(defaultRegistry)
    expect(defaultRegistry.named("timestamptz")!.text.decode("infinity")).toBe(PgTimestamp.infinity)
    const d = new Date("2024-01-02T03:04:05.006Z")
    expect(dates.named("timestamptz")!.text.decode("2024-01-02 03:04:05.006789+00")).toStrictEqual(d)
    expect(dates.named("_timestamptz")!.text.decode('{"2024-01-02 03:04:05.006+00"}')).toStrictEqual([d])
    expect(dates.named("tstzrange")!.text.decode('["2024-01-02 03:04:05.006+00",)')).toStrictEqual(
      PgRange.of(d, null)
    )
    expect(dates.named("tstzmultirange")!.text.decode('{["2024-01-02 03:04:05.006+00",)}')).toStrictEqual([
      PgRange.of(d, null)
    ])
  })

  it("adds user types: a codec with its array, a domain, a range", () => {
    const upper: Codec<string> = {
      oid: 900100,
      name: "shout",
      arrayOid: 900101,
      text: { decode: (s) => s.toUpperCase(), encode: (s) => s.toLowerCase() },
      accepts: (v) => typeof v === "string"
    }
    const r = Registry.empty
      .with(upper, int4)
      .withAlias(900200, "posint", 23, 900201)
      .withRange(900300, "shoutrange", 900100)
    expect(r.get(900101)!.text.decode("{a,b}")).toStrictEqual(["A", "B"])
    expect(r.named("posint")!.binary!.decode(hex("00000007"), 0, 4)).toBe(7)
    expect(r.get(900201)!.text.decode("{1,2}")).toStrictEqual([1, 2])
    expect(r.get(900300)!.text.decode("[a,b)")).toStrictEqual(PgRange.of("A", "B"))
    expect(r.has(900100)).toBe(true)
    expect(Registry.empty.has(23)).toBe(false)
  })
})

describe("RowDecoder", () => {
  it("decodes text and binary columns with a plan made once", () => {
    const decoder = new RowDecoder(defaultRegistry, [
      { typeOid: 23, format: 1 },
      { typeOid: 23, format: 0 },
      { typeOid: 25, format: 0 },
      { typeOid: 25, format: 1 },
      { typeOid: 987654, format: 0 },
      { typeOid: 987654, format: 1 },
      { typeOid: 1007, format: 1 },
      { typeOid: 16, format: 0 }
    ])
    const body = row(
      hex("0000002a"),
      "42",
      "héllo wörld, longer than twelve",
      "x",
      "(1,2)",
      hex("ff"),
      null,
      "t"
    )
    expect(decoder.decode(body)).toStrictEqual([
      42,
      42,
      "héllo wörld, longer than twelve",
      "x",
      "(1,2)",
      hex("ff"),
      null,
      true
    ])
    expect(decoder.decode(row(null, null, null, null, null, null, null, null))).toStrictEqual(
      new Array(8).fill(null)
    )
  })

  it("returns errors as values: the column, the type, what was wrong", () => {
    const decoder = new RowDecoder(defaultRegistry, [
      { typeOid: 25, format: 0 },
      { typeOid: 23, format: 1 }
    ])
    const e = decoder.decode(row("ok", hex("0001")))
    expect(e).toBeInstanceOf(ValueError)
    expect((e as ValueError).index).toBe(1)
    expect((e as ValueError).message).toBe("int4: expected 4 bytes, got 2")
    expect((decoder.decode(row("a")) as ValueError).reason).toBe("Malformed")
    expect((decoder.decode(hex("0001")) as { _tag: string })._tag).toBe("ProtocolError")
  })

  it("wraps what a user codec throws", () => {
    const boom: Codec<string> = {
      oid: 900400,
      name: "boom",
      text: {
        decode: (): string => {
          throw new TypeError("nope")
        },
        encode: () => ""
      },
      accepts: () => true
    }
    const e = new RowDecoder(defaultRegistry.with(boom), [{ typeOid: 900400, format: 0 }]).decode(row("x"))
    expect(e).toMatchObject({
      reason: "CodecFailed",
      index: 0,
      type: "boom",
      message: "boom: the codec failed: nope"
    })
    expect((e as ValueError).cause).toBeInstanceOf(TypeError)
  })
})

describe("parameters", () => {
  it("strings go as text, other values in binary where the codec has it", () => {
    expect(parameterFormat(int4, "42")).toBe(0)
    expect(parameterFormat(int4, 42)).toBe(1)
    expect(parameterFormat(defaultRegistry.named("tsvector")!, "a")).toBe(0)
    expect(encodeParameter(int4, 42)).toStrictEqual(hex("0000002a"))
    expect(encodeParameter(int4, "42")).toBe("42")
    expect(encodeParameter(int4, null)).toBe(null)
    expect(encodeParameter(text, "x", 1)).toStrictEqual(hex("78"))
  })

  it("writes length-prefixed values and leaves nothing behind on a refusal", () => {
    const w = new Writer(64)
    expect(writeParameter(w, int4, 7, 1)).toBeUndefined()
    expect(writeParameter(w, int4, "7", 0)).toBeUndefined()
    expect(writeParameter(w, int4, undefined, 1)).toBeUndefined()
    const e = writeParameter(w, int4, 2 ** 40, 1)
    expect(isValueError(e) && e.reason).toBe("OutOfRange")
    expect(isValueError(writeParameter(w, defaultRegistry.named("tsvector")!, "a", 1))).toBe(true)
    expect(toHex(w.finish())).toBe("0000000400000007" + "0000000137" + "ffffffff")
  })

  it("decodeValue returns a value or the error", () => {
    expect(decodeValue(int4, "5")).toBe(5)
    expect(decodeValue(int4, hex("00000005"))).toBe(5)
    expect(isValueError(decodeValue(int4, "x"))).toBe(true)
    expect(isValueError(encodeParameter(int4, {}))).toBe(true)
  })
})
