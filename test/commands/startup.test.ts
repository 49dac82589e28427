/**
 * Transcript tests of the startup command (src/commands/startup.ts), with no I/O: backend messages
 * and the caller's answers in, steps and frames out. Trust, cleartext, MD5, SCRAM-SHA-256 and
 * -PLUS (the proof and server signature recomputed here from RFC 5802 with node:crypto), a bad
 * server signature, the iteration cap before the password is asked for, require_auth and
 * channel_binding refusals, GSS/SSPI/Kerberos, NegotiateProtocolVersion, BackendKeyData lengths,
 * out-of-sequence requests, and every backend message kind at every state of the dialogue. Then
 * the Auth driver (src/Auth.ts) on an engine over an in-memory Wire: the answers it feeds, the
 * session it builds, how it maps the errors, and what a failure or an interruption leaves behind.
 */
import { createHash, createHmac, pbkdf2Sync } from "node:crypto"
import { Cause, Effect, Exit, Fiber, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import type { StartupInput as AuthStartupInput } from "../../src/Auth.ts"
import * as Auth from "../../src/Auth.ts"
import type { Wire, WireListener } from "../../src/Codec.ts"
import type { Failure, Step } from "../../src/commands/Command.ts"
import { isFailure } from "../../src/commands/Command.ts"
import {
  isAuthenticated,
  type StartupAnswer,
  type StartupArgs,
  type StartupNeed,
  type StartupResult,
  type StartupState,
  startup
} from "../../src/commands/startup.ts"
import { configError } from "../../src/config/ConfigError.ts"
import { Engine } from "../../src/engine/Engine.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { encodeGSSResponse, encodePassword } from "../../src/protocol/Frontend.ts"
import {
  asPassword,
  asSASLInitialResponse,
  decodeTyped,
  decodeUntyped
} from "../protocol/support/FrontendDecoder.ts"
import { error, ready } from "./samples.ts"
import { SAMPLES, TAGS } from "./support.ts"

type Tag = BackendMessage["_tag"]
type StartupStep = Step<StartupResult, StartupNeed>
type Feed = BackendMessage | { readonly input: StartupAnswer }

const text = (s: string) => new TextEncoder().encode(s)
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1")
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64")

// ---------------------------------------------------------------------------------------------
// Driving the command

const ARGS: StartupArgs = {
  user: "alice",
  parameters: { database: "db", application_name: "app" },
  protocolMinor: 2,
  minProtocolMinor: 0,
  channelBinding: "prefer"
}

const begin = (args: Partial<StartupArgs> = {}) => {
  const start = startup.start({ ...ARGS, ...args })
  if (isFailure(start)) throw new Error(`start refused: ${JSON.stringify(start)}`)
  return start
}

const step = (state: StartupState, feed: Feed): StartupStep =>
  "input" in feed ? startup.onInput!(state, feed.input) : startup.onMessage(state, feed)

/** Every step of `feeds` from a fresh start. */
const replay = (feeds: ReadonlyArray<Feed>, args: Partial<StartupArgs> = {}) => {
  const { state } = begin(args)
  return { state, steps: feeds.map((f) => step(state, f)) }
}

const last = (steps: ReadonlyArray<StartupStep>) => steps[steps.length - 1]!

/** The one frame of a `Send` step. */
const sent = (s: StartupStep): Uint8Array => {
  if (s._tag !== "Send") throw new Error(`expected Send, got ${s._tag}`)
  if (!(s.frames instanceof Uint8Array)) throw new Error("expected one buffer")
  return s.frames
}

/** The body of a 'p' frame (PasswordMessage, SASL responses, GSSResponse). */
const passwordBody = (frame: Uint8Array): Uint8Array => {
  const m = decodeTyped(frame)
  if (m._tag !== "PasswordFamily") throw new Error(`expected a 'p' frame, got ${m._tag}`)
  return m.body
}

/** A failure's message ("" for a ServerError, whose message is in its fields). */
const messageOf = (failure: Failure): string => ("message" in failure ? failure.message : "")

const failureOf = (s: StartupStep): Failure => {
  if (s._tag !== "Stop" && s._tag !== "Unexpected") throw new Error(`expected Stop/Unexpected, got ${s._tag}`)
  return s.failure
}

const expectAuthStop = (s: StartupStep, method: string, reason: string, message?: RegExp) => {
  expect(s._tag).toBe("Stop")
  const failure = failureOf(s)
  expect(failure).toMatchObject({ _tag: "Auth", method, reason })
  if (message !== undefined) expect(messageOf(failure)).toMatch(message)
}

const expectProtocol = (s: StartupStep, reason: string, message?: RegExp) => {
  expect(["Stop", "Unexpected"]).toContain(s._tag)
  const failure = failureOf(s)
  expect(failure).toMatchObject({ _tag: "Protocol", reason })
  if (message !== undefined) expect(messageOf(failure)).toMatch(message)
}

const expectDone = (s: StartupStep): StartupResult => {
  if (s._tag !== "Done") throw new Error(`expected Done, got ${s._tag}: ${JSON.stringify(s)}`)
  return s.value
}

// ---------------------------------------------------------------------------------------------
// Messages

const authOk: BackendMessage = { _tag: "AuthenticationOk" }
const cleartext: BackendMessage = { _tag: "AuthenticationCleartextPassword" }
const md5Request = (salt: Uint8Array): BackendMessage => ({ _tag: "AuthenticationMD5Password", salt })
const sasl = (...mechanisms: ReadonlyArray<string>): BackendMessage => ({
  _tag: "AuthenticationSASL",
  mechanisms
})
const saslContinue = (data: string): BackendMessage => ({
  _tag: "AuthenticationSASLContinue",
  data: text(data)
})
const saslFinal = (data: string): BackendMessage => ({ _tag: "AuthenticationSASLFinal", data: text(data) })
const keyData = (secretKey: Uint8Array, processId = 4242): BackendMessage => ({
  _tag: "BackendKeyData",
  processId,
  secretKey
})
const negotiate = (newestMinor: number, newestMajor = 3): BackendMessage => ({
  _tag: "NegotiateProtocolVersion",
  newestMajor,
  newestMinor,
  unrecognizedOptions: []
})
const password = (value: string | undefined): Feed => ({ input: { _tag: "Password", password: value } })
const salted = (saltedPassword: Uint8Array): Feed => ({ input: { _tag: "SaltedPassword", saltedPassword } })

const KEY4 = new Uint8Array([9, 8, 7, 6])

// ---------------------------------------------------------------------------------------------
// SCRAM, recomputed from RFC 5802 (not with src/auth)

const SALT = new Uint8Array([0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14])
const ITERATIONS = 4096
const PASSWORD = "pencil"

const hmac = (key: Uint8Array, data: string | Uint8Array) =>
  new Uint8Array(createHmac("sha256", key).update(data).digest())
const sha256 = (data: Uint8Array) => new Uint8Array(createHash("sha256").update(data).digest())

/** A self-signed ECDSA P-256 / SHA-256 certificate: tls-server-end-point is SHA-256 of its DER. */
const CERTIFICATE = Uint8Array.from(
  Buffer.from(
    "MIIBhjCCASugAwIBAgIUOiwdkN1FibOjD4sdRrCaIguY0hwwCgYIKoZIzj0EAwIwFzEVMBMGA1UEAwwMc3RhcnR1cC10ZXN0MCAXDTI2MTIwNzIwMzM0OFoYDzIxMjYxMTEzMjAzMzQ4WjAXMRUwEwYDVQQDDAxzdGFydHVwLXRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATsZTRD/krLCXwwAgBjVU4ttaX8NG78jDuS4yZEMrCx+DFIHpliIaMNR2MNYg9EDCi5+FGy5+BI9sY27uljEN8Bo1MwUTAdBgNVHQ4EFgQUIc8Wq3xmV+anocEkqnMDrGTNpH4wHwYDVR0jBBgwFoAUIc8Wq3xmV+anocEkqnMDrGTNpH4wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAjUdM+LqOxnC2lICsKCAj/0CZSd0iVdo69mqEs7sUMggCIQDBXMvashIlbHDAFaogQLBjYa6S7wa13C6PO6XBGAT6Cw==",
    "base64"
  )
)

/** What the server of a SCRAM exchange computes, from the client's SASLInitialResponse. */
const scramServer = (initial: Uint8Array, channelBindingData = new Uint8Array(0)) => {
  const { mechanism, data } = asSASLInitialResponse(passwordBody(initial))
  const clientFirst = latin1(data!)
  const gs2 = /^(n|y|p=tls-server-end-point),,/.exec(clientFirst)![0]
  const bare = clientFirst.slice(gs2.length)
  const clientNonce = /^n=,r=(.+)$/.exec(bare)![1]!
  const nonce = `${clientNonce}server-part`
  const serverFirst = `r=${nonce},s=${b64(SALT)},i=${ITERATIONS}`
  const saltedPassword = new Uint8Array(pbkdf2Sync(PASSWORD, SALT, ITERATIONS, 32, "sha256"))
  const c = b64(Buffer.concat([Buffer.from(gs2, "latin1"), channelBindingData]))
  const withoutProof = `c=${c},r=${nonce}`
  const authMessage = `${bare},${serverFirst},${withoutProof}`
  const clientKey = hmac(saltedPassword, "Client Key")
  const signature = hmac(sha256(clientKey), authMessage)
  const proof = clientKey.map((byte, i) => byte ^ signature[i]!)
  return {
    mechanism,
    gs2,
    serverFirst,
    saltedPassword,
    clientFinal: `${withoutProof},p=${b64(proof)}`,
    serverFinal: `v=${b64(hmac(hmac(saltedPassword, "Server Key"), authMessage))}`
  }
}

/** A SCRAM exchange up to (and including) the client-final; returns the state and the server. */
const scramUpToClientFinal = (args: Partial<StartupArgs> = {}, mechanisms = ["SCRAM-SHA-256"]) => {
  const { state } = begin(args)
  const initial = sent(step(state, sasl(...mechanisms)))
  const binding = args.serverCertificate !== undefined && mechanisms.includes("SCRAM-SHA-256-PLUS")
  const server = scramServer(initial, binding ? sha256(args.serverCertificate!) : undefined)
  const needPassword = step(state, saslContinue(server.serverFirst))
  const needSalted = step(state, password(PASSWORD))
  const final = sent(step(state, salted(server.saltedPassword)))
  return { state, server, needPassword, needSalted, final }
}

// ---------------------------------------------------------------------------------------------

describe("startup: the StartupMessage", () => {
  it("protocol 3.<minor>, the user first, then the parameters; exclusive", () => {
    const start = begin()
    expect(start.exclusive).toBe(true)
    expect(decodeUntyped(start.frames)).toEqual({
      _tag: "StartupMessage",
      major: 3,
      minor: 2,
      parameters: { user: "alice", database: "db", application_name: "app" }
    })
    expect(decodeUntyped(begin({ protocolMinor: 0 }).frames)).toMatchObject({ minor: 0 })
  })

  it("a parameter that cannot be encoded (NUL) is a Failure: nothing is sent", () => {
    const start = startup.start({ ...ARGS, parameters: { options: "a\0b" } })
    expect(isFailure(start)).toBe(true)
    expect(start).toMatchObject({ _tag: "Protocol" })
  })
})

describe("startup: methods", () => {
  it("trust: AuthenticationOk, BackendKeyData, ReadyForQuery → Done", () => {
    const { state, steps } = replay([authOk, keyData(KEY4), ready()])
    expect(steps.map((s) => s._tag)).toEqual(["Continue", "Continue", "Done"])
    expect(expectDone(last(steps))).toEqual({
      processId: 4242,
      secretKey: KEY4,
      protocolMinor: 2,
      method: "none",
      channelBound: false
    })
    expect(isAuthenticated(state)).toBe(true)
    expect(state.phase).toBe("ready")
  })

  it("no BackendKeyData: process 0 and an empty key", () => {
    const { steps } = replay([authOk, ready()])
    expect(expectDone(last(steps))).toMatchObject({ processId: 0, secretKey: new Uint8Array(0) })
  })

  it("cleartext: NeedPassword, then the PasswordMessage", () => {
    const { state, steps } = replay([cleartext])
    expect(steps[0]).toEqual({ _tag: "Result", result: { _tag: "NeedPassword", method: "password" } })
    expect(state.phase).toBe("awaiting-password")
    expect(isAuthenticated(state)).toBe(false)
    const frame = sent(step(state, password("s3cret")))
    expect(frame).toEqual(encodePassword("s3cret"))
    expect(asPassword(passwordBody(frame))).toBe("s3cret")
    step(state, authOk)
    expect(expectDone(step(state, ready()))).toMatchObject({ method: "password", channelBound: false })
  })

  it("no password given: Stop with PgAuthError protocol, nothing sent", () => {
    const { steps } = replay([cleartext, password(undefined)])
    expectAuthStop(
      last(steps),
      "password",
      "protocol",
      /^the server asked for a password \(password\) but none was given$/
    )
  })

  it("MD5: NeedPassword, then md5(md5(password + user) + salt)", () => {
    const salt = new Uint8Array([0xde, 0xad, 0xbe, 0xef])
    const { state, steps } = replay([md5Request(salt)])
    expect(steps[0]).toEqual({ _tag: "Result", result: { _tag: "NeedPassword", method: "md5" } })
    // The salt is kept even if the message's bytes are reused (they are a view of the socket chunk).
    salt.fill(0)
    const inner = createHash("md5").update("s3cretalice").digest("hex")
    const expected = `md5${createHash("md5")
      .update(Buffer.concat([Buffer.from(inner), Buffer.from([0xde, 0xad, 0xbe, 0xef])]))
      .digest("hex")}`
    expect(asPassword(passwordBody(sent(step(state, password("s3cret")))))).toBe(expected)
    step(state, authOk)
    expect(expectDone(step(state, ready()))).toMatchObject({ method: "md5" })
  })

  it("MD5 without a password: Stop", () => {
    const { steps } = replay([md5Request(KEY4), password(undefined)])
    expectAuthStop(last(steps), "md5", "protocol", /none was given/)
  })

  it("SCRAM-SHA-256: the client-first, NeedPassword, NeedSaltedPassword, the proof; verified → Done", () => {
    const { state, server, needPassword, needSalted, final } = scramUpToClientFinal()
    expect(server.mechanism).toBe("SCRAM-SHA-256")
    expect(server.gs2).toBe("n,,")
    expect(needPassword).toEqual({
      _tag: "Result",
      result: { _tag: "NeedPassword", method: "scram-sha-256" }
    })
    expect(needSalted).toEqual({
      _tag: "Result",
      result: { _tag: "NeedSaltedPassword", password: text(PASSWORD), salt: SALT, iterations: ITERATIONS }
    })
    expect(latin1(passwordBody(final))).toBe(server.clientFinal)
    expect(step(state, saslFinal(server.serverFinal))._tag).toBe("Continue")
    expect(step(state, authOk)._tag).toBe("Continue")
    step(state, keyData(KEY4))
    expect(expectDone(step(state, ready()))).toEqual({
      processId: 4242,
      secretKey: KEY4,
      protocolMinor: 2,
      method: "scram-sha-256",
      channelBound: false
    })
  })

  it("SCRAM over TLS without PLUS offered: gs2 flag y (the client supports binding)", () => {
    const { server } = scramUpToClientFinal({ serverCertificate: CERTIFICATE })
    expect(server.gs2).toBe("y,,")
  })

  it("SCRAM-SHA-256-PLUS: tls-server-end-point of the certificate; channelBound", () => {
    const args = { serverCertificate: CERTIFICATE, channelBinding: "require" as const }
    const { state, server, final } = scramUpToClientFinal(args, ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])
    expect(server.mechanism).toBe("SCRAM-SHA-256-PLUS")
    expect(server.gs2).toBe("p=tls-server-end-point,,")
    expect(latin1(passwordBody(final))).toBe(server.clientFinal)
    step(state, saslFinal(server.serverFinal))
    step(state, authOk)
    expect(expectDone(step(state, ready()))).toMatchObject({ method: "scram-sha-256", channelBound: true })
  })

  it("SCRAM with a bad server signature: Stop server-signature-invalid", () => {
    const { state } = scramUpToClientFinal()
    const wrong = `v=${b64(new Uint8Array(32).fill(7))}`
    expectAuthStop(step(state, saslFinal(wrong)), "scram-sha-256", "server-signature-invalid", /incorrect/)
  })

  it("SCRAM: AuthenticationOk without the server signature is refused", () => {
    const { state } = scramUpToClientFinal()
    expectAuthStop(step(state, authOk), "scram-sha-256", "server-signature-invalid", /before completing/)
  })

  it("SCRAM: a server error in the server-final (e=...) is refused", () => {
    const { state } = scramUpToClientFinal()
    expectAuthStop(step(state, saslFinal("e=invalid-proof")), "scram-sha-256", "protocol", /invalid-proof/)
  })

  it("SCRAM: an iteration count above the cap is refused before the password is asked for", () => {
    const { state } = begin()
    const initial = sent(step(state, sasl("SCRAM-SHA-256")))
    const nonce = /r=(.+)$/.exec(latin1(asSASLInitialResponse(passwordBody(initial)).data!))![1]!
    const s = step(state, saslContinue(`r=${nonce}x,s=${b64(SALT)},i=1000001`))
    expectAuthStop(s, "scram-sha-256", "protocol", /^iteration count 1000001 exceeds the limit of 1000000$/)
  })

  it("SCRAM: the cap itself is asked for", () => {
    const { state } = begin()
    const initial = sent(step(state, sasl("SCRAM-SHA-256")))
    const nonce = /r=(.+)$/.exec(latin1(asSASLInitialResponse(passwordBody(initial)).data!))![1]!
    step(state, saslContinue(`r=${nonce}x,s=${b64(SALT)},i=1000000`))
    expect(step(state, password(PASSWORD))).toMatchObject({
      _tag: "Result",
      result: { _tag: "NeedSaltedPassword", iterations: 1_000_000 }
    })
  })

  it("SCRAM: a server nonce that does not extend the client's is refused", () => {
    const { state } = begin()
    step(state, sasl("SCRAM-SHA-256"))
    expectAuthStop(step(state, saslContinue(`r=other,s=${b64(SALT)},i=4096`)), "scram-sha-256", "protocol")
  })

  it("SCRAM: no supported mechanism; PLUS over plaintext", () => {
    expectAuthStop(last(replay([sasl("OAUTHBEARER")]).steps), "SASL", "unsupported-method")
    expectAuthStop(last(replay([sasl("SCRAM-SHA-256-PLUS")]).steps), "SASL", "unsupported-method", /non-SSL/)
  })

  it("SCRAM: a salted password of the wrong length is refused", () => {
    const { state } = begin()
    const initial = sent(step(state, sasl("SCRAM-SHA-256")))
    step(state, saslContinue(scramServer(initial).serverFirst))
    step(state, password(PASSWORD))
    expectAuthStop(step(state, salted(new Uint8Array(5))), "scram-sha-256", "protocol")
  })

  it("GSS: the configured token is sent; without one, or continued, unsupported", () => {
    const token = new Uint8Array([1, 2, 3])
    const { state, steps } = replay([{ _tag: "AuthenticationGSS" }], { gssToken: token })
    expect(sent(steps[0]!)).toEqual(encodeGSSResponse(token))
    expectAuthStop(
      step(state, { _tag: "AuthenticationGSSContinue", data: new Uint8Array([1]) }),
      "GSS",
      "unsupported-method",
      /^the server requested a GSSAPI continuation \(AuthenticationGSSContinue\) \(authentication request code 8\), which this client does not support$/
    )
    expectAuthStop(last(replay([{ _tag: "AuthenticationGSS" }]).steps), "GSS", "unsupported-method")
    step(begin({ gssToken: token }).state, authOk)
  })

  it("SSPI, Kerberos V5, SCM credentials and undefined codes: unsupported, named with their code", () => {
    const refused = (what: string, code: number) =>
      new RegExp(
        `^the server requested ${what} \\(authentication request code ${code}\\), which this client does not support$`
      )
    expectAuthStop(
      last(replay([{ _tag: "AuthenticationSSPI" }]).steps),
      "SSPI",
      "unsupported-method",
      refused("SSPI authentication", 9)
    )
    expectAuthStop(
      last(replay([{ _tag: "AuthenticationKerberosV5" }]).steps),
      "KerberosV5",
      "unsupported-method",
      refused("Kerberos V5 authentication", 2)
    )
    expectAuthStop(
      last(replay([{ _tag: "AuthenticationSCMCredential" }]).steps),
      "SCMCredential",
      "unsupported-method",
      refused("SCM credential authentication", 6)
    )
    expectAuthStop(
      last(replay([{ _tag: "AuthenticationUnknown", code: 13, data: new Uint8Array(0) }]).steps),
      "unknown (code 13)",
      "unsupported-method",
      refused("an authentication method the protocol does not define", 13)
    )
  })

  it("an answer the command is not waiting for is ignored", () => {
    const { state } = begin()
    expect(step(state, password("x"))._tag).toBe("Continue")
    expect(step(state, salted(new Uint8Array(32)))._tag).toBe("Continue")
    step(state, cleartext)
    expect(step(state, salted(new Uint8Array(32)))._tag).toBe("Continue")
    expect(state.phase).toBe("awaiting-password")
  })

  it("a (non-FATAL) ErrorResponse: Stop with the server's fields, before or after authentication", () => {
    const e = error("28P01", "password authentication failed")
    expect(last(replay([e]).steps)).toEqual({
      _tag: "Stop",
      failure: { _tag: "ServerError", fields: (e as { fields: unknown }).fields }
    })
    expect(last(replay([cleartext, e]).steps)._tag).toBe("Stop")
    const { state, steps } = replay([authOk, e])
    expect(last(steps)._tag).toBe("Stop")
    expect(isAuthenticated(state)).toBe(true)
  })
})

