/**
 * The backend (server → client) message types: one interface per message of protocol 3.0 / 3.2
 * and the `BackendMessage` union, discriminated by `_tag` (the spec's message name).
 *
 * Does: describe decoded messages. Backend.ts decodes frames into them.
 * Does NOT: decode, validate or hold behaviour.
 *
 * Invariants: byte fields are views of the frame unless documented otherwise (see Backend.ts for
 * the zero-copy rule); OIDs are unsigned; counts and lengths were validated by the decoder.
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import type { ErrorFields } from "./ErrorFields.ts"
import type { FormatCode, Oid, TransactionStatus } from "./Types.ts"

/** AuthenticationOk ('R', code 0): authentication succeeded. */
export interface AuthenticationOk {
  readonly _tag: "AuthenticationOk"
}
/** AuthenticationKerberosV5 ('R', code 2): not supported by modern servers; kept for completeness. */
export interface AuthenticationKerberosV5 {
  readonly _tag: "AuthenticationKerberosV5"
}
/** AuthenticationCleartextPassword ('R', code 3): send a PasswordMessage with the cleartext password. */
export interface AuthenticationCleartextPassword {
  readonly _tag: "AuthenticationCleartextPassword"
}
/** AuthenticationMD5Password ('R', code 5): send "md5" + md5(md5(password + user) + salt). */
export interface AuthenticationMD5Password {
  readonly _tag: "AuthenticationMD5Password"
  /** 4 bytes (view). */
  readonly salt: Uint8Array
}
/** AuthenticationSCMCredential ('R', code 6): Unix-socket credentials; no longer sent by servers since PostgreSQL 9.1. */
export interface AuthenticationSCMCredential {
  readonly _tag: "AuthenticationSCMCredential"
}
/** AuthenticationGSS ('R', code 7): start GSSAPI negotiation. */
export interface AuthenticationGSS {
  readonly _tag: "AuthenticationGSS"
}
/** AuthenticationGSSContinue ('R', code 8): GSSAPI or SSPI token. */
export interface AuthenticationGSSContinue {
  readonly _tag: "AuthenticationGSSContinue"
  readonly data: Uint8Array
}
/** AuthenticationSSPI ('R', code 9): start SSPI negotiation. */
export interface AuthenticationSSPI {
  readonly _tag: "AuthenticationSSPI"
}
/** AuthenticationSASL ('R', code 10): the SASL mechanisms the server accepts, in its order of preference. */
export interface AuthenticationSASL {
  readonly _tag: "AuthenticationSASL"
  readonly mechanisms: ReadonlyArray<string>
}
/** AuthenticationSASLContinue ('R', code 11): SASL challenge (e.g. SCRAM server-first-message). */
export interface AuthenticationSASLContinue {
  readonly _tag: "AuthenticationSASLContinue"
  readonly data: Uint8Array
}
/**
 * An Authentication ('R') request whose code the protocol does not define (e.g. a newer server's
 * method): kept, not refused by the codec, so the startup can name the code it cannot answer.
 */
export interface AuthenticationUnknown {
  readonly _tag: "AuthenticationUnknown"
  readonly code: number
  /** The bytes after the code (view). */
  readonly data: Uint8Array
}
/** AuthenticationSASLFinal ('R', code 12): SASL outcome (e.g. SCRAM server-final-message). */
export interface AuthenticationSASLFinal {
  readonly _tag: "AuthenticationSASLFinal"
  readonly data: Uint8Array
}
/** BackendKeyData ('K'): process ID and cancellation secret (4 bytes in 3.0, up to 256 in 3.2; a copy). */
export interface BackendKeyData {
  readonly _tag: "BackendKeyData"
  readonly processId: number
  readonly secretKey: Uint8Array
}
/** BindComplete ('2'). */
export interface BindComplete {
  readonly _tag: "BindComplete"
}
/** CloseComplete ('3'). */
export interface CloseComplete {
  readonly _tag: "CloseComplete"
}
/** CommandComplete ('C'): the command tag, e.g. "SELECT 5", "INSERT 0 1". */
export interface CommandComplete {
  readonly _tag: "CommandComplete"
  readonly tag: string
}
/** Shape shared by CopyInResponse, CopyOutResponse and CopyBothResponse. */
export interface CopyResponseFields {
  /** Overall COPY format: 0 textual, 1 binary. */
  readonly format: FormatCode
  /** One format per column (all 0 when `format` is 0). */
  readonly columnFormats: ReadonlyArray<FormatCode>
}
/** CopyInResponse ('G'): the server now expects CopyData / CopyDone / CopyFail. */
export interface CopyInResponse extends CopyResponseFields {
  readonly _tag: "CopyInResponse"
}
/** CopyOutResponse ('H'): CopyData messages follow, then CopyDone. */
export interface CopyOutResponse extends CopyResponseFields {
  readonly _tag: "CopyOutResponse"
}
/** CopyBothResponse ('W'): streaming replication; CopyData flows both ways. */
export interface CopyBothResponse extends CopyResponseFields {
  readonly _tag: "CopyBothResponse"
}
/** CopyData ('d'): a chunk of COPY data (view). */
export interface CopyData {
  readonly _tag: "CopyData"
  readonly data: Uint8Array
}
/** CopyDone ('c'). */
export interface CopyDone {
  readonly _tag: "CopyDone"
}
/** DataRow ('D'): one row; each column is a view of the frame, or null for SQL NULL. */
export interface DataRow {
  readonly _tag: "DataRow"
  readonly columns: ReadonlyArray<Uint8Array | null>
}
/** EmptyQueryResponse ('I'): the query string was empty. */
export interface EmptyQueryResponse {
  readonly _tag: "EmptyQueryResponse"
}
/** ErrorResponse ('E'). */
export interface ErrorResponse {
  readonly _tag: "ErrorResponse"
  readonly fields: ErrorFields
}
/** NoticeResponse ('N'): same fields as ErrorResponse, but a warning or notice. */
export interface NoticeResponse {
  readonly _tag: "NoticeResponse"
  readonly fields: ErrorFields
}
/** FunctionCallResponse ('V'): the function result (view), or null. */
export interface FunctionCallResponse {
  readonly _tag: "FunctionCallResponse"
  readonly value: Uint8Array | null
}
/**
 * NegotiateProtocolVersion ('v'): the server supports an older minor version than requested, or
 * did not recognize some `_pq_.` startup options. The server sends the full version number
 * (major << 16 | minor); `newestMajor`/`newestMinor` split it.
 */
