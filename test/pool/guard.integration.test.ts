/**
 * The transaction guard of shared pool connections (engine/guard.ts), against a real server: a
 * statement that leaves the connection in a transaction block, with other callers' statements
 * pipelined behind it. The pool's lexer routes every BEGIN it can see to a borrowed connection, so
 * these tests turn the guard on directly on one connection and send BEGIN themselves: the guard
 * must make every outcome true to what the server kept.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { type ExpertConnection, setShared } from "../../src/connection/operations.ts"
import { mayHaveRun } from "../../src/Errors.ts"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"

const shared = Effect.gen(function* () {
  const server = yield* PgTestServer.PgTestServer
  const conn = yield* Expert.connect(server.url)
  setShared(conn, true)
  return conn
})

/** Runs the statements pipelined (submitted in one tick, in order), each to its Exit. */
const pipelined = (conn: ExpertConnection, statements: ReadonlyArray<string>) =>
  Effect.all(
    statements.map((sql) => Effect.exit(conn.query(sql))),
    { concurrency: "unbounded" }
  )

const reasonOf = (exit: Exit.Exit<unknown, { readonly _tag: string }>) => {
  if (Exit.isSuccess(exit)) return "ok"
  const error = exit.cause.reasons[0]
  if (error === undefined || error._tag !== "Fail") return "defect"
  const e = error.error as { readonly _tag: string; readonly reason?: string; readonly code?: string }
  return e._tag === "PgTransactionError" ? e.reason : `${e._tag}${e.code === undefined ? "" : ` ${e.code}`}`
}

const rows = (conn: ExpertConnection, table: string) =>
  Effect.map(conn.query(`select a from ${table} order by a`), (r) => r.rows.map((row) => row.a))

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "transaction guard (PG18)",
  (it) => {
    it.effect("a BEGIN with inserts pipelined behind it: all rolled back and reported so", () =>
      Effect.gen(function* () {
        const conn = yield* shared
        yield* conn.query("create temp table g1 (a int)")
        const exits = yield* pipelined(conn, [
          "begin",
          "insert into g1 values (1)",
          "insert into g1 values (2)"
        ])
        assert.deepStrictEqual(exits.map(reasonOf), ["LeftOpen", "RolledBackByPool", "RolledBackByPool"])
        for (const exit of exits) {
          if (Exit.isFailure(exit)) {
            const reason = exit.cause.reasons[0]
            if (reason?._tag === "Fail") assert.isFalse(mayHaveRun(reason.error))
          }
        }
        assert.strictEqual(yield* conn.transactionStatus, "I")
        assert.deepStrictEqual(yield* rows(conn, "g1"), [])
        // Work queued after the guard's ROLLBACK runs outside any transaction.
        yield* conn.query("insert into g1 values (3)")
        assert.deepStrictEqual(yield* rows(conn, "g1"), [3])
      })
    )

    it.effect("a COMMIT among the pipelined statements: the group committed, every outcome is its own", () =>
      Effect.gen(function* () {
        const conn = yield* shared
        yield* conn.query("create temp table g2 (a int)")
        const exits = yield* pipelined(conn, ["begin", "insert into g2 values (1)", "commit"])
        assert.deepStrictEqual(exits.map(reasonOf), ["ok", "ok", "ok"])
        assert.deepStrictEqual(yield* rows(conn, "g2"), [1])
        assert.strictEqual(yield* conn.transactionStatus, "I")
      })
    )

    it.effect("a failure inside the group: own errors for the failed, rolled back for the rest", () =>
      Effect.gen(function* () {
        const conn = yield* shared
        yield* conn.query("create temp table g3 (a int)")
        const exits = yield* pipelined(conn, [
          "begin",
          "insert into g3 values (1)",
          "select 1/0",
          "insert into g3 values (2)",
          "commit"
        ])
        assert.deepStrictEqual(exits.map(reasonOf), [
          "LeftOpen",
          "RolledBackByPool",
          "PgServerError 22012",
          "PgServerError 25P02",
          // COMMIT of an aborted transaction: the server answers ROLLBACK; a success of its own.
          "ok"
        ])
        assert.deepStrictEqual(yield* rows(conn, "g3"), [])
      })
    )

    it.effect("the backend is killed with the group open: rolled back, nothing may have run", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* shared
        const monitor = yield* Expert.connect(server.url)
        yield* monitor.query("create table if not exists g4 (a int)")
        const run = yield* Effect.forkChild(
          pipelined(conn, ["begin", "insert into g4 values (1)", "select pg_sleep(5)"])
        )
        for (let i = 0; i < 100; i++) {
          const active = yield* monitor.query(
            "select 1 from pg_stat_activity where pid = $1 and query like 'select pg_sleep%'",
            [String(conn.processId)]
          )
          if (active.rows.length > 0) break
          yield* Effect.sleep("20 millis")
        }
        yield* monitor.query("select pg_terminate_backend($1)", [String(conn.processId)])
        const exits = yield* Fiber.join(run)
        assert.deepStrictEqual(exits.map(reasonOf), ["LeftOpen", "RolledBackByPool", "PgServerError 57P01"])
        for (const exit of exits) {
          const reason = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
          if (reason?._tag === "Fail") assert.isFalse(mayHaveRun(reason.error))
        }
        assert.deepStrictEqual(yield* rows(monitor, "g4"), [])
      })
    )

    it.effect("guard off (a borrower): BEGIN … COMMIT pipelined is the caller's own business", () =>
      Effect.gen(function* () {
        const conn = yield* shared
        setShared(conn, false)
        yield* conn.query("create temp table g5 (a int)")
        const exits = yield* pipelined(conn, ["begin", "insert into g5 values (1)"])
        assert.deepStrictEqual(exits.map(reasonOf), ["ok", "ok"])
        assert.strictEqual(yield* conn.transactionStatus, "T")
        yield* conn.query("commit")
        assert.deepStrictEqual(yield* rows(conn, "g5"), [1])
      })
    )
  }
)
