/**
 * The Auth service: the startup dialogue, from StartupMessage to the first ReadyForQuery.
 *
 * It sends StartupMessage asking for protocol 3.2 (or what the config allows), answers the
 * server's authentication request (trust, cleartext, MD5, SCRAM-SHA-256 and -PLUS, a one-shot
 * GSS token), verifies the SCRAM server signature, enforces `require_auth` and
 * `channel_binding`, handles NegotiateProtocolVersion, and collects ParameterStatus,
 * BackendKeyData and notices.
 *
 * It refuses, as protocol violations (PgProtocolError "UnexpectedMessage"), authentication
 * requests out of sequence: any after AuthenticationOk, a second method after the client answered
 * one (libpq's "duplicate SASL authentication request", and also a password request once SASL
 * began), SASLContinue / SASLFinal outside their place in the exchange. It refuses a SCRAM
 * iteration count above auth/Scram.ts's limit before hashing, and runs PBKDF2 on libuv's thread
 * pool (`crypto.pbkdf2`), so the event loop keeps serving other fibers during the derivation.
 *
 * It does NOT open sockets or negotiate TLS (PgSocket), retry with another sslmode or host
 * (Connection), or do password maths itself beyond that PBKDF2 call (auth/*). The password is read
 * only when the server asks for one, and never appears in an error.
 */
import { pbkdf2 } from "node:crypto"
import { Context, Effect, Redacted } from "effect"
import { AuthMathError } from "./auth/AuthMathError.ts"
import { md5PasswordResponse } from "./auth/Md5.ts"
import { scramPasswordBytes } from "./auth/SaslPrep.ts"
import {
  clientFinalFromSaltedPassword,
  clientFirst,
  parseServerFirst,
  type ScramState,
  verifyServerFinal
} from "./auth/Scram.ts"
import {
  type AuthenticationRequestKind,
  type ChannelBindingMode,
  checkAuthenticationOk,
  checkAuthenticationRequest,
  selectScramMechanism
} from "./auth/ScramNegotiation.ts"
import type { Wire } from "./Codec.ts"
import type { PgConfigError } from "./config/ConfigError.ts"
import type { RequireAuth } from "./config/RequireAuth.ts"
import { makeInbox } from "./connection/inbox.ts"
import {
  PgAuthError,
  type PgAuthErrorReason,
  type PgConnectionError,
  type PgProtocolError,
  PgServerError,
  PgProtocolError as ProtocolErr
} from "./Errors.ts"
import type { BackendMessage } from "./protocol/Backend.ts"
import {
  encodeGSSResponse,
  encodePassword,
  encodeSASLInitialResponse,
  encodeSASLResponse,
  encodeStartup
} from "./protocol/Frontend.ts"
import { ProtocolError } from "./protocol/ProtocolError.ts"
import type { Notice } from "./Result.ts"

/** Authentication methods as `require_auth` names them, plus "none" (trust, cert). */
export type AuthMethod = RequireAuth["allowed"][number] | "none"

export interface StartupInput {
  readonly user: string
  readonly parameters: Readonly<Record<string, string>>
  /** Minor protocol version to ask for (2 = 3.2). */
  readonly protocolMinor: number
  /** Lowest acceptable minor version after negotiation. */
  readonly minProtocolMinor: number
  /** Called only when the server asks for a password. */
  readonly password: Effect.Effect<Redacted.Redacted<string> | undefined, PgAuthError | PgConfigError>
  readonly channelBinding: ChannelBindingMode
  /** libpq `require_auth`: undefined allows everything. */
  readonly requireAuth?: RequireAuth | undefined
  readonly gssToken?: Uint8Array | undefined
}

export interface Session {
  readonly processId: number
  readonly secretKey: Uint8Array
  readonly protocolMinor: number
  readonly parameters: ReadonlyMap<string, string>
  readonly notices: ReadonlyArray<Notice>
  /** The method the server used (as require_auth names it). */
  readonly method: AuthMethod
  readonly channelBound: boolean
}

