/**
 * Backend (server → client) message decoding: frame → `BackendMessage` (types in BackendMessage.ts,
 * re-exported here).
 *
 * Does: turn one frame (type byte + body, as produced by the Framer) into a tagged message whose
 * `_tag` is the spec's message name, checking every length, count, NUL terminator, enum value and
 * that no bytes are left over.
 * Does NOT: frame bytes (Framer.ts), track protocol state (which message may come when is the flows'
 * job), interpret column values, or throw.
 *
 * Zero-copy rule: byte fields (DataRow columns, CopyData, FunctionCallResponse, SASL/GSS data, MD5
 * salt) are views of the frame body, which is itself usually a view of the socket chunk.
 * They stay valid as long as nobody mutates that chunk; copy what must outlive it. The one exception
 * is BackendKeyData's secret key, copied because it lives as long as the connection.
 * Payload-free messages are shared frozen singletons.
 *
 * Invariants: `decodeBackend` returns either a message or a ProtocolError, never both, never
 * throws, and reads nothing outside `body`; unknown type bytes give reason "UnknownMessage" with
 * `messageType` set, while an authentication request code the protocol does not define is kept as
 * `AuthenticationUnknown` (the startup names it in its refusal).
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
export type * from "./BackendMessage.ts"

import type {
  AuthenticationCleartextPassword,
  AuthenticationGSS,
  AuthenticationKerberosV5,
  AuthenticationOk,
  AuthenticationSCMCredential,
  AuthenticationSSPI,
  BackendKeyData,
  BackendMessage,
  BindComplete,
  CloseComplete,
  CopyBothResponse,
  CopyDone,
  CopyInResponse,
  CopyOutResponse,
  DataRow,
  EmptyQueryResponse,
  FieldDescription,
  NegotiateProtocolVersion,
  NoData,
  ParseComplete,
  PortalSuspended,
  ReadyForQuery,
  RowDescription
} from "./BackendMessage.ts"
import { readErrorFields } from "./ErrorFields.ts"
import { describeType, ProtocolError } from "./ProtocolError.ts"
import { byteView, Reader } from "./Reader.ts"
import type { FormatCode, Oid } from "./Types.ts"
import { BackendType as B, MAX_SECRET_KEY_LENGTH, MIN_SECRET_KEY_LENGTH } from "./Types.ts"

// ---------------------------------------------------------------------------------------------
// Singletons

const AUTH_OK: AuthenticationOk = Object.freeze({ _tag: "AuthenticationOk" })
const AUTH_KERBEROS: AuthenticationKerberosV5 = Object.freeze({ _tag: "AuthenticationKerberosV5" })
const AUTH_CLEARTEXT: AuthenticationCleartextPassword = Object.freeze({
  _tag: "AuthenticationCleartextPassword"
})
const AUTH_SCM: AuthenticationSCMCredential = Object.freeze({ _tag: "AuthenticationSCMCredential" })
const AUTH_GSS: AuthenticationGSS = Object.freeze({ _tag: "AuthenticationGSS" })
const AUTH_SSPI: AuthenticationSSPI = Object.freeze({ _tag: "AuthenticationSSPI" })
const BIND_COMPLETE: BindComplete = Object.freeze({ _tag: "BindComplete" })
const CLOSE_COMPLETE: CloseComplete = Object.freeze({ _tag: "CloseComplete" })
const COPY_DONE: CopyDone = Object.freeze({ _tag: "CopyDone" })
const EMPTY_QUERY: EmptyQueryResponse = Object.freeze({ _tag: "EmptyQueryResponse" })
const NO_DATA: NoData = Object.freeze({ _tag: "NoData" })
const PARSE_COMPLETE: ParseComplete = Object.freeze({ _tag: "ParseComplete" })
const PORTAL_SUSPENDED: PortalSuspended = Object.freeze({ _tag: "PortalSuspended" })
const READY_IDLE: ReadyForQuery = Object.freeze({ _tag: "ReadyForQuery", status: "I" })
const READY_IN_TRANSACTION: ReadyForQuery = Object.freeze({ _tag: "ReadyForQuery", status: "T" })
const READY_FAILED: ReadyForQuery = Object.freeze({ _tag: "ReadyForQuery", status: "E" })

// ---------------------------------------------------------------------------------------------
// Decoders

/** One Reader for all decoding: decoding is synchronous and never re-entered. */
const reader = new Reader()

const finish = <M extends BackendMessage>(message: M): M | ProtocolError => reader.done() ?? message

/** For payload-free messages: the body must be empty. */
const empty = <M extends BackendMessage>(message: M, body: Uint8Array, type: number): M | ProtocolError =>
  body.length === 0
    ? message
    : new ProtocolError(
        "TrailingBytes",
        `${describeType(type)} message must be empty, got ${body.length} bytes`,
        type
      )

