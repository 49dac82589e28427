/**
 * COPY binary format (`FORMAT binary`), both ways, for typed rows. Pure: no I/O, no Effect.
 *
 * Layout (PostgreSQL docs, COPY → File Formats → Binary Format): the 11-byte signature
 * `PGCOPY\n\377\r\n\0`, an Int32 flags field, an Int32 header-extension length and that many
 * bytes; then per tuple an Int16 field count and per field an Int32 length (-1 for NULL) and the
 * value's bytes in the type's binary send/receive form; then the trailer, an Int16 -1.
 *
 * Does: write the header and trailer; encode batches of rows of JS values with one codec per
 * column (`CopyBinaryEncoder`, one buffer per batch, the batch's bytes discarded when a value is
 * refused); parse a binary COPY stream fed in chunks cut anywhere (`CopyBinaryParser`), decoding
 * each field with its column's codec, or handing out the raw bytes when no columns are given.
 * Every framing fault is a `CopyBinaryError` (short or bad header, flags this parser cannot
 * read, a field count other than the columns', a negative length below -1, a tuple cut by the
 * end of the stream, a missing trailer, bytes after the trailer), as is a value its codec refuses
 * or cannot decode (row and column named; the value itself never, it may be a secret).
 * Does NOT: choose the codecs (the connection layer describes the table or takes the caller's
 * types), send anything, or read files with OIDs (flag bit 16, gone since PostgreSQL 12).
 * Invariants: decoded values never keep a view of a chunk (codecs copy, raw fields are copies);
 * the parser copies only the unparsed tail of a chunk, and waits until a tuple it has started
 * can be complete before joining the pieces, so a huge field costs one copy, not one per chunk.
 */
import { Writer } from "../protocol/Writer.ts"
import { copyBytes } from "../types/bytes.ts"
import type { AnyCodec } from "../types/Codec.ts"
import { notEncodable, toValueError } from "../types/ValueError.ts"

/** One column of a typed COPY: its name (for errors) and the codec of its type. */
export interface CopyColumn {
  readonly name: string
  readonly codec: AnyCodec
}

/** `PGCOPY\n\377\r\n\0`. */
export const COPY_BINARY_SIGNATURE: Uint8Array = new Uint8Array([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00
])

const HEADER_LENGTH = 19

/** The header this client writes: the signature, flags 0, no extension. */
export const copyBinaryHeader = (): Uint8Array => {
  const out = new Uint8Array(HEADER_LENGTH)
  out.set(COPY_BINARY_SIGNATURE)
  return out
}

/** The trailer: an Int16 field count of -1. */
export const copyBinaryTrailer = (): Uint8Array => new Uint8Array([0xff, 0xff])

/** Whether `bytes` starts with the binary COPY signature (it never starts text output: NUL). */
export const startsWithSignature = (bytes: Uint8Array): boolean => {
  if (bytes.length < COPY_BINARY_SIGNATURE.length) return false
  for (let i = 0; i < COPY_BINARY_SIGNATURE.length; i++)
    if (bytes[i] !== COPY_BINARY_SIGNATURE[i]) return false
  return true
}

/** A row that cannot be encoded, or binary COPY data that cannot be read. */
export class CopyBinaryError {
  readonly _tag = "CopyBinaryError"
  readonly message: string
  /** 1-based row (tuple) number, when the fault is in a row. */
  readonly row: number | undefined
  /** 1-based column number, when the fault is in one value. */
  readonly column: number | undefined
  constructor(message: string, row?: number, column?: number) {
    this.message = message
    this.row = row
    this.column = column
  }
}

const JSON_OID = 114
const JSONB_OID = 3802

const columnLabel = (row: number, index: number, column: CopyColumn): string =>
  `row ${row}, column ${index + 1} "${column.name}" (${column.codec.name})`

/** The first column whose type has no binary codec (binary COPY cannot carry it), as an error. */
export const missingBinary = (columns: ReadonlyArray<CopyColumn>): CopyBinaryError | undefined => {
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!
    if (c.codec.binary === undefined)
      return new CopyBinaryError(
        `column ${i + 1} "${c.name}" (${c.codec.name}): the type has no binary codec here; use the text format`,
        undefined,
        i + 1
      )
  }
  return undefined
}

/** Writes one non-null value of `column` (length patched); throws what the codec throws. */
const writeValue = (w: Writer, column: CopyColumn, value: unknown): void => {
  const codec = column.codec
  const mark = w.mark()
  w.int32(0)
  if (typeof value === "string" && (codec.oid === JSON_OID || codec.oid === JSONB_OID)) {
    // A string is JSON text, as for parameters (never a JSON string value).
    if (codec.oid === JSONB_OID) w.int8(1)
    if (w.string(value, true) < 0)
      throw notEncodable(codec.name, value, "the text contains NUL or is too large")
  } else {
    if (!codec.accepts(value)) throw notEncodable(codec.name, value, "not a value of this type")
    if (codec.binary === undefined) throw notEncodable(codec.name, value, "the type has no binary format")
    codec.binary.encode(value, w)
  }
  w.patchInt32(mark, w.mark() - mark - 4)
}

