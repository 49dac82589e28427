/**
 * What a real server never sends during login, against the fake server: impossible frame lengths,
 * unknown message types, truncated or unknown authentication requests, garbage, FATAL errors,
 * unsupported mechanisms, a SCRAM server that cannot prove it knows the password, and
 * ReadyForQuery before authentication. Each must end in a typed error, promptly, with the
 * client's socket closed.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Expert from "../../src/Expert.ts"
import { connectFails, expectTag } from "../support/ConnectionAssertions.ts"
import * as Fake from "../support/FakeServer.ts"

const TIMEOUT = 10_000

/** Connects, expects failure, checks the client closed its socket, returns the error. */
const loginFails = (server: Fake.FakeServer, overrides?: Parameters<Fake.FakeServer["config"]>[0]) =>
  Effect.gen(function* () {
    const error = yield* connectFails(server.config(overrides))
    yield* (yield* server.client(0)).awaitClientClosed
    return error
  })

/** A script that reads the StartupMessage, then writes `reply`. */
const afterStartup =
  (...reply: ReadonlyArray<Uint8Array>): Fake.Script =>
  (client) =>
    Effect.gen(function* () {
      yield* client.expect("StartupMessage")
      yield* client.write(...reply)
    })

interface Case {
  readonly name: string
  readonly reply: ReadonlyArray<Uint8Array>
  readonly maxMessageSize?: number
  readonly tag: "PgProtocolError" | "PgAuthError" | "PgServerError"
  /** PgProtocolError / PgAuthError reason, or PgServerError code. */
  readonly reason: string
  readonly message: RegExp
}

const cases: ReadonlyArray<Case> = [
  {
    name: "a frame length below 4",
    reply: [new Uint8Array([0x52, 0, 0, 0, 3])],
    tag: "PgProtocolError",
    reason: "InvalidLength",
    message: /'R' \(0x52\) message has invalid length 3/
  },
  {
    name: "a negative frame length",
    reply: [new Uint8Array([0x52, 0xff, 0xff, 0xff, 0xfe])],
    tag: "PgProtocolError",
    reason: "InvalidLength",
    message: /invalid length -2/
  },
  {
    name: "a frame larger than maxMessageSize (its body never sent)",
    reply: [new Uint8Array([0x52, 0, 0x01, 0, 0])],
    maxMessageSize: 1024,
    tag: "PgProtocolError",
    reason: "MessageTooLarge",
    message: /65536 bytes exceeds the limit of 1024 bytes/
  },
  {
    name: "a frame of 2 GiB - 1 under the default limit",
    reply: [new Uint8Array([0x52, 0x7f, 0xff, 0xff, 0xff])],
    tag: "PgProtocolError",
    reason: "MessageTooLarge",
    message: /exceeds the limit of 1073741824 bytes/
  },
  {
    name: "an unknown message type byte",
    reply: [Fake.frame("!", Fake.int32(0))],
    tag: "PgProtocolError",
    reason: "UnknownMessage",
    message: /unknown backend message type '!' \(0x21\)/
  },
  {
    name: "a truncated AuthenticationMD5Password (2 of 4 salt bytes)",
    reply: [Fake.authentication(5, new Uint8Array([1, 2]))],
    tag: "PgProtocolError",
    reason: "Truncated",
    message: /body ends before the MD5 salt/
  },
  {
    name: "garbage (an HTTP answer) instead of an Authentication message",
    reply: [Fake.bytes("HTTP/1.1 400 Bad Request\r\n\r\n")],
    tag: "PgProtocolError",
    reason: "MessageTooLarge",
    message: /'H' \(0x48\) message of \d+ bytes exceeds the limit/
  },
  {
    name: "a well-formed but out-of-place message (DataRow) instead of an Authentication message",
    reply: [Fake.dataRow(["x"])],
    tag: "PgProtocolError",
    reason: "UnexpectedMessage",
    message: /unexpected DataRow during startup/
  },
  {
    name: "an ErrorResponse FATAL (database does not exist)",
    reply: [Fake.errorResponse({ severity: "FATAL", code: "3D000", message: 'database "d" does not exist' })],
    tag: "PgServerError",
    reason: "3D000",
    message: /database "d" does not exist/
  },
  // Unsupported methods (every one, with exact values): unsupported-auth.in-process.test.ts.
  {
    name: "an unknown authentication code",
    reply: [Fake.authentication(99)],
    tag: "PgAuthError",
    reason: "unsupported-method",
    message: /authentication request code 99/
  },
  {
    name: "ReadyForQuery before authentication",
    reply: [Fake.sessionReady()],
    tag: "PgProtocolError",
    reason: "UnexpectedMessage",
    message: /ReadyForQuery before authentication/
  }
]

