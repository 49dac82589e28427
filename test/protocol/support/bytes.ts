/**
 * Test helpers for bytes: hex conversion, concatenation, a tiny independent big-endian builder
 * (deliberately not src/protocol's Writer, so tests do not check the codec against itself), and
 * access to the golden captures.
 */
import { goldens } from "../fixtures/goldens.ts"

export const fromHex = (hex: string): Uint8Array => {
  const clean = hex.replace(/\s+/g, "")
  const out = new Uint8Array(clean.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16)
  return out
}

export const toHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")

export const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Append-only byte builder over a plain array. */
export class Bytes {
  readonly data: Array<number> = []
  u8(v: number): this {
    this.data.push(v & 0xff)
    return this
  }
  i16(v: number): this {
    return this.u8(v >>> 8).u8(v)
  }
  i32(v: number): this {
    return this.u8(v >>> 24)
      .u8(v >>> 16)
      .u8(v >>> 8)
      .u8(v)
  }
  raw(b: Uint8Array): this {
    for (const x of b) this.data.push(x)
    return this
  }
  cstr(s: string): this {
    return this.raw(utf8(s)).u8(0)
  }
  /** A typed frame: type byte, Int32 length (self-inclusive), body. */
  static frame(type: number | string, body: Bytes | Uint8Array = new Bytes()): Uint8Array {
    const t = typeof type === "string" ? type.charCodeAt(0) : type
    const b = body instanceof Bytes ? Uint8Array.from(body.data) : body
    return Uint8Array.from(
      new Bytes()
        .u8(t)
        .i32(b.length + 4)
        .raw(b).data
    )
  }
  /** An untyped packet: Int32 length, body. */
  static packet(body: Bytes): Uint8Array {
    return Uint8Array.from(new Bytes().i32(body.data.length + 4).raw(Uint8Array.from(body.data)).data)
  }
}

/** A golden line decoded: direction, bytes, and whether it is on a cancel side connection. */
export interface GoldenLine {
  readonly dir: "F" | "B"
  readonly bytes: Uint8Array
  readonly side: boolean
}

export const captureNames: ReadonlyArray<string> = Object.keys(goldens)

export const capture = (name: string): ReadonlyArray<GoldenLine> => {
  const lines = goldens[name]
  if (lines === undefined) throw new Error(`no capture ${name}`)
  return lines.map((line) => {
    const [dir, hex] = line.split(" ") as ["F" | "B", string]
    return { dir, bytes: fromHex(hex), side: line.endsWith("(cancel connection)") }
  })
}

/** The server → client bytes of a capture after the unframed SSL/GSSENC answers, concatenated. */
export const serverStream = (name: string): Uint8Array =>
  concat(
    capture(name)
      .filter((l) => l.dir === "B" && !l.side && l.bytes.length > 1)
      .map((l) => l.bytes)
  )

/** The typed server frames of a capture. */
export const serverFrames = (name: string): Array<Uint8Array> =>
  capture(name)
    .filter((l) => l.dir === "B" && l.bytes.length > 1)
    .map((l) => l.bytes)

/** Every typed server frame of every capture. */
export const allServerFrames = (): Array<{ readonly name: string; readonly frame: Uint8Array }> =>
  captureNames.flatMap((name) => serverFrames(name).map((frame) => ({ name, frame })))

/** The first server frame of type `type` in capture `name` (after `skip` earlier matches). */
export const findServerFrame = (name: string, type: string, skip = 0): Uint8Array => {
  const found = serverFrames(name).filter((f) => f[0] === type.charCodeAt(0))
  const frame = found[skip]
  if (frame === undefined) throw new Error(`capture ${name} has no ${type} frame #${skip}`)
  return frame
}
