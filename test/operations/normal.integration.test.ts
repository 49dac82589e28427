/**
 * The new operations through the normal API (Connection.ts: errors are `PgError`, whose `cause` is
 * the Expert error and whose message names the SQL and parameters): prepare, execute,
 * closeStatement, describe, both pipeline modes (an isolated pipeline's Exits carry `PgError` too,
 * each naming its own query), cursor and executeSimple; a connection from `Connection.layer` and
 * one from `Connection.connect`. Handles are shared by the Expert and normal views of one
 * connection, and refused by another connection's.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import * as Connection from "../../src/Connection.ts"
import { PgError } from "../../src/Errors.ts"
import * as Expert from "../../src/Expert.ts"
import type { QueryResult } from "../../src/Result.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { preparedNames } from "./support.ts"

/** The normal error's cause tag, its SQLSTATE or protocol reason, and mayHaveRun. */
const shape = (e: PgError) => {
  assert.instanceOf(e, PgError)
  const cause = e.cause
  const detail =
    cause._tag === "PgServerError" ? cause.code : cause._tag === "PgProtocolError" ? cause.reason : ""
  return [cause._tag, detail, e.mayHaveRun]
}

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "the new operations in the normal API (PG18)",
  (it) => {
    const open = Effect.flatMap(PgTestServer.PgTestServer, (server) => Connection.connect(server.url))

    it.effect("prepare, execute, closeStatement, describe: PgError with the Expert cause and the SQL", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const missing = yield* Effect.flip(conn.prepare("select * from no_such_table"))
        assert.deepStrictEqual(shape(missing), ["PgServerError", "42P01", false])
        assert.include(missing.message, "SQL: select * from no_such_table")
        const reserved = yield* Effect.flip(conn.prepare("select 1", { name: "epp7" }))
        assert.deepStrictEqual(shape(reserved), ["PgProtocolError", "InvalidValue", false])
        const s = yield* conn.prepare("select $1::int + 1 as n")
        assert.deepStrictEqual((yield* conn.execute(s, ["41"])).rows, [{ n: 42 }])
        const count = yield* Effect.flip(conn.execute(s, []))
        assert.deepStrictEqual(shape(count), ["PgProtocolError", "InvalidValue", false])
        const value = yield* Effect.flip(conn.execute(s, ["nope"]))
        assert.deepStrictEqual(shape(value), ["PgServerError", "22P02", false])
        assert.include(value.message, "SQL: select $1::int + 1 as n")
        assert.include(value.message, "PARAMS: $1 = 'nope'")
        const cache = yield* Effect.flip(conn.closeStatement("ep1"))
        assert.deepStrictEqual(shape(cache), ["PgProtocolError", "InvalidValue", false])
        yield* conn.closeStatement(s)
        const closed = yield* Effect.flip(conn.execute(s, ["1"]))
        assert.deepStrictEqual(shape(closed), ["PgProtocolError", "InvalidValue", false])
        assert.include(closed.message, "closeStatement closed it")
        const d = yield* conn.describe("select $1::text as t, 2::int8 as n")
        assert.deepStrictEqual(d.paramTypes, [25])
        assert.deepStrictEqual(
          d.columns.map((c) => [c.name, c.typeOid]),
          [
            ["t", 25],
            ["n", 20]
          ]
        )
        const bad = yield* Effect.flip(conn.describe("selec 1"))
        assert.deepStrictEqual(shape(bad), ["PgServerError", "42601", false])
        assert.include(bad.message, "LINE 1: selec 1")
        const slow = yield* Effect.flip(
          conn.execute(yield* conn.prepare("select pg_sleep(5)"), [], { timeout: 200 })
        )
        assert.strictEqual(slow.cause._tag, "PgTimeoutError")
      })
    )

    it.effect("isolated pipeline: each failed Exit holds a PgError naming its own query", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table n_iso (id int primary key)")
        const exits = yield* conn.pipeline([
          { sql: "insert into n_iso values ($1)", params: ["1"] },
          { sql: "insert into n_iso values ($1)", params: ["1"] },
          { sql: "select count(*) from n_iso" }
        ])
        // The type says it too: the Exits of the normal view fail with PgError.
        const typed: ReadonlyArray<Exit.Exit<QueryResult, PgError>> = exits
        assert.deepStrictEqual(
          typed.map((e) => e._tag),
          ["Success", "Failure", "Success"]
        )
        const failure = Exit.findErrorOption(exits[1]!)
        assert.isTrue(failure._tag === "Some")
        const e = failure._tag === "Some" ? failure.value : undefined
        assert.deepStrictEqual(shape(e!), ["PgServerError", "23505", false])
        assert.include(e!.message, "SQL: insert into n_iso values ($1)")
        assert.include(e!.message, "PARAMS: $1 = '1'")
        assert.deepStrictEqual(Exit.isSuccess(exits[2]!) && exits[2]!.value.rows, [{ count: 1n }])
      })
    )

    it.effect("transaction pipeline: PgError naming the failing query; nothing kept", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table n_tx (id int)")
        const e = yield* Effect.flip(
          conn.pipeline(
            [
              { sql: "insert into n_tx values (1)" },
              { sql: "insert into n_tx values ($1)", params: ["x"] },
              { sql: "insert into n_tx values (3)" }
            ],
            { mode: "transaction" }
          )
        )
        assert.deepStrictEqual(shape(e), ["PgServerError", "22P02", false])
        assert.include(e.message, "pipeline query index 1 (of 3 queries)")
        assert.include(e.message, "SQL: insert into n_tx values ($1)")
        assert.include(e.message, "PARAMS: $1 = 'x'")
        // A syntax error's cursor points into the failing query's own text.
        const syntax = yield* Effect.flip(
          conn.pipeline([{ sql: "select 1" }, { sql: "selec 2" }], { mode: "transaction" })
        )
        assert.include(syntax.message, "LINE 1: selec 2")
        assert.deepStrictEqual((yield* conn.query("select count(*) from n_tx")).rows, [{ count: 0n }])
        const ok = yield* conn.pipeline([{ sql: "insert into n_tx values (1)" }, { sql: "select 2" }], {
          mode: "transaction"
        })
        assert.deepStrictEqual(
          ok.map((r) => r.command.tag),
          ["INSERT 0 1", "SELECT 1"]
        )
        const copy = yield* Effect.flip(conn.pipeline([{ sql: "copy n_tx from stdin" }]))
        assert.deepStrictEqual(shape(copy), ["PgProtocolError", "CopyNotSupported", false])
        assert.include(copy.message, "copy n_tx from stdin")
      })
    )

    it.effect("cursor and executeSimple: PgError after the rows that came", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const seen: Array<unknown> = []
        const e = yield* Effect.flip(
          Stream.runForEach(
            conn.cursor("select 6 / (3 - g) as q from generate_series(1, 5) g", [], { window: 1 }),
            (row) => Effect.sync(() => seen.push(row.q))
          )
        )
        assert.deepStrictEqual(shape(e), ["PgServerError", "22012", false])
        assert.include(e.message, "SQL: select 6 / (3 - g) as q")
        assert.deepStrictEqual(seen, [3, 6])
        const rows = yield* Effect.flip(conn.executeSimple("select 1"))
        assert.deepStrictEqual(shape(rows), ["PgProtocolError", "UnexpectedRows", true])
        assert.include(rows.message, "SQL: select 1")
        const done = yield* conn.executeSimple("create temp table n_es (a int); insert into n_es values (1)")
        assert.deepStrictEqual(
          done.map((c) => c.tag),
          ["CREATE TABLE", "INSERT 0 1"]
        )
      })
    )

    it.effect("Connection.layer: the service has the operations; Expert and normal views share handles", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const viaLayer = yield* Effect.provide(
          Effect.gen(function* () {
            const conn = yield* Connection.Connection
            return yield* Effect.scoped(
              Effect.flatMap(conn.prepare("select 'layer' as via"), (s) => conn.execute(s))
            )
          }),
          Connection.layer(server.url)
        )
        assert.deepStrictEqual(viaLayer.rows, [{ via: "layer" }])
        const expert = yield* Expert.connect(server.url)
        const normal = Connection.toNormal(expert)
        const s = yield* expert.prepare("select 'shared' as v")
        assert.deepStrictEqual((yield* normal.execute(s)).rows, [{ v: "shared" }])
        yield* normal.closeStatement(s)
        assert.deepStrictEqual(yield* preparedNames(expert), [])
        const other = yield* open
        const foreign = yield* Effect.flip(other.execute(yield* normal.prepare("select 1")))
        assert.deepStrictEqual(shape(foreign), ["PgProtocolError", "InvalidValue", false])
        assert.include(foreign.message, `server process ${expert.processId}`)
      })
    )
  }
)
