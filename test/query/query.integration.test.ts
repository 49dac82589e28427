/**
 * Queries against real PostgreSQL servers (18 and 15): columns, parameters, NoData, failures that
 * keep the connection usable, transactions, columns before rows, a real deadlock, syntax errors
 * through the normal API, runtime parameters, pipelining from many fibers, interruption.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Fiber, Stream } from "effect"
import * as Connection from "../../src/Connection.ts"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, tls: false }), { timeout: 120_000, excludeTestServices: true })(
    `queries (PG${version})`,
    (it) => {
      const connect = Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        return yield* Expert.connect(server.url)
      })

      it.effect("returns column names in order, rows, the command tag, and nulls", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const r = yield* conn.query(
            "select $1::int as b, $2::text as a, $3::text as c, 'x' as \"Odd Name\"",
            ["7", null, "é"]
          )
          assert.deepStrictEqual(
            r.columns.map((c) => c.name),
            ["b", "a", "c", "Odd Name"]
          )
          assert.strictEqual(r.columns[0]!.typeOid, 23)
          assert.deepStrictEqual(r.rows, [{ b: 7, a: null, c: "é", "Odd Name": "x" }])
          assert.strictEqual(r.command.command, "SELECT")
          assert.strictEqual(r.command.rows, 1)
        })
      )

      it.effect("a statement whose Describe gives NoData", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const done = yield* conn.queryExpectNoData("create temp table nodata_t (a int)")
          assert.strictEqual(done.tag, "CREATE TABLE")
          const insert = yield* conn.queryExpectNoData("insert into nodata_t select generate_series(1, 3)")
          assert.strictEqual(insert.rows, 3)
          assert.strictEqual(insert.oid, 0)
          const rows = yield* Effect.flip(conn.queryExpectNoData("select 1"))
          assert.strictEqual(rows._tag, "PgProtocolError")
          const r = yield* conn.query("delete from nodata_t where a > 1")
          assert.strictEqual(r.columns.length, 0)
          assert.strictEqual(r.command.rows, 2)
        })
      )

      it.effect("a failing query leaves the connection usable", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const e = yield* Effect.flip(conn.query("select 1/0"))
          assert.strictEqual(e._tag, "PgServerError")
          if (e._tag === "PgServerError") assert.strictEqual(e.code, "22012")
          const bad = yield* Effect.flip(conn.query("select $1::int", ["not a number"]))
          assert.strictEqual(bad._tag === "PgServerError" && bad.code, "22P02")
          const r = yield* conn.query("select 2")
          assert.deepStrictEqual(r.rows, [{ "?column?": 2 }])
          assert.strictEqual((yield* conn.status)._tag, "Open")
        })
      )

      it.effect("each statement runs in its own transaction unless one is open", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table tx_t (a int primary key)")
          yield* conn.query("insert into tx_t values (1)")
          yield* Effect.flip(conn.query("insert into tx_t values (1)"))
          yield* conn.query("insert into tx_t values (2)")
          assert.deepStrictEqual((yield* conn.query("select count(*) from tx_t")).rows, [{ count: 2n }])
          yield* conn.query("begin")
          assert.strictEqual(yield* conn.transactionStatus, "T")
          yield* conn.query("insert into tx_t values (3)")
          const e = yield* Effect.flip(conn.query("insert into tx_t values (3)"))
          assert.strictEqual(e._tag === "PgServerError" && e.code, "23505")
          assert.strictEqual(yield* conn.transactionStatus, "E")
          const aborted = yield* Effect.flip(conn.query("select 1"))
          assert.strictEqual(aborted._tag === "PgServerError" && aborted.code, "25P02")
          yield* conn.query("rollback")
          assert.strictEqual(yield* conn.transactionStatus, "I")
          assert.deepStrictEqual((yield* conn.query("select count(*) from tx_t")).rows, [{ count: 2n }])
          yield* conn.query("begin")
          yield* conn.query("insert into tx_t values (4)")
          yield* conn.query("commit")
          assert.deepStrictEqual((yield* conn.query("select count(*) from tx_t")).rows, [{ count: 3n }])
        })
      )

      it.effect("column metadata arrives before rows, and for zero rows", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const empty = yield* conn.streamWithColumns("select 1 as a, 'x'::text as b where false")
          assert.deepStrictEqual(
            empty.columns.map((c) => c.name),
            ["a", "b"]
          )
          assert.strictEqual(yield* Stream.runCount(empty.rows), 0)
          const some = yield* conn.streamWithColumns("select g from generate_series(1, 5) g")
          assert.strictEqual(some.columns[0]!.name, "g")
          const rows = yield* Stream.runCollect(some.rows)
          assert.deepStrictEqual(Array.from(rows), [{ g: 1 }, { g: 2 }, { g: 3 }, { g: 4 }, { g: 5 }])
          const q = yield* conn.query("select 1 as only where false")
          assert.strictEqual(q.columns[0]!.name, "only")
          assert.strictEqual(q.rows.length, 0)
        })
      )

      it.effect("simple query: several statements, the empty query, and an error that rolls back", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const r = yield* conn.simpleQuery(
            "select 1 as a; select 'x' as b, null as c; ; create temp table sq(a int)"
          )
          assert.strictEqual(r.results.length, 3)
          assert.deepStrictEqual(r.results[1]!.rows, [["x", null]])
          assert.strictEqual(r.results[2]!.command?.tag, "CREATE TABLE")
          const empty = yield* conn.simpleQuery("")
          assert.strictEqual(empty.results.length, 1)
          assert.strictEqual(empty.results[0]!.command, undefined)
          const e = yield* Effect.flip(conn.simpleQuery("insert into sq values (1); select 1/0"))
          assert.strictEqual(e._tag === "PgServerError" && e.code, "22012")
          assert.deepStrictEqual((yield* conn.query("select count(*) from sq")).rows, [{ count: 0n }])
          const eq = yield* conn.query("")
          assert.strictEqual(eq.command.tag, "")
        })
      )

      it.effect("a syntax error's normal message includes the query", () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const conn = yield* Connection.connect(server.url)
          const e = yield* Effect.flip(conn.query("select * fron pg_class where relname = $1", ["x"]))
          assert.strictEqual(e._tag, "PgError")
          assert.strictEqual(e.code, "42601")
          assert.include(e.message, "select * fron pg_class")
          assert.include(e.message, "$1 = 'x'")
          assert.include(e.message, "^")
          assert.strictEqual(e.cause._tag, "PgServerError")
        })
      )

      it.effect("runtime parameters: reported at startup and kept current", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          assert.strictEqual(yield* conn.parameter("server_encoding"), "UTF8")
          assert.match(conn.serverVersion, new RegExp(`^${version}\\.`))
          assert.isAbove(conn.serverVersionNum, version * 10000 - 1)
          yield* conn.query("set application_name = 'effect-pg-test'")
          assert.strictEqual(yield* conn.parameter("application_name"), "effect-pg-test")
          yield* conn.query("set timezone = 'Asia/Tokyo'")
          assert.strictEqual((yield* conn.parameters).get("TimeZone"), "Asia/Tokyo")
          assert.deepStrictEqual((yield* conn.query("show timezone")).rows, [{ TimeZone: "Asia/Tokyo" }])
        })
      )

      it.effect("notices are attached to the query that raised them and streamed per connection", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const seen = yield* Effect.forkChild(Stream.runCollect(Stream.take(conn.notices, 2)))
          yield* Effect.sleep("10 millis")
          const r = yield* conn.query("do $$ begin raise notice 'first %', 1; raise warning 'second'; end $$")
          assert.deepStrictEqual(
            r.notices.map((n) => [n.severity, n.message]),
            [
              ["NOTICE", "first 1"],
              ["WARNING", "second"]
            ]
          )
          const other = yield* conn.query("select 1")
          assert.strictEqual(other.notices.length, 0)
          const all = Array.from(yield* Fiber.join(seen))
          assert.deepStrictEqual(
            all.map((n) => n.code),
            ["00000", "01000"]
          )
        })
      )

      it.effect("many fibers share one connection; responses match their requests", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const results = yield* Effect.forEach(
            Array.from({ length: 500 }, (_, i) => i),
            (i) =>
              i % 50 === 7
                ? Effect.match(conn.query("select $1::int / 0", [String(i)]), {
                    onFailure: (e) => (e._tag === "PgServerError" ? e.code : "?"),
                    onSuccess: () => "no error"
                  })
                : Effect.map(
                    conn.query("select $1::int * 2", [String(i)]),
                    (r) => r.rows[0]!["?column?"] ?? null
                  ),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(
            results,
            results.map((_, i) => (i % 50 === 7 ? "22012" : i * 2))
          )
        })
      )

      it.effect("more than 65535 parameters fail before anything is sent", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const params = Array.from({ length: 65536 }, () => "1")
          const e = yield* Effect.flip(conn.query("select 1", params))
          assert.strictEqual(e._tag, "PgProtocolError")
          assert.include(e.message, "65535")
          assert.deepStrictEqual((yield* conn.query("select 3")).rows, [{ "?column?": 3 }])
        })
      )

      it.effect("an interrupted query drains; the next query gets its own answer", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const fiber = yield* Effect.forkChild(conn.query("select pg_sleep(0.3), 'slow'"))
          yield* Effect.sleep("50 millis")
          yield* Fiber.interrupt(fiber)
          const r = yield* conn.query("select 'fast'")
          assert.deepStrictEqual(r.rows, [{ "?column?": "fast" }])
          const partial = yield* conn
            .stream("select g from generate_series(1, 100000) g")
            .pipe(Stream.take(3), Stream.runCollect)
          assert.deepStrictEqual(Array.from(partial), [{ g: 1 }, { g: 2 }, { g: 3 }])
          assert.deepStrictEqual((yield* conn.query("select 'after stream'")).rows, [
            { "?column?": "after stream" }
          ])
        })
      )

      it.effect("a COPY through query is refused without breaking the connection", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table cp (a int)")
          const pending = yield* Effect.forkChild(conn.query("select 'queued behind'"))
          const into = yield* Effect.flip(conn.query("copy cp from stdin"))
          assert.strictEqual(into._tag, "PgProtocolError")
          const out = yield* Effect.flip(conn.query("copy (select 1) to stdout"))
          assert.strictEqual(out._tag, "PgProtocolError")
          // simpleQuery answers it with CopyFail: the server's own 57014 ends it.
          const simple = yield* Effect.flip(conn.simpleQuery("copy cp from stdin"))
          assert.deepStrictEqual(simple._tag === "PgServerError" && simple.code, "57014")
          assert.deepStrictEqual((yield* Fiber.join(pending)).rows, [{ "?column?": "queued behind" }])
          assert.deepStrictEqual((yield* conn.query("select count(*) from cp")).rows, [{ count: 0n }])
        })
      )
    }
  )
}

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "deadlock (PG18)",
  (it) => {
    it.effect("two sessions deadlock: one gets 40P01, both connections survive", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const a = yield* Expert.connect(server.url)
        const b = yield* Expert.connect(server.url)
        yield* a.query("create table dl (id int primary key, v int)")
        yield* a.query("insert into dl values (1, 0), (2, 0)")
        yield* a.query("begin")
        yield* b.query("begin")
        yield* a.query("update dl set v = 1 where id = 1")
        yield* b.query("update dl set v = 1 where id = 2")
        const first = yield* Effect.forkChild(Effect.exit(a.query("update dl set v = 2 where id = 2")))
        yield* Effect.sleep("100 millis")
        const second = yield* Effect.exit(b.query("update dl set v = 2 where id = 1"))
        const firstExit = yield* Fiber.join(first)
        const codes = [firstExit, second].map((exit) =>
          Exit.isFailure(exit)
            ? Exit.findErrorOption(exit).pipe((o) =>
                o._tag === "Some" && o.value._tag === "PgServerError" ? o.value.code : "other"
              )
            : "ok"
        )
        assert.sameMembers(codes, ["40P01", "ok"])
        yield* a.query("rollback")
        yield* b.query("rollback")
        assert.deepStrictEqual((yield* a.query("select 1")).rows, [{ "?column?": 1 }])
        assert.deepStrictEqual((yield* b.query("select 1")).rows, [{ "?column?": 1 }])
      })
    )
  }
)
