/**
 * The new operations on every PostgreSQL major the test run installs (14, 15, 16, 17, 18):
 * prepare (OIDs, columns, pg_prepared_statements), describe, both pipeline modes with a failing query, cursor windows with an early end (no portal, statement or lock left, the session
 * idle), a cursor inside a transaction block, executeSimple and its refusal of rows.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import type { PgMajorVersion } from "../../src/testing/Binaries.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { cursorNames, first, open, preparedNames } from "./support.ts"

/** Every major: pg-bin-16 is a devDependency now, so a missing PG 16 fails here instead of skipping. */
const versions: ReadonlyArray<PgMajorVersion> = [14, 15, 16, 17, 18]

for (const version of versions) {
  layer(PgTestServer.layer({ version, tls: false, backend: "local" }), {
    timeout: 120_000,
    excludeTestServices: true
  })(`the new operations on PG${version}`, (it) => {
    it.effect("prepare, execute, close; describe", () =>
      Effect.gen(function* () {
        const conn = yield* open
        assert.strictEqual(Math.floor(conn.serverVersionNum / 10000), version)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const s = yield* conn.prepare("select $1::int4 + 1 as n, $2::text as t, now() as at")
            assert.deepStrictEqual(s.paramTypes, [23, 25])
            assert.deepStrictEqual(
              s.columns.map((c) => [c.name, c.typeOid]),
              [
                ["n", 23],
                ["t", 25],
                ["at", 1184]
              ]
            )
            const row = (yield* conn.execute(s, ["1", "x"])).rows[0]!
            assert.deepStrictEqual(Object.keys(row), ["n", "t", "at"])
            assert.deepStrictEqual([row.n, row.t], [2, "x"])
            assert.deepStrictEqual(yield* preparedNames(conn), ["epp1"])
          })
        )
        assert.deepStrictEqual(yield* preparedNames(conn), [])
        const d = yield* conn.describe("select $1::int8 as big, $2::bool")
        assert.deepStrictEqual(d.paramTypes, [20, 16])
        assert.deepStrictEqual(
          d.columns.map((c) => c.name),
          ["big", "bool"]
        )
        const e = yield* Effect.flip(conn.describe("select * from nowhere"))
        assert.strictEqual(e._tag === "PgServerError" && e.code, "42P01")
      })
    )

    it.effect("pipeline: isolated failures stay alone; a transaction keeps nothing", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table v_p (id int primary key)")
        const exits = yield* conn.pipeline([
          { sql: "insert into v_p values (1)" },
          { sql: "insert into v_p values (1)" },
          { sql: "select count(*) from v_p" }
        ])
        assert.deepStrictEqual(
          exits.map((x) => x._tag),
          ["Success", "Failure", "Success"]
        )
        assert.deepStrictEqual(Exit.isSuccess(exits[2]!) && exits[2]!.value.rows, [{ count: 1n }])
        const tx = yield* Effect.flip(
          conn.pipeline([{ sql: "insert into v_p values (2)" }, { sql: "insert into v_p values (1)" }], {
            mode: "transaction"
          })
        )
        assert.strictEqual(tx._tag === "PgServerError" && tx.code, "23505")
        assert.strictEqual(yield* first(conn, "select count(*) from v_p"), "1")
        assert.strictEqual(yield* conn.transactionStatus, "I")
      })
    )

    it.effect("cursor: windows as pulled, an early end leaves nothing; inside a transaction block", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp sequence v_s")
        const sql = "select nextval('v_s') from generate_series(1, 1000)"
        const rows = yield* Stream.runCollect(Stream.take(conn.cursor(sql, [], { window: 7 }), 10))
        assert.strictEqual(Array.from(rows).at(-1)!.nextval, 10n)
        assert.strictEqual(yield* first(conn, "select last_value from v_s"), "14")
        assert.strictEqual(yield* conn.transactionStatus, "I")
        assert.deepStrictEqual(yield* cursorNames(conn), [])
        assert.deepStrictEqual(yield* preparedNames(conn), [])
        yield* conn.query("begin")
        const inTx = yield* Stream.runCollect(
          Stream.take(conn.cursor("select g from generate_series(1, 50) g", [], { window: 3 }), 4)
        )
        assert.strictEqual(inTx.length, 4)
        assert.strictEqual(yield* conn.transactionStatus, "T")
        assert.deepStrictEqual(yield* cursorNames(conn), [])
        yield* conn.query("commit")
      })
    )

    it.effect("executeSimple: CommandCompletes; rows refused", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const done = yield* conn.executeSimple(
          "create temp table v_e (a int); insert into v_e values (1), (2)"
        )
        assert.deepStrictEqual(
          done.map((c) => c.tag),
          ["CREATE TABLE", "INSERT 0 2"]
        )
        const e = yield* Effect.flip(conn.executeSimple("select 1"))
        assert.deepStrictEqual(e._tag === "PgProtocolError" && e.reason, "UnexpectedRows")
        assert.deepStrictEqual((yield* conn.query("select count(*) from v_e")).rows, [{ count: 2n }])
      })
    )
  })
}
