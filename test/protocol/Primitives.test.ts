/**
 * The building blocks: Writer (growth, integers, strings, back-patching, rollback), Reader (bounds,
 * sticky errors, views), decodeUtf8, DataRowScanner and the SSL/GSSENC answer classifier.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeBackend } from "../../src/protocol/Backend.ts"
import { DataRowScanner } from "../../src/protocol/DataRowScanner.ts"
import { ProtocolError } from "../../src/protocol/ProtocolError.ts"
import { decodeUtf8, Reader } from "../../src/protocol/Reader.ts"
import { decodeGssEncResponse, decodeSslResponse } from "../../src/protocol/SslResponse.ts"
import { STRING_HAS_NUL, utf8Length, Writer } from "../../src/protocol/Writer.ts"
import { allServerFrames, Bytes, fromHex, toHex, utf8 } from "./support/bytes.ts"

describe("Writer", () => {
  it("grows from a tiny capacity and writes big-endian integers (signed and unsigned)", () => {
    const w = new Writer(16)
    w.int8(0x1ff)
    w.int16(-2)
    w.int16(0xfffe)
    w.int32(-1)
    w.int32(0xfffffffe)
    for (let i = 0; i < 100; i++) w.int32(i)
    const out = w.finish()
    expect(toHex(out.subarray(0, 13))).toBe("ff" + "fffe" + "fffe" + "ffffffff" + "fffffffe")
    expect(out.length).toBe(413)
    expect(new DataView(out.buffer).getInt32(13 + 4 * 99)).toBe(99)
  })

  it("back-patches frame lengths, typed and untyped", () => {
    const w = new Writer()
    w.begin(0x51)
    w.cstring("x")
    expect(w.end()).toBeUndefined()
    w.beginUntyped()
    w.int32(7)
    expect(w.end()).toBeUndefined()
    expect(toHex(w.view())).toBe("51000000067800" + "0000000800000007")
  })

  it("end() without a frame, or past the limit, is an error and rolls the frame back", () => {
    const w = new Writer()
    expect(w.end()?.reason).toBe("InvalidValue")
    w.int8(1)
    w.begin(0x64)
    w.bytes(new Uint8Array(20))
    const e = w.end(10)
    expect(e?.reason).toBe("MessageTooLarge")
    expect(e?.messageType).toBe(0x64)
    w.beginUntyped()
    w.bytes(new Uint8Array(20))
    expect(w.end(10)?.messageType).toBeUndefined()
    expect(toHex(w.finish())).toBe("01")
  })

  it("finish() returns views that later writes never touch, carved from one slab", () => {
    const w = new Writer(256)
    w.int8(5)
    const first = w.finish()
    expect(w.length).toBe(0)
    w.int8(6)
    const second = w.finish()
    expect([...first, ...second]).toEqual([5, 6])
    expect(second.buffer).toBe(first.buffer)
    expect(second.byteOffset).toBe(first.byteOffset + 1)
    // Fill past the slab: a new slab is used, old results are intact.
    const results: Array<Uint8Array> = []
    for (let i = 0; i < 200; i++) {
      w.int32(i)
      results.push(w.finish())
    }
    expect(results.map((r) => new DataView(r.buffer, r.byteOffset).getInt32(0))).toEqual(
      results.map((_, i) => i)
    )
    expect(new Set(results.map((r) => r.buffer)).size).toBeGreaterThan(1)
    w.int8(1)
    w.reset()
    expect(w.finish().length).toBe(0)
  })

  it("a frame that outgrows the slab moves with its back-patch position and rollback marks", () => {
    const w = new Writer(32)
    w.int8(0xaa)
    w.finish()
    w.int8(0xbb)
    const mark = w.mark()
    w.begin(0x64)
    w.bytes(new Uint8Array(100).fill(1))
    const inner = w.mark()
    w.int32(0)
    w.patchInt32(inner, 0x01020304)
    expect(w.end()).toBeUndefined()
    const out = w.finish()
    expect(out.length).toBe(1 + 5 + 100 + 4)
    expect(toHex(out.subarray(0, 6))).toBe("bb" + "64" + "0000006c")
    expect(toHex(out.subarray(106))).toBe("01020304")
    w.int8(0xcc)
    const m2 = w.mark()
    w.bytes(new Uint8Array(5000))
    w.rollback(m2)
    expect(toHex(w.finish())).toBe("cc")
    expect(mark).toBe(1)
  })

  it("a slab grown beyond 1 MiB for one message is not kept", () => {
    const w = new Writer()
    w.bytes(new Uint8Array(3 * 1024 * 1024))
    const big = w.finish()
    expect(big.length).toBe(3 * 1024 * 1024)
    expect(w.buffer.length).toBe(64 * 1024)
    expect(w.buffer.buffer).not.toBe(big.buffer)
  })

  it("string() refuses NUL only when asked, and writes nothing on refusal", () => {
    const w = new Writer()
    expect(w.string("a\0", true)).toBe(STRING_HAS_NUL)
    expect(w.string(`${"é".repeat(40)}\0`, true)).toBe(STRING_HAS_NUL)
    expect(w.length).toBe(0)
    expect(w.string("a\0", false)).toBe(2)
    expect(w.cstring("b\0")).toBe(false)
    expect(toHex(w.finish())).toBe("6100")
  })

  it("utf8Length and string() agree with TextEncoder on any string, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => {
        const expected = new TextEncoder().encode(s)
        expect(utf8Length(s)).toBe(expected.length)
        const w = new Writer(16)
        expect(w.string(s, false)).toBe(expected.length)
        expect(toHex(w.view())).toBe(toHex(expected))
      }),
      { numRuns: 2000 }
    )
    const long = `${"ab😀\ud800".repeat(20_000)}`
    const w = new Writer()
    expect(w.string(long, false)).toBe(new TextEncoder().encode(long).length)
  })
})

describe("Reader", () => {
  const r = new Reader()

  it("reads integers, views and strings, and reports exact consumption", () => {
    r.reset(fromHex("fffe fffe ffffffff 61620063 0102"), 0x41)
    expect(r.int16()).toBe(-2)
    expect(r.uint16()).toBe(0xfffe)
    expect(r.uint32()).toBe(0xffffffff)
    expect(r.cstring()).toBe("ab")
    expect(r.remaining).toBe(3)
    expect(r.bytes(1)).toEqual(Uint8Array.of(0x63))
    expect(r.rest()).toEqual(Uint8Array.of(1, 2))
    expect(r.done()).toBeUndefined()
  })

  it("never reads past the body, even when the underlying buffer continues", () => {
    const backing = fromHex("6162 00 ffffffff")
    r.reset(backing.subarray(0, 2), 0x43)
    expect(r.cstring()).toBe("")
    expect(r.error?.reason).toBe("MissingNul")
    r.reset(backing.subarray(0, 3), 0x43)
    expect(r.int32()).toBe(0)
    expect(r.error?.reason).toBe("Truncated")
  })

  it("keeps the first error; later reads return neutral values", () => {
    r.reset(fromHex("00"), 0x5a)
    expect(r.int32("the status")).toBe(0)
    expect(r.cstring()).toBe("")
    expect(r.bytes(1).length).toBe(0)
    expect(r.rest().length).toBe(0)
    expect(r.error?.message).toContain("the status")
    expect(r.done()).toBe(r.error)
  })

  it("length-prefixed values: -1 is null, other negatives are InvalidLength", () => {
    r.reset(fromHex("ffffffff 00000001 07"), 0x56)
    expect(r.lengthPrefixed()).toBeNull()
    expect(r.lengthPrefixed()).toEqual(Uint8Array.of(7))
    r.reset(fromHex("fffffffe"), 0x56)
    r.lengthPrefixed()
    expect(r.error?.reason).toBe("InvalidLength")
  })

  it("done() reports trailing bytes", () => {
    r.reset(fromHex("0000"), 0x31)
    expect(r.done()?.reason).toBe("TrailingBytes")
  })
})

describe("decodeUtf8", () => {
  it("decodes short ASCII, short and long non-ASCII, and replaces invalid bytes", () => {
    for (const s of ["", "abc", "žluť", "x".repeat(33), "é".repeat(40)])
      expect(decodeUtf8(utf8(s), 0, utf8(s).length)).toBe(s)
    expect(decodeUtf8(fromHex("61ff62"), 0, 3)).toBe("a\ufffdb")
    expect(decodeUtf8(fromHex("00616200"), 1, 3)).toBe("ab")
  })
})

describe("DataRowScanner", () => {
  const scanner = new DataRowScanner()

  it("agrees with the DataRow decoder on every captured row", () => {
    let rows = 0
    for (const { frame } of allServerFrames()) {
      if (frame[0] !== 0x44) continue
      const body = frame.subarray(5)
      const m = decodeBackend(0x44, body)
      expect(scanner.scan(body)).toBeUndefined()
      if (m instanceof ProtocolError || m._tag !== "DataRow") throw new Error("bad golden")
      expect(scanner.count).toBe(m.columns.length)
      for (let i = 0; i < scanner.count; i++) {
        expect(scanner.bytes(i)).toEqual(m.columns[i])
        expect(scanner.isNull(i)).toBe(m.columns[i] === null)
        expect(scanner.text(i)).toBe(m.columns[i] === null ? null : new TextDecoder().decode(m.columns[i]!))
      }
      rows++
    }
    expect(rows).toBeGreaterThan(50)
  })

  it("grows for wide rows and resets count on errors", () => {
    const wide = new Bytes().i16(100)
    for (let i = 0; i < 100; i++) wide.i32(1).u8(0x30 + (i % 10))
    expect(scanner.scan(Uint8Array.from(wide.data))).toBeUndefined()
    expect(scanner.count).toBe(100)
    expect(scanner.text(99)).toBe("9")
    expect(scanner.start(1)).toBe(2 + 5 + 4)
    expect(scanner.length(1)).toBe(1)
    expect(scanner.scan(fromHex("0001fffffffe"))?.reason).toBe("InvalidLength")
    expect(scanner.count).toBe(0)
    expect(scanner.scan(fromHex("00"))?.reason).toBe("Truncated")
    expect(scanner.scan(fromHex("0001000000050102"))?.reason).toBe("Truncated")
    expect(scanner.scan(fromHex("000001"))?.reason).toBe("TrailingBytes")
  })
})

describe("SSL and GSSENC answers", () => {
  it("classifies the first byte and refuses data after a yes", () => {
    expect(decodeSslResponse(fromHex("53"))).toBe("S")
    expect(decodeSslResponse(fromHex("4e"))).toBe("N")
    expect(decodeSslResponse(fromHex("4e5a"))).toBe("N")
    expect(decodeSslResponse(fromHex("4500000010"))).toBe("E")
    expect(decodeGssEncResponse(fromHex("47"))).toBe("G")
    expect(decodeGssEncResponse(fromHex("4e"))).toBe("N")
    const stuffed = decodeSslResponse(fromHex("535a00000005"))
    expect(stuffed instanceof ProtocolError && stuffed.reason).toBe("TrailingBytes")
    expect((decodeGssEncResponse(fromHex("4700")) as ProtocolError).reason).toBe("TrailingBytes")
    expect((decodeSslResponse(new Uint8Array(0)) as ProtocolError).reason).toBe("Truncated")
    expect((decodeSslResponse(fromHex("47")) as ProtocolError).reason).toBe("InvalidValue")
    expect((decodeGssEncResponse(fromHex("53")) as ProtocolError).reason).toBe("InvalidValue")
  })
})
