/**
 * Typed values through the public operations (decision 020), on PostgreSQL 18 and 15: the
 * TypeRegistry service with typed results; `query` (first execution in text, cached ones in
 * binary), `stream`, `execute`, `pipeline` and `cursor` give JS values for int8, numeric, bool,
 * bytea, timestamptz, json, int4[] and NULL; parameters of each JS kind; a value a prepared or
 * cached statement's parameter type refuses fails before sending (index and type named) and
 * the connection stays usable; a codec that throws fails its query (row, column and type named) and
 * the next query runs; rows as objects; the default keeps text results.
 */
import { assert, describe, layer } from "@effect/vitest"
import { DateTime, Effect, Exit, Stream } from "effect"
import { TypeRegistry, typed as typedLayer } from "../../src/connection/typeRegistry.ts"
import * as Expert from "../../src/Expert.ts"
import * as Pool from "../../src/Pool.ts"
import { objects, rowToObject } from "../../src/Result.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { type Codec, defaultRegistry, PgTimestamp } from "../../src/types/index.ts"

const SELECT =
  "select 9007199254740993::int8 as big, 12.50::numeric as num, true as flag, '\\x0102'::bytea as raw," +
  " '2024-01-02 03:04:05.123456+00'::timestamptz as ts, '{\"a\":[1,2]}'::json as doc," +
  " '{1,NULL,3}'::int4[] as arr, null::int4 as nothing"

const EXPECTED_ARRAY: ReadonlyArray<unknown> = [
  9007199254740993n,
  "12.50",
  true,
  new Uint8Array([1, 2]),
  new PgTimestamp(1704164645, 123456),
  { a: [1, 2] },
  [1, null, 3],
  null
]

const EXPECTED = {
  big: 9007199254740993n,
  num: "12.50",
  flag: true,
  raw: new Uint8Array([1, 2]),
  ts: new PgTimestamp(1704164645, 123456),
  doc: { a: [1, 2] },
  arr: [1, null, 3],
  nothing: null
}

const typed = (registry = defaultRegistry) =>
  Effect.flatMap(PgTestServer.PgTestServer, (server) =>
    Expert.connect(server.url).pipe(Effect.provideService(TypeRegistry, { results: "typed", registry }))
  )

/** A connection with nothing provided: the defaults (typed values, object rows). */
const byDefault = Effect.flatMap(PgTestServer.PgTestServer, (server) => Expert.connect(server.url))

const text = Effect.flatMap(PgTestServer.PgTestServer, (server) =>
  Expert.connect(server.url).pipe(
    Effect.provideService(TypeRegistry, { results: "text", registry: defaultRegistry })
  )
)

/** int4 whose text and binary decoders throw for 13 (a user codec failing). */
const int4 = defaultRegistry.codecFor(23)
const unlucky: Codec = {
  ...int4,
  text: {
    ...int4.text,
    decode: (s: string) => {
      if (s === "13") throw new Error("unlucky")
      return Number(s)
    }
  },
  binary: {
    ...int4.binary!,
    decode: (bytes: Uint8Array, start: number, length: number) => {
      const n = int4.binary!.decode(bytes, start, length) as number
      if (n === 13) throw new Error("unlucky")
      return n
    }
  }
}

