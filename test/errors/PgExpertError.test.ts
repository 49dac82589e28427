import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  isPgExpertError,
  PgAuthError,
  PgClosedError,
  PgConnectionError,
  type PgPoolExpertError,
  PgProtocolError,
  PgServerError
} from "../../src/Errors.ts"
import * as Sqlstate from "../../src/Sqlstate.ts"

const serverError = PgServerError.fromFields({ S: "ERROR", C: "42P01", M: 'relation "nope" does not exist' })
const connectionError = new PgConnectionError({
  phase: "io",
  mayHaveReachedServer: true,
  message: "read ECONNRESET",
  cause: new Error("read ECONNRESET")
})
const authError = new PgAuthError({
  method: "scram-sha-256",
  reason: "server-rejected",
  message: "the server refused the password",
  serverError: PgServerError.fromFields({
    S: "FATAL",
    C: "28P01",
    M: 'password authentication failed for user "bob"'
  })
})
const protocolError = PgProtocolError.fromCodec({
  reason: "UnknownMessage",
  message: "unknown message type",
  messageType: 0x7a
})

const all: ReadonlyArray<PgPoolExpertError> = [
  serverError,
  connectionError,
  authError,
  protocolError,
  PgClosedError.closed()
]

describe("Expert errors", () => {
  it("keep their fields, the cause as given, and a readable message", () => {
    assert.strictEqual(connectionError.phase, "io")
    assert.isTrue(connectionError.mayHaveReachedServer)
    assert.instanceOf(connectionError.cause, Error)
    assert.strictEqual(String(connectionError), "PgConnectionError: read ECONNRESET")
    assert.strictEqual(authError.serverError?.code, Sqlstate.INVALID_PASSWORD)
    assert.strictEqual(protocolError.reason, "UnknownMessage")
    assert.strictEqual(protocolError.messageType, 0x7a)
  })

  it("PgProtocolError.fromCodec leaves messageType absent when the codec had none", () => {
    const error = PgProtocolError.fromCodec({ reason: "Truncated", message: "short", messageType: undefined })
    assert.isFalse(Object.hasOwn(error, "messageType"))
  })

  it("reject values outside their schema", () => {
    assert.throws(
      () => new PgConnectionError({ phase: "dns" as "io", mayHaveReachedServer: false, message: "x" })
    )
    assert.throws(() => new PgAuthError({ method: "md5", reason: "nope" as "protocol", message: "x" }))
  })

  it("isPgExpertError accepts the Expert errors and nothing else", () => {
    for (const error of all) assert.isTrue(isPgExpertError(error), error._tag)
    assert.isFalse(isPgExpertError(new Error("plain")))
    assert.isFalse(isPgExpertError({ _tag: "PgServerError", code: "23505", message: "forged" }))
  })

  it.effect("each is yieldable in Effect.gen and caught by its own tag only", () =>
    Effect.gen(function* () {
      for (const error of all) {
        const failing: Effect.Effect<string, PgPoolExpertError> = Effect.gen(function* () {
          yield* error
          return "unreachable"
        })
        const tag = yield* failing.pipe(
          Effect.catchTags({
            PgServerError: (e) => Effect.succeed(`server ${e.code}`),
            PgConnectionError: (e) => Effect.succeed(`connection ${e.phase}`),
            PgAuthError: (e) => Effect.succeed(`auth ${e.reason}`),
            PgProtocolError: (e) => Effect.succeed(`protocol ${e.reason}`),
            PgClosedError: (e) => Effect.succeed(`closed ${e.code}`),
            PgConfigError: (e) => Effect.succeed(`config ${e.reason}`),
            PgTimeoutError: (e) => Effect.succeed(`timeout ${e.timeoutMillis}`),
            PgPoolTimeoutError: (e) => Effect.succeed(`pool timeout ${e.timeoutMillis}`),
            PgTransactionError: (e) => Effect.succeed(`transaction ${e.reason}`)
          })
        )
        const expected = {
          PgServerError: "server 42P01",
          PgConnectionError: "connection io",
          PgAuthError: "auth server-rejected",
          PgProtocolError: "protocol UnknownMessage",
          PgClosedError: "closed 08003",
          PgConfigError: "config",
          PgTimeoutError: "timeout",
          PgPoolTimeoutError: "pool timeout",
          PgTransactionError: "transaction"
        }[error._tag]
        assert.strictEqual(tag, expected)
        // A handler for another tag lets the error through unchanged.
        const other = error._tag === "PgClosedError" ? "PgServerError" : "PgClosedError"
        const passed = yield* Effect.flip(failing.pipe(Effect.catchTag(other, () => Effect.succeed("wrong"))))
        assert.strictEqual(passed, error)
      }
    })
  )
})

describe("PgClosedError and the 08003 rule", () => {
  it("always reports 08003 connection_does_not_exist", () => {
    const closed = PgClosedError.closed()
    assert.strictEqual(closed.code, "08003")
    assert.strictEqual(closed.code, Sqlstate.CONNECTION_DOES_NOT_EXIST)
    assert.strictEqual(Sqlstate.conditionName(closed.code), "connection_does_not_exist")
    assert.isUndefined(closed.original)
    assert.strictEqual(closed.message, "connection is closed")
  })

  it("wraps the error that ended the connection, hiding its SQLSTATE behind 08003", () => {
    const fatal = PgServerError.fromFields({
      S: "FATAL",
      V: "FATAL",
      C: Sqlstate.ADMIN_SHUTDOWN,
      M: "terminating connection due to administrator command"
    })
    const later = PgClosedError.previouslyFailed(fatal)
    assert.strictEqual(later.code, "08003")
    assert.strictEqual(later.original, fatal)
    assert.strictEqual(
      later.message,
      "query issued against previously-failed connection (PgServerError: terminating connection due to administrator command)"
    )
  })

  it("never nests: wrapping a PgClosedError returns it, keeping the first failure", () => {
    const first = PgClosedError.previouslyFailed(connectionError)
    const second = PgClosedError.previouslyFailed(first)
    assert.strictEqual(second, first)
    assert.strictEqual(second.original, connectionError)
  })

  it("accepts every kind of connection failure as original", () => {
    for (const error of [serverError, connectionError, authError, protocolError]) {
      assert.strictEqual(PgClosedError.previouslyFailed(error).original, error)
    }
  })
})
