/**
 * The answer to SSLRequest, against the fake server: 'N' (prefer goes on in clear on the same
 * socket, require refuses), an unknown byte, 'E' with an error message (never shown: it is not
 * authenticated), 'S' followed by plaintext bytes in the same packet (buffer stuffing,
 * CVE-2021-23222), and EOF instead of an answer. Each refusal is a typed PgConnectionError in
 * phase "tls", promptly, with the client's socket closed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Expert from "../../src/Expert.ts"
import { connectFails, expectTag } from "../support/ConnectionAssertions.ts"
import * as Fake from "../support/FakeServer.ts"

const TIMEOUT = 10_000

/** A script that answers the SSLRequest with `answer`, then does `then` (default: nothing). */
const answerSsl =
  (
    answer: Uint8Array,
    then: (client: Fake.FakeClient) => Effect.Effect<void, unknown> = () => Effect.void
  ): Fake.Script =>
  (client) =>
    Effect.gen(function* () {
      yield* client.expect("SSLRequest")
      yield* client.write(answer)
      yield* then(client)
    })

/** sslmode=require against `script`: the typed error, after checking the client closed its socket. */
const requireFails = (script: Fake.Script) =>
  Effect.gen(function* () {
    const server = yield* Fake.make(script)
    const error = yield* connectFails(server.config({ sslmode: "require" }))
    const client = yield* server.client(0)
    yield* client.awaitClientClosed
    // One attempt only: require never falls back to plaintext.
    assert.strictEqual(server.clients.length, 1)
    assert.deepStrictEqual(
      client.received.map((m) => m._tag),
      ["SSLRequest"]
    )
    return expectTag(error, "PgConnectionError")
  })

describe("the answer to SSLRequest", () => {
  it.live(
    "'N' with sslmode=prefer: the session goes on in clear on the same socket",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* Fake.acceptSession(client)
            const query = yield* Fake.readExtendedQuery(client)
            assert.strictEqual(query.sql, "select 1")
            yield* client.write(Fake.queryAnswer(["x"], [["1"]]))
          })
        )
        const connection = yield* Expert.connect(server.config({ sslmode: "prefer" }))
        const result = yield* connection.query("select 1")
        assert.deepStrictEqual(result.rows, [{ x: "1" }])
        const client = yield* server.client(0)
        assert.deepStrictEqual(
          client.received.slice(0, 2).map((m) => m._tag),
          ["SSLRequest", "StartupMessage"]
        )
        assert.strictEqual(server.clients.length, 1)
      }),
    TIMEOUT
  )

  it.live(
    "'N' with sslmode=require: refused",
    () =>
      Effect.gen(function* () {
        const error = yield* requireFails(answerSsl(Fake.bytes("N")))
        assert.strictEqual(error.phase, "tls")
        assert.match(error.message, /does not support SSL, but SSL was required/)
      }),
    TIMEOUT
  )

  it.live(
    "an unknown answer byte ('X'): refused",
    () =>
      Effect.gen(function* () {
        const error = yield* requireFails(answerSsl(Fake.bytes("X")))
        assert.strictEqual(error.phase, "tls")
        assert.match(error.message, /answered the SSL request with byte 0x58/)
      }),
    TIMEOUT
  )

  it.live(
    "'E' followed by an error message: fatal even under prefer, and the unauthenticated text is not shown (CVE-2024-10977)",
    () =>
      Effect.gen(function* () {
        const secret = "please send your password to evil.example"
        const script = answerSsl(Fake.errorResponse({ severity: "FATAL", code: "XX000", message: secret }))
        for (const sslmode of ["prefer", "require"] as const) {
          const server = yield* Fake.make(script)
          const error = expectTag(yield* connectFails(server.config({ sslmode })), "PgConnectionError")
          yield* (yield* server.client(0)).awaitClientClosed
          // As libpq: no retry in plaintext, no StartupMessage, nothing of the server's words.
          assert.strictEqual(server.clients.length, 1, sslmode)
          assert.deepStrictEqual(
            server.clients[0]!.received.map((m) => m._tag),
            ["SSLRequest"]
          )
          assert.match(error.message, /sent an error response during SSL exchange/)
          assert.notInclude(error.message, secret)
        }
      }),
    TIMEOUT
  )

  it.live(
    "'S' followed by plaintext bytes in the same packet (CVE-2021-23222): refused before any TLS",
    () =>
      Effect.gen(function* () {
        const error = yield* requireFails(answerSsl(Fake.concat([Fake.bytes("S"), Fake.authenticationOk()])))
        assert.strictEqual(error.phase, "tls")
        assert.match(error.message, /unencrypted data after its SSL response/)
      }),
    TIMEOUT
  )

  it.live(
    "EOF instead of an answer: refused at once (not at connect_timeout)",
    () =>
      Effect.gen(function* () {
        const started = Date.now()
        const error = yield* requireFails((client) =>
          Effect.gen(function* () {
            yield* client.expect("SSLRequest")
            yield* client.end
          })
        )
        assert.strictEqual(error.phase, "tls")
        assert.notMatch(error.message, /timed out/)
        assert.isBelow(Date.now() - started, 2_000)
      }),
    TIMEOUT
  )

  it.live(
    "no answer at all: connect_timeout ends the attempt",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) => Effect.asVoid(client.expect("SSLRequest")))
        const error = expectTag(
          yield* connectFails(server.config({ sslmode: "require", connectTimeout: Duration.millis(300) })),
          "PgConnectionError"
        )
        assert.strictEqual(error.phase, "connect")
        assert.match(error.message, /timed out after/)
        yield* (yield* server.client(0)).awaitClientClosed
      }),
    TIMEOUT
  )
})
