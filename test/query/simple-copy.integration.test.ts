/**
 * COPY among the statements of a simple query, against real servers (PG18 and PG15), as
 * postgres_async's simple_query handles it (issue 14, decision 017): a COPY TO STDOUT is drained,
 * reported as its statement's result with a warning, and the next statements run; a COPY FROM
 * STDIN is answered with CopyFail, and the call fails with the server's own 57014, carrying the
 * results of the statements that completed before it. Every server error of a simple query
 * carries them, so a failure never hides a COMMIT. Also executeSimple (a COPY TO STDOUT is data:
 * refused after it ran) and the pool's one-shot simpleQuery. After each: which rows committed,
 * and the connection in step.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Connection from "../../src/Connection.ts"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import { PgError, PgServerError } from "../../src/Errors.ts"
import * as Expert from "../../src/Expert.ts"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"

const connect = Effect.gen(function* () {
  const server = yield* PgTestServer.PgTestServer
  return yield* Expert.connect(server.url)
})

const ids = (conn: ExpertConnection, table: string) =>
  Effect.map(conn.query(`select a from ${table} order by a`), (r) => r.rows.map((row) => row.a))

const inStep = (conn: ExpertConnection) =>
  Effect.gen(function* () {
    assert.deepStrictEqual((yield* conn.query("select 'in step'")).rows, [{ "?column?": "in step" }])
    assert.strictEqual((yield* conn.status)._tag, "Open")
    assert.strictEqual(yield* conn.transactionStatus, "I")
  })

const REFUSED = "COPY from stdin failed: COPY FROM STDIN is not supported by simpleQuery; use copyIn"
const DISCARDED = "COPY TO STDOUT output discarded; use copyOut"

const command = (tag: string, command: string, rows: number | undefined, oid?: number) =>
  oid === undefined ? { tag, command, rows } : { tag, command, rows, oid }

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, tls: false }), { timeout: 120_000, excludeTestServices: true })(
    `COPY inside simpleQuery (PG${version})`,
    (it) => {
      it.effect("COPY TO STDOUT: its result and a warning; the next statement runs and commits", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table a (a int)")
          yield* conn.query("insert into a values (1), (2)")
          const r = yield* conn.simpleQuery("COPY a TO STDOUT; INSERT INTO a VALUES (3)")
          assert.deepStrictEqual(r.results, [
            { columns: [], rows: [], command: command("COPY 2", "COPY", 2) },
            { columns: [], rows: [], command: command("INSERT 0 1", "INSERT", 1, 0) }
          ])
          assert.deepStrictEqual(r.warnings, [{ statement: 0, message: DISCARDED }])
          assert.deepStrictEqual(yield* ids(conn, "a"), [1, 2, 3])
          // A large one is drained too (no hang), between statements that return rows.
          const big = yield* conn.simpleQuery(
            "select 'before'; copy (select g from generate_series(1, 200000) g) to stdout; select 'after'"
          )
          assert.deepStrictEqual(
            big.results.map((s) => [s.command?.tag, s.rows]),
            [
              ["SELECT 1", [["before"]]],
              ["COPY 200000", []],
              ["SELECT 1", [["after"]]]
            ]
          )
          assert.deepStrictEqual(big.warnings, [{ statement: 1, message: DISCARDED }])
          const plain = yield* conn.simpleQuery("select 1")
          assert.deepStrictEqual(plain.warnings, [])
          yield* inStep(conn)
        })
      )

      it.effect("COPY FROM STDIN: the server's 57014 with the results before it; nothing committed", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table b (a int)")
          const e = yield* Effect.flip(
            conn.simpleQuery(
              "INSERT INTO b VALUES (4); SELECT 'x' AS v; COPY b FROM STDIN; INSERT INTO b VALUES (5)"
            )
          )
          assert.instanceOf(e, PgServerError)
          if (!(e instanceof PgServerError)) return
          assert.strictEqual(e.code, "57014")
          assert.strictEqual(e.message, REFUSED)
          assert.deepStrictEqual(
            e.completed?.map((s) => [s.command?.tag, s.columns.map((c) => c.name), s.rows]),
            [
              ["INSERT 0 1", [], []],
              ["SELECT 1", ["v"], [["x"]]]
            ]
          )
          // One implicit transaction: the error rolled the INSERT back; the last one never ran.
          assert.deepStrictEqual(yield* ids(conn, "b"), [])
          yield* inStep(conn)
          // The normal API says what completed, and that it was not committed.
          const normal = yield* Effect.flip(
            Connection.toNormal(conn).simpleQuery("insert into b values (6); copy b from stdin")
          )
          assert.instanceOf(normal, PgError)
          assert.strictEqual(normal.code, "57014")
          assert.strictEqual(
            normal.message,
            [
              `ERROR: ${REFUSED} (SQLSTATE 57014 query_canceled)`,
              "CONTEXT: COPY b, line 1",
              "COMPLETED BEFORE THE ERROR: INSERT 0 1 (not committed: the error aborted their transaction)",
              "SQL: insert into b values (6); copy b from stdin"
            ].join("\n")
          )
          assert.deepStrictEqual(yield* ids(conn, "b"), [])
        })
      )

      it.effect("a COMMIT before the failing COPY: the error says so, and the rows committed", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table c (a int)")
          const e = yield* Effect.flip(
            Connection.toNormal(conn).simpleQuery(
              "insert into c values (7); commit; insert into c values (8); copy c from stdin"
            )
          )
          assert.strictEqual(e.code, "57014")
          assert.deepStrictEqual(
            e.serverError?.completed?.map((s) => s.command?.tag),
            ["INSERT 0 1", "COMMIT", "INSERT 0 1"]
          )
          assert.include(
            e.message,
            "COMPLETED BEFORE THE ERROR: INSERT 0 1; COMMIT; INSERT 0 1 (what their COMMIT committed stays committed)"
          )
          // Row 7 committed with the COMMIT; row 8 was rolled back with the COPY's error.
          assert.deepStrictEqual(yield* ids(conn, "c"), [7])
          yield* inStep(conn)
        })
      )

      it.effect("any server error of a simple query carries the results before it", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const e = yield* Effect.flip(conn.simpleQuery("select 1 as one; select 1/0; select 3"))
          assert.deepStrictEqual(e instanceof PgServerError && [e.code, e.completed?.map((s) => s.rows)], [
            "22012",
            [[["1"]]]
          ])
          const first = yield* Effect.flip(conn.simpleQuery("select 1/0; select 2"))
          assert.deepStrictEqual(first instanceof PgServerError && [first.code, first.completed], [
            "22012",
            undefined
          ])
          yield* inStep(conn)
        })
      )

      it.effect("executeSimple: COPY TO STDOUT is refused after it ran; COPY FROM STDIN gets 57014", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table d (a int)")
          const out = yield* Effect.flip(conn.executeSimple("copy d to stdout; insert into d values (9)"))
          assert.deepStrictEqual(
            out._tag === "PgProtocolError" && [out.reason, out.message, out.mayHaveRun],
            ["UnexpectedRows", "executeSimple: a COPY TO STDOUT returned data (discarded); use copyOut", true]
          )
          // It said so: every statement ran, and the INSERT committed.
          assert.deepStrictEqual(yield* ids(conn, "d"), [9])
          const into = yield* Effect.flip(conn.executeSimple("insert into d values (10); copy d from stdin"))
          assert.instanceOf(into, PgServerError)
          if (into instanceof PgServerError) {
            assert.strictEqual(into.code, "57014")
            assert.strictEqual(
              into.message,
              "COPY from stdin failed: COPY FROM STDIN is not supported by executeSimple; use copyIn"
            )
            assert.deepStrictEqual(into.completed, [
              { columns: [], rows: [], command: command("INSERT 0 1", "INSERT", 1, 0) }
            ])
          }
          assert.deepStrictEqual(yield* ids(conn, "d"), [9])
          yield* inStep(conn)
        })
      )

      it.effect("the pool's one-shot simpleQuery: the same results, errors and warnings", () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const { pool, expert } = yield* PoolM.make({ connect: { url: server.url }, max: 1 })
          yield* pool.simpleQuery(
            "drop table if exists pool_simple_copy; create table pool_simple_copy (a int)"
          )
          const r = yield* pool.simpleQuery(
            "copy pool_simple_copy to stdout; insert into pool_simple_copy values (11)"
          )
          assert.deepStrictEqual(r.warnings, [{ statement: 0, message: DISCARDED }])
          const e = yield* Effect.flip(
            expert.simpleQuery("insert into pool_simple_copy values (12); copy pool_simple_copy from stdin")
          )
          assert.deepStrictEqual(
            e instanceof PgServerError && [e.code, e.message, e.completed?.map((s) => s.command?.tag)],
            ["57014", REFUSED, ["INSERT 0 1"]]
          )
          assert.deepStrictEqual((yield* pool.query("select a from pool_simple_copy order by a")).rows, [
            { a: 11 }
          ])
          // The pool's connection is still in step (one connection: the same one).
          assert.deepStrictEqual((yield* pool.query("select 'pool in step'")).rows, [
            { "?column?": "pool in step" }
          ])
          yield* pool.simpleQuery("drop table pool_simple_copy")
        })
      )
    }
  )
}
