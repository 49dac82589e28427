/**
 * The one error value of the pure protocol codec.
 *
 * Does: describe why bytes could not be framed or decoded, or why a value cannot be encoded.
 * Does NOT: throw, carry a stack trace, wrap other errors, or know about Effect. The Effect layer
 * (Codec) maps it onto its own tagged error.
 *
 * Invariants: every function of `protocol/` that can fail returns a `ProtocolError` value instead
 * of throwing; a returned error is never thrown by this package. Construction is cheap (no stack
 * capture), because the fuzz suite and hostile peers can make many of them.
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

/**
 * Why framing, decoding or encoding failed.
 *
 * - `InvalidLength`: a length field is impossible (frame length < 4, negative value length, count
 *   that does not fit the body).
 * - `MessageTooLarge`: a frame exceeds the configured maximum, or a value is too large for its field.
 * - `Truncated`: the body ends before a field it must contain.
 * - `MissingNul`: a C string runs to the end of the body without its terminating NUL byte.
 * - `UnknownMessage`: the message type byte (or authentication code) is not part of the protocol.
 * - `InvalidValue`: a field holds a value the protocol does not allow (status byte, format code,
 *   NUL inside a string to encode, out-of-range integer...).
 * - `TrailingBytes`: bytes are left after the last field of a fixed-layout message.
 * - `Poisoned`: reserved for callers that refuse to continue after an earlier error (the Framer
 *   itself returns the original error again).
 */
export type ProtocolErrorReason =
  | "InvalidLength"
  | "MessageTooLarge"
  | "Truncated"
  | "MissingNul"
  | "UnknownMessage"
  | "InvalidValue"
  | "TrailingBytes"
  | "Poisoned"

/**
 * A protocol violation or an unencodable value. Plain class: test with `instanceof ProtocolError`
 * or {@link isProtocolError}, or by `_tag === "ProtocolError"`.
 *
 * `messageType` is the message type byte (e.g. `0x44` for 'D') when the error concerns one message.
 */
export class ProtocolError {
  readonly _tag = "ProtocolError"
  readonly reason: ProtocolErrorReason
  readonly message: string
  readonly messageType: number | undefined
  constructor(reason: ProtocolErrorReason, message: string, messageType?: number) {
    this.reason = reason
    this.message = message
    this.messageType = messageType
  }
}

/** `true` when `u` is a {@link ProtocolError}. */
export const isProtocolError = (u: unknown): u is ProtocolError => u instanceof ProtocolError

/** Renders a message type byte for error messages: `'D' (0x44)`. */
export const describeType = (type: number): string => {
  const hex = `0x${type.toString(16).padStart(2, "0")}`
  return type >= 0x20 && type < 0x7f ? `'${String.fromCharCode(type)}' (${hex})` : hex
}
