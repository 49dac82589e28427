/**
 * Composite (record) types and enums: the codecs of a user's `CREATE TYPE … AS (…)` (and a
 * table's row type) and of `CREATE TYPE … AS ENUM (…)`.
 *
 * Does:
 * - `compositeCodec`: a record as a JS object keyed by attribute name, in attribute order, NULL
 *   fields `null`. Text: `record_out`'s literal `(1,"a b",,"x""y")` — empty unquoted = NULL,
 *   `""` = the empty string, a field quoted when empty or holding a quote, backslash, parenthesis,
 *   comma or space, quotes and backslashes doubled inside quotes; decoding also reads what
 *   `record_in` takes (backslash escapes inside and outside quotes). Binary (`record_send`): an
 *   Int32 field count, then per field its type OID, an Int32 length (-1 for NULL) and the bytes.
 *   Encoding takes an object (a missing or `undefined` key is NULL, a key that is no attribute is
 *   refused), an array in attribute order, or a string (a record literal, passed through).
 * - `enumCodec`: a label as a string, text and binary (binary is the label's UTF-8 bytes).
 * Does NOT: look attributes up on the server (the connection layer introspects, catalog.ts builds
 * codecs from what it found), or check labels (the server does: labels may have been added since
 * the codec was made).
 *
 * A record whose field count (or, in binary, a field's type OID) differs from the attributes the
 * codec was made with is a `Malformed` ValueError, and `onMismatch(oid)` is called first: the type
 * was altered since it was looked up, and the caller may drop what it knew of it.
 */
import type { Writer } from "../protocol/Writer.ts"
import { int32, utf8 } from "./bytes.ts"
import { type AnyCodec, type Codec, identity, requireString } from "./Codec.ts"
import type { Registry } from "./Registry.ts"
import { malformed, notEncodable, quoted, ValueError } from "./ValueError.ts"

/** One attribute of a composite type, as pg_attribute holds it (dropped ones left out). */
export interface CompositeAttribute {
  readonly name: string
  readonly typeOid: number
}

/** A decoded record: one property per attribute, in attribute order. */
export type PgRecord = Record<string, unknown>

/** What a composite codec takes: an object keyed by attribute name, an array in order, or a literal. */
export type RecordInput = Readonly<Record<string, unknown>> | ReadonlyArray<unknown> | string

export interface CompositeOptions {
  readonly arrayOid?: number | undefined
  /** Told when a value's shape no longer matches the attributes (the type was altered). */
  readonly onMismatch?: ((oid: number) => void) | undefined
}

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13)

/** record_in's scan of a literal into its fields' texts (`null` for NULL). */
export const parseRecordText = (type: string, s: string): Array<string | null> => {
  let i = 0
  while (i < s.length && isSpace(s.charCodeAt(i))) i++
  if (s.charCodeAt(i) !== 40) throw malformed(type, `${quoted(s)} does not start with '('`)
  i++
  const fields: Array<string | null> = []
  for (;;) {
    const c = s.charCodeAt(i)
    if (c === 44 || c === 41) fields.push(null)
    else {
      let text = ""
      let start = i
      let inQuote = false
      for (;;) {
        if (i >= s.length) throw malformed(type, `${quoted(s)} is cut short`)
        const ch = s.charCodeAt(i)
        if (ch === 92) {
          // A backslash takes the next character literally, inside quotes or not.
          if (i + 1 >= s.length) throw malformed(type, `${quoted(s)} is cut short`)
          text += s.slice(start, i) + s[i + 1]
          i += 2
          start = i
        } else if (ch === 34) {
          text += s.slice(start, i)
          if (inQuote && s.charCodeAt(i + 1) === 34) {
            text += '"'
            i += 2
          } else {
            inQuote = !inQuote
            i++
          }
          start = i
        } else if (!inQuote && (ch === 44 || ch === 41)) break
        else i++
      }
      fields.push(text + s.slice(start, i))
    }
    const end = s.charCodeAt(i++)
    if (end === 41) break
    if (end !== 44) throw malformed(type, `${quoted(s)} expected ',' or ')'`)
  }
  for (; i < s.length; i++)
    if (!isSpace(s.charCodeAt(i))) throw malformed(type, `text after the record ${quoted(s)}`)
  return fields
}

