/**
 * Authentication against real PostgreSQL 18, 17, 16, 15 and 14 servers, through the public `connect`.
 *
 * Covers: each method the test cluster offers (trust, password, md5, scram-sha-256) over plain TCP,
 * TCP with TLS and the Unix socket, and `cert` with a client certificate over TLS, checking the
 * method both in the client's Auth session and in the server log (log_connections); a wrong
 * password (28P01, and the password in no rendering of the error); require_auth refusing a method
 * before any password is read; channel_binding (refused without TLS before a password is read,
 * SCRAM-SHA-256-PLUS with TLS); the password Effect run once per connect, and never for trust.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { assert, layer } from "@effect/vitest"
import { Cause, Effect, Redacted } from "effect"
import { connect } from "../../src/Expert.ts"
import { type PgTestLocalServer, type PgTestRole, PgTestServer } from "../../src/testing/index.ts"
import { connectRecorded, countingPassword, local, loggedMethod, sslInUse, tcp, unix } from "./support.ts"

type MethodName = "trust" | "password" | "md5" | "scram"
type Via = "tcp" | "tcp+tls" | "unix"

const methods: ReadonlyArray<{
  readonly role: MethodName
  /** What the client's Session reports. */
  readonly session: string
  /** The `method=` of the server's "connection authenticated" line (trust logs none before PG17, checked below). */
  readonly logged: string
}> = [
  { role: "trust", session: "none", logged: "trust" },
  { role: "password", session: "password", logged: "password" },
  { role: "md5", session: "md5", logged: "md5" },
  { role: "scram", session: "scram-sha-256", logged: "scram-sha-256" }
]

const inputFor = (pg: PgTestLocalServer, role: PgTestRole, via: Via) =>
  via === "unix"
    ? unix(pg, role)
    : via === "tcp"
      ? tcp(pg, role)
      : tcp(pg, role, { sslmode: "verify-full", sslrootcert: pg.tls!.caFile })

/** Every way the error can be shown must hide the password. */
const assertHidden = (error: unknown, secret: string) => {
  const renderings = [
    String(error),
    (error as Error).message,
    inspect(error, { depth: 10 }),
    JSON.stringify(error),
    Cause.pretty(Cause.fail(error))
  ]
  for (const text of renderings) assert.notInclude(text, secret)
}

