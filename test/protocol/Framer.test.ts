/**
 * Framer: captured server transcripts give the same frames however they are chunked (every split
 * offset, 1-byte chunks, random chunkings); zero-copy and copy rules; length limits; poisoning;
 * pushMessages and the allocation-free feed/next loop.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeBackend } from "../../src/protocol/Backend.ts"
import { Framer } from "../../src/protocol/Framer.ts"
import { ProtocolError } from "../../src/protocol/ProtocolError.ts"
import { Bytes, captureNames, concat, fromHex, serverFrames, serverStream, toHex } from "./support/bytes.ts"

const frameHex = (type: number, body: Uint8Array) => toHex(Bytes.frame(type, body))

const frameAll = (chunks: ReadonlyArray<Uint8Array>, framer = new Framer()): Array<string> => {
  const out: Array<string> = []
  for (const chunk of chunks) {
    const { frames, error } = framer.push(chunk)
    expect(error).toBeUndefined()
    for (const f of frames) out.push(frameHex(f.type, f.body))
  }
  expect(framer.bufferedBytes).toBe(0)
  return out
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Server frames of a capture, without the cancel side connection and the one-byte answers. */
const expectedFrames = (name: string) => serverFrames(name).map(toHex)

const transcripts = captureNames.filter((name) => !name.includes("cancel_1") && serverStream(name).length > 0)

describe("chunking does not change the frames", () => {
  it("the transcripts are realistic and the reference frames match the stream", () => {
    expect(transcripts.length).toBeGreaterThan(60)
    for (const name of transcripts) expect(frameAll([serverStream(name)])).toEqual(expectedFrames(name))
  })

  it("every transcript split at every offset gives the same frames", () => {
    let splits = 0
    const mismatches: Array<string> = []
    for (const name of transcripts) {
      const stream = serverStream(name)
      const expected = new Framer().push(stream).frames
      for (let i = 0; i <= stream.length; i++) {
        const framer = new Framer()
        const got = [...framer.push(stream.subarray(0, i)).frames, ...framer.push(stream.subarray(i)).frames]
        const same =
          got.length === expected.length &&
          framer.bufferedBytes === 0 &&
          got.every((f, k) => f.type === expected[k]!.type && sameBytes(f.body, expected[k]!.body))
        if (!same) mismatches.push(`${name} @${i}`)
        splits++
      }
    }
    expect(mismatches).toEqual([])
    expect(splits).toBeGreaterThan(40_000)
  })

  it("every transcript fed 1 byte at a time gives the same frames", () => {
    for (const name of transcripts) {
      const stream = serverStream(name)
      const bytes = Array.from(stream, (b) => Uint8Array.of(b))
      expect(frameAll(bytes)).toEqual(frameAll([stream]))
    }
  })

  it("random chunkings of all transcripts concatenated give the same frames", () => {
    const all = concat(transcripts.map(serverStream))
    const expected = frameAll([all])
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: all.length }), { maxLength: 40 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), all.length]
        const chunks = points.slice(1).map((end, i) => all.subarray(points[i], end))
        expect(frameAll(chunks)).toEqual(expected)
      }),
      { numRuns: 300 }
    )
  })
})

describe("zero-copy rule", () => {
  const a = Bytes.frame("C", new Bytes().cstr("SELECT 1"))
  const b = Bytes.frame("Z", Uint8Array.of(0x49))

  it("frames inside a chunk are views of it", () => {
    const chunk = concat([a, b])
    const { frames } = new Framer().push(chunk)
    expect(frames).toHaveLength(2)
    for (const f of frames) expect(f.body.buffer).toBe(chunk.buffer)
    expect(frames[1]!.body.byteOffset).toBe(a.length + 5)
  })

  it("a frame whose body straddles chunks is copied once into a buffer of its exact size", () => {
    const framer = new Framer()
    expect(framer.push(a.subarray(0, 7)).frames).toHaveLength(0)
    expect(framer.push(a.subarray(7, 9)).frames).toHaveLength(0)
    expect(framer.bufferedBytes).toBe(9)
    const rest = concat([a.subarray(9), b])
    const { frames } = framer.push(rest)
    expect(frames.map((f) => String.fromCharCode(f.type))).toEqual(["C", "Z"])
    expect(frames[0]!.body.buffer.byteLength).toBe(a.length - 5)
    expect(frames[1]!.body.buffer).toBe(rest.buffer)
  })

  it("when only the header straddles, the body is a view of the second chunk", () => {
    const framer = new Framer()
    framer.push(a.subarray(0, 3))
    const second = a.subarray(3)
    const { frames } = framer.push(second)
    expect(frames[0]!.body.buffer).toBe(second.buffer)
    expect(toHex(frames[0]!.body)).toBe(toHex(a.subarray(5)))
  })

  it("an empty-body frame split after its header", () => {
    const framer = new Framer()
    expect(framer.push(fromHex("3100000004")).frames).toEqual([{ type: 0x31, body: new Uint8Array(0) }])
    expect(framer.push(new Uint8Array(0)).frames).toEqual([])
  })
})

