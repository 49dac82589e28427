/**
 * The bytes of the fake server's dialogue: frontend messages decoded as the fake reads them, and
 * encoders for the backend messages it writes (well-formed ones, plus `frame` for anything else).
 *
 * It does NOT judge what the client sends: the decoder never throws and records what it finds
 * (a script asserts); the encoders are written independently of src/protocol, so the client's
 * codec is never tested against itself.
 *
 * Invariants: every encoder returns one complete frame (or a concatenation of frames); lengths are
 * computed, never hand-written, except in `frame` bodies a test builds on purpose.
 */

export type FrontendMessage =
  | { readonly _tag: "SSLRequest" | "GSSENCRequest" }
  | { readonly _tag: "CancelRequest"; readonly processId: number; readonly secretKey: Uint8Array }
  | {
      readonly _tag: "StartupMessage"
      readonly major: number
      readonly minor: number
      readonly parameters: Record<string, string>
    }
  | { readonly _tag: "Query"; readonly sql: string }
  | { readonly _tag: "Parse"; readonly name: string; readonly sql: string }
  | {
      readonly _tag: "Bind"
      readonly portal: string
      readonly statement: string
      readonly params: ReadonlyArray<string | null>
    }
  | { readonly _tag: "Describe" | "Close"; readonly target: string; readonly name: string }
  | { readonly _tag: "Execute"; readonly portal: string; readonly maxRows: number }
  | { readonly _tag: "Sync" | "Flush" | "Terminate" | "CopyDone" }
  | { readonly _tag: "CopyFail"; readonly message: string }
  /** 'p': PasswordMessage, SASLInitialResponse, SASLResponse or GSSResponse (only the dialogue tells). */
  | { readonly _tag: "PasswordFamily"; readonly body: Uint8Array }
  | { readonly _tag: "Other"; readonly type: string; readonly body: Uint8Array }

const text = new TextDecoder()
const encoder = new TextEncoder()

/** A cursor that returns "" / 0 past the end instead of throwing: the fake records, it does not judge. */
class Cursor {
  pos = 0
  readonly bytes: Uint8Array
  constructor(bytes: Uint8Array) {
    this.bytes = bytes
  }
  byte(): number {
    return this.bytes[this.pos++] ?? 0
  }
  int(size: 2 | 4): number {
    let v = 0
    for (let i = 0; i < size; i++) v = v * 256 + (this.bytes[this.pos + i] ?? 0)
    this.pos += size
    return size === 4 ? v | 0 : v > 0x7fff ? v - 0x10000 : v
  }
  cstring(): string {
    const end = this.bytes.indexOf(0, this.pos)
    const stop = end < 0 ? this.bytes.length : end
    const s = text.decode(this.bytes.subarray(this.pos, stop))
    this.pos = stop + 1
    return s
  }
  rest(): Uint8Array {
    const out = this.bytes.slice(this.pos)
    this.pos = this.bytes.length
    return out
  }
}

export const decodeUntyped = (body: Uint8Array): FrontendMessage => {
  const c = new Cursor(body)
  const code = c.int(4)
  if (code === 80877103) return { _tag: "SSLRequest" }
  if (code === 80877104) return { _tag: "GSSENCRequest" }
  if (code === 80877102) return { _tag: "CancelRequest", processId: c.int(4), secretKey: c.rest() }
  const parameters: Record<string, string> = {}
  for (let name = c.cstring(); name !== ""; name = c.cstring()) parameters[name] = c.cstring()
  return { _tag: "StartupMessage", major: code >>> 16, minor: code & 0xffff, parameters }
}

export const decodeTyped = (type: string, body: Uint8Array): FrontendMessage => {
  const c = new Cursor(body)
  switch (type) {
    case "Q":
      return { _tag: "Query", sql: c.cstring() }
    case "P":
      return { _tag: "Parse", name: c.cstring(), sql: c.cstring() }
    case "B": {
      const portal = c.cstring()
      const statement = c.cstring()
      c.pos += 2 * c.int(2)
      const params: Array<string | null> = []
      for (let n = c.int(2); n > 0; n--) {
        const len = c.int(4)
        params.push(len < 0 ? null : text.decode(body.subarray(c.pos, c.pos + len)))
        if (len > 0) c.pos += len
      }
      return { _tag: "Bind", portal, statement, params }
    }
    case "D":
    case "C":
      return {
        _tag: type === "D" ? "Describe" : "Close",
        target: String.fromCharCode(c.byte()),
        name: c.cstring()
      }
    case "E":
      return { _tag: "Execute", portal: c.cstring(), maxRows: c.int(4) }
    case "S":
      return { _tag: "Sync" }
    case "H":
      return { _tag: "Flush" }
    case "X":
      return { _tag: "Terminate" }
    case "c":
      return { _tag: "CopyDone" }
    case "f":
      return { _tag: "CopyFail", message: c.cstring() }
    case "p":
      return { _tag: "PasswordFamily", body: c.rest() }
    default:
      return { _tag: "Other", type, body: c.rest() }
  }
}

/** The body of a PasswordMessage: the password (or "md5..." hash) as text. */
export const passwordText = (body: Uint8Array): string => new Cursor(body).cstring()