describe("startup: require_auth", () => {
  const only = (...allowed: NonNullable<StartupArgs["requireAuth"]>["allowed"]) => ({
    requireAuth: { allowed, allowNone: false }
  })

  it("a method not listed is refused before anything is sent or asked", () => {
    const refused = /which require_auth does not allow$/
    expectAuthStop(
      last(replay([cleartext], only("scram-sha-256")).steps),
      "password",
      "refused-by-require-auth",
      refused
    )
    expectAuthStop(
      last(replay([md5Request(KEY4)], only("password")).steps),
      "md5",
      "refused-by-require-auth",
      refused
    )
    expectAuthStop(
      last(replay([sasl("SCRAM-SHA-256")], only("md5")).steps),
      "scram-sha-256",
      "refused-by-require-auth",
      refused
    )
    expectAuthStop(
      last(replay([{ _tag: "AuthenticationGSS" }], { ...only("md5"), gssToken: KEY4 }).steps),
      "GSS",
      "refused-by-require-auth"
    )
  })

  it("no authentication at all, unless none is allowed", () => {
    expectAuthStop(
      last(replay([authOk], only("password")).steps),
      "trust",
      "refused-by-require-auth",
      /did not ask for authentication/
    )
    const allowNone = { requireAuth: { allowed: [], allowNone: true } }
    expect(last(replay([authOk], allowNone).steps)._tag).toBe("Continue")
  })

  it("a listed method goes ahead", () => {
    expect(last(replay([cleartext], only("password")).steps)._tag).toBe("Result")
    expect(last(replay([sasl("SCRAM-SHA-256")], only("scram-sha-256")).steps)._tag).toBe("Send")
  })
})

