/**
 * How queries flow over one connection, against the fake server: rows that arrive one byte per
 * socket read, three pipelined queries whose middle one fails (each Sync isolates its error),
 * interrupted callers whose answers must still be drained (no desync), and a NoticeResponse
 * attached to its query's result and published on `connection.notices`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Result, Stream } from "effect"
import * as Expert from "../../src/Expert.ts"
import { open, PgSocket } from "../../src/PgSocket.ts"
import { expectTag } from "../support/ConnectionAssertions.ts"
import * as Fake from "../support/FakeServer.ts"

const TIMEOUT = 10_000

/** The real socket, counting the reads the client gets. */
const countingSocket = (reads: { count: number }) => ({
  open: (options: Parameters<typeof open>[0]) =>
    Effect.map(open(options), (transport) => ({
      ...transport,
      start: (receiver: Parameters<typeof transport.start>[0]) =>
        transport.start({
          onData: (chunk) => {
            reads.count++
            receiver.onData(chunk)
          },
          onClose: receiver.onClose
        })
    }))
})

/** "select N" → one row ["N"]. */
const echo = (sql: string) => Fake.queryAnswer(["n"], [[sql.replace("select ", "")]])

describe("rows split across socket reads", () => {
  it.live(
    "an answer written one byte at a time gives the same rows",
    () =>
      Effect.gen(function* () {
        const rows = [
          ["1", "plain"],
          ["2", null],
          ["3", ""],
          ["4", "é€😀 multi-byte"],
          ["5", "x".repeat(40)]
        ]
        const frames = [
          Fake.parseComplete(),
          Fake.parameterDescription(),
          Fake.rowDescription(["id", "value"]),
          Fake.bindComplete(),
          ...rows.map(Fake.dataRow),
          Fake.commandComplete("SELECT 5"),
          Fake.readyForQuery()
        ]
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* Fake.acceptSession(client)
            yield* Fake.readExtendedQuery(client)
            yield* client.writeInPieces(Fake.concat(frames), 1)
          })
        )
        const reads = { count: 0 }
        const connection = yield* Expert.connect(server.config()).pipe(
          Effect.provideService(PgSocket, countingSocket(reads))
        )
        const before = reads.count
        const result = yield* connection.query("select id, value from t")
        assert.deepStrictEqual(
          result.rows,
          rows.map(([id, value]) => ({ id, value }))
        )
        assert.deepStrictEqual(
          result.columns.map((c) => c.name),
          ["id", "value"]
        )
        assert.strictEqual(result.command.rows, 5)
        // More reads than frames: at least one frame was split between reads (in practice, all).
        assert.isAbove(reads.count - before, frames.length)
      }),
    TIMEOUT
  )
})

describe("pipelining", () => {
  it.live(
    "three concurrent queries are all sent before any answer; the failing middle one fails alone",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* Fake.acceptSession(client)
            const queries = [
              yield* Fake.readExtendedQuery(client),
              yield* Fake.readExtendedQuery(client),
              yield* Fake.readExtendedQuery(client)
            ]
            for (const { sql } of queries) {
              if (sql === "select 1/0") {
                // As PostgreSQL does: the error, then everything up to Sync is skipped.
                yield* client.write(
                  Fake.parseComplete(),
                  Fake.parameterDescription(),
                  Fake.noData(),
                  Fake.bindComplete(),
                  Fake.errorResponse({ severity: "ERROR", code: "22012", message: "division by zero" }),
                  Fake.readyForQuery()
                )
              } else yield* client.write(echo(sql))
            }
            const last = yield* Fake.readExtendedQuery(client)
            yield* client.write(echo(last.sql))
          })
        )
        const connection = yield* Expert.connect(server.config())
        const [one, failing, three] = yield* Effect.all(
          ["select 1", "select 1/0", "select 3"].map((sql) => Effect.result(connection.query(sql))),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(Result.isSuccess(one!) && one.success.rows, [{ n: "1" }])
        assert.deepStrictEqual(Result.isSuccess(three!) && three.success.rows, [{ n: "3" }])
        assert.isTrue(Result.isFailure(failing!))
        const error = expectTag(
          Result.isFailure(failing!) ? failing.failure : assert.fail("no failure"),
          "PgServerError"
        )
        assert.strictEqual(error.code, "22012")
        assert.strictEqual(error.message, "division by zero")
        assert.strictEqual((yield* connection.status)._tag, "Open")
        assert.deepStrictEqual((yield* connection.query("select 4")).rows, [{ n: "4" }])
      }),
    TIMEOUT
  )
})

/**
 * A script for a session (connection 0) whose caller may be interrupted: the client may then send
 * a CancelRequest on a side connection (recorded in `cancel`), or go on with its next query.
 */
const sessionWithCancel = (
  main: (
    client: Fake.FakeClient,
    cancelledOrNext: (syncs: number) => Effect.Effect<boolean, Fake.FakeServerError>
  ) => Effect.Effect<void, unknown>
) => {
  const cancel = Deferred.makeUnsafe<Fake.FrontendMessage>()
  const script: Fake.Script = (client) =>
    client.id === 0
      ? main(client, (syncs) =>
          Effect.raceFirst(
            Effect.as(Deferred.await(cancel), true),
            Effect.as(
              client.waitFor((r) => r.filter((m) => m._tag === "Sync").length >= syncs),
              false
            )
          )
        )
      : Effect.flatMap(client.read, (m) => Deferred.succeed(cancel, m))
  return { script, cancel }
}

