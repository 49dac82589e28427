/**
 * The Effect side: `connectConfig()` through a ConfigProvider and the `PgConfig` service layers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Duration, Effect, Exit, Layer, Redacted } from "effect"
import { connectConfig, PgConfig, PgConfigError } from "../../src/config/index.ts"

const withProvider = (root: unknown) => Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(root)))

describe("connectConfig", () => {
  it.effect("reads a url and individual keys, keys over url", () =>
    Effect.gen(function* () {
      const c = yield* connectConfig({ env: {} })
      assert.deepStrictEqual(c.hosts, [{ host: "h", hostaddr: undefined, port: 5433 }])
      assert.strictEqual(c.database, "db")
      assert.strictEqual(c.user, "u")
      assert.strictEqual(c.sslmode, "require")
      assert.strictEqual(c.applicationName, "app")
      assert.strictEqual(Duration.toSeconds(c.connectTimeout!), 10)
      assert.strictEqual(c.channelBinding, "require")
      assert.strictEqual(Redacted.value(c.password as Redacted.Redacted<string>), "pw-from-config")
      assert.deepStrictEqual(c.params, { search_path: "app" })
      assert.strictEqual(c.maxMessageSize, 65536)
    }).pipe(
      withProvider({
        url: "postgresql://u:pw-from-url@h:1/db?sslmode=disable",
        port: 5433,
        sslmode: "require",
        applicationName: "app",
        connectTimeout: "10",
        channelBinding: "require",
        password: "pw-from-config",
        params: { search_path: "app" },
        maxMessageSize: 65536
      })
    )
  )

  it.effect("puts the PG* environment under the provider's keys", () =>
    Effect.gen(function* () {
      const c = yield* connectConfig({ env: { PGHOST: "envhost", PGUSER: "envuser", PGDATABASE: "envdb" } })
      assert.strictEqual(c.hosts[0]!.host, "envhost")
      assert.strictEqual(c.user, "cfguser")
      assert.strictEqual(c.database, "envdb")
    }).pipe(withProvider({ user: "cfguser" }))
  )

  it.effect("works under a prefix", () =>
    Effect.gen(function* () {
      const c = yield* Config.nested("pg")(connectConfig({ env: {} }))
      assert.strictEqual(c.hosts[0]!.host, "nested")
    }).pipe(withProvider({ pg: { host: "nested", user: "u" } }))
  )

  it.effect("fails with a ConfigError that carries the PgConfigError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(connectConfig({ env: {} }))
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, 'invalid sslmode value: "bogus"')
      const cause = (error.cause as { cause?: unknown }).cause
      assert.instanceOf(cause, PgConfigError)
      assert.strictEqual((cause as PgConfigError).origin, 'config key "sslmode"')
    }).pipe(withProvider({ user: "u", sslmode: "bogus" }))
  )
})

describe("PgConfig", () => {
  it.effect("layer resolves a connection string", () =>
    Effect.gen(function* () {
      const c = yield* PgConfig
      assert.deepStrictEqual(c.hosts, [{ host: "db", hostaddr: undefined, port: 6432 }])
      assert.strictEqual(c.user, "app")
    }).pipe(Effect.provide(PgConfig.layer("postgresql://app@db:6432/app", { env: {} })))
  )

  it.effect("layer fails with PgConfigError on bad input", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.provide(Effect.service(PgConfig), PgConfig.layer("host=a,b port=1,2,3", { env: {} }))
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(
        Effect.provide(Effect.service(PgConfig), PgConfig.layer({ sslmode: "nope" as "disable" }))
      )
      assert.strictEqual(error._tag, "PgConfigError")
    })
  )

  it.effect("layerConfig reads through the ConfigProvider", () =>
    Effect.gen(function* () {
      const c = yield* PgConfig
      assert.strictEqual(c.hosts[0]!.host, "from-provider")
    }).pipe(
      Effect.provide(
        PgConfig.layerConfig(connectConfig({ env: {} })).pipe(
          Layer.provide(
            ConfigProvider.layer(ConfigProvider.fromUnknown({ host: "from-provider", user: "u" }))
          )
        )
      )
    )
  )
})
