/**
 * The pool's own deadlines longer than a Node timer holds (2^31-1 ms, about 24.8 days; a longer
 * delay, or an infinite one, fires after 1 ms): `acquireTimeout: "infinity"` or "30 days" must let
 * a borrower wait for a connection that is lent for 300 ms, not fail it at once with
 * PgPoolTimeoutError; the same for a one-shot statement waiting for room.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, connectInput, describe, outcomeOf } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 60_000, excludeTestServices: true })(
  "pool deadlines longer than a timer can hold (PG18)",
  (it) => {
    for (const acquireTimeout of ["Infinity", "30 days"] as const) {
      it.effect(
        `acquireTimeout ${acquireTimeout}: a borrower and a statement wait for the lent connection`,
        () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const { pool } = yield* PoolM.make({
              connect: connectInput(server, appName("pool_long")),
              max: 1,
              acquireTimeout
            })
            yield* pool.query("select 1")
            const holder = yield* Effect.forkChild(pool.withConnection(() => Effect.sleep("300 millis")))
            yield* Effect.sleep("50 millis")
            const [borrowed, statement] = yield* Effect.all(
              [
                Effect.exit(pool.withConnection((c) => c.query("select 1"))),
                Effect.exit(pool.query("select 2"))
              ],
              { concurrency: "unbounded" }
            )
            yield* Fiber.join(holder)
            assert.strictEqual(describe(outcomeOf(borrowed)), "ok")
            assert.strictEqual(describe(outcomeOf(statement)), "ok")
          })
      )
    }
  }
)
