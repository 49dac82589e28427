/**
 * PgTestTemplate / PgTestDatabase against real servers: the setup runs once per template and every
 * clone starts with its contents; clones made at the same time are separate databases that never
 * see each other's rows; clones and the template are dropped when their scopes close; the template
 * is sealed (no connections); a failing setup fails with its own error and leaves no template; the
 * Pool options pass through; PG* variables in the environment change nothing; the one-line
 * `layerWithServer`; the same on PostgreSQL 14 (the oldest supported) and on a server named by
 * EFFECT_PG_TEST_URL.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Data, Effect, Exit, Layer, Scope } from "effect"
import { Connection, type NormalConnection } from "../../src/Connection.ts"
import * as Expert from "../../src/Expert.ts"
import { ExpertPool, Pool } from "../../src/Pool.ts"
import { PgTestDatabase, PgTestServer } from "../../src/testing/index.ts"

const { PgTestTemplate } = PgTestDatabase

const schema =
  "create table item (id int primary key, owner text not null); insert into item values (0, 'template')"

let setupRuns = 0
const setup = (connection: NormalConnection) =>
  Effect.flatMap(
    Effect.sync(() => setupRuns++),
    () => connection.simpleQuery(schema)
  )

/** The names of the databases of `server` that start with effect_pg_, from a separate connection. */
const testDatabases = Effect.gen(function* () {
  const server = yield* PgTestServer.PgTestServer
  const watcher = yield* Expert.connect(server.url)
  const { rows } = yield* watcher.query(
    "select datname, datistemplate, datallowconn from pg_database where datname like 'effect_pg_%' order by 1"
  )
  return rows.map((row) => ({
    name: row.datname,
    template: row.datistemplate === true,
    allowConn: row.datallowconn === true
  }))
}).pipe(Effect.scoped)

const rowsOf = (sql: string) =>
  Effect.flatMap(Effect.service(Pool), (pool) => Effect.map(pool.query(sql), ({ rows }) => rows))

layer(PgTestDatabase.layerTemplate({ server: { version: 18, tls: false, env: {} }, setup }), {
  timeout: 120_000,
  excludeTestServices: true
})("PgTestDatabase (PG18)", (it) => {
  it.effect("the setup ran once, into a sealed template", () =>
    Effect.gen(function* () {
      assert.strictEqual(setupRuns, 1)
      const template = yield* PgTestTemplate
      assert.match(template.name, /^effect_pg_tpl_\d+_[0-9a-f]{8}_\d+$/)
      const databases = yield* testDatabases
      assert.deepStrictEqual(databases, [{ name: template.name, template: true, allowConn: false }])
      const server = yield* PgTestServer.PgTestServer
      const refused = yield* Effect.flip(
        Expert.connect(`${server.url.replace(/\/postgres$/, "")}/${template.name}`)
      )
      assert.include(refused.message, "not currently accepting connections")
    }).pipe(Effect.scoped)
  )

  it.effect("each clone has the template's contents and its own rows only, also at the same time", () =>
    Effect.gen(function* () {
      const seen = yield* Effect.all(
        Array.from({ length: 6 }, (_, i) =>
          Effect.gen(function* () {
            const pool = yield* Pool
            yield* pool.query("insert into item values ($1, $2)", [String(i + 1), `test ${i}`])
            yield* Effect.sleep("50 millis")
            const connection = yield* Connection
            const { rows } = yield* connection.query("select owner from item order by id")
            const database = yield* PgTestDatabase.PgTestDatabase
            const [{ current_database: current }] = (yield* pool.query("select current_database()")).rows as [
              { current_database: string }
            ]
            assert.strictEqual(current, database.name)
            return { name: database.name, owners: rows.map((row) => row.owner) }
          }).pipe(Effect.provide(PgTestDatabase.layer()))
        ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(new Set(seen.map((s) => s.name)).size, 6)
      assert.deepStrictEqual(
        seen.map((s) => s.owners),
        seen.map((_, i) => ["template", `test ${i}`])
      )
      assert.strictEqual(setupRuns, 1, "cloning does not run the setup again")
    })
  )

  it.effect("a clone is dropped when its scope closes, even with a connection still open", () =>
    Effect.gen(function* () {
      const template = yield* PgTestTemplate
      const scope = yield* Scope.make()
      const database = yield* Scope.provide(PgTestDatabase.make, scope)
      assert.match(database.name, /^effect_pg_db_/)
      assert.strictEqual(database.template, template.name)
      assert.strictEqual(database.url, `${database.server.url.replace(/\/postgres$/, "")}/${database.name}`)
      const leftOpen = yield* Scope.provide(Expert.connect(database.connect), yield* Scope.make())
      assert.deepStrictEqual((yield* leftOpen.query("select count(*) from item")).rows, [{ count: 1n }])
      assert.includeMembers(
        (yield* testDatabases).map((d) => d.name),
        [database.name]
      )
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(
        (yield* testDatabases).map((d) => d.name),
        [template.name]
      )
    })
  )

  it.effect("passes the pool options through, and provides the Expert view of the same pool", () =>
    Effect.gen(function* () {
      const pool = yield* Pool
      const expert = yield* ExpertPool
      assert.strictEqual((yield* pool.stats).max, 2)
      yield* expert.query("select 1")
      assert.deepStrictEqual(yield* pool.stats, yield* expert.stats)
      assert.strictEqual((yield* PgTestDatabase.PgTestDatabase).connect.applicationName, undefined)
    }).pipe(Effect.provide(PgTestDatabase.layer({ pool: { max: 2, name: "options" } })))
  )

  it.effect("ignores PG* variables of the environment", () =>
    Effect.gen(function* () {
      const saved = { ...process.env }
      Object.assign(process.env, {
        PGSSLMODE: "verify-full",
        PGDATABASE: "nope",
        PGUSER: "nobody",
        PGPORT: "1"
      })
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          for (const key of ["PGSSLMODE", "PGDATABASE", "PGUSER", "PGPORT"]) delete process.env[key]
          Object.assign(process.env, saved)
        })
      )
      const rows = yield* rowsOf("select current_user, current_setting('ssl')").pipe(
        Effect.provide(PgTestDatabase.layer())
      )
      assert.deepStrictEqual(rows, [{ current_user: "postgres", current_setting: "off" }])
    })
  )

  it.effect("a failing setup fails with its own error and leaves no template behind", () =>
    Effect.gen(function* () {
      class MigrationError extends Data.TaggedError("MigrationError")<{ readonly step: number }> {}
      const failing = PgTestDatabase.layerTemplateFromServer({
        setup: (connection) =>
          Effect.andThen(connection.simpleQuery("create table half (x int)"), new MigrationError({ step: 2 }))
      })
      const error = yield* Effect.flip(Layer.build(failing))
      assert.instanceOf(error, MigrationError)
      const names = (yield* testDatabases).map((d) => d.name)
      assert.deepStrictEqual(names, [(yield* PgTestTemplate).name])
    }).pipe(Effect.scoped)
  )
})

