/**
 * Decoding whole rows with a plan made once per statement, and encoding parameters.
 *
 * Does: from a registry and the columns' type OIDs and formats (RowDescription, or the formats
 * the Bind asked for), build one decode function per column and a per-column kind, once; then
 * decode each DataRow body straight from the frame (the shared DataRowScanner: no per-column
 * views), with no codec lookup and no type switch per value. `resultFormats` picks the format
 * to ask for per column (binary where the codec has it and prefers it). `writeParameter` /
 * `encodeParameter` encode one parameter value with a codec, in the format `parameterFormat`
 * picks (text for strings — the server then parses them as it would a literal — and for codecs
 * without binary; binary otherwise).
 * Does NOT: choose between the text and binary protocols (the connection layer does), or build
 * object rows (later: a shared per-statement name → index descriptor, as asyncpg's Record).
 *
 * Errors: `decode` RETURNS a ValueError naming the column (`index`) or the scanner's
 * ProtocolError; the write/encode functions return a ValueError (`index` set by the caller with
 * `error.at(i)`). Nothing here throws.
 */
import { DataRowScanner } from "../protocol/DataRowScanner.ts"
import type { ProtocolError } from "../protocol/ProtocolError.ts"
import type { FormatCode } from "../protocol/Types.ts"
import { Writer } from "../protocol/Writer.ts"
import type { RowShape } from "../Result.ts"
import { copyBytes, utf8 } from "./bytes.ts"
import { type AnyCodec, identity, resultFormat } from "./Codec.ts"
import type { Registry } from "./Registry.ts"
import { malformed, notEncodable, toValueError, type ValueError } from "./ValueError.ts"

/** What the plan needs of a column: its type OID and the format its values arrive in. */
export interface ColumnType {
  readonly typeOid: number
  /** 0 text, 1 binary. */
  readonly format: number
}

/** The result format to ask for, per column: binary where the column's codec prefers it. */
export const resultFormats = (registry: Registry, typeOids: ReadonlyArray<number>): Array<FormatCode> =>
  typeOids.map((oid) => resultFormat(registry.codecFor(oid)))

const TEXT_AS_IS = 0
const TEXT = 1
const BINARY = 2
const BYTES = 3

type TextDecode = (text: string) => unknown
type BinaryDecode = (bytes: Uint8Array, start: number, length: number) => unknown

/** A row decoder for one statement's columns. Reuse it for every row of the statement. */
export class RowDecoder {
  readonly count: number
  private readonly kinds: Uint8Array
  private readonly textDecoders: ReadonlyArray<TextDecode>
  private readonly binaryDecoders: ReadonlyArray<BinaryDecode>
  private readonly names: ReadonlyArray<string>
  private readonly scanner = new DataRowScanner()

  /**
   * `asText`: every text column is kept as the server's text, whatever its codec (a connection
   * with text results that wants object rows); binary columns are still decoded.
   */
  constructor(registry: Registry, columns: ReadonlyArray<ColumnType>, asText = false) {
    const n = columns.length
    this.count = n
    this.kinds = new Uint8Array(n)
    const textDecoders: TextDecode[] = []
    const binaryDecoders: BinaryDecode[] = []
    const names: string[] = []
    for (let i = 0; i < n; i++) {
      const column = columns[i]!
      const codec: AnyCodec = registry.codecFor(column.typeOid)
      names.push(codec.name)
      textDecoders.push(codec.text.decode)
      const binary = codec.binary?.decode
      binaryDecoders.push(binary ?? copyBytes)
      this.kinds[i] =
        column.format === 1
          ? binary === undefined
            ? BYTES
            : BINARY
          : asText || codec.text.decode === identity
            ? TEXT_AS_IS
            : TEXT
    }
    this.textDecoders = textDecoders
    this.binaryDecoders = binaryDecoders
    this.names = names
  }

  /** Decodes one DataRow body into one value per column (`null` for SQL NULL). */
  decode(body: Uint8Array): Array<unknown> | ValueError | ProtocolError {
    const problem = this.scan(body)
    if (problem !== undefined) return problem
    const n = this.count
    const row = new Array<unknown>(n)
    let i = 0
    try {
      for (; i < n; i++) row[i] = this.value(body, i)
    } catch (thrown) {
      return toValueError(this.names[i] ?? "unknown", thrown).at(i)
    }
    return row
  }

