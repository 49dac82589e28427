/**
 * Incremental framer for the backend byte stream: chunks of any size in, whole frames out.
 *
 * Does: split `Byte1 type, Int32 length, body` frames out of socket chunks; keep the incomplete
 * tail between pushes; reject impossible lengths ("InvalidLength", < 4) and oversized frames
 * ("MessageTooLarge", > maxMessageSize) as soon as the 5-byte header is known, before buffering
 * their body; optionally decode each frame (`pushMessages`).
 * Does NOT: handle the unframed one-byte SSL/GSSENC answers (SslResponse.ts), know protocol
 * state, or throw.
 *
 * Zero-copy rule: a frame that lies inside one chunk is returned as a view of that
 * chunk. Only a frame that straddles chunks is copied, once, into a buffer of exactly its size when
 * its last byte arrives (until then the framer keeps views of the pieces). Therefore callers must
 * not mutate a chunk after pushing it.
 *
 * Invariants: frames come out in order, each exactly once; `bufferedBytes` (bytes held for the
 * incomplete frame) never exceeds maxMessageSize + 1; after the first error the framer is poisoned:
 * it drops its buffers and every later push returns that same error and no frames.
 *
 * @see https://www.postgresql.org/docs/current/protocol-overview.html#PROTOCOL-MESSAGE-CONCEPTS
 */
import { type BackendMessage, decodeBackend } from "./Backend.ts"
import { describeType, ProtocolError } from "./ProtocolError.ts"
import { byteView } from "./Reader.ts"
import { MAX_MESSAGE_SIZE } from "./Types.ts"

/** One frame: the type byte and the body (the bytes after the Int32 length). */
export interface Frame {
  readonly type: number
  readonly body: Uint8Array
}

/** Options of a {@link Framer}. */
export interface FramerOptions {
  /**
   * Largest accepted value of a frame's length field (which counts itself but not the type
   * byte). Default 1 GiB, like libpq. Values below 5 or not a number fall back to the bounds.
   */
  readonly maxMessageSize?: number
}

/** Result of {@link Framer.push}: the complete frames, and the error that stopped framing, if any. */
export interface PushResult {
  readonly frames: ReadonlyArray<Frame>
  readonly error: ProtocolError | undefined
}

/** Result of {@link Framer.pushMessages}: decoded messages before the first error, and that error. */
export interface PushMessagesResult {
  readonly messages: ReadonlyArray<BackendMessage>
  readonly error: ProtocolError | undefined
}

const EMPTY = new Uint8Array(0)
const NO_FRAMES: ReadonlyArray<Frame> = Object.freeze([])
const NO_MESSAGES: ReadonlyArray<BackendMessage> = Object.freeze([])

/**
 * The framer. Two ways to use it:
 * - `push(chunk)` / `pushMessages(chunk)`: arrays of frames or messages per chunk;
 * - `feed(chunk)` then `while (framer.next()) use(framer.type, framer.body)`: no allocation per
 *   frame, for the hot path. `framer.error` tells why `next()` stopped early.
 */
export class Framer {
  readonly maxMessageSize: number
  /** The first error; once set, the framer is poisoned. */
  error: ProtocolError | undefined = undefined
  /** Type byte of the frame found by the last successful `next()`. */
  type = 0
  /** Body of the frame found by the last successful `next()`. */
  body: Uint8Array = EMPTY

  private chunk: Uint8Array = EMPTY
  private pos = 0
  /** Header bytes of the incomplete frame held so far (0 = no incomplete frame, 5 = header known). */
  private headerLength = 0
  private readonly header = new Uint8Array(5)
  private partialType = 0
  private partialBodyLength = 0
  private readonly pieces: Array<Uint8Array> = []
  private received = 0

  constructor(options?: FramerOptions) {
    const max = options?.maxMessageSize
    this.maxMessageSize =
      max === undefined || Number.isNaN(max)
        ? MAX_MESSAGE_SIZE
        : Math.max(5, Math.min(Math.floor(max), 0x7fffffff))
  }

  /** Bytes held for the incomplete frame (header and body pieces), not counting the current chunk. */
  get bufferedBytes(): number {
    return this.headerLength + this.received
  }

  /** Makes `chunk` the input of `next()`. Do not mutate it afterwards. */
  feed(chunk: Uint8Array): void {
    if (this.pos < this.chunk.length) {
      // The previous chunk was not drained by next(): keep its tail in front of the new one.
      const rest = this.chunk.subarray(this.pos)
      const joined = new Uint8Array(rest.length + chunk.length)
      joined.set(rest, 0)
      joined.set(chunk, rest.length)
      chunk = joined
    }
    this.chunk = chunk
    this.pos = 0
  }

