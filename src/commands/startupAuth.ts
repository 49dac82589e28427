/**
 * The authentication part of the startup command (commands/startup.ts): the answer to each
 * Authentication* request (cleartext, MD5, SCRAM-SHA-256 and -PLUS, a one-shot GSS token; the
 * refusal, naming the method and its request code, of those it does not implement), the
 * checks libpq makes before answering (`require_auth`, `channel_binding`, out-of-sequence
 * requests), and the answers built from the caller's password and SaltedPassword.
 *
 * It does NOT hold the command's state machine (startup.ts: phases, NegotiateProtocolVersion,
 * BackendKeyData, ReadyForQuery) nor do I/O; the maths are auth/*.
 */
import { AuthMathError } from "../auth/AuthMathError.ts"
import { md5PasswordResponse } from "../auth/Md5.ts"
import { scramPasswordBytes } from "../auth/SaslPrep.ts"
import {
  clientFinalFromSaltedPassword,
  clientFirst,
  parseServerFirst,
  verifyServerFinal
} from "../auth/Scram.ts"
import {
  type AuthenticationRequestKind,
  checkAuthenticationOk,
  checkAuthenticationRequest,
  selectScramMechanism
} from "../auth/ScramNegotiation.ts"
import type { BackendMessage } from "../protocol/Backend.ts"
import {
  encodeGSSResponse,
  encodePassword,
  encodeSASLInitialResponse,
  encodeSASLResponse
} from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import {
  type AuthFailureReason,
  authFailure,
  CONTINUE,
  type Failure,
  protocol,
  result,
  type Step,
  send,
  stop,
  unexpected,
  unexpectedMessage
} from "./Command.ts"
import type { StartupMethod, StartupNeed, StartupResult, StartupState } from "./startup.ts"

export const STARTUP = "startup"

export type StartupStep = Step<StartupResult, StartupNeed>

const fromMath = (method: string, error: AuthMathError): Failure => {
  const reason: AuthFailureReason =
    error.reason === "ChannelBindingRequired"
      ? "channel-binding-required"
      : error.reason === "ServerSignatureMismatch" || error.reason === "ExchangeIncomplete"
        ? "server-signature-invalid"
        : error.reason === "MechanismUnsupported"
          ? "unsupported-method"
          : "protocol"
  return authFailure(method, reason, error.message)
}

export const codecFailure = (error: ProtocolError): Failure =>
  protocol(error.reason, error.message, { messageType: error.messageType })

/** `Send` of encoded frames, or `Stop` when they could not be encoded. */
const sendOrStop = (frames: Uint8Array | ProtocolError): StartupStep =>
  frames instanceof ProtocolError ? stop(codecFailure(frames)) : send(frames)

export const violation = (message: string): StartupStep => unexpected(protocol("UnexpectedMessage", message))

/**
 * Why an Authentication* message is out of sequence, or undefined. As libpq (fe-auth.c
 * pg_SASL_init, fe-connect.c): nothing after AuthenticationOk, and a second AuthenticationSASL is
 * a "duplicate SASL authentication request". Stricter than libpq, which would answer them: any
 * other method's request once the client has answered one (`method` is set just before the first
 * answer), e.g. a cleartext request in the middle of SCRAM. SASLContinue / SASLFinal are checked
 * against the SCRAM state where they are handled.
 */
export const outOfSequence = (
  tag: string,
  authenticated: boolean,
  method: StartupMethod
): string | undefined => {
  if (authenticated) return `authentication request after AuthenticationOk (${tag})`
  if (method === "none" || tag === "AuthenticationOk") return undefined
  if (tag === "AuthenticationSASLContinue" || tag === "AuthenticationSASLFinal") return undefined
  if (tag === "AuthenticationGSSContinue" && method === "gss") return undefined
  if (tag === "AuthenticationSASL" && method === "scram-sha-256")
    return "duplicate SASL authentication request"
  return `${tag} after the client began ${method} authentication`
}

const methodOf: Partial<Record<AuthenticationRequestKind, StartupMethod>> = {
  "cleartext-password": "password",
  "md5-password": "md5",
  gss: "gss",
  sspi: "sspi",
  sasl: "scram-sha-256"
}

