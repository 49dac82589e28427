/**
 * Prepared statements on pooled connections (decision 015): two borrowed connections each have
 * their own `epp1`, and a handle of one is refused on the other (nothing sent); a statement left
 * open when the borrow ends is closed by the pool before the connection goes back (none is left
 * on the server, the handle stops working, the scope that outlives the borrow ends quietly), with
 * or without `resetOnRelease: "discard-all"`, in a transaction and through a scoped `connection`;
 * the pool's one-shot statements work alongside.
 */
import { assert, layer } from "@effect/vitest"
import { Cause, Effect, Exit, Scope } from "effect"
import type { ConnectionApi } from "../../src/connection/api.ts"
import type { PreparedStatement } from "../../src/connection/prepared.ts"
import { PgError } from "../../src/Errors.ts"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { preparedNames } from "./support.ts"

type Conn = ConnectionApi<PgError>

/** `e` is the normal API's refusal before sending, saying `text`. */
const assertRefused = (e: PgError, text: string) => {
  assert.deepStrictEqual(e.cause._tag === "PgProtocolError" ? [e.cause.reason, e.mayHaveRun] : e.cause, [
    "InvalidValue",
    false
  ])
  assert.include(e.message, text)
}

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "prepared statements on a pool (PG18)",
  (it) => {
    const makePool = (options?: Partial<PoolM.PoolOptions>) =>
      Effect.flatMap(PgTestServer.PgTestServer, (server) => PoolM.make({ connect: server.url, ...options }))

    /** The statements `prepare` left on every connection the pool holds now, by backend pid. */
    const leftOnEach = (pool: PoolM.NormalPool, count: number) => {
      const names = new Map<number, ReadonlyArray<string | null | undefined>>()
      const visit = (n: number): Effect.Effect<void, unknown> =>
        n === 0
          ? Effect.void
          : pool.withConnection((c) =>
              Effect.flatMap(preparedNames(c), (left) => {
                names.set(c.processId, left)
                return visit(n - 1)
              })
            )
      return Effect.as(visit(count), names)
    }

    it.effect("two borrowed connections, each its own epp1; a handle is refused on the other", () =>
      Effect.gen(function* () {
        const { pool } = yield* makePool({ max: 3 })
        const pids = yield* pool.withConnection((a) =>
          pool.withConnection((b) =>
            Effect.gen(function* () {
              assert.notStrictEqual(a.processId, b.processId)
              const sa = yield* a.prepare("select 'a' as who")
              const sb = yield* b.prepare("select 'b' as who")
              assert.deepStrictEqual([sa.name, sb.name], ["epp1", "epp1"])
              assertRefused(yield* Effect.flip(b.execute(sa)), `server process ${a.processId}`)
              assertRefused(yield* Effect.flip(b.closeStatement(sa)), "prepared on another connection")
              assert.deepStrictEqual((yield* b.execute(sb)).rows, [{ who: "b" }])
              assert.deepStrictEqual((yield* a.execute(sa)).rows, [{ who: "a" }])
              // A lent connection's isolated pipeline: its Exits fail with the pool view's PgError.
              const exits = yield* b.pipeline([{ sql: "select 1/0" }, { sql: "select 2" }])
              const failed = exits[0]!
              assert.isTrue(Exit.isFailure(failed))
              const error = Exit.isFailure(failed) ? Cause.squash(failed.cause) : undefined
              assert.instanceOf(error, PgError)
              assert.strictEqual((error as PgError).code, "22012")
              assert.include((error as PgError).message, "SQL: select 1/0")
              assert.deepStrictEqual(Exit.isSuccess(exits[1]!) && exits[1]!.value.rows, [{ "?column?": 2 }])
              // The pool's one-shot statements run alongside, on the third connection.
              assert.deepStrictEqual((yield* pool.query("select $1::int", ["3"])).rows, [{ int4: 3 }])
              return [a.processId, b.processId] as const
            })
          )
        )
        const left = yield* leftOnEach(pool, 3)
        for (const pid of pids) assert.deepStrictEqual(left.get(pid), [], `backend ${pid}`)
        assert.deepStrictEqual((yield* pool.query("select 4")).rows, [{ "?column?": 4 }])
      })
    )

    it.effect("a statement prepared in a borrow works only there; the pool closes it on release", () =>
      Effect.gen(function* () {
        const { pool } = yield* makePool({ max: 1 })
        const outer = yield* Scope.make()
        const [lent, s] = yield* Scope.provide(
          pool.withConnection((c) =>
            Effect.gen(function* () {
              const statement = yield* c.prepare("select $1::int * 2 as n")
              assert.deepStrictEqual((yield* c.execute(statement, ["21"])).rows, [{ n: 42 }])
              return [c, statement] as readonly [Conn, PreparedStatement]
            })
          ),
          outer
        )
        // The borrow ended: the connection went back (to the one-shot statements, here).
        assertRefused(yield* Effect.flip(lent.execute(s, ["1"])), "its connection went back to the pool")
        assert.deepStrictEqual((yield* pool.query("select 5")).rows, [{ "?column?": 5 }])
        yield* pool.withConnection((c) =>
          Effect.gen(function* () {
            assert.strictEqual(c.processId, lent.processId)
            assert.deepStrictEqual(yield* preparedNames(c), [])
            assertRefused(yield* Effect.flip(c.execute(s, ["1"])), "went back to the pool")
            const again = yield* c.prepare("select 7")
            assert.strictEqual(again.name, "epp2")
          })
        )
        // The scope that outlived the borrow ends quietly, sending nothing.
        yield* Scope.close(outer, Exit.void)
        assert.deepStrictEqual((yield* leftOnEach(pool, 1)).get(lent.processId), [])
      })
    )

    it.effect("with resetOnRelease discard-all, in a transaction, and through a scoped connection", () =>
      Effect.gen(function* () {
        const { pool } = yield* makePool({ max: 1, resetOnRelease: "discard-all" })
        yield* pool.query("create table if not exists pooled_prep (a int)")
        yield* pool.withTransaction((tx) =>
          Effect.gen(function* () {
            const insert = yield* tx.prepare("insert into pooled_prep values ($1)", { name: "ins" })
            yield* tx.execute(insert, ["1"])
            yield* tx.execute(insert, ["2"])
          })
        )
        assert.deepStrictEqual((yield* pool.query("select count(*) from pooled_prep")).rows, [{ count: 2n }])
        const failed = yield* Effect.exit(
          pool.withTransaction((tx) =>
            Effect.flatMap(tx.prepare("insert into pooled_prep values ($1)", { name: "ins" }), (insert) =>
              Effect.andThen(tx.execute(insert, ["3"]), Effect.fail("rolled back" as const))
            )
          )
        )
        assert.isTrue(Exit.isFailure(failed))
        assert.deepStrictEqual((yield* pool.query("select count(*) from pooled_prep")).rows, [{ count: 2n }])
        // A scoped borrow: the statement's finalizer runs first, then the connection goes back.
        yield* Effect.scoped(
          Effect.gen(function* () {
            const c = yield* pool.connection
            const s = yield* c.prepare("select 1", { name: "ins" })
            assert.deepStrictEqual((yield* c.execute(s)).rows, [{ "?column?": 1 }])
          })
        )
        const left = yield* leftOnEach(pool, 1)
        assert.deepStrictEqual(Array.from(left.values()), [[]])
        assert.deepStrictEqual((yield* pool.query("select count(*) from pooled_prep")).rows, [{ count: 2n }])
        yield* pool.query("drop table pooled_prep")
      })
    )

    it.effect("the Expert pool: Expert errors, the same rules", () =>
      Effect.gen(function* () {
        const { expert } = yield* makePool({ max: 2 })
        const e = yield* expert.withConnection((a) =>
          expert.withConnection((b) =>
            Effect.flatMap(a.prepare("select 1"), (sa) => Effect.flip(b.execute(sa)))
          )
        )
        assert.deepStrictEqual(e._tag === "PgProtocolError" && [e.reason, e.mayHaveRun], [
          "InvalidValue",
          false
        ])
      })
    )
  }
)
