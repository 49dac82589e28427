/**
 * `PgTestBouncer` (Debian's PgBouncer 1.18) in front of a PG18 primary and its standby: session
 * and transaction pooling as PgBouncer defines them (which server backend a client gets), the
 * servers' roles through it, what effect-pg needs behind it (its 3.2 StartupMessage is refused,
 * so it falls back to 3.0; its statement cache must be off in transaction mode), the admin
 * console, restart, and the cleanup. The rows of docs/ha.md's PgBouncer table come from here.
 */
import { existsSync } from "node:fs"
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Redacted, Scope } from "effect"
import type { ConnectConfigInput } from "../../src/config/ConnectConfig.ts"
import { connect } from "../../src/Expert.ts"
import { PgTestBouncer, type PgTestBouncerInfo, PgTestReplication } from "../../src/testing/index.ts"

const through = (bouncer: PgTestBouncerInfo, database: string, extra: Partial<ConnectConfigInput> = {}) =>
  connect({ host: "127.0.0.1", port: bouncer.port, user: "postgres", database, sslmode: "disable", ...extra })

/** The `pg_backend_pid` of the first row, or null. */
const backendPid = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>) => rows[0]?.pg_backend_pid ?? null

layer(PgTestReplication.layer({ version: 18, tls: false, env: {} }), {
  timeout: 120_000,
  excludeTestServices: true
})("PgBouncer in front of a primary and a standby", (it) => {
  const bouncer = (poolMode: "session" | "transaction") =>
    Effect.gen(function* () {
      const rep = yield* PgTestReplication.PgTestReplication
      const pgb = yield* PgTestBouncer.start({
        server: rep.primary,
        databases: {
          primary: { server: rep.primary, dbname: "postgres", poolSize: 1 },
          standby: { server: rep.standby, dbname: "postgres", poolSize: 1 }
        },
        poolMode
      })
      return { rep, pgb }
    })

  it.effect("transaction mode: two open clients share the one server connection of a database", () =>
    Effect.gen(function* () {
      const { rep, pgb } = yield* bouncer("transaction")
      assert.match(pgb.version, /^1\.\d+/)
      // No statement cache: named statements would collide on the shared backend (see below).
      const noCache = { statementCacheSize: 0 }
      const [a, b] = [yield* through(pgb, "primary", noCache), yield* through(pgb, "primary", noCache)]
      const pidA = backendPid((yield* a.query("select pg_backend_pid()")).rows)
      const pidB = backendPid((yield* b.query("select pg_backend_pid()")).rows)
      assert.strictEqual(pidA, pidB)
      assert.notStrictEqual(a.processId, pidA, "BackendKeyData names PgBouncer's own key, not the backend")
      const standby = yield* through(pgb, "standby", noCache)
      assert.deepStrictEqual((yield* standby.query("select pg_is_in_recovery(), inet_server_port()")).rows, [
        { pg_is_in_recovery: true, inet_server_port: rep.standby.port }
      ])
      // PgBouncer forwards in_hot_standby: target_session_attrs sees the server behind it.
      assert.strictEqual(yield* standby.parameter("in_hot_standby"), "on")
      const wrong = yield* Effect.flip(
        Effect.scoped(through(pgb, "standby", { ...noCache, targetSessionAttrs: "read-write" }))
      )
      assert.include(wrong.message, "session is read-only")
      yield* Effect.scoped(through(pgb, "primary", { ...noCache, targetSessionAttrs: "read-write" }))
      // The `*` entry: any other database name goes to the primary under that name.
      assert.deepStrictEqual(
        (yield* (yield* through(pgb, "postgres", noCache)).query("select current_database()")).rows,
        [{ current_database: "postgres" }]
      )
      const pools = yield* pgb.admin("SHOW POOLS")
      const names = pools.rows.map((row) => `${row[0]}/${row[1]}`)
      for (const pool of ["primary/postgres", "standby/postgres", "postgres/postgres"])
        assert.include(names, pool)
    }).pipe(Effect.scoped)
  )

  it.effect("session mode: each client has a server connection of its own for its whole session", () =>
    Effect.gen(function* () {
      const { pgb } = yield* bouncer("session")
      const a = yield* through(pgb, "postgres")
      const b = yield* through(pgb, "postgres")
      const pid = (c: typeof a) => Effect.map(c.query("select pg_backend_pid()"), (r) => backendPid(r.rows))
      const pidA = yield* pid(a)
      assert.notStrictEqual(pidA, yield* pid(b))
      yield* a.simpleQuery("set work_mem = '1234kB'")
      assert.deepStrictEqual((yield* a.query("show work_mem")).rows, [{ work_mem: "1234kB" }])
      assert.strictEqual(yield* pid(a), pidA)
    }).pipe(Effect.scoped)
  )

  it.effect(
    "the servers' roles log in through it, with their own methods, and so does a role made later",
    () =>
      Effect.gen(function* () {
        const { rep, pgb } = yield* bouncer("transaction")
        yield* Effect.scoped(
          Effect.flatMap(connect({ url: rep.primary.url, sslmode: "disable" }), (c) =>
            c.simpleQuery(
              "drop role if exists later_user; create role later_user login password 'later_pass'"
            )
          )
        )
        yield* rep.standby.caughtUp
        const roles = rep.primary.roles
        for (const role of [
          roles.trust,
          roles.password,
          roles.md5,
          roles.scram,
          { user: "later_user", password: "later_pass" }
        ]) {
          const password = role.password === undefined ? {} : { password: Redacted.make(role.password) }
          for (const database of ["primary", "standby"]) {
            const c = yield* through(pgb, database, { user: role.user, ...password })
            assert.deepStrictEqual(
              (yield* c.query("select current_user")).rows,
              [{ current_user: role.user }],
              `${role.user} on ${database}`
            )
          }
          if (role.password !== undefined) {
            const wrong = yield* Effect.flip(
              through(pgb, "primary", { user: role.user, password: Redacted.make("wrong") })
            )
            assert.strictEqual(wrong._tag, "PgServerError", `${role.user} with a wrong password`)
          }
        }
      }).pipe(Effect.scoped)
  )

  it.effect(
    "protocol 3.2 is refused (FATAL 08P01): the default falls back to 3.0, an explicit 3.2 does not",
    () =>
      Effect.gen(function* () {
        const { pgb } = yield* bouncer("transaction")
        const fallback = yield* through(pgb, "primary")
        assert.strictEqual(fallback.protocolMinor, 0)
        assert.deepStrictEqual((yield* fallback.query("select 1")).rows, [{ "?column?": 1 }])
        const refused = yield* Effect.flip(
          Effect.scoped(through(pgb, "primary", { maxProtocolVersion: "3.2" }))
        )
        assert.strictEqual(refused._tag, "PgServerError")
        if (refused._tag === "PgServerError") {
          assert.strictEqual(refused.code, "08P01")
          assert.match(refused.message, /^bad packet header/)
        }
        const log = yield* pgb.readLog
        assert.include(log, "bad packet header")
      }).pipe(Effect.scoped)
  )

  it.effect("transaction mode: named statements collide between clients; statementCacheSize 0 works", () =>
    Effect.gen(function* () {
      const { pgb } = yield* bouncer("transaction")
      const run = (cache: number | undefined) =>
        Effect.gen(function* () {
          const extra = cache === undefined ? {} : { statementCacheSize: cache }
          const a = yield* through(pgb, "primary", extra)
          const b = yield* through(pgb, "primary", extra)
          const outcomes: Array<string> = []
          for (const c of [a, b, a, b]) {
            const r = yield* Effect.exit(c.query("select $1::int", ["7"]))
            outcomes.push(Exit.isSuccess(r) ? "ok" : (yield* Effect.flip(r)).message)
          }
          // Pipelined from many fibers over both clients: each Sync may land on the shared backend.
          const many = yield* Effect.exit(
            Effect.all(
              [a, b].flatMap((c) =>
                Array.from({ length: 20 }, (_, i) => c.query("select $1::int", [String(i)]))
              ),
              { concurrency: "unbounded" }
            )
          )
          return { outcomes, pipelined: Exit.isSuccess(many) }
        }).pipe(Effect.scoped)
      const cached = yield* run(undefined)
      // b's Parse of its first statement meets a's statement of the same name on the shared backend.
      assert.deepStrictEqual(cached.outcomes.slice(0, 2), ["ok", 'prepared statement "ep1" already exists'])
      assert.deepStrictEqual(yield* run(0), { outcomes: ["ok", "ok", "ok", "ok"], pipelined: true })
    }).pipe(Effect.scoped)
  )

  it.effect(
    "restart disconnects its clients and listens again on the same port; the scope removes it all",
    () =>
      Effect.gen(function* () {
        const rep = yield* PgTestReplication.PgTestReplication
        const scope = yield* Scope.make()
        const pgb = yield* PgTestBouncer.start({ server: rep.primary }).pipe(Scope.provide(scope))
        const before = yield* through(pgb, "postgres")
        yield* pgb.restart
        const lost = yield* Effect.flip(before.query("select 1"))
        assert.include(["PgConnectionError", "PgServerError", "PgClosedError"], lost._tag)
        const after = yield* through(pgb, "postgres")
        assert.deepStrictEqual((yield* after.query("select 1")).rows, [{ "?column?": 1 }])
        yield* Scope.close(scope, Exit.void)
        assert.isFalse(existsSync(pgb.configFile), "directory removed")
        const gone = yield* Effect.flip(Effect.scoped(through(pgb, "postgres")))
        assert.include(gone.message, "ECONNREFUSED")

        const missing = yield* Effect.flip(
          Effect.scoped(PgTestBouncer.start({ server: rep.primary, binary: "/nonexistent/pgbouncer" }))
        )
        assert.strictEqual(missing.reason, "Bouncer")
        assert.include(missing.message, "apt-get install pgbouncer")
      }).pipe(Effect.scoped)
  )
})
