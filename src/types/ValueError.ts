/**
 * The one error value of the value codecs: a value that cannot be decoded or encoded.
 *
 * Does: say which type the value was for, why it failed (`reason`) and what was wrong
 * (`message`), and — once the row decoder or the parameter encoder knows it — which column or
 * parameter (`index`, 0-based).
 * Does NOT: carry a stack trace, or include an offending parameter (it may be a secret: an encode
 * error names the value's JS kind, never its content; a string that a binary encoder could not
 * parse is reported without its text). Decode errors quote the server's text, cut to 40
 * characters. It is not an `Error`.
 *
 * Convention (decision 016): inside `types/`, codecs THROW a `ValueError` — decoders compose
 * (arrays, ranges and later composites call their element codecs), `JSON.parse` and `BigInt`
 * throw anyway, and the hot path then needs no per-value result check. The boundaries that the
 * connection layer calls (`RowDecoder.decode`, `encodeParameter`) catch once and RETURN the
 * error as a value, as everything in `protocol/` does; a non-`ValueError` thrown by a user codec
 * comes back as reason `CodecFailed` with the thrown value as `cause`.
 */

/**
 * Why a value failed.
 * - `Malformed`: the bytes or text are not a valid value of the type (a server bug, a wrong
 *   format code, or a session setting the text parser does not read, e.g. a non-ISO DateStyle).
 * - `OutOfRange`: a valid value the chosen JS type cannot hold (e.g. `infinity` as a `Date`), or a
 *   JS value outside the type's range (e.g. 2**31 for int4).
 * - `NotEncodable`: the JS value is not one the type's encoder takes (an object for int4, a
 *   string with a NUL for text, a ragged nested array).
 * - `CodecFailed`: a codec threw something that is not a `ValueError` (see `cause`).
 */
export type ValueErrorReason = "Malformed" | "OutOfRange" | "NotEncodable" | "CodecFailed"

export class ValueError {
  readonly _tag = "ValueError"
  /** The PostgreSQL type name, e.g. "int4" or "_timestamptz". */
  readonly type: string
  readonly reason: ValueErrorReason
  readonly message: string
  /** 0-based column (decoding) or parameter (encoding) index, once known. */
  readonly index: number | undefined
  readonly cause: unknown
  constructor(type: string, reason: ValueErrorReason, message: string, index?: number, cause?: unknown) {
    this.type = type
    this.reason = reason
    this.message = message
    this.index = index
    this.cause = cause
  }

  /** The same error for column or parameter `index`. */
  at(index: number): ValueError {
    return new ValueError(this.type, this.reason, this.message, index, this.cause)
  }
}

/** `true` when `u` is a {@link ValueError}. */
export const isValueError = (u: unknown): u is ValueError => u instanceof ValueError

/** Server text for a decode error message: quoted, cut to 40 characters. */
export const quoted = (text: string): string =>
  JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)

/** A `Malformed` error: `type: what`. */
export const malformed = (type: string, what: string): ValueError =>
  new ValueError(type, "Malformed", `${type}: ${what}`)

/** An `OutOfRange` error: `type: what`. */
export const outOfRange = (type: string, what: string): ValueError =>
  new ValueError(type, "OutOfRange", `${type}: ${what}`)

/** Describes a JS value by kind only (never its content): "a string", "an object (Map)", "null". */
export const kindOf = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  const t = typeof value
  if (t === "object") {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name
    return typeof name === "string" && name !== "Object" ? `an object (${name})` : "an object"
  }
  return t === "undefined" ? "undefined" : `a ${t}`
}

/** A `NotEncodable` error: `type: cannot encode <kind>[: why]`. */
export const notEncodable = (type: string, value: unknown, why?: string): ValueError =>
  new ValueError(
    type,
    "NotEncodable",
    `${type}: cannot encode ${kindOf(value)}${why === undefined ? "" : `: ${why}`}`
  )

/** Turns anything a codec threw into a ValueError for `type` (a ValueError is kept as it is). */
export const toValueError = (type: string, thrown: unknown): ValueError => {
  if (thrown instanceof ValueError) return thrown
  const message = thrown instanceof Error ? thrown.message : String(thrown)
  return new ValueError(type, "CodecFailed", `${type}: the codec failed: ${message}`, undefined, thrown)
}
