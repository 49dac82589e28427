/**
 * Statement handles against a real server (connection/prepared.ts, decision 015): a handle works
 * only on the connection that prepared it, and only while its statement is open. Another
 * connection's handle (every connection has its own `epp1`), an object prepare did not make, and
 * a closed statement are refused before anything is sent; DISCARD ALL / DEALLOCATE ALL seen
 * through any operation closes every handle, so a scope ending later sends nothing (a statement
 * prepared again under the same name survives it); a statement dropped in SQL is known from the
 * server's 26000.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Scope, Stream } from "effect"
import { simpleQuery } from "../../src/commands/simple.ts"
import type { ConnectionApi } from "../../src/connection/api.ts"
import type { PgExpertError } from "../../src/Errors.ts"
import { encodeQuery } from "../../src/protocol/Frontend.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { open, preparedNames } from "./support.ts"

type Conn = ConnectionApi<PgExpertError>

/** `e` is a refusal before sending (PgProtocolError InvalidValue, mayHaveRun false) saying `text`. */
const assertRefused = (e: PgExpertError, text: string, label?: string) => {
  assert.deepStrictEqual(
    e._tag === "PgProtocolError" ? [e.reason, e.mayHaveRun] : e,
    ["InvalidValue", false],
    label
  )
  assert.include(e.message, text, label)
}

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "statement handles (PG18)",
  (it) => {
    it.effect("another connection's handle, same name: refused, nothing sent, its own goes on", () =>
      Effect.gen(function* () {
        const a = yield* open
        const b = yield* open
        const sa = yield* a.prepare("select 'from a' as who")
        const sb = yield* b.prepare("select 'from b' as who, $1::int as n")
        assert.deepStrictEqual([sa.name, sb.name], ["epp1", "epp1"])
        const e = yield* Effect.flip(b.execute(sa))
        assertRefused(e, "prepared on another connection")
        assert.include(e.message, `server process ${a.processId}`)
        assert.strictEqual(yield* b.pending, 0)
        const closing = yield* Effect.flip(b.closeStatement(sa))
        assertRefused(closing, "prepared on another connection")
        // Neither call reached b's server session: its epp1 is there and is b's statement.
        assert.deepStrictEqual(yield* preparedNames(b), ["epp1"])
        assert.deepStrictEqual((yield* b.execute(sb, ["7"])).rows, [{ who: "from b", n: 7 }])
        assert.deepStrictEqual((yield* a.execute(sa)).rows, [{ who: "from a" }])
        const forged = { name: "epp1", sql: "select 1", paramTypes: [], columns: [] }
        const made = yield* Effect.flip(b.execute(forged))
        assertRefused(made, "not a statement handle made by prepare")
      })
    )

    it.effect("a closed handle: execute refused with the reason, closing again is a no-op", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const s = yield* conn.prepare("select 1 as one", { name: "by_hand" })
        yield* conn.closeStatement(s)
        assert.deepStrictEqual(yield* preparedNames(conn), [])
        const e = yield* Effect.flip(conn.execute(s))
        assertRefused(e, "is closed: closeStatement closed it")
        yield* conn.closeStatement(s)
        // Prepared again under the name: the old handle's close must not touch the new statement.
        const again = yield* conn.prepare("select 2 as two", { name: "by_hand" })
        yield* conn.closeStatement(s)
        assert.deepStrictEqual((yield* conn.execute(again)).rows, [{ two: 2 }])
        const scope = yield* Scope.make()
        const scoped = yield* Scope.provide(conn.prepare("select 3"), scope)
        yield* Scope.close(scope, Exit.void)
        const ended = yield* Effect.flip(conn.execute(scoped))
        assertRefused(ended, "the scope it was prepared in ended")
        // By name: the live handle of that name is closed too.
        yield* conn.closeStatement("by_hand")
        const byName = yield* Effect.flip(conn.execute(again))
        assertRefused(byName, "closeStatement closed it")
        assert.deepStrictEqual(yield* preparedNames(conn), [])
      })
    )

    /** Each way a statement can reach the server, running `sql`. */
    const through: ReadonlyArray<
      readonly [string, (conn: Conn, sql: string) => Effect.Effect<unknown, unknown>]
    > = [
      ["simpleQuery", (conn, sql) => conn.simpleQuery(sql)],
      ["query", (conn, sql) => conn.query(sql)],
      ["pipeline", (conn, sql) => conn.pipeline([{ sql }])],
      ["pipeline (transaction)", (conn, sql) => conn.pipeline([{ sql }], { mode: "transaction" })],
      ["executeSimple", (conn, sql) => conn.executeSimple(sql)],
      ["cursor", (conn, sql) => Stream.runDrain(conn.cursor(sql))],
      ["stream", (conn, sql) => Stream.runDrain(conn.stream(sql))],
      ["run", (conn, sql) => conn.run(simpleQuery, { frames: encodeQuery(sql) as Uint8Array })]
    ]

    for (const sql of ["DISCARD ALL", "DEALLOCATE ALL"]) {
      it.effect(`${sql} through every operation closes every handle; the scope then sends nothing`, () =>
        Effect.gen(function* () {
          const conn = yield* open
          for (const [name, run] of through) {
            const scope = yield* Scope.make()
            const s = yield* Scope.provide(conn.prepare("select 'old' as v", { name: "kept_name" }), scope)
            // The cache has a statement too: it must be forgotten, not used stale.
            assert.deepStrictEqual((yield* conn.query("select 'cached'")).rows, [{ "?column?": "cached" }])
            yield* run(conn, sql)
            assert.deepStrictEqual(yield* preparedNames(conn), [], name)
            const e = yield* Effect.flip(conn.execute(s))
            assertRefused(e, "DISCARD ALL or DEALLOCATE ALL", name)
            // A new statement of the same name outlives the old handle's scope.
            const fresh = yield* conn.prepare("select 'new' as v", { name: "kept_name" })
            yield* Scope.close(scope, Exit.void)
            assert.deepStrictEqual((yield* conn.execute(fresh)).rows, [{ v: "new" }], name)
            yield* conn.closeStatement(fresh)
            assert.deepStrictEqual(
              (yield* conn.query("select 'cached'")).rows,
              [{ "?column?": "cached" }],
              name
            )
          }
        })
      )
    }

    it.effect("DEALLOCATE of one statement in SQL: the server's 26000, then the handle is closed", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const scope = yield* Scope.make()
        const s = yield* Scope.provide(conn.prepare("select 1"), scope)
        yield* conn.simpleQuery(`deallocate ${s.name}`)
        const missing = yield* Effect.flip(conn.execute(s))
        assert.strictEqual(missing._tag === "PgServerError" && missing.code, "26000")
        const after = yield* Effect.flip(conn.execute(s))
        assertRefused(after, "(26000)")
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual((yield* conn.query("select 2")).rows, [{ "?column?": 2 }])
      })
    )

    it.effect("closeStatement by name refuses what the server would cut or the cache owns", () =>
      Effect.gen(function* () {
        const conn = yield* open
        for (const name of ["", "x".repeat(64), "a\0b", "ep3"]) {
          const e = yield* Effect.flip(conn.closeStatement(name))
          assert.deepStrictEqual(
            e._tag === "PgProtocolError" && [e.reason, e.mayHaveRun],
            ["InvalidValue", false],
            JSON.stringify(name)
          )
        }
        const s = yield* conn.prepare("select 1")
        yield* conn.closeStatement(s.name)
        assert.deepStrictEqual(yield* preparedNames(conn), [])
      })
    )
  }
)
