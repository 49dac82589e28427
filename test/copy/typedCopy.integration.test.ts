/**
 * COPY with typed rows against real servers (PG 18 and 15), decision 024: copyInRows of JS values
 * in text and binary, copyOutTyped of a table (text and binary) and of a COPY statement with
 * `types` (format told by the data), the values that break naive clients (int8 extremes, a
 * 1000-digit numeric, NaN and ±Infinity floats, empty and NUL-holding bytea, non-ASCII text with
 * tabs, newlines and backslashes, timestamptz at µs and ±infinity, intervals, int4[] with NULLs,
 * 2-D arrays, jsonb, bool, NULL); 100k rows each way in binary (count and checksum, against the
 * server's own sums); a value its column type refuses (typed error naming row, column and type;
 * nothing stored; the connection usable); a failing source and a consumer that stops early; a
 * type without a binary codec; bad `types`.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import * as Connection from "../../src/Connection.ts"
import type { ExpertConnection, Param } from "../../src/connection/operations.ts"
import { TypeRegistry } from "../../src/connection/typeRegistry.ts"
import { PgError, PgProtocolError } from "../../src/Errors.ts"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { defaultRegistry, PgInterval, PgTimestamp } from "../../src/types/index.ts"
import { bounded } from "./support.ts"

const connect = Effect.flatMap(PgTestServer.PgTestServer, (server) =>
  Expert.connect(server.url).pipe(
    Effect.provideService(TypeRegistry, { results: "typed", registry: defaultRegistry })
  )
)

const DIGITS = `${"9".repeat(500)}.${"1234567890".repeat(50)}`
const NASTY = "tab\there\nnew line\\back\\slash \\N é漢字🎉\r"

const TABLE = `create temp table typed (
  i8 int8, num numeric, f8 float8, f4 float4, raw bytea, txt text, ts timestamptz, iv interval,
  arr int4[], grid int4[], doc jsonb, flag bool, nothing int4)`
const COLUMNS = ["i8", "num", "f8", "f4", "raw", "txt", "ts", "iv", "arr", "grid", "doc", "flag", "nothing"]

/** Rows both formats carry; jsonb as objects (a JS array is an array literal in text format). */
const ROWS: ReadonlyArray<ReadonlyArray<Param>> = [
  [
    9223372036854775807n,
    DIGITS,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    new Uint8Array(0),
    NASTY,
    new PgTimestamp(1704164645, 123456),
    new PgInterval(14, 3, 4_000_005n),
    [1, null, 3],
    [
      [1, 2],
      [3, 4]
    ],
    { a: [1, "x", null], "é\t": { n: 1.5 } },
    true,
    null
  ],
  [
    -9223372036854775808n,
    `-${DIGITS}`,
    Number.NEGATIVE_INFINITY,
    -1.5,
    new Uint8Array([0, 0, 0x5c, 0x4e, 0xff]),
    "",
    PgTimestamp.infinity,
    new PgInterval(-1, -2, -3n),
    [null],
    [
      [null, 2],
      [3, null]
    ],
    { "\\N": "\u0001" },
    false,
    null
  ],
  [0n, "0", -0, 0, null, "\\N", PgTimestamp.negativeInfinity, null, [], null, null, null, null]
]

const check = (conn: ExpertConnection, sql: string, params: ReadonlyArray<string> = []) =>
  Effect.map(conn.query(sql, params, { rowMode: "array" }), (r) => r.rows)

const usable = (conn: ExpertConnection) =>
  Effect.gen(function* () {
    assert.deepStrictEqual(yield* check(conn, "select 'still in sync'"), [["still in sync"]])
    assert.strictEqual(yield* conn.transactionStatus, "I")
  })

const refusal = <A>(exit: Exit.Exit<A, unknown>): PgProtocolError => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  const e = (error as { error?: unknown } | undefined)?.error
  assert.instanceOf(e, PgProtocolError)
  return e as PgProtocolError
}