describe("length limits and poisoning", () => {
  it("length < 4 is InvalidLength, at once, with the type byte", () => {
    for (const len of ["00000003", "00000000", "ffffffff", "80000000"]) {
      const { frames, error } = new Framer().push(fromHex(`44${len}`))
      expect(frames).toEqual([])
      expect(error?.reason).toBe("InvalidLength")
      expect(error?.messageType).toBe(0x44)
    }
  })

  it("a declared length above maxMessageSize fails from the 5-byte header, without buffering", () => {
    const framer = new Framer({ maxMessageSize: 1000 })
    expect(framer.push(fromHex("44000003e8")).error).toBeUndefined() // exactly 1000: accepted
    expect(framer.bufferedBytes).toBe(5)
    const huge = new Framer({ maxMessageSize: 1000 })
    const { error } = huge.push(fromHex("44000003e9"))
    expect(error?.reason).toBe("MessageTooLarge")
    expect(huge.bufferedBytes).toBe(0)
    expect(new Framer().push(fromHex("447fffffff")).error?.reason).toBe("MessageTooLarge")
    expect(new Framer().maxMessageSize).toBe(2 ** 30)
  })

  it("the header itself may straddle chunks before the limit check", () => {
    const framer = new Framer({ maxMessageSize: 100 })
    expect(framer.push(fromHex("4400")).error).toBeUndefined()
    expect(framer.push(fromHex("00")).error).toBeUndefined()
    expect(framer.push(fromHex("ff")).error).toBeUndefined()
    expect(framer.push(fromHex("ff")).error?.reason).toBe("MessageTooLarge")
  })

  it("returns the frames before the error, then the same error forever", () => {
    const framer = new Framer()
    const good = Bytes.frame("Z", Uint8Array.of(0x49))
    const first = framer.push(concat([good, fromHex("4400000001"), good]))
    expect(first.frames).toHaveLength(1)
    expect(first.error?.reason).toBe("InvalidLength")
    const again = framer.push(good)
    expect(again.frames).toEqual([])
    expect(again.error).toBe(first.error)
    expect(framer.pushMessages(good).error).toBe(first.error)
    expect(framer.next()).toBe(false)
  })

  it("buffers at most maxMessageSize + 1 bytes while a large frame arrives", () => {
    const max = 4096
    const framer = new Framer({ maxMessageSize: max })
    const frame = Bytes.frame("d", new Uint8Array(max - 4).fill(7))
    for (let i = 0; i < frame.length - 1; i += 100) {
      const { frames } = framer.push(frame.subarray(i, Math.min(i + 100, frame.length - 1)))
      expect(frames).toEqual([])
      expect(framer.bufferedBytes).toBeLessThanOrEqual(max + 1)
    }
    const { frames } = framer.push(frame.subarray(frame.length - 1))
    expect(frames[0]!.body.length).toBe(max - 4)
    expect(framer.bufferedBytes).toBe(0)
  })

  it("maxMessageSize is clamped to sane bounds", () => {
    expect(new Framer({ maxMessageSize: 0 }).maxMessageSize).toBe(5)
    expect(new Framer({ maxMessageSize: Number.NaN }).maxMessageSize).toBe(2 ** 30)
    expect(new Framer({ maxMessageSize: 2 ** 40 }).maxMessageSize).toBe(2 ** 31 - 1)
  })
})

describe("pushMessages and the feed/next loop", () => {
  const stream = serverStream("pg18_extended")

  it("pushMessages gives the decoded messages of every chunking", () => {
    const reference = new Framer().pushMessages(stream)
    expect(reference.error).toBeUndefined()
    expect(reference.messages.length).toBeGreaterThan(20)
    for (let i = 0; i <= stream.length; i += 7) {
      const framer = new Framer()
      const a = framer.pushMessages(stream.subarray(0, i))
      const b = framer.pushMessages(stream.subarray(i))
      expect([...a.messages, ...b.messages]).toEqual(reference.messages)
    }
  })

  it("a decoding error poisons the framer; earlier messages are returned", () => {
    const framer = new Framer()
    const good = Bytes.frame("Z", Uint8Array.of(0x49))
    const result = framer.pushMessages(concat([good, Bytes.frame("?"), good]))
    expect(result.messages).toEqual([{ _tag: "ReadyForQuery", status: "I" }])
    expect(result.error).toBeInstanceOf(ProtocolError)
    expect(result.error?.reason).toBe("UnknownMessage")
    expect(result.error?.messageType).toBe(0x3f)
    expect(framer.pushMessages(good)).toEqual({ messages: [], error: result.error })
  })

  it("feed/next frames without allocating frame objects", () => {
    const framer = new Framer()
    const tags: Array<string> = []
    for (let i = 0; i < stream.length; i += 50) {
      framer.feed(stream.subarray(i, i + 50))
      while (framer.next()) {
        const m = decodeBackend(framer.type, framer.body)
        if (m instanceof ProtocolError) throw new Error(m.message)
        tags.push(m._tag)
      }
    }
    expect(tags).toEqual(new Framer().pushMessages(stream).messages.map((m) => m._tag))
  })

  it("feed keeps an undrained tail in front of the next chunk", () => {
    const a = Bytes.frame("Z", Uint8Array.of(0x49))
    const framer = new Framer()
    framer.feed(concat([a, a]))
    expect(framer.next()).toBe(true)
    framer.feed(a)
    let count = 1
    while (framer.next()) count++
    expect(count).toBe(3)
  })
})
