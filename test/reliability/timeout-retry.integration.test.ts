/**
 * A timed-out statement must not be sent again. The client resends, once, a statement that a
 * cancel aimed at the statement before it hit (57014 outside a transaction block: `cancelRisk`).
 * A statement written behind a timed-out one is marked so; when it then times out itself, the
 * 57014 it gets is its own cancel's, and resending it would start the statement over after its
 * caller's timeout, uncancelled: the caller hears `unknown` while the copy runs on.
 *
 * Two `pg_sleep(30)` pipelined on one connection, timeouts 200 ms and 600 ms. Expected: both
 * callers get PgTimeoutError(cancelled), and no pg_sleep(30) of that connection is active right
 * after, so a quick statement behind them answers at once.
 *
 * A simple query whose timeout cancels it after one of its statements committed (`insert …;
 * commit; select pg_sleep(5)`) is not `cancelled` with nothing kept: its INSERT is in the table,
 * so the caller must hear that it may have run.
 *
 * And a call that fails at once (a closed connection) arms no timer: 50 calls with a one-hour
 * timeout leave no 50 timers keeping the process alive for an hour.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, describe, monitor, outcomeOf } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 60_000, excludeTestServices: true })(
  "a timed-out statement is never resent (PG18)",
  (it) => {
    it.effect("two timed-out sleeps pipelined: both cancelled, neither runs on", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const app = appName("timeout_retry")
        const conn = yield* Expert.connect({ url: server.url, applicationName: app })
        const watcher = yield* monitor(server)
        const [first, second] = yield* Effect.all(
          [
            Effect.exit(conn.query("select pg_sleep(30)", [], { timeout: "200 millis" })),
            Effect.exit(conn.query("select pg_sleep(30), 2", [], { timeout: "600 millis" }))
          ],
          { concurrency: "unbounded" }
        )
        const active = yield* watcher.query(
          "select count(*) from pg_stat_activity where application_name = $1 and state = 'active' and query like '%pg_sleep(30)%'",
          [app]
        )
        const started = Date.now()
        const quick = yield* Effect.timeoutOption(conn.query("select 1"), "3 seconds")
        const quickMillis = Date.now() - started
        console.log(
          `first: ${describe(outcomeOf(first))}; second: ${describe(outcomeOf(second))}; ` +
            `sleeps active after: ${active.rows[0]!.count}; select 1 after ${quickMillis} ms`
        )
        assert.strictEqual(describe(outcomeOf(first)), "PgTimeoutError(cancelled) mayHaveRun=false")
        assert.strictEqual(describe(outcomeOf(second)), "PgTimeoutError(cancelled) mayHaveRun=false")
        assert.strictEqual(active.rows[0]!.count, 0n, "no sleep runs on after both timeouts")
        assert.strictEqual(quick._tag, "Some", "a statement behind them answers")
      })
    )

    it.effect("a call on a closed connection with a timeout fails at once and arms no timer", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* Expert.connect(server.url)
        yield* conn.close
        const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length
        const before = timers()
        for (let i = 0; i < 50; i++) {
          const outcome = outcomeOf(yield* Effect.exit(conn.query("select 1", [], { timeout: "1 hour" })))
          assert.strictEqual(describe(outcome), "PgClosedError(reached=undefined) mayHaveRun=false")
        }
        assert.isBelow(timers() - before, 50, "no timer per failed call")
      })
    )

    it.effect("a simple query cancelled after its own COMMIT says it may have run", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* Expert.connect(server.url)
        yield* conn.query("create table timeout_partial (id text)")
        const exit = yield* Effect.exit(
          conn.simpleQuery("insert into timeout_partial values ('p1'); commit; select pg_sleep(5)", {
            timeout: "300 millis"
          })
        )
        const rows = (yield* conn.query("select id from timeout_partial")).rows
        console.log(`partly committed: ${describe(outcomeOf(exit))}; rows ${JSON.stringify(rows)}`)
        assert.deepStrictEqual(rows, [{ id: "p1" }], "the INSERT before the COMMIT stays")
        assert.strictEqual(describe(outcomeOf(exit)), "PgTimeoutError(unknown) mayHaveRun=true")
      })
    )
  }
)
