/**
 * Text-format rows: a DataRow body (or its decoded columns) as one `string | null` per column.
 *
 * Does: decode straight from the frame with the shared DataRowScanner (no per-column views).
 * Values of up to 12 bytes go through a JS loop (fastest for short ASCII, and V8 copies such
 * short strings flat); longer ones through the runtime's native UTF-8 slice when it has one
 * (Node's Buffer, found as a global, never imported), else TextDecoder: building long strings
 * piecewise would leave rope strings that cost memory and GC time for as long as rows are kept.
 * Does NOT: interpret values by type (typed codecs are a layer above), or throw.
 */
import { DataRowScanner } from "./DataRowScanner.ts"
import type { ProtocolError } from "./ProtocolError.ts"
import { decodeText, decodeUtf8 } from "./Reader.ts"

/** One row: a value per column, `null` for SQL NULL. */
export type TextRow = Array<string | null>

const scanner = new DataRowScanner()

interface NativeSlice {
  utf8Slice(start: number, end: number): string
}

interface BufferLike {
  isBuffer(u: unknown): boolean
  from(buffer: ArrayBufferLike, offset: number, length: number): NativeSlice
}

const NativeBuffer = (globalThis as unknown as { Buffer?: BufferLike }).Buffer

const nativeOf = (native: BufferLike, bytes: Uint8Array): NativeSlice =>
  (native.isBuffer(bytes)
    ? bytes
    : native.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as unknown as NativeSlice

/** Decodes a text-format DataRow body, or says why it is malformed. */
export const scanTextRow = (body: Uint8Array): TextRow | ProtocolError => {
  const problem = scanner.scan(body)
  if (problem !== undefined) return problem
  const n = scanner.count
  const offsets = scanner.offsets
  const row: TextRow = new Array<string | null>(n)
  let native: NativeSlice | undefined
  for (let i = 0; i < n; i++) {
    const length = offsets[2 * i + 1]!
    if (length < 0) {
      row[i] = null
      continue
    }
    const start = offsets[2 * i]!
    if (length <= 12 || NativeBuffer === undefined) row[i] = decodeUtf8(body, start, start + length)
    else {
      if (native === undefined) native = nativeOf(NativeBuffer, body)
      row[i] = native.utf8Slice(start, start + length)
    }
  }
  return row
}

/** Decodes a DataRow that arrived as a message (columns already split into views). */
export const decodeTextRow = (columns: ReadonlyArray<Uint8Array | null>): TextRow => {
  const n = columns.length
  const row: TextRow = new Array<string | null>(n)
  for (let i = 0; i < n; i++) {
    const c = columns[i]!
    row[i] = c === null ? null : decodeText(c)
  }
  return row
}
