import { execFileSync } from "node:child_process"
import { readFileSync, statSync } from "node:fs"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { type PgTestLocalServer, PgTestServer, type PgTestServerInfo } from "../../src/testing/index.ts"
import { connectAndStartup, type Session, type StartupResult, sslRequest } from "./probe.ts"

const local = (info: PgTestServerInfo): PgTestLocalServer => {
  if (info.source !== "local") throw new Error(`expected a local server, got ${info.source}`)
  return info
}

/** Runs a startup through the probe and closes the session afterwards. */
const probe = (
  pg: PgTestLocalServer,
  options: { readonly user: string; readonly password?: string },
  how: { readonly socket?: boolean; readonly tls?: { readonly cert?: string; readonly key?: string } } = {}
): Effect.Effect<StartupResult, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      connectAndStartup(
        how.socket === true ? { port: pg.port, socketDir: pg.socketDir } : { host: pg.host, port: pg.port },
        options,
        how.tls === undefined ? undefined : { ca: pg.tls!.ca, ...how.tls }
      )
    ),
    (result) => Effect.sync(() => result.session.close())
  )

const query = (session: Session, sql: string) => Effect.promise(() => session.query(sql))

/** Log lines written after `mark` (the log length before an action). */
const logSince = (pg: PgTestLocalServer, mark: number) => Effect.map(pg.readLog, (log) => log.slice(mark))

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, env: {} }))(`PG${version} cluster`, (it) => {
    it.effect("is the requested version, as the server itself reports it", () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        assert.strictEqual(pg.version, version)
        const result = yield* probe(pg, { user: "postgres" })
        assert.isTrue(result.ready)
        assert.strictEqual(result.params.server_version, pg.versionString)
        assert.strictEqual(Number.parseInt(result.params.server_version!, 10), version)
        assert.strictEqual(pg.url, `postgres://postgres@127.0.0.1:${pg.port}/postgres`)
        const rows = yield* query(result.session, "select 1")
        assert.deepStrictEqual(
          rows.map((f) => f.type),
          ["T", "D", "C", "Z"]
        )
      })
    )

    it.effect("accepts connections on the unix socket", () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const result = yield* probe(pg, { user: "postgres" }, { socket: true })
        assert.isTrue(result.ready)
      })
    )

    it.effect("applies the harness settings", () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const result = yield* probe(pg, { user: "postgres" })
        const frames = yield* query(
          result.session,
          "select string_agg(name || '=' || setting, ',' order by name) from pg_settings where name in " +
            "('fsync','synchronous_commit','full_page_writes','lc_messages','log_connections','listen_addresses','ssl')"
        )
        const row = frames.find((f) => f.type === "D")!
        const text = row.body.subarray(6).toString("utf8")
        for (const expected of [
          "fsync=off",
          "full_page_writes=off",
          "lc_messages=C",
          "listen_addresses=127.0.0.1",
          "ssl=on",
          "synchronous_commit=off"
        ]) {
          assert.include(text, expected)
        }
        assert.match(text, /log_connections=(on|receipt,authentication,authorization|all)/)
      })
    )

    it.effect("has one role per authentication method, visible in the log", () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const { roles } = pg
        const mark = (yield* pg.readLog).length

        const trust = yield* probe(pg, roles.trust)
        assert.deepStrictEqual([trust.ready, trust.authRequests], [true, [0]])

        const cleartext = yield* probe(pg, roles.password)
        assert.deepStrictEqual([cleartext.ready, cleartext.authRequests], [true, [3, 0]])

        const md5 = yield* probe(pg, roles.md5)
        assert.deepStrictEqual([md5.ready, md5.authRequests], [true, [5, 0]])

        const wrong = yield* probe(pg, { user: roles.md5.user, password: "nope" })
        assert.strictEqual(wrong.error?.code, "28P01")

        const scram = yield* probe(pg, roles.scram)
        assert.deepStrictEqual(scram.authRequests, [10])
        assert.deepStrictEqual(scram.saslMechanisms, ["SCRAM-SHA-256"])

        const scramSocket = yield* probe(pg, roles.scram, { socket: true })
        assert.deepStrictEqual(scramSocket.saslMechanisms, ["SCRAM-SHA-256"])

        const log = yield* logSince(pg, mark)
        assert.include(log, `connection authenticated: identity="${roles.password.user}" method=password`)
        assert.include(log, `connection authenticated: identity="${roles.md5.user}" method=md5`)
        assert.include(log, `connection authorized: user=${roles.trust.user} database=postgres`)
        assert.include(log, `password authentication failed for user "${roles.md5.user}"`)
      })
    )

    it.effect("serves TLS with the exposed CA, and cert / ssl-only roles", () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const tls = pg.tls!
        const { roles } = pg
        const answer = yield* Effect.promise(() => sslRequest({ port: pg.port }))
        answer.socket.destroy()
        assert.strictEqual(answer.answer, "S")

        const overTls = yield* probe(pg, { user: "postgres" }, { tls: {} })
        assert.isTrue(overTls.ready)

        const mark = (yield* pg.readLog).length
        const cert = yield* probe(pg, roles.cert, { tls: { cert: tls.cert, key: tls.key } })
        assert.deepStrictEqual([cert.ready, cert.authRequests], [true, [0]])
        const noCert = yield* probe(pg, roles.cert, { tls: {} })
        assert.include(noCert.error?.message ?? "", "certificate")
        const certPlain = yield* probe(pg, roles.cert)
        assert.strictEqual(certPlain.error?.code, "28000")

        const sslOnlyPlain = yield* probe(pg, roles.sslOnly)
        assert.include(sslOnlyPlain.error?.message ?? "", "no encryption")
        const sslOnlySocket = yield* probe(pg, roles.sslOnly, { socket: true })
        assert.strictEqual(sslOnlySocket.error?.code, "28000")
        const sslOnly = yield* probe(pg, roles.sslOnly, { tls: {} })
        assert.deepStrictEqual(sslOnly.authRequests, [10])
        assert.include(sslOnly.saslMechanisms, "SCRAM-SHA-256-PLUS")

        const log = yield* logSince(pg, mark)
        assert.include(log, `identity="CN=${roles.cert.user}" method=cert`)
      })
    )

    it.effect("exposes the TLS files with the right modes", () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const tls = pg.tls!
        const key = statSync(tls.keyFile)
        assert.strictEqual(key.mode & 0o777, 0o600)
        assert.strictEqual(key.uid, process.getuid!())
        for (const [file, pem] of [
          [tls.caFile, tls.ca],
          [tls.certFile, tls.cert],
          [tls.keyFile, tls.key]
        ] as const) {
          assert.strictEqual(readFileSync(file, "utf8"), pem)
        }
        assert.match(tls.ca, /^-----BEGIN CERTIFICATE-----/)
        assert.match(tls.key, /^-----BEGIN PRIVATE KEY-----/)
      })
    )
  })
}