const readFormat = (what: string): FormatCode => {
  const f = reader.int16(what)
  if (f !== 0 && f !== 1) reader.fail("InvalidValue", `${what} ${f} is not 0 (text) or 1 (binary)`)
  return f === 1 ? 1 : 0
}

const decodeAuthentication = (): BackendMessage | ProtocolError => {
  const code = reader.int32("the authentication code")
  if (reader.error !== undefined) return reader.error
  switch (code) {
    case 0:
      return finish(AUTH_OK)
    case 2:
      return finish(AUTH_KERBEROS)
    case 3:
      return finish(AUTH_CLEARTEXT)
    case 5:
      return finish({ _tag: "AuthenticationMD5Password", salt: reader.bytes(4, "the MD5 salt") })
    case 6:
      return finish(AUTH_SCM)
    case 7:
      return finish(AUTH_GSS)
    case 8:
      return { _tag: "AuthenticationGSSContinue", data: reader.rest() }
    case 9:
      return finish(AUTH_SSPI)
    case 10: {
      const mechanisms: Array<string> = []
      for (;;) {
        if (reader.remaining === 0) {
          reader.fail("Truncated", "the SASL mechanism list has no terminating empty string")
          break
        }
        if (reader.buf[reader.pos] === 0) {
          reader.pos++
          break
        }
        mechanisms.push(reader.cstring("a SASL mechanism"))
        if (reader.error !== undefined) break
      }
      return finish({ _tag: "AuthenticationSASL", mechanisms })
    }
    case 11:
      return { _tag: "AuthenticationSASLContinue", data: reader.rest() }
    case 12:
      return { _tag: "AuthenticationSASLFinal", data: reader.rest() }
    default:
      // Kept: the startup names the method it cannot answer (a PgAuthError, not a codec error).
      return { _tag: "AuthenticationUnknown", code, data: reader.rest() }
  }
}

const decodeBackendKeyData = (): BackendKeyData | ProtocolError => {
  const processId = reader.int32("the process ID")
  const n = reader.remaining
  if (reader.error === undefined && (n < MIN_SECRET_KEY_LENGTH || n > MAX_SECRET_KEY_LENGTH)) {
    reader.fail(
      "InvalidLength",
      `secret key of ${n} bytes is outside ${MIN_SECRET_KEY_LENGTH}..${MAX_SECRET_KEY_LENGTH}`
    )
  }
  return finish({ _tag: "BackendKeyData", processId, secretKey: reader.rest().slice() })
}

type CopyResponse = CopyInResponse | CopyOutResponse | CopyBothResponse

const decodeCopyResponse = (_tag: CopyResponse["_tag"]): CopyResponse | ProtocolError => {
  const overall = reader.uint8("the overall format")
  if (overall > 1) reader.fail("InvalidValue", `overall COPY format ${overall} is not 0 or 1`)
  const n = reader.uint16("the column count")
  const columnFormats: Array<FormatCode> = []
  for (let i = 0; i < n && reader.error === undefined; i++) columnFormats.push(readFormat("column format"))
  const message: CopyResponse = { _tag, format: overall === 1 ? 1 : 0, columnFormats }
  return finish(message)
}

/** DataRow, written without the Reader: it is the hot path. */
const decodeDataRow = (body: Uint8Array): DataRow | ProtocolError => {
  const end = body.length
  if (end < 2)
    return new ProtocolError("Truncated", "'D' message: body ends before the column count", B.DataRow)
  const n = (body[0]! << 8) | body[1]!
  const columns: Array<Uint8Array | null> = []
  let p = 2
  for (let i = 0; i < n; i++) {
    if (p + 4 > end)
      return new ProtocolError("Truncated", `'D' message: body ends before column ${i + 1}`, B.DataRow)
    const len = (body[p]! << 24) | (body[p + 1]! << 16) | (body[p + 2]! << 8) | body[p + 3]!
    p += 4
    if (len < 0) {
      if (len !== -1) {
        return new ProtocolError("InvalidLength", `'D' message: column ${i + 1} has length ${len}`, B.DataRow)
      }
      columns.push(null)
    } else {
      if (len > end - p)
        return new ProtocolError("Truncated", `'D' message: column ${i + 1} is cut short`, B.DataRow)
      columns.push(byteView(body, p, p + len))
      p += len
    }
  }
  if (p !== end)
    return new ProtocolError(
      "TrailingBytes",
      `'D' message: ${end - p} bytes after the last column`,
      B.DataRow
    )
  return { _tag: "DataRow", columns }
}

const decodeNegotiate = (): NegotiateProtocolVersion | ProtocolError => {
  const version = reader.int32("the protocol version")
  const n = reader.int32("the option count")
  if (n < 0) reader.fail("InvalidLength", `option count ${n} is negative`)
  const unrecognizedOptions: Array<string> = []
  for (let i = 0; i < n && reader.error === undefined; i++)
    unrecognizedOptions.push(reader.cstring("an option name"))
  return finish({
    _tag: "NegotiateProtocolVersion",
    newestMajor: version >>> 16,
    newestMinor: version & 0xffff,
    unrecognizedOptions
  })
}

