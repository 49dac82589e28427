/**
 * Codecs of the character and byte types: text, varchar, bpchar, name, unknown, xml, refcursor,
 * "char" as string; bytea as Uint8Array; uuid as a lowercase canonical string; json and jsonb as
 * parsed JSON; jsonpath as string.
 *
 * Does: decode UTF-8 (the connection's client_encoding), bytea's hex and escape text formats,
 * uuid's 16 bytes, jsonb's and jsonpath's version byte 1.
 * Does NOT: normalise strings (bpchar keeps its padding, xml its declaration), or keep json's
 * formatting: json decodes with JSON.parse, so its whitespace, key order of duplicates and number
 * spellings are the parser's; numbers beyond 2^53 lose precision (use `jsonText` to get the text).
 *
 * json's encoder is the one exception to "strings pass through": every JS value, strings
 * included, is a JSON value, written with JSON.stringify (so "a" becomes the JSON string "a").
 */
import type { Writer } from "../protocol/Writer.ts"
import { copyBytes, expectLength, hexDigit, toHex, utf8 } from "./bytes.ts"
import { type Codec, canonicalText, identity, parseForEncoding } from "./Codec.ts"
import { malformed, notEncodable } from "./ValueError.ts"

// ---------------------------------------------------------------------------------------------
// Strings

/** The text to send for a string type: strings, and numbers/bigints/booleans as String() does. */
const toText = (type: string, value: unknown): string => {
  let s: string
  if (typeof value === "string") s = value
  else if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    s = String(value)
  else throw notEncodable(type, value, "expected a string")
  if (s.indexOf("\0") !== -1) throw notEncodable(type, value, "PostgreSQL text cannot contain NUL (U+0000)")
  return s
}

const isTextLike = (v: unknown): boolean =>
  typeof v === "string" || typeof v === "number" || typeof v === "bigint" || typeof v === "boolean"

const writeUtf8 = (w: Writer, s: string): void => {
  if (w.string(s, false) < 0) throw notEncodable("text", s, "the string is too large")
}

const stringType = (
  oid: number,
  name: string,
  arrayOid?: number
): Codec<string, string | number | bigint | boolean> => ({
  oid,
  name,
  ...(arrayOid === undefined ? {} : { arrayOid }),
  text: { decode: identity, encode: (v) => toText(name, v) },
  binary: {
    decode: (b, p, n) => utf8(b, p, p + n),
    encode: (v, w) => writeUtf8(w, toText(name, v))
  },
  // Text columns come as text: decoding is the same UTF-8 either way, and text skips a call.
  preferredFormat: 0,
  accepts: isTextLike
})

export const text = stringType(25, "text", 1009)
export const varchar = stringType(1043, "varchar", 1015)
export const bpchar = stringType(1042, "bpchar", 1014)
export const name = stringType(19, "name", 1003)
export const unknown = stringType(705, "unknown")
export const xml = stringType(142, "xml", 143)
export const refcursor = stringType(1790, "refcursor", 2201)

/** json as its text, unparsed (an opt-in override: `registry.with(jsonText)`). */
export const jsonText = stringType(114, "json", 199)

// ---------------------------------------------------------------------------------------------
// "char": one byte. The text output of a byte >= 0x80 is "\ooo" (PostgreSQL 15+); binary agrees.

const charFromByte = (c: number): string =>
  c === 0 ? "" : c < 0x80 ? String.fromCharCode(c) : `\\${c.toString(8).padStart(3, "0")}`

const byteOfChar = (s: string): number => {
  if (s.length === 0) return 0
  if (s.length === 1 && s.charCodeAt(0) < 0x80) return s.charCodeAt(0)
  if (s.length === 4 && s[0] === "\\" && /^[0-7]{3}$/.test(s.slice(1)))
    return Number.parseInt(s.slice(1), 8) & 0xff
  throw notEncodable('"char"', s, "expected one ASCII character or \\ooo")
}

