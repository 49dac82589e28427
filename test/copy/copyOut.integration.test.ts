/**
 * COPY TO STDOUT against real servers (PG18, PG15 for the basics): an empty result, a known
 * example byte for byte, a round trip of nasty values through copyInRows and copyOutRows, a
 * consumer that stops early, an error midway, pushback (a stalled consumer leaves the backend in
 * ClientWrite with flat memory), and COPY statements given to query (a clear error) and
 * simpleQuery (COPY TO STDOUT drained with a warning, COPY FROM STDIN ended by the server's 57014),
 * never a hang or a dead connection. Also: copyIn interrupted before the server is in copy mode.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { backendLog, binaryCopy, bounded, collectBytes, connect, nastyValues, utf8 } from "./support.ts"

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

const usable = (conn: ExpertConnection) =>
  Effect.gen(function* () {
    assert.deepStrictEqual((yield* conn.query("select 'still in sync'")).rows, [
      { "?column?": "still in sync" }
    ])
    assert.strictEqual((yield* conn.status)._tag, "Open")
  })

const waitEventOf = (observer: ExpertConnection, pid: number, wanted: string) =>
  bounded(
    `wait_event ${wanted}`,
    20,
    Effect.gen(function* () {
      for (;;) {
        const r = yield* observer.query("select wait_event from pg_stat_activity where pid = $1", [
          String(pid)
        ])
        if (r.rows[0]?.wait_event === wanted) return wanted
        yield* Effect.sleep("25 millis")
      }
    })
  )

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, tls: false }), { timeout: 120_000, excludeTestServices: true })(
    `COPY OUT basics (PG${version})`,
    (it) => {
      it.effect("an empty result, and an example byte for byte", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const empty = yield* collectBytes(conn.copyOut("copy (select 1 where false) to stdout"))
          assert.strictEqual(empty.length, 0)
          assert.deepStrictEqual(
            yield* Stream.runCollect(conn.copyOutRows("copy (select 1 where false) to stdout")),
            []
          )
          const bytes = yield* collectBytes(
            conn.copyOut(
              "copy (select g, 'v' || g, null::text, E'a\\tb\\\\c' from generate_series(1, 3) g) to stdout"
            )
          )
          assert.strictEqual(
            text(bytes),
            "1\tv1\t\\N\ta\\tb\\\\c\n2\tv2\t\\N\ta\\tb\\\\c\n3\tv3\t\\N\ta\\tb\\\\c\n"
          )
          const csv = yield* collectBytes(
            conn.copyOut(`copy (select 1 as a, 'x,y' as b, '"q"' as c) to stdout with (format csv, header)`)
          )
          assert.strictEqual(text(csv), `a,b,c\n1,"x,y","""q"""\n`)
          yield* usable(conn)
        })
      )

      it.effect("a round trip: copyInRows then copyOutRows gives the input back", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table trip (i int, v text, w text)")
          const rows = nastyValues.map(
            (v, i) => [String(i), v, nastyValues[nastyValues.length - 1 - i]!] as const
          )
          yield* conn.copyInRows({ table: "trip", columns: ["i", "v", "w"] }, Stream.fromIterable(rows))
          const back = yield* Stream.runCollect(
            conn.copyOutRows("copy (select * from trip order by i) to stdout")
          )
          assert.deepStrictEqual(
            back,
            rows.map((r) => [...r])
          )
          // And raw bytes out, straight back in, into a second table.
          yield* conn.query("create temp table trip2 (like trip)")
          const raw = yield* collectBytes(conn.copyOut("copy trip to stdout"))
          yield* conn.copyIn("copy trip2 from stdin", Stream.make(raw))
          const diff = yield* conn.query(
            "select count(*) from ((table trip except all table trip2) union all (table trip2 except all table trip)) d"
          )
          assert.deepStrictEqual(diff.rows, [{ count: 0n }])
        })
      )
    }
  )
}

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 180_000, excludeTestServices: true })(
  "COPY OUT (PG18)",
  (it) => {
    it.effect("binary COPY out equals the hand-built payload that went in", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.query("create temp table binout (a int4, b text)")
        const payload = binaryCopy([
          [1, "one"],
          [null, "é"],
          [3, null]
        ])
        yield* conn.copyIn("copy binout from stdin (format binary)", Stream.make(payload))
        const out = yield* collectBytes(conn.copyOut("copy binout to stdout (format binary)"))
        assert.deepStrictEqual(out, payload)
      })
    )

    it.effect("a consumer that stops early leaves the connection in sync", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        const firstRows = yield* Stream.runCollect(
          conn.copyOutRows("copy (select g from generate_series(1, 200000) g) to stdout").pipe(Stream.take(3))
        )
        assert.deepStrictEqual(firstRows, [["1"], ["2"], ["3"]])
        yield* usable(conn)
        const total = yield* Stream.runCount(
          conn.copyOutRows("copy (select g from generate_series(1, 100000) g) to stdout")
        )
        assert.strictEqual(total, 100000)
      })
    )

    it.effect("an error midway fails the stream after the rows before it; the connection survives", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        const seen: Array<string | null> = []
        const e = yield* Effect.flip(
          Stream.runForEach(
            conn.copyOutRows("copy (select 10 / (g - 5000) from generate_series(1, 10000) g) to stdout"),
            (row) =>
              Effect.sync(() => {
                seen.push(row[0]!)
              })
          )
        )
        assert.strictEqual(e._tag === "PgServerError" && e.code, "22012")
        assert.isBelow(seen.length, 5000)
        yield* usable(conn)
      })
    )

    it.effect("a statement that is not COPY TO STDOUT is refused", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.query("create temp table notout (a int)")
        for (const sql of ["select 1", "insert into notout values (1)", "copy notout from stdin", ""]) {
          const e = yield* Effect.flip(Stream.runCollect(conn.copyOut(sql)))
          assert.strictEqual(e._tag, "PgProtocolError", sql)
          assert.match(e.message, /copyOut expects a COPY \.\.\. TO STDOUT/, sql)
          yield* usable(conn)
        }
        const leaked = yield* Stream.runCollect(
          conn.copyOut("select 1; copy (select 'leak') to stdout")
        ).pipe(Effect.flip)
        assert.strictEqual(leaked._tag, "PgProtocolError")
        yield* usable(conn)
      })
    )

    it.effect("COPY through query and simpleQuery: no hang, no desync, the connection usable", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.query("create temp table viaquery (a int)")
        const statements = [
          "copy viaquery from stdin",
          "copy viaquery to stdout",
          "copy (select g from generate_series(1, 50000) g) to stdout"
        ]
        for (const sql of statements) {
          const q = yield* bounded(sql, 10, Effect.flip(conn.query(sql)))
          assert.strictEqual(q._tag, "PgProtocolError", sql)
          assert.match(
            q.message,
            /^query: the statement attempted COPY (IN|OUT) \(COPY .*\); use copy(In|Out)$/,
            sql
          )
          yield* usable(conn)
          if (sql.includes("from stdin")) {
            // The server's own answer to the CopyFail, quoting its reason.
            const s = yield* bounded(sql, 10, Effect.flip(conn.simpleQuery(sql)))
            assert.deepStrictEqual(s._tag === "PgServerError" && [s.code, s.message], [
              "57014",
              "COPY from stdin failed: COPY FROM STDIN is not supported by simpleQuery; use copyIn"
            ])
          } else {
            const s = yield* bounded(sql, 10, conn.simpleQuery(sql))
            assert.deepStrictEqual(s.warnings, [
              { statement: 0, message: "COPY TO STDOUT output discarded; use copyOut" }
            ])
            assert.strictEqual(s.results[0]?.command?.command, "COPY", sql)
          }
          yield* usable(conn)
        }
        // Pipelined behind and ahead of other queries, from several fibers at once.
        const results = yield* Effect.all(
          [
            conn.query("select 1"),
            Effect.flip(conn.query("copy viaquery from stdin")),
            conn.query("select 2"),
            Effect.flip(conn.simpleQuery("select 3; copy viaquery from stdin; select 4")),
            conn.query("select 5")
          ],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(results[0].rows, [{ "?column?": 1 }])
        assert.deepStrictEqual(results[2].rows, [{ "?column?": 2 }])
        assert.deepStrictEqual(results[4].rows, [{ "?column?": 5 }])
        assert.strictEqual(results[1]._tag, "PgProtocolError")
        // The server ended the COPY (57014); `select 3` had completed before it, `select 4` never ran.
        const simple = results[3]
        assert.deepStrictEqual(
          simple._tag === "PgServerError" && [simple.code, simple.completed?.map((r) => r.rows)],
          ["57014", [[["3"]]]]
        )
        assert.deepStrictEqual((yield* conn.query("select count(*) from viaquery")).rows, [{ count: 0n }])
      })
    )

    it.effect(
      "pushback: a stalled consumer of a large COPY leaves the backend in ClientWrite, memory flat",
      () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const observer = yield* connect
          // About 1 GB of COPY data if it were all read.
          const sql = "copy (select g, repeat('x', 200) from generate_series(1, 5000000) g) to stdout"
          const { firstBytes, stalledGrowth } = yield* Effect.scoped(
            Effect.gen(function* () {
              const pull = yield* Stream.toPull(conn.copyOut(sql))
              const first = yield* pull
              const baseline = process.memoryUsage().rss
              assert.strictEqual(yield* waitEventOf(observer, conn.processId, "ClientWrite"), "ClientWrite")
              yield* Effect.sleep("500 millis")
              const r = yield* observer.query("select wait_event from pg_stat_activity where pid = $1", [
                String(conn.processId)
              ])
              assert.deepStrictEqual(r.rows, [{ wait_event: "ClientWrite" }])
              return {
                firstBytes: first.reduce((n, c) => n + c.length, 0),
                stalledGrowth: process.memoryUsage().rss - baseline
              }
            })
          )
          assert.isAbove(firstBytes, 0)
          assert.isBelow(stalledGrowth / 1024 / 1024, 48, "memory grew while the consumer was stalled")
          // Closing the stream cancelled the COPY (the server logged the cancel for that backend)
          // rather than reading the rest of the 1 GB, and the connection is usable.
          yield* bounded("after the stalled copy", 10, usable(conn))
          const log = yield* backendLog(yield* PgTestServer.PgTestServer, conn.processId, (lines) =>
            lines.includes("canceling statement due to user request")
          )
          assert.include(log, "canceling statement due to user request")
        }),
      60_000
    )

    it.effect("copyIn interrupted while its COPY waits for a lock: cancelled, in sync, nothing stored", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        const locker = yield* connect
        yield* conn.query("create table locked (a int)")
        yield* locker.query("begin")
        yield* locker.query("lock table locked in access exclusive mode")
        const fiber = yield* Effect.forkChild(conn.copyIn("copy locked from stdin", Stream.make(utf8("1\n"))))
        const observer = yield* connect
        yield* waitEventOf(observer, conn.processId, "relation")
        yield* bounded("interrupt before copy mode", 10, Fiber.interrupt(fiber))
        yield* locker.query("commit")
        yield* usable(conn)
        assert.deepStrictEqual((yield* conn.query("select count(*) from locked")).rows, [{ count: 0n }])
        yield* conn.query("drop table locked")
        // Queued behind a running query, it is withdrawn without reaching the server: the
        // statement (an INSERT given to copyIn, so it would leave a trace) never runs.
        yield* conn.query("create temp table marks (a int)")
        const sleeper = yield* Effect.forkChild(conn.query("select pg_sleep(0.3), 'slept'"))
        const queued = yield* Effect.forkChild(conn.copyIn("insert into marks values (1)", Stream.empty))
        yield* Effect.sleep("50 millis")
        yield* Fiber.interrupt(queued)
        const slept = yield* Fiber.join(sleeper)
        assert.deepStrictEqual(slept.rows, [{ pg_sleep: "", "?column?": "slept" }])
        yield* usable(conn)
        assert.deepStrictEqual((yield* conn.query("select count(*) from marks")).rows, [{ count: 0n }])
      })
    )

    it.effect("copyOutRows on a closed connection fails with the closed error", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.close
        const e = yield* Effect.flip(Stream.runCollect(conn.copyOutRows("copy (select 1) to stdout")))
        assert.strictEqual(e._tag, "PgClosedError")
        const c = yield* Effect.flip(Stream.runDrain(conn.copyOut("copy (select 1) to stdout")))
        assert.strictEqual(c._tag, "PgClosedError")
      })
    )
  }
)
