/**
 * Ranges and multiranges (PostgreSQL 14+) over any element codec: PgRange values, and arrays of
 * them for multiranges.
 *
 * Does: parse and print range literals as `range_in`/`range_out` do ("[1,5)", "(,5]", "empty",
 * quoted bounds with backslash or doubled-quote escapes, an unquoted empty bound = unbounded,
 * "" = the empty string) and multirange literals ("{[1,3),[5,7)}", "{}"); read and write the
 * binary forms (a flags byte, then each present bound as Int32 length + bytes; a multirange is an
 * Int32 count of length-prefixed ranges).
 * Does NOT: canonicalise: the server turns [1,5] of int4range into [1,6) and drops empty members
 * of a multirange; what comes back is what the server holds, what is sent is sent as given.
 */
import type { Writer } from "../protocol/Writer.ts"
import { int32, writePrefixed } from "./bytes.ts"
import { type AnyCodec, type Codec, parseForEncoding } from "./Codec.ts"
import { malformed, notEncodable, quoted } from "./ValueError.ts"

const EMPTY = 0x01
const LB_INC = 0x02
const UB_INC = 0x04
const LB_INF = 0x08
const UB_INF = 0x10

/** Which bounds a range includes, as in SQL: "[)" is the default of the range constructors. */
export type RangeBounds = "[)" | "[]" | "(]" | "()"

/**
 * A range: `lower`/`upper` are null when unbounded (never inclusive then), and `isEmpty` marks
 * 'empty' (whose bounds are null). An infinite element value (a timestamp 'infinity') is a bound,
 * not an absent one.
 */
export class PgRange<T> {
  readonly lower: T | null
  readonly upper: T | null
  readonly lowerInclusive: boolean
  readonly upperInclusive: boolean
  readonly isEmpty: boolean
  constructor(
    lower: T | null,
    upper: T | null,
    lowerInclusive: boolean,
    upperInclusive: boolean,
    isEmpty = false
  ) {
    this.lower = isEmpty ? null : lower
    this.upper = isEmpty ? null : upper
    this.lowerInclusive = !isEmpty && lower !== null && lowerInclusive
    this.upperInclusive = !isEmpty && upper !== null && upperInclusive
    this.isEmpty = isEmpty
  }

  /** The range from `lower` to `upper` (null: unbounded) with SQL's bound notation. */
  static of<T>(lower: T | null, upper: T | null, bounds: RangeBounds = "[)"): PgRange<T> {
    return new PgRange(lower, upper, bounds[0] === "[", bounds[1] === "]")
  }

  /** The empty range. */
  static empty<T>(): PgRange<T> {
    return new PgRange<T>(null, null, false, false, true)
  }
}

// ---------------------------------------------------------------------------------------------
// Text

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13)

interface Parsed<T> {
  readonly range: PgRange<T>
  readonly next: number
}

/** range_parse_bound: the bound text from `i` up to an unquoted `stop`, or null if it is empty. */
const bound = (type: string, s: string, i: number, stops: string): [string | null, number] => {
  if (stops.includes(s[i] ?? "")) return [null, i]
  let text = ""
  let inQuotes = false
  for (; i < s.length; i++) {
    const c = s[i]!
    if (!inQuotes && stops.includes(c)) return [text, i]
    if (c === "\\") {
      if (++i >= s.length) break
      text += s[i]
    } else if (c === '"') {
      if (inQuotes && s[i + 1] === '"') {
        text += '"'
        i++
      } else inQuotes = !inQuotes
    } else text += c
  }
  throw malformed(type, `${quoted(s)} ends inside a bound`)
}