  /**
   * Finds the next complete frame in the fed bytes. Returns true and sets `type`/`body`, or
   * false when more bytes are needed (the tail is kept) or the framer failed (`error` is set).
   */
  next(): boolean {
    if (this.error !== undefined) return false
    const chunk = this.chunk
    const size = chunk.length
    let pos = this.pos
    if (this.headerLength > 0) return this.continuePartial(chunk, pos, size)
    const avail = size - pos
    if (avail < 5) {
      for (let i = 0; i < avail; i++) this.header[i] = chunk[pos + i]!
      this.headerLength = avail
      this.release()
      return false
    }
    const type = chunk[pos]!
    const length =
      (chunk[pos + 1]! << 24) | (chunk[pos + 2]! << 16) | (chunk[pos + 3]! << 8) | chunk[pos + 4]!
    if (!this.checkLength(type, length)) return false
    const end = pos + 1 + length
    if (end <= size) {
      this.type = type
      this.body = byteView(chunk, pos + 5, end)
      this.pos = end
      return true
    }
    // The frame continues in later chunks.
    pos += 5
    this.headerLength = 5
    this.partialType = type
    this.partialBodyLength = length - 4
    this.received = size - pos
    if (size > pos) this.pieces.push(byteView(chunk, pos, size))
    this.release()
    return false
  }

  /** Frames everything in `chunk`. After an error, returns that error (and no frames) forever. */
  push(chunk: Uint8Array): PushResult {
    if (this.error !== undefined) return { frames: NO_FRAMES, error: this.error }
    this.feed(chunk)
    const frames: Array<Frame> = []
    while (this.next()) frames.push({ type: this.type, body: this.body })
    return { frames, error: this.error }
  }

  /**
   * Frames and decodes everything in `chunk`. A decoding error poisons the framer like a framing
   * error: the messages before it are returned together with the error.
   */
  pushMessages(chunk: Uint8Array): PushMessagesResult {
    if (this.error !== undefined) return { messages: NO_MESSAGES, error: this.error }
    this.feed(chunk)
    const messages: Array<BackendMessage> = []
    while (this.next()) {
      const message = decodeBackend(this.type, this.body)
      if (message instanceof ProtocolError) {
        this.poison(message)
        break
      }
      messages.push(message)
    }
    return { messages, error: this.error }
  }

  /** Poisons the framer with `error` (e.g. when a caller's decoding failed) and drops its buffers. */
  poison(error: ProtocolError): void {
    if (this.error === undefined) this.error = error
    this.headerLength = 0
    this.pieces.length = 0
    this.received = 0
    this.body = EMPTY
    this.release()
  }

  private release(): void {
    this.chunk = EMPTY
    this.pos = 0
  }

  private checkLength(type: number, length: number): boolean {
    if (length < 4) {
      this.poison(
        new ProtocolError("InvalidLength", `${describeType(type)} message has invalid length ${length}`, type)
      )
      return false
    }
    if (length > this.maxMessageSize) {
      this.poison(
        new ProtocolError(
          "MessageTooLarge",
          `${describeType(type)} message of ${length} bytes exceeds the limit of ${this.maxMessageSize} bytes`,
          type
        )
      )
      return false
    }
    return true
  }

  private continuePartial(chunk: Uint8Array, pos: number, size: number): boolean {
    if (this.headerLength < 5) {
      const header = this.header
      while (this.headerLength < 5 && pos < size) header[this.headerLength++] = chunk[pos++]!
      if (this.headerLength < 5) {
        this.release()
        return false
      }
      const length = (header[1]! << 24) | (header[2]! << 16) | (header[3]! << 8) | header[4]!
      if (!this.checkLength(header[0]!, length)) return false
      this.partialType = header[0]!
      this.partialBodyLength = length - 4
      this.received = 0
    }
    const need = this.partialBodyLength - this.received
    const avail = size - pos
    if (avail < need) {
      if (avail > 0) {
        this.pieces.push(pos === 0 ? chunk : byteView(chunk, pos, size))
        this.received += avail
      }
      this.release()
      return false
    }
    let body: Uint8Array
    if (this.received === 0) {
      // Only the header straddled: the body lies inside this chunk.
      body = byteView(chunk, pos, pos + need)
    } else {
      body = new Uint8Array(this.partialBodyLength)
      let offset = 0
      const pieces = this.pieces
      for (let i = 0; i < pieces.length; i++) {
        const piece = pieces[i]!
        body.set(piece, offset)
        offset += piece.length
      }
      body.set(chunk.subarray(pos, pos + need), offset)
      pieces.length = 0
    }
    this.type = this.partialType
    this.body = body
    this.headerLength = 0
    this.received = 0
    this.pos = pos + need
    return true
  }
}
