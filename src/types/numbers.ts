/**
 * Codecs of the boolean and number types: bool; int2, int4 and the 32-bit OID family (oid, xid,
 * cid) as number; int8 and xid8 as bigint; float4 and float8 as number (NaN, ±Infinity and -0
 * kept); money as bigint minor units.
 *
 * Does: parse the server's text, read and write the binary forms, range-check what it encodes.
 * Does NOT: round or coerce: a non-integer for an integer type, or an integer outside the type's
 * range, is a ValueError, not a truncation.
 *
 * float4 is decoded to the exact float32 value (Math.fround of the text, the raw bits in binary),
 * so both formats agree: 1.1::float4 is 1.100000023841858.
 */
import type { Writer } from "../protocol/Writer.ts"
import {
  float32,
  float64,
  int16,
  int32,
  int64,
  uint32,
  uint64,
  writeFloat32,
  writeFloat64,
  writeInt64
} from "./bytes.ts"
import { type Codec, fixedSize, parsingStrings } from "./Codec.ts"
import { malformed, notEncodable, outOfRange, quoted } from "./ValueError.ts"

// ---------------------------------------------------------------------------------------------
// The binary decoders of the hot types, one top-level function each: a decoder made by a shared
// factory would share its call sites (and their type feedback) with every other type's.

const lengthError = (type: string, size: number, n: number) =>
  malformed(type, `expected ${size} bytes, got ${n}`)

const decodeBool = (b: Uint8Array, p: number, n: number): boolean => {
  if (n !== 1) throw lengthError("bool", 1, n)
  return b[p] !== 0
}
const decodeInt2 = (b: Uint8Array, p: number, n: number): number => {
  if (n !== 2) throw lengthError("int2", 2, n)
  return ((b[p]! << 24) >> 16) | b[p + 1]!
}
const decodeInt4 = (b: Uint8Array, p: number, n: number): number => {
  if (n !== 4) throw lengthError("int4", 4, n)
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!
}
const decodeInt8 = (b: Uint8Array, p: number, n: number): bigint => {
  if (n !== 8) throw lengthError("int8", 8, n)
  return int64(b, p)
}
const decodeFloat4 = (b: Uint8Array, p: number, n: number): number => {
  if (n !== 4) throw lengthError("float4", 4, n)
  return float32(b, p)
}
const decodeFloat8 = (b: Uint8Array, p: number, n: number): number => {
  if (n !== 8) throw lengthError("float8", 8, n)
  return float64(b, p)
}

// ---------------------------------------------------------------------------------------------
// bool

const decodeBoolText = (s: string): boolean => {
  if (s === "t") return true
  if (s === "f") return false
  const l = s.toLowerCase()
  if (l === "true") return true
  if (l === "false") return false
  throw malformed("bool", `${quoted(s)} is not t or f`)
}

const asBool = (value: unknown): boolean => {
  if (typeof value === "boolean") return value
  throw notEncodable("bool", value, "expected a boolean")
}

export const bool: Codec<boolean, boolean | string> = {
  oid: 16,
  name: "bool",
  arrayOid: 1000,
  text: {
    decode: decodeBoolText,
    encode: (v) => (typeof v === "string" ? v : asBool(v) ? "t" : "f")
  },
  binary: {
    decode: decodeBool,
    encode: parsingStrings("bool", decodeBoolText, (v, w) => w.int8(asBool(v) ? 1 : 0))
  },
  accepts: (v) => typeof v === "boolean" || typeof v === "string"
}

// ---------------------------------------------------------------------------------------------
// Integers that fit a JS number: int2, int4, oid, xid, cid

/** Parses a decimal integer of the server's output and checks its range. */
const parseInteger = (type: string, s: string, min: number, max: number): number => {
  const n = Number(s)
  if (s.length === 0 || !Number.isInteger(n)) throw malformed(type, `${quoted(s)} is not an integer`)
  if (n < min || n > max) throw malformed(type, `${quoted(s)} is out of range`)
  return n
}