export interface NegotiateProtocolVersion {
  readonly _tag: "NegotiateProtocolVersion"
  readonly newestMajor: number
  readonly newestMinor: number
  readonly unrecognizedOptions: ReadonlyArray<string>
}
/** NoData ('n'): the described statement or portal returns no rows. */
export interface NoData {
  readonly _tag: "NoData"
}
/** NotificationResponse ('A'): a NOTIFY delivered to this session. */
export interface NotificationResponse {
  readonly _tag: "NotificationResponse"
  readonly processId: number
  readonly channel: string
  readonly payload: string
}
/** ParameterDescription ('t'): the parameter type OIDs of a prepared statement. */
export interface ParameterDescription {
  readonly _tag: "ParameterDescription"
  readonly oids: ReadonlyArray<Oid>
}
/** ParameterStatus ('S'): a run-time parameter's current value. */
export interface ParameterStatus {
  readonly _tag: "ParameterStatus"
  readonly name: string
  readonly value: string
}
/** ParseComplete ('1'). */
export interface ParseComplete {
  readonly _tag: "ParseComplete"
}
/** PortalSuspended ('s'): Execute's row limit was reached. */
export interface PortalSuspended {
  readonly _tag: "PortalSuspended"
}
/** ReadyForQuery ('Z'): the server is ready; `status` is the transaction status. */
export interface ReadyForQuery {
  readonly _tag: "ReadyForQuery"
  readonly status: TransactionStatus
}
/** One column of a RowDescription. */
export interface FieldDescription {
  readonly name: string
  /** OID of the source table, or 0. */
  readonly tableOid: Oid
  /** Attribute number of the source column, or 0. */
  readonly columnAttr: number
  readonly typeOid: Oid
  /** pg_type.typlen: negative for variable-width types. */
  readonly typeSize: number
  /** pg_attribute.atttypmod: type-specific, -1 when none. */
  readonly typeModifier: number
  /** 0 text, 1 binary. Always 0 in a RowDescription answering Describe of a statement. */
  readonly format: FormatCode
}
/** RowDescription ('T'). */
export interface RowDescription {
  readonly _tag: "RowDescription"
  readonly fields: ReadonlyArray<FieldDescription>
}

/** Every message the server can send after the (unframed) SSL/GSSENC answer. */
export type BackendMessage =
  | AuthenticationOk
  | AuthenticationKerberosV5
  | AuthenticationCleartextPassword
  | AuthenticationMD5Password
  | AuthenticationSCMCredential
  | AuthenticationGSS
  | AuthenticationGSSContinue
  | AuthenticationSSPI
  | AuthenticationSASL
  | AuthenticationSASLContinue
  | AuthenticationSASLFinal
  | AuthenticationUnknown
  | BackendKeyData
  | BindComplete
  | CloseComplete
  | CommandComplete
  | CopyInResponse
  | CopyOutResponse
  | CopyBothResponse
  | CopyData
  | CopyDone
  | DataRow
  | EmptyQueryResponse
  | ErrorResponse
  | NoticeResponse
  | FunctionCallResponse
  | NegotiateProtocolVersion
  | NoData
  | NotificationResponse
  | ParameterDescription
  | ParameterStatus
  | ParseComplete
  | PortalSuspended
  | ReadyForQuery
  | RowDescription
