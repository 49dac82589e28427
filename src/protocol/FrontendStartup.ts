/**
 * Encoders for the startup phase: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest, and
 * the authentication responses sent as 'p' (PasswordMessage, SASLInitialResponse, SASLResponse,
 * GSSResponse).
 *
 * Does: the same two forms as Frontend.ts: `writeX(writer, ...)` appending one frame (undefined or
 * a ProtocolError, the Writer rolled back on error) and `encodeX(...)` returning one frame.
 * Validates NUL bytes, empty parameter names, the 10000-byte startup packet limit, the protocol
 * version range, and the 4..256-byte cancel key.
 * Does NOT: compute passwords or SCRAM proofs (auth/ does), or choose the protocol version.
 *
 * Invariants: untyped packets (Startup, SSL/GSSENC/Cancel requests) have no type byte; their
 * ProtocolErrors carry no messageType. The precomputed constants are shared: never mutate them.
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import { abort, invalid, isInt32OrUint32, nulInString, scratch, take } from "./EncodeSupport.ts"
import type { ProtocolError } from "./ProtocolError.ts"
import type { BackendKey } from "./Types.ts"
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  MAX_SECRET_KEY_LENGTH,
  MAX_STARTUP_PACKET_LENGTH,
  MIN_SECRET_KEY_LENGTH,
  SSL_REQUEST_CODE,
  FrontendType as T
} from "./Types.ts"
import type { Writer } from "./Writer.ts"

const request = (code: number): Uint8Array =>
  new Uint8Array([0, 0, 0, 8, code >>> 24, (code >>> 16) & 0xff, (code >>> 8) & 0xff, code & 0xff])

/** SSLRequest: 8 bytes, answered by one unframed byte 'S' or 'N'. Precomputed, do not mutate. */
export const SSL_REQUEST: Uint8Array = request(SSL_REQUEST_CODE)
/** GSSENCRequest: 8 bytes, answered by one unframed byte 'G' or 'N'. Precomputed, do not mutate. */
export const GSSENC_REQUEST: Uint8Array = request(GSSENC_REQUEST_CODE)

// ---------------------------------------------------------------------------------------------
// Startup phase (untyped frames)

/** Options of a StartupMessage. */
export interface StartupOptions {
  /** Run-time parameters: `user` (required by the server), `database`, `options`, `replication`, GUCs, `_pq_.*`. */
  readonly parameters: Readonly<Record<string, string>>
  /** Protocol major version (default 3). */
  readonly major?: number
  /** Protocol minor version (default 0; 2 requests protocol 3.2). */
  readonly minor?: number
}

/**
 * StartupMessage: Int32 length, Int32 version, (name, value) C string pairs, terminating NUL.
 * Fails with `MessageTooLarge` above the server's 10000-byte startup packet limit.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-STARTUPMESSAGE
 */
export const writeStartup = (w: Writer, options: StartupOptions): ProtocolError | undefined => {
  const major = options.major ?? 3
  const minor = options.minor ?? 0
  if (!Number.isInteger(major) || !Number.isInteger(minor) || major < 0 || minor < 0) {
    return invalid(undefined, `protocol version ${major}.${minor} is invalid`)
  }
  if (major > 0xffff || minor > 0xffff)
    return invalid(undefined, `protocol version ${major}.${minor} is invalid`)
  const mark = w.mark()
  w.beginUntyped()
  w.int32(major * 65536 + minor)
  const params = options.parameters
  for (const name of Object.keys(params)) {
    const value = params[name]
    if (typeof value !== "string")
      return abort(w, mark, invalid(undefined, `startup parameter "${name}" is not a string`))
    if (name.length === 0) return abort(w, mark, invalid(undefined, "a startup parameter name is empty"))
    if (!w.cstring(name))
      return abort(w, mark, invalid(undefined, "a startup parameter name contains a NUL byte"))
    if (!w.cstring(value))
      return abort(w, mark, invalid(undefined, `startup parameter "${name}" contains a NUL byte`))
  }
  w.int8(0)
  return w.end(MAX_STARTUP_PACKET_LENGTH)
}

/**
 * CancelRequest: Int32 length, Int32 80877102, Int32 process ID, secret key bytes. The key is 4
 * bytes in protocol 3.0 and 4..256 bytes in 3.2; the length grows with it. Send it on a new
 * connection; the server answers by closing it.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-CANCELREQUEST
 */
