/**
 * A subset of the pool's behaviour on PostgreSQL 15: throttling counted on the server, FIFO
 * waiters, DISCARD ALL on release, replacement of terminated connections, transaction options and
 * COMMIT answered with ROLLBACK.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, backendPids, connectInput, eventually, monitor } from "./support.ts"

layer(PgTestServer.layer({ version: 15, tls: false, backend: "local" }), {
  timeout: 120_000,
  excludeTestServices: true
})("Pool (PG15)", (it) => {
  it.effect("throttles 300 borrowers to max, serves waiters in order, and resets on release", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const app = appName("pool15")
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, app),
        max: 3,
        resetOnRelease: "discard-all"
      })
      const watcher = yield* monitor(server)
      let active = 0
      let peak = 0
      yield* Effect.forEach(
        Array.from({ length: 300 }, (_, i) => i),
        (i) =>
          pool.withConnection((c) =>
            Effect.gen(function* () {
              peak = Math.max(peak, ++active)
              yield* c.query("select $1::int", [String(i)])
              active--
            })
          ),
        { concurrency: "unbounded" }
      )
      assert.isAtMost(peak, 3)
      assert.isAtMost((yield* backendPids(watcher, app)).length, 3)

      const gate = yield* Deferred.make<void>()
      const holders = yield* Effect.forEach([1, 2, 3], () =>
        Effect.forkChild(pool.withConnection(() => Deferred.await(gate)))
      )
      yield* eventually(
        "all three connections held",
        Effect.map(pool.stats, (s) => s.inUse === 3)
      )
      const order: Array<number> = []
      const waiters: Array<Fiber.Fiber<number, unknown>> = []
      for (let i = 0; i < 6; i++) {
        waiters.push(yield* Effect.forkChild(pool.withConnection(() => Effect.sync(() => order.push(i)))))
        yield* eventually(
          `waiter ${i} in line`,
          Effect.map(pool.stats, (s) => s.waiting === i + 1)
        )
      }
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(holders)
      yield* Fiber.joinAll(waiters)
      assert.deepStrictEqual(order, [0, 1, 2, 3, 4, 5])

      yield* pool.query("set work_mem = '7MB'")
      const setting = yield* pool.query("show work_mem")
      assert.isString(setting.rows[0]!.work_mem)
      assert.notStrictEqual(setting.rows[0]!.work_mem, "7MB")
    })
  )

  it.effect("replaces a terminated connection", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      if (server.source !== "local")
        return yield* Effect.die('this test needs a server started here (backend: "local")')
      const app = appName("pool15_term")
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, app),
        min: 1,
        max: 1,
        maintenanceInterval: "50 millis"
      })
      const watcher = yield* monitor(server)
      yield* eventually(
        "one connection",
        Effect.map(backendPids(watcher, app), (p) => p.length === 1)
      )
      const [old] = yield* backendPids(watcher, app)
      yield* server.terminateBackend(old!)
      yield* eventually(
        "a new connection",
        Effect.map(backendPids(watcher, app), (p) => p.length === 1 && p[0] !== old)
      )
      assert.deepStrictEqual((yield* pool.query("select 1")).rows, [{ "?column?": 1 }])
    })
  )

  it.effect("transaction options and COMMIT answered with ROLLBACK", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({ connect: connectInput(server, appName("pool15_tx")), max: 2 })
      const { rows } = yield* pool.withTransaction(
        (tx) =>
          tx.query(
            "select current_setting('transaction_isolation'), current_setting('transaction_read_only')"
          ),
        { isolationLevel: "repeatable read", readOnly: true }
      )
      assert.deepStrictEqual(rows, [{ current_setting: "repeatable read", current_setting_2: "on" }])
      const error = yield* Effect.flip(pool.withTransaction((tx) => Effect.ignore(tx.query("select 1/0"))))
      assert.strictEqual(error.cause._tag === "PgTransactionError" && error.cause.reason, "CommitRolledBack")
      yield* pool.withTransaction(() =>
        Effect.andThen(
          Effect.flip(pool.withTransaction(() => pool.query("select 1/0"))),
          pool.query("select 1")
        )
      )
    })
  )
})