describe("startup: channel_binding", () => {
  const require = { channelBinding: "require" as const }

  it("require without TLS: SASL, cleartext, MD5 and trust are refused", () => {
    expectAuthStop(
      last(replay([sasl("SCRAM-SHA-256")], require).steps),
      "SASL",
      "channel-binding-required",
      /SSL not in use/
    )
    expectAuthStop(last(replay([cleartext], require).steps), "password", "channel-binding-required")
    expectAuthStop(last(replay([md5Request(KEY4)], require).steps), "md5", "channel-binding-required")
    expectAuthStop(last(replay([authOk], require).steps), "none", "channel-binding-required")
  })

  it("require over TLS with only SCRAM-SHA-256 offered: refused", () => {
    expectAuthStop(
      last(replay([sasl("SCRAM-SHA-256")], { ...require, serverCertificate: CERTIFICATE }).steps),
      "SASL",
      "channel-binding-required"
    )
  })

  it("disable over TLS with PLUS offered: plain SCRAM, gs2 flag n", () => {
    const { server } = scramUpToClientFinal({ channelBinding: "disable", serverCertificate: CERTIFICATE }, [
      "SCRAM-SHA-256-PLUS",
      "SCRAM-SHA-256"
    ])
    expect(server.mechanism).toBe("SCRAM-SHA-256")
    expect(server.gs2).toBe("n,,")
  })
})

