/**
 * Codecs of the remaining built-in types: bit and varbit ("0101"), pg_lsn ("16/B374D848"), tid
 * ("(0,1)"), oidvector and int2vector (number[]), the reg* OID aliases (their names, as strings),
 * and the text-only types (tsvector, tsquery, aclitem, snapshots, …).
 *
 * Does: decode and encode each in text, and bit/varbit, pg_lsn, tid, oidvector and int2vector in
 * binary too, to the same strings and arrays the text gives.
 * Does NOT: read the reg* types in binary (their binary form is the bare OID, their text the name:
 * they are fetched as text, and a number encodes as the OID's digits, which the server accepts);
 * parse tsvector or tsquery (exact server text; value types can come later). Geometry: geometry.ts.
 */
import type { Writer } from "../protocol/Writer.ts"
import { int16, int32, uint16, uint32 } from "./bytes.ts"
import {
  type Codec,
  canonicalText,
  fixedSize,
  identity,
  parseForEncoding,
  requireString,
  textOnly
} from "./Codec.ts"
import { malformed, notEncodable, quoted } from "./ValueError.ts"

// ---------------------------------------------------------------------------------------------
// bit, varbit

const decodeBits =
  (type: string) =>
  (b: Uint8Array, p: number, n: number): string => {
    if (n < 4) throw malformed(type, "shorter than its bit length")
    const bits = int32(b, p)
    if (bits < 0 || n !== 4 + Math.ceil(bits / 8)) throw malformed(type, `${bits} bits in ${n} bytes`)
    let s = ""
    for (let i = 0; i < bits; i++) s += (b[p + 4 + (i >> 3)]! >> (7 - (i & 7))) & 1 ? "1" : "0"
    return s
  }

const encodeBits =
  (type: string) =>
  (value: string, w: Writer): void => {
    const s = requireString(type, value)
    if (!/^[01]*$/.test(s)) throw notEncodable(type, value, "expected a string of 0s and 1s")
    w.int32(s.length)
    for (let i = 0; i < s.length; i += 8) {
      let byte = 0
      for (let j = 0; j < 8; j++) byte = (byte << 1) | (s.charCodeAt(i + j) === 49 ? 1 : 0)
      w.int8(byte)
    }
  }

export const bit = canonicalText(1560, "bit", 1561, { decode: decodeBits("bit"), encode: encodeBits("bit") })
export const varbit = canonicalText(1562, "varbit", 1563, {
  decode: decodeBits("varbit"),
  encode: encodeBits("varbit")
})

// ---------------------------------------------------------------------------------------------
// pg_lsn, tid

const hex = (n: number): string => n.toString(16).toUpperCase()

const encodeLsn = (value: string, w: Writer): void => {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(requireString("pg_lsn", value))
  if (m === null) throw notEncodable("pg_lsn", value, 'expected "XXXXXXXX/XXXXXXXX"')
  w.int32(Number.parseInt(m[1]!, 16))
  w.int32(Number.parseInt(m[2]!, 16))
}

export const pgLsn = canonicalText(3220, "pg_lsn", 3221, {
  decode: fixedSize("pg_lsn", 8, (b, p) => `${hex(uint32(b, p))}/${hex(uint32(b, p + 4))}`),
  encode: encodeLsn
})

const encodeTid = (value: string, w: Writer): void => {
  const m = /^\((\d+),(\d+)\)$/.exec(requireString("tid", value))
  if (m === null || Number(m[1]) > 4294967295 || Number(m[2]) > 65535)
    throw notEncodable("tid", value, 'expected "(block,offset)"')
  w.int32(Number(m[1]))
  w.int16(Number(m[2]))
}

export const tid = canonicalText(27, "tid", 1010, {
  decode: fixedSize("tid", 6, (b, p) => `(${uint32(b, p)},${uint16(b, p + 4)})`),
  encode: encodeTid
})

// ---------------------------------------------------------------------------------------------
// oidvector, int2vector: space-separated in text, a one-dimensional array with lower bound 0 in binary