export const char: Codec<string, string> = {
  oid: 18,
  name: "char",
  arrayOid: 1002,
  text: { decode: identity, encode: (v) => toText('"char"', v) },
  binary: {
    decode: (b, p, n) => {
      expectLength('"char"', n, 1)
      return charFromByte(b[p]!)
    },
    encode: (v, w) => w.int8(byteOfChar(toText('"char"', v)))
  },
  accepts: (v) => typeof v === "string"
}

// ---------------------------------------------------------------------------------------------
// bytea

/** bytea text: hex ("\x00ff", bytea_output = hex, the default) or escape ("\000\377", "\\"). */
export const decodeByteaText = (s: string): Uint8Array => {
  if (s.length >= 2 && s.charCodeAt(0) === 92 && (s.charCodeAt(1) | 0x20) === 120) {
    const n = (s.length - 2) >> 1
    if ((s.length & 1) !== 0) throw malformed("bytea", "odd number of hex digits")
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      const hi = hexDigit(s.charCodeAt(2 + 2 * i))
      const lo = hexDigit(s.charCodeAt(3 + 2 * i))
      if (hi < 0 || lo < 0) throw malformed("bytea", "invalid hex digit")
      out[i] = (hi << 4) | lo
    }
    return out
  }
  const out = new Uint8Array(s.length)
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c !== 92) {
      if (c > 0xff) throw malformed("bytea", "a character above U+00FF in escape format")
      out[n++] = c
    } else if (s.charCodeAt(i + 1) === 92) {
      out[n++] = 92
      i++
    } else {
      const oct = s.slice(i + 1, i + 4)
      if (!/^[0-3][0-7]{2}$/.test(oct)) throw malformed("bytea", "invalid escape sequence")
      out[n++] = Number.parseInt(oct, 8)
      i += 3
    }
  }
  return out.slice(0, n)
}

const asBytes = (value: unknown): Uint8Array => {
  if (value instanceof Uint8Array) return value
  throw notEncodable("bytea", value, "expected a Uint8Array")
}

export const bytea: Codec<Uint8Array, Uint8Array | string> = {
  oid: 17,
  name: "bytea",
  arrayOid: 1001,
  text: {
    decode: decodeByteaText,
    encode: (v) => (typeof v === "string" ? v : `\\x${toHex(asBytes(v), 0, v.length)}`)
  },
  binary: {
    decode: copyBytes,
    encode: (v, w) =>
      w.bytes(typeof v === "string" ? parseForEncoding("bytea", v, decodeByteaText) : asBytes(v))
  },
  accepts: (v) => v instanceof Uint8Array || typeof v === "string"
}

// ---------------------------------------------------------------------------------------------
// uuid

/** Char codes of the high and low hex digit of each byte value. */
const HI = Uint8Array.from({ length: 256 }, (_, i) => "0123456789abcdef".charCodeAt(i >> 4))
const LO = Uint8Array.from({ length: 256 }, (_, i) => "0123456789abcdef".charCodeAt(i & 15))

/** One String.fromCharCode call: a flat string (pieces concatenated would leave a rope to flatten later). */
const decodeUuidBinary = (b: Uint8Array, p: number, n: number): string => {
  expectLength("uuid", n, 16)
  const x0 = b[p]!
  const x1 = b[p + 1]!
  const x2 = b[p + 2]!
  const x3 = b[p + 3]!
  const x4 = b[p + 4]!
  const x5 = b[p + 5]!
  const x6 = b[p + 6]!
  const x7 = b[p + 7]!
  const x8 = b[p + 8]!
  const x9 = b[p + 9]!
  const xa = b[p + 10]!
  const xb = b[p + 11]!
  const xc = b[p + 12]!
  const xd = b[p + 13]!
  const xe = b[p + 14]!
  const xf = b[p + 15]!
  // prettier-ignore
  return String.fromCharCode(
    HI[x0]!,
    LO[x0]!,
    HI[x1]!,
    LO[x1]!,
    HI[x2]!,
    LO[x2]!,
    HI[x3]!,
    LO[x3]!,
    45,
    HI[x4]!,
    LO[x4]!,
    HI[x5]!,
    LO[x5]!,
    45,
    HI[x6]!,
    LO[x6]!,
    HI[x7]!,
    LO[x7]!,
    45,
    HI[x8]!,
    LO[x8]!,
    HI[x9]!,
    LO[x9]!,
    45,
    HI[xa]!,
    LO[xa]!,
    HI[xb]!,
    LO[xb]!,
    HI[xc]!,
    LO[xc]!,
    HI[xd]!,
    LO[xd]!,
    HI[xe]!,
    LO[xe]!,
    HI[xf]!,
    LO[xf]!
  )
}

