/**
 * The Pool's Layers and its shutdown against a real PostgreSQL 18: both views from one Layer share
 * one pool; configuration from the ConfigProvider and from `PgConfig`; a bad option fails the
 * Layer; closing the pool fails the waiters, closes idle connections at once and borrowed ones
 * after `shutdownTimeout`, and leaves nothing open on the server.
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import * as PgConfigModule from "../../src/config/Layer.ts"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, backendPids, connectInput, eventually, monitor } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false, backend: "local" }), {
  timeout: 120_000,
  excludeTestServices: true
})("Pool layers and shutdown (PG18)", (it) => {
  it.effect("Pool.layer provides both views of one pool", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const both = yield* Layer.build(
        PoolM.layer({ connect: connectInput(server, appName("layer")), max: 2 })
      )
      const pool = yield* Effect.provide(Effect.service(PoolM.Pool), both)
      const expert = yield* Effect.provide(Effect.service(PoolM.ExpertPool), both)
      yield* pool.query("select 1")
      const viaExpert = yield* expert.withConnection((c) => Effect.succeed(c.processId))
      assert.isNumber(viaExpert)
      assert.deepStrictEqual(yield* pool.stats, yield* expert.stats)
      assert.strictEqual((yield* expert.stats).total, 1)
    })
  )

  it.effect("layerConfig reads the connection and the pool options from the ConfigProvider", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const provider = ConfigProvider.fromUnknown({
        db: {
          url: server.url,
          applicationName: "from_config",
          pool: { max: "2", name: "configured", acquireTimeout: "3 seconds" }
        }
      })
      const built = yield* Layer.build(
        PoolM.layerConfig({ prefix: "db" }).pipe(Layer.provide(ConfigProvider.layer(provider)))
      )
      const pool = yield* Effect.provide(Effect.service(PoolM.Pool), built)
      const { rows } = yield* pool.query("select current_setting('application_name')")
      assert.deepStrictEqual(rows, [{ current_setting: "from_config" }])
      assert.strictEqual((yield* pool.stats).max, 2)

      const fromPgConfig = yield* Layer.build(
        PoolM.layerFromPgConfig({ max: 1 }).pipe(Layer.provide(PgConfigModule.layer(server.url)))
      )
      const other = yield* Effect.provide(Effect.service(PoolM.Pool), fromPgConfig)
      assert.deepStrictEqual((yield* other.query("select 3")).rows, [{ "?column?": 3 }])
      assert.strictEqual((yield* other.stats).max, 1)

      // No prefix: DATABASE_URL, as the CLI and libpq-style tools read it (a root `url` is ignored).
      const fromEnv = yield* Layer.build(
        PoolM.layerConfig().pipe(
          Layer.provide(
            ConfigProvider.layer(
              ConfigProvider.fromUnknown({ DATABASE_URL: server.url, url: "postgresql://nobody@nowhere/x" })
            )
          )
        )
      )
      const envPool = yield* Effect.provide(Effect.service(PoolM.Pool), fromEnv)
      assert.deepStrictEqual((yield* envPool.query("select 4")).rows, [{ "?column?": 4 }])

      const bad = yield* Effect.flip(Layer.build(PoolM.layer({ connect: server.url, min: 5, max: 2 })))
      assert.strictEqual(bad._tag, "PgConfigError")
    })
  )

  it.effect(
    "closing the pool fails waiters, closes idle connections and, after shutdownTimeout, borrowed ones",
    () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const app = appName("shutdown")
        const watcher = yield* monitor(server)
        const scope = yield* Scope.make()
        const { pool } = yield* Scope.provide(scope)(
          PoolM.make({ connect: connectInput(server, app), max: 2, shutdownTimeout: "300 millis" })
        )
        yield* Effect.forEach([1, 2], () => pool.query("select pg_sleep(0.05)"), { concurrency: 2 })
        const borrowed = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const holder = yield* Effect.forkChild(
          pool.withConnection((c) =>
            Effect.gen(function* () {
              yield* Deferred.succeed(borrowed, undefined)
              yield* Deferred.await(release)
              return yield* Effect.flip(c.query("select 1"))
            })
          )
        )
        yield* Deferred.await(borrowed)
        const keeper = yield* Effect.forkChild(pool.withConnection(() => Effect.never))
        const waiter = yield* Effect.forkChild(Effect.flip(pool.query("select 1")))
        yield* eventually(
          "one waiter",
          Effect.map(pool.stats, (s) => s.waiting === 1)
        )

        yield* Scope.close(scope, Exit.void)
        const waiterError = yield* Fiber.join(waiter)
        assert.strictEqual(waiterError._tag === "PgError" && waiterError.cause._tag, "PgClosedError")
        assert.match(waiterError.message, /the pool is closed/)
        yield* Deferred.succeed(release, undefined)
        const holderError = yield* Fiber.join(holder)
        assert.strictEqual(holderError._tag === "PgError" && holderError.isClosed, true)
        yield* Fiber.interrupt(keeper)
        const later = yield* Effect.flip(pool.query("select 1"))
        assert.strictEqual(later._tag === "PgError" && later.cause._tag, "PgClosedError")
        yield* eventually(
          "no connection left on the server",
          Effect.map(backendPids(watcher, app), (p) => p.length === 0)
        )
        const stats = yield* pool.stats
        assert.strictEqual(stats.total, 0)
      })
  )
})
