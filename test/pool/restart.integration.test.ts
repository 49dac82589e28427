/**
 * A server restart (fast shutdown: every backend gets FATAL 57P01, then the server is down for a
 * moment) while 100 borrowers keep querying through a pool of 5. The pool must recover on its own:
 * later queries succeed, no borrower is left holding a connection, and the server sees exactly
 * the pool's connections.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, backendPids, connectInput, eventually, monitor } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false, backend: "local" }), {
  timeout: 120_000,
  excludeTestServices: true
})("Pool and server restart (PG18)", (it) => {
  it.effect("the pool recovers from a restart under load and leaks nothing", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      if (server.source !== "local")
        return yield* Effect.die('this test needs a server started here (backend: "local")')
      const app = appName("pool_restart")
      const { pool } = yield* PoolM.make({
        connect: { ...connectInput(server, app), connectTimeout: 2 },
        max: 5,
        acquireTimeout: "5 seconds",
        maintenanceInterval: "100 millis"
      })
      let running = true
      let ok = 0
      let failed = 0
      const worker = (i: number) =>
        Effect.whileLoop({
          while: () => running,
          body: () =>
            Effect.exit(pool.query("select $1::int, pg_sleep(0.002)", [String(i)])).pipe(
              Effect.tap((exit) =>
                Effect.sync(() => {
                  if (Exit.isSuccess(exit)) ok++
                  else failed++
                })
              ),
              Effect.andThen(Effect.sleep("1 millis"))
            ),
          step: () => {}
        })
      const workers = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) => Effect.forkChild(worker(i))
      )
      yield* eventually(
        "load is running",
        Effect.sync(() => ok > 200)
      )
      yield* server.restart({ mode: "fast" })
      const okAtRestart = ok
      yield* eventually(
        "queries succeed again after the restart",
        Effect.sync(() => ok > okAtRestart + 200),
        30_000
      )
      running = false
      yield* Fiber.joinAll(workers)
      assert.isAbove(failed, 0, "some queries must have failed during the restart")

      const after = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => pool.query("select $1::int", [String(i)]),
        {
          concurrency: "unbounded"
        }
      )
      assert.strictEqual(after.length, 50)
      yield* eventually(
        "nothing is borrowed, opening or closing",
        Effect.map(pool.stats, (s) => s.inUse === 0 && s.waiting === 0 && s.creating === 0 && s.closing === 0)
      )
      const stats = yield* pool.stats
      assert.isAtMost(stats.total, 5)
      const watcher = yield* monitor(server)
      yield* eventually(
        "the server sees exactly the pool's connections",
        Effect.map(backendPids(watcher, app), (pids) => pids.length === stats.total)
      )
    })
  )
})
