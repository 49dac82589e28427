/**
 * The startup command: the dialogue from StartupMessage to the first ReadyForQuery, as a pure
 * state machine. The caller (Auth.ts) supplies what the command cannot compute without I/O: the
 * password and the PBKDF2 of SCRAM.
 *
 * Wire transcript (Frontend/Backend Protocol, "Start-up"):
 *   StartupMessage(3.minor) → [NegotiateProtocolVersion]
 *     AuthenticationOk (trust, cert)
 *   | AuthenticationCleartextPassword / AuthenticationMD5Password → Result NeedPassword,
 *       the caller's Password → PasswordMessage; then AuthenticationOk
 *   | AuthenticationSASL → SASLInitialResponse; AuthenticationSASLContinue → Result NeedPassword,
 *       the caller's Password → Result NeedSaltedPassword (SASLprep'd password, salt, iterations),
 *       the caller's SaltedPassword → SASLResponse; AuthenticationSASLFinal (verified); then
 *       AuthenticationOk
 *   | AuthenticationGSS → GSSResponse (the configured one-shot token); then AuthenticationOk
 *   then BackendKeyData, ReadyForQuery → Done(StartupResult).
 * ParameterStatus and NoticeResponse are the engine's (`engine.parameters`, the run's notices).
 *
 * What it refuses, ending the connection:
 * - client-side refusals are `Stop` with an `Auth` failure (PgAuthError): require_auth,
 *   channel_binding (auth/ScramNegotiation.ts), an unsupported method named with its request code
 *   (Kerberos V5, SCM credentials, SSPI, GSS without a token or with a continuation, a code the
 *   protocol does not define: PgAuthError "unsupported-method", SQLSTATE 28000), a missing password, an iteration count above auth/Scram.ts's
 *   limit (refused before the password is even asked for, docs/decisions/011), a bad server
 *   signature; or with a `Protocol` failure (PgProtocolError): NegotiateProtocolVersion outside
 *   [minProtocolMinor, protocolMinor] ("ProtocolVersion"), a BackendKeyData key of a length the
 *   negotiated protocol does not allow ("InvalidValue"), a frame that cannot be encoded;
 * - an ErrorResponse the engine hands over (non-FATAL; FATAL ones fail the connection in the
 *   engine) is `Stop` with that `ServerError`;
 * - out-of-sequence messages are `Unexpected` ("UnexpectedMessage"): any authentication request
 *   after AuthenticationOk, a second method after the client answered one (libpq's "duplicate SASL
 *   authentication request", and a password request once SASL began), SASLContinue / SASLFinal
 *   outside their place, ReadyForQuery before authentication, any message while the client
 *   prepares an answer, and every kind that has no place in the startup.
 *
 * The answers to each authentication request are in startupAuth.ts.
 *
 * It does NOT read the password, run PBKDF2, know the TLS session (the caller passes the server
 * certificate), or map a server's 28xxx refusal to PgAuthError (the driver does, knowing from the
 * state whether authentication had completed).
 */
import type { ScramServerFirst, ScramState } from "../auth/Scram.ts"
import type { ChannelBindingMode } from "../auth/ScramNegotiation.ts"
import type { BackendMessage } from "../protocol/Backend.ts"
import { encodeStartup } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import {
  CONTINUE,
  type Command,
  done,
  type Failure,
  protocol,
  type Start,
  serverError,
  stop,
  unexpectedMessage
} from "./Command.ts"
import {
  codecFailure,
  onAuthentication,
  onPassword,
  onSaltedPassword,
  outOfSequence,
  requestLabel,
  STARTUP,
  type StartupStep,
  violation
} from "./startupAuth.ts"

/** Authentication methods as libpq's `require_auth` names them, plus "none" (trust, cert). */
export type StartupMethod = "password" | "md5" | "gss" | "sspi" | "scram-sha-256" | "oauth" | "none"

export interface StartupArgs {
  readonly user: string
  /** StartupMessage parameters besides `user` (database, application_name, options...). */
  readonly parameters: Readonly<Record<string, string>>
  /** Minor protocol version to ask for (2 = 3.2). */
  readonly protocolMinor: number
  /** Lowest acceptable minor version after negotiation. */
  readonly minProtocolMinor: number
  readonly channelBinding: ChannelBindingMode
  /** libpq `require_auth`: the methods the server may ask for, and whether it may ask for none. */
  readonly requireAuth?:
    | { readonly allowed: ReadonlyArray<StartupMethod>; readonly allowNone: boolean }
    | undefined
  /** A pre-computed GSSAPI token to answer AuthenticationGSS with. */
  readonly gssToken?: Uint8Array | undefined
  /** DER of the server's certificate when the connection is TLS (SCRAM-SHA-256-PLUS), else undefined. */
  readonly serverCertificate?: Uint8Array | undefined
}

/** What the command needs from its caller (a `Result` step); it waits for the answer. */
export type StartupNeed =
  | { readonly _tag: "NeedPassword"; readonly method: "password" | "md5" | "scram-sha-256" }
  /** PBKDF2-HMAC-SHA-256(password, salt, iterations), 32 bytes; `password` is SASLprep'd. */
  | {
      readonly _tag: "NeedSaltedPassword"
      readonly password: Uint8Array
      readonly salt: Uint8Array
      readonly iterations: number
    }

/** The caller's answer to a {@link StartupNeed} (`onInput`); anything else is ignored. */
export type StartupAnswer =
  /** `undefined`: no password is configured (the startup is then refused). */
  | { readonly _tag: "Password"; readonly password: string | undefined }
  | { readonly _tag: "SaltedPassword"; readonly saltedPassword: Uint8Array }

