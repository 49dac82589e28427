/**
 * Connection service files against libpq itself: for each case the same files, environment and
 * connection string are given to Debian's psql (libpq 15) and to effect-pg, both connect to two
 * real PG18 servers, and the database, user and port they end up on (or libpq's error message)
 * must be the same. Covers the service name from the connection string, a URI and PGSERVICE;
 * ~/.pg_service.conf, PGSERVICEFILE and PGSYSCONFDIR and which one wins; the precedence over the
 * environment and under the connection string; first-value-wins; and libpq's errors.
 */
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import type { EnvRecord } from "../../src/config/Env.ts"
import { resolve } from "../../src/config/Resolve.ts"
import { connect } from "../../src/Expert.ts"
import { PgTestServer, type PgTestServerInfo } from "../../src/testing/index.ts"

const psqlBin = "/usr/lib/postgresql/15/bin/psql"
const probe = "select current_database(), current_user, inet_server_port()"

class Second extends Context.Service<Second, PgTestServerInfo>()("test/config/SecondServer") {}

interface Case {
  readonly name: string
  readonly conninfo: string
  readonly env?: EnvRecord
  /** Files relative to the case directory: `home/.pg_service.conf`, `sysconf/pg_service.conf`, ... */
  readonly files: Readonly<Record<string, string>>
  /** The expected "database|user|server" (A or B), or the start of libpq's error message. */
  readonly expect: string
}

/** libpq's answer: "db|user|port", or its error message (without psql's prefix). */
const viaPsql = (conninfo: string, env: EnvRecord) =>
  Effect.promise(
    () =>
      new Promise<string>((resolvePromise) => {
        execFile(
          psqlBin,
          ["-X", "-w", "-At", "-c", probe, conninfo],
          { env: env as NodeJS.ProcessEnv, timeout: 20_000 },
          (error, stdout, stderr) =>
            resolvePromise(
              error === null
                ? String(stdout).trim()
                : String(stderr)
                    .trim()
                    .replace(/^psql: error: /, "")
            )
        )
      })
  )

/** effect-pg's answer in the same form; a configuration error's message without our "(from …)". */
const viaEffectPg = (conninfo: string, env: EnvRecord) =>
  Effect.scoped(
    Effect.gen(function* () {
      const config = yield* resolve(conninfo, { env })
      const connection = yield* connect(config)
      const r = yield* connection.query(probe, [], { rowMode: "array" })
      return (r.rows[0] ?? []).join("|")
    })
  ).pipe(Effect.catch((error) => Effect.succeed(error.message.replace(/ \(from [^)]*\)$/, ""))))

const layers = Layer.merge(
  PgTestServer.layer({ version: 18, tls: false, env: {} }),
  Layer.effect(Second, PgTestServer.start({ version: 18, tls: false, env: {} }))
)

