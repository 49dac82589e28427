/**
 * COPY FROM STDIN against real servers (PG18, and PG15 for the basics and a failing source):
 * copyInRows with and without a schema, values and names that need escaping or quoting, a NUL
 * refused, a million rows, raw COPY cut into odd chunks, CSV and hand-built binary payloads, a
 * source that fails (the server's 57014 quoting its message, the source's error as cause), an
 * interrupted copy, a bad value in the data, the pull form (copyInFeed) and a non-COPY statement.
 * After every failure the test checks that the table is unchanged and the connection still works.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Connection from "../../src/Connection.ts"
import { CopyAborted, type ExpertConnection } from "../../src/connection/operations.ts"
import { mayHaveRun, PgError, PgServerError } from "../../src/Errors.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import {
  backendLog,
  binaryCopy,
  bounded,
  bytesStream,
  chunksOf,
  connect,
  nastyValues,
  utf8
} from "./support.ts"

const count = (conn: ExpertConnection, table: string) =>
  Effect.map(conn.query(`select count(*)::int from ${table}`), (r) => r.rows[0]!.count)

const usable = (conn: ExpertConnection) =>
  Effect.gen(function* () {
    assert.deepStrictEqual((yield* conn.query("select 'still in sync'")).rows, [
      { "?column?": "still in sync" }
    ])
    assert.strictEqual((yield* conn.status)._tag, "Open")
    assert.strictEqual(yield* conn.transactionStatus, "I")
  })

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, tls: false }), { timeout: 120_000, excludeTestServices: true })(
    `COPY IN basics (PG${version})`,
    (it) => {
      it.effect("copyInRows writes rows, nulls and the command tag counts them", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table basics (id int, name text, score float8)")
          const done = yield* conn.copyInRows(
            { table: "basics", columns: ["id", "name", "score"] },
            Stream.make(["1", "one", "1.5"], ["2", null, null], ["3", "three", "-0"])
          )
          assert.strictEqual(done.command, "COPY")
          assert.strictEqual(done.rows, 3)
          const r = yield* conn.query("select id, name, score from basics order by id")
          assert.deepStrictEqual(r.rows, [
            { id: 1, name: "one", score: 1.5 },
            { id: 2, name: null, score: null },
            { id: 3, name: "three", score: -0 }
          ])
        })
      )

      it.effect("copyInRows into a column subset of a table in a schema", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query(`drop schema if exists "copy schema" cascade`)
          yield* conn.query(`create schema "copy schema"`)
          yield* conn.query(`create table "copy schema".t (a int, b text default 'dflt', c text)`)
          // A same-named table elsewhere on the search path must not receive the rows.
          yield* conn.query("create temp table t (a int, b text, c text)")
          const done = yield* conn.copyInRows(
            { schema: "copy schema", table: "t", columns: ["c", "a"] },
            Stream.make(["x", "1"], ["y", "2"])
          )
          assert.strictEqual(done.rows, 2)
          const r = yield* conn.query(`select a, b, c from "copy schema".t order by a`)
          assert.deepStrictEqual(r.rows, [
            { a: 1, b: "dflt", c: "x" },
            { a: 2, b: "dflt", c: "y" }
          ])
          assert.strictEqual(yield* count(conn, "pg_temp.t"), 0)
        })
      )

      it.effect("a bad value fails with 22P02 naming the COPY line; the connection stays usable", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table badint (a int)")
          const e = yield* Effect.flip(
            conn.copyIn("copy badint from stdin", bytesStream([utf8("1\n2\nnot a number\n4\n")]))
          )
          assert.strictEqual(e._tag, "PgServerError")
          if (e._tag !== "PgServerError") return
          assert.strictEqual(e.code, "22P02")
          assert.match(e.where ?? "", /COPY badint, line 3/)
          assert.strictEqual(yield* count(conn, "badint"), 0)
          yield* usable(conn)
        })
      )

      it.effect(
        "a source that fails midway: CopyFail with its message, the server's 57014, table unchanged",
        () =>
          Effect.gen(function* () {
            const conn = yield* connect
            yield* conn.query("create temp table aborted (a int)")
            yield* conn.query("insert into aborted values (0)")
            class SourceBroke {
              readonly _tag = "SourceBroke"
              readonly message = "the disk went away"
            }
            const broke = new SourceBroke()
            const source = Stream.concat(Stream.make(utf8("1\n2\n"), utf8("3\n")), Stream.fail(broke))
            const e = yield* Effect.flip(conn.copyIn("copy aborted from stdin", source))
            // The server's answer to the CopyFail, quoting the source error's own message; the source's
            // error is its cause.
            assert.strictEqual(e._tag, "PgServerError")
            if (e._tag === "PgServerError") {
              assert.strictEqual(e.code, "57014")
              assert.strictEqual(e.message, "COPY from stdin failed: the disk went away")
              assert.strictEqual(e.cause, broke)
              assert.isFalse(mayHaveRun(e))
            }
            assert.strictEqual(yield* count(conn, "aborted"), 1)
            yield* usable(conn)
            // The server got a CopyFail (a CopyDone would have stored rows 1 to 3), carrying the reason.
            const log = yield* backendLog(yield* PgTestServer.PgTestServer, conn.processId, (lines) =>
              lines.includes("COPY from stdin failed")
            )
            assert.match(log, /COPY from stdin failed: the disk went away/)
            // An Error's message, and a plain string, are the reason as they are.
            const asError = yield* Effect.flip(
              conn.copyIn(
                "copy aborted from stdin",
                Stream.concat(Stream.make(utf8("4\n")), Stream.fail(new Error("read EIO")))
              )
            )
            assert.deepStrictEqual(
              asError instanceof PgServerError && [asError.message, (asError.cause as Error).message],
              ["COPY from stdin failed: read EIO", "read EIO"]
            )
            const asString = yield* Effect.flip(
              conn.copyIn("copy aborted from stdin", Stream.fail("no more input"))
            )
            assert.deepStrictEqual(asString instanceof PgServerError && [asString.message, asString.cause], [
              "COPY from stdin failed: no more input",
              "no more input"
            ])
            // Through the normal API: PgError 57014 whose Expert cause keeps the source's error.
            const normal = yield* Effect.flip(
              Connection.toNormal(conn).copyIn("copy aborted from stdin", Stream.fail(broke))
            )
            assert.deepStrictEqual(normal instanceof PgError && [normal.code, normal.cause._tag], [
              "57014",
              "PgServerError"
            ])
            assert.strictEqual(normal instanceof PgError && normal.serverError?.cause, broke)
            const ok = yield* conn.copyIn("copy aborted from stdin", Stream.make(utf8("9\n")))
            assert.strictEqual(ok.rows, 1)
          })
      )
    }
  )
}

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 180_000, excludeTestServices: true })(
  "COPY IN (PG18)",
  (it) => {
    it.effect("values that need escaping arrive unchanged, and \\N the string is not null", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.query("create temp table nasty (i int, v text)")
        const rows = nastyValues.map((v, i) => [String(i), v] as const)
        yield* conn.copyInRows({ table: "nasty", columns: ["i", "v"] }, Stream.fromIterable(rows))
        const r = yield* conn.query("select i, v, v is null as is_null from nasty order by i")
        assert.deepStrictEqual(
          r.rows.map((row) => [row.i, row.v]),
          rows.map(([i, v]) => [Number(i), v])
        )
        const nulls = r.rows.filter((row) => row.is_null === true).map((row) => row.i)
        assert.deepStrictEqual(nulls, [nastyValues.indexOf(null)])
      })
    )

    it.effect("table and column names with spaces, quotes, unicode and SQL in them", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        const table = `my "table"; drop table victim; --`
        const columns = ["with space", `"quoted"`, "日本 ünï", `x"; drop table victim; --`]
        const quote = (n: string) => `"${n.replace(/"/g, '""')}"`
        yield* conn.query("create temp table victim (a int)")
        yield* conn.query(
          `create temp table ${quote(table)} (${columns.map((c) => `${quote(c)} text`).join(", ")})`
        )
        const done = yield* conn.copyInRows({ table, columns }, Stream.make(["1", "2", "3", "4"]))
        assert.strictEqual(done.rows, 1)
        const r = yield* conn.query(`select ${columns.map(quote).join(", ")} from ${quote(table)}`)
        assert.deepStrictEqual(r.rows, [
          { "with space": "1", '"quoted"': "2", "日本 ünï": "3", 'x"; drop table victim; --': "4" }
        ])
        assert.strictEqual(yield* count(conn, "victim"), 0)
      })
    )

    it.effect("a NUL in a value is refused with a clear error; nothing is stored", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.query("create temp table nul (a text, b text)")
        const e = yield* Effect.flip(
          conn.copyInRows(
            { table: "nul", columns: ["a", "b"] },
            Stream.make(["ok", "ok"], ["fine", "bad\0value"])
          )
        )
        assert.strictEqual(e._tag, "PgProtocolError")
        assert.match(e.message, /row 2, column 2: a NUL character/)
        assert.strictEqual(yield* count(conn, "nul"), 0)
        yield* usable(conn)
        const names = yield* Effect.flip(conn.copyInRows({ table: "nul", columns: ["a\0"] }, Stream.empty))
        assert.strictEqual(names._tag, "PgProtocolError")
        assert.match(names.message, /NUL/)
        yield* usable(conn)
      })
    )

    it.effect(
      "a million rows, counted and summed on the server",
      () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.query("create temp table million (id int, label text, x float8)")
          const total = 1_000_000
          const rows = Stream.range(1, total, 8192).pipe(
            Stream.map((i) => [String(i), `row ${i}`, String(i / 4)] as const)
          )
          const done = yield* conn.copyInRows({ table: "million", columns: ["id", "label", "x"] }, rows)
          assert.strictEqual(done.rows, total)
          const r = yield* conn.query(
            "select count(*), count(distinct id), sum(id)::text, sum(x)::text, max(label) from million"
          )
          assert.deepStrictEqual(r.rows, [
            {
              count: BigInt(total),
              count_2: BigInt(total),
              sum: String((total * (total + 1)) / 2),
              sum_2: String((total * (total + 1)) / 8),
              max: "row 999999"
            }
          ])
        }),
      120_000
    )

    it.effect("raw COPY text cut into 1-byte chunks and into chunks across rows", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.query("create temp table chunks (a int, b text)")
        const text = utf8("1\tone\n2\tdeux é\n3\t\\N\n4\t日本\\t語\n")
        for (const size of [1, 3, 7, text.length]) {
          yield* conn.query("truncate chunks")
          const done = yield* conn.copyIn("copy chunks from stdin", bytesStream(chunksOf(text, size)))
          assert.strictEqual(done.rows, 4, `chunk size ${size}`)
          const r = yield* conn.query("select a, b from chunks order by a")
          assert.deepStrictEqual(r.rows, [
            { a: 1, b: "one" },
            { a: 2, b: "deux é" },
            { a: 3, b: null },
            { a: 4, b: "日本\t語" }
          ])
        }
        // Empty chunks are skipped, not sent as empty CopyData.
        yield* conn.query("truncate chunks")
        const empty = new Uint8Array(0)
        const done = yield* conn.copyIn(
          "copy chunks from stdin",
          bytesStream([empty, utf8("5\tfive\n"), empty])
        )
        assert.strictEqual(done.rows, 1)
      })
    )

    it.effect("CSV passes through as is", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.query("create temp table csv (a int, b text)")
        const csv = utf8(`a,b\n1,"with, comma"\n2,"with ""quote"""\n3,\n4,""\n5,"multi\nline"\n`)
        const done = yield* conn.copyIn(
          "copy csv from stdin with (format csv, header true)",
          bytesStream(chunksOf(csv, 5))
        )
        assert.strictEqual(done.rows, 5)
        const r = yield* conn.query("select a, b from csv order by a")
        assert.deepStrictEqual(r.rows, [
          { a: 1, b: "with, comma" },
          { a: 2, b: 'with "quote"' },
          { a: 3, b: null },
          { a: 4, b: "" },
          { a: 5, b: "multi\nline" }
        ])
      })
    )

    it.effect("FORMAT binary passes through: a payload built by hand, with a header extension", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.query("create temp table bin (a int4, b text)")
        const rows = [
          [1, "one"],
          [-2147483648, "min"],
          [null, "null int"],
          [7, null],
          [42, "é\t\n\\"]
        ] as const
        const payload = binaryCopy(rows, Uint8Array.from([1, 2, 3]))
        const done = yield* conn.copyIn(
          "copy bin from stdin (format binary)",
          bytesStream(chunksOf(payload, 4))
        )
        assert.strictEqual(done.rows, rows.length)
        const r = yield* conn.query("select a, b from bin order by a nulls first, b")
        assert.deepStrictEqual(r.rows, [
          { a: null, b: "null int" },
          { a: -2147483648, b: "min" },
          { a: 1, b: "one" },
          { a: 7, b: null },
          { a: 42, b: "é\t\n\\" }
        ])
        // A broken signature is the server's error, and the connection survives it.
        const broken = payload.slice()
        broken[0] = 0x51
        const e = yield* Effect.flip(
          conn.copyIn("copy bin from stdin (format binary)", bytesStream([broken]))
        )
        assert.strictEqual(e._tag === "PgServerError" && e.code, "22P04")
        assert.strictEqual(yield* count(conn, "bin"), rows.length)
        yield* usable(conn)
      })
    )

    it.effect("interrupting the copy fiber midway aborts the copy; nothing lands", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        const observer = yield* connect
        yield* conn.query("create table interrupted (a int)")
        let sent = 0
        const endless = Stream.range(1, 1_000_000_000, 100).pipe(
          Stream.map((i) => utf8(`${i}\n`)),
          Stream.tap(() =>
            Effect.sync(() => {
              sent++
            })
          ),
          Stream.tap((_) => (sent % 500 === 0 ? Effect.sleep("1 millis") : Effect.void))
        )
        const fiber = yield* Effect.forkChild(conn.copyIn("copy interrupted from stdin", endless))
        // Wait until the server is really copying (it has rows in hand).
        yield* bounded(
          "copy progress",
          20,
          Effect.gen(function* () {
            for (;;) {
              const r = yield* observer.query(
                "select tuples_processed from pg_stat_progress_copy where pid = $1",
                [String(conn.processId)]
              )
              if (Number(r.rows[0]?.tuples_processed ?? 0) > 1000) return
              yield* Effect.sleep("20 millis")
            }
          })
        )
        yield* bounded("interrupt", 10, Fiber.interrupt(fiber))
        assert.isAbove(sent, 1000)
        yield* usable(conn)
        assert.strictEqual(yield* count(conn, "interrupted"), 0)
        yield* conn.query("drop table interrupted")
      })
    )

    it.effect("copyInFeed: Data, Wait and Finished, then Abort", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.query("create temp table feed (a int)")
        const steps = [
          { _tag: "Data", data: utf8("1\n") },
          { _tag: "Wait", wait: Effect.sleep("10 millis") },
          { _tag: "Data", data: utf8("2\n3") },
          { _tag: "Wait", wait: Effect.void },
          { _tag: "Data", data: utf8("\n") },
          { _tag: "Finished" }
        ] as const
        let i = 0
        let waited = 0
        const feed = Effect.sync(() => {
          const step = steps[i++]!
          if (step._tag === "Wait") waited++
          return step
        })
        const done = yield* conn.copyInFeed("copy feed from stdin", feed)
        assert.strictEqual(done.rows, 3)
        assert.strictEqual(waited, 2)
        assert.strictEqual(i, steps.length)
        assert.deepStrictEqual((yield* conn.query("select a from feed order by a")).rows, [
          { a: 1 },
          { a: 2 },
          { a: 3 }
        ])

        let n = 0
        const aborting = Effect.sync(() =>
          n++ < 3
            ? { _tag: "Data" as const, data: utf8(`${10 + n}\n`) }
            : { _tag: "Abort" as const, reason: "changed my mind" }
        )
        const e = yield* Effect.flip(conn.copyInFeed("copy feed from stdin", aborting))
        // The reason as it is (not mangled), quoted by the server; the CopyAborted is the cause.
        assert.strictEqual(e._tag, "PgServerError")
        if (e._tag === "PgServerError") {
          assert.strictEqual(e.code, "57014")
          assert.strictEqual(e.message, "COPY from stdin failed: changed my mind")
          assert.instanceOf(e.cause, CopyAborted)
          assert.strictEqual((e.cause as CopyAborted).reason, "changed my mind")
        }
        assert.strictEqual(yield* count(conn, "feed"), 3)
        yield* usable(conn)
      })
    )

    it.effect("a statement that is not COPY FROM STDIN is refused without desync", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.query("create temp table notcopy (a int)")
        let pulled = 0
        const source = Stream.make(utf8("1\n")).pipe(
          Stream.tap(() =>
            Effect.sync(() => {
              pulled++
            })
          )
        )
        const notCopy = [
          "select 1",
          "insert into notcopy values (1)",
          "copy notcopy to stdout",
          "",
          "select 1; copy notcopy from stdin",
          "copy notcopy from stdin; copy notcopy from stdin"
        ]
        for (const sql of notCopy) {
          const e = yield* Effect.flip(conn.copyIn(sql, source))
          assert.strictEqual(e._tag, "PgProtocolError", sql)
          assert.match(e.message, /copyIn expects a COPY \.\.\. FROM STDIN/, sql)
          yield* usable(conn)
        }
        // The INSERT ran (the server cannot be stopped from running a statement it was sent), but it
        // is reported as a misuse, not as the success of a COPY.
        assert.strictEqual(yield* count(conn, "notcopy"), 1)
        // Only the double COPY read its source (for its first COPY, rolled back with the second).
        assert.strictEqual(pulled, 1)
        const syntax = yield* Effect.flip(conn.copyIn("copy nosuchtable from stdin", source))
        assert.strictEqual(syntax._tag === "PgServerError" && syntax.code, "42P01")
        yield* usable(conn)
      })
    )
  }
)
