/**
 * Address families and name resolution: IPv6 literals (URL brackets and key=value), a DNS name
 * (`localhost`), and IPv4, each checked from the server's side with inet_server_addr().
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"

layer(
  PgTestServer.layer({
    version: 18,
    tls: false,
    backend: "local",
    settings: { listen_addresses: "127.0.0.1,::1" }
  }),
  {
    timeout: 120_000,
    excludeTestServices: true
  }
)("addresses (PG18)", (it) => {
  const serverAddr = (input: string) =>
    Effect.gen(function* () {
      const conn = yield* Expert.connect(input)
      return (yield* conn.query("select host(inet_server_addr())")).rows[0]!.host
    })

  it.effect("IPv6 literal in a URL (brackets) and in key=value", () =>
    Effect.gen(function* () {
      const pg = yield* PgTestServer.PgTestServer
      assert.strictEqual(yield* serverAddr(`postgres://postgres@[::1]:${pg.port}/postgres`), "::1")
      assert.strictEqual(yield* serverAddr(`host=::1 port=${pg.port} user=postgres dbname=postgres`), "::1")
    })
  )

  it.effect("IPv4 literal and a DNS name", () =>
    Effect.gen(function* () {
      const pg = yield* PgTestServer.PgTestServer
      assert.strictEqual(yield* serverAddr(`postgres://postgres@127.0.0.1:${pg.port}/postgres`), "127.0.0.1")
      const viaName = yield* serverAddr(`postgres://postgres@localhost:${pg.port}/postgres`)
      assert.include(["127.0.0.1", "::1"], viaName)
    })
  )
})
