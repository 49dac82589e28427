/**
 * Arrays of any element codec, in both formats: nested JS arrays (one level per dimension), NULL
 * elements as `null`, and lower bounds other than 1 kept on the outermost array as `lowerBounds`.
 *
 * Does: parse the server's array literal (`array_out`: "{1,2}", "{{1,2},{3,4}}", "{\"a b\",NULL}",
 * "[0:1]={1,2}", "{}", box's ';' delimiter) and write it back quoted as `array_in` needs; read and
 * write the binary form (ndim, has-null flag, element OID, then per dimension its size and lower
 * bound, then each element as Int32 length + bytes, -1 for NULL).
 * Does NOT: nest arrays of types whose JS values are themselves arrays (json, jsonb, int2vector,
 * oidvector, multiranges: `arrayValues` on their codec): a JS array of those encodes as ONE
 * dimension; their multi-dimensional arrays decode as nested arrays all the same.
 *
 * Invariants: a decoded array with every lower bound 1 (all but hand-made ones) is a plain array
 * with no extra property; `lowerBounds` is there only when some bound differs, and the encoders
 * write it back, so decode ∘ encode is the identity. Ragged nesting is a NotEncodable ValueError.
 */
import type { Writer } from "../protocol/Writer.ts"
import { int32, writePrefixed } from "./bytes.ts"
import { type AnyCodec, type Codec, parseForEncoding } from "./Codec.ts"
import { malformed, notEncodable } from "./ValueError.ts"

/** A decoded array: elements (or nested arrays), and `lowerBounds` when some bound is not 1. */
export interface PgArray<T> extends Array<T | null | PgArray<T>> {
  lowerBounds?: ReadonlyArray<number>
}

/** `values` with explicit lower bounds (one per dimension), e.g. `withLowerBounds([1, 2], [0])` is '[0:1]={1,2}'. */
export const withLowerBounds = <T>(
  values: ReadonlyArray<T>,
  lowerBounds: ReadonlyArray<number>
): PgArray<T> => {
  const out = [...values] as PgArray<T>
  out.lowerBounds = lowerBounds
  return out
}

const MAX_DIMS = 6

const attachBounds = <T>(out: PgArray<T>, lbs: ReadonlyArray<number>): PgArray<T> => {
  if (lbs.some((lb) => lb !== 1)) out.lowerBounds = lbs
  return out
}

// ---------------------------------------------------------------------------------------------
// Shape of a JS value to encode

interface Shape {
  readonly dims: ReadonlyArray<number>
  readonly lbs: ReadonlyArray<number>
  readonly count: number
}

const shapeOf = (type: string, value: ReadonlyArray<unknown>, nests: boolean): Shape => {
  const dims: number[] = []
  let level: unknown = value
  while (Array.isArray(level) && (dims.length === 0 || nests)) {
    dims.push(level.length)
    if (level.length === 0) break
    level = level[0]
  }
  const count = dims.reduce((a, b) => a * b, 1)
  if (dims.length > MAX_DIMS) throw notEncodable(type, value, `more than ${MAX_DIMS} dimensions`)
  const check = (v: unknown, d: number): void => {
    if (d === dims.length) {
      if (nests && Array.isArray(v)) throw notEncodable(type, value, "ragged nested arrays")
      return
    }
    if (!Array.isArray(v) || v.length !== dims[d]) throw notEncodable(type, value, "ragged nested arrays")
    for (const item of v) check(item, d + 1)
  }
  if (count > 0) check(value, 0)
  const given = (value as PgArray<unknown>).lowerBounds
  const lbs = given ?? dims.map(() => 1)
  if (lbs.length !== dims.length || !lbs.every(Number.isInteger))
    throw notEncodable(type, value, `lowerBounds has ${lbs.length} entries for ${dims.length} dimensions`)
  return count === 0 ? { dims: [], lbs: [], count: 0 } : { dims, lbs, count }
}

// ---------------------------------------------------------------------------------------------
// Text

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13)

/** A parser over one literal: `i` is the cursor. */
class TextParser {
  i = 0
  readonly s: string
  readonly delim: number
  readonly type: string
  readonly decode: (text: string) => unknown
  constructor(s: string, delim: string, type: string, decode: (text: string) => unknown) {
    this.s = s
    this.delim = delim.charCodeAt(0)
    this.type = type
    this.decode = decode
  }

  fail(what: string): never {
    throw malformed(this.type, `${what} at offset ${this.i} of the array literal`)
  }

  skip(): void {
    while (this.i < this.s.length && isSpace(this.s.charCodeAt(this.i))) this.i++
  }

  /** "[lb:ub][lb:ub]=" → lower bounds; undefined when absent. */
  bounds(): number[] | undefined {
    if (this.s.charCodeAt(this.i) !== 91) return undefined
    const lbs: number[] = []
    const re = /\[\s*([+-]?\d+)\s*(?::\s*([+-]?\d+)\s*)?\]/y
    for (;;) {
      this.skip()
      re.lastIndex = this.i
      const m = re.exec(this.s)
      if (m === null) break
      lbs.push(m[2] === undefined ? 1 : Number(m[1]))
      this.i = re.lastIndex
    }
    this.skip()
    if (this.s.charCodeAt(this.i) !== 61) this.fail("expected '=' after the dimensions")
    this.i++
    this.skip()
    return lbs
  }

