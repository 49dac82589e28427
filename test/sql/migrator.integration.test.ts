/**
 * PgMigrator on PostgreSQL 18 and 15: migrations run in order and are recorded once; two
 * migrators started at once (two clients, two pools) run each migration once under the advisory
 * lock; a failed migration records nothing; the schema dump writes `_schema.sql` when pg_dump
 * can dump this server, and never fails the run.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Redacted, Ref } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql/SqlClient"
import * as PgClient from "../../src/sql/PgClient.ts"
import * as PgMigrator from "../../src/sql/PgMigrator.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { server, table, versions } from "./support.ts"

/** The major version of the pg_dump on the PATH, or undefined. */
const pgDumpMajor = (): number | undefined => {
  try {
    const out = execFileSync("pg_dump", ["--version"], { encoding: "utf8" })
    const m = /(\d+)\./.exec(out)
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

const newClient = Effect.gen(function* () {
  const s = yield* PgTestServer.PgTestServer
  return yield* PgClient.make({ url: Redacted.make(s.url) }).pipe(Effect.provide(Reactivity.layer))
})

const withClient =
  (client: PgClient.PgClient) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(Effect.provideService(SqlClient, client), Effect.provideService(PgClient.PgClient, client))

for (const version of versions) {
  describe(`PG${version}`, () => {
    layer(server(version), { timeout: 180_000, excludeTestServices: true })("PgMigrator", (it) => {
      it.effect("two migrators at once run each migration once", () =>
        Effect.gen(function* () {
          const runs = yield* Ref.make(0)
          const migrations = table("migrations")
          const target = table("target")
          const loader = PgMigrator.fromRecord({
            "1_create": Effect.gen(function* () {
              const sql = yield* SqlClient
              yield* Ref.update(runs, (n) => n + 1)
              yield* sql`create table ${sql(target)} (id int)`
              yield* Effect.sleep("300 millis")
            }),
            "2_fill": Effect.gen(function* () {
              const sql = yield* SqlClient
              yield* sql`insert into ${sql(target)} values (1)`
            })
          })
          const a = yield* newClient
          const b = yield* newClient
          const [ranA, ranB] = yield* Effect.all(
            [
              withClient(a)(PgMigrator.run({ loader, table: migrations })),
              withClient(b)(PgMigrator.run({ loader, table: migrations }))
            ],
            { concurrency: 2 }
          )
          assert.strictEqual(yield* Ref.get(runs), 1)
          assert.deepStrictEqual(
            [...ranA, ...ranB],
            [
              [1, "create"],
              [2, "fill"]
            ]
          )
          const sql = a as SqlClient
          assert.deepStrictEqual(yield* sql`select id from ${sql(target)}`, [{ id: 1 }])
          const recorded = yield* sql<{
            migration_id: number
          }>`select migration_id from ${sql(migrations)} order by 1`
          assert.deepStrictEqual(
            recorded.map((r) => r.migration_id),
            [1, 2]
          )
          // Run again: nothing to do.
          assert.deepStrictEqual(yield* withClient(a)(PgMigrator.run({ loader, table: migrations })), [])
        })
      )

      it.effect("a failed migration records nothing", () =>
        Effect.gen(function* () {
          const client = yield* newClient
          const migrations = table("migrations")
          const target = table("target")
          const loader = PgMigrator.fromRecord({
            "1_create": Effect.gen(function* () {
              const sql = yield* SqlClient
              yield* sql`create table ${sql(target)} (id int)`
            }),
            "2_broken": Effect.gen(function* () {
              const sql = yield* SqlClient
              yield* sql`insert into nowhere_at_all values (1)`
            })
          })
          const exit = yield* Effect.exit(withClient(client)(PgMigrator.run({ loader, table: migrations })))
          assert.isTrue(Exit.isFailure(exit))
          const sql = client as SqlClient
          const exists = yield* sql`select to_regclass(${target}) is not null as e`
          assert.deepStrictEqual(exists, [{ e: false }])
        })
      )

      it.effect("the schema dump", () =>
        Effect.gen(function* () {
          const client = yield* newClient
          const dir = mkdtempSync(join(tmpdir(), "effect-pg-migrator-"))
          const migrations = table("migrations")
          const target = table("dumped")
          const loader = PgMigrator.fromRecord({
            "1_create": Effect.gen(function* () {
              const sql = yield* SqlClient
              yield* sql`create table ${sql(target)} (id int)`
            })
          })
          const ran = yield* withClient(client)(
            PgMigrator.run({ loader, table: migrations, schemaDirectory: dir })
          )
          assert.strictEqual(ran.length, 1)
          // pg_dump may be missing or older than the server: the run succeeds either way.
          const file = join(dir, "_schema.sql")
          if (pgDumpMajor() === version)
            assert.isTrue(existsSync(file), "pg_dump of the server's version writes the dump")
          if (existsSync(file)) {
            const dump = readFileSync(file, "utf8")
            assert.include(dump, target)
            assert.include(dump, "INSERT INTO")
          }
        })
      )
    })
  })
}
