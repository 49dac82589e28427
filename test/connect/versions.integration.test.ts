/**
 * The client on every major the harness starts (PG 14, 15, 16, 17 and 18, TLS on): the protocol
 * version each one settles on (3.2 and a 32-byte cancel key on 18, NegotiateProtocolVersion to
 * 3.0 and a 4-byte key before), direct TLS (accepted from 17 on, refused before), and one round
 * of the everyday operations: a query with parameters, a stream, COPY in and out, LISTEN/NOTIFY,
 * a cancelled statement and a Pool transaction. Authentication per version is in
 * auth.integration.test.ts; the newer operations per version in test/operations/versions.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { connect } from "../../src/Expert.ts"
import * as Pool from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { local, tcp } from "./support.ts"

const encoder = new TextEncoder()

for (const version of [14, 15, 16, 17, 18] as const) {
  layer(PgTestServer.layer({ version, env: {} }), { timeout: 60_000, excludeTestServices: true })(
    `the client on PG${version}`,
    (it) => {
      const server = Effect.map(PgTestServer.PgTestServer, local)

      it.effect("negotiates the protocol: 3.2 on PG18, 3.0 before", () =>
        Effect.gen(function* () {
          const pg = yield* server
          const connection = yield* connect(tcp(pg, { user: "postgres" }))
          assert.strictEqual(Math.floor(connection.serverVersionNum / 10000), version)
          assert.strictEqual(connection.protocolMinor, version >= 18 ? 2 : 0)
          assert.strictEqual(connection.secretKey.length, version >= 18 ? 32 : 4)
          const fixed = yield* connect(tcp(pg, { user: "postgres" }, { maxProtocolVersion: "3.0" }))
          assert.strictEqual(fixed.protocolMinor, 0)
        }).pipe(Effect.scoped)
      )

      it.effect("direct TLS: accepted from PG17 on, refused before", () =>
        Effect.gen(function* () {
          const pg = yield* server
          const input = tcp(
            pg,
            { user: "postgres" },
            {
              host: "localhost",
              sslmode: "verify-full",
              sslrootcert: pg.tls!.caFile,
              sslnegotiation: "direct"
            }
          )
          const result = yield* Effect.result(
            Effect.scoped(Effect.flatMap(connect(input), (c) => c.query("select 1")))
          )
          assert.strictEqual(result._tag, version >= 17 ? "Success" : "Failure")
          if (result._tag === "Failure") assert.strictEqual(result.failure._tag, "PgConnectionError")
        })
      )

      it.effect("query, stream, COPY in and out, LISTEN/NOTIFY, cancel", () =>
        Effect.gen(function* () {
          const pg = yield* server
          const c = yield* connect(tcp(pg, { user: "postgres" }))
          assert.deepStrictEqual(
            (yield* c.query("select $1::int + $2::int, $3::text", ["40", "2", null])).rows,
            [{ "?column?": 42, text: null }]
          )
          const streamed = yield* Stream.runCount(c.stream("select generate_series(1, 1000)"))
          assert.strictEqual(streamed, 1000)

          yield* c.simpleQuery("create temp table t (id int, name text)")
          const copied = yield* c.copyIn("copy t from stdin", Stream.make(encoder.encode("1\tone\n2\t\\N\n")))
          assert.strictEqual(copied.rows, 2)
          const out = yield* Stream.runCollect(c.copyOutRows("copy t to stdout"))
          assert.deepStrictEqual(out, [
            ["1", "one"],
            ["2", null]
          ])

          const notifications = yield* c.listen("versions")
          const first = yield* Effect.forkChild(Stream.runHead(notifications), { startImmediately: true })
          yield* c.notify("versions", `hello ${version}`)
          const received = yield* Fiber.join(first)
          assert.strictEqual(
            received._tag === "Some" ? received.value.payload : undefined,
            `hello ${version}`
          )

          const sleeping = yield* Effect.forkChild(Effect.flip(c.query("select pg_sleep(30)")), {
            startImmediately: true
          })
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 200)))
          yield* c.cancel
          const cancelled = yield* Fiber.join(sleeping)
          assert.strictEqual(cancelled._tag === "PgServerError" ? cancelled.code : cancelled._tag, "57014")
        }).pipe(Effect.scoped)
      )

      it.effect("a Pool commits a transaction and rolls back a failed one", () =>
        Effect.gen(function* () {
          const pg = yield* server
          const { pool } = yield* Pool.make({ connect: tcp(pg, { user: "postgres" }), max: 2 })
          yield* pool.query("create table if not exists pooled (x int)")
          yield* pool.withTransaction((tx) => tx.query("insert into pooled values (1)"))
          const failed = yield* Effect.flip(
            pool.withTransaction((tx) =>
              Effect.andThen(tx.query("insert into pooled values (2)"), tx.query("select 1/0"))
            )
          )
          assert.include(failed.message, "division by zero")
          assert.deepStrictEqual((yield* pool.query("select array_agg(x) from pooled")).rows, [
            { array_agg: [1] }
          ])
        }).pipe(Effect.scoped)
      )
    }
  )
}
