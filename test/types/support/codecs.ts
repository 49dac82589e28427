/**
 * Helpers for the codec unit tests: binary encode to bytes, binary decode at an offset inside a
 * larger buffer (so a codec that ignores `start` or reads past `length` fails), hex, and the
 * thrown ValueError of a failing call.
 */
import { expect } from "vitest"
import { Writer } from "../../../src/protocol/Writer.ts"
import { type AnyCodec, isValueError, type ValueError } from "../../../src/types/index.ts"

/** The binary encoding of `value`. */
export const bin = (codec: AnyCodec, value: unknown): Uint8Array => {
  const w = new Writer(64)
  codec.binary!.encode(value, w)
  return w.finish().slice()
}

/** Decodes `bytes` placed at offset 3 of a buffer with junk around it. */
export const fromBin = (codec: AnyCodec, bytes: Uint8Array): unknown => {
  const buf = new Uint8Array(bytes.length + 6).fill(0xee)
  buf.set(bytes, 3)
  return codec.binary!.decode(buf, 3, bytes.length)
}

export const hex = (s: string): Uint8Array =>
  new Uint8Array((s.replace(/\s+/g, "").match(/../g) ?? []).map((h) => Number.parseInt(h, 16)))

export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")

/** The ValueError `f` throws (fails the test if it throws nothing or something else). */
export const thrown = (f: () => unknown): ValueError => {
  try {
    f()
  } catch (e) {
    if (isValueError(e)) return e
    throw e
  }
  expect.unreachable("expected a ValueError")
}

/** Text decode, binary decode of its binary encoding, and both encodings' round trips agree on `value`. */
export const roundTrips = (codec: AnyCodec, value: unknown): void => {
  expect(codec.text.decode(codec.text.encode(value))).toStrictEqual(value)
  if (codec.binary !== undefined) expect(fromBin(codec, bin(codec, value))).toStrictEqual(value)
}