/** Encodes rows of JS values as binary COPY tuples, one codec per column. Reuse it per COPY. */
export class CopyBinaryEncoder {
  private readonly columns: ReadonlyArray<CopyColumn>
  private readonly writer = new Writer(64 * 1024)

  constructor(columns: ReadonlyArray<CopyColumn>) {
    this.columns = columns
  }

  /**
   * The tuples of `rows` (numbered from `firstRow`), or the error of the first value refused:
   * then nothing of the batch is returned.
   */
  encode(rows: ReadonlyArray<ReadonlyArray<unknown>>, firstRow = 1): Uint8Array | CopyBinaryError {
    const w = this.writer
    const columns = this.columns
    const n = columns.length
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!
      if (row.length !== n) {
        w.reset()
        return new CopyBinaryError(
          `row ${firstRow + r} has ${row.length} values, the COPY has ${n} columns`,
          firstRow + r
        )
      }
      w.int16(n)
      let c = 0
      try {
        for (; c < n; c++) {
          const value = row[c]
          if (value === null || value === undefined) w.int32(-1)
          else writeValue(w, columns[c]!, value)
        }
      } catch (thrown) {
        w.reset()
        const column = columns[c]!
        const error = toValueError(column.codec.name, thrown)
        return new CopyBinaryError(
          `${columnLabel(firstRow + r, c, column)}: ${error.message}`,
          firstRow + r,
          c + 1
        )
      }
    }
    return w.finish()
  }
}