describe("invalid messages during login", () => {
  for (const c of cases) {
    it.live(
      c.name,
      () =>
        Effect.gen(function* () {
          const server = yield* Fake.make(afterStartup(...c.reply))
          const error = yield* loginFails(
            server,
            c.maxMessageSize === undefined ? {} : { maxMessageSize: c.maxMessageSize }
          )
          assert.strictEqual(error._tag, c.tag, error.message)
          const reason =
            error._tag === "PgServerError"
              ? error.code
              : error._tag === "PgProtocolError" || error._tag === "PgAuthError"
                ? error.reason
                : undefined
          assert.strictEqual(reason, c.reason)
          assert.match(error.message, c.message)
        }),
      TIMEOUT
    )
  }

  it.live(
    "an ErrorResponse FATAL 28P01 after the password is a PgAuthError carrying the server error",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* client.expect("StartupMessage")
            yield* client.write(Fake.authenticationCleartextPassword())
            const password = yield* client.expect("PasswordFamily")
            assert.strictEqual(Fake.passwordText(password.body), "secret")
            yield* client.write(
              Fake.errorResponse({
                severity: "FATAL",
                code: "28P01",
                message: 'password authentication failed for user "u"'
              })
            )
          })
        )
        const error = expectTag(yield* loginFails(server), "PgAuthError")
        assert.strictEqual(error.reason, "server-rejected")
        assert.strictEqual(error.method, "password")
        assert.strictEqual(error.serverError?.code, "28P01")
        assert.match(error.message, /password authentication failed/)
        yield* (yield* server.client(0)).scriptDone
      }),
    TIMEOUT
  )
})

// ---- SCRAM-SHA-256: the server must prove it knows the password ---------------------------------

const hmac = (key: Uint8Array, data: string) => createHmac("sha256", key).update(data).digest()

type Ending = "correct signature" | "wrong signature" | "no SASLFinal" | "AuthenticationOk after client-first"

/** A SCRAM server for the password "secret" that ends the exchange as `ending` says. */
const scramServer =
  (ending: Ending): Fake.Script =>
  (client) =>
    Effect.gen(function* () {
      yield* client.expect("StartupMessage")
      yield* client.write(Fake.authenticationSASL(["SCRAM-SHA-256"]))
      const initial = Fake.saslInitialResponse((yield* client.expect("PasswordFamily")).body)
      assert.strictEqual(initial.mechanism, "SCRAM-SHA-256")
      const clientFirstBare = initial.data.split(",").slice(2).join(",")
      const clientNonce = /r=([^,]+)/.exec(clientFirstBare)?.[1] ?? ""
      if (ending === "AuthenticationOk after client-first") {
        return yield* client.write(Fake.authenticationOk(), Fake.sessionReady())
      }
      const salt = randomBytes(16)
      const serverFirst = `r=${clientNonce}${randomBytes(18).toString("base64")},s=${salt.toString("base64")},i=4096`
      yield* client.write(Fake.authenticationSASLContinue(serverFirst))
      const clientFinal = new TextDecoder().decode((yield* client.expect("PasswordFamily")).body)
      const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(",p="))
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`
      const salted = pbkdf2Sync("secret", salt, 4096, 32, "sha256")
      // The client's proof must verify too (ClientKey XOR ClientSignature).
      const clientKey = hmac(salted, "Client Key")
      const clientSignature = hmac(createHash("sha256").update(clientKey).digest(), authMessage)
      const proof = Buffer.from(clientKey.map((b, i) => b ^ clientSignature[i]!)).toString("base64")
      assert.strictEqual(clientFinal.slice(clientFinal.lastIndexOf(",p=") + 3), proof)
      const signature =
        ending === "correct signature" ? hmac(hmac(salted, "Server Key"), authMessage) : randomBytes(32)
      const final =
        ending === "no SASLFinal" ? [] : [Fake.authenticationSASLFinal(`v=${signature.toString("base64")}`)]
      yield* client.write(...final, Fake.authenticationOk(), Fake.sessionReady())
    })

describe("SCRAM-SHA-256 server signature", () => {
  it.live(
    "a correct server signature is accepted (the control for the cases below)",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make(scramServer("correct signature"))
        const connection = yield* Expert.connect(server.config())
        assert.strictEqual(connection.serverVersion, "18.0")
        assert.strictEqual(connection.processId, 4242)
        yield* (yield* server.client(0)).scriptDone
      }),
    TIMEOUT
  )

  const refused: ReadonlyArray<[Ending, RegExp]> = [
    ["wrong signature", /server signature is incorrect/],
    ["no SASLFinal", /AuthenticationOk before completing the SCRAM exchange/],
    ["AuthenticationOk after client-first", /AuthenticationOk before completing the SCRAM exchange/]
  ]
  for (const [ending, message] of refused) {
    it.live(
      `${ending}: refused`,
      () =>
        Effect.gen(function* () {
          const server = yield* Fake.make(scramServer(ending))
          const error = expectTag(yield* loginFails(server), "PgAuthError")
          assert.strictEqual(error.reason, "server-signature-invalid")
          // Auth.ts names it "SCRAM-SHA-256" or "scram-sha-256" depending on the step (reported).
          assert.strictEqual(error.method.toLowerCase(), "scram-sha-256")
          assert.match(error.message, message)
        }),
      TIMEOUT
    )
  }
})