  /** One element (quoted or not), decoded; `null` for an unquoted NULL. */
  element(): unknown {
    const s = this.s
    if (s.charCodeAt(this.i) === 34) {
      let text = ""
      let start = ++this.i
      for (;;) {
        if (this.i >= s.length) this.fail("unterminated quoted element")
        const c = s.charCodeAt(this.i)
        if (c === 34) break
        if (c === 92) {
          text += s.slice(start, this.i)
          start = ++this.i
        }
        this.i++
      }
      text += s.slice(start, this.i++)
      return this.decode(text)
    }
    let text = ""
    let start = this.i
    let escaped = false
    let end = this.i
    for (;;) {
      if (this.i >= s.length) this.fail("unterminated array")
      const c = s.charCodeAt(this.i)
      if (c === this.delim || c === 125) break
      if (c === 123 || c === 34) this.fail("unexpected character in an unquoted element")
      if (c === 92) {
        text += s.slice(start, this.i)
        escaped = true
        start = ++this.i
        end = this.i + 1
      } else if (!isSpace(c)) end = this.i + 1
      this.i++
    }
    text += s.slice(start, Math.max(start, end))
    if (text === "") this.fail("empty unquoted element")
    if (!escaped && text.length === 4 && text.toUpperCase() === "NULL") return null
    return this.decode(text)
  }

  /** A brace level; the cursor is on its '{'. `depth` levels below are collected into `dims`. */
  level(dims: number[], depth: number): PgArray<unknown> {
    this.i++
    this.skip()
    const items: PgArray<unknown> = []
    if (this.s.charCodeAt(this.i) === 125) {
      this.i++
      return items
    }
    for (;;) {
      this.skip()
      items.push(this.s.charCodeAt(this.i) === 123 ? this.level(dims, depth + 1) : this.element())
      this.skip()
      const c = this.s.charCodeAt(this.i++)
      if (c === 125) break
      if (c !== this.delim) this.fail("expected a delimiter or '}'")
    }
    if (dims[depth] === undefined) dims[depth] = items.length
    else if (dims[depth] !== items.length) this.fail("sub-arrays of different lengths")
    return items
  }
}

/** array_in over the server's output: nested arrays, with lowerBounds when the literal gave others than 1. */
export const parseArrayText = (
  type: string,
  s: string,
  delimiter: string,
  decode: (text: string) => unknown
): PgArray<unknown> => {
  const p = new TextParser(s, delimiter, type, decode)
  p.skip()
  const lbs = p.bounds()
  if (s.charCodeAt(p.i) !== 123) p.fail("expected '{'")
  const dims: number[] = []
  const out = p.level(dims, 0)
  p.skip()
  if (p.i !== s.length) p.fail("text after the array")
  if (lbs !== undefined) {
    if (out.length > 0 && lbs.length !== dims.length) p.fail("dimensions that do not match the elements")
    if (out.length > 0) attachBounds(out, lbs)
  }
  return out
}

/** array_out's quoting: needed when empty, NULL, or holding a quote, backslash, brace, delimiter or space. */
const quote = (text: string, delim: string): string => {
  let needs = text.length === 0 || (text.length === 4 && text.toUpperCase() === "NULL")
  for (let i = 0; !needs && i < text.length; i++) {
    const c = text.charCodeAt(i)
    needs = c === 34 || c === 92 || c === 123 || c === 125 || isSpace(c) || text[i] === delim
  }
  return needs ? `"${text.replace(/["\\]/g, "\\$&")}"` : text
}

export const formatArrayText = (
  type: string,
  value: ReadonlyArray<unknown>,
  delimiter: string,
  nests: boolean,
  encode: (v: unknown) => string
): string => {
  const { dims, lbs } = shapeOf(type, value, nests)
  if (dims.length === 0) return "{}"
  const level = (v: ReadonlyArray<unknown>, d: number): string => {
    let s = "{"
    for (let i = 0; i < v.length; i++) {
      if (i > 0) s += delimiter
      const item = v[i]
      s +=
        d + 1 < dims.length
          ? level(item as ReadonlyArray<unknown>, d + 1)
          : item === null
            ? "NULL"
            : quote(encode(item), delimiter)
    }
    return `${s}}`
  }
  const prefix = lbs.every((lb) => lb === 1)
    ? ""
    : `${dims.map((n, d) => `[${lbs[d]}:${lbs[d]! + n - 1}]`).join("")}=`
  return prefix + level(value, 0)
}

// ---------------------------------------------------------------------------------------------
// Binary