describe("startup: NegotiateProtocolVersion and BackendKeyData", () => {
  it("a lower minor the config accepts is taken; the key rules follow it", () => {
    const { steps } = replay([negotiate(0), authOk, keyData(KEY4), ready()])
    expect(steps[0]!._tag).toBe("Continue")
    expect(expectDone(last(steps)).protocolMinor).toBe(0)
  })

  it("below minProtocolMinor, another major, or newer than asked: Stop ProtocolVersion", () => {
    expectProtocol(
      last(replay([negotiate(0)], { minProtocolMinor: 2 }).steps),
      "ProtocolVersion",
      /^server only supports protocol version 3\.0, but at least 3\.2 is required$/
    )
    expectProtocol(last(replay([negotiate(2, 4)]).steps), "ProtocolVersion", /version 4\.2/)
    expectProtocol(
      last(replay([negotiate(1)], { protocolMinor: 0 }).steps),
      "ProtocolVersion",
      /^server offered protocol 3\.1, newer than the 3\.0 requested$/
    )
    expect(last(replay([negotiate(0)], { minProtocolMinor: 2 }).steps)._tag).toBe("Stop")
  })

  it("3.0 takes only a 4-byte key; 3.2 takes 4 to 256 bytes", () => {
    const bad = (minor: number, n: number) => {
      const s = last(replay([authOk, keyData(new Uint8Array(n))], { protocolMinor: minor }).steps)
      expect(s._tag, `3.${minor} with ${n} bytes`).toBe("Stop")
      expectProtocol(s, "InvalidValue", new RegExp(`^BackendKeyData has a ${n}-byte key`))
    }
    bad(0, 8)
    bad(0, 3)
    bad(2, 3)
    bad(2, 257)
    for (const n of [4, 32, 256]) {
      const { steps } = replay([authOk, keyData(new Uint8Array(n).fill(1)), ready()])
      expect(expectDone(last(steps)).secretKey.length).toBe(n)
    }
    // After negotiating 3.0, a 32-byte key is refused.
    expect(last(replay([negotiate(0), authOk, keyData(new Uint8Array(32))]).steps)._tag).toBe("Stop")
  })
})

