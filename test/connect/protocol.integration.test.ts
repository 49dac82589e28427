/**
 * Protocol version negotiation and direct TLS against real PostgreSQL 15, 17 and 18.
 *
 * Covers: asking for 3.0 (a 4-byte cancel key everywhere); asking for 3.2, as the default does (PG18
 * grants it with a 32-byte key, PG15/17 answer NegotiateProtocolVersion and the session runs 3.0);
 * `minProtocolVersion: "3.2"` refused clearly by PG15/17; `sslnegotiation=direct` (TLS at once with
 * ALPN) accepted by PG17/18 and refused by PG15 without a hang, combined with verify-full and 3.2.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { connect } from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { bounded, connectRecorded, local, sslInUse, tcp } from "./support.ts"

const superuser = { user: "postgres" }

for (const version of [18, 17, 15] as const) {
  layer(PgTestServer.layer({ version, env: {} }), { excludeTestServices: true })(`PG${version}`, (it) => {
    it.effect("maxProtocolVersion 3.0: a 4-byte cancel key", () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const connection = yield* connect(tcp(pg, superuser, { maxProtocolVersion: "3.0" }))
        assert.strictEqual(connection.protocolMinor, 0)
        assert.strictEqual(connection.secretKey.length, 4)
        assert.strictEqual(Math.floor(connection.serverVersionNum / 10000), version)
      })
    )

    it.effect(
      version >= 18
        ? "3.2 (the default, 3.2, latest) is granted: a 32-byte cancel key"
        : "3.2 (the default, 3.2, latest) is negotiated down to 3.0, and the session works",
      () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          for (const maxProtocolVersion of [undefined, "3.2", "latest"] as const) {
            const connection = yield* connect(
              tcp(pg, superuser, maxProtocolVersion === undefined ? {} : { maxProtocolVersion })
            )
            assert.strictEqual(connection.protocolMinor, version >= 18 ? 2 : 0)
            assert.strictEqual(connection.secretKey.length, version >= 18 ? 32 : 4)
            const result = yield* connection.query("select $1::int + 1", ["41"])
            assert.deepStrictEqual(result.rows, [{ "?column?": 42 }])
            // The backend pid the client was told is the one the server runs the session in.
            const pid = yield* connection.query("select pg_backend_pid()")
            assert.strictEqual(pid.rows[0]?.pg_backend_pid, connection.processId)
          }
        })
    )

    it.effect(
      version >= 18 ? "minProtocolVersion 3.2 is satisfied" : "minProtocolVersion 3.2 fails clearly",
      () =>
        Effect.gen(function* () {
          const pg = local(yield* PgTestServer.PgTestServer)
          const attempt = connect(tcp(pg, superuser, { minProtocolVersion: "3.2" }))
          if (version >= 18) {
            const connection = yield* attempt
            assert.strictEqual(connection.protocolMinor, 2)
            return
          }
          const error = yield* Effect.flip(attempt)
          assert.strictEqual(error._tag, "PgProtocolError")
          if (error._tag !== "PgProtocolError") return
          assert.strictEqual(error.reason, "ProtocolVersion")
          assert.include(error.message, "3.0")
          assert.include(error.message, "3.2")
        })
    )

    it.effect(version >= 17 ? "direct TLS works" : "direct TLS is refused, without a hang", () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const direct = tcp(pg, superuser, { sslmode: "require", sslnegotiation: "direct" })
        if (version >= 17) {
          const { connection, transport } = yield* connectRecorded(direct)
          assert.isTrue(transport.tls)
          assert.isTrue((yield* sslInUse(connection)).ssl)
          const verified = yield* connect({
            ...direct,
            host: "localhost",
            hostaddr: "127.0.0.1",
            sslmode: "verify-full",
            sslrootcert: pg.tls!.caFile,
            maxProtocolVersion: "latest"
          })
          assert.isTrue((yield* sslInUse(verified)).ssl)
          assert.strictEqual(verified.protocolMinor, version >= 18 ? 2 : 0)
          return
        }
        // No connect_timeout: the client must notice the server hanging up by itself.
        const error = yield* bounded("direct TLS against PG15", 20, Effect.flip(connect(direct)))
        assert.strictEqual(error._tag, "PgConnectionError")
        if (error._tag !== "PgConnectionError") return
        assert.strictEqual(error.phase, "tls")
        // The server saw a TLS record where it expected a startup packet.
        const log = yield* Effect.orDie(pg.readLog)
        assert.match(log, /invalid length of startup packet|unsupported frontend protocol/)
      })
    )
  })
}
