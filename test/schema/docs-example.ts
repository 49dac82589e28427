import { Effect, Schema, Stream } from "effect"
import { type Connection, PgSchema, Rows } from "../../src/index.ts"

const Item = Schema.Struct({
  id: PgSchema.NumberFromBigInt, // int8 → number, refused beyond 2^53
  price: PgSchema.NumberFromNumeric, // numeric → number, refused if digits would be lost
  created_at: PgSchema.DateFromTimestamp, // timestamptz → Date, refused for ±infinity
  tags: Schema.Array(Schema.String), // text[]
  ttl: Schema.NullOr(PgSchema.DurationFromInterval) // interval → Duration, refused with months
})

const items = `select * from (values
  (1::int8, 9.90::numeric, '2024-05-01 12:00:00+00'::timestamptz, '{new}'::text[], '2 days'::interval),
  (2, 12.50, '2024-05-02 08:30:00+00', '{}', null)) as t(id, price, created_at, tags, ttl)`

// Run it: Connection.withConnection("postgres://app@localhost/app", example)
export const example = (conn: Connection.NormalConnection) =>
  Effect.gen(function* () {
    const all = yield* conn.query(items).pipe(Rows.decode(Item)) // [{ id: 1, price: 9.9, … }, …]
    const one = yield* conn.query(`${items} where id = $1`, [2n]).pipe(Rows.decodeOne(Item))
    const none = yield* conn.query(`${items} where id = $1`, [3n]).pipe(Rows.decodeOption(Item))
    const ids: Array<number> = []
    yield* conn.stream(items).pipe(
      Rows.decodeStream(Item),
      Stream.runForEach((item) => Effect.sync(() => ids.push(item.id)))
    )
    const pairs = yield* conn
      .query("select 1::int8, 'one'", [], { rowMode: "array" })
      .pipe(Rows.decode(Schema.Tuple([Schema.BigInt, Schema.String]))) // [[1n, "one"]]
    return { all, one, none, ids, pairs }
  })
