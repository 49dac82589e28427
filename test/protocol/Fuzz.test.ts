/**
 * Fuzzing in the normal suite (seeded, deterministic): well over 100,000 random and mutated server
 * streams go through Framer.pushMessages in random chunkings and with various size limits. Each must
 * end in messages or a ProtocolError: no exception escapes, nothing hangs, and the framer never holds
 * more than maxMessageSize + 1 bytes besides the current chunk. Random frame bodies also go straight
 * to decodeBackend, and DataRowScanner is checked against the DataRow decoder.
 */
import { describe, expect, it } from "vitest"
import { decodeBackend } from "../../src/protocol/Backend.ts"
import { DataRowScanner } from "../../src/protocol/DataRowScanner.ts"
import { Framer } from "../../src/protocol/Framer.ts"
import { ProtocolError, type ProtocolErrorReason } from "../../src/protocol/ProtocolError.ts"
import { decodeGssEncResponse, decodeSslResponse } from "../../src/protocol/SslResponse.ts"
import { allServerFrames, concat } from "./support/bytes.ts"

/** xorshift32: fast and deterministic. */
const rng = (seed: number) => {
  let s = seed >>> 0 || 1
  const next = () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s
  }
  return {
    int: (n: number) => next() % n,
    pick: <T>(xs: ReadonlyArray<T>): T => xs[next() % xs.length]!,
    bytes: (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff)
  }
}

const REASONS = new Set<ProtocolErrorReason>([
  "InvalidLength",
  "MessageTooLarge",
  "Truncated",
  "MissingNul",
  "UnknownMessage",
  "InvalidValue",
  "TrailingBytes",
  "Poisoned"
])
const TYPES = Array.from("R K 2 3 C W d c G H D I E V v n N A t S 1 s Z T".replace(/ /g, ""), (c) =>
  c.charCodeAt(0)
)

const corpus = allServerFrames().map(({ frame }) => frame)

const setInt32 = (b: Uint8Array, at: number, v: number) => {
  b[at] = v >>> 24
  b[at + 1] = v >>> 16
  b[at + 2] = v >>> 8
  b[at + 3] = v
}

/** Offsets of the frames in a well-formed stream. */
const frameStarts = (b: Uint8Array): Array<number> => {
  const starts: Array<number> = []
  let p = 0
  while (p + 5 <= b.length) {
    starts.push(p)
    const n = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) + 1
    if (n < 5) break
    p += n
  }
  return starts
}

type Random = ReturnType<typeof rng>

/** One fuzz input: a window of real frames, then one or more mutations. */
const mutate = (r: Random, max: number): Uint8Array => {
  const start = r.int(corpus.length)
  const input = concat(corpus.slice(start, start + 1 + r.int(8))).slice()
  const mutations = 1 + r.int(3)
  let out: Uint8Array = input
  for (let m = 0; m < mutations; m++) {
    const starts = frameStarts(out)
    const at = starts.length > 0 ? r.pick(starts) : 0
    switch (r.int(10)) {
      case 0: // bit flips
        for (let i = 0, n = 1 + r.int(8); i < n && out.length > 0; i++)
          out[r.int(out.length)]! ^= 1 << r.int(8)
        break
      case 1: // truncation
        out = out.subarray(0, r.int(out.length + 1))
        break
      case 2: // length < 4, negative, huge, past the max, or off by a little
        if (at + 5 <= out.length) {
          const cur = ((out[at + 1]! << 24) | (out[at + 2]! << 16) | (out[at + 3]! << 8) | out[at + 4]!) >>> 0
          setInt32(
            out,
            at + 1,
            r.pick([
              r.int(4),
              0x80000000 + r.int(0x7fffffff),
              0x7fffffff,
              max + 1 + r.int(10),
              cur + r.int(17) - 8
            ])
          )
        }
        break
      case 3: // missing NULs: every NUL of one frame body becomes 'x'
        for (let i = at + 5; i < out.length && i < at + 5 + 200; i++) if (out[i] === 0) out[i] = 0x78
        break
      case 4: // unknown or different type byte
        if (at < out.length) out[at] = r.int(256)
        break
      case 5: // random bytes inserted
        out = concat([out.subarray(0, at), r.bytes(1 + r.int(16)), out.subarray(at)])
        break
      case 6: // bytes deleted
        out = concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + r.int(8)))])
        break
      case 7: {
        // a body byte changed while the framing stays valid (reaches the decoders)
        const n = out.length - at - 5
        if (n > 0) out[at + 5 + r.int(n)] = r.pick([0, 0xff, 0x80, r.int(256)])
        break
      }
      case 8: // a well-framed random body of a known type
        out = concat([out, frame(r.pick(TYPES), r.bytes(r.int(40)))])
        break
      default: // pure random bytes
        out = r.bytes(r.int(300))
    }
  }
  return out
}

