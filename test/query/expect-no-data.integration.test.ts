/**
 * queryExpectNoData against real servers (PG18 and PG15), as postgres_async's
 * query_expect_no_data: it fails only when a row arrives ("query unexpectedly produced rows") or a
 * COPY starts (naming COPY IN or COPY OUT), never because the statement has columns. A statement
 * that returns rows runs to its end (its side effects done) and the session stays in step; the
 * cached-statement path (columns known in advance) behaves the same.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import { mayHaveRun } from "../../src/Errors.ts"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"

const connect = Effect.gen(function* () {
  const server = yield* PgTestServer.PgTestServer
  return yield* Expert.connect(server.url)
})

const inStep = (conn: ExpertConnection) =>
  Effect.gen(function* () {
    assert.deepStrictEqual((yield* conn.query("select 'in step'")).rows, [{ "?column?": "in step" }])
    assert.strictEqual((yield* conn.status)._tag, "Open")
    assert.strictEqual(yield* conn.transactionStatus, "I")
  })

const count = (conn: ExpertConnection, table: string) =>
  Effect.map(conn.query(`select count(*)::int from ${table}`), (r) => r.rows[0]!.count)

/** The refusal of `sql`: its reason, message, mayHaveRun and SQLSTATE-like code. */
const refusal = (conn: ExpertConnection, sql: string) =>
  Effect.map(Effect.flip(conn.queryExpectNoData(sql)), (e) =>
    e._tag === "PgProtocolError" ? [e.reason, e.message, mayHaveRun(e), e.code] : [e._tag, e.message]
  )

const ROWS = ["UnexpectedRows", "queryExpectNoData: query unexpectedly produced rows", true, undefined]

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, tls: false }), { timeout: 120_000, excludeTestServices: true })(
    `queryExpectNoData (PG${version})`,
    (it) => {
      it.effect("columns without rows are fine: SELECT 1 WHERE FALSE, a select on an empty table", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table empty_t (a int)")
          const none = yield* conn.queryExpectNoData("SELECT 1 WHERE FALSE")
          assert.deepStrictEqual(none, { tag: "SELECT 0", command: "SELECT", rows: 0 })
          // Twice: the second run uses the cached statement (its columns known, no Describe).
          for (let i = 0; i < 2; i++) {
            const empty = yield* conn.queryExpectNoData("select a from empty_t")
            assert.deepStrictEqual(empty, { tag: "SELECT 0", command: "SELECT", rows: 0 })
          }
          const filtered = yield* conn.queryExpectNoData("select a from empty_t where a = $1", ["1"])
          assert.strictEqual(filtered.rows, 0)
          yield* inStep(conn)
        })
      )

      it.effect("a row fails it after the statement ran: its side effects are done, in step", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table ret (a int)")
          assert.deepStrictEqual(yield* refusal(conn, "select 1"), ROWS)
          assert.deepStrictEqual(yield* refusal(conn, "insert into ret values (1), (2) returning a"), ROWS)
          // The INSERT ran and committed: the refusal says so (mayHaveRun).
          assert.strictEqual(yield* count(conn, "ret"), 2)
          // Many rows are drained, not kept, and the next statement gets its own answer.
          assert.deepStrictEqual(yield* refusal(conn, "select g from generate_series(1, 100000) g"), ROWS)
          yield* inStep(conn)
          // Cached: the same text again, then as query (the rows are back).
          assert.deepStrictEqual(yield* refusal(conn, "select 1"), ROWS)
          assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
        })
      )

      it.effect("a server error after the rows is what is reported (the statement was rolled back)", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const e = yield* Effect.flip(
            conn.queryExpectNoData("select 1 / (3 - g) from generate_series(1, 5) g")
          )
          assert.deepStrictEqual(e._tag === "PgServerError" && [e.code, mayHaveRun(e)], ["22012", false])
          yield* inStep(conn)
        })
      )

      it.effect("a COPY fails it, naming COPY IN or COPY OUT", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table cp (a int)")
          yield* conn.query("insert into cp values (1)")
          assert.deepStrictEqual(yield* refusal(conn, "copy cp from stdin"), [
            "CopyNotSupported",
            "queryExpectNoData: the statement attempted COPY IN (COPY FROM STDIN); use copyIn",
            false,
            undefined
          ])
          assert.strictEqual(yield* count(conn, "cp"), 1)
          yield* inStep(conn)
          assert.deepStrictEqual(yield* refusal(conn, "copy cp to stdout"), [
            "CopyNotSupported",
            "queryExpectNoData: the statement attempted COPY OUT (COPY TO STDOUT); use copyOut",
            true,
            undefined
          ])
          yield* inStep(conn)
        })
      )
    }
  )
}
