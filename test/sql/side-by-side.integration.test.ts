/**
 * One effect/sql program run through @effect/sql-pg and through effect-pg/sql against the same
 * PostgreSQL 18 server, and the results compared for a documented set of queries
 * (docs/sql-client.md "Side by side"). Same results: int2/int4/float8/bool/text/bytea/json/jsonb,
 * int4[]/text[], NULL, numeric (a string in both), helpers (insert/update/in), transactions and
 * error classification, int8 (a bigint in both). Different, and asserted as such so a change is
 * noticed: timestamptz and date (@effect/sql-pg: Date and "YYYY-MM-DD"; effect-pg: its lossless
 * PgTimestamp and PgDate, or Dates with `types: defaultRegistry.with(...dateCodecs)`).
 */
import { PgClient as SqlPg } from "@effect/sql-pg"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql/SqlClient"
import * as PgClient from "../../src/sql/PgClient.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { dateCodecs, defaultRegistry, PgDate, PgTimestamp } from "../../src/types/index.ts"
import { server, table } from "./support.ts"

const same: ReadonlyArray<readonly [string, string]> = [
  ["integers", "select 1::int2 as a, 2::int4 as b, 1.5::float8 as c, 2.5::float4 as d"],
  ["text and bool", "select 'x'::text as t, true as b, null::text as n"],
  ["bytea", "select '\\x0102ff'::bytea as raw"],
  ["json", `select '{"a":[1,2]}'::json as j, '{"b":{"c":null}}'::jsonb as jb`],
  ["arrays", "select '{1,NULL,3}'::int4[] as i, '{a,b}'::text[] as t"],
  ["numeric", "select 12.50::numeric as n"],
  ["several rows", "select n, n * 2 as double from generate_series(1, 5) as n"]
]

/** Runs every query, and the helpers, on the client of the context. */
const program = Effect.gen(function* () {
  const sql = yield* SqlClient
  const results: Record<string, unknown> = {}
  for (const [name, query] of same) results[name] = yield* sql.unsafe(query)
  const t = table("sbs")
  yield* sql`create table ${sql(t)} (id int primary key, name text, tags text[])`
  yield* sql`insert into ${sql(t)} ${sql.insert([
    { id: 1, name: "a", tags: ["x"] },
    { id: 2, name: "b", tags: [] }
  ])}`
  yield* sql`update ${sql(t)} set ${sql.update({ name: "B" })} where id = ${2}`
  yield* Effect.exit(sql.withTransaction(Effect.andThen(sql`delete from ${sql(t)}`, Effect.fail("no"))))
  results.helpers = yield* sql`select id, name, tags from ${sql(t)} where ${sql.in("id", [1, 2])} order by id`
  const dup = yield* Effect.exit(sql`insert into ${sql(t)} values (1, 'dup', null)`)
  results.unique = Exit.isFailure(dup)
    ? dup.cause.reasons.map((r) =>
        r._tag === "Fail" ? (r.error as { reason: { _tag: string } }).reason._tag : r._tag
      )
    : "no error"
  const syntax = yield* Effect.exit(sql.unsafe("select from from"))
  results.syntax = Exit.isFailure(syntax)
    ? syntax.cause.reasons.map((r) =>
        r._tag === "Fail" ? (r.error as { reason: { _tag: string } }).reason._tag : r._tag
      )
    : "no error"
  const differ = yield* sql.unsafe<Record<string, unknown>>(
    "select 9007199254740993::int8 as big, '2024-01-02 03:04:05.5+00'::timestamptz as ts, '2024-01-02'::date as d"
  )
  return { results, differ: differ[0] }
})

describe("PG18", () => {
  layer(Layer.merge(server(18), Reactivity.layer), { timeout: 180_000, excludeTestServices: true })(
    "side by side with @effect/sql-pg",
    (it) => {
      it.effect("the same program gives the same results, except for the documented types", () =>
        Effect.gen(function* () {
          const s = yield* PgTestServer.PgTestServer
          const theirs = yield* Effect.scoped(
            Effect.flatMap(SqlPg.make({ url: Redacted.make(s.url) }), (client) =>
              Effect.provideService(program, SqlClient, client)
            )
          )
          const ours = yield* Effect.scoped(
            Effect.flatMap(PgClient.make({ url: Redacted.make(s.url) }), (client) =>
              Effect.provideService(program, SqlClient, client)
            )
          )
          for (const name of Object.keys(theirs.results)) {
            assert.deepStrictEqual(ours.results[name], theirs.results[name], name)
          }
          assert.deepStrictEqual(ours.results.unique, ["UniqueViolation"])
          assert.deepStrictEqual(ours.results.syntax, ["SqlSyntaxError"])
          // The documented differences.
          assert.strictEqual(ours.differ?.big, 9007199254740993n)
          assert.deepStrictEqual(ours.differ?.ts, new PgTimestamp(1704164645, 500000))
          assert.instanceOf(ours.differ?.d, PgDate)
          assert.strictEqual(theirs.differ?.big, 9007199254740993n)
          assert.deepStrictEqual(theirs.differ?.ts, new Date("2024-01-02T03:04:05.500Z"))
          assert.strictEqual(theirs.differ?.d, "2024-01-02")
          // With the Date codecs, timestamps are Dates as in @effect/sql-pg (dates too, at UTC midnight).
          const dated = yield* Effect.scoped(
            Effect.flatMap(
              PgClient.make({ url: Redacted.make(s.url), types: defaultRegistry.with(...dateCodecs) }),
              (client) => Effect.provideService(program, SqlClient, client)
            )
          )
          assert.deepStrictEqual(dated.differ?.ts, theirs.differ?.ts)
          assert.instanceOf(dated.differ?.d, Date)
        })
      )
    }
  )
})