const requireAuthRefusal = (method: string, what: string): Failure =>
  authFailure(method, "refused-by-require-auth", `${what}, which require_auth does not allow`)

/** Checks channel_binding and require_auth before answering a request; sets the method. */
const refusal = (state: StartupState, kind: AuthenticationRequestKind, name: string): Failure | undefined => {
  const binding = checkAuthenticationRequest(kind, state.args.channelBinding)
  if (binding !== undefined) return fromMath(name, binding)
  const method = methodOf[kind]
  const require = state.args.requireAuth
  if (method !== undefined && require !== undefined && !require.allowed.includes(method)) {
    return requireAuthRefusal(name, `the server requested ${name} authentication`)
  }
  if (method !== undefined) state.method = method
  return undefined
}

const askPassword = (state: StartupState, method: "password" | "md5" | "scram-sha-256"): StartupStep => {
  state.phase = "awaiting-password"
  return result({ _tag: "NeedPassword", method })
}

const onAuthenticationOk = (state: StartupState): StartupStep => {
  const check = checkAuthenticationOk(state.scram, state.args.channelBinding)
  if (check !== undefined) return stop(fromMath(state.method, check))
  const require = state.args.requireAuth
  if (state.method === "none" && require !== undefined && !require.allowNone) {
    return stop(requireAuthRefusal("trust", "the server did not ask for authentication"))
  }
  state.phase = "authenticated"
  return CONTINUE
}

const onSASL = (state: StartupState, mechanisms: ReadonlyArray<string>): StartupStep => {
  const refused = refusal(state, "sasl", "scram-sha-256")
  if (refused !== undefined) return stop(refused)
  const certificate = state.args.serverCertificate
  const selection = selectScramMechanism({
    serverMechanisms: mechanisms,
    channelBinding: state.args.channelBinding,
    tls: certificate === undefined ? undefined : { serverCertificate: certificate }
  })
  if (selection instanceof AuthMathError) return stop(fromMath("SASL", selection))
  const first = clientFirst({ channelBinding: selection.channelBinding })
  if (first instanceof AuthMathError) return stop(fromMath("scram-sha-256", first))
  state.scram = first.state
  return sendOrStop(encodeSASLInitialResponse(selection.mechanism, first.message))
}

const onSASLContinue = (state: StartupState, data: Uint8Array): StartupStep => {
  const scram = state.scram
  if (scram?._tag !== "ScramClientFirstSent") {
    return violation(
      scram === undefined
        ? "AuthenticationSASLContinue without AuthenticationSASL"
        : "AuthenticationSASLContinue after the SCRAM client-final-message"
    )
  }
  // The iteration cap is checked here, before the password is asked for or anything hashed.
  const serverFirst = parseServerFirst(scram, data)
  if (serverFirst instanceof AuthMathError) return stop(fromMath("scram-sha-256", serverFirst))
  state.serverFirst = serverFirst
  return askPassword(state, "scram-sha-256")
}

const onSASLFinal = (state: StartupState, data: Uint8Array): StartupStep => {
  const scram = state.scram
  if (scram?._tag !== "ScramClientFinalSent") {
    return violation(
      scram === undefined
        ? "AuthenticationSASLFinal without AuthenticationSASL"
        : scram._tag === "ScramVerified"
          ? "a second AuthenticationSASLFinal"
          : "AuthenticationSASLFinal before the SCRAM client-final-message"
    )
  }
  const verified = verifyServerFinal(scram, data)
  if (verified instanceof AuthMathError) return stop(fromMath("scram-sha-256", verified))
  state.scram = verified
  return CONTINUE
}

/**
 * A method this client does not implement, named with its request code (PgAuthError
 * "unsupported-method", SQLSTATE 28000 as postgres_async reports it).
 */
const unsupported = (method: string, what: string, code: number): StartupStep =>
  stop(
    authFailure(
      method,
      "unsupported-method",
      `the server requested ${what} (authentication request code ${code}), which this client does not support`
    )
  )

