/**
 * The unframed one-byte answers to SSLRequest ('S' / 'N') and GSSENCRequest ('G' / 'N').
 *
 * Does: classify the first chunk received after sending SSLRequest or GSSENCRequest, and refuse
 * bytes that arrive in the same chunk after a "yes" (they would be unencrypted data the server
 * never sends: the buffer-stuffing attack CVE-2021-23222, which libpq also rejects).
 * Does NOT: perform TLS or GSSAPI, or frame an ErrorResponse.
 *
 * How a caller handles the answer:
 * - "S" / "G": the chunk was exactly one byte; start the TLS / GSSAPI handshake on the socket,
 *   then send the StartupMessage over the encrypted channel.
 * - "N": the server refuses encryption. Continue in plaintext (send StartupMessage) or close,
 *   according to sslmode. Bytes after the 'N' (none are expected) belong to the framed stream:
 *   feed `chunk.subarray(1)` to the Framer.
 * - "E": a server that does not understand the request (pre-7.0, or some proxies) answered with an
 *   ErrorResponse. Do NOT consume the byte: feed the whole chunk, starting with 'E', to a Framer to
 *   read the error, then close the connection.
 *
 * Invariants: never throws; an empty chunk or any other first byte is a ProtocolError.
 *
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-SSL
 */
import { describeType, ProtocolError } from "./ProtocolError.ts"

/** Answer to SSLRequest. */
export type SslResponse = "S" | "N" | "E"
/** Answer to GSSENCRequest. */
export type GssEncResponse = "G" | "N" | "E"

const classify = (chunk: Uint8Array, yes: number, request: string): string | ProtocolError => {
  if (chunk.length === 0) return new ProtocolError("Truncated", `empty answer to ${request}`)
  const first = chunk[0]!
  if (first === yes) {
    if (chunk.length > 1) {
      return new ProtocolError(
        "TrailingBytes",
        `received ${chunk.length - 1} unencrypted bytes after the answer to ${request}`
      )
    }
    return String.fromCharCode(yes)
  }
  if (first === 0x4e) return "N"
  if (first === 0x45) return "E"
  return new ProtocolError("InvalidValue", `invalid answer ${describeType(first)} to ${request}`, first)
}

/** Classifies the server's answer to SSLRequest. See the module header for what to do next. */
export const decodeSslResponse = (chunk: Uint8Array): SslResponse | ProtocolError =>
  classify(chunk, 0x53, "SSLRequest") as SslResponse | ProtocolError

/** Classifies the server's answer to GSSENCRequest. See the module header for what to do next. */
export const decodeGssEncResponse = (chunk: Uint8Array): GssEncResponse | ProtocolError =>
  classify(chunk, 0x47, "GSSENCRequest") as GssEncResponse | ProtocolError
