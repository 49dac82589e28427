/**
 * User-defined types by introspection (decision 023) on PostgreSQL 18 and 15, with the defaults
 * (typed results, object rows): enums and their arrays (result and parameter), composites holding
 * an int4[], text with quotes, commas and backslashes, a NULL field and a nested composite (text
 * checked against the server's record_out), domains over int4 and over a composite, a range (and
 * multirange) over an enum, an extension's base type (citext: its text, arrays of it); the first
 * result is typed already, cached executions are binary; streams (the first one gives text, a
 * cached statement whose types were forgotten is looked up before its Bind); twenty pipelined
 * first uses share one lookup; a type made inside a transaction; a lookup failing in an aborted
 * transaction leaves the text; a pool's connections look a type up once; ALTER TYPE on the same
 * connection and on another one, DROP + CREATE under the same name (on this connection and on
 * another: the server's XX000 at Bind); text results look nothing up; the server's own types
 * without a codec stay text; `describe` of a statement with a user type.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import { TypeCatalog, TypeCatalogRef } from "../../src/connection/introspect.ts"
import { TypeRegistry } from "../../src/connection/typeRegistry.ts"
import * as Expert from "../../src/Expert.ts"
import * as Pool from "../../src/Pool.ts"

import { PgTestServer } from "../../src/testing/index.ts"
import { defaultRegistry, PgRange } from "../../src/types/index.ts"

/** A connection with the defaults and its own catalog, returned to count its lookups. */
const connect = (results: "typed" | "text" = "typed") =>
  Effect.gen(function* () {
    const server = yield* PgTestServer.PgTestServer
    const catalog = new TypeCatalog()
    const conn = yield* Expert.connect(server.url).pipe(
      Effect.provideService(TypeCatalogRef, catalog),
      Effect.provideService(TypeRegistry, { results, registry: defaultRegistry })
    )
    return { conn, catalog }
  })

/** Runs DDL on a connection of its own (another client: its command tags are not seen here). */
const elsewhere = (sql: string) =>
  Effect.scoped(Effect.flatMap(connect(), ({ conn }) => Effect.asVoid(conn.simpleQuery(sql))))

