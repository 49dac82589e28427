/**
 * An interrupted one-shot statement on a shared pool connection must stop as a timed-out one
 * does. `Effect.timeout` (or any interruption) abandons the caller's request; alone in flight it
 * is cancelled, but with other one-shot statements pipelined behind it, it used to drain: a
 * `pg_sleep(30)` went on for 30 s on the server and every statement routed to that connection
 * waited behind it. On a shared connection every neighbour is a one-shot statement outside a
 * transaction block, which the client sends again if a cancel meant for another hits it, so the
 * cancel is safe there. Expected (max 1, everything on one connection): 10 quick statements
 * issued after the interruption finish within 5 s, the sleep is gone from pg_stat_activity, and
 * the neighbours pipelined behind it hear back with their own answers.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, connectInput, describe, eventually, monitor, outcomeOf, range } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 60_000, excludeTestServices: true })(
  "an interrupted statement on a shared pool connection (PG18)",
  (it) => {
    it.effect("Effect.timeout around pg_sleep(30) with neighbours: the sleep stops, nothing waits 30 s", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const app = appName("pool_interrupt")
        const { pool } = yield* PoolM.make({ connect: connectInput(server, app), max: 1 })
        const watcher = yield* monitor(server)
        yield* pool.query("select 1")
        const sleeper = yield* Effect.forkChild(
          Effect.exit(Effect.timeout(pool.query("select pg_sleep(30)"), "300 millis"))
        )
        const neighbours = yield* Effect.forkChild(
          Effect.forEach(range(4), (i) => Effect.exit(pool.query("select $1::int", [String(i)])), {
            concurrency: "unbounded"
          })
        )
        const sleepOutcome = outcomeOf(yield* Fiber.join(sleeper))
        const started = Date.now()
        const after = yield* Effect.timeoutOption(
          Effect.forEach(range(10), (i) => pool.query("select $1::int", [String(i)]), {
            concurrency: "unbounded"
          }),
          "5 seconds"
        )
        console.log(
          `sleep → ${describe(sleepOutcome)}; 10 after it: ${after._tag === "Some" ? `${Date.now() - started} ms` : "not in 5 s"}`
        )
        assert.strictEqual(
          after._tag,
          "Some",
          "the statements after the interruption are not held behind the sleep"
        )
        yield* eventually(
          "no pg_sleep(30) of the pool still runs",
          Effect.map(
            watcher.query(
              "select count(*) from pg_stat_activity where application_name = $1 and state = 'active' and query like '%pg_sleep(30)%'",
              [app]
            ),
            ({ rows }) => rows[0]!.count === 0n
          ),
          3_000
        )
        const pipelined = yield* Fiber.join(neighbours)
        assert.deepStrictEqual(
          pipelined.map((exit) =>
            Exit.isSuccess(exit) ? exit.value.rows[0]!.int4 : describe(outcomeOf(exit))
          ),
          [...range(4)],
          "the neighbours get their own answers"
        )
      })
    )
  }
)
