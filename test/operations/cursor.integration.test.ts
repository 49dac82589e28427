/**
 * Cursors against a real server (connection/cursor.ts): rows in windows asked for only as the
 * consumer pulls (a sequence counts the rows the server produced), the connection held while the
 * cursor is open, an early close (no portal, statement or lock, no transaction left; outside a
 * transaction block the Sync commits what the statement did), a cursor inside a
 * transaction block, an error mid-stream, timeouts per window (the consumer's time not counted),
 * interruption queued and while a window is in flight, and refusals before sending.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { cursorNames, first, open, preparedNames } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "cursor (PG18)",
  (it) => {
    const monitor = Effect.flatMap(PgTestServer.PgTestServer, (server) => Expert.connect(server.url))
    const collect = <A, E>(stream: Stream.Stream<A, E>) =>
      Effect.map(Stream.runCollect(stream), (c) => Array.from(c))

    it.effect("windows are asked for only as the consumer pulls", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp sequence cs")
        const sql = "select nextval('cs') from generate_series(1, 1000)"
        const rows = yield* collect(Stream.take(conn.cursor(sql, [], { window: 10 }), 15))
        assert.deepStrictEqual(
          rows.map((r) => r.nextval),
          Array.from({ length: 15 }, (_, i) => BigInt(i + 1))
        )
        // Two windows of 10 were produced, not the thousand rows.
        assert.strictEqual(yield* first(conn, "select last_value from cs"), "20")
        const all = yield* collect(
          conn.cursor("select g from generate_series(1, $1::int) g", ["250"], { window: 100 })
        )
        assert.strictEqual(all.length, 250)
        assert.deepStrictEqual(all.at(-1), { g: 250 })
        assert.strictEqual(yield* conn.transactionStatus, "I")
        const none = yield* collect(conn.cursor("select 1 where false"))
        assert.deepStrictEqual(none, [])
        const ddl = yield* collect(conn.cursor("create temp table from_cursor (a int)"))
        assert.deepStrictEqual(ddl, [])
      })
    )

    it.effect("while it is open, the cursor holds the connection and its implicit transaction's lock", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const watch = yield* monitor
        yield* conn.query("create table cur_t as select g from generate_series(1, 100) g")
        const locks = Effect.map(
          watch.query("select count(*) from pg_locks where pid = $1 and relation = 'cur_t'::regclass", [
            String(conn.processId)
          ]),
          (r) => r.rows[0]!.count
        )
        yield* Effect.scoped(
          Effect.gen(function* () {
            const pull = yield* Stream.toPull(
              conn.cursor("select g from cur_t order by g", [], { window: 5 })
            )
            assert.lengthOf(yield* pull, 5)
            assert.strictEqual(yield* locks, 1n)
            const behind = yield* Effect.forkChild(conn.query("select 'behind'"))
            yield* Effect.sleep("100 millis")
            assert.isUndefined(behind.pollUnsafe(), "nothing is written behind an open cursor")
            assert.strictEqual(yield* conn.pending, 2)
            return behind
          })
        )
        // The scope closed: Close + Sync, the query behind it ran, the lock is gone.
        assert.strictEqual(yield* locks, 0n)
        assert.deepStrictEqual(yield* cursorNames(conn), [])
        assert.deepStrictEqual(yield* preparedNames(conn), [])
        assert.strictEqual(yield* conn.transactionStatus, "I")
        assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
        yield* conn.query("drop table cur_t")
      })
    )

    it.effect("an early end outside a transaction block ends the implicit one with a Sync: it commits", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table kept (a int)")
        // A data-modifying statement runs to its end at the first Execute; its rows are then read
        // in windows. Stopping after one row closes the portal and syncs: the insert is kept.
        const one = yield* collect(
          Stream.take(
            conn.cursor("insert into kept select generate_series(1, 50) returning a", [], { window: 1 }),
            1
          )
        )
        assert.deepStrictEqual(one, [{ a: 1 }])
        assert.strictEqual(yield* conn.transactionStatus, "I")
        assert.strictEqual(yield* first(conn, "select count(*) from kept"), "50")
        assert.deepStrictEqual(yield* cursorNames(conn), [])
      })
    )

    it.effect("inside a transaction block: the portal lives in it; closing early keeps it usable", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table in_tx (a int)")
        yield* conn.query("begin")
        yield* conn.query("insert into in_tx select generate_series(1, 30)")
        const some = yield* collect(
          Stream.take(conn.cursor("select a from in_tx order by a", [], { window: 4 }), 6)
        )
        assert.deepStrictEqual(some.at(-1), { a: 6 })
        assert.strictEqual(yield* conn.transactionStatus, "T")
        assert.deepStrictEqual(yield* cursorNames(conn), [])
        assert.deepStrictEqual(yield* preparedNames(conn), [])
        const all = yield* collect(conn.cursor("select a from in_tx", [], { window: 7 }))
        assert.strictEqual(all.length, 30)
        yield* conn.query("insert into in_tx values (31)")
        yield* conn.query("commit")
        assert.strictEqual(yield* first(conn, "select count(*) from in_tx"), "31")
      })
    )

    it.effect("an error mid-stream fails the stream after its rows; the connection goes on", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const seen: Array<unknown> = []
        const e = yield* Effect.flip(
          Stream.runForEach(
            conn.cursor("select 10 / (5 - g) from generate_series(1, 10) g", [], { window: 2 }),
            (row) => Effect.sync(() => seen.push(row["?column?"]))
          )
        )
        assert.strictEqual(e._tag === "PgServerError" && e.code, "22012")
        assert.deepStrictEqual(seen, [2, 3, 5, 10])
        assert.strictEqual(yield* conn.transactionStatus, "I")
        const bad = yield* Effect.flip(collect(conn.cursor("select * from no_such_table")))
        assert.strictEqual(bad._tag === "PgServerError" && bad.code, "42P01")
        assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
      })
    )

    it.effect("a timeout bounds each window on the server, not the consumer's time", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const e = yield* Effect.flip(
          collect(conn.cursor("select pg_sleep(5)", [], { window: 1, timeout: 200 }))
        )
        assert.deepStrictEqual(e._tag === "PgTimeoutError" && [e.outcome, e.mayHaveReachedServer], [
          "cancelled",
          true
        ])
        assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
        const slowConsumer = yield* collect(
          Stream.mapEffect(
            conn.cursor("select g from generate_series(1, 3) g", [], { window: 1, timeout: 200 }),
            (row) => Effect.as(Effect.sleep("300 millis"), row)
          )
        )
        assert.strictEqual(slowConsumer.length, 3)
        // The second window is slow: rows of the first arrive, then the timeout.
        const seen: Array<unknown> = []
        const late = yield* Effect.flip(
          Stream.runForEach(
            conn.cursor("select g, case when g > 2 then pg_sleep(5) end from generate_series(1, 5) g", [], {
              window: 2,
              timeout: 300
            }),
            (row) => Effect.sync(() => seen.push(row.g))
          )
        )
        assert.strictEqual(late._tag, "PgTimeoutError")
        assert.deepStrictEqual(seen, [1, 2])
        assert.strictEqual(yield* conn.transactionStatus, "I")
        assert.deepStrictEqual((yield* conn.query("select 2")).rows, [{ "?column?": 2 }])
      })
    )

    it.effect("interrupted while queued: withdrawn; while a window is in flight: closed after it", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* Effect.scoped(
          Effect.gen(function* () {
            const pull = yield* Stream.toPull(
              conn.cursor("select g from generate_series(1, 10) g", [], { window: 2 })
            )
            yield* pull
            const queued = yield* Effect.forkChild(collect(conn.cursor("select 1")))
            yield* Effect.sleep("50 millis")
            assert.strictEqual(yield* conn.pending, 2)
            yield* Fiber.interrupt(queued)
            assert.strictEqual(yield* conn.pending, 1)
          })
        )
        const started = Date.now()
        const running = yield* Effect.forkChild(
          collect(conn.cursor("select pg_sleep(0.5)", [], { window: 1 }))
        )
        yield* Effect.sleep("100 millis")
        yield* Fiber.interrupt(running)
        // Closing waited for the window in flight: the connection is in step at once.
        assert.isAtLeast(Date.now() - started, 450)
        assert.strictEqual(yield* conn.pending, 0)
        assert.deepStrictEqual((yield* conn.query("select 3")).rows, [{ "?column?": 3 }])
        assert.strictEqual(yield* first(conn, "select count(*) from pg_cursors"), "0")
      })
    )

    it.effect("a window that is not a positive integer, or a COPY, is refused before sending", () =>
      Effect.gen(function* () {
        const conn = yield* open
        for (const window of [0, -3, 2.5]) {
          const e = yield* Effect.flip(collect(conn.cursor("select 1", [], { window })))
          assert.deepStrictEqual(e._tag === "PgProtocolError" && [e.reason, e.mayHaveRun], [
            "InvalidValue",
            false
          ])
        }
        const copy = yield* Effect.flip(collect(conn.cursor("copy (select 1) to stdout")))
        assert.deepStrictEqual(copy._tag === "PgProtocolError" && copy.reason, "CopyNotSupported")
        assert.strictEqual(yield* conn.pending, 0)
        yield* conn.close
        const closed = yield* Effect.flip(collect(conn.cursor("select 1")))
        assert.strictEqual(closed._tag, "PgClosedError")
      })
    )
  }
)
