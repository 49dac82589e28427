/**
 * Test-only decoder of frontend (client → server) frames, written independently of src/protocol
 * (DataView, throws on malformed input), used to check the encoders against libpq's bytes and in
 * round-trip properties. It plays the server's role; the library never needs it.
 */
export type FrontendMessage =
  | {
      readonly _tag: "StartupMessage"
      readonly major: number
      readonly minor: number
      readonly parameters: Record<string, string>
    }
  | { readonly _tag: "SSLRequest" }
  | { readonly _tag: "GSSENCRequest" }
  | { readonly _tag: "CancelRequest"; readonly processId: number; readonly secretKey: Uint8Array }
  | { readonly _tag: "Query"; readonly sql: string }
  | {
      readonly _tag: "Parse"
      readonly name: string
      readonly sql: string
      readonly paramTypes: Array<number>
    }
  | {
      readonly _tag: "Bind"
      readonly portal: string
      readonly statement: string
      readonly paramFormats: Array<number>
      readonly params: Array<Uint8Array | null>
      readonly resultFormats: Array<number>
    }
  | { readonly _tag: "Describe" | "Close"; readonly target: "S" | "P"; readonly name: string }
  | { readonly _tag: "Execute"; readonly portal: string; readonly maxRows: number }
  | { readonly _tag: "Sync" | "Flush" | "Terminate" | "CopyDone" }
  | { readonly _tag: "CopyData"; readonly data: Uint8Array }
  | { readonly _tag: "CopyFail"; readonly message: string }
  | {
      readonly _tag: "FunctionCall"
      readonly oid: number
      readonly argFormats: Array<number>
      readonly args: Array<Uint8Array | null>
      readonly resultFormat: number
    }
  /** 'p' is PasswordMessage, SASLInitialResponse, SASLResponse or GSSResponse: only the auth state tells. */
  | { readonly _tag: "PasswordFamily"; readonly body: Uint8Array }

const text = new TextDecoder("utf-8", { fatal: true })

class Cursor {
  private readonly view: DataView
  pos = 0
  readonly bytes: Uint8Array
  constructor(bytes: Uint8Array) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  u8(): number {
    return this.view.getUint8(this.pos++)
  }
  i16(): number {
    const v = this.view.getInt16(this.pos)
    this.pos += 2
    return v
  }
  u16(): number {
    const v = this.view.getUint16(this.pos)
    this.pos += 2
    return v
  }
  i32(): number {
    const v = this.view.getInt32(this.pos)
    this.pos += 4
    return v
  }
  u32(): number {
    return this.i32() >>> 0
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) throw new Error("truncated")
    const out = this.bytes.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  cstr(): string {
    const nul = this.bytes.indexOf(0, this.pos)
    if (nul < 0) throw new Error("missing NUL")
    const s = text.decode(this.bytes.subarray(this.pos, nul))
    this.pos = nul + 1
    return s
  }
  values(): Array<Uint8Array | null> {
    const n = this.u16()
    const out: Array<Uint8Array | null> = []
    for (let i = 0; i < n; i++) {
      const len = this.i32()
      out.push(len === -1 ? null : this.take(len))
    }
    return out
  }
  formats(): Array<number> {
    const n = this.u16()
    return Array.from({ length: n }, () => this.i16())
  }
  end(): void {
    if (this.pos !== this.bytes.length) throw new Error(`${this.bytes.length - this.pos} trailing bytes`)
  }
}

/** Decodes an untyped startup-phase packet (length included). */
export const decodeUntyped = (packet: Uint8Array): FrontendMessage => {
  const c = new Cursor(packet)
  if (c.i32() !== packet.length) throw new Error("bad packet length")
  const code = c.i32()
  let m: FrontendMessage
  if (code === 80877103) m = { _tag: "SSLRequest" }
  else if (code === 80877104) m = { _tag: "GSSENCRequest" }
  else if (code === 80877102)
    m = { _tag: "CancelRequest", processId: c.i32(), secretKey: c.take(packet.length - 12) }
  else {
    const parameters: Record<string, string> = {}
    for (;;) {
      const name = c.cstr()
      if (name === "") break
      // defineProperty: a parameter may be named "__proto__".
      Object.defineProperty(parameters, name, {
        value: c.cstr(),
        enumerable: true,
        writable: true,
        configurable: true
      })
    }
    m = { _tag: "StartupMessage", major: code >>> 16, minor: code & 0xffff, parameters }
  }
  c.end()
  return m
}

/** Decodes a typed frame (type byte and length included). */
export const decodeTyped = (frame: Uint8Array): FrontendMessage => {
  const c = new Cursor(frame)
  const type = String.fromCharCode(c.u8())
  if (c.i32() !== frame.length - 1) throw new Error("bad frame length")
  let m: FrontendMessage
  switch (type) {
    case "Q":
      m = { _tag: "Query", sql: c.cstr() }
      break
    case "P": {
      const name = c.cstr()
      const sql = c.cstr()
      const n = c.u16()
      m = { _tag: "Parse", name, sql, paramTypes: Array.from({ length: n }, () => c.u32()) }
      break
    }
    case "B": {
      const portal = c.cstr()
      const statement = c.cstr()
      const paramFormats = c.formats()
      const params = c.values()
      m = { _tag: "Bind", portal, statement, paramFormats, params, resultFormats: c.formats() }
      break
    }
    case "D":
    case "C": {
      const target = String.fromCharCode(c.u8())
      if (target !== "S" && target !== "P") throw new Error("bad target")
      m = { _tag: type === "D" ? "Describe" : "Close", target, name: c.cstr() }
      break
    }
    case "E":
      m = { _tag: "Execute", portal: c.cstr(), maxRows: c.i32() }
      break
    case "S":
      m = { _tag: "Sync" }
      break
    case "H":
      m = { _tag: "Flush" }
      break
    case "X":
      m = { _tag: "Terminate" }
      break
    case "c":
      m = { _tag: "CopyDone" }
      break
    case "d":
      m = { _tag: "CopyData", data: c.take(frame.length - 5) }
      break
    case "f":
      m = { _tag: "CopyFail", message: c.cstr() }
      break
    case "F": {
      const oid = c.u32()
      const argFormats = c.formats()
      const args = c.values()
      m = { _tag: "FunctionCall", oid, argFormats, args, resultFormat: c.i16() }
      break
    }
    case "p":
      m = { _tag: "PasswordFamily", body: c.take(frame.length - 5) }
      break
    default:
      throw new Error(`unknown frontend type ${type}`)
  }
  c.end()
  return m
}

/** PasswordMessage body: one C string. */
export const asPassword = (body: Uint8Array): string => {
  const c = new Cursor(body)
  const s = c.cstr()
  c.end()
  return s
}

/** SASLInitialResponse body: mechanism, Int32 length (-1 = none), data. */
export const asSASLInitialResponse = (body: Uint8Array): { mechanism: string; data: Uint8Array | null } => {
  const c = new Cursor(body)
  const mechanism = c.cstr()
  const n = c.i32()
  const data = n === -1 ? null : c.take(n)
  c.end()
  return { mechanism, data }
}