const frame = (type: number, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(body.length + 5)
  out[0] = type
  setInt32(out, 1, body.length + 4)
  out.set(body, 5)
  return out
}

describe("fuzz", () => {
  it("120,000 mutated and random streams: messages or a ProtocolError, bounded buffering", () => {
    const r = rng(0x5eed)
    const limits = [16, 512, 65536, 2 ** 30, 2 ** 30, 2 ** 30]
    let inputs = 0
    let errors = 0
    let messages = 0
    const reasons = new Map<string, number>()
    const failures: Array<string> = []
    const started = performance.now()
    for (let i = 0; i < 120_000; i++) {
      const max = r.pick(limits)
      const input = mutate(r, max)
      const framer = new Framer({ maxMessageSize: max })
      try {
        let error: ProtocolError | undefined
        for (let p = 0; p < input.length || p === 0; ) {
          const size = r.pick([1, 2, 3, 5, 7, 16, 64, 1 + r.int(512), input.length])
          const result = framer.pushMessages(input.subarray(p, p + size))
          p += size
          messages += result.messages.length
          if (framer.bufferedBytes > max + 1)
            failures.push(`input ${i}: buffered ${framer.bufferedBytes} > ${max + 1}`)
          if (result.error !== undefined) {
            error = result.error
            if (!(error instanceof ProtocolError) || !REASONS.has(error.reason))
              failures.push(`input ${i}: bad error`)
            break
          }
          if (p >= input.length) break
        }
        if (error !== undefined) {
          errors++
          reasons.set(error.reason, (reasons.get(error.reason) ?? 0) + 1)
        }
      } catch (e) {
        failures.push(`input ${i}: threw ${String(e)}`)
      }
      inputs++
    }
    expect(failures.slice(0, 5)).toEqual([])
    expect(inputs).toBe(120_000)
    // Both outcomes are well represented.
    expect(errors).toBeGreaterThan(20_000)
    expect(messages).toBeGreaterThan(100_000)
    // Every failure mode is reached (Poisoned is reserved for callers).
    for (const reason of REASONS)
      if (reason !== "Poisoned") expect(reasons.get(reason) ?? 0, reason).toBeGreaterThan(100)
    expect(performance.now() - started).toBeLessThan(30_000)
  })

  it("100,000 random bodies per decoder: a message or a ProtocolError, never a throw", () => {
    const r = rng(42)
    const scanner = new DataRowScanner()
    let decoded = 0
    for (let i = 0; i < 100_000; i++) {
      const type = i % 10 === 0 ? r.int(256) : r.pick(TYPES)
      const body = r.bytes(r.int(i % 3 === 0 ? 8 : 64))
      if (i % 2 === 0 && body.length > 2) body[0] = 0 // small counts reach deeper
      const m = decodeBackend(type, body)
      if (!(m instanceof ProtocolError)) decoded++
      else expect(REASONS.has(m.reason)).toBe(true)
      if (type === 0x44) {
        const scanned = scanner.scan(body)
        expect(scanned === undefined, "scanner agrees with the DataRow decoder").toBe(
          !(m instanceof ProtocolError)
        )
        if (scanned === undefined && m._tag === "DataRow") {
          expect(scanner.count).toBe(m.columns.length)
          for (let c = 0; c < scanner.count; c++) expect(scanner.bytes(c)).toEqual(m.columns[c])
        }
      }
      const answer = body.subarray(0, r.int(3))
      expect(
        typeof decodeSslResponse(answer) === "string" || decodeSslResponse(answer) instanceof ProtocolError
      ).toBe(true)
      expect(
        typeof decodeGssEncResponse(answer) === "string" ||
          decodeGssEncResponse(answer) instanceof ProtocolError
      ).toBe(true)
    }
    expect(decoded).toBeGreaterThan(1000)
  })
})
