/**
 * The per-connection prepared-statement cache against a real server: statements are prepared
 * once per SQL text, evicted in LRU order (and closed on the server), forgotten after DISCARD ALL
 * or DEALLOCATE ALL, re-prepared after a schema change, and never cached after a failed Parse.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "statement cache (PG18)",
  (it) => {
    const connect = (statementCacheSize?: number) =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        return yield* Expert.connect(
          statementCacheSize === undefined ? server.url : { url: server.url, statementCacheSize }
        )
      })
    const prepared = (conn: ExpertConnection) =>
      Effect.map(
        conn.simpleQuery("select statement from pg_prepared_statements order by prepare_time"),
        (r) => r.results[0]!.rows.map((row) => row[0])
      )

    it.effect("a SQL text is prepared once and reused; results stay right", () =>
      Effect.gen(function* () {
        const conn = yield* connect()
        for (let i = 0; i < 5; i++) {
          const r = yield* conn.query("select $1::int + 1 as n", [String(i)])
          assert.deepStrictEqual(r.rows, [{ n: i + 1 }])
          assert.strictEqual(r.columns[0]!.name, "n")
        }
        const s = yield* conn.streamWithColumns("select $1::int + 1 as n", ["41"])
        assert.strictEqual(s.columns[0]!.name, "n")
        assert.deepStrictEqual(Array.from(yield* Stream.runCollect(s.rows)), [{ n: 42 }])
        assert.deepStrictEqual(yield* prepared(conn), ["select $1::int + 1 as n"])
      })
    )

    it.effect("LRU eviction closes the statement on the server", () =>
      Effect.gen(function* () {
        const conn = yield* connect(2)
        yield* conn.query("select 1 as a")
        yield* conn.query("select 2 as b")
        yield* conn.query("select 1 as a")
        yield* conn.query("select 3 as c")
        // "select 2 as b" was the least recently used; its Close goes out with the next request.
        yield* conn.query("select 1 as a")
        assert.sameMembers(yield* prepared(conn), ["select 1 as a", "select 3 as c"])
      })
    )

    it.effect("DISCARD ALL and DEALLOCATE ALL are noticed; queries keep working", () =>
      Effect.gen(function* () {
        const conn = yield* connect()
        yield* conn.query("select 10 as x")
        yield* conn.simpleQuery("discard all")
        assert.deepStrictEqual((yield* conn.query("select 10 as x")).rows, [{ x: 10 }])
        yield* conn.query("deallocate all")
        assert.deepStrictEqual((yield* conn.query("select 10 as x")).rows, [{ x: 10 }])
        assert.deepStrictEqual(yield* prepared(conn), ["select 10 as x"])
      })
    )

    it.effect("a schema change re-prepares outside a transaction, and fails inside one", () =>
      Effect.gen(function* () {
        const conn = yield* connect()
        yield* conn.query("create temp table sc (a int)")
        yield* conn.query("insert into sc values (1)")
        assert.deepStrictEqual((yield* conn.query("select * from sc")).rows, [{ a: 1 }])
        yield* conn.query("alter table sc add column b text default 'x'")
        const after = yield* conn.query("select * from sc")
        assert.deepStrictEqual(after.rows, [{ a: 1, b: "x" }])
        assert.deepStrictEqual(
          after.columns.map((c) => c.name),
          ["a", "b"]
        )
        yield* conn.query("begin")
        yield* conn.query("alter table sc add column c int default 7")
        const inside = yield* Effect.flip(conn.query("select * from sc"))
        assert.strictEqual(inside._tag === "PgServerError" && inside.code, "0A000")
        yield* conn.query("rollback")
        assert.deepStrictEqual((yield* conn.query("select * from sc")).rows, [{ a: 1, b: "x" }])
      })
    )

    it.effect("a failed Parse is not cached; statementCacheSize 0 prepares nothing", () =>
      Effect.gen(function* () {
        const conn = yield* connect()
        yield* Effect.flip(conn.query("selec 1"))
        yield* Effect.flip(conn.query("selec 1"))
        assert.deepStrictEqual(yield* prepared(conn), [])
        const plain = yield* connect(0)
        assert.deepStrictEqual((yield* plain.query("select 5")).rows, [{ "?column?": 5 }])
        assert.deepStrictEqual(yield* prepared(plain), [])
      })
    )
  }
)