const parseRangeAt = <T>(type: string, s: string, start: number, decode: (text: string) => T): Parsed<T> => {
  let i = start
  while (i < s.length && isSpace(s.charCodeAt(i))) i++
  if (s.slice(i, i + 5).toLowerCase() === "empty") return { range: PgRange.empty(), next: i + 5 }
  const open = s[i]
  if (open !== "[" && open !== "(")
    throw malformed(type, `${quoted(s)} does not start with '[', '(' or empty`)
  const [lower, afterLower] = bound(type, s, i + 1, ",")
  if (s[afterLower] !== ",") throw malformed(type, `${quoted(s)} has no ','`)
  const [upper, afterUpper] = bound(type, s, afterLower + 1, "])")
  const close = s[afterUpper]
  if (close !== "]" && close !== ")") throw malformed(type, `${quoted(s)} does not end with ']' or ')'`)
  const range = new PgRange(
    lower === null ? null : decode(lower),
    upper === null ? null : decode(upper),
    open === "[",
    close === "]"
  )
  return { range, next: afterUpper + 1 }
}

const parseRange = <T>(type: string, s: string, decode: (text: string) => T): PgRange<T> => {
  const { range, next } = parseRangeAt(type, s, 0, decode)
  for (let i = next; i < s.length; i++)
    if (!isSpace(s.charCodeAt(i))) throw malformed(type, `text after the range ${quoted(s)}`)
  return range
}