/** The body of a SASLInitialResponse: the mechanism and the client-first message. */
export const saslInitialResponse = (
  body: Uint8Array
): { readonly mechanism: string; readonly data: string } => {
  const c = new Cursor(body)
  const mechanism = c.cstring()
  const n = c.int(4)
  return { mechanism, data: text.decode(body.subarray(c.pos, c.pos + Math.max(n, 0))) }
}

// ---- backend messages, as the fake writes them -------------------------------------------------

/** Big-endian Int32. */
export const int32 = (n: number): Uint8Array => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setInt32(0, n)
  return out
}
/** Big-endian Int16. */
export const int16 = (n: number): Uint8Array => {
  const out = new Uint8Array(2)
  new DataView(out.buffer).setInt16(0, n)
  return out
}
/** A NUL-terminated UTF-8 string. */
export const cstring = (s: string): Uint8Array => concat([encoder.encode(s), new Uint8Array([0])])
export const bytes = (s: string): Uint8Array => encoder.encode(s)

export const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** A typed frame: type byte, Int32 length (counting itself), body. */
export const frame = (type: string, ...body: ReadonlyArray<Uint8Array>): Uint8Array => {
  const payload = concat(body)
  return concat([new Uint8Array([type.charCodeAt(0)]), int32(payload.length + 4), payload])
}

/** An Authentication ('R') message with `code` and the bytes after it. */
export const authentication = (code: number, ...rest: ReadonlyArray<Uint8Array>): Uint8Array =>
  frame("R", int32(code), ...rest)
export const authenticationOk = (): Uint8Array => authentication(0)
export const authenticationCleartextPassword = (): Uint8Array => authentication(3)
export const authenticationMD5Password = (salt: Uint8Array): Uint8Array => authentication(5, salt)
export const authenticationGSS = (): Uint8Array => authentication(7)
export const authenticationGSSContinue = (data: Uint8Array): Uint8Array => authentication(8, data)
export const authenticationSSPI = (): Uint8Array => authentication(9)
export const authenticationSASL = (mechanisms: ReadonlyArray<string>): Uint8Array =>
  authentication(10, ...mechanisms.map(cstring), new Uint8Array([0]))
export const authenticationSASLContinue = (data: string): Uint8Array => authentication(11, bytes(data))
export const authenticationSASLFinal = (data: string): Uint8Array => authentication(12, bytes(data))
export const parameterStatus = (name: string, value: string): Uint8Array =>
  frame("S", cstring(name), cstring(value))
export const backendKeyData = (processId: number, secretKey: Uint8Array): Uint8Array =>
  frame("K", int32(processId), secretKey)
export const readyForQuery = (status: "I" | "T" | "E" = "I"): Uint8Array => frame("Z", bytes(status))
export const parseComplete = (): Uint8Array => frame("1")
export const bindComplete = (): Uint8Array => frame("2")
export const noData = (): Uint8Array => frame("n")
/** ParameterDescription ('t'): the statement's parameter type OIDs (Describe of a statement). */
export const parameterDescription = (oids: ReadonlyArray<number> = []): Uint8Array =>
  frame("t", int16(oids.length), ...oids.map(int32))
export const commandComplete = (tag: string): Uint8Array => frame("C", cstring(tag))

/** RowDescription with text columns of type text (OID 25). */
export const rowDescription = (names: ReadonlyArray<string>): Uint8Array =>
  frame(
    "T",
    int16(names.length),
    ...names.flatMap((n) => [cstring(n), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)])
  )

/** DataRow; `null` is SQL NULL (length -1). */
export const dataRow = (values: ReadonlyArray<string | null>): Uint8Array =>
  frame(
    "D",
    int16(values.length),
    ...values.flatMap((v) => (v === null ? [int32(-1)] : [int32(bytes(v).length), bytes(v)]))
  )

export interface Fields {
  readonly severity: string
  readonly code: string
  readonly message: string
  readonly detail?: string
  readonly hint?: string
}

const fieldBytes = (f: Fields): Array<Uint8Array> => {
  const entries: Array<[string, string | undefined]> = [
    ["S", f.severity],
    ["V", f.severity],
    ["C", f.code],
    ["M", f.message],
    ["D", f.detail],
    ["H", f.hint]
  ]
  return [
    ...entries.flatMap(([k, v]) => (v === undefined ? [] : [bytes(k), cstring(v)])),
    new Uint8Array([0])
  ]
}
export const errorResponse = (fields: Fields): Uint8Array => frame("E", ...fieldBytes(fields))
export const noticeResponse = (fields: Fields): Uint8Array => frame("N", ...fieldBytes(fields))

/**
 * The answer to one extended query the statement cache prepares (Parse/Describe(S)/Bind/Execute/
 * Sync) that returns rows.
 */
export const queryAnswer = (
  columns: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string | null>>,
  tag = `SELECT ${rows.length}`
): Uint8Array =>
  concat([
    parseComplete(),
    parameterDescription(),
    rowDescription(columns),
    bindComplete(),
    ...rows.map(dataRow),
    commandComplete(tag),
    readyForQuery()
  ])

/** The usual end of a successful startup after authentication. */
export const sessionReady = (): Uint8Array =>
  concat([
    parameterStatus("server_version", "18.0"),
    parameterStatus("client_encoding", "UTF8"),
    backendKeyData(4242, new Uint8Array([1, 2, 3, 4])),
    readyForQuery("I")
  ])