/** uuid_in's forms: 32 hex digits, optionally in braces, with a hyphen allowed after any 4 digits. */
const encodeUuidBinary = (value: string, w: Writer): void => {
  if (typeof value !== "string") throw notEncodable("uuid", value, "expected a string")
  let s = value
  if (s.startsWith("{") && s.endsWith("}")) s = s.slice(1, -1)
  let digits = 0
  let byte = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 45 && digits > 0 && digits % 4 === 0 && digits < 32 && s.charCodeAt(i + 1) !== 45) continue
    const d = hexDigit(c)
    if (d < 0 || digits >= 32) throw notEncodable("uuid", value, "not a UUID")
    byte = (byte << 4) | d
    if (++digits % 2 === 0) {
      w.int8(byte)
      byte = 0
    }
  }
  if (digits !== 32) throw notEncodable("uuid", value, "not a UUID")
}

export const uuid = canonicalText(2950, "uuid", 2951, { decode: decodeUuidBinary, encode: encodeUuidBinary })

// ---------------------------------------------------------------------------------------------
// json, jsonb, jsonpath

const parseJson = (type: string, s: string): unknown => {
  try {
    return JSON.parse(s)
  } catch (e) {
    throw malformed(type, e instanceof Error ? e.message : "invalid JSON")
  }
}

const stringifyJson = (type: string, value: unknown): string => {
  let s: string | undefined
  try {
    s = JSON.stringify(value)
  } catch (e) {
    throw notEncodable(type, value, e instanceof Error ? e.message : "JSON.stringify failed")
  }
  if (s === undefined) throw notEncodable(type, value, "JSON.stringify gives nothing for it")
  return s
}

const versioned = (type: string, b: Uint8Array, p: number, n: number): number => {
  if (n < 1 || b[p] !== 1) throw malformed(type, `unknown binary version ${n < 1 ? "(empty)" : b[p]}`)
  return p + 1
}

const isJsonable = (v: unknown): boolean =>
  v !== undefined && typeof v !== "function" && typeof v !== "symbol"

export const json: Codec<unknown, unknown> = {
  oid: 114,
  name: "json",
  arrayOid: 199,
  text: { decode: (s) => parseJson("json", s), encode: (v) => stringifyJson("json", v) },
  binary: {
    decode: (b, p, n) => parseJson("json", utf8(b, p, p + n)),
    encode: (v, w) => writeUtf8(w, stringifyJson("json", v))
  },
  preferredFormat: 0,
  arrayValues: true,
  accepts: isJsonable
}

export const jsonb: Codec<unknown, unknown> = {
  oid: 3802,
  name: "jsonb",
  arrayOid: 3807,
  text: { decode: (s) => parseJson("jsonb", s), encode: (v) => stringifyJson("jsonb", v) },
  binary: {
    decode: (b, p, n) => parseJson("jsonb", utf8(b, versioned("jsonb", b, p, n), p + n)),
    encode: (v, w) => {
      const s = stringifyJson("jsonb", v)
      w.int8(1)
      writeUtf8(w, s)
    }
  },
  arrayValues: true,
  accepts: isJsonable
}

export const jsonpath: Codec<string, string> = {
  oid: 4072,
  name: "jsonpath",
  arrayOid: 4073,
  text: { decode: identity, encode: (v) => toText("jsonpath", v) },
  binary: {
    decode: (b, p, n) => utf8(b, versioned("jsonpath", b, p, n), p + n),
    encode: (v, w) => {
      const s = toText("jsonpath", v)
      w.int8(1)
      writeUtf8(w, s)
    }
  },
  accepts: (v) => typeof v === "string"
}
