/**
 * Prepared statements against a real server (connection/conn.ts): prepare, execute and close;
 * the scope closing what it prepared (pg_prepared_statements empty afterwards); names refused
 * before sending; living next to the statement cache; describe; and interruption and timeouts at
 * each point (queued behind an exclusive cursor, running while blocked on a lock): the connection
 * stays usable and no statement is left behind.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { allPreparedNames, open, preparedNames } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "prepared statements (PG18)",
  (it) => {
    /** A second session holding ACCESS EXCLUSIVE on `table` until its scope ends. */
    const lockTable = (table: string) =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const other = yield* Expert.connect(server.url)
        yield* other.simpleQuery(`begin; lock table ${table} in access exclusive mode`)
        return other
      })

    it.effect("prepare, execute with parameters, close; types and columns reported", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const scope = yield* Scope.make()
        const s = yield* Scope.provide(conn.prepare("select $1::int8 + 1 as n, $2::text as t"), scope)
        assert.match(s.name, /^epp\d+$/)
        assert.deepStrictEqual(s.paramTypes, [20, 25])
        assert.deepStrictEqual(
          s.columns.map((c) => [c.name, c.typeOid]),
          [
            ["n", 20],
            ["t", 25]
          ]
        )
        const r = yield* conn.execute(s, ["41", null])
        assert.deepStrictEqual(r.rows, [{ n: 42n, t: null }])
        assert.strictEqual(r.command.tag, "SELECT 1")
        assert.deepStrictEqual((yield* conn.execute(s, ["1", "x"])).rows, [{ n: 2n, t: "x" }])
        assert.deepStrictEqual(yield* preparedNames(conn), [s.name])
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(yield* preparedNames(conn), [])
      })
    )

    it.effect("a named statement; closeStatement by hand; the scope then closes nothing else", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const scope = yield* Scope.make()
        const first = yield* Scope.provide(conn.prepare("select 1 as a", { name: "mine" }), scope)
        assert.strictEqual(first.name, "mine")
        yield* conn.closeStatement(first)
        // Closing again, or a name that never existed, is not an error (the server says CloseComplete).
        yield* conn.closeStatement("mine")
        yield* conn.closeStatement("never_prepared")
        const again = yield* Effect.scoped(
          Effect.gen(function* () {
            const second = yield* conn.prepare("select 2 as b", { name: "mine" })
            // The first scope ends: it must not close the statement prepared again under its name.
            yield* Scope.close(scope, Exit.void)
            return yield* conn.execute(second)
          })
        )
        assert.deepStrictEqual(again.rows, [{ b: 2 }])
        assert.deepStrictEqual(yield* preparedNames(conn), [])
      })
    )

    it.effect("a name already in use fails with the server's error; nothing is left behind", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* conn.prepare("select 1", { name: "dup" })
            const e = yield* Effect.flip(conn.prepare("select 2", { name: "dup" }))
            assert.strictEqual(e._tag === "PgServerError" && e.code, "42P05")
          })
        )
        assert.deepStrictEqual(yield* preparedNames(conn), [])
      })
    )

    it.effect("names that are empty, too long or reserved are refused before sending", () =>
      Effect.gen(function* () {
        const conn = yield* open
        for (const name of ["", "x".repeat(64), "é".repeat(32), "ep1", "epp12", "a\0b"]) {
          const e = yield* Effect.flip(Effect.scoped(conn.prepare("select 1", { name })))
          assert.deepStrictEqual(
            e._tag === "PgProtocolError" && [e.reason, e.mayHaveRun],
            ["InvalidValue", false],
            JSON.stringify(name)
          )
        }
        yield* Effect.scoped(conn.prepare("select 1", { name: "x".repeat(63) }))
        const cache = yield* Effect.flip(conn.closeStatement("ep1"))
        assert.strictEqual(cache._tag, "PgProtocolError")
        assert.deepStrictEqual(yield* preparedNames(conn), [])
      })
    )

    it.effect("execute refuses a parameter count that differs, before sending", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* Effect.scoped(
          Effect.gen(function* () {
            const s = yield* conn.prepare("select $1::int")
            const e = yield* Effect.flip(conn.execute(s, []))
            assert.deepStrictEqual(e._tag === "PgProtocolError" && [e.reason, e.mayHaveRun], [
              "InvalidValue",
              false
            ])
            const bad = yield* Effect.flip(conn.execute(s, ["nope"]))
            assert.strictEqual(bad._tag === "PgServerError" && bad.code, "22P02")
            assert.deepStrictEqual((yield* conn.execute(s, ["3"])).rows, [{ int4: 3 }])
          })
        )
        assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
      })
    )

    it.effect("next to the statement cache: no clash of names, both keep working", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* Effect.scoped(
          Effect.gen(function* () {
            for (let i = 0; i < 3; i++) yield* conn.query(`select ${i} as cached`)
            const mine = yield* conn.prepare("select 10 as mine")
            for (let i = 0; i < 3; i++) yield* conn.query(`select ${i} as cached`)
            const names = yield* allPreparedNames(conn)
            assert.lengthOf(names, 4)
            assert.strictEqual(names.filter((n) => /^ep\d+$/.test(n ?? "")).length, 3)
            assert.include(names, mine.name)
            assert.deepStrictEqual((yield* conn.execute(mine)).rows, [{ mine: 10 }])
          })
        )
        assert.lengthOf(yield* allPreparedNames(conn), 3)
        assert.deepStrictEqual(yield* preparedNames(conn), [])
      })
    )

    it.effect("describe: parameter OIDs and columns, nothing executed", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table d (id int8, v text)")
        const d = yield* conn.describe("select $1::int8, $2::text")
        assert.deepStrictEqual(d.paramTypes, [20, 25])
        const ins = yield* conn.describe("insert into d values ($1, $2)")
        assert.deepStrictEqual(ins.paramTypes, [20, 25])
        assert.deepStrictEqual(ins.columns, [])
        assert.deepStrictEqual((yield* conn.query("select count(*) from d")).rows, [{ count: 0n }])
        const e = yield* Effect.flip(conn.describe("select * from no_such_table"))
        assert.strictEqual(e._tag === "PgServerError" && e.code, "42P01")
        assert.deepStrictEqual(yield* preparedNames(conn), [])
      })
    )

    it.effect("a statement survives an aborted transaction; Close works in one", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const scope = yield* Scope.make()
        const s = yield* Scope.provide(conn.prepare("select 5"), scope)
        yield* conn.simpleQuery("begin")
        yield* Effect.flip(conn.query("select 1/0"))
        assert.strictEqual(yield* conn.transactionStatus, "E")
        yield* Scope.close(scope, Exit.void)
        yield* conn.simpleQuery("rollback")
        assert.deepStrictEqual(yield* preparedNames(conn), [])
        void s
      })
    )

    it.effect("interrupted while queued (behind an exclusive cursor): withdrawn, nothing created", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const rows = yield* Effect.scoped(
          Effect.gen(function* () {
            const pull = yield* Stream.toPull(
              conn.cursor("select g from generate_series(1, 10) g", [], { window: 2 })
            )
            const first = yield* pull
            const waiting = yield* Effect.forkChild(Effect.scoped(conn.prepare("select 1")))
            yield* Effect.sleep("50 millis")
            assert.strictEqual(yield* conn.pending, 2)
            yield* Fiber.interrupt(waiting)
            assert.strictEqual(yield* conn.pending, 1)
            return first
          })
        )
        assert.deepStrictEqual(rows, [{ g: 1 }, { g: 2 }])
        assert.deepStrictEqual(yield* preparedNames(conn), [])
        assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
      })
    )

    it.effect("interrupted while running (Parse blocked on a lock): cancelled, nothing created", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create table locked_p (a int)")
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* lockTable("locked_p")
            const running = yield* Effect.forkChild(Effect.scoped(conn.prepare("select * from locked_p")))
            yield* Effect.sleep("200 millis")
            yield* Fiber.interrupt(running)
          })
        )
        assert.deepStrictEqual(yield* preparedNames(conn), [])
        assert.deepStrictEqual((yield* conn.query("select count(*) from locked_p")).rows, [{ count: 0n }])
        yield* conn.query("drop table locked_p")
      })
    )

    it.effect("a timeout cancels a blocked prepare on the server (PgTimeoutError cancelled)", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create table locked_t (a int)")
        const e = yield* Effect.scoped(
          Effect.gen(function* () {
            yield* lockTable("locked_t")
            const prepare = Effect.flip(
              Effect.scoped(conn.prepare("select * from locked_t", { timeout: 200 }))
            )
            const describe = Effect.flip(conn.describe("select * from locked_t", { timeout: 200 }))
            return [yield* prepare, yield* describe]
          })
        )
        for (const error of e) {
          assert.deepStrictEqual(error._tag === "PgTimeoutError" && error.outcome, "cancelled")
        }
        assert.deepStrictEqual(yield* preparedNames(conn), [])
        assert.deepStrictEqual((yield* conn.query("select 2")).rows, [{ "?column?": 2 }])
        yield* conn.query("drop table locked_t")
      })
    )

    it.effect("a timeout cancels a running execute (pg_sleep); the statement stays usable", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* Effect.scoped(
          Effect.gen(function* () {
            const s = yield* conn.prepare("select pg_sleep($1::float8)")
            const e = yield* Effect.flip(conn.execute(s, ["5"], { timeout: 200 }))
            assert.deepStrictEqual(e._tag === "PgTimeoutError" && e.outcome, "cancelled")
            assert.strictEqual((yield* conn.execute(s, ["0"])).command.tag, "SELECT 1")
            const interrupted = yield* Effect.forkChild(conn.execute(s, ["5"]))
            yield* Effect.sleep("100 millis")
            yield* Fiber.interrupt(interrupted)
            assert.strictEqual((yield* conn.execute(s, ["0"])).command.tag, "SELECT 1")
          })
        )
        assert.deepStrictEqual(yield* preparedNames(conn), [])
      })
    )

    it.effect("the scope's close does not fail when the connection is gone", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const scope = yield* Scope.make()
        yield* Scope.provide(conn.prepare("select 1"), scope)
        yield* conn.close
        yield* Scope.close(scope, Exit.void)
        const e = yield* Effect.flip(conn.describe("select 1"))
        assert.strictEqual(e._tag, "PgClosedError")
      })
    )
  }
)