describe("startup: out of sequence", () => {
  const cases: ReadonlyArray<[string, ReadonlyArray<Feed>, RegExp]> = [
    [
      "AuthenticationOk twice",
      [authOk, authOk],
      /^authentication request after AuthenticationOk \(AuthenticationOk\)$/
    ],
    ["a password request after AuthenticationOk", [authOk, cleartext], /after AuthenticationOk/],
    ["ReadyForQuery before authentication", [ready()], /^ReadyForQuery before authentication$/],
    [
      "ReadyForQuery after the password, before AuthenticationOk",
      [cleartext, password("x"), ready()],
      /^ReadyForQuery before authentication$/
    ],
    [
      "a second AuthenticationSASL",
      [sasl("SCRAM-SHA-256"), sasl("SCRAM-SHA-256")],
      /^duplicate SASL authentication request$/
    ],
    [
      "a cleartext request once SASL began",
      [sasl("SCRAM-SHA-256"), cleartext],
      /^AuthenticationCleartextPassword after the client began scram-sha-256 authentication$/
    ],
    [
      "an MD5 request after the cleartext password",
      [cleartext, password("x"), md5Request(KEY4)],
      /^AuthenticationMD5Password after the client began password authentication$/
    ],
    [
      "SASLContinue without SASL",
      [saslContinue("r=x,s=eA==,i=1")],
      /^AuthenticationSASLContinue without AuthenticationSASL$/
    ],
    ["SASLFinal without SASL", [saslFinal("v=x")], /^AuthenticationSASLFinal without AuthenticationSASL$/],
    [
      "SASLFinal before the client-final",
      [sasl("SCRAM-SHA-256"), saslFinal("v=x")],
      /^AuthenticationSASLFinal before the SCRAM client-final-message$/
    ],
    [
      "a password request while the client prepares its answer",
      [cleartext, cleartext],
      /^unexpected AuthenticationCleartextPassword during startup \(while the client prepares its answer\)$/
    ],
    ["a DataRow", [{ _tag: "DataRow", columns: [] }], /^unexpected DataRow during startup$/]
  ]
  for (const [name, feeds, message] of cases) {
    it(`${name}: Unexpected UnexpectedMessage`, () => {
      const s = last(replay(feeds).steps)
      expect(s._tag).toBe("Unexpected")
      expectProtocol(s, "UnexpectedMessage", message)
    })
  }

  it("SASLContinue after the client-final, a second SASLFinal", () => {
    const first = scramUpToClientFinal()
    expectProtocol(
      step(first.state, saslContinue(first.server.serverFirst)),
      "UnexpectedMessage",
      /^AuthenticationSASLContinue after the SCRAM client-final-message$/
    )
    const second = scramUpToClientFinal()
    step(second.state, saslFinal(second.server.serverFinal))
    expectProtocol(
      step(second.state, saslFinal(second.server.serverFinal)),
      "UnexpectedMessage",
      /^a second AuthenticationSASLFinal$/
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Every message kind at every state

/**
 * What a message kind gets: "ok" (Continue, Send, Result or Done), "auth:<reason>" (Stop with an
 * Auth failure), "server" (Stop with the ServerError), "protocol" (Unexpected or Stop with a
 * Protocol failure). Kinds not listed are "protocol".
 */
type Expect = "ok" | "server" | "protocol" | `auth:${string}`
type StateRow = {
  readonly name: string
  readonly prefix: () => StartupState
  readonly expect: Partial<Record<Tag, Expect>>
}

const after =
  (feeds: ReadonlyArray<Feed>, args: Partial<StartupArgs> = {}) =>
  () => {
    const { state, steps } = replay(feeds, args)
    for (const s of steps) expect(["Continue", "Send", "Result"]).toContain(s._tag)
    return state
  }

/** Kinds that are fine anywhere the server is still talking before ReadyForQuery. */
const ALWAYS: Partial<Record<Tag, Expect>> = {
  BackendKeyData: "ok",
  NegotiateProtocolVersion: "ok",
  ErrorResponse: "server"
}

/** Before the client answered any method: every request is answered or refused as unsupported. */
const BEFORE_ANY_METHOD: Partial<Record<Tag, Expect>> = {
  ...ALWAYS,
  AuthenticationOk: "ok",
  AuthenticationCleartextPassword: "ok",
  AuthenticationMD5Password: "ok",
  AuthenticationSASL: "ok",
  AuthenticationKerberosV5: "auth:unsupported-method",
  AuthenticationSCMCredential: "auth:unsupported-method",
  AuthenticationGSS: "auth:unsupported-method",
  AuthenticationGSSContinue: "auth:unsupported-method",
  AuthenticationSSPI: "auth:unsupported-method",
  AuthenticationUnknown: "auth:unsupported-method"
}

const AUTH_TAGS = TAGS.filter((t) => t.startsWith("Authentication"))
const allAuth = (e: Expect) =>
  Object.fromEntries(AUTH_TAGS.map((t) => [t, e])) as Partial<Record<Tag, Expect>>

const ROWS: ReadonlyArray<StateRow> = [
  {
    name: "after the StartupMessage",
    prefix: after([]),
    expect: BEFORE_ANY_METHOD
  },
  {
    name: "after NegotiateProtocolVersion",
    prefix: after([negotiate(0)]),
    expect: BEFORE_ANY_METHOD
  },
  {
    name: "waiting for the caller's password",
    prefix: after([cleartext]),
    expect: { ErrorResponse: "server" }
  },
  {
    name: "waiting for the caller's PBKDF2",
    prefix: () => {
      const { state } = begin()
      const initial = sent(step(state, sasl("SCRAM-SHA-256")))
      step(state, saslContinue(scramServer(initial).serverFirst))
      step(state, password(PASSWORD))
      expect(state.phase).toBe("awaiting-salted-password")
      return state
    },
    expect: { ErrorResponse: "server" }
  },
  {
    name: "after the cleartext password",
    prefix: after([cleartext, password("x")]),
    expect: { ...ALWAYS, AuthenticationOk: "ok" }
  },
  {
    name: "after the GSS token",
    prefix: after([{ _tag: "AuthenticationGSS" }], { gssToken: KEY4 }),
    expect: { ...ALWAYS, AuthenticationOk: "ok", AuthenticationGSSContinue: "auth:unsupported-method" }
  },
  {
    name: "after the SCRAM client-first",
    prefix: after([sasl("SCRAM-SHA-256")]),
    expect: {
      ...ALWAYS,
      // The sample's nonce is not the client's.
      AuthenticationSASLContinue: "auth:protocol",
      AuthenticationOk: "auth:server-signature-invalid"
    }
  },
  {
    name: "after the SCRAM client-final",
    prefix: () => scramUpToClientFinal().state,
    expect: {
      ...ALWAYS,
      // The sample's "v=abc" is not a signature.
      AuthenticationSASLFinal: "auth:protocol",
      AuthenticationOk: "auth:server-signature-invalid"
    }
  },
  {
    name: "after the SCRAM server-final",
    prefix: () => {
      const { state, server } = scramUpToClientFinal()
      expect(step(state, saslFinal(server.serverFinal))._tag).toBe("Continue")
      return state
    },
    expect: { ...ALWAYS, AuthenticationOk: "ok" }
  },
  {
    name: "after AuthenticationOk",
    prefix: after([authOk]),
    expect: { ...ALWAYS, ...allAuth("protocol"), ReadyForQuery: "ok" }
  },
  {
    name: "after ReadyForQuery",
    prefix: () => {
      const { state } = begin()
      step(state, authOk)
      expectDone(step(state, ready()))
      return state
    },
    expect: {}
  }
]

const check = (s: StartupStep, wanted: Expect, label: string) => {
  if (wanted === "ok") {
    expect(["Continue", "Send", "Result", "Done"], label).toContain(s._tag)
  } else if (wanted === "server") {
    expect(s._tag, label).toBe("Stop")
    expect(failureOf(s)._tag, label).toBe("ServerError")
  } else if (wanted === "protocol") {
    expect(["Unexpected", "Stop"], label).toContain(s._tag)
    expect(failureOf(s)._tag, label).toBe("Protocol")
  } else {
    expect(s._tag, label).toBe("Stop")
    expect(failureOf(s), label).toMatchObject({ _tag: "Auth", reason: wanted.slice("auth:".length) })
  }
}

describe("startup: every message kind at every state", () => {
  it("the table covers every kind", () => {
    for (const tag of TAGS) expect(SAMPLES[tag], tag).toBeDefined()
  })

  for (const row of ROWS) {
    it(row.name, () => {
      for (const tag of TAGS) {
        const state = row.prefix()
        check(startup.onMessage(state, SAMPLES[tag]), row.expect[tag] ?? "protocol", `${row.name}: ${tag}`)
      }
    })
  }

  it("a kind with no place in the startup names itself and the startup", () => {
    for (const tag of ["CommandComplete", "CopyInResponse", "RowDescription", "ParameterStatus"] as const) {
      const s = startup.onMessage(begin().state, SAMPLES[tag])
      expect(s._tag).toBe("Unexpected")
      expect(messageOf(failureOf(s))).toBe(`unexpected ${tag} during startup`)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// The driver (src/Auth.ts) over an in-memory Wire: the engine runs the command, the driver answers

const fakeWire = () => {
  const frames: Array<Uint8Array> = []
  let listener: WireListener | undefined
  let destroyed = false
  const wire: Wire = {
    tls: false,
    peerCertificate: undefined,
    send: (bytes) => {
      frames.push(Uint8Array.from(bytes))
      return true
    },
    onDrain: (f) => f(),
    closed: () => destroyed,
    listen: (next) => {
      listener = next
    },
    pause: () => {},
    resume: () => {},
    end: () => {},
    destroy: () => {
      destroyed = true
    }
  }
  return {
    wire,
    frames,
    destroyed: () => destroyed,
    server: (...messages: ReadonlyArray<BackendMessage>) => listener!.onMessages(messages),
    hangUp: () => listener!.onClose(new Error("read ECONNRESET"))
  }
}

const input = (overrides: Partial<AuthStartupInput> = {}): AuthStartupInput => ({
  user: "alice",
  parameters: { database: "db" },
  protocolMinor: 2,
  minProtocolMinor: 0,
  password: Effect.succeed(Redacted.make(PASSWORD)),
  channelBinding: "prefer",
  ...overrides
})

const fatal = (code: string, message: string): BackendMessage => ({
  _tag: "ErrorResponse",
  fields: { severity: "FATAL", severityNonLocalized: "FATAL", code, message }
})

/** Waits (bounded) until the driver fiber, resumed by callbacks or by the thread pool, got there. */
const until = async (what: string, condition: () => boolean) => {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 5000) throw new Error(`still waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const drive = (overrides: Partial<AuthStartupInput> = {}) => {
  const fake = fakeWire()
  const engine = new Engine(fake.wire)
  const fiber = Effect.runFork(Auth.startup(engine, input(overrides)))
  const exit = () => Effect.runPromise(Fiber.await(fiber))
  return { ...fake, engine, fiber, exit }
}

const failed = async (exit: Promise<Exit.Exit<Auth.Session, Auth.StartupError>>) => {
  const result = await exit
  if (!Exit.isFailure(result)) throw new Error("the startup succeeded")
  const error = Cause.findErrorOption(result.cause)
  if (error._tag !== "Some") throw new Error(`no typed error: ${Cause.pretty(result.cause)}`)
  return error.value
}

describe("startup: the Auth driver", () => {
  it("cleartext: the password Effect answers; the session has the engine's parameters and the notices", async () => {
    const d = drive()
    await until("frame 1", () => d.frames.length >= 1)
    expect(decodeUntyped(d.frames[0]!)).toMatchObject({ _tag: "StartupMessage", minor: 2 })
    d.server(cleartext)
    await until("frame 2", () => d.frames.length >= 2)
    expect(asPassword(passwordBody(d.frames[1]!))).toBe(PASSWORD)
    d.server(
      authOk,
      { _tag: "ParameterStatus", name: "server_version", value: "18.0" },
      { _tag: "NoticeResponse", fields: { severity: "NOTICE", code: "00000", message: "welcome" } },
      keyData(KEY4),
      ready()
    )
    const result = await d.exit()
    if (!Exit.isSuccess(result)) throw new Error(Cause.pretty(result.cause))
    expect(result.value).toMatchObject({ processId: 4242, secretKey: KEY4, protocolMinor: 2 })
    expect(result.value.method).toBe("password")
    expect([...result.value.parameters]).toEqual([["server_version", "18.0"]])
    expect(result.value.notices.map((n) => n.message)).toEqual(["welcome"])
    expect(d.engine.status._tag).toBe("Open")
    expect(d.engine.pending).toBe(0)
  })

  it("SCRAM: the PBKDF2 runs through crypto.pbkdf2 and the proof is right", async () => {
    const d = drive()
    await until("frame 1", () => d.frames.length >= 1)
    d.server(sasl("SCRAM-SHA-256"))
    await until("frame 2", () => d.frames.length >= 2)
    const server = scramServer(d.frames[1]!)
    d.server(saslContinue(server.serverFirst))
    await until("frame 3", () => d.frames.length >= 3)
    expect(latin1(passwordBody(d.frames[2]!))).toBe(server.clientFinal)
    d.server(saslFinal(server.serverFinal), authOk, keyData(KEY4), ready())
    const result = await d.exit()
    if (!Exit.isSuccess(result)) throw new Error(Cause.pretty(result.cause))
    expect(result.value).toMatchObject({ method: "scram-sha-256", channelBound: false })
  })

  it("a FATAL 28xxx before authentication: PgAuthError server-rejected with the server error", async () => {
    const d = drive()
    await until("frame 1", () => d.frames.length >= 1)
    d.server(cleartext)
    await until("frame 2", () => d.frames.length >= 2)
    d.server(fatal("28P01", 'password authentication failed for user "alice"'))
    const error = await failed(d.exit())
    expect(error).toMatchObject({ _tag: "PgAuthError", method: "password", reason: "server-rejected" })
    expect((error as { serverError?: { code: string } }).serverError?.code).toBe("28P01")
    expect(d.engine.status._tag).toBe("Failed")
  })

  it("a FATAL error after authentication stays a PgServerError", async () => {
    const d = drive()
    await until("frame 1", () => d.frames.length >= 1)
    d.server(authOk, fatal("28000", "no such role"))
    expect(await failed(d.exit())).toMatchObject({ _tag: "PgServerError", code: "28000" })
  })

  it("a client-side refusal (Stop) fails the startup and the engine with PgAuthError", async () => {
    const d = drive({ requireAuth: { allowed: ["scram-sha-256"], allowNone: false } })
    await until("frame 1", () => d.frames.length >= 1)
    d.server(cleartext)
    expect(await failed(d.exit())).toMatchObject({ _tag: "PgAuthError", reason: "refused-by-require-auth" })
    expect(d.frames).toHaveLength(1)
    expect(d.engine.status._tag).toBe("Failed")
    expect(d.destroyed()).toBe(true)
  })

  it("no password configured: PgAuthError protocol", async () => {
    const d = drive({ password: Effect.succeed(undefined) })
    await until("frame 1", () => d.frames.length >= 1)
    d.server(cleartext)
    expect(await failed(d.exit())).toMatchObject({ _tag: "PgAuthError", reason: "protocol" })
  })

  it("the password Effect fails: its error, the engine failed, nothing more sent", async () => {
    const d = drive({ password: Effect.fail(configError("MissingFile", "no pgpass")) })
    await until("frame 1", () => d.frames.length >= 1)
    d.server(md5Request(KEY4))
    expect(await failed(d.exit())).toMatchObject({ _tag: "PgConfigError", message: "no pgpass" })
    expect(d.frames).toHaveLength(1)
    expect(d.engine.status._tag).toBe("Failed")
    expect(d.destroyed()).toBe(true)
  })

  it("the socket goes during the startup: PgConnectionError phase auth", async () => {
    const d = drive()
    await until("frame 1", () => d.frames.length >= 1)
    d.hangUp()
    const error = await failed(d.exit())
    expect(error).toMatchObject({ _tag: "PgConnectionError", phase: "auth", mayHaveReachedServer: false })
    expect(error.message).toBe("the server closed the connection during startup: read ECONNRESET")
  })

  it("interrupted while the password is read: the run is abandoned and the engine failed", async () => {
    const d = drive({ password: Effect.never })
    await until("frame 1", () => d.frames.length >= 1)
    d.server(cleartext)
    await new Promise((resolve) => setTimeout(resolve, 10))
    await Effect.runPromise(Fiber.interrupt(d.fiber))
    expect(d.engine.status._tag).toBe("Failed")
    expect(d.engine.pending).toBe(0)
    expect(d.destroyed()).toBe(true)
  })

  it("interrupted while waiting for the server: the same", async () => {
    const d = drive()
    await until("frame 1", () => d.frames.length >= 1)
    await Effect.runPromise(Fiber.interrupt(d.fiber))
    expect(d.engine.status._tag).toBe("Failed")
    expect(d.destroyed()).toBe(true)
  })
})
