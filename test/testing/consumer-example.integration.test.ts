/**
 * The example of docs/testing.md ("A database per test"), as a real test: one server and one
 * template per file, a database of its own for each test (tests run concurrently and one of them
 * deletes every row), and a block sharing one database through the one-line `layerWithServer`.
 * In a consumer project the two local imports read "effect-pg" and "effect-pg/testing"; the rest of
 * this file is the documentation's example verbatim (test/testing/docs-example.test.ts checks it).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Connection, Pool } from "../../src/index.ts"
import { PgTestDatabase } from "../../src/testing/index.ts"

// Your migrations: they run once per test server, into the template every test database is cloned from.
const migrate = (connection: Connection.NormalConnection) =>
  connection.simpleQuery(`
    create table todo (id serial primary key, title text not null);
    insert into todo (title) values ('from the template');
  `)

// One server and one template for this file; each test gets a database of its own, dropped afterwards.
layer(PgTestDatabase.layerTemplate({ setup: migrate }), { concurrent: true })("todos", (it) => {
  it.effect("inserts a row", () =>
    Effect.gen(function* () {
      const pool = yield* Pool.Pool
      yield* pool.query("insert into todo (title) values ($1)", ["write tests"])
      const { rows } = yield* pool.query("select title from todo order by id")
      assert.deepStrictEqual(rows, [{ title: "from the template" }, { title: "write tests" }])
    }).pipe(Effect.provide(PgTestDatabase.layer()))
  )

  it.effect("deletes every row, and no other test notices", () =>
    Effect.gen(function* () {
      const pool = yield* Pool.Pool
      yield* pool.query("delete from todo")
      const { rows } = yield* pool.query("select count(*) from todo")
      assert.deepStrictEqual(rows, [{ count: 0n }])
    }).pipe(Effect.provide(PgTestDatabase.layer()))
  )

  it.effect("has a Connection on the same database", () =>
    Effect.gen(function* () {
      const connection = yield* Connection.Connection
      const database = yield* PgTestDatabase.PgTestDatabase
      const { rows } = yield* connection.query("select current_database(), count(*) from todo")
      assert.deepStrictEqual(rows, [{ current_database: database.name, count: 1n }])
    }).pipe(Effect.provide(PgTestDatabase.layer()))
  )
})

// Or, in one line: a server, the template and one database that all tests of the block share.
layer(PgTestDatabase.layerWithServer({ setup: migrate }))("todos, one shared database", (it) => {
  it.effect("sees the rows of the tests before it", () =>
    Effect.gen(function* () {
      const pool = yield* Pool.Pool
      yield* pool.query("insert into todo (title) values ('shared')")
      const { rows } = yield* pool.query("select count(*) from todo")
      assert.deepStrictEqual(rows, [{ count: 2n }])
    })
  )
})
