/**
 * Byte-level helpers for the binary codecs: big-endian integers and floats read straight from a
 * Uint8Array, 64-bit integers as bigint or as exact (seconds, micros) splits, the matching
 * writes, UTF-8 slices and hex.
 *
 * Does: read without allocating (floats and int64 go through module-level scratch typed arrays;
 * no DataView per value); decode UTF-8 with a JS loop for short ASCII and the runtime's native
 * slice for longer text (Node's `Buffer.prototype.utf8Slice`, found as a global, never imported,
 * else TextDecoder).
 * Does NOT: check bounds (callers check the value length once, with {@link expectLength}).
 */
import { decodeUtf8 } from "../protocol/Reader.ts"
import type { Writer } from "../protocol/Writer.ts"
import { malformed } from "./ValueError.ts"

const f64 = new Float64Array(1)
const f64b = new Uint8Array(f64.buffer)
const f32 = new Float32Array(1)
const f32b = new Uint8Array(f32.buffer)
const i64 = new BigInt64Array(1)
const u64 = new BigUint64Array(i64.buffer)
const i64b = new Uint8Array(i64.buffer)
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Throws Malformed unless `length === expected`. */
export const expectLength = (type: string, length: number, expected: number): void => {
  if (length !== expected) throw malformed(type, `expected ${expected} bytes, got ${length}`)
}

export const int16 = (b: Uint8Array, p: number): number => ((b[p]! << 24) >> 16) | b[p + 1]!
export const uint16 = (b: Uint8Array, p: number): number => (b[p]! << 8) | b[p + 1]!
export const int32 = (b: Uint8Array, p: number): number =>
  (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!
export const uint32 = (b: Uint8Array, p: number): number => int32(b, p) >>> 0

const load8 = (target: Uint8Array, b: Uint8Array, p: number): void => {
  if (LITTLE) for (let i = 0; i < 8; i++) target[i] = b[p + 7 - i]!
  else for (let i = 0; i < 8; i++) target[i] = b[p + i]!
}

/** Writes the 8 bytes of a little- or big-endian scratch value big-endian, as two Int32s. */
const store8 = (w: Writer, s: Uint8Array): void => {
  if (LITTLE) {
    w.int32((s[7]! << 24) | (s[6]! << 16) | (s[5]! << 8) | s[4]!)
    w.int32((s[3]! << 24) | (s[2]! << 16) | (s[1]! << 8) | s[0]!)
  } else {
    w.int32((s[0]! << 24) | (s[1]! << 16) | (s[2]! << 8) | s[3]!)
    w.int32((s[4]! << 24) | (s[5]! << 16) | (s[6]! << 8) | s[7]!)
  }
}

export const float64 = (b: Uint8Array, p: number): number => {
  load8(f64b, b, p)
  return f64[0]!
}

export const float32 = (b: Uint8Array, p: number): number => {
  if (LITTLE) {
    f32b[0] = b[p + 3]!
    f32b[1] = b[p + 2]!
    f32b[2] = b[p + 1]!
    f32b[3] = b[p]!
  } else for (let i = 0; i < 4; i++) f32b[i] = b[p + i]!
  return f32[0]!
}

/** A signed 64-bit integer as bigint. */
export const int64 = (b: Uint8Array, p: number): bigint => {
  load8(i64b, b, p)
  return i64[0]!
}

/** An unsigned 64-bit integer as bigint. */
export const uint64 = (b: Uint8Array, p: number): bigint => {
  load8(i64b, b, p)
  return u64[0]!
}

/**
 * Splits the signed 64-bit integer at `p` into whole units of 10^6 (floor) and the remainder
 * (0 .. 999999), exactly, without BigInt: 2^32 = 4294 * 10^6 + 967296, so
 * v = hi * 4294 * 10^6 + (hi * 967296 + lo), where the second term stays below 2^53.
 * Writes the two parts into `split` (reused: no allocation).
 */
export const splitMicros = (b: Uint8Array, p: number, split: { units: number; micros: number }): void => {
  const hi = int32(b, p)
  const lo = uint32(b, p + 4)
  const t = hi * 967296 + lo
  const q = Math.floor(t / 1e6)
  split.units = hi * 4294 + q
  split.micros = t - q * 1e6
}

export const writeFloat64 = (w: Writer, v: number): void => {
  f64[0] = v
  store8(w, f64b)
}

export const writeFloat32 = (w: Writer, v: number): void => {
  f32[0] = v
  w.int32(
    LITTLE
      ? (f32b[3]! << 24) | (f32b[2]! << 16) | (f32b[1]! << 8) | f32b[0]!
      : (f32b[0]! << 24) | (f32b[1]! << 16) | (f32b[2]! << 8) | f32b[3]!
  )
}

/** Writes the low 64 bits of `v` (signed or unsigned) big-endian. */
export const writeInt64 = (w: Writer, v: bigint): void => {
  i64[0] = BigInt.asIntN(64, v)
  store8(w, i64b)
}

/**
 * Writes units * 10^6 + micros as a signed 64-bit integer (timestamps, times): exact without
 * BigInt while the product stays below 2^53 (|units| < 9e9, about ±285 years of seconds).
 */
export const writeMicros = (w: Writer, units: number, micros: number): void => {
  if (Math.abs(units) < 9e9) {
    const v = units * 1e6 + micros
    const hi = Math.floor(v / 4294967296)
    w.int32(hi)
    w.int32(v - hi * 4294967296)
  } else writeInt64(w, BigInt(units) * 1000000n + BigInt(micros))
}

interface NativeSlice {
  readonly utf8Slice: (this: Uint8Array, start: number, end: number) => string
}
const nativeProto = (globalThis as unknown as { Buffer?: { prototype: NativeSlice } }).Buffer?.prototype
const nativeUtf8 = nativeProto?.utf8Slice

/** UTF-8 text of `b[start, end)`: JS loop up to 12 bytes, the native slice above (TextDecoder without one). */
export const utf8 = (b: Uint8Array, start: number, end: number): string =>
  end - start <= 12 || nativeUtf8 === undefined ? decodeUtf8(b, start, end) : nativeUtf8.call(b, start, end)

/** Two lowercase hex digits per byte value. */
export const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, "0")
)

/** Lowercase hex of `b[start, end)`. */
export const toHex = (b: Uint8Array, start: number, end: number): string => {
  let s = ""
  let chunk = ""
  for (let i = start; i < end; i++) {
    chunk += HEX[b[i]!]!
    if (chunk.length >= 1024) {
      s += chunk
      chunk = ""
    }
  }
  return s + chunk
}

/** The value of hex digit `c` (a char code), or -1. */
export const hexDigit = (c: number): number => {
  if (c >= 48 && c <= 57) return c - 48
  const l = c | 0x20
  return l >= 97 && l <= 102 ? l - 87 : -1
}

/** Writes `value` as Int32 length + bytes, the length patched once `encode` has written them. */
export const writePrefixed = <V>(w: Writer, value: V, encode: (v: V, out: Writer) => void): void => {
  const at = w.mark()
  w.int32(0)
  encode(value, w)
  w.patchInt32(at, w.mark() - at - 4)
}

/** A copy of `b[start, start + length)` (never a view: a row must not pin the socket buffer). */
export const copyBytes = (b: Uint8Array, start: number, length: number): Uint8Array =>
  b.slice(start, start + length)
