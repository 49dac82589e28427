/**
 * sslmode against a real PostgreSQL 18 with TLS and one without, through the public `connect`.
 *
 * Covers: each of disable, allow, prefer, require, verify-ca and verify-full, asserting from the
 * server side (`pg_stat_ssl`) whether the session is encrypted, or that the connect fails as libpq's
 * does; libpq's fallbacks (allow: plaintext, then TLS when pg_hba refuses plaintext; prefer: TLS,
 * then plaintext when pg_hba refuses TLS); certificate checks (a wrong trust anchor, a host name
 * the certificate does not name, `require` verifying the chain when a root file is given); TLS
 * version bounds; `sslcertmode=require` refused; revocation lists (`sslcrl`) and ALPN, against a
 * TLS server made here with its own throwaway PKI.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { ConnectConfigInput, SslMode } from "../../src/config/ConnectConfig.ts"
import { connect } from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { bounded, local, revocationPki, sslInUse, tcp, tlsHangUpServer, unix } from "./support.ts"

const superuser = { user: "postgres" }

/** The error of a failed connect, with a tag and fields the assertions read. */
const failure = (error: {
  readonly _tag: string
  readonly message: string
  readonly phase?: string
  readonly reason?: string
}) => ({
  tag: error._tag,
  phase: error.phase,
  reason: error.reason,
  message: error.message
})

layer(
  PgTestServer.layer({
    version: 18,
    env: {},
    hba: ["hostssl all plain_only 127.0.0.1/32 reject", "hostnossl all plain_only 127.0.0.1/32 trust"]
  }),
  {
    excludeTestServices: true
  }
)("a server with TLS", (it) => {
  const expected: ReadonlyArray<readonly [SslMode, boolean]> = [
    ["disable", false],
    ["allow", false],
    ["prefer", true],
    ["require", true],
    ["verify-ca", true],
    ["verify-full", true]
  ]
  for (const [sslmode, encrypted] of expected) {
    it.effect(`sslmode=${sslmode} ${encrypted ? "encrypts" : "stays in plaintext"}`, () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const connection = yield* connect(tcp(pg, superuser, { sslmode, sslrootcert: pg.tls!.caFile }))
        const state = yield* sslInUse(connection)
        assert.strictEqual(state.ssl, encrypted)
        if (encrypted) assert.match(state.version ?? "", /^TLSv1\.[23]$/)
      })
    )
  }

  it.effect("verify-ca and verify-full need a root certificate file (no silent downgrade)", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      for (const sslmode of ["verify-ca", "verify-full"] as const) {
        const error = yield* Effect.flip(
          connect(tcp(pg, superuser, { sslmode, sslrootcert: `${pg.dataDir}/../no-such-root.crt` }))
        )
        assert.strictEqual(error._tag, "PgConfigError", sslmode)
        assert.include(error.message, "does not exist")
      }
    })
  )

  it.effect(
    "a certificate not signed by the given root is refused by verify-ca, verify-full and require",
    () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        // The client certificate is a leaf, not the CA that signed the server's certificate.
        for (const sslmode of ["require", "verify-ca", "verify-full"] as const) {
          const error = yield* Effect.flip(
            connect(tcp(pg, superuser, { sslmode, sslrootcert: pg.tls!.certFile }))
          )
          const seen = failure(error)
          assert.deepStrictEqual(
            [seen.tag, seen.phase],
            ["PgConnectionError", "tls"],
            `${sslmode}: ${seen.message}`
          )
        }
        // prefer falls back to plaintext after a failed TLS attempt, as libpq does.
        const fallback = yield* connect(
          tcp(pg, superuser, { sslmode: "prefer", sslrootcert: pg.tls!.certFile })
        )
        assert.isFalse((yield* sslInUse(fallback)).ssl)
      })
  )

  it.effect("verify-full checks the host name; verify-ca does not", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      const caFile = pg.tls!.caFile
      // Dial 127.0.0.1 but verify against a name the certificate (SAN localhost, 127.0.0.1, ::1) lacks.
      const wrong = { host: "wrong.example", hostaddr: "127.0.0.1", sslrootcert: caFile }
      const error = yield* Effect.flip(connect(tcp(pg, superuser, { ...wrong, sslmode: "verify-full" })))
      const seen = failure(error)
      assert.deepStrictEqual([seen.tag, seen.phase], ["PgConnectionError", "tls"], seen.message)
      assert.include(seen.message, "wrong.example")

      const caOnly = yield* connect(tcp(pg, superuser, { ...wrong, sslmode: "verify-ca" }))
      assert.isTrue((yield* sslInUse(caOnly)).ssl)

      for (const host of ["localhost", "127.0.0.1"]) {
        const named = yield* connect(
          tcp(pg, superuser, { host, hostaddr: "127.0.0.1", sslrootcert: caFile, sslmode: "verify-full" })
        )
        assert.isTrue((yield* sslInUse(named)).ssl, host)
      }
    })
  )

  it.effect("TLS never applies to the Unix socket, whatever sslmode says (libpq)", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      for (const sslmode of ["require", "verify-full"] as const) {
        const connection = yield* connect(unix(pg, superuser, { sslmode, sslrootcert: pg.tls!.caFile }))
        assert.isFalse((yield* sslInUse(connection)).ssl, sslmode)
      }
    })
  )

  it.effect("ssl_min_protocol_version and ssl_max_protocol_version bound the TLS version", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      const cases: ReadonlyArray<readonly [Partial<ConnectConfigInput>, string]> = [
        [{ sslMaxProtocolVersion: "TLSv1.2" }, "TLSv1.2"],
        [{ sslMinProtocolVersion: "TLSv1.3" }, "TLSv1.3"],
        [{ sslMinProtocolVersion: "TLSv1.2", sslMaxProtocolVersion: "TLSv1.2" }, "TLSv1.2"]
      ]
      for (const [bounds, version] of cases) {
        const connection = yield* connect(tcp(pg, superuser, { sslmode: "require", ...bounds }))
        assert.strictEqual((yield* sslInUse(connection)).version, version, JSON.stringify(bounds))
      }
    })
  )

  it.effect(
    "sslcertmode=require is refused: Node cannot tell whether the server asked for a certificate",
    () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const error = yield* Effect.flip(
          connect(tcp(pg, superuser, { sslmode: "require", sslcertmode: "require" }))
        )
        assert.strictEqual(error._tag, "PgConfigError")
        if (error._tag === "PgConfigError") assert.strictEqual(error.reason, "UnsupportedOption")
        // allow (the default) and disable connect.
        for (const sslcertmode of ["allow", "disable"] as const) {
          const connection = yield* connect(tcp(pg, superuser, { sslmode: "require", sslcertmode }))
          assert.isTrue((yield* sslInUse(connection)).ssl, sslcertmode)
        }
      })
  )

  it.effect("allow retries with TLS when the server refuses plaintext", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      const connection = yield* connect(tcp(pg, pg.roles.sslOnly, { sslmode: "allow" }))
      assert.isTrue((yield* sslInUse(connection)).ssl)
      const refused = yield* Effect.flip(connect(tcp(pg, pg.roles.sslOnly, { sslmode: "disable" })))
      assert.strictEqual(refused._tag, "PgAuthError")
    })
  )

  it.effect("prefer retries in plaintext when the server refuses TLS", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      const admin = yield* connect(tcp(pg, superuser))
      yield* admin.query("create role plain_only login")
      const connection = yield* connect(tcp(pg, { user: "plain_only" }, { sslmode: "prefer" }))
      assert.isFalse((yield* sslInUse(connection)).ssl)
      const refused = yield* Effect.flip(connect(tcp(pg, { user: "plain_only" }, { sslmode: "require" })))
      assert.strictEqual(refused._tag, "PgAuthError")
    })
  )
})