  /**
   * Decodes one DataRow body into an object made by `shape.make()` (Result.ts `rowShape`): column
   * `i`'s value under `shape.keys[i]`. The keys must be distinct and must not include `__proto__`
   * (Result.ts `columnKeys` and `rowToObject` handle both); the caller makes the shape once per
   * statement.
   */
  decodeObject(body: Uint8Array, shape: RowShape): Record<string, unknown> | ValueError | ProtocolError {
    const problem = this.scan(body)
    if (problem !== undefined) return problem
    const n = this.count
    const keys = shape.keys
    const row = shape.make()
    let i = 0
    try {
      for (; i < n; i++) row[keys[i]!] = this.value(body, i)
    } catch (thrown) {
      return toValueError(this.names[i] ?? "unknown", thrown).at(i)
    }
    return row
  }

  /** Scans the body's field offsets; a problem when it is malformed or of the wrong width. */
  private scan(body: Uint8Array): ValueError | ProtocolError | undefined {
    const problem = this.scanner.scan(body)
    if (problem !== undefined) return problem
    const n = this.scanner.count
    if (n !== this.count) return malformed("record", `the row has ${n} columns, the statement ${this.count}`)
    return undefined
  }

  /** Column `i`'s value of the body last scanned (`null` for SQL NULL); a codec may throw. */
  private value(body: Uint8Array, i: number): unknown {
    const offsets = this.scanner.offsets
    const length = offsets[2 * i + 1]!
    if (length < 0) return null
    const start = offsets[2 * i]!
    const kind = this.kinds[i]
    if (kind === BINARY || kind === BYTES) return this.binaryDecoders[i]!(body, start, length)
    const text = utf8(body, start, start + length)
    return kind === TEXT_AS_IS ? text : this.textDecoders[i]!(text)
  }
}

/** The format to send a parameter in: text for strings and for codecs without binary, binary otherwise. */
export const parameterFormat = (codec: AnyCodec, value: unknown): FormatCode =>
  typeof value === "string" || codec.binary === undefined ? 0 : 1

/**
 * Writes one Bind parameter value — Int32 length and bytes, or -1 for null/undefined — in
 * `format`. Returns a ValueError (nothing written) when the codec refuses the value.
 */
export const writeParameter = (
  w: Writer,
  codec: AnyCodec,
  value: unknown,
  format: FormatCode
): ValueError | undefined => {
  if (value === null || value === undefined) {
    w.int32(-1)
    return undefined
  }
  const mark = w.mark()
  try {
    w.int32(0)
    if (format === 1) {
      if (codec.binary === undefined) throw notEncodable(codec.name, value, "the type has no binary format")
      codec.binary.encode(value, w)
      w.patchInt32(mark, w.mark() - mark - 4)
    } else {
      const text = codec.text.encode(value)
      if (typeof text !== "string")
        throw notEncodable(codec.name, value, "the text encoder returned no string")
      const n = w.string(text, false)
      if (n < 0) throw notEncodable(codec.name, value, "the value is too large")
      w.patchInt32(mark, n)
    }
    return undefined
  } catch (thrown) {
    w.rollback(mark)
    return toValueError(codec.name, thrown)
  }
}

const scratch = new Writer(1024)

/**
 * One parameter as what `writeBind` takes today: a string (text format), bytes (binary) or null.
 * Returns a ValueError when the codec refuses the value.
 */
export const encodeParameter = (
  codec: AnyCodec,
  value: unknown,
  format: FormatCode = parameterFormat(codec, value)
): string | Uint8Array | null | ValueError => {
  if (value === null || value === undefined) return null
  try {
    if (format === 0) {
      const text = codec.text.encode(value)
      if (typeof text !== "string")
        throw notEncodable(codec.name, value, "the text encoder returned no string")
      return text
    }
    if (codec.binary === undefined) throw notEncodable(codec.name, value, "the type has no binary format")
    codec.binary.encode(value, scratch)
    return scratch.finish().slice()
  } catch (thrown) {
    scratch.reset()
    return toValueError(codec.name, thrown)
  }
}

/** Decodes one value given as text or bytes (COPY fields, tests); returns a ValueError on failure. */
export const decodeValue = (codec: AnyCodec, value: string | Uint8Array): unknown | ValueError => {
  try {
    if (typeof value === "string") return codec.text.decode(value)
    if (codec.binary === undefined) throw malformed(codec.name, "the type has no binary format")
    return codec.binary.decode(value, 0, value.length)
  } catch (thrown) {
    return toValueError(codec.name, thrown)
  }
}
