/**
 * The pool behind PgBouncer (Debian's 1.18, `PgTestBouncer`) with `pooler: "transaction"`
 * (issue 16, item 4; src/pool/pooler.ts): two pools pipelining through one server backend work
 * because no named statement is made (`pg_prepared_statements` stays empty); `prepare`, LISTEN,
 * a session SET and a session advisory lock are refused with PgConfigError before anything is
 * sent (the setting is unchanged), while SET LOCAL and transaction-level locks inside
 * `withTransaction` work. In session mode (`pooler: "session"`) everything works.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { PgConfigError } from "../../src/config/ConfigError.ts"
import * as Pool from "../../src/Pool.ts"
import { PgTestBouncer, PgTestServer } from "../../src/testing/index.ts"

const through = (port: number) => `host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable`

layer(PgTestServer.layer({ version: 18, tls: false, env: {} }), {
  timeout: 60_000,
  excludeTestServices: true
})("pooler option behind PgBouncer", (it) => {
  it.effect("transaction: no named statements, session features refused, transactions fine", () =>
    Effect.gen(function* () {
      const pg = yield* PgTestServer.PgTestServer
      const pgb = yield* PgTestBouncer.start({ server: pg, poolMode: "transaction", poolSize: 1 })
      const options = { connect: through(pgb.port), max: 2, pooler: "transaction" as const }
      const a = yield* Pool.make({ ...options, name: "pooler-a" })
      const b = yield* Pool.make({ ...options, name: "pooler-b" })
      const answers = yield* Effect.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? a : b).pool.query("select $1::int + 1", [String(i)])
        ),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(
        answers.map((r) => r.rows[0]?.["?column?"]),
        Array.from({ length: 40 }, (_, i) => i + 1)
      )
      const named = yield* a.pool.query("select count(*)::text from pg_prepared_statements")
      assert.deepStrictEqual(named.rows, [{ count: "0" }])

      const expert = a.expert
      const refusals: Array<PgConfigError> = []
      const refuse = (effect: Effect.Effect<unknown, unknown, never>) =>
        Effect.flatMap(Effect.flip(effect), (e) => Effect.sync(() => refusals.push(e as PgConfigError)))
      yield* refuse(expert.withConnection((c) => Effect.scoped(c.prepare("select 1"))))
      yield* refuse(Effect.scoped(expert.listen("jobs")))
      yield* refuse(expert.withConnection((c) => Effect.scoped(c.listen("jobs"))))
      yield* refuse(expert.query("set search_path = pg_catalog"))
      yield* refuse(expert.simpleQuery("SET SESSION statement_timeout = 1"))
      yield* refuse(expert.withConnection((c) => c.query("select pg_advisory_lock(7)")))
      yield* refuse(expert.query("select pg_try_advisory_lock_shared(7)"))
      assert.deepStrictEqual(
        refusals.map((e) => [e._tag, e.reason, e.key]),
        Array.from({ length: 7 }, () => ["PgConfigError", "UnsupportedOption", "pool.pooler"])
      )
      assert.include(refusals[0]?.message, "prepare")
      assert.include(refusals[3]?.message, "nothing was sent")
      const normal = yield* Effect.flip(a.pool.query("set search_path = pg_catalog"))
      assert.strictEqual(normal.mayHaveRun, false)
      assert.deepStrictEqual((yield* a.pool.query("show search_path")).rows, [
        { search_path: '"$user", public' }
      ])

      const inside = yield* a.pool.withTransaction((tx) =>
        Effect.gen(function* () {
          yield* tx.query("set local statement_timeout = '5s'")
          yield* tx.query("select pg_advisory_xact_lock(7)")
          return (yield* tx.query("show statement_timeout")).rows
        })
      )
      assert.deepStrictEqual(inside, [{ statement_timeout: "5s" }])
    }).pipe(Effect.scoped)
  )

  it.effect("session: prepare, SET and session locks work", () =>
    Effect.gen(function* () {
      const pg = yield* PgTestServer.PgTestServer
      const pgb = yield* PgTestBouncer.start({ server: pg, poolMode: "session" })
      const { pool } = yield* Pool.make({ connect: through(pgb.port), max: 1, pooler: "session" })
      const rows = yield* pool.withConnection((c) =>
        Effect.gen(function* () {
          yield* c.query("set search_path = pg_catalog")
          yield* c.query("select pg_advisory_lock(7)")
          const statement = yield* c.prepare("select current_setting('search_path')")
          const r = yield* c.execute(statement)
          yield* c.query("select pg_advisory_unlock(7)")
          yield* c.query("reset search_path")
          return r.rows
        }).pipe(Effect.scoped)
      )
      assert.deepStrictEqual(rows, [{ current_setting: "pg_catalog" }])
    }).pipe(Effect.scoped)
  )
})
