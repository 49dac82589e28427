/**
 * Small shared types and constants of the PostgreSQL frontend/backend protocol 3.0 and 3.2.
 *
 * Does: name the protocol's scalar types (Oid, format codes, transaction status), the version
 * numbers and special request codes, and the message type bytes of both directions.
 * Does NOT: encode or decode anything.
 *
 * Invariants: values equal the spec's; type bytes are ASCII codes as numbers so that hot code can
 * switch on `frame.type` without creating strings.
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

/** An object identifier: unsigned 32-bit integer (0 .. 4294967295). 0 means "unspecified" in Parse. */
export type Oid = number

/** Format code of a value: 0 = text, 1 = binary. */
export type FormatCode = 0 | 1

/** Text format code. */
export const FORMAT_TEXT = 0 as const
/** Binary format code. */
export const FORMAT_BINARY = 1 as const

/** ReadyForQuery status: 'I' idle, 'T' in a transaction block, 'E' in a failed transaction block. */
export type TransactionStatus = "I" | "T" | "E"

/** Describe / Close target: 'S' prepared statement, 'P' portal. */
export type DescribeTarget = "S" | "P"

/**
 * The cancellation key sent in BackendKeyData and echoed in CancelRequest.
 * `secretKey` is 4 bytes in protocol 3.0 and 4..256 bytes in protocol 3.2 (PostgreSQL 18 sends 32).
 */
export interface BackendKey {
  readonly processId: number
  readonly secretKey: Uint8Array
}

/** Builds a protocol version number: major in the high 16 bits, minor in the low 16 bits. */
export const protocolVersion = (major: number, minor: number): number => major * 65536 + minor

/** Protocol 3.0 (PostgreSQL 7.4 and later): 196608. */
export const PROTOCOL_3_0 = 196608
/** Protocol 3.2 (PostgreSQL 18 and later): 196610. Adds variable-length cancel keys. */
export const PROTOCOL_3_2 = 196610

/** The "version" of an SSLRequest: 1234 << 16 | 5679. */
export const SSL_REQUEST_CODE = 80877103
/** The "version" of a GSSENCRequest: 1234 << 16 | 5680. */
export const GSSENC_REQUEST_CODE = 80877104
/** The "version" of a CancelRequest: 1234 << 16 | 5678. */
export const CANCEL_REQUEST_CODE = 80877102

/** Minimum length of a cancellation secret key (protocol 3.2; exactly 4 in 3.0). */
export const MIN_SECRET_KEY_LENGTH = 4
/** Maximum length of a cancellation secret key (protocol 3.2). */
export const MAX_SECRET_KEY_LENGTH = 256

/**
 * The server rejects startup packets longer than this (`MAX_STARTUP_PACKET_LENGTH` in
 * PostgreSQL's `pqcomm.h`), so the encoder refuses to build one.
 */
export const MAX_STARTUP_PACKET_LENGTH = 10000

/**
 * Largest frame length (the Int32 length field, which counts itself) the encoders produce and the
 * Framer accepts by default: 1 GiB, the limit of PostgreSQL's `MaxAllocSize` and libpq.
 */
export const MAX_MESSAGE_SIZE = 0x40000000

/** Message type bytes sent by the client. */
export const FrontendType = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Flush: 0x48, // 'H'
  FunctionCall: 0x46, // 'F'
  Parse: 0x50, // 'P'
  /** PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse all use 'p'. */
  Password: 0x70, // 'p'
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58 // 'X'
} as const

/** Message type bytes sent by the server. */
export const BackendType = {
  Authentication: 0x52, // 'R'
  BackendKeyData: 0x4b, // 'K'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  CommandComplete: 0x43, // 'C'
  CopyBothResponse: 0x57, // 'W'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  DataRow: 0x44, // 'D'
  EmptyQueryResponse: 0x49, // 'I'
  ErrorResponse: 0x45, // 'E'
  FunctionCallResponse: 0x56, // 'V'
  NegotiateProtocolVersion: 0x76, // 'v'
  NoData: 0x6e, // 'n'
  NoticeResponse: 0x4e, // 'N'
  NotificationResponse: 0x41, // 'A'
  ParameterDescription: 0x74, // 't'
  ParameterStatus: 0x53, // 'S'
  ParseComplete: 0x31, // '1'
  PortalSuspended: 0x73, // 's'
  ReadyForQuery: 0x5a, // 'Z'
  RowDescription: 0x54 // 'T'
} as const