layer(PgTestServer.layer({ version: 18, env: {}, tls: false }), { excludeTestServices: true })(
  "a server without TLS",
  (it) => {
    for (const sslmode of ["disable", "allow", "prefer"] as const) {
      it.effect(`sslmode=${sslmode} connects in plaintext`, () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          const connection = yield* connect(tcp(pg, superuser, { sslmode }))
          assert.isFalse((yield* sslInUse(connection)).ssl)
        })
      )
    }
    for (const sslmode of ["require", "verify-ca", "verify-full"] as const) {
      it.effect(`sslmode=${sslmode} fails: the server does not support SSL`, () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          // Any file will do as the root: the server refuses before a certificate is seen.
          const error = yield* Effect.flip(connect(tcp(pg, superuser, { sslmode, sslrootcert: pg.logFile })))
          const seen = failure(error)
          assert.deepStrictEqual([seen.tag, seen.phase], ["PgConnectionError", "tls"], seen.message)
          assert.include(seen.message, "does not support SSL")
        })
      )
    }
    it.effect("sslnegotiation=direct fails without a hang against a server without TLS", () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const error = yield* Effect.flip(
          connect(tcp(pg, superuser, { sslmode: "require", sslnegotiation: "direct" }))
        )
        const seen = failure(error)
        assert.deepStrictEqual([seen.tag, seen.phase], ["PgConnectionError", "tls"], seen.message)
      })
    )
  }
)

describe("certificate revocation lists (sslcrl)", () => {
  it.live("a server certificate revoked by the CRL is refused; one the CRL does not list is accepted", () =>
    Effect.gen(function* () {
      const pki = yield* revocationPki
      const port = yield* tlsHangUpServer({ cert: pki.serverCert, key: pki.serverKey, alpn: ["postgresql"] })
      const input = (sslcrl: string | undefined): ConnectConfigInput => ({
        host: "127.0.0.1",
        port,
        user: "postgres",
        database: "postgres",
        sslmode: "verify-full",
        sslnegotiation: "direct",
        sslrootcert: pki.caFile,
        ...(sslcrl === undefined ? {} : { sslcrl })
      })
      // The handshake passes (the server then hangs up: the startup fails, not TLS).
      for (const sslcrl of [undefined, pki.emptyCrlFile]) {
        const error = yield* bounded("crl", 20, Effect.flip(connect(input(sslcrl))))
        assert.strictEqual(
          error._tag === "PgConnectionError" ? error.phase : error._tag,
          "auth",
          error.message
        )
      }
      const revoked = yield* bounded("crl", 20, Effect.flip(connect(input(pki.revokingCrlFile))))
      const seen = failure(revoked)
      assert.deepStrictEqual([seen.tag, seen.phase], ["PgConnectionError", "tls"], seen.message)
      assert.include(seen.message, "revoked")
    })
  )

  it.live("direct TLS to a server that does not negotiate ALPN postgresql is refused", () =>
    Effect.gen(function* () {
      const pki = yield* revocationPki
      for (const alpn of [undefined, ["http/1.1", "postgresql-not"]]) {
        const port = yield* tlsHangUpServer({
          cert: pki.serverCert,
          key: pki.serverKey,
          ...(alpn === undefined ? {} : { alpn })
        })
        const error = yield* bounded(
          "ALPN",
          20,
          Effect.flip(
            connect({
              host: "127.0.0.1",
              port,
              user: "postgres",
              sslmode: "require",
              sslnegotiation: "direct"
            })
          )
        )
        const seen = failure(error)
        assert.deepStrictEqual([seen.tag, seen.phase], ["PgConnectionError", "tls"], seen.message)
      }
    })
  )
})
