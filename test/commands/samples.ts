/**
 * One sample of every backend message kind, for transcript tests that feed each kind at each
 * state of a command (src/protocol/BackendMessage.ts lists them). `dataRow(n)` builds a DataRow
 * of n text columns; `field(name)` a text column of a RowDescription.
 */
import type { BackendMessage, FieldDescription } from "../../src/protocol/Backend.ts"

const bytes = (s: string) => new TextEncoder().encode(s)

export const field = (name: string, typeOid = 25): FieldDescription => ({
  name,
  tableOid: 0,
  columnAttr: 0,
  typeOid,
  typeSize: -1,
  typeModifier: -1,
  format: 0
})

export const dataRow = (...values: ReadonlyArray<string | null>): BackendMessage => ({
  _tag: "DataRow",
  columns: values.map((v) => (v === null ? null : bytes(v)))
})

export const error = (code = "42P01", message = "relation does not exist"): BackendMessage => ({
  _tag: "ErrorResponse",
  fields: { severity: "ERROR", severityNonLocalized: "ERROR", code, message }
})

export const ready = (status: "I" | "T" | "E" = "I"): BackendMessage => ({ _tag: "ReadyForQuery", status })

export const commandComplete = (tag: string): BackendMessage => ({ _tag: "CommandComplete", tag })

/** Every message kind once, keyed by its tag. */
export const samples: ReadonlyArray<BackendMessage> = [
  { _tag: "AuthenticationOk" },
  { _tag: "AuthenticationKerberosV5" },
  { _tag: "AuthenticationCleartextPassword" },
  { _tag: "AuthenticationMD5Password", salt: new Uint8Array([1, 2, 3, 4]) },
  { _tag: "AuthenticationSCMCredential" },
  { _tag: "AuthenticationGSS" },
  { _tag: "AuthenticationGSSContinue", data: new Uint8Array([1]) },
  { _tag: "AuthenticationSSPI" },
  { _tag: "AuthenticationSASL", mechanisms: ["SCRAM-SHA-256"] },
  { _tag: "AuthenticationSASLContinue", data: bytes("r=abc,s=c2FsdA==,i=4096") },
  { _tag: "AuthenticationSASLFinal", data: bytes("v=abc") },
  { _tag: "AuthenticationUnknown", code: 99, data: new Uint8Array(0) },
  { _tag: "BackendKeyData", processId: 1, secretKey: new Uint8Array([1, 2, 3, 4]) },
  { _tag: "BindComplete" },
  { _tag: "CloseComplete" },
  commandComplete("SELECT 1"),
  { _tag: "CopyInResponse", format: 0, columnFormats: [0] },
  { _tag: "CopyOutResponse", format: 0, columnFormats: [0] },
  { _tag: "CopyBothResponse", format: 0, columnFormats: [0] },
  { _tag: "CopyData", data: bytes("1\n") },
  { _tag: "CopyDone" },
  dataRow("1"),
  { _tag: "EmptyQueryResponse" },
  error(),
  { _tag: "FunctionCallResponse", value: null },
  { _tag: "NegotiateProtocolVersion", newestMajor: 3, newestMinor: 0, unrecognizedOptions: [] },
  { _tag: "NoData" },
  { _tag: "ParameterDescription", oids: [23] },
  { _tag: "ParseComplete" },
  { _tag: "PortalSuspended" },
  ready(),
  { _tag: "RowDescription", fields: [field("n")] }
] as ReadonlyArray<BackendMessage>

/** The kinds the engine keeps for itself (never given to a command). */
export const engineOwned = ["NoticeResponse", "ParameterStatus", "NotificationResponse"] as const
