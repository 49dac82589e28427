/**
 * Allocation-free access to the columns of a DataRow body.
 *
 * Does: validate a DataRow ('D') body once and record each column's offset and length in a reused
 * Int32Array, so that row decoders can read integers or text straight from the frame without
 * creating one Uint8Array view per column (what `decodeBackend` does for the `DataRow` message).
 * Does NOT: know column types, copy bytes, or throw.
 *
 * Invariants: after a successful `scan(body)`, for every column i < count, either `length(i)` is -1
 * (SQL NULL) or `start(i) + length(i) <= body.length`; the body was consumed exactly. After a failed
 * scan `count` is 0. The scanner keeps a reference to the last body until the next scan.
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-DATAROW
 */
import { ProtocolError } from "./ProtocolError.ts"
import { byteView, decodeUtf8 } from "./Reader.ts"
import { BackendType } from "./Types.ts"

const EMPTY = new Uint8Array(0)

const fail = (reason: "Truncated" | "InvalidLength" | "TrailingBytes", what: string): ProtocolError =>
  new ProtocolError(reason, `'D' message: ${what}`, BackendType.DataRow)

/** Reusable scanner: create one per connection and call `scan` for each DataRow frame body. */
export class DataRowScanner {
  /** The body of the last scanned row. */
  body: Uint8Array = EMPTY
  /** Number of columns of the last scanned row. */
  count = 0
  /** Pairs (start, length) per column; length -1 means NULL. Grows as needed. */
  offsets: Int32Array = new Int32Array(64)

  /** Scans one DataRow body. Returns undefined on success, or the error (and sets `count` to 0). */
  scan(body: Uint8Array): ProtocolError | undefined {
    this.count = 0
    this.body = body
    const end = body.length
    if (end < 2) return fail("Truncated", "body ends before the column count")
    const n = (body[0]! << 8) | body[1]!
    if (n * 2 > this.offsets.length) this.offsets = new Int32Array(n * 2)
    const offsets = this.offsets
    let p = 2
    for (let i = 0; i < n; i++) {
      if (p + 4 > end) return fail("Truncated", `body ends before column ${i + 1}`)
      const len = (body[p]! << 24) | (body[p + 1]! << 16) | (body[p + 2]! << 8) | body[p + 3]!
      p += 4
      offsets[2 * i] = p
      offsets[2 * i + 1] = len
      if (len < 0) {
        if (len !== -1) return fail("InvalidLength", `column ${i + 1} has length ${len}`)
      } else {
        if (len > end - p) return fail("Truncated", `column ${i + 1} is cut short`)
        p += len
      }
    }
    if (p !== end) return fail("TrailingBytes", `${end - p} bytes after the last column`)
    this.count = n
    return undefined
  }

  /** Offset of column `i`'s first byte in `body`. */
  start(i: number): number {
    return this.offsets[2 * i]!
  }

  /** Byte length of column `i`, or -1 for NULL. */
  length(i: number): number {
    return this.offsets[2 * i + 1]!
  }

  /** Whether column `i` is NULL. */
  isNull(i: number): boolean {
    return this.offsets[2 * i + 1] === -1
  }

  /** Column `i` as a view of the body, or null. */
  bytes(i: number): Uint8Array | null {
    const len = this.offsets[2 * i + 1]!
    if (len < 0) return null
    const start = this.offsets[2 * i]!
    return byteView(this.body, start, start + len)
  }

  /** Column `i` decoded as UTF-8 text, or null. */
  text(i: number): string | null {
    const len = this.offsets[2 * i + 1]!
    if (len < 0) return null
    const start = this.offsets[2 * i]!
    return decodeUtf8(this.body, start, start + len)
  }
}
