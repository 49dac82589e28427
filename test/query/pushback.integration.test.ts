/**
 * Pushback: a slow consumer of a 10M-row stream stops the client from reading the socket, so the
 * server blocks in ClientWrite and the process's memory stays flat. Asserted from the server's
 * own wait_event and from process memory, not from timing.
 */
import { assert, layer } from "@effect/vitest"
import { Cause, Effect, Stream } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 300_000, excludeTestServices: true })(
  "pushback (PG18)",
  (it) => {
    it.effect(
      "a slow consumer of 10M rows keeps memory flat and the server waits in ClientWrite",
      () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const conn = yield* Expert.connect(server.url)
          const observer = yield* Expert.connect(server.url)
          const total = 10_000_000
          const pull = yield* Stream.toPull(
            conn.stream("select g, 'row number ' || g from generate_series(1, $1::int) g", [String(total)])
          )
          let seen = (yield* pull).length
          const baseline = process.memoryUsage()

          // The consumer now stops. With pushback the backend soon blocks writing to the client.
          const waitEvent = Effect.gen(function* () {
            for (let i = 0; i < 200; i++) {
              const r = yield* observer.query("select wait_event from pg_stat_activity where pid = $1", [
                String(conn.processId)
              ])
              if (r.rows[0]?.wait_event === "ClientWrite") return "ClientWrite"
              yield* Effect.sleep("50 millis")
            }
            return "never blocked"
          })
          assert.strictEqual(yield* waitEvent, "ClientWrite")
          yield* Effect.sleep("1 second")
          const stalled = process.memoryUsage()
          assert.isBelow(mb(stalled.rss - baseline.rss), 48, "memory grew while the consumer was stalled")

          // A slow consumer for a while, then to the end; memory never runs away.
          let peak = 0
          for (;;) {
            const batch = yield* Effect.catchIf(pull, Cause.isDone, () => Effect.succeed(undefined))
            if (batch === undefined) break
            seen += batch.length
            if (seen < 200_000) yield* Effect.sleep("2 millis")
            if ((seen & 0xffff) < batch.length)
              peak = Math.max(peak, process.memoryUsage().rss - baseline.rss)
          }
          assert.strictEqual(seen, total)
          assert.isBelow(mb(peak), 150, `peak RSS growth ${mb(peak)} MB`)
          assert.deepStrictEqual((yield* conn.query("select 'in sync'")).rows, [{ "?column?": "in sync" }])
        }),
      300_000
    )
  }
)
