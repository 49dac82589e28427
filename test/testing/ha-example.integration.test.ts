/**
 * docs/testing.md's "Standbys, failover and PgBouncer" example, verbatim (docs-example.test.ts
 * checks the two are identical): what a user's test of read replicas, failover and PgBouncer
 * looks like with effect-pg/testing.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Connection, Pool } from "../../src/index.ts"
import { PgTestBouncer, PgTestReplication } from "../../src/testing/index.ts"

// A primary and a streaming standby for this file, stopped and removed after its last test.
layer(PgTestReplication.layer({ version: 18 }))("a primary and a standby", (it) => {
  it.effect("writes go to the primary, reads to the standby", () =>
    Effect.gen(function* () {
      const { url, standby } = yield* PgTestReplication.PgTestReplication
      // url is "postgres://postgres@127.0.0.1:<primary>,127.0.0.1:<standby>/postgres"
      const writer = yield* Connection.connect(`${url}?target_session_attrs=read-write`)
      yield* writer.simpleQuery("create table todo (title text); insert into todo values ('replicated')")
      yield* standby.caughtUp
      const reader = yield* Connection.connect(`${url}?target_session_attrs=standby`)
      const { rows } = yield* reader.query("select title, pg_is_in_recovery() from todo")
      assert.deepStrictEqual(rows, [{ title: "replicated", pg_is_in_recovery: true }])
    }).pipe(Effect.scoped)
  )

  it.effect("through PgBouncer in transaction mode", () =>
    Effect.gen(function* () {
      const { primary } = yield* PgTestReplication.PgTestReplication
      const bouncer = yield* PgTestBouncer.start({ server: primary, poolMode: "transaction" })
      // Transaction pooling shares server sessions: no named statements (no statement cache).
      const { pool } = yield* Pool.make({ connect: { url: bouncer.url, statementCacheSize: 0 }, max: 4 })
      const { rows } = yield* pool.query("select count(*) from todo")
      assert.deepStrictEqual(rows, [{ count: 1n }])
      const pools = yield* bouncer.admin("SHOW POOLS")
      assert.isTrue(pools.rows.some((row) => row[0] === "postgres"))
    }).pipe(Effect.scoped)
  )

  // Last: it changes the topology the block shares.
  it.effect("fails over: the primary stops, the standby is promoted and takes the writes", () =>
    Effect.gen(function* () {
      const { url, primary, standby } = yield* PgTestReplication.PgTestReplication
      yield* primary.stop()
      yield* standby.promote
      const writer = yield* Connection.connect(`${url}?target_session_attrs=read-write`)
      const { rows } = yield* writer.query("insert into todo values ('after') returning inet_server_port()")
      assert.deepStrictEqual(rows, [{ inet_server_port: standby.port }])
    }).pipe(Effect.scoped)
  )
})
