/**
 * The Layers of effect-pg/sql on PostgreSQL 18: `layerConfig` from the ConfigProvider (a redacted
 * URL and pool limits), `layerFromPool` sharing the application's effect-pg Pool (and its
 * transactions), and `make` refusing an unsupported setting with a SqlError.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Exit, Layer } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql/SqlClient"
import * as Pool from "../../src/Pool.ts"
import * as PgClient from "../../src/sql/PgClient.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { server } from "./support.ts"

describe("PG18", () => {
  layer(Layer.merge(server(18), Reactivity.layer), { timeout: 180_000, excludeTestServices: true })(
    "layers",
    (it) => {
      it.effect("layerConfig", () =>
        Effect.gen(function* () {
          const s = yield* PgTestServer.PgTestServer
          const provider = ConfigProvider.fromUnknown({ DATABASE_URL: s.url, DB_MAX: "3" })
          const live = PgClient.layerConfig({
            url: Config.Redacted("DATABASE_URL"),
            maxConnections: Config.Int("DB_MAX")
          }).pipe(Layer.provide(ConfigProvider.layer(provider)))
          const [rows, max] = yield* Effect.gen(function* () {
            const sql = yield* SqlClient
            const pg = yield* PgClient.PgClient
            return [yield* sql`select 1 as one`, (yield* pg.pool.stats).max] as const
          }).pipe(Effect.provide(live))
          assert.deepStrictEqual(rows, [{ one: 1 }])
          assert.strictEqual(max, 3)
        })
      )

      it.effect("layerFromPool shares the Pool and its transactions", () =>
        Effect.gen(function* () {
          const s = yield* PgTestServer.PgTestServer
          const live = PgClient.layerFromPool().pipe(
            Layer.provideMerge(Pool.layer({ connect: s.url, max: 2 }))
          )
          const seen = yield* Effect.gen(function* () {
            const pool = yield* Pool.Pool
            const sql = yield* SqlClient
            return yield* pool.withTransaction(() =>
              Effect.gen(function* () {
                const a = yield* pool.query("select pg_backend_pid() as p")
                const b = yield* sql<{ p: number }>`select pg_backend_pid() as p`
                return a.rows[0]?.p === b[0]?.p
              })
            )
          }).pipe(Effect.provide(live))
          assert.isTrue(seen)
        })
      )

      it.effect("an unsupported setting is a SqlError", () =>
        Effect.gen(function* () {
          const exit = yield* Effect.exit(Effect.scoped(PgClient.make({ ssl: { ca: "x" } })))
          assert.isTrue(Exit.isFailure(exit))
        })
      )
    }
  )
})