/** `decodeArrayBinary` of one dimension (most arrays): no shape arrays or closure; a packed array. */
const decodeVectorBinary = (
  type: string,
  b: Uint8Array,
  p: number,
  end: number,
  decode: (bytes: Uint8Array, start: number, length: number) => unknown
): PgArray<unknown> => {
  const size = int32(b, p + 12)
  if (size < 0) throw malformed(type, "a negative dimension")
  const out: Array<unknown> = []
  let q = p + 20
  for (let i = 0; i < size; i++) {
    if (q + 4 > end) throw malformed(type, "elements cut short")
    const len = int32(b, q)
    q += 4
    if (len < 0) out.push(null)
    else {
      if (q + len > end) throw malformed(type, "an element cut short")
      out.push(decode(b, q, len))
      q += len
    }
  }
  if (q !== end) throw malformed(type, `${end - q} bytes after the last element`)
  const lb = int32(b, p + 16)
  if (lb !== 1) (out as PgArray<unknown>).lowerBounds = [lb]
  return out as PgArray<unknown>
}

export const decodeArrayBinary = (
  type: string,
  b: Uint8Array,
  p: number,
  n: number,
  decode: (bytes: Uint8Array, start: number, length: number) => unknown
): PgArray<unknown> => {
  const end = p + n
  if (n < 12) throw malformed(type, "shorter than an array header")
  const ndim = int32(b, p)
  if (ndim < 0 || ndim > MAX_DIMS || n < 12 + 8 * ndim)
    throw malformed(type, `${ndim} dimensions in ${n} bytes`)
  if (ndim === 0) return []
  if (ndim === 1) return decodeVectorBinary(type, b, p, end, decode)
  const dims: number[] = []
  const lbs: number[] = []
  for (let d = 0; d < ndim; d++) {
    dims.push(int32(b, p + 12 + 8 * d))
    lbs.push(int32(b, p + 16 + 8 * d))
    if (dims[d]! < 0) throw malformed(type, "a negative dimension")
  }
  let q = p + 12 + 8 * ndim
  const level = (d: number): PgArray<unknown> => {
    const size = dims[d]!
    const out: PgArray<unknown> = new Array(size)
    if (d + 1 < ndim) {
      for (let i = 0; i < size; i++) out[i] = level(d + 1)
      return out
    }
    for (let i = 0; i < size; i++) {
      if (q + 4 > end) throw malformed(type, "elements cut short")
      const len = int32(b, q)
      q += 4
      if (len < 0) out[i] = null
      else {
        if (q + len > end) throw malformed(type, "an element cut short")
        out[i] = decode(b, q, len)
        q += len
      }
    }
    return out
  }
  const out = level(0)
  if (q !== end) throw malformed(type, `${end - q} bytes after the last element`)
  return attachBounds(out, lbs)
}

export const encodeArrayBinary = (
  type: string,
  value: ReadonlyArray<unknown>,
  w: Writer,
  elementOid: number,
  nests: boolean,
  encode: (v: unknown, out: Writer) => void
): void => {
  const { dims, lbs } = shapeOf(type, value, nests)
  w.int32(dims.length)
  const flags = w.mark()
  w.int32(0)
  w.int32(elementOid)
  for (let d = 0; d < dims.length; d++) {
    w.int32(dims[d]!)
    w.int32(lbs[d]!)
  }
  let hasNull = false
  const level = (v: ReadonlyArray<unknown>, d: number): void => {
    for (const item of v) {
      if (d + 1 < dims.length) level(item as ReadonlyArray<unknown>, d + 1)
      else if (item === null || item === undefined) {
        hasNull = true
        w.int32(-1)
      } else writePrefixed(w, item, encode)
    }
  }
  if (dims.length > 0) level(value, 0)
  if (hasNull) w.patchInt32(flags, 1)
}

// ---------------------------------------------------------------------------------------------
// The codec

/** The array type over `element` (`oid` is the element's `arrayOid`). */
export const arrayCodec = (
  element: AnyCodec,
  oid: number,
  name = `_${element.name}`
): Codec<PgArray<unknown>, ReadonlyArray<unknown> | string> => {
  const delim = element.delimiter ?? ","
  const nests = element.arrayValues !== true
  const asArray = (v: unknown): ReadonlyArray<unknown> => {
    if (Array.isArray(v)) return v
    throw notEncodable(name, v, "expected an array")
  }
  const binary = element.binary
  return {
    oid,
    name,
    text: {
      decode: (s) => parseArrayText(name, s, delim, element.text.decode),
      encode: (v) =>
        typeof v === "string" ? v : formatArrayText(name, asArray(v), delim, nests, element.text.encode)
    },
    ...(binary === undefined
      ? {}
      : {
          binary: {
            decode: (b, p, n) => decodeArrayBinary(name, b, p, n, binary.decode),
            encode: (v, w) => {
              const array =
                typeof v === "string"
                  ? parseForEncoding(name, v, (s) => parseArrayText(name, s, delim, element.text.decode))
                  : asArray(v)
              encodeArrayBinary(name, array, w, element.oid, nests, binary.encode)
            }
          }
        }),
    accepts: (v) => Array.isArray(v) || typeof v === "string"
  }
}