for (const version of [18, 15] as const) {
  describe(`PG${version}`, () => {
    layer(PgTestServer.layer({ version, tls: false }), { timeout: 180_000, excludeTestServices: true })(
      (it) => {
        for (const format of ["text", "binary"] as const) {
          it.effect(`${format}: every nasty value in and out unchanged`, () =>
            Effect.gen(function* () {
              const conn = yield* connect
              yield* conn.query(TABLE)
              const done = yield* conn.copyInRows(
                { table: "typed", columns: COLUMNS },
                Stream.fromIterable(ROWS),
                {
                  format
                }
              )
              assert.strictEqual(done.rows, ROWS.length)
              // Read back both ways, whichever way the rows went in.
              for (const out of ["text", "binary"] as const) {
                const rows = yield* Stream.runCollect(
                  conn.copyOutTyped({ table: "typed", columns: COLUMNS }, { format: out })
                )
                assert.deepStrictEqual<unknown>(rows, ROWS, `in ${format}, out ${out}`)
              }
              // The server's own reading of what was stored.
              assert.deepStrictEqual(
                yield* check(
                  conn,
                  "select num = $1::numeric, txt = $2, f8::text, raw, ts::text, array_dims(grid), doc->>'a' from typed order by i8 desc limit 1",
                  [DIGITS, NASTY]
                ),
                yield* check(
                  conn,
                  `select true, true, 'NaN', '\\x'::bytea, '2024-01-02 03:04:05.123456+00'::timestamptz::text, '[1:2][1:2]', '[1, "x", null]'`
                )
              )
              yield* usable(conn)
            }).pipe(Effect.scoped)
          )
        }

        it.effect("copyOutTyped of a COPY statement: types by OID or name, the format told by the data", () =>
          Effect.gen(function* () {
            const conn = yield* connect
            const select = "select 9007199254740993::int8, '{1,NULL}'::int4[], 'a\tb'::text, null::bool"
            const types = ["bigint", 1007, "text", "boolean"]
            for (const format of ["", " (FORMAT binary)"]) {
              const rows = yield* Stream.runCollect(
                conn.copyOutTyped(`COPY (${select}) TO STDOUT${format}`, { types })
              )
              assert.deepStrictEqual(rows, [[9007199254740993n, [1, null], "a\tb", null]], format)
            }
            // No rows at all, in both formats.
            for (const format of ["", " (FORMAT binary)"]) {
              const rows = yield* Stream.runCollect(
                conn.copyOutTyped(`COPY (${select} where false) TO STDOUT${format}`, { types })
              )
              assert.deepStrictEqual(rows, [])
            }
            // copyOutRows keeps the server's text.
            assert.deepStrictEqual(yield* Stream.runCollect(conn.copyOutRows(`COPY (${select}) TO STDOUT`)), [
              ["9007199254740993", "{1,NULL}", "a\tb", null]
            ])
            const unknown = refusal(
              yield* Effect.exit(
                Stream.runCollect(conn.copyOutTyped("COPY (select 1) TO STDOUT", { types: ["nosuch"] }))
              )
            )
            assert.strictEqual(unknown.reason, "InvalidValue")
            assert.match(unknown.message, /types\[0\]: the registry has no type named "nosuch"/)
            // Fewer types than columns: the rows cannot be read; the COPY is cancelled, the session in step.
            const width = refusal(
              yield* Effect.exit(
                Stream.runCollect(
                  conn.copyOutTyped(`COPY (${select}) TO STDOUT (FORMAT binary)`, { types: ["int8"] })
                )
              )
            )
            assert.strictEqual(width.reason, "UndecodableValue")
            assert.match(width.message, /tuple 1 has 4 fields, expected 1/)
            // The normal API has the operation too, its errors as PgError.
            const normal = Connection.toNormal(conn)
            assert.deepStrictEqual(
              yield* Stream.runCollect(normal.copyOutTyped(`COPY (${select}) TO STDOUT`, { types })),
              [[9007199254740993n, [1, null], "a\tb", null]]
            )
            const mapped = yield* Effect.flip(
              Stream.runCollect(
                normal.copyOutTyped(`COPY (${select}) TO STDOUT`, { types: ["int8", "int8"] })
              )
            )
            assert.instanceOf(mapped, PgError)
            assert.strictEqual(mapped.cause._tag, "PgProtocolError")
            yield* usable(conn)
          }).pipe(Effect.scoped)
        )

        it.effect("a value its column type refuses fails before sending that row; nothing is stored", () =>
          Effect.gen(function* () {
            const conn = yield* connect
            yield* conn.query("create temp table strict_t (id int4, flag bool, at timestamptz)")
            const target = { table: "strict_t", columns: ["id", "flag", "at"] }
            const good = [1, true, new Date("2024-01-02T03:04:05.678Z")]
            const binary = refusal(
              yield* Effect.exit(
                conn.copyInRows(target, Stream.make(good, [2, { not: "a bool" }, null]), { format: "binary" })
              )
            )
            assert.strictEqual(binary.reason, "InvalidValue")
            assert.strictEqual(binary.mayHaveRun, false)
            assert.match(
              binary.message,
              /^copyInRows: row 2, column 2 "flag" \(bool\): bool: cannot encode an object/
            )
            const range = refusal(
              yield* Effect.exit(
                conn.copyInRows(target, Stream.make(good, good, [2 ** 31, null, null]), { format: "binary" })
              )
            )
            assert.match(range.message, /row 3, column 1 "id" \(int4\)/)
            const text = refusal(
              yield* Effect.exit(conn.copyInRows(target, Stream.make(good, [2n ** 70n, null, null])))
            )
            assert.match(text.message, /^copyInRows: row 2, column 1 "id" \(int8\): /)
            assert.strictEqual(text.mayHaveRun, false)
            assert.deepStrictEqual(yield* check(conn, "select count(*)::int from strict_t"), [[0]])
            yield* usable(conn)
            // A Date and a number go in by the column's codec, and read back as the codec's values.
            yield* conn.copyInRows(target, Stream.make(good), { format: "binary" })
            assert.deepStrictEqual(yield* Stream.runCollect(conn.copyOutTyped({ table: "strict_t" })), [
              [1, true, new PgTimestamp(1704164645, 678000)]
            ])
          }).pipe(Effect.scoped)
        )

        it.effect(
          "a binary copyInRows whose source fails: the server's 57014 with the source's error, nothing stored",
          () =>
            Effect.gen(function* () {
              const conn = yield* connect
              yield* conn.query("create temp table broken (id int8)")
              const source = Stream.concat(
                Stream.fromIterable(Array.from({ length: 5000 }, (_, i) => [BigInt(i)])),
                Stream.fail(new Error("the source broke"))
              )
              const exit = yield* Effect.exit(
                conn.copyInRows({ table: "broken", columns: ["id"] }, source, { format: "binary" })
              )
              assert.isTrue(Exit.isFailure(exit))
              const failure = Exit.isFailure(exit)
                ? exit.cause.reasons.find((r) => r._tag === "Fail")
                : undefined
              const error = (failure as { error?: { code?: string; message?: string; cause?: unknown } })
                .error
              assert.strictEqual(error?.code, "57014")
              assert.include(error?.message, "the source broke")
              assert.deepStrictEqual(yield* check(conn, "select count(*)::int from broken"), [[0]])
              yield* usable(conn)
            }).pipe(Effect.scoped)
        )

        it.effect("binary COPY refuses a column whose type has no binary codec, before sending", () =>
          Effect.gen(function* () {
            const conn = yield* connect
            yield* conn.query("drop type if exists mood cascade")
            yield* conn.query("create type mood as enum ('sad', 'ok')")
            yield* conn.query("create temp table moods (id int4, m mood)")
            const error = refusal(
              yield* Effect.exit(
                conn.copyInRows({ table: "moods" }, Stream.make([1, "ok"]), { format: "binary" })
              )
            )
            assert.match(
              error.message,
              /column 2 "m" \(\d+\): the type has no binary codec here; use the text format/
            )
            // Text format takes it: the server reads the label.
            yield* conn.copyInRows({ table: "moods" }, Stream.make([1, "ok"]))
            assert.deepStrictEqual(yield* Stream.runCollect(conn.copyOutTyped({ table: "moods" })), [
              [1, "ok"]
            ])
            yield* usable(conn)
          }).pipe(Effect.scoped)
        )

        it.effect("100k rows each way in binary, streamed: count and checksum", () =>
          bounded(
            "100k binary rows",
            120,
            Effect.gen(function* () {
              const conn = yield* connect
              yield* conn.query("create temp table many (id int8, label text, score float8, at timestamptz)")
              const n = 100_000
              const rows = Stream.range(1, n).pipe(
                Stream.map((i) => [
                  BigInt(i),
                  `row ${i}\t${"x".repeat(i % 17)}`,
                  i / 4,
                  new PgTimestamp(i, i % 1_000_000)
                ]),
                Stream.rechunk(1000)
              )
              const done = yield* conn.copyInRows(
                { table: "many", columns: ["id", "label", "score", "at"] },
                rows,
                { format: "binary" }
              )
              assert.strictEqual(done.rows, n)
              const server = yield* check(
                conn,
                "select count(*)::int, sum(id)::text, sum(length(label))::int, sum(score)::text, sum(extract(epoch from at))::text from many"
              )
              let count = 0
              let ids = 0n
              let lengths = 0
              let scores = 0
              yield* Stream.runForEach(
                conn.copyOutTyped({ table: "many", columns: ["id", "label", "score"] }, { format: "binary" }),
                (row) =>
                  Effect.sync(() => {
                    count++
                    ids += row[0] as bigint
                    lengths += (row[1] as string).length
                    scores += row[2] as number
                  })
              )
              assert.deepStrictEqual(
                [count, String(ids), lengths, String(scores)],
                (server[0] as Array<unknown>).slice(0, 4)
              )
              assert.strictEqual(String(ids), String((BigInt(n) * BigInt(n + 1)) / 2n))
              // A consumer that stops early cancels the rest; the session stays in step.
              const five = yield* Stream.runCollect(
                Stream.take(conn.copyOutTyped({ table: "many", columns: ["id"] }, { format: "binary" }), 5)
              )
              assert.strictEqual(five.length, 5)
              yield* usable(conn)
            })
          ).pipe(Effect.scoped)
        )
      }
    )
  })
}