/** record_out's quoting of one field's text. */
const quoteField = (text: string): string => {
  let needs = text.length === 0
  for (let i = 0; !needs && i < text.length; i++) {
    const c = text.charCodeAt(i)
    needs = c === 34 || c === 92 || c === 40 || c === 41 || c === 44 || isSpace(c)
  }
  return needs ? `"${text.replace(/["\\]/g, "$&$&")}"` : text
}

/** record_out over the fields' texts (`null` for NULL). */
export const formatRecordText = (fields: ReadonlyArray<string | null>): string =>
  `(${fields.map((f) => (f === null ? "" : quoteField(f))).join(",")})`

/** A field's failure, said as the record's: which attribute, what was wrong, the same reason. */
const inAttribute = (type: string, attribute: string, thrown: unknown): ValueError => {
  if (!(thrown instanceof ValueError)) {
    const message = thrown instanceof Error ? thrown.message : String(thrown)
    return new ValueError(
      type,
      "CodecFailed",
      `${type}: attribute "${attribute}": ${message}`,
      undefined,
      thrown
    )
  }
  return new ValueError(
    type,
    thrown.reason,
    `${type}: attribute "${attribute}": ${thrown.message}`,
    undefined,
    thrown.cause
  )
}

const assign = (out: PgRecord, key: string, value: unknown): void => {
  out[key] = value
}

const define = (out: PgRecord, key: string, value: unknown): void => {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
}

interface Field {
  readonly name: string
  readonly typeOid: number
  readonly codec: AnyCodec
}

/**
 * The codec of the composite type `oid` with `attributes` (in attnum order, dropped ones left
 * out), each read and written with `registry`'s codec of its type (an unknown type: its text). It
 * has a binary format when every attribute's codec has one.
 */
