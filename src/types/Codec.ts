/**
 * The codec contract: how one PostgreSQL type (one OID) becomes a JS value and back, in the text
 * and the binary format.
 *
 * Does: define `Codec<T, I>`, its two formats and the constructors shared by the codec modules.
 * Does NOT: look codecs up (Registry.ts), decode rows (RowDecoder.ts), or know about Effect.
 *
 * Invariants every codec keeps (tested per codec in test/types/):
 * - text: `decode` reads exactly what the server's output function prints (with the session
 *   server's default DateStyle ISO and IntervalStyle postgres); `encode` writes what its
 *   input function reads. A string handed to `encode` is passed through unchanged (the server
 *   parses it, as it would a literal), so every codec's text encoder accepts strings — except
 *   json and jsonb, where a string is a JSON value (JSON.stringify), or decode ∘ encode would
 *   not be the identity. `decode` also reads what `encode` writes.
 * - binary: `decode(bytes, start, length)` reads the value at `bytes[start, start + length)`
 *   (never past it, never keeping a view of it: results are copies or fresh values, so a row never
 *   pins the socket buffer); `encode(value, out)` appends the value's bytes without the Int32
 *   length (the caller writes and patches it).
 * - text and binary decode to the same JS value, and `decode(encode(v))` equals `v` for every
 *   value `decode` can return.
 * - failures throw a `ValueError` (ValueError.ts explains the convention).
 */
import type { Writer } from "../protocol/Writer.ts"
import { malformed, notEncodable, ValueError } from "./ValueError.ts"

/** The text format of a type. */
export interface TextFormat<T, I> {
  /** Parses the server's text output. Throws `ValueError`. */
  readonly decode: (text: string) => T
  /** Renders a JS value as input for the server's input function. Throws `ValueError`. */
  readonly encode: (value: I) => string
}

/** The binary format of a type (its `typsend`/`typreceive`). */
export interface BinaryFormat<T, I> {
  /** Reads one value from `bytes[start, start + length)`. Throws `ValueError`. */
  readonly decode: (bytes: Uint8Array, start: number, length: number) => T
  /** Appends the value's bytes (without a length prefix) to `out`. Throws `ValueError`. */
  readonly encode: (value: I, out: Writer) => void
}

/**
 * One PostgreSQL type. `T` is what decoding returns; `I` is what encoding takes (a wider set: a
 * bigint column also takes numbers and strings).
 */
export interface Codec<T = unknown, I = T> {
  /** The type's OID. */
  readonly oid: number
  /** `pg_type.typname`, e.g. "int4", "_int4" for its array, "timestamptz". */
  readonly name: string
  /** The OID of the array type over this one (`typarray`), if any. */
  readonly arrayOid?: number
  /** The array element delimiter in text (`typdelim`): "," for every type but box (";"). */
  readonly delimiter?: string
  /** Every type has a text format. */
  readonly text: TextFormat<T, I>
  /** Absent when the type's binary format is not implemented: the column is then read as text. */
  readonly binary?: BinaryFormat<T, I>
  /**
   * The format to ask for in results (Bind's result format codes): 1 (binary) by default when
   * `binary` exists, 0 (text) otherwise; a codec may prefer text where it is faster.
   */
  readonly preferredFormat?: 0 | 1
  /**
   * The type's JS values are arrays themselves (json, jsonb, int2vector, oidvector, multiranges):
   * a JS array of them encodes as one dimension, never nested further.
   */
  readonly arrayValues?: boolean
  /** Whether `encode` takes this JS value (a cheap kind check, not a full validation). */
  readonly accepts: (value: unknown) => boolean
}

/** A codec whose types are erased, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds codecs of every T and I
export type AnyCodec = Codec<any, any>

/** The result format a column of this codec should be fetched in. */
export const resultFormat = (codec: AnyCodec): 0 | 1 =>
  codec.preferredFormat ?? (codec.binary === undefined ? 0 : 1)

const isString = (value: unknown): value is string => typeof value === "string"

/** Accepts strings only. */
export const acceptsString = isString

/**
 * The text decoder of types whose JS value is the server's text. The row decoder recognises it
 * and skips the call, so codecs that return the text unchanged should use this one function.
 */
export const identity = (s: string): string => s

/** The value itself if it is a string; else a NotEncodable ValueError for `type`. */
export const requireString = (type: string, value: unknown): string => {
  if (typeof value === "string") return value
  throw notEncodable(type, value, "expected a string")
}

/**
 * A text-only codec whose JS value is the server's text (tsvector, geometric types, aclitem…):
 * decode and encode are the identity, binary is absent, so columns of it are fetched as text.
 */
export const textOnly = (
  oid: number,
  name: string,
  arrayOid?: number,
  delimiter?: string
): Codec<string> => ({
  oid,
  name,
  ...(arrayOid === undefined ? {} : { arrayOid }),
  ...(delimiter === undefined ? {} : { delimiter }),
  text: { decode: identity, encode: (v) => requireString(name, v) },
  accepts: isString
})

/**
 * A codec whose JS value is the server's canonical text (uuid, inet, macaddr, pg_lsn…): text is
 * the identity, `binary` turns the binary form into that same text and back.
 */
export const canonicalText = (
  oid: number,
  name: string,
  arrayOid: number,
  binary: BinaryFormat<string, string>
): Codec<string, string> => ({
  oid,
  name,
  arrayOid,
  text: { decode: identity, encode: (v) => requireString(name, v) },
  binary,
  accepts: isString
})

/** A binary decoder of a fixed-size type: checks the length, then reads at the start. */
export const fixedSize =
  <T>(type: string, size: number, read: (bytes: Uint8Array, start: number) => T) =>
  (bytes: Uint8Array, start: number, length: number): T => {
    if (length !== size) throw malformed(type, `expected ${size} bytes, got ${length}`)
    return read(bytes, start)
  }

/**
 * A string a binary encoder was given, read by `parse` (the type's text decoder: the server's
 * canonical text). A text it cannot read is a NotEncodable error that does not quote it — a
 * parameter may be a secret.
 */
export const parseForEncoding = <T>(type: string, value: string, parse: (text: string) => T): T => {
  try {
    return parse(value)
  } catch (e) {
    if (e instanceof ValueError && e.reason === "Malformed")
      throw notEncodable(
        type,
        value,
        "not in the type's canonical text form (strings are sent as text by default)"
      )
    throw e
  }
}

/**
 * Wraps a binary encoder so that a string is first parsed by the text decoder: a binary parameter
 * given as text ("42", "2024-01-02 03:04:05+00") is read exactly as the server would print it.
 */
export const parsingStrings =
  <T, I>(type: string, decodeText: (text: string) => T, encode: (value: I | T, out: Writer) => void) =>
  (value: I | T | string, out: Writer): void =>
    encode(typeof value === "string" ? parseForEncoding(type, value, decodeText) : (value as I | T), out)
