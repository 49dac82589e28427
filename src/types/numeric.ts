/**
 * numeric: exact, as a string in the server's canonical text ("-0.001", "NaN", "Infinity").
 *
 * Does: decode the binary form (base-10000 digits, weight, sign, display scale) into exactly the
 * text `numeric_out` prints — leading zeros dropped, `dscale` fraction digits kept (so 1.50 stays
 * "1.50"), NaN and ±Infinity (PostgreSQL 14+) — and encode decimal text (sign, digits, point,
 * exponent, as `numeric_in` reads it), numbers and bigints back into that form.
 * Does NOT: do arithmetic, or turn numeric into a JS number (that would lose digits). The binary
 * encoder takes decimal text only; `numeric_in`'s other inputs (underscores and 0x/0o/0b integers,
 * PostgreSQL 16+) are for the text format, where strings pass through unchanged.
 */
import type { Writer } from "../protocol/Writer.ts"
import { int16, uint16, utf8 } from "./bytes.ts"
import { type Codec, identity } from "./Codec.ts"
import { malformed, notEncodable, outOfRange } from "./ValueError.ts"

const POS = 0x0000
const NEG = 0x4000
const NAN = 0xc000
const PINF = 0xd000
const NINF = 0xf000
const DSCALE_MAX = 0x3fff

/** Base-10000 digit `i` of the value at `p` (0 outside its `ndigits`: implied zero groups). */
const digitAt = (b: Uint8Array, p: number, ndigits: number, i: number): number => {
  if (i < 0 || i >= ndigits) return 0
  const d = uint16(b, p + 8 + 2 * i)
  if (d > 9999) throw malformed("numeric", `digit ${d} is not base 10000`)
  return d
}

/** Scratch for the ASCII digits of one value, grown for long ones (a flat string is made from it). */
let out = new Uint8Array(64)

/** Writes the 4 decimal digits of `d` at `k` (without leading zeros unless `lead`); returns the next position. */
const put4 = (d: number, k: number, lead: boolean): number => {
  const d0 = (d / 1000) | 0
  const d1 = ((d / 100) | 0) % 10
  const d2 = ((d / 10) | 0) % 10
  if (lead || d0 > 0) out[k++] = 48 + d0
  if (lead || d0 > 0 || d1 > 0) out[k++] = 48 + d1
  if (lead || d >= 10) out[k++] = 48 + d2
  out[k++] = 48 + (d % 10)
  return k
}

/** "0000" … "9999": base-10000 digits with their leading zeros, made on first use. */
let groups: ReadonlyArray<string> | undefined
const padded = (): ReadonlyArray<string> =>
  (groups ??= Array.from({ length: 10000 }, (_, d) => String(d).padStart(4, "0")))

/**
 * Values of at most `SHORT` characters (prices, amounts, counts: below 10^8 with two decimals) are
 * concatenated from `padded` strings: V8 copies concatenations shorter than 13 characters into flat
 * strings, so no rope is made. Longer ones are written as ASCII into `out` and made one flat string.
 */
const SHORT = 12
const decodeShort = (
  b: Uint8Array,
  p: number,
  ndigits: number,
  weight: number,
  negative: boolean,
  dscale: number
): string => {
  const pad = padded()
  let s = negative ? "-" : ""
  if (weight < 0) s += "0"
  else {
    s += String(digitAt(b, p, ndigits, 0))
    for (let i = 1; i <= weight; i++) s += pad[digitAt(b, p, ndigits, i)]!
  }
  if (dscale === 0) return s
  let fraction = ""
  for (let i = weight + 1, k = 0; k < dscale; i++, k += 4) fraction += pad[digitAt(b, p, ndigits, i)]!
  return `${s}.${fraction.length === dscale ? fraction : fraction.slice(0, dscale)}`
}

const decodeBinary = (b: Uint8Array, p: number, length: number): string => {
  if (length < 8) throw malformed("numeric", `${length} bytes is shorter than the header`)
  const ndigits = int16(b, p)
  const weight = int16(b, p + 2)
  const sign = uint16(b, p + 4)
  const dscale = int16(b, p + 6)
  if (ndigits < 0 || length !== 8 + 2 * ndigits)
    throw malformed("numeric", `${ndigits} digits in ${length} bytes`)
  if (sign === NAN) return "NaN"
  if (sign === PINF) return "Infinity"
  if (sign === NINF) return "-Infinity"
  if ((sign !== POS && sign !== NEG) || dscale < 0) throw malformed("numeric", `sign 0x${sign.toString(16)}`)
  const longest = (sign === NEG ? 1 : 0) + (weight < 0 ? 1 : 4 * (weight + 1)) + (dscale > 0 ? 1 + dscale : 0)
  if (longest <= SHORT) return decodeShort(b, p, ndigits, weight, sign === NEG, dscale)
  const max = 2 + Math.max(weight + 1, 1) * 4 + dscale + 4
  if (out.length < max) out = new Uint8Array(max * 2)
  let k = 0
  if (sign === NEG) out[k++] = 45
  if (weight < 0) out[k++] = 48
  else {
    k = put4(digitAt(b, p, ndigits, 0), k, false)
    for (let i = 1; i <= weight; i++) k = put4(digitAt(b, p, ndigits, i), k, true)
  }
  if (dscale > 0) {
    out[k++] = 46
    const end = k + dscale
    for (let i = weight + 1; k < end; i++) k = put4(digitAt(b, p, ndigits, i), k, true)
    k = end
  }
  return utf8(out, 0, k)
}

