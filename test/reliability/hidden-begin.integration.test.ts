/**
 * A BEGIN the pool cannot see coming (`;begin`, `-- c\rbegin`, a nested comment, ...) sent as a
 * one-shot statement on a pool with `max: 1`, concurrently with 20 INSERTs: the INSERTs pipelined
 * behind it would run inside its transaction, which the pool rolls back when the connection comes
 * back, so callers told "success" lose their rows. Afterwards, read from a separate session: every
 * success is in the table, no failure reported with `mayHaveRun === false` is, no row twice, and
 * all 20 INSERTs succeed (the pool must route such a statement to a borrowed connection). A
 * one-shot hidden BEGIN must not leave a pooled connection `idle in transaction` either.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import {
  appName,
  audit,
  connectInput,
  countsById,
  eventually,
  monitor,
  outcomeOf,
  range,
  summary
} from "./support.ts"

/** Statements whose first keyword is BEGIN or START, hidden from a naive first-word check. */
const HIDDEN_BEGINS: ReadonlyArray<string> = [
  ";begin",
  ";;BEGIN",
  "-- c\rbegin",
  ";start transaction",
  "/* x /* y */ */ begin"
]

let tables = 0

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "a hidden BEGIN on a shared pool connection (PG18)",
  (it) => {
    const run = (sql: string, protocol: "query" | "simpleQuery") =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const app = appName("hidden_begin")
        const { pool, expert } = yield* PoolM.make({ connect: connectInput(server, app), max: 1 })
        const watcher = yield* monitor(server)
        const table = `hidden_begin_${tables++}`
        yield* watcher.query(`create table ${table} (id text)`)
        const ids = range(20).map((i) => `r${i}`)
        // The BEGIN first, so that every INSERT is pipelined behind it on the one connection.
        const begin: Effect.Effect<unknown, unknown> =
          protocol === "query" ? pool.query(sql) : expert.simpleQuery(sql)
        const exits = yield* Effect.forEach(
          [begin, ...ids.map((id) => pool.query(`insert into ${table} values ($1)`, [id]))],
          (effect) => Effect.exit(effect),
          { concurrency: "unbounded" }
        )
        const [beginExit, ...insertExits] = exits
        const beginOutcome = outcomeOf(beginExit!)
        const writes = insertExits.map((exit, i) => ({ ids: [ids[i]!], outcome: outcomeOf(exit) }))
        const result = audit(writes, yield* countsById(watcher, table))
        console.log(
          `${summary(`${protocol}(${JSON.stringify(sql)}) with 20 inserts`, result)}\n  the BEGIN: ${beginOutcome.kind === "error" ? beginOutcome.label : beginOutcome.kind}`
        )
        assert.notStrictEqual(beginOutcome.kind, "defect", `the BEGIN died: ${JSON.stringify(beginOutcome)}`)
        assert.deepStrictEqual(result.problems, [], "every report agrees with the table")
        assert.deepStrictEqual(
          writes
            .filter((w) => w.outcome.kind !== "ok")
            .map((w) => `${w.ids[0]}: ${JSON.stringify(w.outcome)}`),
          [],
          "all 20 INSERTs succeed (the hidden BEGIN borrows a connection of its own)"
        )
        // And no pooled connection is left inside a transaction block.
        yield* eventually(
          "no backend of the pool idle in transaction",
          Effect.map(
            watcher.query(
              "select count(*) from pg_stat_activity where application_name = $1 and state <> 'idle'",
              [app]
            ),
            ({ rows }) => rows[0]!.count === 0n
          ),
          2_000
        )
        assert.strictEqual(yield* expert.withConnection((c) => c.transactionStatus), "I")
      })

    for (const sql of HIDDEN_BEGINS) {
      it.effect(`query(${JSON.stringify(sql)}) next to 20 pipelined inserts loses none of them`, () =>
        run(sql, "query")
      )
      it.effect(`simpleQuery(${JSON.stringify(sql)}) next to 20 pipelined inserts loses none of them`, () =>
        run(sql, "simpleQuery")
      )
    }

    for (const sql of HIDDEN_BEGINS) {
      it.effect(
        `a lone one-shot query(${JSON.stringify(sql)}) leaves no pooled connection in a transaction`,
        () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const app = appName("hidden_begin_alone")
            const { pool } = yield* PoolM.make({ connect: connectInput(server, app), max: 2 })
            const watcher = yield* monitor(server)
            const outcome = outcomeOf(yield* Effect.exit(pool.query(sql)))
            assert.notStrictEqual(outcome.kind, "defect", JSON.stringify(outcome))
            const states = yield* Effect.map(
              watcher.query("select coalesce(state, '?') from pg_stat_activity where application_name = $1", [
                app
              ]),
              ({ rows }) => rows.map((row) => row.coalesce)
            )
            assert.isAbove(states.length, 0, "the pool keeps its connection open")
            assert.deepStrictEqual(
              states.filter((state) => state !== "idle"),
              [],
              "every pooled backend is idle, none idle in transaction"
            )
          })
      )
    }
  }
)
