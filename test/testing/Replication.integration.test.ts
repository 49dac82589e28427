/**
 * `PgTestReplication` on Debian's PG15 and npm's PG18: two standbys that stream (as the primary's
 * pg_stat_replication says), refuse writes and see the primary's rows after `caughtUp`; the
 * synchronous mode's read-your-write on a standby; promotion after the primary stops (an open
 * session sees `in_hot_standby` turn off); stop and restart on the same port; and the cleanup:
 * processes and directories gone when the scope closes.
 */
import { existsSync, readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import type { ConnectError } from "../../src/connection/connect.ts"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import { connect } from "../../src/Expert.ts"
import { PgTestReplication, type PgTestServerError } from "../../src/testing/index.ts"
import type { PgTestLocalServer } from "../../src/testing/ServerInfo.ts"

const session = (server: PgTestLocalServer): Effect.Effect<ExpertConnection, ConnectError, Scope.Scope> =>
  connect({
    host: "127.0.0.1",
    port: server.port,
    user: "postgres",
    database: "postgres",
    sslmode: "disable"
  })

const column = (connection: ExpertConnection, sql: string) =>
  Effect.map(connection.query(sql, [], { rowMode: "array" }), (r) => r.rows.map((row) => row[0] ?? null))

/** Whether `pid` runs (a zombie has exited). */
const alive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))
  } catch {
    return false
  }
}

describe("PgTestReplication", () => {
  for (const version of [15, 18] as const) {
    it.live(`PG${version}: two standbys stream, refuse writes and catch up`, () =>
      Effect.gen(function* () {
        const rep = yield* PgTestReplication.start({ version, tls: false, env: {}, standbys: 2 })
        assert.deepStrictEqual(
          rep.hosts.map((h) => h.port),
          [rep.primary.port, ...rep.standbys.map((s) => s.port)]
        )
        assert.strictEqual(
          rep.url,
          `postgres://postgres@${rep.hosts.map((h) => `127.0.0.1:${h.port}`).join(",")}/postgres`
        )
        const primary = yield* session(rep.primary)
        assert.deepStrictEqual(
          (yield* primary.query("select application_name, state from pg_stat_replication order by 1")).rows,
          [
            { application_name: "standby1", state: "streaming" },
            { application_name: "standby2", state: "streaming" }
          ]
        )
        assert.strictEqual(Math.floor(primary.serverVersionNum / 10000), version)
        yield* primary.simpleQuery("create table t (x int); insert into t select generate_series(1, 100)")
        for (const standby of rep.standbys) {
          const s = yield* session(standby)
          assert.deepStrictEqual(yield* column(s, "select pg_is_in_recovery()"), [true])
          assert.strictEqual(yield* s.parameter("in_hot_standby"), "on")
          yield* standby.caughtUp
          assert.deepStrictEqual(yield* column(s, "select sum(x) from t"), [5050n])
          const refused = yield* Effect.flip(s.query("insert into t values (1)"))
          assert.strictEqual(refused._tag === "PgServerError" ? refused.code : refused._tag, "25006")
        }
      }).pipe(Effect.scoped)
    )
  }

  it.live("synchronous: a commit on the primary is visible on the standby at once", () =>
    Effect.gen(function* () {
      const rep = yield* PgTestReplication.start({ version: 18, tls: false, env: {}, synchronous: true })
      const primary = yield* session(rep.primary)
      const standby = yield* session(rep.standby)
      yield* primary.simpleQuery("create table t (x int)")
      for (let i = 1; i <= 5; i++) {
        yield* primary.query("insert into t values ($1)", [String(i)])
        assert.deepStrictEqual(yield* column(standby, "select count(*) from t"), [BigInt(i)])
      }
    }).pipe(Effect.scoped)
  )

  it.live("the primary stops, the standby is promoted: it takes writes, and an open session sees it", () =>
    Effect.gen(function* () {
      const rep = yield* PgTestReplication.start({ version: 18, tls: false, env: {} })
      const standby = yield* session(rep.standby)
      yield* rep.primary.stop()
      const refused = yield* Effect.flip(Effect.scoped(session(rep.primary)))
      assert.include(refused.message, "ECONNREFUSED")
      yield* rep.standby.promote
      assert.deepStrictEqual(yield* column(standby, "select pg_is_in_recovery()"), [false])
      // PG14+ report in_hot_standby; the change arrives as a ParameterStatus on the open session.
      assert.strictEqual(yield* standby.parameter("in_hot_standby"), "off")
      yield* standby.simpleQuery("create table after_failover (x int); insert into after_failover values (1)")
      // The old primary comes back as it was: a second primary (the test stops it before anything else).
      yield* rep.primary.restart()
      const old = yield* session(rep.primary)
      assert.deepStrictEqual(yield* column(old, "select pg_is_in_recovery()"), [false])
    }).pipe(Effect.scoped)
  )

  it.live("stops every server and removes every directory when the scope closes, also after a failure", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const rep = yield* PgTestReplication.start({ version: 18, tls: false, env: {} }).pipe(
        Scope.provide(scope)
      )
      const servers = [rep.primary, rep.standby]
      const pids = yield* Effect.forEach(servers, (s) => s.pid)
      assert.isTrue(pids.every(alive))
      yield* Scope.close(scope, Exit.fail("a test failed"))
      assert.isFalse(pids.some(alive), "postmasters gone")
      for (const server of servers) assert.isFalse(existsSync(server.dataDir), `${server.dataDir} removed`)

      const invalid = yield* Effect.flip(Effect.scoped(PgTestReplication.start({ standbys: 0 })))
      assert.strictEqual((invalid as PgTestServerError).reason, "InvalidOptions")
    })
  )
})
