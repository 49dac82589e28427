/**
 * The `channel_binding` policy around SCRAM, with libpq's semantics: which SASL mechanism to use,
 * which authentication requests to answer, and when AuthenticationOk may be believed.
 *
 * Does:
 * - {@link selectScramMechanism}: from the AuthenticationSASL mechanism list, the TLS state and
 *   `channel_binding` (disable | prefer | require), choose SCRAM-SHA-256-PLUS (with the
 *   tls-server-end-point data of the server certificate) or SCRAM-SHA-256 (gs2 flag `y` over TLS
 *   unless disabled, `n` otherwise), or refuse, as libpq's pg_SASL_init does;
 * - {@link checkAuthenticationRequest}: with `require`, refuse every request but SASL (a cleartext
 *   or MD5 request would hand a password-equivalent to a server that never proved itself);
 * - {@link checkAuthenticationOk}: refuse AuthenticationOk when a SCRAM exchange was started but
 *   the server signature was not verified (stricter than libpq, which only checks this under
 *   require_auth), and, with `require`, when the exchange was not channel-bound.
 * Does NOT: perform the exchange (Scram.ts), hash certificates itself (ChannelBinding.ts), or handle
 * sslmode (the socket layer); OAUTHBEARER and GSSAPI are not supported mechanisms.
 *
 * Invariants: `require` never succeeds without TLS; SCRAM-SHA-256-PLUS offered over a non-TLS
 * connection is refused whatever the mode (a proxy stripped TLS: the server would refuse a
 * non-bound exchange anyway); PLUS is preferred whenever offered over TLS and not disabled.
 *
 * @see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNECT-CHANNEL-BINDING
 */
import { AuthMathError } from "./AuthMathError.ts"
import { tlsServerEndPoint } from "./ChannelBinding.ts"
import {
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  type ScramChannelBinding,
  type ScramMechanism,
  type ScramState
} from "./Scram.ts"

/** libpq's `channel_binding` connection parameter (default `prefer`). */
export type ChannelBindingMode = "disable" | "prefer" | "require"

export interface SelectScramMechanismInput {
  /** The mechanism names of AuthenticationSASL, in the server's order. */
  readonly serverMechanisms: ReadonlyArray<string>
  readonly channelBinding: ChannelBindingMode
  /** `undefined` without TLS; with TLS, the server's leaf certificate in DER. */
  readonly tls: { readonly serverCertificate: Uint8Array } | undefined
}

/** What to pass to `clientFirst` and to put in the SASLInitialResponse. */
export interface ScramSelection {
  readonly mechanism: ScramMechanism
  readonly channelBinding: ScramChannelBinding
}

const required = (message: string) => new AuthMathError("ChannelBindingRequired", message)

/** Chooses the SCRAM mechanism and the channel binding, as libpq does. */
export const selectScramMechanism = (input: SelectScramMechanismInput): ScramSelection | AuthMathError => {
  const { channelBinding, tls } = input
  if (channelBinding === "require" && tls === undefined) {
    return required("channel binding required, but SSL not in use")
  }
  let plusOffered = false
  let plainOffered = false
  for (const name of input.serverMechanisms) {
    if (name === SCRAM_SHA_256_PLUS) {
      if (tls === undefined) {
        return new AuthMathError(
          "MechanismUnsupported",
          "server offered SCRAM-SHA-256-PLUS authentication over a non-SSL connection"
        )
      }
      plusOffered = true
    } else if (name === SCRAM_SHA_256) {
      plainOffered = true
    }
  }
  const usePlus = plusOffered && channelBinding !== "disable"
  if (!usePlus && !plainOffered) {
    return new AuthMathError(
      "MechanismUnsupported",
      "none of the server's SASL authentication mechanisms are supported"
    )
  }
  if (channelBinding === "require" && !usePlus) {
    return required(
      "channel binding is required, but server did not offer an authentication method that supports channel binding"
    )
  }
  if (usePlus && tls !== undefined) {
    const data = tlsServerEndPoint(tls.serverCertificate)
    if (data instanceof AuthMathError) return data
    return { mechanism: SCRAM_SHA_256_PLUS, channelBinding: { type: "tls-server-end-point", data } }
  }
  return {
    mechanism: SCRAM_SHA_256,
    channelBinding:
      channelBinding !== "disable" && tls !== undefined
        ? { type: "client-supports-server-not" }
        : { type: "none" }
  }
}

/** The authentication requests of the protocol, by meaning (Authentication* message codes). */
export type AuthenticationRequestKind =
  | "ok" // 0
  | "kerberos-v5" // 2
  | "cleartext-password" // 3
  | "md5-password" // 5
  | "gss" // 7
  | "gss-continue" // 8
  | "sspi" // 9
  | "sasl" // 10
  | "sasl-continue" // 11
  | "sasl-final" // 12

/**
 * Whether a (non-Ok) authentication request may be answered. With `require`, only the SASL family
 * may: answering a cleartext or MD5 request would give a password-equivalent to an unauthenticated
 * server. AuthenticationOk goes through {@link checkAuthenticationOk}.
 */
export const checkAuthenticationRequest = (
  kind: AuthenticationRequestKind,
  channelBinding: ChannelBindingMode
): undefined | AuthMathError => {
  if (channelBinding !== "require") return undefined
  if (kind === "sasl" || kind === "sasl-continue" || kind === "sasl-final" || kind === "ok") return undefined
  return required("channel binding required but not supported by server's authentication request")
}

/**
 * Whether AuthenticationOk may be accepted. `scram` is the SCRAM state if an exchange was started
 * (undefined for trust, MD5, cleartext). A started but unverified exchange is refused: a server
 * that skips its signature has not proved it knows the password (it may be harvesting proofs).
 */
export const checkAuthenticationOk = (
  scram: ScramState | undefined,
  channelBinding: ChannelBindingMode
): undefined | AuthMathError => {
  if (scram !== undefined && scram._tag !== "ScramVerified") {
    return new AuthMathError(
      "ExchangeIncomplete",
      "server sent AuthenticationOk before completing the SCRAM exchange (server signature not verified)"
    )
  }
  if (channelBinding === "require" && (scram === undefined || !scram.channelBound)) {
    return required("channel binding required, but server authenticated client without channel binding")
  }
  return undefined
}