const vectorCodec = (
  oid: number,
  name: string,
  arrayOid: number,
  element: { readonly oid: number; readonly size: 2 | 4; readonly min: number; readonly max: number }
): Codec<ReadonlyArray<number>, ReadonlyArray<number> | string> => {
  const read = element.size === 2 ? int16 : uint32
  const decodeText = (s: string): ReadonlyArray<number> => {
    if (s === "") return []
    return s.split(" ").map((part) => {
      const n = Number(part)
      if (!/^-?\d+$/.test(part) || n < element.min || n > element.max)
        throw malformed(name, `${quoted(s)} is not a vector`)
      return n
    })
  }
  const numbers = (value: unknown): ReadonlyArray<number> => {
    const v = typeof value === "string" ? parseForEncoding(name, value, decodeText) : value
    if (!Array.isArray(v) || !v.every((n) => Number.isInteger(n) && n >= element.min && n <= element.max))
      throw notEncodable(name, value, `expected an array of integers in ${element.min}..${element.max}`)
    return v
  }
  return {
    oid,
    name,
    arrayOid,
    text: {
      decode: decodeText,
      encode: (v) => (typeof v === "string" ? v : numbers(v).join(" "))
    },
    binary: {
      decode: (b, p, n) => {
        if (n < 12) throw malformed(name, "shorter than an array header")
        const ndim = int32(b, p)
        const count = ndim === 0 ? 0 : int32(b, p + 12)
        if (ndim > 1 || n !== 12 + (ndim === 0 ? 0 : 8) + count * (4 + element.size))
          throw malformed(name, `${ndim} dimensions, ${count} elements in ${n} bytes`)
        const out = new Array<number>(count)
        let q = p + 20
        for (let i = 0; i < count; i++, q += 4 + element.size) {
          if (int32(b, q) !== element.size) throw malformed(name, "an element of the wrong size")
          out[i] = read(b, q + 4)
        }
        return out
      },
      encode: (v, w) => {
        const items = numbers(v)
        // The server's receive function wants one dimension with lower bound 0, and an empty
        // array arrives as zero dimensions: an empty vector cannot be received in binary.
        if (items.length === 0) throw notEncodable(name, v, "an empty vector can be sent as text only")
        w.int32(1)
        w.int32(0)
        w.int32(element.oid)
        w.int32(items.length)
        w.int32(0)
        for (const item of items) {
          w.int32(element.size)
          if (element.size === 2) w.int16(item)
          else w.int32(item)
        }
      }
    },
    arrayValues: true,
    accepts: (v) => Array.isArray(v) || typeof v === "string"
  }
}

export const int2vector = vectorCodec(22, "int2vector", 1006, { oid: 21, size: 2, min: -32768, max: 32767 })
export const oidvector = vectorCodec(30, "oidvector", 1013, { oid: 26, size: 4, min: 0, max: 4294967295 })

// ---------------------------------------------------------------------------------------------
// reg* (text: the object's name; a number encodes as the OID) and the text-only types

const regCodec = (oid: number, name: string, arrayOid: number): Codec<string, string | number> => ({
  oid,
  name,
  arrayOid,
  text: {
    decode: identity,
    encode: (v) => {
      if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 4294967295) return String(v)
      return requireString(name, v)
    }
  },
  accepts: (v) => typeof v === "string" || typeof v === "number"
})

export const regTypes: ReadonlyArray<Codec<string, string | number>> = [
  regCodec(24, "regproc", 1008),
  regCodec(2202, "regprocedure", 2207),
  regCodec(2203, "regoper", 2208),
  regCodec(2204, "regoperator", 2209),
  regCodec(2205, "regclass", 2210),
  regCodec(2206, "regtype", 2211),
  regCodec(3734, "regconfig", 3735),
  regCodec(3769, "regdictionary", 3770),
  regCodec(4089, "regnamespace", 4090),
  regCodec(4096, "regrole", 4097),
  regCodec(4191, "regcollation", 4192)
]

export const textOnlyTypes: ReadonlyArray<Codec<string>> = [
  textOnly(3614, "tsvector", 3643),
  textOnly(3615, "tsquery", 3645),
  textOnly(3642, "gtsvector", 3644),
  textOnly(1033, "aclitem", 1034),
  textOnly(2970, "txid_snapshot", 2949),
  textOnly(5038, "pg_snapshot", 5039),
  textOnly(194, "pg_node_tree"),
  textOnly(2278, "void"),
  textOnly(2249, "record", 2287),
  textOnly(2275, "cstring", 1263),
  textOnly(3361, "pg_ndistinct"),
  textOnly(3402, "pg_dependencies"),
  textOnly(5017, "pg_mcv_list"),
  textOnly(32, "pg_ddl_command"),
  textOnly(2277, "anyarray")
]