/** If a cancel was sent, it names this session (BackendKeyData 4242, key 1 2 3 4). */
const checkCancel = (cancel: Deferred.Deferred<Fake.FrontendMessage>) =>
  Effect.gen(function* () {
    if (!Deferred.isDoneUnsafe(cancel)) return
    const m = yield* Deferred.await(cancel)
    assert.deepStrictEqual(m, {
      _tag: "CancelRequest",
      processId: 4242,
      secretKey: new Uint8Array([1, 2, 3, 4])
    })
  })

const canceled = Fake.errorResponse({
  severity: "ERROR",
  code: "57014",
  message: "canceling statement due to user request"
})

describe("interruption", () => {
  it.live(
    "an interrupted query's late answer is drained; the next query gets its own answer",
    () =>
      Effect.gen(function* () {
        const firstArrived = Deferred.makeUnsafe<void>()
        const { script, cancel } = sessionWithCancel((client, cancelledOrNext) =>
          Effect.gen(function* () {
            yield* Fake.acceptSession(client)
            const first = yield* Fake.readExtendedQuery(client)
            yield* Deferred.succeed(firstArrived, undefined)
            // Answer the interrupted query only once it was cancelled or the next one is on the wire.
            const cancelled = yield* cancelledOrNext(2)
            yield* client.write(
              cancelled
                ? Fake.concat([
                    Fake.parseComplete(),
                    Fake.parameterDescription(),
                    Fake.rowDescription(["n"]),
                    Fake.bindComplete(),
                    canceled,
                    Fake.readyForQuery()
                  ])
                : echo(first.sql)
            )
            const second = yield* Fake.readExtendedQuery(client)
            yield* client.write(echo(second.sql))
          })
        )
        const server = yield* Fake.make(script)
        const connection = yield* Expert.connect(server.config())
        const fiber = yield* Effect.forkChild(connection.query("select 1"))
        yield* Deferred.await(firstArrived)
        yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(fiber)))
        const next = yield* connection.query("select 2")
        assert.deepStrictEqual(next.rows, [{ n: "2" }])
        assert.strictEqual((yield* connection.status)._tag, "Open")
        yield* checkCancel(cancel)
      }),
    TIMEOUT
  )

  it.live(
    "a stream abandoned after its first row is drained; the next query gets its own answer",
    () =>
      Effect.gen(function* () {
        const { script, cancel } = sessionWithCancel((client, cancelledOrNext) =>
          Effect.gen(function* () {
            yield* Fake.acceptSession(client)
            yield* Fake.readExtendedQuery(client)
            yield* client.write(
              Fake.parseComplete(),
              Fake.parameterDescription(),
              Fake.rowDescription(["n"]),
              Fake.bindComplete(),
              Fake.dataRow(["1"])
            )
            const cancelled = yield* cancelledOrNext(2)
            const rest = Array.from({ length: 50 }, (_, i) => Fake.dataRow([String(i + 2)]))
            yield* client.write(
              ...rest,
              cancelled ? canceled : Fake.commandComplete("SELECT 51"),
              Fake.readyForQuery()
            )
            const next = yield* Fake.readExtendedQuery(client)
            yield* client.write(echo(next.sql))
          })
        )
        const server = yield* Fake.make(script)
        const connection = yield* Expert.connect(server.config())
        const firstRows = yield* connection
          .stream("select n from generate_series(1, 51) n")
          .pipe(Stream.take(1), Stream.runCollect)
        assert.deepStrictEqual(firstRows, [{ n: "1" }])
        const next = yield* connection.query("select 99")
        assert.deepStrictEqual(next.rows, [{ n: "99" }])
        assert.strictEqual((yield* connection.status)._tag, "Open")
        yield* checkCancel(cancel)
      }),
    TIMEOUT
  )
})

describe("notices", () => {
  it.live(
    "a NoticeResponse during a query is in result.notices and on connection.notices",
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
              Fake.noticeResponse({
                severity: "NOTICE",
                code: "00000",
                message: "hello from the server",
                hint: "none"
              }),
              Fake.dataRow(["1"]),
              Fake.commandComplete("SELECT 1"),
              Fake.readyForQuery()
            )
          })
        )
        const connection = yield* Expert.connect(server.config())
        // Subscribed before the query is sent (startImmediately runs the subscription now).
        const published = yield* Effect.forkChild(
          connection.notices.pipe(Stream.take(1), Stream.runCollect),
          {
            startImmediately: true
          }
        )
        const result = yield* connection.query("select 1")
        assert.deepStrictEqual(result.rows, [{ n: "1" }])
        assert.strictEqual(result.notices.length, 1)
        assert.strictEqual(result.notices[0]?.message, "hello from the server")
        assert.strictEqual(result.notices[0]?.severity, "NOTICE")
        assert.strictEqual(result.notices[0]?.hint, "none")
        const [notice] = yield* Fiber.join(published).pipe(Effect.timeout("3 seconds"))
        assert.strictEqual(notice?.message, "hello from the server")
      }),
    TIMEOUT
  )
})
