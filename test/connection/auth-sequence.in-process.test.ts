/**
 * Authentication requests out of sequence, against the fake server (a real server never sends
 * them): anything after AuthenticationOk, a second AuthenticationSASL (before or after the
 * exchange completed), SASLContinue / SASLFinal outside their place, and a cleartext or MD5 request
 * once SASL has started. Each must end the connection attempt with PgProtocolError
 * "UnexpectedMessage", with no password or SASL response sent after the violation.
 *
 * Every script ends with a well-formed session (ParameterStatus..., ReadyForQuery): a client that
 * tolerated the violation would connect, and the test would fail.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { connectFails, expectTag } from "../support/ConnectionAssertions.ts"
import { completeScram, offerScram, sendServerFirst, serverFinal } from "../support/FakeScram.ts"
import * as Fake from "../support/FakeServer.ts"

const TIMEOUT = 10_000

interface Case {
  readonly name: string
  /** Runs after the StartupMessage; ends by writing the violation. */
  readonly script: (client: Fake.FakeClient) => Effect.Effect<void, Fake.FakeServerError>
  readonly message: RegExp
  /** The 'p' frames (password, SASL responses) the client sends before the violation. */
  readonly responses: number
  readonly reason?: string
}

const refuses = (c: Case) =>
  it.live(
    c.name,
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* client.expect("StartupMessage")
            yield* c.script(client)
            yield* client.write(Fake.sessionReady())
          })
        )
        const error = expectTag(yield* connectFails(server.config()), "PgProtocolError")
        assert.strictEqual(error.reason, c.reason ?? "UnexpectedMessage", error.message)
        assert.match(error.message, c.message)
        const client = yield* server.client(0)
        yield* client.awaitClientClosed
        const sent = client.received.filter((m) => m._tag === "PasswordFamily")
        assert.strictEqual(sent.length, c.responses, "password / SASL frames sent")
        assert.isFalse(client.received.some((m) => m._tag === "Terminate" || m._tag === "Query"))
      }),
    TIMEOUT
  )

// ---- where the dialogue stands when the violation comes ------------------------------------------

type Step = (client: Fake.FakeClient) => Effect.Effect<unknown, Fake.FakeServerError>

/** `step`, then the violating `messages` in one write. */
const then =
  (step: Step, ...messages: ReadonlyArray<Uint8Array>): Case["script"] =>
  (client) =>
    Effect.andThen(step(client), client.write(...messages))

const nothing: Step = () => Effect.void
const trusted: Step = (client) => client.write(Fake.authenticationOk())
/** The server asked with `request` and the client answered (password or MD5 hash). */
const answered =
  (request: Uint8Array): Step =>
  (client) =>
    Effect.andThen(client.write(request), client.expect("PasswordFamily"))
const clientFirstSent: Step = offerScram
const clientFinalSent: Step = (client) =>
  Effect.gen(function* () {
    const sent = yield* sendServerFirst(client, yield* offerScram(client))
    yield* client.expect("PasswordFamily")
    return sent
  })
const scramVerified: Step = completeScram

const cleartext = Fake.authenticationCleartextPassword()
const md5 = Fake.authenticationMD5Password(new Uint8Array([1, 2, 3, 4]))
const sasl = Fake.authenticationSASL(["SCRAM-SHA-256"])
const saslContinue = Fake.authenticationSASLContinue("r=abc,s=c2FsdA==,i=4096")
const saslFinal = Fake.authenticationSASLFinal("v=AAAA")

// ---- after AuthenticationOk: any request, whatever its code -------------------------------------

const requests: ReadonlyArray<readonly [string, Uint8Array]> = [
  ["AuthenticationOk", Fake.authenticationOk()],
  ["AuthenticationKerberosV5", Fake.authentication(2)],
  ["AuthenticationCleartextPassword", cleartext],
  ["AuthenticationMD5Password", md5],
  ["AuthenticationGSS", Fake.authenticationGSS()],
  ["AuthenticationGSSContinue", Fake.authenticationGSSContinue(new Uint8Array([1]))],
  ["AuthenticationSSPI", Fake.authenticationSSPI()],
  ["AuthenticationSASL", sasl],
  ["AuthenticationSASLContinue", saslContinue],
  ["AuthenticationSASLFinal", saslFinal]
]