const int16At = (b: Uint8Array, p: number): number => ((b[p]! << 24) >> 16) | b[p + 1]!
const int32At = (b: Uint8Array, p: number): number =>
  (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!

const EMPTY = new Uint8Array(0)

/**
 * Incremental binary COPY parser: `push` chunks (cut anywhere), get the complete rows; `end`
 * when the data is over. After an error, every call returns that error again.
 */
export class CopyBinaryParser {
  private readonly columns: ReadonlyArray<CopyColumn> | undefined
  /** The unparsed bytes, from `pos`. */
  private buf: Uint8Array = EMPTY
  private pos = 0
  /** Copies of chunks that arrived while a tuple was incomplete, not yet joined to `buf`. */
  private pending: Array<Uint8Array> = []
  private pendingBytes = 0
  /** Bytes (from `pos`) needed before parsing can go on. */
  private need = 0
  private headerDone = false
  private finished = false
  private failure: CopyBinaryError | undefined
  /** Tuples read so far. */
  rows = 0

  /** `columns`: decode each field with its codec (the count must match); none: raw bytes. */
  constructor(columns?: ReadonlyArray<CopyColumn>) {
    this.columns = columns
  }

  push(chunk: Uint8Array): Array<Array<unknown>> | CopyBinaryError {
    if (this.failure !== undefined) return this.failure
    if (chunk.length === 0) return []
    if (this.finished) return this.fail(new CopyBinaryError("COPY binary data: bytes after the trailer"))
    if (this.pos >= this.buf.length && this.pendingBytes === 0) {
      this.buf = chunk
      this.pos = 0
    } else {
      this.pending.push(chunk)
      this.pendingBytes += chunk.length
      if (this.buf.length - this.pos + this.pendingBytes < this.need) {
        // Kept past this call: a copy (the chunk may be a view of a buffer the caller reuses).
        this.pending[this.pending.length - 1] = chunk.slice()
        return []
      }
    }
    if (this.buf.length - this.pos + this.pendingBytes < this.need) {
      this.buf = this.buf.slice(this.pos)
      this.pos = 0
      return []
    }
    this.join()
    const rows: Array<Array<unknown>> = []
    const error = this.parse(rows)
    if (error !== undefined) return this.fail(error)
    // Keep only a copy of the tail: the chunk may be a view of a buffer the caller reuses.
    this.buf = this.pos < this.buf.length ? this.buf.slice(this.pos) : EMPTY
    this.pos = 0
    return rows
  }

  /** The end of the data: an error unless the trailer was read (and nothing followed it). */
  end(): CopyBinaryError | undefined {
    if (this.failure !== undefined) return this.failure
    const left = this.buf.length - this.pos + this.pendingBytes
    if (!this.headerDone)
      return this.fail(
        new CopyBinaryError(`COPY binary data: short header (${left} of at least ${HEADER_LENGTH} bytes)`)
      )
    if (this.finished) return undefined
    if (left > 0)
      return this.fail(
        new CopyBinaryError(
          `COPY binary data: tuple ${this.rows + 1} is truncated (the data ended inside it)`,
          this.rows + 1
        )
      )
    return this.fail(new CopyBinaryError("COPY binary data: missing trailer (the data ended after a tuple)"))
  }

  private fail(error: CopyBinaryError): CopyBinaryError {
    this.failure = error
    this.buf = EMPTY
    this.pending = []
    this.pendingBytes = 0
    return error
  }

  private join(): void {
    if (this.pendingBytes === 0) return
    const head = this.buf.subarray(this.pos)
    const out = new Uint8Array(head.length + this.pendingBytes)
    out.set(head)
    let at = head.length
    for (const piece of this.pending) {
      out.set(piece, at)
      at += piece.length
    }
    this.buf = out
    this.pos = 0
    this.pending = []
    this.pendingBytes = 0
  }

  private parse(rows: Array<Array<unknown>>): CopyBinaryError | undefined {
    const b = this.buf
    const end = b.length
    if (!this.headerDone) {
      const p = this.pos
      const have = Math.min(end - p, COPY_BINARY_SIGNATURE.length)
      for (let i = 0; i < have; i++)
        if (b[p + i] !== COPY_BINARY_SIGNATURE[i])
          return new CopyBinaryError("COPY binary data: bad signature (is the COPY in FORMAT binary?)")
      if (end - p < HEADER_LENGTH) {
        this.need = HEADER_LENGTH
        return undefined
      }
      const flags = int32At(b, p + 11)
      if ((flags & 0x1ffff) !== 0)
        return new CopyBinaryError(
          (flags & 0x10000) !== 0
            ? "COPY binary data: the tuples carry OIDs (flag bit 16), which this parser does not read"
            : `COPY binary data: unknown critical header flags 0x${(flags & 0xffff).toString(16)}`
        )
      const extension = int32At(b, p + 15)
      if (extension < 0)
        return new CopyBinaryError(`COPY binary data: negative header extension length ${extension}`)
      if (end - p < HEADER_LENGTH + extension) {
        this.need = HEADER_LENGTH + extension
        return undefined
      }
      this.pos = p + HEADER_LENGTH + extension
      this.headerDone = true
    }
    const expected = this.columns?.length
    for (;;) {
      const p = this.pos
      if (end - p < 2) {
        this.need = 2
        return undefined
      }
      const count = int16At(b, p)
      if (count === -1) {
        this.finished = true
        this.pos = p + 2
        this.need = 0
        return this.pos < end ? new CopyBinaryError("COPY binary data: bytes after the trailer") : undefined
      }
      const tuple = this.rows + 1
      if (count < 0)
        return new CopyBinaryError(`COPY binary data: tuple ${tuple} has a field count of ${count}`, tuple)
      if (expected !== undefined && count !== expected)
        return new CopyBinaryError(
          `COPY binary data: tuple ${tuple} has ${count} fields, expected ${expected}`,
          tuple
        )
      // First pass: is the tuple complete?
      let q = p + 2
      let complete = true
      for (let i = 0; i < count; i++) {
        if (end - q < 4) {
          this.need = q + 4 - p
          complete = false
          break
        }
        const length = int32At(b, q)
        if (length < -1)
          return new CopyBinaryError(
            `COPY binary data: tuple ${tuple}, field ${i + 1} has a length of ${length}`,
            tuple,
            i + 1
          )
        q += 4
        if (length > 0) {
          if (end - q < length) {
            this.need = q + length - p
            complete = false
            break
          }
          q += length
        }
      }
      if (!complete) return undefined
      const row = this.decodeTuple(b, p + 2, count, tuple)
      if (row instanceof CopyBinaryError) return row
      rows.push(row)
      this.rows = tuple
      this.pos = q
      this.need = 0
    }
  }

  private decodeTuple(
    b: Uint8Array,
    start: number,
    count: number,
    tuple: number
  ): Array<unknown> | CopyBinaryError {
    const columns = this.columns
    const row = new Array<unknown>(count)
    let q = start
    let i = 0
    try {
      for (; i < count; i++) {
        const length = int32At(b, q)
        q += 4
        if (length < 0) {
          row[i] = null
          continue
        }
        const binary = columns?.[i]?.codec.binary
        row[i] = binary === undefined ? copyBytes(b, q, length) : binary.decode(b, q, length)
        q += length
      }
    } catch (thrown) {
      const column = columns![i]!
      const error = toValueError(column.codec.name, thrown)
      return new CopyBinaryError(`${columnLabel(tuple, i, column)}: ${error.message}`, tuple, i + 1)
    }
    return row
  }
}