layer(PgTestDatabase.layerWithServer({ server: { version: 14, tls: false, env: {} }, setup }), {
  timeout: 120_000,
  excludeTestServices: true
})("PgTestDatabase.layerWithServer (PG14)", (it) => {
  it.effect("provides the server, a cloned database, a Pool and a Connection in one line", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      assert.strictEqual(server.version, 14)
      const database = yield* PgTestDatabase.PgTestDatabase
      const connection = yield* Connection
      assert.deepStrictEqual((yield* connection.query("select current_database()")).rows, [
        { current_database: database.name }
      ])
      assert.deepStrictEqual(yield* rowsOf("select owner from item"), [{ owner: "template" }])
    })
  )

  it.effect("on PostgreSQL 14 too, a clone is its own database and is dropped afterwards", () =>
    Effect.gen(function* () {
      const inner = yield* rowsOf("insert into item values (9, 'inner') returning current_database()").pipe(
        Effect.provide(PgTestDatabase.layer())
      )
      assert.deepStrictEqual(yield* rowsOf("select count(*) from item"), [{ count: 1n }])
      const names = (yield* testDatabases).map((d) => d.name)
      assert.isString(inner[0]!.current_database)
      assert.notInclude(names, inner[0]!.current_database)
      assert.strictEqual(names.length, 2, "the template and the shared database")
    })
  )
})

describe("PgTestDatabase on a server named by EFFECT_PG_TEST_URL", () => {
  it.effect(
    "clones and drops databases there, and drops its template afterwards",
    () =>
      Effect.gen(function* () {
        const local = yield* PgTestServer.start({ version: 18, tls: false, env: {} })
        const external = PgTestDatabase.layerWithServer({
          server: { backend: "external", env: { EFFECT_PG_TEST_URL: local.url } },
          setup
        })
        const seen = yield* Effect.gen(function* () {
          assert.strictEqual((yield* PgTestServer.PgTestServer).source, "external")
          return yield* rowsOf("select current_database(), (select count(*) from item)")
        }).pipe(Effect.provide(external))
        assert.match(seen[0]!.current_database as string, /^effect_pg_db_/)
        assert.strictEqual(seen[0]!.count, 1n)
        const left = yield* testDatabases.pipe(Effect.provideService(PgTestServer.PgTestServer, local))
        assert.deepStrictEqual(left, [])
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )
})
