/**
 * A stream must not fail because of a neighbour's timeout. A timed-out statement is cancelled
 * even with requests pipelined behind it; a cancel that lands after its target finished hits the
 * next one. A query or simple query so hit (57014, outside a transaction block) is sent again by
 * the client; a stream was not, so a stream nobody interrupted failed with 57014 (seen in the
 * interrupt storm of test/cancel). Each round: `pg_sleep(0.05)` with a timeout of 45–54 ms, and
 * behind it a stream whose first row takes 150 ms. Expected: every stream ends with all its rows.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { describe, outcomeOf, range } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "a stream behind a timed-out statement (PG18)",
  (it) => {
    it.effect("30 rounds: every stream ends with its own rows", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* Expert.connect(server.url)
        const failures: Array<string> = []
        for (const i of range(30)) {
          const token = `s${i}`
          const [, rows] = yield* Effect.all(
            [
              Effect.exit(conn.query("select pg_sleep(0.05)", [], { timeout: `${45 + (i % 10)} millis` })),
              Effect.exit(
                Stream.runCollect(
                  conn.stream("select $1::text || g as v, pg_sleep(0.15) from generate_series(1, 2) g", [
                    token
                  ])
                )
              )
            ],
            { concurrency: "unbounded" }
          )
          if (Exit.isFailure(rows)) failures.push(`${token}: ${describe(outcomeOf(rows))}`)
          else if (rows.value.length !== 2 || rows.value[0]!.v !== `${token}1`)
            failures.push(`${token}: wrong rows`)
        }
        console.log(`streams that failed: ${failures.length}`)
        assert.deepStrictEqual(failures, [])
      })
    )
  }
)
