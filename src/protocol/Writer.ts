/**
 * Growable byte buffer that builds one or more protocol frames back to back.
 *
 * Does: write big-endian integers, raw bytes and UTF-8 strings; open a frame (`begin(type)` or
 * `beginUntyped()` for the startup-phase packets), then `end()` back-patches its Int32 length, so a
 * whole request (Parse + Bind + Describe + Execute + Sync) becomes one Uint8Array; `rollback(mark)`
 * removes a half-written frame after a validation failure.
 * Does NOT: know message layouts (Frontend.ts does), validate values other than NUL bytes and
 * sizes, or throw.
 *
 * Memory model (like Node's pooled Buffers): the Writer carves its output out of a slab (64 KiB by
 * default). `finish()` returns a view of the bytes written since the previous `finish()` and never
 * writes to that region again, so the result stays valid while the Writer is reused at once, and
 * no ArrayBuffer is allocated per request. When the slab is full, a new one is allocated and the
 * unfinished output moves there. Results share their ArrayBuffer with other results: never
 * transfer or detach `result.buffer`.
 *
 * Invariants: positions given by `mark()` and taken by `rollback()`/`patchInt32()` are relative to
 * the start of the unfinished output; at most one frame is open at a time; `end()` never leaves a
 * frame whose length exceeds {@link MAX_MESSAGE_SIZE} (it rolls it back and returns an error).
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import { ProtocolError } from "./ProtocolError.ts"
import { MAX_MESSAGE_SIZE } from "./Types.ts"

const encoder = new TextEncoder()

/** Strings up to this many UTF-16 units are written by a plain loop (faster than encodeInto). */
const SHORT_STRING = 64
/** Above this many UTF-16 units the exact UTF-8 size is computed before growing the buffer. */
const LONG_STRING = 1 << 16

/** Result of {@link Writer.string} when the string contains a NUL byte and NULs were refused. */
export const STRING_HAS_NUL = -1
/** Result of {@link Writer.string} when the UTF-8 encoding exceeds {@link MAX_MESSAGE_SIZE}. */
export const STRING_TOO_LARGE = -2

