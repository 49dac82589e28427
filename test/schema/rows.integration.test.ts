/**
 * Schema-decoded results against a real PostgreSQL 18 (decision 025), on the connection's
 * defaults (typed results, object rows): a Struct over int8, numeric, timestamptz, bool, bytea,
 * jsonb, int4[], interval and ranges with the PgSchema conversions; a refused row names its row,
 * column, JS type and PostgreSQL type; the connection runs the next query after a refusal, also
 * after a stream stopped mid-way by one (nothing pending, the rows before it delivered) and a
 * cursor stopped in its third window; decodeOne with zero and two rows, decodeOption; tuple rows
 * with rowMode "array"; streamWithColumns names column types.
 */
import { assert, describe, layer } from "@effect/vitest"
import { DateTime, Duration, Effect, Exit, Option, Schema, Stream } from "effect"
import * as Connection from "../../src/Connection.ts"
import * as PgSchema from "../../src/PgSchema.ts"
import * as Rows from "../../src/Rows.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { PgRange, PgTimestamp } from "../../src/types/index.ts"

// The defaults: typed results, object rows (decision 022).
const connect = Effect.flatMap(PgTestServer.PgTestServer, (server) => Connection.connect(server.url))

const SELECT = `select 9007199254740993::int8 as big, 42::int8 as small, 12.50::numeric as num,
  '123.000'::numeric as whole, '2024-01-02 03:04:05.123456+00'::timestamptz as ts, true as flag,
  '\\x0102'::bytea as raw, '{"a":[1,2]}'::jsonb as doc, '{1,NULL,3}'::int4[] as arr,
  '1 day 02:00:00.5'::interval as span, '[1,5)'::int4range as ir,
  tstzrange('2024-01-01 00:00+00', null) as tr, null::text as nothing`

const Everything = Schema.Struct({
  big: Schema.BigInt,
  small: PgSchema.NumberFromBigInt,
  num: PgSchema.NumberFromNumeric,
  whole: PgSchema.BigIntFromNumeric,
  ts: PgSchema.DateTimeUtcFromTimestamp,
  flag: Schema.Boolean,
  raw: Schema.Uint8Array,
  doc: Schema.Struct({ a: Schema.Array(Schema.Number) }),
  arr: Schema.Array(Schema.NullOr(Schema.Number)),
  span: PgSchema.DurationFromInterval,
  ir: PgSchema.Range(Schema.Number),
  tr: PgSchema.Range(PgSchema.DateFromTimestamp),
  nothing: Schema.NullOr(Schema.String)
})

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  assert.isDefined(error, "expected a typed failure")
  return (error as { readonly error: E }).error
}

const N = Schema.Struct({ n: Schema.Number })

