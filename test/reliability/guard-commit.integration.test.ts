/**
 * The transaction guard (engine/guard.ts) when a COMMIT is not the end of the story: a statement
 * that commits the transaction and opens the next one (COMMIT AND CHAIN, or a simple query
 * `commit; begin`), and a simple query that commits its own work before it opens a transaction.
 * The guard holds back the outcomes of the statements that ran inside a transaction opened on a
 * shared connection and decides them by how that transaction ended; the end is the *first*
 * COMMIT or ROLLBACK after them, not the last one the connection saw before going idle.
 *
 * As in test/pool/guard.integration.test.ts, the guard is turned on directly (the pool's lexer
 * routes every visible BEGIN elsewhere). Every report is audited against the table: a success
 * whose row is missing is lost, a failure saying `mayHaveRun === false` whose row is there is
 * misreported.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { type ExpertConnection, setShared } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { audit, countsById, describe, outcomeOf, summary, type Write } from "./support.ts"

/** One statement of a pipeline: its SQL, how it is sent, and the ids it writes. */
interface Step {
  readonly sql: string
  readonly simple?: boolean
  readonly ids?: ReadonlyArray<string>
}

let tables = 0

/** Sends `steps` pipelined on a fresh shared connection and audits every report against the table. */
const run = (title: string, steps: (table: string) => ReadonlyArray<Step>) =>
  Effect.gen(function* () {
    const server = yield* PgTestServer.PgTestServer
    const watcher = yield* Expert.connect(server.url)
    const table = `guard_commit_${tables++}`
    yield* watcher.query(`create table ${table} (id text)`)
    const conn: ExpertConnection = yield* Expert.connect(server.url)
    setShared(conn, true)
    const plan = steps(table)
    const exits = yield* Effect.all(
      plan.map((step) =>
        Effect.exit<unknown, unknown, never>(
          step.simple === true ? conn.simpleQuery(step.sql) : conn.query(step.sql)
        )
      ),
      { concurrency: "unbounded" }
    ).pipe(Effect.timeoutOption("10 seconds"))
    assert.strictEqual(exits._tag, "Some", "every caller hears back")
    if (exits._tag === "None") return
    const writes: Array<Write> = []
    plan.forEach((step, i) => {
      const outcome = outcomeOf(exits.value[i]!)
      console.log(`  ${step.sql} → ${describe(outcome)}`)
      if (step.ids !== undefined) writes.push({ ids: step.ids, outcome, what: step.sql })
      else assert.notStrictEqual(outcome.kind, "defect", step.sql)
    })
    const result = audit(writes, yield* countsById(watcher, table))
    console.log(summary(title, result))
    assert.deepStrictEqual(result.problems, [], "every report agrees with the table")
    assert.strictEqual(yield* conn.transactionStatus, "I", "the guard left the connection idle")
    assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
  })

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 60_000, excludeTestServices: true })(
  "the transaction guard and a COMMIT that opens the next transaction (PG18)",
  (it) => {
    it.effect("COMMIT AND CHAIN behind a BEGIN: what it committed is not reported rolled back", () =>
      run("commit and chain", (t) => [
        { sql: "begin" },
        { sql: `insert into ${t} values ('a1')`, ids: ["a1"] },
        { sql: "commit and chain" },
        { sql: `insert into ${t} values ('a2')`, ids: ["a2"] }
      ])
    )

    it.effect("a simple query `commit; begin` behind a BEGIN: the group committed", () =>
      run("commit; begin", (t) => [
        { sql: "begin" },
        { sql: `insert into ${t} values ('b1')`, ids: ["b1"] },
        { sql: "commit; begin", simple: true },
        { sql: `insert into ${t} values ('b2')`, ids: ["b2"] }
      ])
    )

    it.effect("the first end decides: `commit; begin; rollback` behind a BEGIN committed the group", () =>
      run("commit; begin; rollback", (t) => [
        { sql: "begin" },
        { sql: `insert into ${t} values ('c1')`, ids: ["c1"] },
        { sql: "commit; begin; rollback", simple: true },
        { sql: `insert into ${t} values ('c2')`, ids: ["c2"] }
      ])
    )

    it.effect("an opener that committed its own work first does not say it had no effect", () =>
      run("insert; commit; begin", (t) => [
        { sql: `insert into ${t} values ('d1'); commit; begin`, simple: true, ids: ["d1"] },
        { sql: `insert into ${t} values ('d2')`, ids: ["d2"] }
      ])
    )
  }
)
