/**
 * What a real server never sends once the session is up, against the fake server: an unknown
 * message type, DataRows whose column lengths lie, a message out of place in the middle of a
 * query, and messages with no request in flight. Each is a PgProtocolError for the query in
 * flight (or for the connection), after which the connection is Failed with that error,
 * `closeFinished` fails with it, later queries get PgClosedError (08003) carrying it, and the
 * socket is closed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Expert from "../../src/Expert.ts"
import { assertFailedWith, expectTag } from "../support/ConnectionAssertions.ts"
import * as Fake from "../support/FakeServer.ts"

const TIMEOUT = 10_000

interface Case {
  readonly name: string
  /** What the fake answers to the query. */
  readonly answer: ReadonlyArray<Uint8Array>
  readonly reason: string
  readonly message: RegExp
}

const begin = [
  Fake.parseComplete(),
  Fake.parameterDescription(),
  Fake.rowDescription(["a"]),
  Fake.bindComplete()
]

const cases: ReadonlyArray<Case> = [
  {
    name: "an unknown message type",
    answer: [
      ...begin,
      Fake.frame("j", Fake.int32(7)),
      Fake.commandComplete("SELECT 0"),
      Fake.readyForQuery()
    ],
    reason: "UnknownMessage",
    message: /unknown backend message type 'j' \(0x6a\)/
  },
  {
    name: "a DataRow with a negative column length other than -1",
    answer: [...begin, Fake.frame("D", Fake.int16(1), Fake.int32(-2)), Fake.readyForQuery()],
    reason: "InvalidLength",
    message: /'D' message: column 1 has length -2/
  },
  {
    name: "a DataRow whose column length runs past the message",
    answer: [
      ...begin,
      Fake.frame("D", Fake.int16(1), Fake.int32(10), Fake.bytes("abc")),
      Fake.readyForQuery()
    ],
    reason: "Truncated",
    message: /'D' message: column 1 is cut short/
  },
  {
    name: "a DataRow with more bytes than its columns declare",
    answer: [...begin, Fake.frame("D", Fake.int16(1), Fake.int32(1), Fake.bytes("ab")), Fake.readyForQuery()],
    reason: "TrailingBytes",
    message: /'D' message: 1 bytes after the last column/
  },
  {
    name: "a DataRow declaring more columns than it holds",
    answer: [...begin, Fake.frame("D", Fake.int16(2), Fake.int32(1), Fake.bytes("a")), Fake.readyForQuery()],
    reason: "Truncated",
    message: /'D' message: body ends before column 2/
  },
  {
    name: "an unexpected message in the middle of a query (BackendKeyData)",
    answer: [
      ...begin,
      Fake.dataRow(["1"]),
      Fake.backendKeyData(1, new Uint8Array(4)),
      Fake.commandComplete("SELECT 1"),
      Fake.readyForQuery()
    ],
    reason: "UnexpectedMessage",
    message: /unexpected BackendKeyData during a query/
  },
  {
    name: "an unexpected message in the middle of a query (AuthenticationOk)",
    answer: [...begin, Fake.authenticationOk(), Fake.commandComplete("SELECT 0"), Fake.readyForQuery()],
    reason: "UnexpectedMessage",
    message: /unexpected AuthenticationOk during a query/
  },
  {
    name: "ReadyForQuery before CommandComplete",
    answer: [...begin, Fake.dataRow(["1"]), Fake.readyForQuery()],
    reason: "UnexpectedMessage",
    message: /unexpected ReadyForQuery before CommandComplete during a query/
  },
  {
    name: "CopyData without a CopyOutResponse",
    answer: [
      ...begin,
      Fake.frame("d", Fake.bytes("1\n")),
      Fake.commandComplete("COPY 1"),
      Fake.readyForQuery()
    ],
    reason: "UnexpectedMessage",
    message: /unexpected CopyData during a query/
  }
]