describe("PG18", () => {
  layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 180_000, excludeTestServices: true })(
    (it) => {
      it.effect("a Struct over every kind of value, with the PgSchema conversions", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          // Twice: the first execution decodes text, the cached one binary; both must decode.
          for (let i = 0; i < 2; i++) {
            const [row] = yield* conn.query(SELECT).pipe(Rows.decode(Everything))
            assert.isDefined(row)
            if (row === undefined) return
            assert.strictEqual(row.big, 9007199254740993n)
            assert.strictEqual(row.small, 42)
            assert.strictEqual(row.num, 12.5)
            assert.strictEqual(row.whole, 123n)
            assert.strictEqual(DateTime.toEpochMillis(row.ts), Date.UTC(2024, 0, 2, 3, 4, 5, 123))
            assert.strictEqual(row.flag, true)
            assert.deepStrictEqual(row.raw, new Uint8Array([1, 2]))
            assert.deepStrictEqual(row.doc, { a: [1, 2] })
            assert.deepStrictEqual(row.arr, [1, null, 3])
            // One day counts 24 hours: 26 h 0.5 s.
            assert.isTrue(Duration.equals(row.span, Duration.micros(93_600_500_000n)))
            assert.deepStrictEqual(row.ir, PgRange.of(1, 5))
            assert.deepStrictEqual(row.tr, PgRange.of(new Date(Date.UTC(2024, 0, 1)), null))
            assert.strictEqual(row.nothing, null)
          }
        }).pipe(Effect.scoped)
      )

      it.effect("a refused row names row, column, JS type and PostgreSQL type; the next query runs", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const sql = "select n::int8 as n, 'x' as label from generate_series(1, 5) n order by n"
          // int8 decodes to a bigint: Schema.Number refuses it at the first row.
          const refused = failure(yield* Effect.exit(conn.query(sql).pipe(Rows.decode(N))))
          assert.strictEqual(refused._tag, "PgRowDecodeError")
          if (refused._tag !== "PgRowDecodeError") return
          assert.strictEqual(refused.row, 1)
          assert.strictEqual(refused.column, "n")
          assert.strictEqual(refused.columnIndex, 0)
          assert.strictEqual(refused.jsType, "bigint")
          assert.strictEqual(refused.pgType, "int8")
          assert.deepStrictEqual(refused.path, ["n"])
          assert.match(
            refused.message,
            /^row 1, column "n" \(int8\), a value of JS type bigint: Expected number/
          )

          // A refusal further down: the fourth row's timestamp is infinity, which a Date cannot hold.
          const ts = Schema.Struct({ at: PgSchema.DateFromTimestamp })
          const later = failure(
            yield* Effect.exit(
              conn
                .query(
                  "select case when n = 4 then 'infinity'::timestamptz else now() end as at" +
                    " from generate_series(1, 5) n order by n"
                )
                .pipe(Rows.decode(ts))
            )
          )
          assert.strictEqual(later._tag, "PgRowDecodeError")
          if (later._tag !== "PgRowDecodeError") return
          assert.strictEqual(later.row, 4)
          assert.strictEqual(later.pgType, "timestamptz")
          assert.strictEqual(later.jsType, "PgTimestamp")
          assert.match(later.message, /timestamp infinity cannot be a JS Date/)

          // A missing column is named, with the columns there are.
          const missing = failure(yield* Effect.exit(conn.query("select 1 as m").pipe(Rows.decode(N))))
          assert.strictEqual(missing._tag, "PgRowDecodeError")
          if (missing._tag !== "PgRowDecodeError") return
          assert.strictEqual(missing.column, "n")
          assert.strictEqual(missing.jsType, "undefined")
          assert.match(missing.message, /row 1: no column "n" \(the columns are: m\)/)

          assert.strictEqual(yield* conn.pending, 0)
          const next = yield* conn.query("select 7 as n").pipe(Rows.decodeOne(N))
          assert.deepStrictEqual(next, { n: 7 })
        }).pipe(Effect.scoped)
      )

      it.effect("a stream stopped mid-way by a refused row leaves the connection ready", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          // 200k rows; row 1000 holds a string where the Schema wants a number.
          const sql =
            "select case when n = 1000 then 'oops' else n::text end as v, n from generate_series(1, 200000) n"
          const V = Schema.Struct({ v: Schema.NumberFromString.check(Schema.isInt()), n: Schema.Number })
          let seen = 0
          const exit = yield* conn.stream(sql).pipe(
            Rows.decodeStream(V),
            Stream.runForEach(() => Effect.sync(() => void seen++)),
            Effect.exit
          )
          const refused = failure(exit)
          assert.strictEqual(refused._tag, "PgRowDecodeError")
          if (refused._tag !== "PgRowDecodeError") return
          assert.strictEqual(refused.row, 1000)
          assert.strictEqual(seen, 999)
          assert.strictEqual(refused.column, "v")
          assert.strictEqual(refused.jsType, "string")
          assert.isUndefined(refused.pgType, "a plain stream does not know its columns")
          // The abandoned query drains; the next one runs and nothing is left pending.
          const next = yield* conn.query("select 1 as n").pipe(Rows.decode(N))
          assert.deepStrictEqual(next, [{ n: 1 }])
          assert.strictEqual(yield* conn.pending, 0)
        }).pipe(Effect.scoped)
      )

      it.effect("streamWithColumns names the column type; a cursor decodes too", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const { columns, rows } = yield* conn
            .streamWithColumns("select n, (n * 10)::int8 as big from generate_series(1, 50) n")
            .pipe(Rows.decodeStreamWithColumns(Schema.Struct({ n: Schema.Number, big: Schema.Number })))
          assert.deepStrictEqual(
            columns.map((c) => c.name),
            ["n", "big"]
          )
          const refused = failure(yield* Effect.exit(Stream.runCollect(rows)))
          assert.strictEqual(refused._tag, "PgRowDecodeError")
          if (refused._tag !== "PgRowDecodeError") return
          assert.strictEqual(refused.pgType, "int8")
          assert.strictEqual(refused.columnIndex, 1)
          assert.strictEqual(refused.row, 1)

          const viaCursor = yield* conn
            .cursor("select n from generate_series(1, 25) n", [], { window: 10 })
            .pipe(Rows.decodeStream(N), Stream.runCollect)
          assert.deepStrictEqual(
            viaCursor.map((r) => r.n),
            Array.from({ length: 25 }, (_, i) => i + 1)
          )
          // A refusal in the cursor's third window of a hundred: the portal is closed early.
          const cursorRefused = failure(
            yield* Effect.exit(
              conn
                .cursor(
                  "select case when n = 23 then null else n end as n from generate_series(1, 1000) n",
                  [],
                  {
                    window: 10
                  }
                )
                .pipe(Rows.decodeStream(N), Stream.runDrain)
            )
          )
          assert.strictEqual(cursorRefused._tag, "PgRowDecodeError")
          if (cursorRefused._tag !== "PgRowDecodeError") return
          assert.strictEqual(cursorRefused.row, 23)
          assert.strictEqual(cursorRefused.jsType, "null")
          assert.deepStrictEqual(yield* conn.query("select 2 as n").pipe(Rows.decode(N)), [{ n: 2 }])
          assert.strictEqual(yield* conn.pending, 0)
        }).pipe(Effect.scoped)
      )

      it.effect("decodeOne wants exactly one row, decodeOption at most one", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const none = failure(
            yield* Effect.exit(conn.query("select 1 as n where false").pipe(Rows.decodeOne(N)))
          )
          assert.strictEqual(none._tag, "PgNoRowsError")
          const two = failure(
            yield* Effect.exit(conn.query("select n from generate_series(1, 2) n").pipe(Rows.decodeOne(N)))
          )
          assert.strictEqual(two._tag, "PgTooManyRowsError")
          if (two._tag === "PgTooManyRowsError") assert.strictEqual(two.rows, 2)
          assert.deepStrictEqual(yield* conn.query("select 3 as n").pipe(Rows.decodeOne(N)), { n: 3 })

          assert.isTrue(
            Option.isNone(yield* conn.query("select 1 as n where false").pipe(Rows.decodeOption(N)))
          )
          assert.deepStrictEqual(
            yield* conn.query("select 4 as n").pipe(Rows.decodeOption(N)),
            Option.some({ n: 4 })
          )
          const many = failure(
            yield* Effect.exit(conn.query("select n from generate_series(1, 3) n").pipe(Rows.decodeOption(N)))
          )
          assert.strictEqual(many._tag, "PgTooManyRowsError")
        }).pipe(Effect.scoped)
      )

      it.effect('tuple rows with rowMode "array", and the hint when the shape is wrong', () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const Pair = Schema.Tuple([Schema.Number, PgSchema.Timestamp])
          const sql = "select 1 as a, '2024-01-01 00:00:00+00'::timestamptz as b"
          const rows = yield* conn.query(sql, [], { rowMode: "array" }).pipe(Rows.decode(Pair))
          assert.deepStrictEqual(rows, [[1, new PgTimestamp(1704067200, 0)]])

          const refused = failure(
            yield* Effect.exit(
              conn
                .query("select 1 as a, 2 as b", [], { rowMode: "array" })
                .pipe(Rows.decode(Schema.Tuple([Schema.Number, Schema.String])))
            )
          )
          assert.strictEqual(refused._tag, "PgRowDecodeError")
          if (refused._tag !== "PgRowDecodeError") return
          assert.strictEqual(refused.column, "b")
          assert.strictEqual(refused.columnIndex, 1)
          assert.strictEqual(refused.pgType, "int4")
          assert.strictEqual(refused.jsType, "number")

          // A Struct over array rows: refused as a whole, with the rule in the message.
          const shape = failure(
            yield* Effect.exit(conn.query(sql, [], { rowMode: "array" }).pipe(Rows.decode(N)))
          )
          assert.strictEqual(shape._tag, "PgRowDecodeError")
          if (shape._tag !== "PgRowDecodeError") return
          assert.isUndefined(shape.column)
          assert.strictEqual(shape.jsType, "Array")
          assert.match(shape.message, /decode them with a Schema\.Tuple/)
          assert.strictEqual(yield* conn.pending, 0)
        }).pipe(Effect.scoped)
      )
    }
  )
})
