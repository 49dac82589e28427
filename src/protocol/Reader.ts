/**
 * Bounds-checked cursor over one frame body, plus the shared UTF-8 decoding helpers.
 *
 * Does: read big-endian integers, byte views, C strings and length-prefixed values from a
 * Uint8Array body, remembering the first failure in `error` (sticky) instead of throwing.
 * Does NOT: copy bytes (views share the frame's memory), know any message layout, or throw.
 *
 * Invariants: reads never go past `end`; after the first failure every read returns a neutral value
 * (0, "", an empty view) and `error` keeps the first error, so a decoder can read a whole layout
 * and check `error` once; one Reader is reused for every frame (no allocation per message).
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-types.html
 */
import { describeType, ProtocolError, type ProtocolErrorReason } from "./ProtocolError.ts"

/** Shared non-fatal UTF-8 decoder: invalid sequences become U+FFFD, as libpq passes bytes through. */
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true })

const EMPTY = new Uint8Array(0)

/**
 * A view of `buf[start, end)` sharing its memory. Faster than `subarray` (no species lookup) and
 * always a plain Uint8Array, even when `buf` is a Node Buffer.
 */
export const byteView = (buf: Uint8Array, start: number, end: number): Uint8Array =>
  new Uint8Array(buf.buffer, buf.byteOffset + start, end - start)

/** Up to this many bytes, ASCII text is decoded in JS (8 bytes per fromCharCode call): faster than TextDecoder. */
const SHORT_TEXT = 64

/** Decodes `buf[start, end)` as UTF-8 (ASCII fast path for short strings, TextDecoder otherwise). */
export const decodeUtf8 = (buf: Uint8Array, start: number, end: number): string => {
  if (end - start > SHORT_TEXT) return decoder.decode(buf.subarray(start, end))
  let s = ""
  let i = start
  for (; i + 8 <= end; i += 8) {
    const c0 = buf[i]!
    const c1 = buf[i + 1]!
    const c2 = buf[i + 2]!
    const c3 = buf[i + 3]!
    const c4 = buf[i + 4]!
    const c5 = buf[i + 5]!
    const c6 = buf[i + 6]!
    const c7 = buf[i + 7]!
    if ((c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7) >= 0x80) return decoder.decode(buf.subarray(start, end))
    s += String.fromCharCode(c0, c1, c2, c3, c4, c5, c6, c7)
  }
  for (; i < end; i++) {
    const c = buf[i]!
    if (c >= 0x80) return decoder.decode(buf.subarray(start, end))
    s += String.fromCharCode(c)
  }
  return s
}

/** Decodes a whole byte array as UTF-8. */
export const decodeText = (bytes: Uint8Array): string => decodeUtf8(bytes, 0, bytes.length)

/** A cursor over one frame body. Create once and {@link Reader.reset} it per frame. */
export class Reader {
  buf: Uint8Array = EMPTY
  pos = 0
  end = 0
  /** Type byte of the current frame (for error messages). */
  type = 0
  /** First failure since the last reset, or undefined. */
  error: ProtocolError | undefined = undefined

  /** Points the reader at a new frame body. */
  reset(body: Uint8Array, type: number): this {
    this.buf = body
    this.pos = 0
    this.end = body.length
    this.type = type
    this.error = undefined
    return this
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.end - this.pos
  }

  /** Records `reason` (first failure wins), jumps to the end, and returns 0. */
  fail(reason: ProtocolErrorReason, what: string): 0 {
    if (this.error === undefined) {
      this.error = new ProtocolError(reason, `${describeType(this.type)} message: ${what}`, this.type)
    }
    this.pos = this.end
    return 0
  }

  private need(n: number, what: string): boolean {
    if (this.error !== undefined) return false
    if (this.end - this.pos >= n) return true
    this.fail("Truncated", `body ends before ${what}`)
    return false
  }

  /** Unsigned byte. */
  uint8(what = "a byte"): number {
    if (!this.need(1, what)) return 0
    return this.buf[this.pos++]!
  }

  /** Signed big-endian 16-bit integer. */
  int16(what = "an Int16"): number {
    if (!this.need(2, what)) return 0
    const b = this.buf
    const p = this.pos
    this.pos = p + 2
    return (((b[p]! << 8) | b[p + 1]!) << 16) >> 16
  }

  /** Unsigned big-endian 16-bit integer (counts: the server reads them unsigned). */
  uint16(what = "an Int16"): number {
    if (!this.need(2, what)) return 0
    const b = this.buf
    const p = this.pos
    this.pos = p + 2
    return (b[p]! << 8) | b[p + 1]!
  }

  /** Signed big-endian 32-bit integer. */
  int32(what = "an Int32"): number {
    if (!this.need(4, what)) return 0
    const b = this.buf
    const p = this.pos
    this.pos = p + 4
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!
  }

  /** Unsigned big-endian 32-bit integer (OIDs). */
  uint32(what = "an Int32"): number {
    return this.int32(what) >>> 0
  }

  /** A view of the next `n` bytes (no copy). */
  bytes(n: number, what = "bytes"): Uint8Array {
    if (!this.need(n, what)) return EMPTY
    const p = this.pos
    this.pos = p + n
    return byteView(this.buf, p, p + n)
  }

  /** A view of everything left (no copy). */
  rest(): Uint8Array {
    if (this.error !== undefined) return EMPTY
    const p = this.pos
    this.pos = this.end
    return byteView(this.buf, p, this.end)
  }

  /** A NUL-terminated UTF-8 string: `Truncated` if no byte is left, `MissingNul` if the body ends before a NUL. */
  cstring(what = "a string"): string {
    if (this.error !== undefined) return ""
    const start = this.pos
    if (start >= this.end) {
      this.fail("Truncated", `body ends before ${what}`)
      return ""
    }
    const nul = this.buf.indexOf(0, start)
    if (nul === -1 || nul >= this.end) {
      this.fail("MissingNul", `${what} has no terminating NUL`)
      return ""
    }
    this.pos = nul + 1
    return decodeUtf8(this.buf, start, nul)
  }

  /**
   * An Int32 length followed by that many bytes, or `null` for length -1 (DataRow columns,
   * FunctionCallResponse). Other negative lengths are `InvalidLength`.
   */
  lengthPrefixed(what = "a value"): Uint8Array | null {
    const n = this.int32(`the length of ${what}`)
    if (n < 0) {
      if (n === -1 && this.error === undefined) return null
      this.fail("InvalidLength", `${what} has negative length ${n}`)
      return EMPTY
    }
    return this.bytes(n, what)
  }

  /**
   * Returns the sticky error, or `TrailingBytes` if bytes are left, or undefined when the body
   * was consumed exactly.
   */
  done(): ProtocolError | undefined {
    if (this.error !== undefined) return this.error
    if (this.pos !== this.end) {
      this.fail("TrailingBytes", `${this.end - this.pos} unexpected bytes after the last field`)
      return this.error
    }
    return undefined
  }
}
