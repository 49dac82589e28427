/**
 * The geometric types — point, line, lseg, box, path, polygon, circle — as the server's exact text
 * ("(1.5,-2)", "{1,-1,0}", "[(0,0),(1,1)]", "<(0,0),2>"), in both formats.
 *
 * Does: print the binary form (float8 coordinates; box high corner first; path with its closed
 * flag and point count) exactly as `point_out`, `path_encode` and the others do, each number as
 * `float8out` with the default extra_float_digits (1): the shortest round-trip digits, fixed
 * notation for decimal exponents -4 … 14, else "1e-05" / "1.5e+100" style, "NaN", "Infinity",
 * "-0"; and parse that text back to binary.
 * Does NOT: give them object values (a later value type can), or read the other input spellings
 * of the types in binary (they go as text, where strings go by default).
 */
import type { Writer } from "../protocol/Writer.ts"
import { float64, int32, writeFloat64 } from "./bytes.ts"
import { type Codec, identity, requireString } from "./Codec.ts"
import { malformed, notEncodable } from "./ValueError.ts"

/** float8out with extra_float_digits > 0 (double_to_shortest_decimal): see the module header. */
export const formatFloat8 = (x: number): string => {
  if (Number.isNaN(x)) return "NaN"
  if (x === Infinity) return "Infinity"
  if (x === -Infinity) return "-Infinity"
  if (x === 0) return Object.is(x, -0) ? "-0" : "0"
  const sci = x.toExponential()
  const e = sci.indexOf("e")
  const exponent = Number(sci.slice(e + 1))
  const negative = sci.charCodeAt(0) === 45
  const digits = sci.slice(negative ? 1 : 0, e).replace(".", "")
  const sign = negative ? "-" : ""
  if (exponent >= -4 && exponent < 15) {
    if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`
    const int =
      digits.length > exponent + 1 ? digits.slice(0, exponent + 1) : digits.padEnd(exponent + 1, "0")
    const frac = digits.slice(exponent + 1)
    return frac === "" ? `${sign}${int}` : `${sign}${int}.${frac}`
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
  const abs = Math.abs(exponent)
  return `${sign}${mantissa}e${exponent < 0 ? "-" : "+"}${abs < 10 ? `0${abs}` : abs}`
}

const NUMBER = /NaN|-?Infinity|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/g

/** The float8 values of a canonical geometric text, in order. */
const numbersOf = (type: string, value: unknown): number[] =>
  Array.from(requireString(type, value).matchAll(NUMBER), (m) => Number(m[0]))

/** `count` float8s from `p`, each printed as float8out does. */
const floats = (b: Uint8Array, p: number, count: number): string[] => {
  const out: string[] = []
  for (let i = 0; i < count; i++) out.push(formatFloat8(float64(b, p + 8 * i)))
  return out
}

const points = (xs: ReadonlyArray<string>): string => {
  const out: string[] = []
  for (let i = 0; i < xs.length; i += 2) out.push(`(${xs[i]},${xs[i + 1]})`)
  return out.join(",")
}

interface Shape {
  readonly oid: number
  readonly name: string
  readonly arrayOid: number
  /** Fixed float count, or undefined for the counted types (path, polygon). */
  readonly fixed?: number
  readonly print: (xs: ReadonlyArray<string>, closed: boolean) => string
  readonly delimiter?: string
}

const geometry = (shape: Shape): Codec<string, string> => {
  const { name, fixed } = shape
  const decode = (b: Uint8Array, p: number, n: number): string => {
    if (fixed !== undefined) {
      if (n !== 8 * fixed) throw malformed(name, `expected ${8 * fixed} bytes, got ${n}`)
      return shape.print(floats(b, p, fixed), false)
    }
    const path = name === "path"
    const head = path ? 5 : 4
    if (n < head) throw malformed(name, "shorter than its point count")
    const count = int32(b, path ? p + 1 : p)
    if (count < 0 || n !== head + 16 * count) throw malformed(name, `${count} points in ${n} bytes`)
    return shape.print(floats(b, p + head, 2 * count), path ? b[p] !== 0 : true)
  }
  const encode = (value: string, w: Writer): void => {
    const xs = numbersOf(name, value)
    if (fixed === undefined) {
      if (xs.length === 0 || xs.length % 2 !== 0) throw notEncodable(name, value, "expected points")
      if (name === "path") w.int8(value.trimStart().startsWith("[") ? 0 : 1)
      w.int32(xs.length / 2)
    } else if (xs.length !== fixed) throw notEncodable(name, value, `expected ${fixed} numbers`)
    for (const x of xs) writeFloat64(w, x)
  }
  return {
    oid: shape.oid,
    name,
    arrayOid: shape.arrayOid,
    ...(shape.delimiter === undefined ? {} : { delimiter: shape.delimiter }),
    text: { decode: identity, encode: (v) => requireString(name, v) },
    binary: { decode, encode },
    accepts: (v) => typeof v === "string"
  }
}

export const point = geometry({ oid: 600, name: "point", arrayOid: 1017, fixed: 2, print: points })
export const lseg = geometry({
  oid: 601,
  name: "lseg",
  arrayOid: 1018,
  fixed: 4,
  print: (xs) => `[${points(xs)}]`
})
export const box = geometry({
  oid: 603,
  name: "box",
  arrayOid: 1020,
  fixed: 4,
  print: points,
  delimiter: ";"
})
export const line = geometry({
  oid: 628,
  name: "line",
  arrayOid: 629,
  fixed: 3,
  print: (xs) => `{${xs.join(",")}}`
})
export const circle = geometry({
  oid: 718,
  name: "circle",
  arrayOid: 719,
  fixed: 3,
  print: (xs) => `<(${xs[0]},${xs[1]}),${xs[2]}>`
})
export const path = geometry({
  oid: 602,
  name: "path",
  arrayOid: 1019,
  print: (xs, closed) => (closed ? `(${points(xs)})` : `[${points(xs)}]`)
})
export const polygon = geometry({
  oid: 604,
  name: "polygon",
  arrayOid: 1027,
  print: (xs) => `(${points(xs)})`
})

export const geometricTypes: ReadonlyArray<Codec<string, string>> = [
  point,
  lseg,
  box,
  line,
  circle,
  path,
  polygon
]
