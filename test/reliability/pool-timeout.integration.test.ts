/**
 * A timed-out one-shot statement on a shared pool connection must really stop. `select
 * pg_sleep(30)` with `timeout: "300 millis"` shares its connection with other one-shot statements
 * pipelined behind it; a cancel is only safe when it is alone in flight, so without more care the
 * sleep goes on for 30 s on the server, holding every statement queued behind it. Expected: the
 * caller gets a PgTimeoutError at about 300 ms; within a few seconds no `pg_sleep(30)` of the
 * pool's application_name is active in pg_stat_activity; 10 quick statements issued after the
 * timeout all succeed within 10 s (far below the 30 s sleep: a correctness bound, not a speed
 * test); the statements that were pipelined behind the sleep hear back (success or a typed error)
 * within that bound too. With `max: 2` and with `max: 1` (everything on the one connection).
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, connectInput, describe, eventually, monitor, outcomeOf, range } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "a timed-out statement on a shared pool connection (PG18)",
  (it) => {
    for (const max of [2, 1]) {
      it.effect(
        `max ${max}: the timed-out pg_sleep(30) stops, and statements after it are not held 30 s`,
        () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const app = appName("pool_timeout")
            const { pool } = yield* PoolM.make({ connect: connectInput(server, app), max })
            const watcher = yield* monitor(server)
            // Every connection open and idle first.
            yield* Effect.forEach(range(max), () => pool.query("select pg_sleep(0.1)"), {
              concurrency: "unbounded"
            })
            const sleeper = yield* Effect.forkChild(
              Effect.exit(pool.query("select pg_sleep(30)", [], { timeout: "300 millis" }))
            )
            const neighbours = yield* Effect.forkChild(
              Effect.forEach(
                range(8),
                (i) => Effect.exit(pool.query("select pg_sleep(0.05), $1::int", [String(i)])),
                {
                  concurrency: "unbounded"
                }
              )
            )
            const sleepOutcome = outcomeOf(yield* Fiber.join(sleeper))
            const timedOutAt = Date.now()
            // 10 quick statements, issued now, while the sleep would still be running.
            const after = yield* Effect.timeoutOption(
              Effect.forEach(range(10), (i) => Effect.exit(pool.query("select $1::int", [String(i)])), {
                concurrency: "unbounded"
              }),
              "10 seconds"
            )
            const afterMillis = Date.now() - timedOutAt
            const running = watcher.query(
              "select count(*) from pg_stat_activity where application_name = $1 and state = 'active' and query like '%pg_sleep(30)%'",
              [app]
            )
            const stillSleeping = (yield* running).rows[0]!.count
            const left = Math.max(0, 10_000 - (Date.now() - timedOutAt))
            const pipelined = yield* Effect.timeoutOption(Fiber.join(neighbours), `${left} millis`)
            console.log(
              `max ${max}: sleep → ${describe(sleepOutcome)}; 10 statements after it: ${after._tag === "Some" ? `${afterMillis} ms` : "not done in 10 s"}; ` +
                `pg_sleep(30) backends active right after: ${stillSleeping}; pipelined neighbours: ${
                  pipelined._tag === "Some"
                    ? pipelined.value.map((exit) => describe(outcomeOf(exit))).join(", ")
                    : "not done in 10 s"
                }`
            )
            assert.strictEqual(
              sleepOutcome.kind === "error" ? sleepOutcome.tag : describe(sleepOutcome),
              "PgTimeoutError",
              "the sleep's caller gets a timeout"
            )
            assert.strictEqual(after._tag, "Some", "the 10 statements after the timeout finish within 10 s")
            if (after._tag === "Some") {
              assert.deepStrictEqual(
                after.value.map((exit) =>
                  Exit.isSuccess(exit) ? exit.value.rows[0]!.int4 : describe(outcomeOf(exit))
                ),
                [...range(10)],
                "and all succeed with their own answers"
              )
            }
            yield* eventually(
              "no pg_sleep(30) of the pool still runs",
              Effect.map(running, ({ rows }) => rows[0]!.count === 0n),
              5_000
            )
            assert.strictEqual(
              pipelined._tag,
              "Some",
              "the statements pipelined behind the sleep hear back within 10 s"
            )
            if (pipelined._tag === "Some") {
              for (const exit of pipelined.value) {
                const outcome = outcomeOf(exit)
                assert.isTrue(outcome.kind === "ok" || outcome.kind === "error", describe(outcome))
              }
            }
          })
      )
    }
  }
)