for (const version of [18, 17, 16, 15, 14] as const) {
  layer(PgTestServer.layer({ version, env: {} }), { excludeTestServices: true })(
    `auth on PG${version}`,
    (it) => {
      for (const via of ["tcp", "tcp+tls", "unix"] as const) {
        for (const method of methods) {
          it.effect(`${method.role} over ${via}`, () =>
            Effect.gen(function* () {
              const pg = local(yield* PgTestServer.PgTestServer)
              const role = pg.roles[method.role]
              const { connection, session } = yield* connectRecorded(inputFor(pg, role, via))
              assert.strictEqual(session.method, method.session)
              const who = yield* connection.query("select current_user, inet_client_addr()")
              assert.strictEqual(who.rows[0]?.current_user, role.user)
              // inet_client_addr() is NULL exactly for a Unix-socket session.
              assert.strictEqual(who.rows[0]?.inet_client_addr === null, via === "unix")
              assert.strictEqual((yield* sslInUse(connection)).ssl, via === "tcp+tls")
              const logged = yield* loggedMethod(pg, connection.processId)
              // PG17 and PG18 log trust as an authentication method too; earlier versions log no line for it.
              assert.strictEqual(logged, method.role === "trust" && version < 17 ? undefined : method.logged)
            })
          )
        }
      }

      it.effect("cert: the client certificate authenticates over TLS", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          const tls = pg.tls!
          const { connection, session } = yield* connectRecorded(
            tcp(pg, pg.roles.cert, {
              sslmode: "verify-full",
              sslrootcert: tls.caFile,
              sslcert: tls.certFile,
              sslkey: tls.keyFile
            })
          )
          assert.strictEqual(session.method, "none")
          assert.isTrue((yield* sslInUse(connection)).ssl)
          assert.strictEqual(yield* loggedMethod(pg, connection.processId), "cert")
        })
      )

      it.effect("cert: without a client certificate the server refuses (28000)", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          const error = yield* Effect.flip(
            connect(tcp(pg, pg.roles.cert, { sslmode: "verify-full", sslrootcert: pg.tls!.caFile }))
          )
          assert.strictEqual(error._tag, "PgAuthError")
          if (error._tag !== "PgAuthError") return
          assert.strictEqual(error.reason, "server-rejected")
          assert.strictEqual(error.serverError?.code, "28000")
        })
      )

      for (const method of ["password", "md5", "scram"] as const) {
        it.effect(`${method}: a wrong password is rejected with 28P01 and never shown`, () =>
          Effect.gen(function* () {
            const pg = local(yield* PgTestServer.PgTestServer)
            const secret = `wrong-${method}-Zq81x`
            const role = { user: pg.roles[method].user, password: secret }
            const error = yield* Effect.flip(connect(tcp(pg, role)))
            assert.strictEqual(error._tag, "PgAuthError")
            if (error._tag !== "PgAuthError") return
            assert.strictEqual(error.reason, "server-rejected")
            assert.strictEqual(error.serverError?.code, "28P01")
            assert.include(error.message, "password authentication failed")
            assertHidden(error, secret)
          })
        )
      }

      it.effect("the password Effect runs once per connect, and not at all for trust", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          for (const method of ["password", "md5", "scram"] as const) {
            const role = pg.roles[method]
            const { counter, effect } = countingPassword(role.password!)
            for (let i = 1; i <= 2; i++) {
              yield* Effect.scoped(connect(tcp(pg, role, { password: effect })))
              assert.strictEqual(counter.calls, i, `${method}, connect ${i}`)
            }
          }
          const { counter, effect } = countingPassword("unused")
          yield* Effect.scoped(connect(tcp(pg, pg.roles.trust, { password: effect })))
          assert.strictEqual(counter.calls, 0)
        })
      )

      it.effect("require_auth refuses a method before reading the password", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          const cases: ReadonlyArray<readonly [MethodName, string]> = [
            ["md5", "scram-sha-256"],
            ["md5", "!md5"],
            ["scram", "password,md5"],
            ["password", "!password"],
            ["scram", "none"]
          ]
          for (const [method, requireAuth] of cases) {
            const { counter, effect } = countingPassword(pg.roles[method].password!)
            const error = yield* Effect.flip(
              connect(tcp(pg, pg.roles[method], { password: effect, requireAuth }))
            )
            assert.strictEqual(error._tag, "PgAuthError", `${method} with require_auth=${requireAuth}`)
            if (error._tag !== "PgAuthError") return
            assert.strictEqual(error.reason, "refused-by-require-auth")
            assert.strictEqual(counter.calls, 0)
          }
          // trust with a require_auth that wants a password: the server never asked, libpq refuses.
          const trust = yield* Effect.flip(connect(tcp(pg, pg.roles.trust, { requireAuth: "scram-sha-256" })))
          assert.strictEqual(
            trust._tag === "PgAuthError" ? trust.reason : trust._tag,
            "refused-by-require-auth"
          )
        })
      )

      it.effect("require_auth allows the methods it lists", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          const cases: ReadonlyArray<readonly [MethodName, string]> = [
            ["md5", "md5"],
            ["md5", "!scram-sha-256"],
            ["scram", "scram-sha-256,md5"],
            ["password", "password"],
            ["trust", "none"],
            ["trust", "!md5"]
          ]
          for (const [method, requireAuth] of cases) {
            const { session } = yield* Effect.scoped(
              connectRecorded(tcp(pg, pg.roles[method], { requireAuth }))
            )
            assert.strictEqual(session.method, methods.find((m) => m.role === method)!.session)
          }
        })
      )

      it.effect("channel_binding=require without TLS fails before any password is read", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          for (const via of ["tcp", "unix"] as const) {
            const { counter, effect } = countingPassword(pg.roles.scram.password!)
            const base = via === "tcp" ? tcp(pg, pg.roles.scram) : unix(pg, pg.roles.scram)
            const error = yield* Effect.flip(
              connect({ ...base, password: effect, channelBinding: "require" })
            )
            assert.strictEqual(error._tag, "PgAuthError", via)
            if (error._tag !== "PgAuthError") return
            assert.strictEqual(error.reason, "channel-binding-required")
            assert.strictEqual(counter.calls, 0)
          }
        })
      )

      it.effect("channel_binding=require with TLS uses SCRAM-SHA-256-PLUS", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          const tls = { sslmode: "require", channelBinding: "require" } as const
          for (const role of [pg.roles.scram, pg.roles.sslOnly]) {
            const { connection, session } = yield* connectRecorded(tcp(pg, role, tls))
            assert.isTrue(session.channelBound, role.user)
            assert.strictEqual(session.method, "scram-sha-256")
            assert.isTrue((yield* sslInUse(connection)).ssl)
            assert.strictEqual(yield* loggedMethod(pg, connection.processId), "scram-sha-256")
          }
          // The default (prefer) binds too when TLS is on; disable does not.
          const preferred = yield* connectRecorded(tcp(pg, pg.roles.scram, { sslmode: "require" }))
          assert.isTrue(preferred.session.channelBound)
          const disabled = yield* connectRecorded(
            tcp(pg, pg.roles.scram, { sslmode: "require", channelBinding: "disable" })
          )
          assert.isFalse(disabled.session.channelBound)
        })
      )

      it.effect("channel_binding=require refuses methods that cannot bind, even over TLS", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          for (const method of ["trust", "password", "md5"] as const) {
            const role = pg.roles[method]
            const { counter, effect } = countingPassword(role.password ?? "unused")
            const error = yield* Effect.flip(
              connect(tcp(pg, role, { sslmode: "require", channelBinding: "require", password: effect }))
            )
            assert.strictEqual(error._tag, "PgAuthError", method)
            if (error._tag !== "PgAuthError") return
            assert.strictEqual(error.reason, "channel-binding-required", method)
            assert.strictEqual(counter.calls, 0, method)
          }
        })
      )

      it.effect("a password given as a plain Redacted is never shown in a connection's error", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          const secret = "s3cret-in-config-Qp"
          const error = yield* Effect.flip(
            connect(tcp(pg, pg.roles.scram, { password: Redacted.make(secret), requireAuth: "md5" }))
          )
          assert.strictEqual(error._tag, "PgAuthError")
          assertHidden(error, secret)
        })
      )
      it.effect("a failing password Effect fails the connect with PgConfigError (PasswordSource)", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          const error = yield* Effect.flip(
            connect(tcp(pg, pg.roles.scram, { password: Effect.fail(new Error("token service down")) }))
          )
          assert.strictEqual(error._tag, "PgConfigError")
          if (error._tag === "PgConfigError") assert.strictEqual(error.reason, "PasswordSource")
        })
      )

      it.effect("with no password given, the password file is used (TCP and Unix socket)", () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          const dir = mkdtempSync(join(tmpdir(), "effect-pg-pgpass-"))
          yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
          const passfile = join(dir, "pgpass")
          const { user, password } = pg.roles.scram
          // A Unix socket outside the default directory is matched by its path (libpq).
          writeFileSync(
            passfile,
            `127.0.0.1:${pg.port}:postgres:${user}:${password}\n${pg.socketDir}:${pg.port}:*:${user}:${password}\n`,
            { mode: 0o600 }
          )
          for (const base of [tcp(pg, { user }), unix(pg, { user })]) {
            const { session } = yield* Effect.scoped(connectRecorded({ ...base, passfile }))
            assert.strictEqual(session.method, "scram-sha-256")
          }
          // A line for another port does not match: the server asks, and no password is there.
          writeFileSync(passfile, `127.0.0.1:1:*:${user}:${password}\n`, { mode: 0o600 })
          const error = yield* Effect.flip(connect({ ...tcp(pg, { user }), passfile }))
          assert.strictEqual(error._tag, "PgAuthError")
        })
      )
    }
  )
}
