/**
 * LISTEN and UNLISTEN through the listen command (commands/listen.ts) against a real server: run
 * as a custom command, and through notifications.ts's Listeners given the connection's `run` (the
 * wiring the lead switches operations.ts to): the channel quoted, listened to while a subscriber
 * is in scope, UNLISTENed after; refused names never reach the server.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { listen } from "../../src/commands/listen.ts"
import { Listeners } from "../../src/connection/notifications.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { open } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "listen command (PG18)",
  (it) => {
    const channels = (conn: {
      simpleQuery: (
        sql: string
      ) => Effect.Effect<
        { results: ReadonlyArray<{ rows: ReadonlyArray<ReadonlyArray<string | null>> }> },
        unknown
      >
    }) =>
      Effect.map(conn.simpleQuery("select pg_listening_channels() order by 1"), (r) =>
        r.results[0]!.rows.map((row) => row[0])
      )

    it.effect("LISTEN and UNLISTEN as a command, the channel quoted", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.run(listen, { channel: 'Mixed "quoted"' })
        assert.deepStrictEqual(yield* channels(conn), ['Mixed "quoted"'])
        yield* conn.run(listen, { channel: 'Mixed "quoted"', unlisten: true })
        assert.deepStrictEqual(yield* channels(conn), [])
        const e = yield* Effect.flip(conn.run(listen, { channel: "x".repeat(64) }))
        assert.deepStrictEqual(e._tag === "PgProtocolError" && [e.reason, e.mayHaveRun], [
          "InvalidValue",
          false
        ])
      })
    )

    it.effect("Listeners given the connection's run: LISTEN while subscribed, UNLISTEN after", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const listeners = new Listeners({ run: conn.run })
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* listeners.listen("chan_a")
            yield* listeners.listen("chan_a")
            yield* listeners.listen("chan b")
            assert.deepStrictEqual(yield* channels(conn), ["chan b", "chan_a"])
          })
        )
        assert.deepStrictEqual(yield* channels(conn), [])
        for (const bad of ["", "nul\0", "é".repeat(32)]) {
          const e = yield* Effect.flip(Effect.scoped(listeners.listen(bad)))
          assert.strictEqual(e._tag, "PgProtocolError", JSON.stringify(bad))
        }
      })
    )
  }
)
