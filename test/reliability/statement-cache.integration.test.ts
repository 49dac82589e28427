/**
 * The statement cache's bound holds when statements are abandoned. With `statementCacheSize: 20`,
 * 300 distinct statements are each given up before their outcome reaches the caller: half by
 * `Stream.take(1)` on a many-row `stream`, half by interrupting a running `query`. Every one of
 * them was parsed as a named statement on the server; the cache must still close what it evicts,
 * so `pg_prepared_statements` on that same connection stays at the cache size (+1 for the
 * counting statement itself, whose eviction Close travels with the next request). A control run
 * of 300 completed statements shows the measure: 20 or 21.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { range } from "./support.ts"

const CACHE = 20

const prepared = (conn: ExpertConnection) =>
  Effect.map(conn.query("select count(*)::int from pg_prepared_statements"), ({ rows }) =>
    Number(rows[0]!.count)
  )

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "the statement cache bound under abandoned statements (PG18)",
  (it) => {
    it.effect("control: 300 completed distinct statements leave at most the cache size prepared", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* Expert.connect({ url: server.url, statementCacheSize: CACHE })
        for (const i of range(300)) {
          const { rows } = yield* conn.query(`select $1::int + ${i}`, ["1"])
          assert.strictEqual(rows[0]!["?column?"], 1 + i)
        }
        const count = yield* prepared(conn)
        console.log(`control: ${count} prepared statements after 300 completed ones`)
        assert.isAtLeast(count, CACHE, "the cache is in use")
        assert.isAtMost(count, CACHE + 1)
      })
    )

    it.effect(
      "300 distinct statements, each abandoned (stream take(1), interrupted query): at most 21 prepared",
      () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const conn = yield* Expert.connect({ url: server.url, statementCacheSize: CACHE })
          // Half: a stream of 100,000 rows of which the consumer takes one, then goes away.
          for (const i of range(150)) {
            const taken = yield* Stream.runCollect(
              conn.stream(`select $1::int + ${i} from generate_series(1, 100000)`, ["1"]).pipe(Stream.take(1))
            )
            assert.deepStrictEqual(taken, [{ "?column?": 1 + i }])
          }
          const afterStreams = yield* prepared(conn)
          // Half: a query interrupted while the server runs it (Effect.timeout, and Fiber.interrupt).
          let abandoned = 0
          for (const i of range(150)) {
            const sql = `select pg_sleep(0.2), $1::int + ${150 + i}`
            if (i % 2 === 0) {
              const result = yield* Effect.timeoutOption(conn.query(sql, ["1"]), "20 millis")
              if (result._tag === "None") abandoned++
            } else {
              const fiber = yield* Effect.forkChild(conn.query(sql, ["1"]))
              yield* Effect.sleep("20 millis")
              yield* Fiber.interrupt(fiber)
              abandoned++
            }
          }
          const afterQueries = yield* prepared(conn)
          console.log(
            `abandoned: ${afterStreams} prepared after 150 abandoned streams, ${afterQueries} after 150 interrupted queries too (${abandoned} interrupted while running)`
          )
          assert.strictEqual(abandoned, 150, "every query was interrupted while it ran")
          assert.isAtMost(
            afterStreams,
            CACHE + 1,
            "abandoned streams: prepared statements beyond the cache size"
          )
          assert.isAtMost(
            afterQueries,
            CACHE + 1,
            "interrupted queries: prepared statements beyond the cache size"
          )
          // The connection is fine, and its cache still works.
          assert.strictEqual((yield* conn.status)._tag, "Open")
          assert.deepStrictEqual((yield* conn.query("select $1::int + 0", ["5"])).rows, [{ "?column?": 5 }])
        })
    )
  }
)