export const compositeCodec = (
  oid: number,
  name: string,
  attributes: ReadonlyArray<CompositeAttribute>,
  registry: Registry,
  options: CompositeOptions = {}
): Codec<PgRecord, RecordInput> => {
  const fields: ReadonlyArray<Field> = attributes.map((a) => ({
    name: a.name,
    typeOid: a.typeOid,
    codec: registry.codecFor(a.typeOid)
  }))
  const n = fields.length
  const names = new Set(fields.map((f) => f.name))
  // An attribute named __proto__ is an own property, never the object's prototype.
  const put = names.has("__proto__") ? define : assign
  const mismatch = (what: string): ValueError => {
    options.onMismatch?.(oid)
    return malformed(name, `${what}: the type changed since it was looked up`)
  }

  /** The JS values of an input, one per attribute (`undefined` = NULL). */
  const valuesOf = (v: unknown): ReadonlyArray<unknown> => {
    if (Array.isArray(v)) {
      if (v.length !== n) throw notEncodable(name, v, `expected ${n} fields, got ${v.length}`)
      return v
    }
    if (typeof v !== "object" || v === null) throw notEncodable(name, v, "expected an object or an array")
    for (const key of Object.keys(v)) {
      if (!names.has(key)) throw notEncodable(name, v, `"${key}" is not an attribute of ${name}`)
    }
    const record = v as Readonly<Record<string, unknown>>
    return fields.map((f) => (Object.hasOwn(record, f.name) ? record[f.name] : undefined))
  }

  const decodeText = (s: string): PgRecord => {
    const texts = parseRecordText(name, s)
    if (texts.length !== n) throw mismatch(`the record has ${texts.length} fields, the type ${n}`)
    const out: PgRecord = {}
    for (let i = 0; i < n; i++) {
      const f = fields[i]!
      const text = texts[i]!
      try {
        put(out, f.name, text === null ? null : f.codec.text.decode(text))
      } catch (thrown) {
        throw inAttribute(name, f.name, thrown)
      }
    }
    return out
  }

  const encodeText = (v: RecordInput): string => {
    if (typeof v === "string") return v
    const values = valuesOf(v)
    const texts = new Array<string | null>(n)
    for (let i = 0; i < n; i++) {
      const f = fields[i]!
      const value = values[i]
      if (value === null || value === undefined) {
        texts[i] = null
        continue
      }
      try {
        const text = f.codec.text.encode(value)
        if (typeof text !== "string")
          throw notEncodable(f.codec.name, value, "the text encoder returned no string")
        texts[i] = text
      } catch (thrown) {
        throw inAttribute(name, f.name, thrown)
      }
    }
    return formatRecordText(texts)
  }

  const decodeBinary = (b: Uint8Array, p: number, length: number): PgRecord => {
    const end = p + length
    if (length < 4) throw malformed(name, "no field count")
    const count = int32(b, p)
    if (count !== n) throw mismatch(`the record has ${count} fields, the type ${n}`)
    let q = p + 4
    const out: PgRecord = {}
    for (let i = 0; i < n; i++) {
      const f = fields[i]!
      if (q + 8 > end) throw malformed(name, "a field cut short")
      const fieldOid = int32(b, q) >>> 0
      if (fieldOid !== f.typeOid)
        throw mismatch(`attribute "${f.name}" came as type ${fieldOid}, not ${f.typeOid}`)
      const len = int32(b, q + 4)
      q += 8
      if (len < 0) {
        put(out, f.name, null)
        continue
      }
      if (q + len > end) throw malformed(name, "a field cut short")
      try {
        put(out, f.name, f.codec.binary!.decode(b, q, len))
      } catch (thrown) {
        throw inAttribute(name, f.name, thrown)
      }
      q += len
    }
    if (q !== end) throw malformed(name, `${end - q} bytes after the last field`)
    return out
  }

  const encodeBinary = (v: RecordInput, w: Writer): void => {
    const values = typeof v === "string" ? valuesOf(decodeText(v)) : valuesOf(v)
    w.int32(n)
    for (let i = 0; i < n; i++) {
      const f = fields[i]!
      const value = values[i]
      w.int32(f.typeOid)
      if (value === null || value === undefined) {
        w.int32(-1)
        continue
      }
      const at = w.mark()
      w.int32(0)
      try {
        f.codec.binary!.encode(value, w)
      } catch (thrown) {
        throw inAttribute(name, f.name, thrown)
      }
      w.patchInt32(at, w.mark() - at - 4)
    }
  }

  const binary = fields.every((f) => f.codec.binary !== undefined)
  return {
    oid,
    name,
    ...(options.arrayOid === undefined ? {} : { arrayOid: options.arrayOid }),
    text: { decode: decodeText, encode: encodeText },
    ...(binary ? { binary: { decode: decodeBinary, encode: encodeBinary } } : {}),
    accepts: (v) =>
      typeof v === "string" || (typeof v === "object" && v !== null && !(v instanceof Uint8Array))
  }
}

/** An enum's codec, with the labels it had when it was looked up (in sort order). */
export interface EnumCodec extends Codec<string, string> {
  readonly labels: ReadonlyArray<string>
}

/** The codec of the enum type `oid`: a label as a string, in text and binary (its UTF-8 bytes). */
export const enumCodec = (
  oid: number,
  name: string,
  labels: ReadonlyArray<string> = [],
  arrayOid?: number
): EnumCodec => ({
  oid,
  name,
  labels,
  ...(arrayOid === undefined ? {} : { arrayOid }),
  text: { decode: identity, encode: (v) => requireString(name, v) },
  binary: {
    decode: (b, p, n) => utf8(b, p, p + n),
    encode: (v, w) => {
      if (w.string(requireString(name, v), true) < 0)
        throw notEncodable(name, v, "a label cannot contain NUL or be this large")
    }
  },
  // The text is the label: fetched as text, nothing to decode.
  preferredFormat: 0,
  accepts: (v) => typeof v === "string"
})
