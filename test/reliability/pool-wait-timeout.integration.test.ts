/**
 * A statement's `timeout` on the pool bounds the whole call, the wait for a connection included.
 * With `max: 1` and a borrower holding the one connection for 3 s, `pool.query("select 1", [],
 * { timeout: "300 millis" })` used to wait the 3 s for the connection, then run: a 300 ms bound
 * that took 2.9 s. Expected: it fails within the timeout plus its slack with
 * PgTimeoutError(not-sent) (it was never sent), on the shared path and on the borrowed one (a
 * statement that may open a transaction); the room it waited for is not lost (the pool goes on,
 * nothing left in flight).
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, connectInput, describe, outcomeOf } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 60_000, excludeTestServices: true })(
  "a pool statement's timeout covers its wait for a connection (PG18)",
  (it) => {
    for (const sql of ["select 1", "begin"]) {
      it.effect(
        `pool.query(${JSON.stringify(sql)}) with every connection lent: not-sent within the timeout`,
        () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const { pool } = yield* PoolM.make({
              connect: connectInput(server, appName("pool_wait")),
              max: 1
            })
            yield* pool.query("select 1")
            const holder = yield* Effect.forkChild(pool.withConnection(() => Effect.sleep("3 seconds")))
            yield* Effect.sleep("100 millis")
            const started = Date.now()
            const exit = yield* Effect.exit(pool.query(sql, [], { timeout: "300 millis" }))
            const took = Date.now() - started
            console.log(`${sql}: ${took} ms, ${describe(outcomeOf(exit))}`)
            assert.strictEqual(describe(outcomeOf(exit)), "PgTimeoutError(not-sent) mayHaveRun=false")
            assert.isBelow(took, 1300, "within the timeout and its slack")
            yield* Fiber.join(holder)
            assert.deepStrictEqual((yield* pool.query("select 2")).rows, [{ "?column?": 2 }])
            const stats = yield* pool.stats
            assert.strictEqual(stats.inFlight, 0)
            assert.strictEqual(stats.waiting, 0)
          })
      )
    }
  }
)