/** How an authentication request is named in errors: its tag, and the code of an undefined one. */
export const requestLabel = (message: BackendMessage): string =>
  message._tag === "AuthenticationUnknown" ? `authentication request code ${message.code}` : message._tag

/** An Authentication* message that is in sequence. */
export const onAuthentication = (state: StartupState, message: BackendMessage): StartupStep => {
  switch (message._tag) {
    case "AuthenticationOk":
      return onAuthenticationOk(state)
    case "AuthenticationCleartextPassword": {
      const refused = refusal(state, "cleartext-password", "password")
      return refused === undefined ? askPassword(state, "password") : stop(refused)
    }
    case "AuthenticationMD5Password": {
      const refused = refusal(state, "md5-password", "md5")
      if (refused !== undefined) return stop(refused)
      state.md5Salt = Uint8Array.from(message.salt)
      return askPassword(state, "md5")
    }
    case "AuthenticationSASL":
      return onSASL(state, message.mechanisms)
    case "AuthenticationSASLContinue":
      return onSASLContinue(state, message.data)
    case "AuthenticationSASLFinal":
      return onSASLFinal(state, message.data)
    case "AuthenticationGSS": {
      const refused = refusal(state, "gss", "GSS")
      if (refused !== undefined) return stop(refused)
      const token = state.args.gssToken
      return token === undefined
        ? stop(
            authFailure(
              "GSS",
              "unsupported-method",
              "the server requested GSSAPI authentication and no GSS token was configured"
            )
          )
        : sendOrStop(encodeGSSResponse(token))
    }
    case "AuthenticationGSSContinue":
      // Only a one-shot token is supported: a continuation is a multi-round GSSAPI (or SSPI) exchange.
      return unsupported("GSS", "a GSSAPI continuation (AuthenticationGSSContinue)", 8)
    case "AuthenticationSSPI":
      return unsupported("SSPI", "SSPI authentication", 9)
    case "AuthenticationKerberosV5":
      return unsupported("KerberosV5", "Kerberos V5 authentication", 2)
    case "AuthenticationSCMCredential":
      return unsupported("SCMCredential", "SCM credential authentication", 6)
    case "AuthenticationUnknown":
      return unsupported(
        `unknown (code ${message.code})`,
        "an authentication method the protocol does not define",
        message.code
      )
    default:
      return unexpectedMessage(STARTUP, message)
  }
}

export const onPassword = (state: StartupState, password: string | undefined): StartupStep => {
  const method = state.method as "password" | "md5" | "scram-sha-256"
  if (password === undefined) {
    return stop(
      authFailure(method, "protocol", `the server asked for a password (${method}) but none was given`)
    )
  }
  if (method === "password") {
    state.phase = "authenticating"
    return sendOrStop(encodePassword(password))
  }
  if (method === "md5") {
    const response = md5PasswordResponse(password, state.args.user, state.md5Salt ?? new Uint8Array(0))
    if (response instanceof AuthMathError) return stop(fromMath("md5", response))
    state.md5Salt = undefined
    state.phase = "authenticating"
    return sendOrStop(encodePassword(response))
  }
  const bytes = scramPasswordBytes(password)
  if (bytes instanceof AuthMathError) return stop(fromMath("scram-sha-256", bytes))
  const serverFirst = state.serverFirst!
  state.phase = "awaiting-salted-password"
  return result({
    _tag: "NeedSaltedPassword",
    password: bytes,
    salt: serverFirst.salt,
    iterations: serverFirst.iterations
  })
}

export const onSaltedPassword = (state: StartupState, saltedPassword: Uint8Array): StartupStep => {
  const scram = state.scram
  const serverFirst = state.serverFirst
  if (scram?._tag !== "ScramClientFirstSent" || serverFirst === undefined) return CONTINUE
  const final = clientFinalFromSaltedPassword(scram, serverFirst, saltedPassword)
  if (final instanceof AuthMathError) return stop(fromMath("scram-sha-256", final))
  state.scram = final.state
  state.serverFirst = undefined
  state.phase = "authenticating"
  return sendOrStop(encodeSASLResponse(final.message))
}
