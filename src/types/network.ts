/**
 * Codecs of the network address types: inet, cidr, macaddr, macaddr8 — as strings in the
 * server's canonical text ("192.168.0.1/24", "::ffff:1.2.3.4", "2001:db8::/32", "08:00:2b:01:02:03").
 *
 * Does: turn the binary forms into exactly the text `network_out` and `macaddr_out` print (the
 * IPv6 zero-run compression and embedded-IPv4 rules of PostgreSQL's inet_net_ntop, an IPv4
 * inet without "/32", a cidr always with its mask), and parse canonical addresses back to binary.
 * Does NOT: accept the abbreviated cidr input ("10/8": send such strings as text, which strings
 * are by default) or validate cidr host bits (the server does).
 */
import type { Writer } from "../protocol/Writer.ts"
import { HEX, hexDigit } from "./bytes.ts"
import { canonicalText, fixedSize } from "./Codec.ts"
import { malformed, notEncodable } from "./ValueError.ts"

const AF_INET = 2
const AF_INET6 = 3

/** inet_net_ntop_ipv6: the longest zero run (2+ words) as "::", embedded IPv4 where PostgreSQL prints it. */
const ipv6Text = (b: Uint8Array, p: number, bits: number): string => {
  const words: number[] = []
  for (let i = 0; i < 8; i++) words.push((b[p + 2 * i]! << 8) | b[p + 2 * i + 1]!)
  let bestBase = -1
  let bestLen = 0
  let curBase = -1
  let curLen = 0
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i
        curLen = 1
      } else curLen++
      if (curLen > bestLen) {
        bestBase = curBase
        bestLen = curLen
      }
    } else curBase = -1
  }
  if (bestLen < 2) bestBase = -1
  let s = ""
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ":"
      continue
    }
    if (i !== 0) s += ":"
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      s += `${b[p + 12]}.${b[p + 13]}.${b[p + 14]}.${b[p + 15]}`
      break
    }
    s += words[i]!.toString(16)
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) s += ":"
  return bits === 128 ? s : `${s}/${bits}`
}

const inetBinary =
  (cidr: boolean) =>
  (b: Uint8Array, p: number, n: number): string => {
    const type = cidr ? "cidr" : "inet"
    if (n < 4) throw malformed(type, `${n} bytes is shorter than the header`)
    const family = b[p]!
    const bits = b[p + 1]!
    const nb = b[p + 3]!
    if (family === AF_INET && nb === 4 && n === 8 && bits <= 32) {
      const s = `${b[p + 4]}.${b[p + 5]}.${b[p + 6]}.${b[p + 7]}`
      return bits !== 32 || cidr ? `${s}/${bits}` : s
    }
    if (family === AF_INET6 && nb === 16 && n === 20 && bits <= 128) {
      const s = ipv6Text(b, p + 4, bits)
      return cidr && bits === 128 ? `${s}/128` : s
    }
    throw malformed(type, `family ${family} with ${nb} address bytes in ${n} bytes`)
  }

const ipv4Bytes = (s: string, out: number[]): boolean => {
  const parts = s.split(".")
  if (parts.length !== 4) return false
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return false
    out.push(Number(part))
  }
  return true
}

const ipv6Bytes = (s: string, out: number[]): boolean => {
  const halves = s.split("::")
  if (halves.length > 2) return false
  const groups = (h: string): number[] | undefined => {
    if (h === "") return []
    const words: number[] = []
    const parts = h.split(":")
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!
      const v4: number[] = []
      if (i === parts.length - 1 && part.includes(".") && ipv4Bytes(part, v4)) {
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) words.push(Number.parseInt(part, 16))
      else return undefined
    }
    return words
  }
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  if (head === undefined || tail === undefined) return false
  const zeros = 8 - head.length - tail.length
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return false
  for (const w of [...head, ...new Array<number>(zeros).fill(0), ...tail]) out.push(w >> 8, w & 0xff)
  return true
}

const encodeInet =
  (cidr: boolean) =>
  (value: string, w: Writer): void => {
    const type = cidr ? "cidr" : "inet"
    if (typeof value !== "string") throw notEncodable(type, value, "expected a string")
    const slash = value.indexOf("/")
    const address = slash === -1 ? value : value.slice(0, slash)
    const bytes: number[] = []
    const v6 = address.includes(":")
    if (!(v6 ? ipv6Bytes(address, bytes) : ipv4Bytes(address, bytes)))
      throw notEncodable(type, value, "not an IPv4 or IPv6 address (abbreviated forms go as text)")
    const max = v6 ? 128 : 32
    const bits = slash === -1 ? max : Number(value.slice(slash + 1))
    if (!/^\d+$/.test(slash === -1 ? "0" : value.slice(slash + 1)) || bits > max)
      throw notEncodable(type, value, "invalid mask length")
    w.int8(v6 ? AF_INET6 : AF_INET)
    w.int8(bits)
    w.int8(cidr ? 1 : 0)
    w.int8(bytes.length)
    for (const byte of bytes) w.int8(byte)
  }

export const inet = canonicalText(869, "inet", 1041, { decode: inetBinary(false), encode: encodeInet(false) })
export const cidr = canonicalText(650, "cidr", 651, { decode: inetBinary(true), encode: encodeInet(true) })

// ---------------------------------------------------------------------------------------------
// macaddr, macaddr8

const macText = (type: string, size: number) =>
  fixedSize(type, size, (b, p) => {
    let s = HEX[b[p]!]!
    for (let i = 1; i < size; i++) s += `:${HEX[b[p + i]!]!}`
    return s
  })

/** Hex digit pairs with optional ':', '-' or '.' separators; 6 bytes become EUI-64 for macaddr8 (ff:fe inserted). */
const encodeMac =
  (type: string, size: number) =>
  (value: string, w: Writer): void => {
    if (typeof value !== "string") throw notEncodable(type, value, "expected a string")
    const bytes: number[] = []
    let half = -1
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i)
      if (c === 58 || c === 45 || c === 46) continue
      const d = hexDigit(c)
      if (d < 0) throw notEncodable(type, value, "not a MAC address")
      if (half < 0) half = d
      else {
        bytes.push((half << 4) | d)
        half = -1
      }
    }
    if (half >= 0) throw notEncodable(type, value, "not a MAC address")
    if (size === 8 && bytes.length === 6) bytes.splice(3, 0, 0xff, 0xfe)
    if (bytes.length !== size) throw notEncodable(type, value, `expected ${size} bytes`)
    for (const byte of bytes) w.int8(byte)
  }

export const macaddr = canonicalText(829, "macaddr", 1040, {
  decode: macText("macaddr", 6),
  encode: encodeMac("macaddr", 6)
})
export const macaddr8 = canonicalText(774, "macaddr8", 775, {
  decode: macText("macaddr8", 8),
  encode: encodeMac("macaddr8", 8)
})