/** The session the startup opened (the parameters are `engine.parameters`, the notices the run's). */
export interface StartupResult {
  readonly processId: number
  /** Empty when the server sent no BackendKeyData. */
  readonly secretKey: Uint8Array
  /** The negotiated minor protocol version. */
  readonly protocolMinor: number
  /** The method the server used. */
  readonly method: StartupMethod
  /** The SCRAM exchange was SCRAM-SHA-256-PLUS and verified. */
  readonly channelBound: boolean
}

/**
 * "authenticating": waiting for the server (an authentication request, NegotiateProtocolVersion);
 * "awaiting-password" / "awaiting-salted-password": waiting for the caller; "authenticated": after
 * AuthenticationOk; "ready": after ReadyForQuery (the command is over).
 */
export type StartupPhase =
  | "authenticating"
  | "awaiting-password"
  | "awaiting-salted-password"
  | "authenticated"
  | "ready"

export interface StartupState {
  readonly args: StartupArgs
  phase: StartupPhase
  /** The method the client began answering ("none" until it answers one). */
  method: StartupMethod
  scram: ScramState | undefined
  /** While the caller computes the SaltedPassword: what SCRAM's client-final needs. */
  serverFirst: ScramServerFirst | undefined
  /** The MD5 salt, copied (the message is a view of the socket's chunk). */
  md5Salt: Uint8Array | undefined
  minor: number
  key: { readonly processId: number; readonly secretKey: Uint8Array } | undefined
}

const NAME = STARTUP

/** Whether the server accepted the client's authentication (AuthenticationOk came). */
export const isAuthenticated = (state: StartupState): boolean =>
  state.phase === "authenticated" || state.phase === "ready"

const onNegotiate = (state: StartupState, major: number, minor: number): StartupStep => {
  const args = state.args
  const refused = (message: string) => stop(protocol("ProtocolVersion", message))
  if (major !== 3 || minor < args.minProtocolMinor) {
    return refused(
      `server only supports protocol version ${major}.${minor}, but at least 3.${args.minProtocolMinor} is required`
    )
  }
  if (minor > args.protocolMinor) {
    return refused(`server offered protocol 3.${minor}, newer than the 3.${args.protocolMinor} requested`)
  }
  state.minor = minor
  return CONTINUE
}

const onBackendKey = (state: StartupState, processId: number, secretKey: Uint8Array): StartupStep => {
  const n = secretKey.length
  const minor = state.minor
  if (minor < 2 ? n !== 4 : n < 4 || n > 256) {
    return stop(
      protocol("InvalidValue", `BackendKeyData has a ${n}-byte key, which protocol 3.${minor} does not allow`)
    )
  }
  state.key = { processId, secretKey }
  return CONTINUE
}

const onReady = (state: StartupState): StartupStep => {
  if (state.phase !== "authenticated") return violation("ReadyForQuery before authentication")
  state.phase = "ready"
  const scram = state.scram
  return done({
    processId: state.key?.processId ?? 0,
    secretKey: state.key?.secretKey ?? new Uint8Array(0),
    protocolMinor: state.minor,
    method: state.method,
    channelBound: scram?._tag === "ScramVerified" && scram.channelBound
  })
}

const onMessage = (state: StartupState, message: BackendMessage): StartupStep => {
  const phase = state.phase
  if (phase === "awaiting-password" || phase === "awaiting-salted-password") {
    return message._tag === "ErrorResponse"
      ? stop(serverError(message.fields))
      : unexpectedMessage(NAME, message, "while the client prepares its answer")
  }
  if (phase === "ready") return unexpectedMessage(NAME, message, "after ReadyForQuery")
  if (message._tag.startsWith("Authentication")) {
    const why = outOfSequence(requestLabel(message), phase === "authenticated", state.method)
    return why === undefined ? onAuthentication(state, message) : violation(why)
  }
  switch (message._tag) {
    case "NegotiateProtocolVersion":
      return onNegotiate(state, message.newestMajor, message.newestMinor)
    case "BackendKeyData":
      return onBackendKey(state, message.processId, message.secretKey)
    case "ErrorResponse":
      return stop(serverError(message.fields))
    case "ReadyForQuery":
      return onReady(state)
    default:
      return unexpectedMessage(NAME, message)
  }
}

const onInput = (state: StartupState, answer: StartupAnswer): StartupStep => {
  if (state.phase === "awaiting-password" && answer._tag === "Password") {
    return onPassword(state, answer.password)
  }
  if (state.phase === "awaiting-salted-password" && answer._tag === "SaltedPassword") {
    return onSaltedPassword(state, answer.saltedPassword)
  }
  return CONTINUE
}

const start = (args: StartupArgs): Start<StartupState> | Failure => {
  const frames = encodeStartup({
    parameters: { user: args.user, ...args.parameters },
    major: 3,
    minor: args.protocolMinor
  })
  if (frames instanceof ProtocolError) return codecFailure(frames)
  return {
    state: {
      args,
      phase: "authenticating",
      method: "none",
      scram: undefined,
      serverFirst: undefined,
      md5Salt: undefined,
      minor: args.protocolMinor,
      key: undefined
    },
    frames,
    exclusive: true
  }
}

/** The startup command (exclusive: the StartupMessage does not end with Sync). */
export const startup: Command<StartupArgs, StartupState, StartupResult, StartupNeed, StartupAnswer> = {
  name: NAME,
  start,
  onMessage,
  onInput
}