for (const version of [18, 15] as const) {
  describe(`PG${version}`, () => {
    layer(PgTestServer.layer({ version, tls: false }), { timeout: 180_000, excludeTestServices: true })(
      (it) => {
        it.effect("enums: columns, arrays and parameters, typed from the first result on", () =>
          Effect.gen(function* () {
            const { conn, catalog } = yield* connect()
            yield* conn.simpleQuery("create type mood as enum ('sad', 'ok', 'happy')")
            const sql = "select 'ok'::mood as m, '{sad,NULL,happy}'::mood[] as ms, $1::mood[] as p"
            for (let i = 0; i < 3; i++) {
              const r = yield* conn.query(sql, [["happy", "sad"]])
              assert.deepStrictEqual(
                r.rows,
                [{ m: "ok", ms: ["sad", null, "happy"], p: ["happy", "sad"] }],
                `run ${i}`
              )
              // The enum itself is fetched as text (its text is the label), its arrays in binary.
              assert.deepStrictEqual(
                r.columns.map((c) => c.format),
                i === 0 ? [0, 0, 0] : [0, 1, 1]
              )
            }
            assert.strictEqual(catalog.lookups, 1)
            // A label the server does not know is its error; the connection goes on.
            const bad = yield* Effect.exit(conn.query("select $1::mood as m", ["meh"]))
            assert.isTrue(Exit.isFailure(bad))
            assert.deepStrictEqual((yield* conn.query("select 'sad'::mood as m")).rows, [{ m: "sad" }])
          }).pipe(Effect.scoped)
        )

        it.effect(
          "composites: nested, with arrays, quotes, backslashes and NULLs; the server's text agrees",
          () =>
            Effect.gen(function* () {
              const { conn, catalog } = yield* connect()
              yield* conn.simpleQuery(
                "create type feeling as enum ('meh', 'yay');" +
                  "create type inner_t as (f feeling, s text);" +
                  "create type outer_t as (id int4, xs int4[], t text, n text, i inner_t, inners inner_t[])"
              )
              const sql =
                "select row(7, '{1,NULL,3}', 'a \"q\", b\\c (x)', null, row('yay', '')::inner_t," +
                " array[row('meh', 'p,q')::inner_t, null])::outer_t as o"
              const expected = {
                id: 7,
                xs: [1, null, 3],
                t: 'a "q", b\\c (x)',
                n: null,
                i: { f: "yay", s: "" },
                inners: [{ f: "meh", s: "p,q" }, null]
              }
              for (let i = 0; i < 3; i++) {
                const r = yield* conn.query(sql)
                assert.deepStrictEqual(r.rows, [{ o: expected }], `run ${i}`)
                assert.strictEqual(r.columns[0]!.format, i === 0 ? 0 : 1)
              }
              // What the codec writes is what record_out prints, and the server reads it back.
              const codec = catalog.registryFor(defaultRegistry).named("outer_t")!
              const server = yield* conn.query(sql.replace(" as o", "::text as t"))
              assert.strictEqual(codec.text.encode(expected), server.rows[0]!.t)
              const echoed = yield* conn.query("select $1::text::outer_t as o", [server.rows[0]!.t as string])
              assert.deepStrictEqual(echoed.rows, [{ o: expected }])
              // As a parameter: a prepared statement knows its type, the object is sent in binary.
              const statement = yield* conn.prepare("select $1::outer_t as o, ($1::outer_t).t as t")
              const sent = yield* conn.execute(statement, [expected])
              assert.deepStrictEqual(sent.rows, [{ o: expected, t: expected.t }])
              const positional = yield* conn.execute(statement, [[1, [], "", null, null, null]])
              assert.deepStrictEqual(positional.rows, [
                { o: { id: 1, xs: [], t: "", n: null, i: null, inners: null }, t: "" }
              ])
            }).pipe(Effect.scoped)
        )

        it.effect("domains over int4 and over a composite; a range and multirange over an enum", () =>
          Effect.gen(function* () {
            const { conn } = yield* connect()
            yield* conn.simpleQuery(
              "create domain posint as int4 check (value > 0);" +
                "create type pt as (x posint, y posint);" +
                "create domain pt_d as pt check ((value).x < 100);" +
                "create type level as enum ('low', 'mid', 'high');" +
                "create type levelrange as range (subtype = level)"
            )
            const sql =
              "select 5::posint as p, '{1,2}'::posint[] as ps, row(1, 2)::pt_d as d," +
              " levelrange('low', 'high') as r" +
              (version >= 14 ? ", levelmultirange(levelrange('low', 'mid')) as m" : "")
            for (let i = 0; i < 2; i++) {
              const r = yield* conn.query(sql)
              assert.deepStrictEqual(r.rows, [
                {
                  p: 5,
                  ps: [1, 2],
                  d: { x: 1, y: 2 },
                  r: PgRange.of("low", "high"),
                  m: [PgRange.of("low", "mid")]
                }
              ])
            }
            // The first result as arrays is decoded again too.
            yield* conn.simpleQuery("create type pq as (a level, b int4)")
            const arrays = yield* conn.query("select row('mid', 4)::pq as p, 1 as n", [], {
              rowMode: "array"
            })
            assert.deepStrictEqual(arrays.rows, [[{ a: "mid", b: 4 }, 1]])
            assert.strictEqual(arrays.columns[0]!.format, 0)
            const domainParam = yield* conn.query("select $1::posint + 1 as n", [41])
            assert.deepStrictEqual(domainParam.rows, [{ n: 42 }])
          }).pipe(Effect.scoped)
        )

        it.effect("streams: the first one of a new type gives text, later ones are typed", () =>
          Effect.gen(function* () {
            const { conn, catalog } = yield* connect()
            yield* conn.simpleQuery(
              "create type tone as enum ('low', 'high'); create type chord as (a tone, b tone)"
            )
            const sql = "select row('low', 'high')::chord as c, '{high}'::tone[] as t"
            const first = yield* Stream.runCollect(conn.stream(sql))
            assert.deepStrictEqual(first, [{ c: "(low,high)", t: "{high}" }])
            const second = yield* Stream.runCollect(conn.stream(sql))
            assert.deepStrictEqual(second, [{ c: { a: "low", b: "high" }, t: ["high"] }])
            assert.strictEqual(catalog.lookups, 1)
            // The catalog forgot (a type changed): the cached statement's types are looked up before its Bind.
            yield* conn.simpleQuery("create type unrelated as enum ('x')")
            const third = yield* Stream.runCollect(conn.stream(sql, [], { rowMode: "array" }))
            assert.deepStrictEqual(third, [[{ a: "low", b: "high" }, ["high"]]])
            assert.strictEqual(catalog.lookups, 2)
          }).pipe(Effect.scoped)
        )

        it.effect(
          "pipeline: the first result is typed already; cursor: the first gives text, later ones typed",
          () =>
            Effect.gen(function* () {
              const { conn, catalog } = yield* connect()
              yield* conn.simpleQuery(
                "create type hue as enum ('red', 'blue'); create type pair as (x hue, y int4)"
              )
              const sql = "select row('red', 7)::pair as p, '{blue,red}'::hue[] as h"
              const [first, plain] = yield* conn.pipeline([{ sql }, { sql: "select 1 as one" }])
              assert.deepStrictEqual(Exit.isSuccess(first!) ? first.value.rows : first, [
                { p: { x: "red", y: 7 }, h: ["blue", "red"] }
              ])
              assert.deepStrictEqual(Exit.isSuccess(plain!) ? plain.value.rows : plain, [{ one: 1 }])
              assert.strictEqual(catalog.lookups, 1)
              const [all] = yield* conn.pipeline([{ sql }], { mode: "transaction", rowMode: "array" })
              assert.deepStrictEqual(all!.rows, [[{ x: "red", y: 7 }, ["blue", "red"]]])
              assert.strictEqual(catalog.lookups, 1)
              yield* conn.simpleQuery("create type mode as enum ('on', 'off')")
              const modeSql = "select 'on'::mode as m, '{off}'::mode[] as ms"
              const cursorFirst = yield* Stream.runCollect(conn.cursor(modeSql))
              assert.deepStrictEqual(cursorFirst, [{ m: "on", ms: "{off}" }])
              const cursorLater = yield* Stream.runCollect(conn.cursor(modeSql))
              assert.deepStrictEqual(cursorLater, [{ m: "on", ms: ["off"] }])
            }).pipe(Effect.scoped)
        )

        it.effect("pipelined first uses share one lookup; inside a transaction, and an aborted one", () =>
          Effect.gen(function* () {
            const { conn, catalog } = yield* connect()
            yield* conn.simpleQuery("create type dir as enum ('n', 's')")
            const all = yield* Effect.all(
              Array.from({ length: 20 }, (_, i) => conn.query(`select 'n'::dir as d, ${i} as i`)),
              { concurrency: "unbounded" }
            )
            assert.deepStrictEqual(
              all.map((r) => r.rows[0]!.d),
              all.map(() => "n")
            )
            assert.strictEqual(catalog.lookups, 1)
            // A type made inside the transaction is found there (the lookup runs in it).
            yield* conn.simpleQuery("begin")
            yield* conn.simpleQuery("create type inside as enum ('x')")
            assert.deepStrictEqual((yield* conn.query("select '{x}'::inside[] as v")).rows, [{ v: ["x"] }])
            yield* conn.simpleQuery("rollback")
            // The lookup is queued behind a statement that aborts the transaction: it fails (25P02),
            // and the result keeps the text; after the rollback the type is looked up.
            yield* conn.simpleQuery("create type later as enum ('y')")
            yield* conn.simpleQuery("begin")
            const [early] = yield* Effect.all(
              [conn.query("select '{y}'::later[] as v"), Effect.exit(conn.simpleQuery("select 1/0"))],
              { concurrency: "unbounded" }
            )
            assert.deepStrictEqual(early.rows, [{ v: "{y}" }])
            yield* conn.simpleQuery("rollback")
            assert.deepStrictEqual((yield* conn.query("select '{y}'::later[] as v")).rows, [{ v: ["y"] }])
          }).pipe(Effect.scoped)
        )

        it.effect("a pool's connections share one catalog: a type is looked up once", () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const catalog = new TypeCatalog()
            const pools = yield* Pool.make({ connect: server.url, min: 0, max: 2 }).pipe(
              Effect.provideService(TypeCatalogRef, catalog)
            )
            yield* pools.expert.query("create type suit as enum ('hearts', 'spades')")
            const sql = "select 'spades'::suit as s, pg_backend_pid() as pid"
            const pids = yield* pools.expert.withConnection((one) =>
              pools.expert.withConnection((two) =>
                Effect.gen(function* () {
                  const a = yield* one.query(sql)
                  const b = yield* two.query(sql)
                  assert.deepStrictEqual([a.rows[0]!.s, b.rows[0]!.s], ["spades", "spades"])
                  const c = yield* two.query("select '{hearts}'::suit[] as h")
                  assert.deepStrictEqual(c.rows, [{ h: ["hearts"] }])
                  return [a.rows[0]!.pid, b.rows[0]!.pid]
                })
              )
            )
            assert.notStrictEqual(pids[0], pids[1])
            assert.strictEqual(catalog.lookups, 1)
          }).pipe(Effect.scoped)
        )

        it.effect("ALTER TYPE: seen on the connection, and by another client (the query fails once)", () =>
          Effect.gen(function* () {
            const { conn } = yield* connect()
            yield* conn.simpleQuery("create type shape as (w int4)")
            const sql = "select row(2)::shape as s"
            yield* conn.query(sql)
            assert.deepStrictEqual((yield* conn.query(sql)).rows, [{ s: { w: 2 } }])
            yield* conn.simpleQuery("alter type shape add attribute h int4")
            assert.deepStrictEqual((yield* conn.query("select row(2, 3)::shape as s")).rows, [
              { s: { w: 2, h: 3 } }
            ])
            const cached = "select row(4, 5)::shape as s"
            yield* conn.query(cached)
            assert.deepStrictEqual((yield* conn.query(cached)).rows, [{ s: { w: 4, h: 5 } }])
            // Altered by another client: the cached codec no longer fits the record's width.
            yield* elsewhere("alter type shape add attribute d int4")
            const stale = yield* Effect.flip(conn.query(cached))
            assert.strictEqual(stale._tag, "PgProtocolError")
            assert.match(stale.message, /row 1, column 1 "s" \(shape\).*the type changed/)
            assert.deepStrictEqual((yield* conn.query(cached)).rows, [{ s: { w: 4, h: 5, d: null } }])
          }).pipe(Effect.scoped)
        )

        it.effect("DROP TYPE and CREATE TYPE under the same name (a new OID)", () =>
          Effect.gen(function* () {
            const { conn } = yield* connect()
            yield* conn.simpleQuery("create type colour as enum ('red')")
            const sql = "select 'red'::colour as c, '{red}'::colour[] as cs"
            for (let i = 0; i < 2; i++)
              assert.deepStrictEqual((yield* conn.query(sql)).rows, [{ c: "red", cs: ["red"] }])
            yield* conn.simpleQuery("drop type colour; create type colour as (red int4)")
            const changed = "select row(1)::colour as c"
            for (let i = 0; i < 2; i++)
              assert.deepStrictEqual((yield* conn.query(changed)).rows, [{ c: { red: 1 } }])
            yield* elsewhere("drop type colour; create type colour as enum ('red')")
            // The cached statement's result type changed: the server says so, the statement is prepared again.
            for (let i = 0; i < 2; i++)
              assert.deepStrictEqual((yield* conn.query(sql)).rows, [{ c: "red", cs: ["red"] }])
          }).pipe(Effect.scoped)
        )

        it.effect("text results look nothing up; types without a codec stay text", () =>
          Effect.gen(function* () {
            const text = yield* connect("text")
            yield* text.conn.simpleQuery(
              "create type plain as enum ('a'); create extension if not exists citext"
            )
            const r = yield* text.conn.query("select 'a'::plain as p, '{a}'::plain[] as ps")
            assert.deepStrictEqual(r.rows, [{ p: "a", ps: "{a}" }])
            assert.strictEqual(text.catalog.lookups, 0)
            const { conn, catalog } = yield* connect()
            // An extension's base type: its text, and arrays of it as arrays of that text.
            const sql =
              "select 'MiXed'::citext as c, '{A,b}'::citext[] as cs, pg_sleep(0) as v, $1::citext as p"
            for (let i = 0; i < 2; i++) {
              const typed = yield* conn.query(sql, ["x"])
              assert.deepStrictEqual(typed.rows, [{ c: "MiXed", cs: ["A", "b"], v: "", p: "x" }])
            }
            assert.strictEqual(catalog.lookups, 1)
            const description = yield* conn.describe("select $1::plain as p")
            assert.strictEqual(description.columns[0]!.name, "p")
          }).pipe(Effect.scoped)
        )
      }
    )
  })
}