/** A JS number or bigint as an integer in [min, max], or a ValueError. */
const toInteger = (type: string, value: unknown, min: number, max: number): number => {
  let n: number
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw notEncodable(type, value, `${value} is not an integer`)
    n = value
  } else if (typeof value === "bigint") n = Number(value)
  else throw notEncodable(type, value, "expected a number or a bigint")
  if (n < min || n > max) throw outOfRange(type, `${String(value)} is outside ${min}..${max}`)
  return n
}

const isNumeric = (v: unknown): boolean =>
  typeof v === "number" || typeof v === "bigint" || typeof v === "string"

const integer = (
  oid: number,
  name: string,
  arrayOid: number,
  size: 2 | 4,
  min: number,
  max: number,
  decode?: (b: Uint8Array, p: number, n: number) => number
): Codec<number, number | bigint | string> => {
  const decodeText = (s: string): number => parseInteger(name, s, min, max)
  const read = size === 2 ? int16 : min < 0 ? int32 : uint32
  const write = size === 2 ? (w: Writer, n: number) => w.int16(n) : (w: Writer, n: number) => w.int32(n)
  return {
    oid,
    name,
    arrayOid,
    text: {
      decode: decodeText,
      encode: (v) => (typeof v === "string" ? v : String(toInteger(name, v, min, max)))
    },
    binary: {
      decode: decode ?? fixedSize(name, size, read),
      encode: parsingStrings(name, decodeText, (v, w) => write(w, toInteger(name, v, min, max)))
    },
    accepts: isNumeric
  }
}

export const int2 = integer(21, "int2", 1005, 2, -32768, 32767, decodeInt2)
export const int4 = integer(23, "int4", 1007, 4, -2147483648, 2147483647, decodeInt4)
export const oid = integer(26, "oid", 1028, 4, 0, 4294967295)
export const xid = integer(28, "xid", 1011, 4, 0, 4294967295)
export const cid = integer(29, "cid", 1012, 4, 0, 4294967295)

// ---------------------------------------------------------------------------------------------
// 64-bit integers as bigint: int8, xid8, money

const INT8_MIN = -(2n ** 63n)
const INT8_MAX = 2n ** 63n - 1n
const UINT8_MAX = 2n ** 64n - 1n

const parseBigInt = (type: string, s: string, min: bigint, max: bigint): bigint => {
  let v: bigint
  try {
    v = BigInt(s)
  } catch {
    throw malformed(type, `${quoted(s)} is not an integer`)
  }
  if (s.length === 0 || v < min || v > max) throw malformed(type, `${quoted(s)} is out of range`)
  return v
}

const toBigInt = (type: string, value: unknown, min: bigint, max: bigint): bigint => {
  let v: bigint
  if (typeof value === "bigint") v = value
  else if (typeof value === "number") {
    if (!Number.isInteger(value)) throw notEncodable(type, value, `${value} is not an integer`)
    v = BigInt(value)
  } else throw notEncodable(type, value, "expected a bigint or a number")
  if (v < min || v > max) throw outOfRange(type, `${v} is outside ${min}..${max}`)
  return v
}

const bigInteger = (
  oid: number,
  name: string,
  arrayOid: number,
  min: bigint,
  max: bigint,
  decode?: (b: Uint8Array, p: number, n: number) => bigint
): Codec<bigint, bigint | number | string> => {
  const decodeText = (s: string): bigint => parseBigInt(name, s, min, max)
  const read = min < 0n ? int64 : uint64
  return {
    oid,
    name,
    arrayOid,
    text: {
      decode: decodeText,
      encode: (v) => (typeof v === "string" ? v : String(toBigInt(name, v, min, max)))
    },
    binary: {
      decode: decode ?? fixedSize(name, 8, read),
      encode: parsingStrings(name, decodeText, (v, w) => writeInt64(w, toBigInt(name, v, min, max)))
    },
    accepts: isNumeric
  }
}