for (const version of [18, 15] as const) {
  describe(`PG${version}`, () => {
    layer(PgTestServer.layer({ version, tls: false }), { timeout: 180_000, excludeTestServices: true })(
      (it) => {
        it.effect("query: typed values, text at the first execution and binary once cached", () =>
          Effect.gen(function* () {
            const conn = yield* byDefault
            for (let i = 0; i < 3; i++) {
              const r = yield* conn.query(SELECT)
              assert.deepStrictEqual(r.rows, [EXPECTED], `execution ${i + 1}`)
              const a = yield* conn.query(SELECT, [], { rowMode: "array" })
              assert.deepStrictEqual(a.rows, [EXPECTED_ARRAY], `execution ${i + 1}, arrays`)
              const formats = r.columns.map((c) => c.format)
              // json's binary form is its text: its codec prefers text.
              assert.deepStrictEqual(formats, i === 0 ? [0, 0, 0, 0, 0, 0, 0, 0] : [1, 1, 1, 1, 1, 0, 1, 1])
              assert.deepStrictEqual(
                a.columns.map((c) => c.format),
                [1, 1, 1, 1, 1, 0, 1, 1]
              )
            }
          }).pipe(Effect.scoped)
        )

        it.effect("stream, cursor, pipeline and execute give the same values", () =>
          Effect.gen(function* () {
            const conn = yield* byDefault
            const streamed = yield* Stream.runCollect(conn.stream(SELECT))
            assert.deepStrictEqual(streamed, [EXPECTED])
            const streamedArrays = yield* Stream.runCollect(conn.stream(SELECT, [], { rowMode: "array" }))
            assert.deepStrictEqual(streamedArrays, [EXPECTED_ARRAY])
            const { columns, rows } = yield* conn.streamWithColumns(SELECT)
            assert.strictEqual(columns[0]!.name, "big")
            assert.deepStrictEqual(yield* Stream.runCollect(rows), [EXPECTED])
            const withArrays = yield* conn.streamWithColumns(SELECT, [], { rowMode: "array" })
            assert.deepStrictEqual(yield* Stream.runCollect(withArrays.rows), [EXPECTED_ARRAY])
            const cursor = yield* Stream.runCollect(conn.cursor(SELECT, [], { window: 1 }))
            assert.deepStrictEqual(cursor, [EXPECTED])
            const cursorArrays = yield* Stream.runCollect(
              conn.cursor(SELECT, [], { window: 1, rowMode: "array" })
            )
            assert.deepStrictEqual(cursorArrays, [EXPECTED_ARRAY])
            const [exit] = yield* conn.pipeline([{ sql: SELECT }])
            assert.deepStrictEqual(Exit.isSuccess(exit!) ? exit.value.rows : exit, [EXPECTED])
            const [all] = yield* conn.pipeline([{ sql: SELECT }], { mode: "transaction", rowMode: "array" })
            assert.deepStrictEqual(all!.rows, [EXPECTED_ARRAY])
            const statement = yield* conn.prepare(SELECT)
            for (let i = 0; i < 2; i++) {
              assert.deepStrictEqual((yield* conn.execute(statement)).rows, [EXPECTED])
              assert.deepStrictEqual((yield* conn.execute(statement, [], { rowMode: "array" })).rows, [
                EXPECTED_ARRAY
              ])
            }
          }).pipe(Effect.scoped)
        )

        it.effect("parameters of each JS kind, with and without known parameter types", () =>
          Effect.gen(function* () {
            const conn = yield* typed()
            const sql =
              "select $1::int8 as a, $2::float8 as b, $3::bool as c, $4::bytea as d, $5::timestamptz as e," +
              " $6::jsonb as f, $7::int4[] as g, $8::text as h, $9::int4 as i, $10::date as j"
            const params = [
              -42n,
              1.5,
              false,
              new Uint8Array([0, 255]),
              new Date("2024-01-02T03:04:05.678Z"),
              { k: "v", n: [1] },
              [
                [1, 2],
                [3, null]
              ],
              "plain",
              null,
              new Date("2024-02-29T00:00:00Z")
            ] as const
            const expected = [
              -42n,
              1.5,
              false,
              new Uint8Array([0, 255]),
              new PgTimestamp(1704164645, 678000),
              { k: "v", n: [1] },
              [
                [1, 2],
                [3, null]
              ],
              "plain",
              null
            ]
            for (let i = 0; i < 2; i++) {
              const row = (yield* conn.query(sql, params, { rowMode: "array" })).rows[0]!
              assert.deepStrictEqual(row.slice(0, 9), expected, `query, execution ${i + 1}`)
              assert.strictEqual(String(row[9]), "2024-02-29", `query, execution ${i + 1}: the date`)
            }
            const statement = yield* conn.prepare(sql)
            const row = (yield* conn.execute(statement, params, { rowMode: "array" })).rows[0]!
            assert.deepStrictEqual(row.slice(0, 9), expected, "execute (binary parameters)")
            const streamed = yield* Stream.runCollect(conn.stream("select $1::int8 + 1 as n", [41n]))
            assert.deepStrictEqual(streamed, [{ n: 42n }])
            const cursor = yield* Stream.runCollect(conn.cursor("select $1::bool as b", [true]))
            assert.deepStrictEqual(cursor, [{ b: true }])
            const [exit] = yield* conn.pipeline([{ sql: "select $1::int4[] as a", params: [[7, 8]] }])
            assert.deepStrictEqual(Exit.isSuccess(exit!) ? exit.value.rows : exit, [{ a: [7, 8] }])
          }).pipe(Effect.scoped)
        )

        it.effect(
          "an Effect DateTime is a parameter (Utc and Zoned, alone and in arrays), known types or not",
          () =>
            Effect.gen(function* () {
              const conn = yield* byDefault
              const utc = DateTime.makeUnsafe("2024-01-02T03:04:05.678Z")
              const zoned = DateTime.makeZonedUnsafe("2024-01-02T03:04:05.678Z", { timeZone: "Asia/Kolkata" })
              const expected = new PgTimestamp(1704164645, 678000)
              const sql = "select $1::timestamptz as a, $2::timestamptz as b, $3::timestamptz[] as c"
              for (let i = 0; i < 2; i++) {
                // First execution: text with no declared types; then cached: binary by the known types.
                const r = yield* conn.query(sql, [utc, zoned, [utc, null]])
                assert.deepStrictEqual(
                  r.rows,
                  [{ a: expected, b: expected, c: [expected, null] }],
                  `execution ${i + 1}`
                )
              }
              const statement = yield* conn.prepare("select $1::timestamptz as a")
              assert.deepStrictEqual((yield* conn.execute(statement, [zoned])).rows, [{ a: expected }])
            }).pipe(Effect.scoped)
        )

        it.effect(
          "a value its parameter type refuses fails before sending; the connection stays usable",
          () =>
            Effect.gen(function* () {
              const conn = yield* typed()
              const statement = yield* conn.prepare("select $1::int4 as n, $2::bool as b")
              const error = yield* Effect.flip(conn.execute(statement, [1, { not: "a bool" }]))
              assert.strictEqual(error._tag, "PgProtocolError")
              if (error._tag !== "PgProtocolError") return
              assert.strictEqual(error.reason, "InvalidValue")
              assert.strictEqual(error.mayHaveRun, false)
              assert.match(error.message, /^parameter \$2 \(bool\): /)
              const big = yield* Effect.flip(conn.execute(statement, [2 ** 31, true]))
              assert.match(big.message, /^parameter \$1 \(int4\): /)
              assert.deepStrictEqual((yield* conn.execute(statement, [5, true])).rows, [{ n: 5, b: true }])
              // No parameter types known (query): the value is sent as text and the server refuses it.
              const server = yield* Effect.flip(conn.query("select $1::int4", [true]))
              assert.strictEqual(server._tag, "PgServerError")
              assert.deepStrictEqual((yield* conn.query("select 1::int4 as one")).rows, [{ one: 1 }])
              // Once cached, the statement's parameter types are known (Describe(S) at its first
              // execution, same round trip): the refusal comes before sending, as for execute.
              const cached = "select $1::int4 + 0 as n"
              assert.deepStrictEqual((yield* conn.query(cached, [1])).rows, [{ n: 1 }])
              const early = yield* Effect.flip(conn.query(cached, [true]))
              assert.strictEqual(early._tag, "PgProtocolError")
              assert.match(early.message, /^parameter \$1 \(int4\): /)
              assert.strictEqual((early as { mayHaveRun?: boolean }).mayHaveRun, false)
              assert.deepStrictEqual((yield* conn.query(cached, [2])).rows, [{ n: 2 }])
              assert.deepStrictEqual((yield* conn.query(cached, ["3"])).rows, [{ n: 3 }])
            }).pipe(Effect.scoped)
        )

        it.effect("a codec that throws fails its query (row, column, type named); the next query runs", () =>
          Effect.gen(function* () {
            const conn = yield* typed(defaultRegistry.with(unlucky))
            const sql = "select g::int4 as n from generate_series(10, 20) g"
            for (let i = 0; i < 2; i++) {
              const error = yield* Effect.flip(conn.query(sql))
              assert.strictEqual(error._tag, "PgProtocolError")
              if (error._tag !== "PgProtocolError") return
              assert.strictEqual(error.reason, "UndecodableValue")
              assert.strictEqual(error.code, undefined)
              assert.match(error.message, /^row 4, column 1 "n" \(int4\): int4: the codec failed: unlucky/)
              assert.deepStrictEqual((yield* conn.query("select 1::int4 as n")).rows, [{ n: 1 }])
              const arrays = yield* Effect.flip(conn.query(sql, [], { rowMode: "array" }))
              assert.match(arrays.message, /^row 4, column 1 "n" \(int4\)/)
            }
            const streamed = yield* Effect.flip(Stream.runCollect(conn.stream(sql)))
            assert.match(streamed.message, /^row 4, column 1/)
            const cursor = yield* Effect.flip(Stream.runCollect(conn.cursor(sql, [], { window: 2 })))
            assert.match(cursor.message, /^row \d, column 1 "n" \(int4\)/)
            const [exit, after] = yield* conn.pipeline([{ sql }, { sql: "select 2::int4 as n" }])
            assert.isTrue(Exit.isFailure(exit!))
            assert.deepStrictEqual(Exit.isSuccess(after!) ? after.value.rows : after, [{ n: 2 }])
            assert.deepStrictEqual((yield* conn.query("select 3::int4 as n")).rows, [{ n: 3 }])
            assert.strictEqual((yield* conn.status)._tag, "Open")
          }).pipe(Effect.scoped)
        )

        it.effect(
          "rows as objects: duplicate column names renamed, __proto__ an own property, also on a stream",
          () =>
            Effect.gen(function* () {
              const conn = yield* byDefault
              const sql = "select 1::int4 as a, 2::int8 as a, 'x' as b, 3::int4 as a_2"
              const expected = { a: 1, a_2: 2n, b: "x", a_2_2: 3 }
              for (let i = 0; i < 2; i++) {
                // First execution (keys at RowDescription), then cached (keys kept with the plan).
                assert.deepStrictEqual((yield* conn.query(sql)).rows, [expected], `execution ${i + 1}`)
              }
              assert.deepStrictEqual(objects(yield* conn.query(sql, [], { rowMode: "array" })), [expected])
              const { columns, rows } = yield* conn.streamWithColumns(sql, [], { rowMode: "array" })
              assert.deepStrictEqual(yield* Stream.runCollect(Stream.map(rows, rowToObject(columns))), [
                expected
              ])
              assert.deepStrictEqual(yield* Stream.runCollect(conn.stream(sql)), [expected])
              const proto = (yield* conn.query('select 1::int4 as "__proto__", 2::int4 as b')).rows[0]!
              assert.isTrue(Object.hasOwn(proto, "__proto__"))
              assert.strictEqual(Object.getPrototypeOf(proto), Object.prototype)
              assert.deepStrictEqual(Object.entries(proto), [
                ["__proto__", 1],
                ["b", 2]
              ])
              // Column order is key order; zero columns give empty objects.
              assert.deepStrictEqual(Object.keys((yield* conn.query("select 1 as z, 2 as y")).rows[0]!), [
                "z",
                "y"
              ])
              assert.deepStrictEqual((yield* conn.query("select")).rows, [{}])
            }).pipe(Effect.scoped)
        )

        it.effect("a pool made with the service provided gives typed values on every connection", () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            // The layer form (TypeRegistry.typed()) around the pool's construction.
            const pools = yield* Pool.make({ connect: server.url, max: 2 }).pipe(Effect.provide(typedLayer()))
            const results = yield* Effect.all(
              [1, 2, 3].map(() => pools.expert.query("select 41::int8 + 1, pg_sleep(0.01)")),
              { concurrency: "unbounded" }
            )
            for (const r of results) assert.strictEqual(r.rows[0]!["?column?"], 42n)
            const arrays = yield* pools.pool.query("select 41::int8 + 1", [], { rowMode: "array" })
            assert.deepStrictEqual(arrays.rows, [[42n]])
          }).pipe(Effect.scoped)
        )

        it.effect(
          "text results keep the server's text, as objects or arrays; parameters are typed there too",
          () =>
            Effect.gen(function* () {
              const conn = yield* text
              for (let i = 0; i < 2; i++) {
                const sql = "select $1::int8 as a, $2::bool as b, $3::bytea as c"
                const params = [7n, true, new Uint8Array([9])]
                const r = yield* conn.query(sql, params)
                assert.deepStrictEqual(r.rows, [{ a: "7", b: "t", c: "\\x09" }])
                const arrays = yield* conn.query(sql, params, { rowMode: "array" })
                assert.deepStrictEqual(arrays.rows, [["7", "t", "\\x09"]])
                assert.deepStrictEqual(yield* Stream.runCollect(conn.stream(sql, params)), [
                  { a: "7", b: "t", c: "\\x09" }
                ])
                assert.deepStrictEqual(
                  r.columns.map((c) => c.format),
                  [0, 0, 0]
                )
              }
            }).pipe(Effect.scoped)
        )
      }
    )
  })
}
