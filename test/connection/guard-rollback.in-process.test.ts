/**
 * The transaction guard's own ROLLBACK can fail: a CancelRequest meant for the statement before
 * it (a timeout's) can land on it, and then the server answers 57014 and stays in the (now
 * aborted) transaction, ReadyForQuery 'E'. The guard must end that transaction all the same;
 * taking its failed ROLLBACK for one more member of the group would hold the group's outcomes,
 * and those of every statement after it, forever. Against the fake server, which answers the
 * first ROLLBACK so. Expected: a second ROLLBACK is sent, the callers hear LeftOpen /
 * RolledBackByPool, and the connection goes on. A server that refuses every ROLLBACK: the
 * connection is given up after a few, and the callers still hear back.
 *
 * And `close()` while a group is open, its ROLLBACK written and a statement written behind it:
 * only a statement ahead of the ROLLBACK could have committed the group, so the group's callers
 * hear it was rolled back; the statement behind it may have run (PgClosedError, reached).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { setShared } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import * as Fake from "../support/FakeServer.ts"

/** The answer to one extended query that returns no rows. */
const noRows = (tag: string, status: "I" | "T" | "E") =>
  Fake.concat([
    Fake.parseComplete(),
    Fake.parameterDescription(),
    Fake.noData(),
    Fake.bindComplete(),
    Fake.commandComplete(tag),
    Fake.readyForQuery(status)
  ])

const cancelled = Fake.errorResponse({
  severity: "ERROR",
  code: "57014",
  message: "canceling statement due to user request"
})

const reasonOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const reason = exit.cause.reasons[0]
  if (reason?._tag !== "Fail") return "defect"
  const error = reason.error as { readonly _tag: string; readonly reason?: string }
  if (error._tag === "PgClosedError" || error._tag === "PgConnectionError") {
    return `${error._tag}(reached=${String((error as { mayHaveReachedServer?: boolean }).mayHaveReachedServer)})`
  }
  return error.reason ?? error._tag
}

/** Accepts the session and answers BEGIN and one INSERT, both leaving the session in a transaction. */
const openGroup = (client: Fake.FakeClient) =>
  Effect.gen(function* () {
    yield* Fake.acceptSession(client)
    yield* Fake.readExtendedQuery(client)
    yield* client.write(noRows("BEGIN", "T"))
    yield* Fake.readExtendedQuery(client)
    yield* client.write(noRows("INSERT 0 1", "T"))
  })

/**
 * On a shared connection to `server`: BEGIN and an INSERT pipelined; both callers must hear
 * within 3 s that the pool rolled them back.
 */
const beginAndInsert = (server: Fake.FakeServer) =>
  Effect.gen(function* () {
    const conn = yield* Expert.connect(server.config())
    setShared(conn, true)
    const exits = yield* Effect.all(
      [Effect.exit(conn.query("begin")), Effect.exit(conn.query("insert into t values (1)"))],
      { concurrency: "unbounded" }
    ).pipe(Effect.timeoutOption("3 seconds"))
    assert.strictEqual(exits._tag, "Some", "the callers hear back")
    if (exits._tag === "Some")
      assert.deepStrictEqual(exits.value.map(reasonOf), ["LeftOpen", "RolledBackByPool"])
    return conn
  })

/** Reads until the client goes away. */
const drain = (client: Fake.FakeClient): Effect.Effect<void> => Effect.ignore(Effect.forever(client.read))

describe("the guard's ROLLBACK fails", () => {
  it.live(
    "a second ROLLBACK ends the transaction and every caller hears back",
    () =>
      Effect.gen(function* () {
        const rollbacks: Array<string> = []
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* openGroup(client)
            const first = yield* client.expect("Query")
            rollbacks.push(first.sql)
            yield* client.write(cancelled, Fake.readyForQuery("E"))
            const second = yield* client.expect("Query")
            rollbacks.push(second.sql)
            yield* client.write(Fake.commandComplete("ROLLBACK"), Fake.readyForQuery("I"))
            yield* Fake.readExtendedQuery(client)
            yield* client.write(Fake.queryAnswer(["n"], [["1"]]))
            yield* client.read
          })
        )
        const conn = yield* beginAndInsert(server)
        assert.deepStrictEqual(rollbacks, ["ROLLBACK", "ROLLBACK"])
        assert.strictEqual(yield* conn.transactionStatus, "I")
        const after = yield* Effect.timeoutOption(conn.query("select 1"), "3 seconds")
        assert.strictEqual(after._tag, "Some", "the connection goes on")
      }),
    15_000
  )

  it.live(
    "a server that refuses every ROLLBACK: the connection is given up, every caller hears back",
    () =>
      Effect.gen(function* () {
        let rollbacks = 0
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* openGroup(client)
            for (;;) {
              const message = yield* client.read
              if (message._tag !== "Query") return
              rollbacks++
              yield* client.write(cancelled, Fake.readyForQuery("E"))
            }
          })
        )
        // The socket is gone: the server aborts the transaction, so nothing of it took effect.
        const conn = yield* beginAndInsert(server)
        assert.strictEqual(rollbacks, 3)
        assert.strictEqual((yield* conn.status)._tag, "Failed")
      }),
    15_000
  )

  it.live(
    "close() with the group open: rolled back for the group, may-have-run behind the ROLLBACK",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* openGroup(client)
            yield* client.expect("Query")
            yield* drain(client)
          })
        )
        const conn = yield* Expert.connect(server.config())
        setShared(conn, true)
        const group = yield* Effect.forkChild(
          Effect.all(
            [Effect.exit(conn.query("begin")), Effect.exit(conn.query("insert into t values (1)"))],
            { concurrency: "unbounded" }
          )
        )
        const client = yield* server.client(0)
        yield* client.waitFor((received) => received.some((m) => m._tag === "Query"))
        const behind = yield* Effect.forkChild(Effect.exit(conn.query("insert into t values (2)")))
        yield* client.waitFor((received) => received.filter((m) => m._tag === "Sync").length === 3)
        yield* conn.close
        const exits = yield* Fiber.join(group)
        assert.deepStrictEqual(exits.map(reasonOf), ["LeftOpen", "RolledBackByPool"])
        assert.strictEqual(reasonOf(yield* Fiber.join(behind)), "PgClosedError(reached=true)")
      }),
    15_000
  )
})