/** range_bound_escape: quoted when empty or holding a quote, backslash, bracket, parenthesis, comma or space. */
const quoteBound = (text: string): string =>
  text === "" || /["\\()[\],\s]/.test(text) ? `"${text.replace(/["\\]/g, "$&$&")}"` : text

const asRange = <T>(type: string, v: unknown): PgRange<T> => {
  if (v instanceof PgRange) return v
  throw notEncodable(type, v, "expected a PgRange")
}

const formatRange = <T>(range: PgRange<T>, encode: (v: T) => string): string => {
  if (range.isEmpty) return "empty"
  const lower = range.lower === null ? "" : quoteBound(encode(range.lower))
  const upper = range.upper === null ? "" : quoteBound(encode(range.upper))
  return `${range.lowerInclusive ? "[" : "("}${lower},${upper}${range.upperInclusive ? "]" : ")"}`
}

// ---------------------------------------------------------------------------------------------
// Binary

const decodeRangeBinary = <T>(
  type: string,
  b: Uint8Array,
  p: number,
  n: number,
  decode: (bytes: Uint8Array, start: number, length: number) => T
): PgRange<T> => {
  if (n < 1) throw malformed(type, "no flags byte")
  const flags = b[p]!
  if (flags & EMPTY) {
    if (n !== 1) throw malformed(type, "bytes after an empty range")
    return PgRange.empty()
  }
  let q = p + 1
  const end = p + n
  const read = (): T => {
    if (q + 4 > end) throw malformed(type, "a bound cut short")
    const len = int32(b, q)
    if (len < 0 || q + 4 + len > end) throw malformed(type, "a bound cut short")
    const value = decode(b, q + 4, len)
    q += 4 + len
    return value
  }
  const lower = flags & LB_INF ? null : read()
  const upper = flags & UB_INF ? null : read()
  if (q !== end) throw malformed(type, `${end - q} bytes after the bounds`)
  return new PgRange(lower, upper, (flags & LB_INC) !== 0, (flags & UB_INC) !== 0)
}

const encodeRangeBinary = <T>(range: PgRange<T>, w: Writer, encode: (v: T, out: Writer) => void): void => {
  if (range.isEmpty) {
    w.int8(EMPTY)
    return
  }
  w.int8(
    (range.lowerInclusive ? LB_INC : 0) |
      (range.upperInclusive ? UB_INC : 0) |
      (range.lower === null ? LB_INF : 0) |
      (range.upper === null ? UB_INF : 0)
  )
  if (range.lower !== null) writePrefixed(w, range.lower, encode)
  if (range.upper !== null) writePrefixed(w, range.upper, encode)
}

// ---------------------------------------------------------------------------------------------
// The codecs

/** The range type `name` over `element` (its subtype). */
export const rangeCodec = (
  oid: number,
  name: string,
  element: AnyCodec,
  arrayOid?: number
): Codec<PgRange<unknown>, PgRange<unknown> | string> => {
  const binary = element.binary
  return {
    oid,
    name,
    ...(arrayOid === undefined ? {} : { arrayOid }),
    text: {
      decode: (s) => parseRange(name, s, element.text.decode),
      encode: (v) => (typeof v === "string" ? v : formatRange(asRange(name, v), element.text.encode))
    },
    ...(binary === undefined
      ? {}
      : {
          binary: {
            decode: (b, p, n) => decodeRangeBinary(name, b, p, n, binary.decode),
            encode: (v, w) =>
              encodeRangeBinary(
                typeof v === "string"
                  ? parseForEncoding(name, v, (s) => parseRange(name, s, element.text.decode))
                  : asRange(name, v),
                w,
                binary.encode
              )
          }
        }),
    accepts: (v) => v instanceof PgRange || typeof v === "string"
  }
}

const parseMultirange = (
  type: string,
  s: string,
  decode: (text: string) => unknown
): Array<PgRange<unknown>> => {
  let i = 0
  const skip = () => {
    while (i < s.length && isSpace(s.charCodeAt(i))) i++
  }
  skip()
  if (s[i] !== "{") throw malformed(type, `${quoted(s)} does not start with '{'`)
  i++
  skip()
  const out: Array<PgRange<unknown>> = []
  if (s[i] === "}") i++
  else
    for (;;) {
      const { range, next } = parseRangeAt(type, s, i, decode)
      out.push(range)
      i = next
      skip()
      const c = s[i++]
      if (c === "}") break
      if (c !== ",") throw malformed(type, `${quoted(s)} expected ',' or '}'`)
    }
  skip()
  if (i !== s.length) throw malformed(type, `text after the multirange ${quoted(s)}`)
  return out
}

const asRanges = (type: string, v: unknown): ReadonlyArray<PgRange<unknown>> => {
  if (Array.isArray(v) && v.every((r) => r instanceof PgRange)) return v
  throw notEncodable(type, v, "expected an array of PgRange")
}

/** The multirange type `name` over the range codec `range`. */
export const multirangeCodec = (
  oid: number,
  name: string,
  range: Codec<PgRange<unknown>, PgRange<unknown> | string>,
  element: AnyCodec,
  arrayOid?: number
): Codec<ReadonlyArray<PgRange<unknown>>, ReadonlyArray<PgRange<unknown>> | string> => {
  const binary = range.binary
  return {
    oid,
    name,
    ...(arrayOid === undefined ? {} : { arrayOid }),
    arrayValues: true,
    text: {
      decode: (s) => parseMultirange(name, s, element.text.decode),
      encode: (v) =>
        typeof v === "string"
          ? v
          : `{${asRanges(name, v)
              .map((r) => range.text.encode(r))
              .join(",")}}`
    },
    ...(binary === undefined
      ? {}
      : {
          binary: {
            decode: (b, p, n) => {
              if (n < 4) throw malformed(name, "no range count")
              const count = int32(b, p)
              const out: Array<PgRange<unknown>> = []
              let q = p + 4
              for (let i = 0; i < count; i++) {
                const len = q + 4 <= p + n ? int32(b, q) : -1
                if (len < 0 || q + 4 + len > p + n) throw malformed(name, "a range cut short")
                out.push(binary.decode(b, q + 4, len))
                q += 4 + len
              }
              if (q !== p + n) throw malformed(name, `${p + n - q} bytes after the ranges`)
              return out
            },
            encode: (v, w) => {
              const ranges =
                typeof v === "string"
                  ? parseForEncoding(name, v, (s) => parseMultirange(name, s, element.text.decode))
                  : asRanges(name, v)
              w.int32(ranges.length)
              for (const r of ranges) writePrefixed(w, r, binary.encode)
            }
          }
        }),
    accepts: (v) => Array.isArray(v) || typeof v === "string"
  }
}
