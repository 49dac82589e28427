/**
 * The one error value of the pure authentication maths (`src/auth/`).
 *
 * Does: say why a password response, a SCRAM message, a mechanism choice or a channel-binding hash
 * could not be produced or verified.
 * Does NOT: throw, capture a stack, know about Effect, or ever include a password (or anything
 * derived from it: salted password, keys, proofs) in `message`. The Auth service maps it onto
 * `PgAuthError`.
 *
 * Invariants: every function of `src/auth/` that can fail returns an `AuthMathError` value instead
 * of throwing; messages quote only server-supplied or public values (mechanism names, attribute
 * letters, OIDs, counts), and those are truncated to keep hostile input out of logs.
 */

/**
 * Why the maths refused.
 *
 * - `InvalidInput`: the caller passed something unusable (empty password, NUL in a password or user
 *   name, a salt that is not 4 bytes, a malformed test nonce, a non-positive iteration limit).
 * - `SaslPrepFailed`: strict RFC 4013 SASLprep refused the string (prohibited, unassigned or bidi).
 *   The SCRAM client never returns it: it falls back to the raw bytes, as PostgreSQL does.
 * - `MalformedServerMessage`: a server-first or server-final message does not follow RFC 5802.
 * - `NonceMismatch`: the server nonce does not extend the client nonce.
 * - `IterationCountRefused`: the iteration count is not a positive integer within the limit.
 * - `ServerError`: the server-final message is `e=...`.
 * - `ServerSignatureMismatch`: the server could not prove it knows the password (forged `v=`).
 * - `ExchangeIncomplete`: AuthenticationOk arrived before the SCRAM exchange was verified.
 * - `ChannelBindingRequired`: `channel_binding=require` cannot be honoured.
 * - `MechanismUnsupported`: no usable SASL mechanism, or SCRAM-SHA-256-PLUS offered without TLS.
 * - `CertificateUnsupported`: the server certificate cannot be parsed, or its signature algorithm
 *   has no hash for tls-server-end-point (Ed25519, Ed448, unknown OIDs).
 */
export type AuthMathErrorReason =
  | "InvalidInput"
  | "SaslPrepFailed"
  | "MalformedServerMessage"
  | "NonceMismatch"
  | "IterationCountRefused"
  | "ServerError"
  | "ServerSignatureMismatch"
  | "ExchangeIncomplete"
  | "ChannelBindingRequired"
  | "MechanismUnsupported"
  | "CertificateUnsupported"

/**
 * An authentication maths failure. Plain class: test with `instanceof AuthMathError`,
 * {@link isAuthMathError}, or `_tag === "AuthMathError"`.
 */
export class AuthMathError {
  readonly _tag = "AuthMathError"
  readonly reason: AuthMathErrorReason
  readonly message: string
  constructor(reason: AuthMathErrorReason, message: string) {
    this.reason = reason
    this.message = message
  }
}

/** `true` when `u` is an {@link AuthMathError}. */
export const isAuthMathError = (u: unknown): u is AuthMathError => u instanceof AuthMathError

/** Quotes a server-supplied value for an error message: printable ASCII only, at most 40 characters. */
export const quote = (value: string): string => {
  const clean = value.replace(/[^\x20-\x7e]/g, "?")
  return JSON.stringify(clean.length > 40 ? `${clean.slice(0, 40)}...` : clean)
}
