/**
 * effect-pg/sql against real PostgreSQL 18 and 15: the scenarios of @effect/sql-pg's own tests,
 * adapted — insert/update helpers, `sql.in`, identifiers, json, arrays, typed values, row
 * transforms, values/raw/unprepared, streams, cursors, COPY, LISTEN/NOTIFY, notices, errors classified
 * from the SQLSTATE with effect-pg's error as the cause.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Fiber, String as Str, Stream } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import type * as Pool from "../../src/Pool.ts"
import { pgErrorOf } from "../../src/sql/errors.ts"
import { PgClient } from "../../src/sql/PgClient.ts"
import { PgTimestamp } from "../../src/types/index.ts"
import { client, table, versions } from "./support.ts"

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit))
  const found = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  assert.isDefined(found)
  return (found as { error: E }).error
}

for (const version of versions) {
  describe(`PG${version}`, () => {
    layer(client(version), { timeout: 180_000, excludeTestServices: true })("PgClient", (it) => {
      it.effect("typed values and object rows", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const rows = yield* sql<{
            big: bigint
            ts: PgTimestamp
            n: number
            b: boolean
          }>`select 9007199254740993::int8 as big, '2024-01-02 03:04:05+00'::timestamptz as ts, ${41}::int4 + 1 as n, ${true}::bool as b`
          assert.deepStrictEqual(rows, [
            { big: 9007199254740993n, ts: new PgTimestamp(1704164645, 0), n: 42, b: true }
          ])
        })
      )

      it.effect("insert, update, updateValues, in, identifiers", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const t = table("people")
          yield* sql`create table ${sql(t)} (id serial primary key, name text not null, age int)`
          const inserted = yield* sql<{ id: number; name: string }>`insert into ${sql(t)} ${sql.insert([
            { name: "Ada", age: 36 },
            { name: "Alan", age: 41 },
            { name: "Grace", age: 85 }
          ])} returning id, name`
          assert.deepStrictEqual(
            inserted.map((r) => r.name),
            ["Ada", "Alan", "Grace"]
          )
          const one =
            yield* sql`insert into ${sql(t)} ${sql.insert({ name: "Edsger", age: 72 }).returning("*")}`
          assert.strictEqual(one[0]?.name, "Edsger")
          yield* sql`update ${sql(t)} set ${sql.update({ age: 37 })} where name = ${"Ada"}`
          const updated = yield* sql`update ${sql(t)} as p set age = data.age::int from ${sql.updateValues(
            [
              { name: "Alan", age: 42 },
              { name: "Grace", age: 86 }
            ],
            "data"
          )} where p.name = data.name returning p.name, p.age`
          assert.strictEqual(updated.length, 2)
          const some = yield* sql<{
            name: string
            age: number
          }>`select name, age from ${sql(t)} where name in ${sql.in(["Ada", "Grace"])} order by name`
          assert.deepStrictEqual(some, [
            { name: "Ada", age: 37 },
            { name: "Grace", age: 86 }
          ])
          const byIds = yield* sql`select * from ${sql(t)} where ${sql.in("id", [1, 2])}`
          assert.strictEqual(byIds.length, 2)
        })
      )

      it.effect("json and arrays", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const pg = yield* PgClient
          const t = table("docs")
          yield* sql`create table ${sql(t)} (id int, doc jsonb, j json, tags text[], nums int4[])`
          yield* sql`insert into ${sql(t)} ${sql.insert({
            id: 1,
            doc: pg.json({ a: [1, 2], b: "x" }),
            j: pg.json(["a", 1]),
            tags: ["a", "b"],
            nums: [1, null, 3]
          })}`
          const rows = yield* sql`select doc, j, tags, nums from ${sql(t)}`
          assert.deepStrictEqual(rows, [
            { doc: { a: [1, 2], b: "x" }, j: ["a", 1], tags: ["a", "b"], nums: [1, null, 3] }
          ])
          const param = yield* sql`select ${pg.json({ k: 1 })}::jsonb as v`
          assert.deepStrictEqual(param, [{ v: { k: 1 } }])
        })
      )

      it.effect("values, raw, unprepared, unsafe", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const values = yield* sql`select 1 as a, 'x' as b union all select 2, 'y'`.values
          assert.deepStrictEqual(values, [
            [1, "x"],
            [2, "y"]
          ])
          const raw = (yield* sql`select 1 as a`.raw) as {
            rows: ReadonlyArray<unknown>
            command: { tag: string }
          }
          assert.deepStrictEqual(raw.rows, [{ a: 1 }])
          assert.match(raw.command.tag, /^SELECT/)
          const unprepared = yield* sql`select ${5}::int as five`.unprepared
          assert.deepStrictEqual(unprepared, [{ five: 5 }])
          const unsafe = yield* sql.unsafe<{ x: number }>("select $1::int as x", [7])
          assert.deepStrictEqual(unsafe, [{ x: 7 }])
        })
      )

      it.effect("streams, cursors", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const pg = yield* PgClient
          const streamed = yield* sql<{ n: number }>`select n from generate_series(1, 2500) as n`.stream.pipe(
            Stream.runFold(
              () => 0,
              (acc, row) => acc + row.n
            )
          )
          assert.strictEqual(streamed, (2500 * 2501) / 2)
          const firstTen = yield* sql<{
            n: number
          }>`select n from generate_series(1, 1000000) as n`.stream.pipe(Stream.take(10), Stream.runCollect)
          assert.deepStrictEqual(
            firstTen.map((r) => r.n),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
          )
          const cursor = yield* pg
            .cursor<{ n: number }>(sql`select n from generate_series(1, ${250}) as n`, { window: 100 })
            .pipe(Stream.runCollect)
          assert.strictEqual(cursor.length, 250)
          // Every stream gave its connection back (released connections are checked first: wait for it).
          let inUse = -1
          for (let i = 0; i < 100 && inUse !== 0; i++) {
            inUse = (yield* pg.pool.stats).inUse
            if (inUse !== 0) yield* Effect.sleep("20 millis")
          }
          assert.strictEqual(inUse, 0)
        })
      )

      it.effect("COPY in and out, LISTEN/NOTIFY", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const pg = yield* PgClient
          const t = table("copied")
          yield* sql`create table ${sql(t)} (id int, name text)`
          const done = yield* pg.copyInRows(
            { table: t, columns: ["id", "name"] },
            Stream.fromIterable([
              ["1", "a"],
              ["2", null]
            ])
          )
          assert.strictEqual(done.rows, 2)
          const out = yield* pg.copyOutRows(`copy ${t} to stdout`).pipe(Stream.runCollect)
          assert.deepStrictEqual(out, [
            ["1", "a"],
            ["2", null]
          ])
          const channel = table("chan")
          const fiber = yield* pg.listen(channel).pipe(Stream.take(1), Stream.runCollect, Effect.forkChild)
          yield* Effect.sleep("300 millis")
          yield* pg.notify(channel, "hello")
          const got = yield* Fiber.join(fiber)
          assert.strictEqual(got[0]?.payload, "hello")
          const notice = yield* pg.withNotices((conn, notices) =>
            Effect.gen(function* () {
              const first = yield* notices.pipe(Stream.take(1), Stream.runCollect, Effect.forkChild)
              yield* Effect.sleep("50 millis")
              yield* conn.simpleQuery("do $$ begin raise notice 'from plpgsql'; end $$")
              return yield* Fiber.join(first)
            })
          )
          assert.strictEqual(notice[0]?.message, "from plpgsql")
        })
      )

      it.effect("errors: classified from the SQLSTATE, effect-pg's error as the cause", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const t = table("uniq")
          yield* sql`create table ${sql(t)} (id int constraint ${sql(`${t}_pk`)} primary key)`
          yield* sql`insert into ${sql(t)} values (1)`
          const unique = failureOf(yield* Effect.exit(sql`insert into ${sql(t)} values (1)`))
          assert.strictEqual(unique.reason._tag, "UniqueViolation")
          assert.strictEqual((unique.reason as { constraint: string }).constraint, `${t}_pk`)
          const cause = pgErrorOf(unique)
          assert.strictEqual(cause?.code, "23505")
          assert.strictEqual(cause?.serverError?.constraint, `${t}_pk`)
          assert.isFalse(cause?.mayHaveRun)
          const notNull = failureOf(yield* Effect.exit(sql`insert into ${sql(t)} values (null)`))
          assert.strictEqual(notNull.reason._tag, "ConstraintError")
          const syntax = failureOf(yield* Effect.exit(sql.unsafe("select * form nowhere")))
          assert.strictEqual(syntax.reason._tag, "SqlSyntaxError")
          const undefinedTable = failureOf(yield* Effect.exit(sql`select * from ${sql(`${t}_missing`)}`))
          assert.strictEqual(undefinedTable.reason._tag, "SqlSyntaxError")
          const timeout = failureOf(
            yield* Effect.exit(
              sql.withTransaction(
                Effect.andThen(sql`set local statement_timeout = 100`, sql`select pg_sleep(5)`)
              )
            )
          )
          assert.strictEqual(timeout.reason._tag, "StatementTimeoutError")
          const division = failureOf(yield* Effect.exit(sql`select 1 / ${0}::int`))
          assert.strictEqual(division.reason._tag, "UnknownError")
          assert.strictEqual(pgErrorOf(division)?.code, "22012")
          // The documented way to branch on a reason.
          const constraint = yield* sql`insert into ${sql(t)} values (1)`.pipe(
            Effect.as("inserted"),
            Effect.catchReason("SqlError", "UniqueViolation", (reason) => Effect.succeed(reason.constraint))
          )
          assert.strictEqual(constraint, `${t}_pk`)
          // The client is fine afterwards.
          assert.deepStrictEqual(yield* sql`select 1 as ok`, [{ ok: 1 }])
        })
      )

      it.effect("the Pool and the client share one transaction", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const pg = yield* PgClient
          const t = table("shared")
          yield* sql`create table ${sql(t)} (id int)`
          const seen = yield* sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`insert into ${sql(t)} values (1)`
              const inside = yield* pg.pool.query(`select count(*)::int as n from ${t}`)
              const inTx = yield* pg.pool.inTransaction
              return { n: inside.rows[0]?.n, inTx }
            })
          )
          assert.deepStrictEqual(seen, { n: 1, inTx: true })
          // effect/sql statements inside the Pool's own transaction use its connection.
          const rolledBack = yield* Effect.exit(
            pg.pool.withTransaction(() =>
              Effect.andThen(sql`insert into ${sql(t)} values (2)`, Effect.fail("stop" as const))
            )
          )
          assert.isTrue(Exit.isFailure(rolledBack))
          assert.deepStrictEqual(yield* sql`select id from ${sql(t)} order by id`, [{ id: 1 }])
        })
      )
    })

    layer(
      client(version, { transformQueryNames: Str.camelToSnake, transformResultNames: Str.snakeToCamel }),
      {
        timeout: 180_000,
        excludeTestServices: true
      }
    )("PgClient with transforms", (it) => {
      it.effect("transformQueryNames / transformResultNames / transformJson", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const pg = yield* PgClient
          const t = table("camel")
          yield* sql`create table ${sql(t)} (user_id int, first_name text, meta jsonb)`
          yield* sql`insert into ${sql(t)} ${sql.insert({ userId: 1, firstName: "Ada", meta: pg.json({ someKey: 1 }) })}`
          const rows = yield* sql`select * from ${sql(t)}`
          assert.deepStrictEqual(rows, [{ userId: 1, firstName: "Ada", meta: { someKey: 1 } }])
          const stored = yield* sql`select meta from ${sql(t)}`.withoutTransform
          assert.deepStrictEqual(stored, [{ meta: { some_key: 1 } }])
          const streamed = yield* sql`select user_id from ${sql(t)}`.stream.pipe(Stream.runCollect)
          assert.deepStrictEqual(streamed, [{ userId: 1 }])
          // withoutTransforms keeps this driver's transactions.
          const plain = sql.withoutTransforms()
          const inTx = yield* plain.withTransaction(plain`select user_id from ${plain(t)}`)
          assert.deepStrictEqual(inTx, [{ user_id: 1 }])
          assert.strictEqual(plain.withTransaction, sql.withTransaction)
        })
      )
    })
  })
}

// Keeps the Pool import used by type-only consumers of this file.
export type { Pool }