/** A parsed decimal: its significant digits, the exponent of the first one, and the display scale. */
interface Decimal {
  readonly negative: boolean
  /** Significant digits without leading zeros ("" for zero). */
  readonly digits: string
  /** Number of digits before the decimal point (may be negative or exceed digits.length). */
  readonly point: number
  readonly dscale: number
}

const DECIMAL = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/

const SPECIAL: Record<string, string> = {
  nan: "NaN",
  infinity: "Infinity",
  "+infinity": "Infinity",
  inf: "Infinity",
  "+inf": "Infinity",
  "-infinity": "-Infinity",
  "-inf": "-Infinity"
}

const parseDecimal = (s: string): Decimal | string => {
  const special = SPECIAL[s.trim().toLowerCase()]
  if (special !== undefined) return special
  const m = DECIMAL.exec(s)
  const int = m?.[2] ?? ""
  const frac = m?.[3] ?? ""
  if (m === null || int.length + frac.length === 0) throw notEncodable("numeric", s, "not a decimal number")
  const exponent = m[4] === undefined ? 0 : Number(m[4])
  if (!Number.isSafeInteger(exponent)) throw outOfRange("numeric", "the exponent is too large")
  const all = int + frac
  let lead = 0
  while (lead < all.length && all.charCodeAt(lead) === 48) lead++
  return {
    negative: m[1] === "-",
    digits: all.slice(lead),
    point: int.length + exponent - lead,
    dscale: Math.max(0, frac.length - exponent)
  }
}

const writeSpecial = (w: Writer, sign: number): void => {
  w.int32(0) // ndigits 0, weight 0
  w.int16(sign)
  w.int16(0)
}

/** Writes a decimal in numeric_send's layout: base-10000 groups aligned on the decimal point. */
const writeDecimal = (w: Writer, d: Decimal): void => {
  if (d.dscale > DSCALE_MAX) throw outOfRange("numeric", `display scale ${d.dscale} exceeds ${DSCALE_MAX}`)
  let digits = d.digits
  while (digits.length > 0 && digits.charCodeAt(digits.length - 1) === 48) digits = digits.slice(0, -1)
  if (digits.length === 0) {
    w.int32(0)
    w.int16(POS)
    w.int16(d.dscale)
    return
  }
  // The first digit has decimal exponent point - 1; its group's weight is floor((point - 1) / 4).
  const weight = Math.floor((d.point - 1) / 4)
  if (weight > 32767 || weight < -32768) throw outOfRange("numeric", "the value's exponent is out of range")
  // Left-pad so the first group is whole: the first digit sits at position (point - 1) mod 4 from the right.
  const offset = 3 - ((((d.point - 1) % 4) + 4) % 4)
  const padded = "0".repeat(offset) + digits
  const ngroups = Math.ceil(padded.length / 4)
  w.int16(ngroups)
  w.int16(weight)
  w.int16(d.negative ? NEG : POS)
  w.int16(d.dscale)
  for (let g = 0; g < ngroups; g++) {
    const chunk = padded.slice(g * 4, g * 4 + 4)
    w.int16(Number(chunk.length === 4 ? chunk : chunk.padEnd(4, "0")))
  }
}

const numericText = (value: unknown): string => {
  if (typeof value === "string") return value
  if (typeof value === "bigint") return String(value)
  if (typeof value === "number")
    return Number.isFinite(value) || Number.isNaN(value)
      ? String(value)
      : value > 0
        ? "Infinity"
        : "-Infinity"
  throw notEncodable("numeric", value, "expected a decimal string, a number or a bigint")
}

const encodeBinary = (value: string | number | bigint, w: Writer): void => {
  const d = parseDecimal(numericText(value))
  if (typeof d === "string") writeSpecial(w, d === "NaN" ? NAN : d === "Infinity" ? PINF : NINF)
  else writeDecimal(w, d)
}

export const numeric: Codec<string, string | number | bigint> = {
  oid: 1700,
  name: "numeric",
  arrayOid: 1231,
  text: { decode: identity, encode: numericText },
  binary: { decode: decodeBinary, encode: encodeBinary },
  accepts: (v) => typeof v === "string" || typeof v === "number" || typeof v === "bigint"
}
