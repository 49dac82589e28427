/**
 * An early EOF from the server at each phase, against the fake server: right after connect, in the
 * middle of the startup dialogue (mid-frame), after AuthenticationOk but before ReadyForQuery, in
 * the middle of a query, and in the middle of a row stream. Each ends in a typed
 * PgConnectionError, promptly; once the session is up, the connection is Failed with it and later
 * calls get PgClosedError (08003).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Codec, type CodecService, makeWire } from "../../src/Codec.ts"
import * as Expert from "../../src/Expert.ts"
import { open, PgSocket, type PgSocketService, type Receiver } from "../../src/PgSocket.ts"
import type { ObjectRow } from "../../src/Result.ts"
import { assertFailedWith, connectFails, expectTag } from "../support/ConnectionAssertions.ts"
import * as Fake from "../support/FakeServer.ts"

const TIMEOUT = 10_000

/**
 * The real socket and codec, except that EOF arrives (and the socket is destroyed) right behind
 * the read that held the startup's ReadyForQuery, before the connection's operations exist: the
 * engine, the Wire's only listener from the first byte, must still make the connection fail.
 */
const eofAfterStartup = () => {
  let receiver: Receiver | undefined
  let destroy = () => {}
  const socket: PgSocketService = {
    open: (options) =>
      Effect.map(open(options), (transport) => {
        destroy = transport.destroy
        return {
          ...transport,
          start: (r: Receiver) => {
            receiver = r
            transport.start({ onData: r.onData, onClose: () => {} })
          }
        }
      })
  }
  const codec: CodecService = {
    make: (transport, options) => {
      const wire = makeWire(transport, options)
      return {
        ...wire,
        listen: (listener) =>
          wire.listen({
            ...listener,
            onMessages: (messages) => {
              listener.onMessages(messages)
              if (messages.some((m) => m._tag === "ReadyForQuery")) {
                receiver?.onClose(undefined)
                destroy()
              }
            }
          })
      }
    }
  }
  return { socket, codec }
}

const startupFails = (script: Fake.Script) =>
  Effect.gen(function* () {
    const server = yield* Fake.make(script)
    const error = expectTag(yield* connectFails(server.config()), "PgConnectionError")
    yield* (yield* server.client(0)).awaitClientClosed
    assert.strictEqual(error.mayHaveReachedServer, false)
    return error
  })

describe("early EOF during startup", () => {
  it.live(
    "right after connect, before the StartupMessage is read",
    () =>
      Effect.gen(function* () {
        const error = yield* startupFails((client) => client.end)
        assert.strictEqual(error.phase, "auth")
        assert.match(error.message, /server closed the connection during startup/)
      }),
    TIMEOUT
  )

  it.live(
    "mid-startup: after the password, in the middle of a frame",
    () =>
      Effect.gen(function* () {
        const error = yield* startupFails((client) =>
          Effect.gen(function* () {
            yield* client.expect("StartupMessage")
            yield* client.write(Fake.authenticationCleartextPassword())
            yield* client.expect("PasswordFamily")
            yield* client.write(Fake.authenticationOk().subarray(0, 6))
            yield* client.end
          })
        )
        assert.strictEqual(error.phase, "auth")
        assert.match(error.message, /server closed the connection during startup/)
      }),
    TIMEOUT
  )

  it.live(
    "after AuthenticationOk, before ReadyForQuery",
    () =>
      Effect.gen(function* () {
        const error = yield* startupFails((client) =>
          Effect.gen(function* () {
            yield* client.expect("StartupMessage")
            yield* client.write(Fake.authenticationOk(), Fake.parameterStatus("server_version", "18.0"))
            yield* client.end
          })
        )
        assert.strictEqual(error.phase, "auth")
        assert.match(error.message, /server closed the connection during startup/)
      }),
    TIMEOUT
  )
})

describe("early EOF once the session is up", () => {
  it.live(
    "right behind the startup's ReadyForQuery: the connection fails instead of leaving later calls hanging",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* client.expect("StartupMessage")
            yield* client.write(Fake.authenticationOk(), Fake.sessionReady())
            yield* client.end
          })
        )
        const connection = yield* Expert.connect(server.config())
        const error = expectTag(
          yield* Effect.flip(connection.closeFinished).pipe(Effect.timeout("3 seconds")),
          "PgConnectionError"
        )
        assert.strictEqual(error.phase, "io")
        assert.match(error.message, /server closed the connection unexpectedly/)
        yield* assertFailedWith(connection, error)
        yield* (yield* server.client(0)).awaitClientClosed
      }),
    TIMEOUT
  )

  it.live(
    "EOF right behind the startup's ReadyForQuery, before the operations exist: not lost",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* client.expect("StartupMessage")
            yield* client.write(Fake.authenticationOk(), Fake.sessionReady())
          })
        )
        const { socket, codec } = eofAfterStartup()
        const connection = yield* Expert.connect(server.config()).pipe(
          Effect.provideService(PgSocket, socket),
          Effect.provideService(Codec, codec)
        )
        const error = expectTag(
          yield* Effect.flip(connection.closeFinished).pipe(Effect.timeout("3 seconds")),
          "PgConnectionError"
        )
        assert.match(error.message, /server closed the connection unexpectedly/)
        yield* assertFailedWith(connection, error)
        yield* (yield* server.client(0)).awaitClientClosed
      }),
    TIMEOUT
  )

  it.live(
    "mid-query: the statement may have run (mayHaveReachedServer)",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* Fake.acceptSession(client)
            yield* Fake.readExtendedQuery(client)
            yield* client.write(
              Fake.parseComplete(),
              Fake.parameterDescription(),
              Fake.rowDescription(["x"]),
              Fake.bindComplete()
            )
            yield* client.end
          })
        )
        const connection = yield* Expert.connect(server.config())
        const error = expectTag(
          yield* Effect.flip(connection.query("update t set x = 1")),
          "PgConnectionError"
        )
        assert.strictEqual(error.phase, "io")
        assert.strictEqual(error.mayHaveReachedServer, true)
        assert.match(error.message, /server closed the connection unexpectedly/)
        yield* assertFailedWith(connection, error)
        yield* (yield* server.client(0)).awaitClientClosed
      }),
    TIMEOUT
  )

  it.live(
    "mid-row-stream, inside a DataRow: the rows before it arrive, then the error",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* Fake.acceptSession(client)
            yield* Fake.readExtendedQuery(client)
            yield* client.write(
              Fake.parseComplete(),
              Fake.parameterDescription(),
              Fake.rowDescription(["n"]),
              Fake.bindComplete(),
              Fake.dataRow(["1"]),
              Fake.dataRow(["2"]),
              Fake.dataRow(["3"]),
              Fake.dataRow(["4"]).subarray(0, 7)
            )
            yield* client.end
          })
        )
        const connection = yield* Expert.connect(server.config())
        const seen: Array<ObjectRow> = []
        const error = expectTag(
          yield* Effect.flip(
            connection
              .stream("select n from t")
              .pipe(Stream.runForEach((row) => Effect.sync(() => seen.push(row))))
          ),
          "PgConnectionError"
        )
        assert.deepStrictEqual(seen, [{ n: "1" }, { n: "2" }, { n: "3" }])
        assert.strictEqual(error.phase, "io")
        assert.strictEqual(error.mayHaveReachedServer, true)
        yield* assertFailedWith(connection, error)
        yield* (yield* server.client(0)).awaitClientClosed
      }),
    TIMEOUT
  )
})