export type StartupError = PgAuthError | PgServerError | PgConnectionError | PgProtocolError | PgConfigError

export interface AuthService {
  readonly startup: (wire: Wire, input: StartupInput) => Effect.Effect<Session, StartupError>
}

/** The Auth service; a `Context.Reference` whose default runs the dialogue below. */
export const Auth: Context.Reference<AuthService> = Context.Reference<AuthService>("effect-pg/Auth", {
  defaultValue: () => ({ startup })
})

const authFail = (method: string, reason: PgAuthErrorReason, message: string, cause?: unknown) =>
  new PgAuthError({ method, reason, message, ...(cause === undefined ? {} : { cause }) })

const fromMath = (method: string, error: AuthMathError): PgAuthError => {
  const reason: PgAuthErrorReason =
    error.reason === "ChannelBindingRequired"
      ? "channel-binding-required"
      : error.reason === "ServerSignatureMismatch" || error.reason === "ExchangeIncomplete"
        ? "server-signature-invalid"
        : error.reason === "MechanismUnsupported"
          ? "unsupported-method"
          : "protocol"
  return authFail(method, reason, error.message)
}

const encoded = (bytes: Uint8Array | ProtocolError): Effect.Effect<Uint8Array, PgProtocolError> =>
  bytes instanceof ProtocolError ? Effect.fail(ProtocolErr.fromCodec(bytes)) : Effect.succeed(bytes)

const unexpected = (message: string) => new ProtocolErr({ reason: "UnexpectedMessage", message })

/**
 * Why an Authentication* message is out of sequence, or undefined. As libpq (fe-auth.c
 * pg_SASL_init, fe-connect.c): nothing after AuthenticationOk, and a second AuthenticationSASL is
 * a "duplicate SASL authentication request". Stricter than libpq, which would answer them: any
 * other method's request once the client has answered one (`method` is set just before the first
 * answer), e.g. a cleartext request in the middle of SCRAM. SASLContinue / SASLFinal are checked
 * against the SCRAM state where they are handled.
 */
const outOfSequence = (tag: string, authenticated: boolean, method: AuthMethod): string | undefined => {
  if (authenticated) return `authentication request after AuthenticationOk (${tag})`
  if (method === "none" || tag === "AuthenticationOk") return undefined
  if (tag === "AuthenticationSASLContinue" || tag === "AuthenticationSASLFinal") return undefined
  if (tag === "AuthenticationGSSContinue" && method === "gss") return undefined
  if (tag === "AuthenticationSASL" && method === "scram-sha-256")
    return "duplicate SASL authentication request"
  return `${tag} after the client began ${method} authentication`
}

/** SaltedPassword = PBKDF2-HMAC-SHA-256, on libuv's thread pool: the event loop is not blocked. */
const pbkdf2Sha256 = (password: Uint8Array, salt: Uint8Array, iterations: number) =>
  Effect.callback<Uint8Array, PgAuthError>((resume) => {
    pbkdf2(password, salt, iterations, 32, "sha256", (error, key) =>
      resume(
        error === null
          ? Effect.succeed(new Uint8Array(key))
          : Effect.fail(authFail("scram-sha-256", "protocol", "PBKDF2 failed", error))
      )
    )
  })

const methodOf: Partial<Record<AuthenticationRequestKind, AuthMethod>> = {
  "cleartext-password": "password",
  "md5-password": "md5",
  gss: "gss",
  sspi: "sspi",
  sasl: "scram-sha-256"
}