const decodeRowDescription = (): RowDescription | ProtocolError => {
  const n = reader.uint16("the field count")
  const fields: Array<FieldDescription> = []
  for (let i = 0; i < n && reader.error === undefined; i++) {
    const name = reader.cstring("a field name")
    const tableOid = reader.uint32("the table OID")
    const columnAttr = reader.int16("the column number")
    const typeOid = reader.uint32("the type OID")
    const typeSize = reader.int16("the type size")
    const typeModifier = reader.int32("the type modifier")
    const format = readFormat("format code")
    fields.push({ name, tableOid, columnAttr, typeOid, typeSize, typeModifier, format })
  }
  return finish({ _tag: "RowDescription", fields })
}

const decodeReadyForQuery = (): ReadyForQuery | ProtocolError => {
  const status = reader.uint8("the transaction status")
  const message =
    status === 0x49
      ? READY_IDLE
      : status === 0x54
        ? READY_IN_TRANSACTION
        : status === 0x45
          ? READY_FAILED
          : undefined
  if (message === undefined && reader.error === undefined) {
    reader.fail("InvalidValue", `transaction status ${describeType(status)} is not 'I', 'T' or 'E'`)
  }
  return finish(message ?? READY_IDLE)
}

/**
 * Decodes one frame. `type` is the message type byte, `body` the bytes after the length field.
 * Returns the message, or a ProtocolError ("UnknownMessage" for an unknown type byte).
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
export const decodeBackend = (type: number, body: Uint8Array): BackendMessage | ProtocolError => {
  switch (type) {
    case B.DataRow:
      return decodeDataRow(body)
    case B.CopyData:
      return { _tag: "CopyData", data: body }
    case B.CommandComplete:
      reader.reset(body, type)
      return finish({ _tag: "CommandComplete", tag: reader.cstring("the command tag") })
    case B.ReadyForQuery:
      reader.reset(body, type)
      return decodeReadyForQuery()
    case B.RowDescription:
      reader.reset(body, type)
      return decodeRowDescription()
    case B.ParseComplete:
      return empty(PARSE_COMPLETE, body, type)
    case B.BindComplete:
      return empty(BIND_COMPLETE, body, type)
    case B.CloseComplete:
      return empty(CLOSE_COMPLETE, body, type)
    case B.NoData:
      return empty(NO_DATA, body, type)
    case B.PortalSuspended:
      return empty(PORTAL_SUSPENDED, body, type)
    case B.EmptyQueryResponse:
      return empty(EMPTY_QUERY, body, type)
    case B.CopyDone:
      return empty(COPY_DONE, body, type)
    case B.ErrorResponse:
      reader.reset(body, type)
      return finish({ _tag: "ErrorResponse", fields: readErrorFields(reader) })
    case B.NoticeResponse:
      reader.reset(body, type)
      return finish({ _tag: "NoticeResponse", fields: readErrorFields(reader) })
    case B.ParameterStatus: {
      reader.reset(body, type)
      const name = reader.cstring("the parameter name")
      return finish({ _tag: "ParameterStatus", name, value: reader.cstring("the parameter value") })
    }
    case B.ParameterDescription: {
      reader.reset(body, type)
      const n = reader.uint16("the parameter count")
      const oids: Array<Oid> = []
      for (let i = 0; i < n && reader.error === undefined; i++)
        oids.push(reader.uint32("a parameter type OID"))
      return finish({ _tag: "ParameterDescription", oids })
    }
    case B.Authentication:
      reader.reset(body, type)
      return decodeAuthentication()
    case B.BackendKeyData:
      reader.reset(body, type)
      return decodeBackendKeyData()
    case B.NotificationResponse: {
      reader.reset(body, type)
      const processId = reader.int32("the process ID")
      const channel = reader.cstring("the channel name")
      return finish({
        _tag: "NotificationResponse",
        processId,
        channel,
        payload: reader.cstring("the payload")
      })
    }
    case B.CopyInResponse:
      reader.reset(body, type)
      return decodeCopyResponse("CopyInResponse")
    case B.CopyOutResponse:
      reader.reset(body, type)
      return decodeCopyResponse("CopyOutResponse")
    case B.CopyBothResponse:
      reader.reset(body, type)
      return decodeCopyResponse("CopyBothResponse")
    case B.FunctionCallResponse:
      reader.reset(body, type)
      return finish({ _tag: "FunctionCallResponse", value: reader.lengthPrefixed("the result") })
    case B.NegotiateProtocolVersion:
      reader.reset(body, type)
      return decodeNegotiate()
    default:
      return new ProtocolError("UnknownMessage", `unknown backend message type ${describeType(type)}`, type)
  }
}