export const writeCancelRequest = (w: Writer, key: BackendKey): ProtocolError | undefined => {
  if (!isInt32OrUint32(key.processId))
    return invalid(undefined, `process ID ${key.processId} is not a 32-bit integer`)
  if (!(key.secretKey instanceof Uint8Array)) return invalid(undefined, "the secret key is not a Uint8Array")
  const n = key.secretKey.length
  if (n < MIN_SECRET_KEY_LENGTH || n > MAX_SECRET_KEY_LENGTH) {
    return invalid(
      undefined,
      `secret key of ${n} bytes is outside ${MIN_SECRET_KEY_LENGTH}..${MAX_SECRET_KEY_LENGTH}`
    )
  }
  w.beginUntyped()
  w.int32(CANCEL_REQUEST_CODE)
  w.int32(key.processId)
  w.bytes(key.secretKey)
  return w.end()
}

/** SSLRequest (8 bytes). Read the one-byte answer with `decodeSslResponse`. */
export const writeSSLRequest = (w: Writer): undefined => void w.bytes(SSL_REQUEST)
/** GSSENCRequest (8 bytes). Read the one-byte answer with `decodeGssEncResponse`. */
export const writeGSSENCRequest = (w: Writer): undefined => void w.bytes(GSSENC_REQUEST)

// ---------------------------------------------------------------------------------------------
// Authentication responses ('p')

/**
 * PasswordMessage ('p'): cleartext or "md5..." hashed password as a C string.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-PASSWORDMESSAGE
 */
export const writePassword = (w: Writer, password: string): ProtocolError | undefined => {
  const mark = w.mark()
  w.begin(T.Password)
  if (!w.cstring(password)) return nulInString(w, mark, T.Password, "the password")
  return w.end()
}

/**
 * SASLInitialResponse ('p'): mechanism name, Int32 length of the initial response (-1 = none), data.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-SASLINITIALRESPONSE
 */
export const writeSASLInitialResponse = (
  w: Writer,
  mechanism: string,
  data: Uint8Array | null
): ProtocolError | undefined => {
  const mark = w.mark()
  w.begin(T.Password)
  if (!w.cstring(mechanism)) return nulInString(w, mark, T.Password, "the SASL mechanism")
  if (data === null) w.int32(-1)
  else {
    w.int32(data.length)
    w.bytes(data)
  }
  return w.end()
}

/** SASLResponse ('p'): the SASL message bytes, unframed inside. */
export const writeSASLResponse = (w: Writer, data: Uint8Array): ProtocolError | undefined => {
  w.begin(T.Password)
  w.bytes(data)
  return w.end()
}

/** GSSResponse ('p'): the GSSAPI/SSPI token bytes. */
export const writeGSSResponse: (w: Writer, data: Uint8Array) => ProtocolError | undefined = writeSASLResponse

// ---------------------------------------------------------------------------------------------
// encodeX conveniences

/** StartupMessage as one buffer. See {@link writeStartup}. */
export const encodeStartup = (options: StartupOptions): Uint8Array | ProtocolError =>
  take(writeStartup(scratch, options))
/** CancelRequest as one buffer. See {@link writeCancelRequest}. */
export const encodeCancelRequest = (key: BackendKey): Uint8Array | ProtocolError =>
  take(writeCancelRequest(scratch, key))
/** PasswordMessage as one buffer. See {@link writePassword}. */
export const encodePassword = (password: string): Uint8Array | ProtocolError =>
  take(writePassword(scratch, password))
/** SASLInitialResponse as one buffer. See {@link writeSASLInitialResponse}. */
export const encodeSASLInitialResponse = (
  mechanism: string,
  data: Uint8Array | null
): Uint8Array | ProtocolError => take(writeSASLInitialResponse(scratch, mechanism, data))
/** SASLResponse as one buffer. */
export const encodeSASLResponse = (data: Uint8Array): Uint8Array | ProtocolError =>
  take(writeSASLResponse(scratch, data))
/** GSSResponse as one buffer. */
export const encodeGSSResponse = (data: Uint8Array): Uint8Array | ProtocolError =>
  take(writeGSSResponse(scratch, data))
/** SSLRequest as a fresh buffer. */
export const encodeSSLRequest = (): Uint8Array => SSL_REQUEST.slice()
/** GSSENCRequest as a fresh buffer. */
export const encodeGSSENCRequest = (): Uint8Array => GSSENC_REQUEST.slice()