/** Runs the dialogue on a fresh Wire. On success the Wire is ready for queries. */
export const startup = (wire: Wire, input: StartupInput): Effect.Effect<Session, StartupError> =>
  Effect.gen(function* () {
    const inbox = makeInbox(wire)
    const send = (bytes: Uint8Array | ProtocolError) => Effect.map(encoded(bytes), wire.send)
    yield* send(
      encodeStartup({
        parameters: { user: input.user, ...input.parameters },
        major: 3,
        minor: input.protocolMinor
      })
    )
    const parameters = new Map<string, string>()
    const notices: Array<Notice> = []
    let key: { processId: number; secretKey: Uint8Array } | undefined
    let minor = input.protocolMinor
    let scram: ScramState | undefined
    let method: AuthMethod = "none"
    let authenticated = false

    const getPassword = (who: string) =>
      Effect.flatMap(input.password, (password) =>
        password === undefined
          ? Effect.fail(
              authFail(who, "protocol", `the server asked for a password (${who}) but none was given`)
            )
          : Effect.succeed(Redacted.value(password))
      )

    /** Checks require_auth and channel_binding before answering a request. */
    const allow = (kind: AuthenticationRequestKind, name: string) => {
      const binding = checkAuthenticationRequest(kind, input.channelBinding)
      if (binding !== undefined) return Effect.fail(fromMath(name, binding))
      const m = methodOf[kind]
      if (
        m !== undefined &&
        m !== "none" &&
        input.requireAuth !== undefined &&
        !input.requireAuth.allowed.includes(m)
      ) {
        return Effect.fail(
          authFail(
            name,
            "refused-by-require-auth",
            `the server requested ${name} authentication, which require_auth does not allow`
          )
        )
      }
      if (m !== undefined) method = m
      return Effect.void
    }

    for (;;) {
      const message: BackendMessage = yield* inbox.take
      if (message._tag.startsWith("Authentication")) {
        const violation = outOfSequence(message._tag, authenticated, method)
        if (violation !== undefined) return yield* unexpected(violation)
      }
      switch (message._tag) {
        case "AuthenticationOk": {
          const check = checkAuthenticationOk(scram, input.channelBinding)
          if (check !== undefined) return yield* fromMath(method, check)
          if (method === "none" && input.requireAuth !== undefined && !input.requireAuth.allowNone) {
            return yield* authFail(
              "trust",
              "refused-by-require-auth",
              "the server did not ask for authentication, which require_auth does not allow"
            )
          }
          authenticated = true
          break
        }
        case "AuthenticationCleartextPassword": {
          yield* allow("cleartext-password", "password")
          const password = yield* getPassword("password")
          yield* send(encodePassword(password))
          break
        }
        case "AuthenticationMD5Password": {
          yield* allow("md5-password", "md5")
          const password = yield* getPassword("md5")
          const response = md5PasswordResponse(password, input.user, message.salt)
          if (response instanceof AuthMathError) return yield* fromMath("md5", response)
          yield* send(encodePassword(response))
          break
        }
        case "AuthenticationSASL": {
          yield* allow("sasl", "scram-sha-256")
          const tls = wire.peerCertificate
          const selection = selectScramMechanism({
            serverMechanisms: message.mechanisms,
            channelBinding: input.channelBinding,
            tls: tls === undefined ? undefined : { serverCertificate: tls }
          })
          if (selection instanceof AuthMathError) return yield* fromMath("SASL", selection)
          const first = clientFirst({ channelBinding: selection.channelBinding })
          if (first instanceof AuthMathError) return yield* fromMath("scram-sha-256", first)
          scram = first.state
          yield* send(encodeSASLInitialResponse(selection.mechanism, first.message))
          break
        }
        case "AuthenticationSASLContinue": {
          if (scram?._tag !== "ScramClientFirstSent") {
            return yield* unexpected(
              scram === undefined
                ? "AuthenticationSASLContinue without AuthenticationSASL"
                : "AuthenticationSASLContinue after the SCRAM client-final-message"
            )
          }
          const serverFirst = parseServerFirst(scram, message.data)
          if (serverFirst instanceof AuthMathError) return yield* fromMath("scram-sha-256", serverFirst)
          const password = scramPasswordBytes(yield* getPassword("scram-sha-256"))
          if (password instanceof AuthMathError) return yield* fromMath("scram-sha-256", password)
          const salted = yield* pbkdf2Sha256(password, serverFirst.salt, serverFirst.iterations)
          const final = clientFinalFromSaltedPassword(scram, serverFirst, salted)
          if (final instanceof AuthMathError) return yield* fromMath("scram-sha-256", final)
          scram = final.state
          yield* send(encodeSASLResponse(final.message))
          break
        }
        case "AuthenticationSASLFinal": {
          if (scram?._tag !== "ScramClientFinalSent") {
            return yield* unexpected(
              scram === undefined
                ? "AuthenticationSASLFinal without AuthenticationSASL"
                : scram._tag === "ScramVerified"
                  ? "a second AuthenticationSASLFinal"
                  : "AuthenticationSASLFinal before the SCRAM client-final-message"
            )
          }
          const verified = verifyServerFinal(scram, message.data)
          if (verified instanceof AuthMathError) return yield* fromMath("scram-sha-256", verified)
          scram = verified
          break
        }
        case "AuthenticationGSS": {
          yield* allow("gss", "GSS")
          if (input.gssToken === undefined) {
            return yield* authFail(
              "GSS",
              "unsupported-method",
              "the server requested GSSAPI authentication and no GSS token was configured"
            )
          }
          yield* send(encodeGSSResponse(input.gssToken))
          break
        }
        case "AuthenticationGSSContinue":
          return yield* authFail(
            "GSS",
            "unsupported-method",
            "the server continued the GSSAPI exchange; only a one-shot GSS token is supported"
          )
        case "AuthenticationSSPI":
          return yield* authFail("SSPI", "unsupported-method", "SSPI authentication is not supported")
        case "AuthenticationKerberosV5":
          return yield* authFail(
            "KerberosV5",
            "unsupported-method",
            "Kerberos V5 authentication is not supported"
          )
        case "NegotiateProtocolVersion": {
          if (message.newestMajor !== 3 || message.newestMinor < input.minProtocolMinor) {
            return yield* new ProtocolErr({
              reason: "ProtocolVersion",
              message: `server only supports protocol version ${message.newestMajor}.${message.newestMinor}, but at least 3.${input.minProtocolMinor} is required`
            })
          }
          if (message.newestMinor > input.protocolMinor) {
            return yield* new ProtocolErr({
              reason: "ProtocolVersion",
              message: `server offered protocol 3.${message.newestMinor}, newer than the 3.${input.protocolMinor} requested`
            })
          }
          minor = message.newestMinor
          break
        }
        case "BackendKeyData": {
          const n = message.secretKey.length
          if (minor < 2 ? n !== 4 : n < 4 || n > 256) {
            return yield* new ProtocolErr({
              reason: "InvalidValue",
              message: `BackendKeyData has a ${n}-byte key, which protocol 3.${minor} does not allow`
            })
          }
          key = { processId: message.processId, secretKey: message.secretKey }
          break
        }
        case "ParameterStatus":
          parameters.set(message.name, message.value)
          break
        case "NoticeResponse":
          notices.push(message.fields)
          break
        case "ErrorResponse": {
          const error = PgServerError.fromFields(message.fields)
          if (!authenticated && error.code.startsWith("28")) {
            return yield* new PgAuthError({
              method,
              reason: "server-rejected",
              message: error.message,
              serverError: error
            })
          }
          return yield* error
        }
        case "ReadyForQuery": {
          if (!authenticated) return yield* unexpected("ReadyForQuery before authentication")
          return {
            processId: key?.processId ?? 0,
            secretKey: key?.secretKey ?? new Uint8Array(0),
            protocolMinor: minor,
            parameters,
            notices,
            method,
            channelBound: scram?._tag === "ScramVerified" && scram.channelBound
          } satisfies Session
        }
        default:
          return yield* unexpected(`unexpected ${message._tag} during startup`)
      }
    }
  })
