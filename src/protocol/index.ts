/**
 * The pure PostgreSQL wire codec (protocol 3.0 and 3.2): bytes ⇄ tagged messages.
 *
 * Does: re-export the codec's public surface: Writer/Reader, frontend encoders, backend decoders
 * and message types, the Framer, error fields, the SSL/GSSENC answer classifier, DataRowScanner,
 * shared types and ProtocolError.
 * Does NOT: perform I/O, hold session state, or import Effect or Node APIs; nothing in it throws.
 *
 * Invariants: every fallible function returns `ProtocolError` as a value (see docs/protocol.md).
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
export * from "./Backend.ts"
export * from "./DataRowScanner.ts"
export * from "./ErrorFields.ts"
export * from "./Framer.ts"
export * from "./Frontend.ts"
export * from "./ProtocolError.ts"
export * from "./Reader.ts"
export * from "./SslResponse.ts"
export * from "./TextRow.ts"
export * from "./Types.ts"
export * from "./Writer.ts"
