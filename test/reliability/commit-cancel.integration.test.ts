/**
 * A COMMIT that a cancel hit must never be resent. A timed-out statement is cancelled even with
 * requests pipelined behind it, and those are marked: a cancel that lands after its target
 * finished hits the next one, and a 57014 outside a transaction block had no effect, so the
 * client sends that one again. A COMMIT hit while it commits (here: a deferred constraint trigger
 * that takes 300 ms) fails with 57014 and leaves the session outside a transaction block too —
 * because the whole transaction was rolled back. Sent again, it answers COMMIT (with a warning:
 * no transaction in progress), and the caller hears that its rolled-back transaction committed.
 *
 * Each round on one connection: BEGIN; an INSERT (its trigger deferred); then, pipelined, a
 * `pg_sleep(0.05)` with a timeout of 45–54 ms and the COMMIT. Expected for every round: a COMMIT
 * answered with the tag COMMIT ⇒ the row is there; a COMMIT that failed with `mayHaveRun` false
 * ⇒ it is not.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { audit, countsById, describe, monitor, outcomeOf, range, summary, type Write } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "a COMMIT hit by a cancel meant for the statement before it (PG18)",
  (it) => {
    it.effect("40 rounds: every COMMIT reported committed did commit", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const watcher = yield* monitor(server)
        yield* watcher.simpleQuery(`
          create table commit_cancel (id text);
          create function commit_cancel_slow() returns trigger language plpgsql as
            $$ begin perform pg_sleep(0.3); return null; end $$;
          create constraint trigger commit_cancel_slow after insert on commit_cancel
            deferrable initially deferred for each row execute function commit_cancel_slow();`)
        const conn = yield* Expert.connect(server.url)
        const writes: Array<Write> = []
        let hit = 0
        for (const i of range(40)) {
          const id = `r${i}`
          const timeout = 45 + (i % 10)
          yield* conn.query("begin")
          yield* conn.query("insert into commit_cancel values ($1)", [id])
          const [sleep, commit] = yield* Effect.all(
            [
              Effect.exit(conn.query("select pg_sleep(0.05)", [], { timeout: `${timeout} millis` })),
              Effect.exit(conn.query("commit"))
            ],
            { concurrency: "unbounded" }
          )
          const outcome = outcomeOf(commit)
          // A COMMIT answered ROLLBACK (the sleep was cancelled first) is a failure that did not run.
          const told =
            Exit.isSuccess(commit) && commit.value.command.tag !== "COMMIT"
              ? ({
                  kind: "error",
                  tag: "ROLLBACK",
                  label: "tag ROLLBACK",
                  mayHaveRun: false,
                  error: undefined
                } as const)
              : outcome
          if (Exit.isFailure(commit)) hit++
          writes.push({ ids: [id], outcome: told, what: `${id} (sleep ${describe(outcomeOf(sleep))})` })
          if ((yield* conn.transactionStatus) !== "I") yield* conn.query("rollback")
        }
        const result = audit(writes, yield* countsById(watcher, "commit_cancel"))
        console.log(
          `${summary("COMMIT behind a timed-out statement", result)}\n  COMMITs that failed: ${hit}`
        )
        assert.deepStrictEqual(result.problems, [], "every COMMIT's report agrees with the table")
      })
    )
  }
)