describe("an authentication request after AuthenticationOk", () => {
  for (const [tag, request] of requests) {
    refuses({
      name: `${tag} after AuthenticationOk (trust)`,
      script: then(trusted, request),
      message: new RegExp(`^authentication request after AuthenticationOk \\(${tag}\\)$`),
      responses: 0
    })
  }

  refuses({
    name: "an undefined request code after AuthenticationOk",
    script: then(trusted, Fake.authentication(99)),
    message: /^authentication request after AuthenticationOk \(authentication request code 99\)$/,
    responses: 0
  })

  refuses({
    name: "AuthenticationCleartextPassword after a cleartext login: the password is not sent again",
    script: then(answered(cleartext), Fake.authenticationOk(), cleartext),
    message: /after AuthenticationOk \(AuthenticationCleartextPassword\)/,
    responses: 1
  })

  refuses({
    name: "AuthenticationSASL after a verified SCRAM login: no second exchange",
    script: then(scramVerified, Fake.authenticationOk(), sasl),
    message: /after AuthenticationOk \(AuthenticationSASL\)/,
    responses: 2
  })
})

// ---- a second AuthenticationSASL ----------------------------------------------------------------

describe("a second AuthenticationSASL", () => {
  refuses({
    name: "after the client-first-message",
    script: then(clientFirstSent, sasl),
    message: /^duplicate SASL authentication request$/,
    responses: 1
  })

  refuses({
    name: "after the exchange completed (SASLFinal verified, no AuthenticationOk yet)",
    script: then(scramVerified, sasl),
    message: /^duplicate SASL authentication request$/,
    responses: 2
  })
})

// ---- SASLContinue / SASLFinal out of place ------------------------------------------------------

describe("SASLContinue and SASLFinal outside the exchange", () => {
  refuses({
    name: "AuthenticationSASLContinue without AuthenticationSASL",
    script: then(nothing, saslContinue),
    message: /^AuthenticationSASLContinue without AuthenticationSASL$/,
    responses: 0
  })

  refuses({
    name: "AuthenticationSASLFinal without AuthenticationSASL",
    script: then(nothing, saslFinal),
    message: /^AuthenticationSASLFinal without AuthenticationSASL$/,
    responses: 0
  })

  refuses({
    name: "AuthenticationSASLContinue after a cleartext password was sent",
    script: then(answered(cleartext), saslContinue),
    message: /^AuthenticationSASLContinue without AuthenticationSASL$/,
    responses: 1
  })

  refuses({
    name: "AuthenticationSASLFinal before the client-final-message",
    script: then(clientFirstSent, saslFinal),
    message: /^AuthenticationSASLFinal before the SCRAM client-final-message$/,
    responses: 1
  })

  refuses({
    name: "a second AuthenticationSASLContinue after the client-final-message",
    script: then(clientFinalSent, saslContinue),
    message: /^AuthenticationSASLContinue after the SCRAM client-final-message$/,
    responses: 2
  })

  refuses({
    name: "a second AuthenticationSASLFinal after a verified one",
    script: (client) =>
      Effect.gen(function* () {
        const final = yield* serverFinal(client, yield* sendServerFirst(client, yield* offerScram(client)))
        yield* client.write(final, final)
      }),
    message: /^a second AuthenticationSASLFinal$/,
    responses: 2
  })
})

// ---- another method once one has started (libpq would answer these) -----------------------------

describe("a request for another method once one has started", () => {
  const cases: ReadonlyArray<readonly [string, Case["script"], string, number]> = [
    [
      "AuthenticationCleartextPassword after the client-first-message",
      then(clientFirstSent, cleartext),
      "AuthenticationCleartextPassword after the client began scram-sha-256",
      1
    ],
    [
      "AuthenticationMD5Password after the client-final-message",
      then(clientFinalSent, md5),
      "AuthenticationMD5Password after the client began scram-sha-256",
      2
    ],
    [
      "AuthenticationCleartextPassword after a verified SCRAM exchange",
      then(scramVerified, cleartext),
      "AuthenticationCleartextPassword after the client began scram-sha-256",
      2
    ],
    [
      "AuthenticationSASL after a cleartext password was sent",
      then(answered(cleartext), sasl),
      "AuthenticationSASL after the client began password",
      1
    ],
    [
      "a second AuthenticationMD5Password (the hash is not sent twice)",
      then(answered(md5), md5),
      "AuthenticationMD5Password after the client began md5",
      1
    ]
  ]
  for (const [name, script, message, responses] of cases) {
    refuses({ name, script, message: new RegExp(`^${message} authentication$`), responses })
  }
})