describe("other versions and options", () => {
  it.live(
    "starts PG14, PG16 and PG17 side by side",
    () =>
      Effect.gen(function* () {
        const servers = yield* Effect.all(
          [
            PgTestServer.start({ version: 14, env: {}, tls: false }),
            PgTestServer.start({ version: 16, env: {}, tls: false }),
            PgTestServer.start({ version: 17, env: {}, tls: false })
          ],
          { concurrency: 2 }
        )
        for (const [info, expected] of [
          [servers[0], 14],
          [servers[1], 16],
          [servers[2], 17]
        ] as const) {
          const pg = local(info)
          const result = yield* probe(pg, { user: "postgres" })
          assert.strictEqual(result.params.server_version, pg.versionString)
          assert.strictEqual(Number.parseInt(pg.versionString, 10), expected)
        }
        assert.strictEqual(new Set(servers.map((server) => server.port)).size, 3)
      }),
    120_000
  )

  it.live("tls: false answers N to SSLRequest and exposes no TLS material", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.start({ env: {}, tls: false }))
      assert.isUndefined(pg.tls)
      const answer = yield* Effect.promise(() => sslRequest({ port: pg.port }))
      answer.socket.destroy()
      assert.strictEqual(answer.answer, "N")
      const sslOnly = yield* probe(pg, pg.roles.sslOnly)
      assert.include(sslOnly.error?.message ?? "", "no encryption")
    })
  )

  it.live("settings and hba options reach the server", () =>
    Effect.gen(function* () {
      const pg = local(
        yield* PgTestServer.start({
          env: {},
          tls: { keyType: "rsa" },
          settings: { application_name: "it's quoted", work_mem: "8MB", log_disconnections: true },
          hba: ["host all trust_user 127.0.0.1/32 reject"]
        })
      )
      const result = yield* probe(pg, { user: "postgres" })
      assert.strictEqual(result.params.application_name, "it's quoted")
      const frames = yield* query(result.session, "show work_mem")
      assert.include(frames.find((f) => f.type === "D")!.body.toString("utf8"), "8MB")
      // Extra lines come after the role lines, so trust_user is still trusted.
      const trust = yield* probe(pg, pg.roles.trust)
      assert.isTrue(trust.ready)
      assert.include(pg.tls!.key, "PRIVATE KEY")
      const text = execFileSync("openssl", ["x509", "-noout", "-text", "-in", pg.tls!.caFile]).toString()
      assert.include(text, "rsaEncryption")
    })
  )
})

describe("the environment cannot redirect a throwaway server", () => {
  it.live(
    "PG_URL, DATABASE_URL and PGHOST start a local server anyway; backend local ignores EFFECT_PG_TEST_URL",
    () =>
      Effect.gen(function* () {
        const libpq = {
          PG_URL: "postgres://u:p@example.invalid:1/x",
          DATABASE_URL: "postgres://u:p@example.invalid:1/x",
          PGHOST: "example.invalid",
          PGPORT: "1",
          PGUSER: "someone"
        }
        for (const options of [
          { env: libpq },
          {
            env: { ...libpq, EFFECT_PG_TEST_URL: "postgres://u@example.invalid:1/x" },
            backend: "local" as const
          }
        ]) {
          const pg = local(yield* PgTestServer.start({ version: 18, tls: false, ...options }))
          assert.strictEqual(pg.host, "127.0.0.1")
          const result = yield* probe(pg, { user: "postgres" })
          assert.isTrue(result.ready)
        }
      }).pipe(Effect.scoped)
  )
})
