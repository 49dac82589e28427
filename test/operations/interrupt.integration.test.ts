/**
 * Every new operation interrupted, or timed out, before it was sent (queued behind an open cursor,
 * which is exclusive: nothing is written behind it): it is withdrawn, never reaches the server
 * (`not-sent`), and the connection goes on in step. Interruption while running is covered per
 * operation in the other suites of this folder.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { PgExpertError } from "../../src/Errors.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { open, preparedNames } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "operations before they are sent (PG18)",
  (it) => {
    it.effect("interrupted or timed out while queued: withdrawn, nothing ran", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table never (a int)")
        const statement = yield* conn.prepare("insert into never values ($1)")
        const operations: ReadonlyArray<
          readonly [string, (timeout?: number) => Effect.Effect<unknown, PgExpertError>]
        > = [
          ["prepare", (timeout) => Effect.scoped(conn.prepare("select 1", { timeout }))],
          ["execute", (timeout) => conn.execute(statement, ["1"], { timeout })],
          ["describe", (timeout) => conn.describe("select 1", { timeout })],
          ["closeStatement", (timeout) => conn.closeStatement(statement, { timeout })],
          ["pipeline", (timeout) => conn.pipeline([{ sql: "insert into never values (2)" }], { timeout })],
          [
            "pipeline (transaction)",
            (timeout) =>
              conn.pipeline([{ sql: "insert into never values (3)" }], { mode: "transaction", timeout })
          ],
          ["executeSimple", (timeout) => conn.executeSimple("insert into never values (4)", { timeout })]
        ]
        yield* Effect.scoped(
          Effect.gen(function* () {
            const pull = yield* Stream.toPull(
              conn.cursor("select g from generate_series(1, 10) g", [], { window: 2 })
            )
            yield* pull
            for (const [name, run] of operations) {
              const fiber = yield* Effect.forkChild(run())
              yield* Effect.sleep("20 millis")
              assert.strictEqual(yield* conn.pending, 2, `${name} is queued`)
              yield* Fiber.interrupt(fiber)
              assert.strictEqual(yield* conn.pending, 1, `${name} was withdrawn`)
              const e = yield* Effect.flip(run(50))
              assert.deepStrictEqual(
                e._tag === "PgTimeoutError" && [e.outcome, e.mayHaveReachedServer],
                ["not-sent", false],
                name
              )
              assert.strictEqual(yield* conn.pending, 1, `${name} timed out queued`)
            }
          })
        )
        assert.deepStrictEqual((yield* conn.query("select count(*) from never")).rows, [{ count: 0n }])
        assert.deepStrictEqual(yield* preparedNames(conn), [statement.name])
        assert.deepStrictEqual((yield* conn.execute(statement, ["5"])).command.tag, "INSERT 0 1")
      })
    )
  }
)