layer(layers, { timeout: 120_000, excludeTestServices: true })("service files, effect-pg and libpq", (it) => {
  it.effect("connect to the same database, user and server, or fail with the same message", () =>
    Effect.gen(function* () {
      const a = yield* PgTestServer.PgTestServer
      const b = yield* Second
      const A = `host=127.0.0.1\nport=${a.port}`
      const B = `host=127.0.0.1\nport=${b.port}`
      for (const server of [a, b]) {
        yield* Effect.scoped(
          Effect.flatMap(Effect.flatMap(resolve(server.url, { env: {} }), connect), (c) =>
            Effect.forEach(["db_home", "db_sys", "db_env"], (db) => c.simpleQuery(`create database ${db}`))
          )
        )
      }
      const cases: ReadonlyArray<Case> = [
        {
          name: "the service from the connection string, in ~/.pg_service.conf",
          conninfo: "service=app",
          files: { "home/.pg_service.conf": `[app]\n${A}\ndbname=db_home\nuser=trust_user\n` },
          expect: `db_home|trust_user|${a.port}`
        },
        {
          name: "the service from PGSERVICE",
          conninfo: "",
          env: { PGSERVICE: "app" },
          files: { "home/.pg_service.conf": `[other]\n${A}\n[app]\n${B}\nuser=postgres\n` },
          expect: `postgres|postgres|${b.port}`
        },
        {
          name: "the service from a URI's query",
          conninfo: "postgresql:///?service=app",
          files: { "home/.pg_service.conf": `[app]\n${B}\nuser=postgres\ndbname=db_env\n` },
          expect: `db_env|postgres|${b.port}`
        },
        {
          name: "PGSERVICEFILE instead of ~/.pg_service.conf",
          conninfo: "service=app",
          env: { PGSERVICEFILE: "custom.conf" },
          files: {
            "home/.pg_service.conf": `[app]\n${A}\nuser=postgres\n`,
            "custom.conf": `[app]\n${B}\nuser=postgres\n`
          },
          expect: `postgres|postgres|${b.port}`
        },
        {
          name: "PGSYSCONFDIR/pg_service.conf when the user's file lacks the service",
          conninfo: "service=sys",
          files: {
            "home/.pg_service.conf": `[app]\n${A}\n`,
            "sysconf/pg_service.conf": `[sys]\n${B}\nuser=postgres\ndbname=db_sys\n`
          },
          expect: `db_sys|postgres|${b.port}`
        },
        {
          name: "the user's section wins whole: nothing is merged from the system file",
          conninfo: "service=app",
          files: {
            "home/.pg_service.conf": `[app]\n${B}\nuser=postgres\n`,
            "sysconf/pg_service.conf": `[app]\n${A}\ndbname=db_sys\n`
          },
          expect: `postgres|postgres|${b.port}`
        },
        {
          name: "the connection string wins over the service",
          conninfo: `service=app port=${a.port} dbname=db_home`,
          files: { "home/.pg_service.conf": `[app]\n${B}\nuser=postgres\ndbname=db_sys\n` },
          expect: `db_home|postgres|${a.port}`
        },
        {
          name: "the service wins over the environment, which fills the rest",
          conninfo: "service=app",
          env: { PGPORT: String(b.port), PGDATABASE: "db_env", PGUSER: "trust_user", PGHOST: "localhost" },
          files: { "home/.pg_service.conf": `[app]\n${A}\n` },
          expect: `db_env|trust_user|${a.port}`
        },
        {
          name: "the first value of a keyword wins, a second section of the same name is ignored",
          conninfo: "service=app",
          files: {
            "home/.pg_service.conf": `# comment\n  [app]  \n${A}\nport=${b.port}\nuser=postgres\n[app]\ndbname=db_sys\n`
          },
          expect: `postgres|postgres|${a.port}`
        },
        {
          name: "a service no file defines",
          conninfo: "service=nowhere",
          files: { "home/.pg_service.conf": `[app]\n${A}\n`, "sysconf/pg_service.conf": `[sys]\n${B}\n` },
          expect: 'definition of service "nowhere" not found'
        },
        {
          name: "spaces around = are a syntax error",
          conninfo: "service=app",
          files: { "home/.pg_service.conf": `[app]\nhost = 127.0.0.1\n` },
          expect: 'syntax error in service file "HOME/.pg_service.conf", line 2'
        },
        {
          name: "a nested service",
          conninfo: "service=app",
          files: { "home/.pg_service.conf": `[app]\n${A}\nservice=other\n` },
          expect:
            'nested service specifications not supported in service file "HOME/.pg_service.conf", line 4'
        }
      ]
      const root = mkdtempSync(join(tmpdir(), "effect-pg-service-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(root, { recursive: true, force: true })))
      for (const [i, c] of cases.entries()) {
        const dir = join(root, String(i))
        mkdirSync(join(dir, "home"), { recursive: true })
        mkdirSync(join(dir, "sysconf"))
        for (const [name, text] of Object.entries(c.files)) writeFileSync(join(dir, name), text)
        const env: EnvRecord = {
          PATH: process.env.PATH,
          LC_ALL: "C",
          HOME: join(dir, "home"),
          PGSYSCONFDIR: join(dir, "sysconf"),
          ...Object.fromEntries(
            Object.entries(c.env ?? {}).map(([k, v]) => [k, k === "PGSERVICEFILE" ? join(dir, v!) : v])
          )
        }
        const expected = c.expect.replace("HOME", join(dir, "home"))
        const libpq = yield* viaPsql(c.conninfo, env)
        const ours = yield* viaEffectPg(c.conninfo, env)
        assert.strictEqual(libpq, expected, `libpq: ${c.name}`)
        assert.strictEqual(ours, expected, `effect-pg: ${c.name}`)
      }
    })
  )
})