export const int8 = bigInteger(20, "int8", 1016, INT8_MIN, INT8_MAX, decodeInt8)
export const xid8 = bigInteger(5069, "xid8", 271, 0n, UINT8_MAX)

/**
 * money: the server's int64 in the minor units of lc_monetary ($12.34 is 1234n). The text output
 * is locale-formatted ("$1,234.56", "-$0.01", "1.234,56 €"); every locale prints all its fraction
 * digits, so the digits alone are the minor units and the sign is a '-' or parentheses. Text
 * encoding of a bigint writes it with two fraction digits (lc_monetary's usual); binary is exact in
 * any locale.
 */
const decodeMoneyText = (s: string): bigint => {
  let digits = ""
  let negative = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) digits += s[i]
    else if (c === 45 || c === 40) negative = true
  }
  if (digits === "") throw malformed("money", `${quoted(s)} has no digits`)
  const v = BigInt(digits)
  return negative ? -v : v
}

const moneyText = (v: bigint | number | string): string => {
  if (typeof v === "string") return v
  const n = toBigInt("money", v, INT8_MIN, INT8_MAX)
  const abs = n < 0n ? -n : n
  const units = abs / 100n
  const cents = String(abs % 100n).padStart(2, "0")
  return `${n < 0n ? "-" : ""}${units}.${cents}`
}

export const money: Codec<bigint, bigint | number | string> = {
  oid: 790,
  name: "money",
  arrayOid: 791,
  text: { decode: decodeMoneyText, encode: moneyText },
  binary: {
    decode: fixedSize("money", 8, int64),
    encode: parsingStrings("money", decodeMoneyText, (v, w) =>
      writeInt64(w, toBigInt("money", v, INT8_MIN, INT8_MAX))
    )
  },
  accepts: isNumeric
}

// ---------------------------------------------------------------------------------------------
// float4, float8

const parseFloatText = (type: string, s: string): number => {
  const n = Number(s)
  if (Number.isNaN(n)) {
    if (s === "NaN") return n
    throw malformed(type, `${quoted(s)} is not a number`)
  }
  if (s.length === 0) throw malformed(type, "empty text")
  return n
}

/** float8out's spelling: NaN, Infinity, -Infinity, -0; otherwise the shortest round-trip digits. */
const floatText = (type: string, v: number | bigint | string): string => {
  if (typeof v === "string") return v
  if (typeof v === "bigint") return String(v)
  if (typeof v !== "number") throw notEncodable(type, v, "expected a number")
  return Object.is(v, -0) ? "-0" : String(v)
}

const toFloat = (type: string, v: unknown): number => {
  if (typeof v === "number") return v
  if (typeof v === "bigint") return Number(v)
  throw notEncodable(type, v, "expected a number")
}

const decodeFloat4Text = (s: string): number => Math.fround(parseFloatText("float4", s))
const decodeFloat8Text = (s: string): number => parseFloatText("float8", s)

const floatCodec = (
  oid: number,
  name: string,
  arrayOid: number,
  size: 4 | 8,
  decodeText: (s: string) => number,
  decode: (b: Uint8Array, p: number, n: number) => number
): Codec<number, number | bigint | string> => {
  const write = size === 4 ? writeFloat32 : writeFloat64
  return {
    oid,
    name,
    arrayOid,
    text: { decode: decodeText, encode: (v) => floatText(name, v) },
    binary: {
      decode,
      encode: parsingStrings(name, decodeText, (v, w) => write(w, toFloat(name, v)))
    },
    accepts: isNumeric
  }
}

export const float4 = floatCodec(700, "float4", 1021, 4, decodeFloat4Text, decodeFloat4)
export const float8 = floatCodec(701, "float8", 1022, 8, decodeFloat8Text, decodeFloat8)
