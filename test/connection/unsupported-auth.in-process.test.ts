/**
 * Authentication methods the client does not implement, against the fake server (a stock server
 * is not configured for them here, and never sends SCM credentials or an undefined code): Kerberos
 * V5 (code 2), SCM credentials (6), a GSSAPI continuation (8), SSPI (9) and request codes the
 * protocol does not define. Each ends the login with a PgAuthError "unsupported-method" that names
 * the method and its request code, with the SQLSTATE-like code 28000 (as postgres_async reports
 * it) on the Expert error and on the normal PgError; the client answers nothing and closes its
 * socket.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Connection from "../../src/Connection.ts"
import { connectFails, expectTag } from "../support/ConnectionAssertions.ts"
import * as Fake from "../support/FakeServer.ts"

const TIMEOUT = 10_000

interface Case {
  readonly request: Uint8Array
  readonly method: string
  readonly message: string
}

const unsupported = (what: string, code: number) =>
  `the server requested ${what} (authentication request code ${code}), which this client does not support`

const cases: ReadonlyArray<Case> = [
  {
    request: Fake.authentication(2),
    method: "KerberosV5",
    message: unsupported("Kerberos V5 authentication", 2)
  },
  {
    request: Fake.authentication(6),
    method: "SCMCredential",
    message: unsupported("SCM credential authentication", 6)
  },
  {
    request: Fake.authenticationGSSContinue(new Uint8Array([1, 2, 3])),
    method: "GSS",
    message: unsupported("a GSSAPI continuation (AuthenticationGSSContinue)", 8)
  },
  {
    request: Fake.authenticationSSPI(),
    method: "SSPI",
    message: unsupported("SSPI authentication", 9)
  },
  {
    request: Fake.authentication(99, new Uint8Array([7, 7])),
    method: "unknown (code 99)",
    message: unsupported("an authentication method the protocol does not define", 99)
  },
  {
    // A retired method's code (Kerberos V4) is undefined too.
    request: Fake.authentication(1),
    method: "unknown (code 1)",
    message: unsupported("an authentication method the protocol does not define", 1)
  }
]

const serverAsking =
  (request: Uint8Array): Fake.Script =>
  (client) =>
    Effect.gen(function* () {
      yield* client.expect("StartupMessage")
      // A client that tolerated the request would connect: the session follows.
      yield* client.write(request, Fake.authenticationOk(), Fake.sessionReady())
    })

describe("an authentication method the client does not implement", () => {
  for (const c of cases) {
    it.live(
      `${c.method}: PgAuthError unsupported-method, 28000, nothing answered`,
      () =>
        Effect.gen(function* () {
          const server = yield* Fake.make(serverAsking(c.request))
          const error = expectTag(yield* connectFails(server.config()), "PgAuthError")
          assert.strictEqual(error.method, c.method)
          assert.strictEqual(error.reason, "unsupported-method")
          assert.strictEqual(error.message, c.message)
          assert.strictEqual(error.code, "28000")
          assert.isUndefined(error.serverError)
          const client = yield* server.client(0)
          yield* client.awaitClientClosed
          // Only the StartupMessage: no password, no SASL or GSS response, no query.
          assert.deepStrictEqual(
            client.received.map((m) => m._tag),
            ["StartupMessage"]
          )
        }),
      TIMEOUT
    )
  }

  it.live(
    "the normal API: PgError with code 28000 and the method named in its message",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make(serverAsking(Fake.authentication(6)))
        const error = yield* Effect.flip(Effect.scoped(Connection.connect(server.config())))
        assert.strictEqual(error._tag, "PgError")
        assert.strictEqual(error.code, "28000")
        assert.strictEqual(error.conditionName, "invalid_authorization_specification")
        assert.strictEqual(error.cause._tag, "PgAuthError")
        assert.strictEqual(
          error.message,
          `authentication failed (method SCMCredential, unsupported-method): ${unsupported("SCM credential authentication", 6)}` +
            " (SQLSTATE 28000 invalid_authorization_specification)"
        )
        assert.isFalse(error.mayHaveRun)
      }),
    TIMEOUT
  )
})