/** Exact UTF-8 length of `s` (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder writes them). */
export const utf8Length = (s: string): number => {
  let bytes = 0
  const n = s.length
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

/** Default slab size. */
const SLAB = 64 * 1024
/** After `finish()`, a slab larger than this (grown for one huge message) is dropped, not reused. */
const MAX_KEPT_SLAB = 1024 * 1024

/**
 * A reusable output buffer. Typical use:
 * ```ts
 * const w = new Writer()
 * writeParse(w, "", sql, []); writeBind(w, "", "", params); w.bytes(SYNC)
 * socket.write(w.finish())
 * ```
 */
export class Writer {
  /** The current slab; the unfinished output is `buffer[start, start + length)`. */
  buffer: Uint8Array
  private start = 0
  private pos = 0
  /** Absolute position of the open frame's length field, or -1. */
  private frameStart = -1
  /** Absolute position of the open frame's first byte (its type byte, if typed). */
  private frameBegin = 0
  private readonly slabSize: number

  /** `slabSize`: bytes per slab (default 64 KiB); a larger message gets a larger slab. */
  constructor(slabSize: number = SLAB) {
    this.slabSize = Math.max(slabSize | 0, 16)
    this.buffer = new Uint8Array(this.slabSize)
  }

  /** Number of bytes written since the last `finish()` / `reset()`. */
  get length(): number {
    return this.pos - this.start
  }

  /** Makes room for `n` more bytes, moving the unfinished output to a new slab if needed. */
  ensure(n: number): void {
    if (this.pos + n <= this.buffer.length) return
    const used = this.pos - this.start
    let cap = this.slabSize
    while (cap < used + n) cap *= 2
    const next = new Uint8Array(cap)
    next.set(this.buffer.subarray(this.start, this.pos))
    const shift = this.start
    this.buffer = next
    this.start = 0
    this.pos = used
    if (this.frameStart >= 0) {
      this.frameStart -= shift
      this.frameBegin -= shift
    }
  }

  /** Current position (relative), to pass to {@link rollback} or {@link patchInt32}. */
  mark(): number {
    return this.pos - this.start
  }

  /** Forgets everything written after `mark` (and any frame opened after it). */
  rollback(mark: number): void {
    this.pos = this.start + mark
    if (this.frameStart >= this.pos) this.frameStart = -1
  }

  /** Writes one byte (`value & 0xff`). */
  int8(value: number): void {
    if (this.pos + 1 > this.buffer.length) this.ensure(1)
    this.buffer[this.pos++] = value
  }

  /** Writes a big-endian 16-bit integer (the low 16 bits of `value`, so signed and unsigned both work). */
  int16(value: number): void {
    if (this.pos + 2 > this.buffer.length) this.ensure(2)
    const b = this.buffer
    const p = this.pos
    b[p] = value >>> 8
    b[p + 1] = value
    this.pos = p + 2
  }

  /** Writes a big-endian 32-bit integer (the low 32 bits of `value`, so signed and unsigned both work). */
  int32(value: number): void {
    if (this.pos + 4 > this.buffer.length) this.ensure(4)
    const b = this.buffer
    const p = this.pos
    b[p] = value >>> 24
    b[p + 1] = value >>> 16
    b[p + 2] = value >>> 8
    b[p + 3] = value
    this.pos = p + 4
  }

  /** Overwrites 4 bytes at relative position `at` with a big-endian 32-bit integer (length back-patching). */
  patchInt32(at: number, value: number): void {
    this.patchAbsolute(this.start + at, value)
  }

  private patchAbsolute(at: number, value: number): void {
    const b = this.buffer
    b[at] = value >>> 24
    b[at + 1] = value >>> 16
    b[at + 2] = value >>> 8
    b[at + 3] = value
  }

  /** Copies `src` into the output. */
  bytes(src: Uint8Array): void {
    const n = src.length
    if (this.pos + n > this.buffer.length) this.ensure(n)
    if (n < 16) {
      const b = this.buffer
      let p = this.pos
      for (let i = 0; i < n; i++) b[p++] = src[i]!
      this.pos = p
    } else {
      this.buffer.set(src, this.pos)
      this.pos += n
    }
  }

  /**
   * Writes `s` as UTF-8 without a terminator. Returns the number of bytes written, or
   * {@link STRING_HAS_NUL} (if `refuseNul` and `s` contains U+0000) or {@link STRING_TOO_LARGE};
   * on a negative result nothing was written.
   */
  string(s: string, refuseNul: boolean): number {
    const n = s.length
    if (n <= SHORT_STRING) {
      if (this.pos + n * 3 > this.buffer.length) this.ensure(n * 3)
      const b = this.buffer
      const first = this.pos
      let p = first
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        if (c === 0 && refuseNul) return STRING_HAS_NUL
        b[p++] = c
      }
      if (i === n) {
        this.pos = p
        return p - first
      }
    }
    if (refuseNul && s.indexOf("\0") !== -1) return STRING_HAS_NUL
    if (n > LONG_STRING) {
      const exact = utf8Length(s)
      if (exact > MAX_MESSAGE_SIZE) return STRING_TOO_LARGE
      this.ensure(exact)
    } else if (this.pos + n * 3 > this.buffer.length) this.ensure(n * 3)
    const first = this.pos
    const written = encoder.encodeInto(s, this.buffer.subarray(first)).written
    this.pos = first + written
    return written
  }

  /** Writes `s` as a NUL-terminated UTF-8 string. Returns `false` (writing nothing) if `s` contains NUL or is too large. */
  cstring(s: string): boolean {
    if (this.string(s, true) < 0) return false
    this.int8(0)
    return true
  }

  /** Starts a frame with type byte `type` and a placeholder length. */
  begin(type: number): void {
    if (this.pos + 5 > this.buffer.length) this.ensure(5)
    this.buffer[this.pos] = type
    this.frameBegin = this.pos
    this.frameStart = this.pos + 1
    this.pos += 5
  }

  /** Starts an untyped frame (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest). */
  beginUntyped(): void {
    if (this.pos + 4 > this.buffer.length) this.ensure(4)
    this.frameBegin = this.pos
    this.frameStart = this.pos
    this.pos += 4
  }

  /**
   * Closes the open frame by writing its length. If the frame is longer than `maxLength`
   * (default {@link MAX_MESSAGE_SIZE}) it is rolled back and an error is returned.
   */
  end(maxLength: number = MAX_MESSAGE_SIZE): ProtocolError | undefined {
    const at = this.frameStart
    if (at < 0) return new ProtocolError("InvalidValue", "Writer.end() called without an open frame")
    this.frameStart = -1
    const length = this.pos - at
    if (length > maxLength) {
      const type = this.frameBegin < at ? this.buffer[this.frameBegin] : undefined
      this.pos = this.frameBegin
      return new ProtocolError(
        "MessageTooLarge",
        `message of ${length} bytes exceeds the limit of ${maxLength} bytes`,
        type
      )
    }
    this.patchAbsolute(at, length)
    return undefined
  }

  /** A view of the unfinished output. Later writes may change or move it: use it before writing again. */
  view(): Uint8Array {
    return new Uint8Array(this.buffer.buffer, this.start, this.pos - this.start)
  }

  /**
   * Returns the output written since the last `finish()` / `reset()` and starts a new one. The
   * result is a view that this Writer never writes to again, so it stays valid; see the module
   * header for the slab sharing rule.
   */
  finish(): Uint8Array {
    const out = new Uint8Array(this.buffer.buffer, this.start, this.pos - this.start)
    this.frameStart = -1
    if (this.buffer.length > MAX_KEPT_SLAB || this.buffer.length - this.pos < 64) {
      this.buffer = new Uint8Array(this.slabSize)
      this.start = 0
      this.pos = 0
    } else {
      this.start = this.pos
    }
    return out
  }

  /** Discards the unfinished output (the slab space is reused). */
  reset(): void {
    this.pos = this.start
    this.frameStart = -1
  }
}
