/**
 * A timeout at the edge of a statement's run time must tell the truth. 60 INSERTs that each take
 * about 50 ms (`insert ... select $1 from pg_sleep(0.05)`) run with a `timeout` between 45 and 54
 * ms, so the cancel races the commit: some are cancelled, some commit before the cancel lands,
 * some finish in time. For every one: success ⇒ its row is there; a failure (PgTimeoutError or
 * other) with `mayHaveRun === false` ⇒ its row is not; no row twice. On one Expert connection,
 * one at a time; and through a pool (max 2), three at a time. The counts per outcome are printed.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Expert from "../../src/Expert.ts"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import {
  appName,
  audit,
  connectInput,
  countsById,
  monitor,
  outcomeOf,
  range,
  summary,
  type Write
} from "./support.ts"

const TIMEOUTS = range(10).map((i) => 45 + i)

let tables = 0

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "timeouts at the edge of a statement's run time (PG18)",
  (it) => {
    const check = (title: string, table: string, writes: ReadonlyArray<Write>) =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const watcher = yield* monitor(server)
        const result = audit(writes, yield* countsById(watcher, table))
        console.log(summary(title, result))
        assert.deepStrictEqual(result.problems, [], "every report agrees with the table")
        // The race really was run: timeouts fired (if none did, the test proves nothing).
        assert.isAbove(
          writes.filter((w) => w.outcome.kind === "error" && w.outcome.tag === "PgTimeoutError").length,
          0,
          "some statements timed out"
        )
      })

    const makeTable = Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const watcher = yield* monitor(server)
      const table = `timeout_edge_${tables++}`
      yield* watcher.query(`create table ${table} (id text)`)
      return table
    })

    it.effect("60 INSERTs of ~50 ms with a 45-54 ms timeout, one at a time on one connection", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const table = yield* makeTable
        const conn = yield* Expert.connect(server.url)
        const writes: Array<Write> = []
        for (const i of range(60)) {
          const id = `c${i}`
          const timeout = TIMEOUTS[i % TIMEOUTS.length]!
          const exit = yield* Effect.exit(
            conn.query(`insert into ${table} select $1 from pg_sleep(0.05)`, [id], {
              timeout: `${timeout} millis`
            })
          )
          writes.push({ ids: [id], outcome: outcomeOf(exit), what: `${id} (timeout ${timeout} ms)` })
        }
        yield* check("one connection, sequential", table, writes)
        assert.strictEqual((yield* conn.status)._tag, "Open", "timeouts leave the connection usable")
        assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
      })
    )

    it.effect("60 INSERTs of ~50 ms with a 45-54 ms timeout, three at a time through a pool (max 2)", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const table = yield* makeTable
        const { pool } = yield* PoolM.make({ connect: connectInput(server, appName("timeout_edge")), max: 2 })
        const writes = yield* Effect.forEach(
          range(60),
          (i) => {
            const id = `p${i}`
            const timeout = TIMEOUTS[(i * 7) % TIMEOUTS.length]!
            return Effect.map(
              Effect.exit(
                pool.query(`insert into ${table} select $1 from pg_sleep(0.05)`, [id], {
                  timeout: `${timeout} millis`
                })
              ),
              (exit): Write => ({
                ids: [id],
                outcome: outcomeOf(exit),
                what: `${id} (timeout ${timeout} ms)`
              })
            )
          },
          { concurrency: 3 }
        )
        yield* check("pool max 2, three at a time", table, writes)
        assert.deepStrictEqual((yield* pool.query("select 1")).rows, [{ "?column?": 1 }])
      })
    )
  }
)
