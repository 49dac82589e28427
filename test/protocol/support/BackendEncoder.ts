/**
 * Test-only encoder of backend (server → client) messages, written independently of
 * src/protocol's Writer. Used to re-encode decoded goldens (must give the same bytes) and in
 * round-trip properties; a fake server can use it too.
 */
import type { BackendMessage } from "../../../src/protocol/Backend.ts"
import { ErrorFieldCode, type ErrorFieldName, type ErrorFields } from "../../../src/protocol/ErrorFields.ts"
import { Bytes } from "./bytes.ts"

const authCode: Record<string, number> = {
  AuthenticationOk: 0,
  AuthenticationKerberosV5: 2,
  AuthenticationCleartextPassword: 3,
  AuthenticationMD5Password: 5,
  AuthenticationSCMCredential: 6,
  AuthenticationGSS: 7,
  AuthenticationGSSContinue: 8,
  AuthenticationSSPI: 9,
  AuthenticationSASL: 10,
  AuthenticationSASLContinue: 11,
  AuthenticationSASLFinal: 12
}

const fields = (b: Bytes, f: ErrorFields, order?: ReadonlyArray<string>): Bytes => {
  const known = (Object.keys(ErrorFieldCode) as Array<ErrorFieldName>).filter((k) => f[k] !== undefined)
  // Write in the given order of codes when known (to reproduce captured bytes), else in table order.
  const codes = order ?? known.map((k) => String.fromCharCode(ErrorFieldCode[k]))
  for (const code of codes) {
    const name = known.find((k) => ErrorFieldCode[k] === code.charCodeAt(0))
    if (name !== undefined) b.u8(code.charCodeAt(0)).cstr(f[name]!)
  }
  for (const u of f.unknown ?? []) b.u8(u.code.charCodeAt(0)).cstr(u.value)
  return b.u8(0)
}

/**
 * Encodes one message as a complete frame. `fieldOrder` gives the order of ErrorResponse /
 * NoticeResponse field codes (the server's order is not kept by the decoder).
 */
export const encodeBackend = (m: BackendMessage, fieldOrder?: ReadonlyArray<string>): Uint8Array => {
  const b = new Bytes()
  switch (m._tag) {
    case "AuthenticationOk":
    case "AuthenticationKerberosV5":
    case "AuthenticationCleartextPassword":
    case "AuthenticationSCMCredential":
    case "AuthenticationGSS":
    case "AuthenticationSSPI":
      return Bytes.frame("R", b.i32(authCode[m._tag]!))
    case "AuthenticationMD5Password":
      return Bytes.frame("R", b.i32(5).raw(m.salt))
    case "AuthenticationGSSContinue":
    case "AuthenticationSASLContinue":
    case "AuthenticationSASLFinal":
      return Bytes.frame("R", b.i32(authCode[m._tag]!).raw(m.data))
    case "AuthenticationUnknown":
      return Bytes.frame("R", b.i32(m.code).raw(m.data))
    case "AuthenticationSASL":
      b.i32(10)
      for (const mech of m.mechanisms) b.cstr(mech)
      return Bytes.frame("R", b.u8(0))
    case "BackendKeyData":
      return Bytes.frame("K", b.i32(m.processId).raw(m.secretKey))
    case "BindComplete":
      return Bytes.frame("2")
    case "CloseComplete":
      return Bytes.frame("3")
    case "CommandComplete":
      return Bytes.frame("C", b.cstr(m.tag))
    case "CopyInResponse":
    case "CopyOutResponse":
    case "CopyBothResponse":
      b.u8(m.format).i16(m.columnFormats.length)
      for (const f of m.columnFormats) b.i16(f)
      return Bytes.frame(m._tag === "CopyInResponse" ? "G" : m._tag === "CopyOutResponse" ? "H" : "W", b)
    case "CopyData":
      return Bytes.frame("d", m.data)
    case "CopyDone":
      return Bytes.frame("c")
    case "DataRow":
      b.i16(m.columns.length)
      for (const c of m.columns) {
        if (c === null) b.i32(-1)
        else b.i32(c.length).raw(c)
      }
      return Bytes.frame("D", b)
    case "EmptyQueryResponse":
      return Bytes.frame("I")
    case "ErrorResponse":
      return Bytes.frame("E", fields(b, m.fields, fieldOrder))
    case "NoticeResponse":
      return Bytes.frame("N", fields(b, m.fields, fieldOrder))
    case "FunctionCallResponse":
      if (m.value === null) b.i32(-1)
      else b.i32(m.value.length).raw(m.value)
      return Bytes.frame("V", b)
    case "NegotiateProtocolVersion":
      b.i32(m.newestMajor * 65536 + m.newestMinor).i32(m.unrecognizedOptions.length)
      for (const o of m.unrecognizedOptions) b.cstr(o)
      return Bytes.frame("v", b)
    case "NoData":
      return Bytes.frame("n")
    case "NotificationResponse":
      return Bytes.frame("A", b.i32(m.processId).cstr(m.channel).cstr(m.payload))
    case "ParameterDescription":
      b.i16(m.oids.length)
      for (const oid of m.oids) b.i32(oid)
      return Bytes.frame("t", b)
    case "ParameterStatus":
      return Bytes.frame("S", b.cstr(m.name).cstr(m.value))
    case "ParseComplete":
      return Bytes.frame("1")
    case "PortalSuspended":
      return Bytes.frame("s")
    case "ReadyForQuery":
      return Bytes.frame("Z", b.u8(m.status.charCodeAt(0)))
    case "RowDescription":
      b.i16(m.fields.length)
      for (const f of m.fields) {
        b.cstr(f.name)
          .i32(f.tableOid)
          .i16(f.columnAttr)
          .i32(f.typeOid)
          .i16(f.typeSize)
          .i32(f.typeModifier)
          .i16(f.format)
      }
      return Bytes.frame("T", b)
  }
}

/** The field codes of an ErrorResponse / NoticeResponse frame, in wire order. */
export const fieldOrderOf = (frame: Uint8Array): Array<string> => {
  const codes: Array<string> = []
  let p = 5
  while (p < frame.length && frame[p] !== 0) {
    codes.push(String.fromCharCode(frame[p]!))
    p = frame.indexOf(0, p + 1) + 1
  }
  return codes
}