describe("invalid messages during a query", () => {
  for (const c of cases) {
    it.live(
      c.name,
      () =>
        Effect.gen(function* () {
          const server = yield* Fake.make((client) =>
            Effect.gen(function* () {
              yield* Fake.acceptSession(client)
              yield* Fake.readExtendedQuery(client)
              yield* client.write(...c.answer)
              // The client must hang up; a follow-up query would be a desync.
              yield* client.read.pipe(
                Effect.flatMap((m) => Effect.die(new Error(`client sent ${m._tag} after the error`)))
              )
            })
          )
          const connection = yield* Expert.connect(server.config())
          const error = expectTag(yield* Effect.flip(connection.query("select a from t")), "PgProtocolError")
          assert.strictEqual(error.reason, c.reason)
          assert.match(error.message, c.message)
          yield* assertFailedWith(connection, error)
          yield* (yield* server.client(0)).awaitClientClosed
        }),
      TIMEOUT
    )
  }
})

describe("a pipelined query behind the broken one", () => {
  const broken: ReadonlyArray<[string, ReadonlyArray<Uint8Array>]> = [
    ["a bad DataRow", [...begin, Fake.frame("D", Fake.int16(1), Fake.int32(-7))]],
    ["ReadyForQuery before CommandComplete", [...begin, Fake.readyForQuery()]]
  ]
  for (const [name, answer] of broken) {
    it.live(
      `${name}: the broken query gets the PgProtocolError, the one behind it PgClosedError (08003)`,
      () =>
        Effect.gen(function* () {
          const server = yield* Fake.make((client) =>
            Effect.gen(function* () {
              yield* Fake.acceptSession(client)
              yield* Fake.readExtendedQuery(client)
              yield* Fake.readExtendedQuery(client)
              yield* client.write(...answer)
            })
          )
          const connection = yield* Expert.connect(server.config())
          const [first, second] = yield* Effect.all(
            [Effect.flip(connection.query("select 1")), Effect.flip(connection.query("select 2"))],
            { concurrency: "unbounded" }
          )
          const error = expectTag(first!, "PgProtocolError")
          const closed = expectTag(second!, "PgClosedError")
          assert.strictEqual(closed.code, "08003")
          assert.strictEqual(closed.original, error)
          yield* assertFailedWith(connection, error)
          yield* (yield* server.client(0)).awaitClientClosed
        }),
      TIMEOUT
    )
  }
})

describe("messages with no request in flight", () => {
  it.live(
    "a CommandComplete nobody asked for fails the connection",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* Fake.acceptSession(client)
            yield* Effect.sleep("20 millis")
            yield* client.write(Fake.commandComplete("SELECT 1"))
          })
        )
        const connection = yield* Expert.connect(server.config())
        const error = expectTag(
          yield* Effect.flip(connection.closeFinished).pipe(Effect.timeout("3 seconds")),
          "PgProtocolError"
        )
        assert.match(error.message, /unexpected CommandComplete with no request in flight/)
        yield* assertFailedWith(connection, error)
        yield* (yield* server.client(0)).awaitClientClosed
      }),
    TIMEOUT
  )

  it.live(
    "a message right behind the startup's ReadyForQuery, in the same packet, is not lost",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* client.expect("StartupMessage")
            yield* client.write(Fake.authenticationOk(), Fake.sessionReady(), Fake.dataRow(["stray"]))
          })
        )
        const connection = yield* Expert.connect(server.config())
        const error = expectTag(
          yield* Effect.flip(connection.closeFinished).pipe(Effect.timeout("3 seconds")),
          "PgProtocolError"
        )
        assert.match(error.message, /unexpected DataRow with no request in flight/)
        yield* assertFailedWith(connection, error)
        yield* (yield* server.client(0)).awaitClientClosed
      }),
    TIMEOUT
  )

  it.live(
    "an extra ReadyForQuery after a query's own fails the connection, and the next query never sees it",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* Fake.acceptSession(client)
            yield* Fake.readExtendedQuery(client)
            yield* client.write(Fake.queryAnswer(["a"], [["1"]]), Fake.readyForQuery())
          })
        )
        const connection = yield* Expert.connect(server.config())
        const first = yield* connection.query("select 1")
        assert.deepStrictEqual(first.rows, [{ a: "1" }])
        const error = expectTag(
          yield* Effect.flip(connection.closeFinished).pipe(Effect.timeout("3 seconds")),
          "PgProtocolError"
        )
        assert.match(error.message, /unexpected ReadyForQuery with no request in flight/)
        yield* assertFailedWith(connection, error)
        yield* (yield* server.client(0)).awaitClientClosed
      }),
    TIMEOUT
  )
})
