/**
 * effect's sql modules over effect-pg/sql on PostgreSQL 18 and 15: SqlResolver (ordered,
 * findById, grouped; batched into one statement, inside and outside a transaction), SqlSchema
 * (findAll, findOne, findOneOption) and a SqlModel repository (insert, update, findById, delete).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Option, Ref, Schema } from "effect"
import * as Model from "effect/schema/Model"
import { SqlClient } from "effect/sql/SqlClient"
import * as SqlModel from "effect/sql/SqlModel"
import * as SqlResolver from "effect/sql/SqlResolver"
import * as SqlSchema from "effect/sql/SqlSchema"
import { client, table, versions } from "./support.ts"

class Person extends Model.Class<Person>("Person")({
  id: Model.GeneratedByApp(Schema.Number),
  name: Schema.String,
  age: Schema.Number
}) {}

const Row = Schema.Struct({ id: Schema.Number, name: Schema.String })

for (const version of versions) {
  describe(`PG${version}`, () => {
    layer(client(version), { timeout: 180_000, excludeTestServices: true })("effect/sql modules", (it) => {
      it.effect("SqlResolver batches requests into one statement", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const t = table("res")
          yield* sql`create table ${sql(t)} (id serial primary key, name text not null)`
          const statements = yield* Ref.make(0)
          const insert = SqlResolver.ordered({
            Request: Schema.String,
            Result: Row,
            execute: (names) =>
              Effect.andThen(
                Ref.update(statements, (n) => n + 1),
                sql`insert into ${sql(t)} ${sql.insert(names.map((name) => ({ name })) as unknown as readonly [{ name: string }])} returning id, name`
              )
          })
          const inserted = yield* Effect.forEach(
            ["a", "b", "c"],
            (name) => SqlResolver.request(name, insert),
            {
              concurrency: "unbounded"
            }
          )
          assert.deepStrictEqual(
            inserted.map((r) => r.name),
            ["a", "b", "c"]
          )
          assert.strictEqual(yield* Ref.get(statements), 1)
          const byId = SqlResolver.findById({
            Id: Schema.Number,
            Result: Row,
            ResultId: (row) => row.id,
            execute: (ids) => sql`select id, name from ${sql(t)} where ${sql.in("id", ids)}`
          })
          const found = yield* Effect.forEach(
            inserted.map((r) => r.id),
            (id) => SqlResolver.request(id, byId),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(
            found.map((r) => r.name),
            ["a", "b", "c"]
          )
          const missing = yield* Effect.exit(SqlResolver.request(999, byId))
          assert.isTrue(Exit.isFailure(missing))
          // Inside a transaction, the requests run on the transaction's connection.
          const inTx = yield* sql.withTransaction(
            Effect.gen(function* () {
              const rows = yield* Effect.forEach(["d", "e"], (name) => SqlResolver.request(name, insert), {
                concurrency: "unbounded"
              })
              const seen = yield* SqlResolver.request(rows[0]!.id, byId)
              return seen.name
            })
          )
          assert.strictEqual(inTx, "d")
        })
      )

      it.effect("SqlSchema", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const t = table("schema")
          yield* sql`create table ${sql(t)} (id serial primary key, name text not null)`
          yield* sql`insert into ${sql(t)} ${sql.insert([{ name: "x" }, { name: "y" }])}`
          const all = SqlSchema.findAll({
            Request: Schema.String,
            Result: Row,
            execute: (prefix) =>
              sql`select id, name from ${sql(t)} where name like ${`${prefix}%`} order by id`
          })
          assert.deepStrictEqual(
            (yield* all("")).map((r) => r.name),
            ["x", "y"]
          )
          const one = SqlSchema.findOneOption({
            Request: Schema.Number,
            Result: Row,
            execute: (id) => sql`select id, name from ${sql(t)} where id = ${id}`
          })
          assert.isTrue(Option.isSome(yield* one(1)))
          assert.isTrue(Option.isNone(yield* one(99)))
        })
      )

      it.effect("SqlModel repository", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const t = table("people")
          yield* sql`create table ${sql(t)} (id int primary key, name text not null, age int not null)`
          const repo = yield* SqlModel.makeRepository(Person, {
            tableName: t,
            spanPrefix: "People",
            idColumn: "id"
          })
          const ada = yield* repo.insert({ id: 7, name: "Ada", age: 36 })
          assert.strictEqual(ada.name, "Ada")
          const older = yield* repo.update({ ...ada, age: 37 })
          assert.strictEqual(older.age, 37)
          const check = yield* sql`select * from ${sql(t)}`
          assert.deepStrictEqual(check, [{ id: ada.id, name: "Ada", age: 37 }])
          assert.strictEqual((yield* repo.findById(ada.id)).age, 37)
          yield* repo.delete(ada.id)
          assert.isTrue(Exit.isFailure(yield* Effect.exit(repo.findById(ada.id))))
        })
      )
    })
  })
}
