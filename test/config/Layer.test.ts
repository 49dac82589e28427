/**
 * The Effect side: `connectConfig()` through a ConfigProvider and the `PgConfig` service layers.
 */
import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Duration, Effect, Exit, Layer, Redacted } from "effect"
import * as PgConfigModule from "../../src/config/index.ts"
import { connectConfig, PgConfig, PgConfigError } from "../../src/config/index.ts"

const withProvider = (root: unknown) => Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(root)))

describe("connectConfig", () => {
  it.effect("under a prefix: reads a url and individual keys, keys over url", () =>
    Effect.gen(function* () {
      const c = yield* connectConfig({ env: {}, prefix: "db" })
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
        db: {
          url: "postgresql://u:pw-from-url@h:1/db?sslmode=disable",
          port: 5433,
          sslmode: "require",
          applicationName: "app",
          connectTimeout: "10",
          channelBinding: "require",
          password: "pw-from-config",
          params: { search_path: "app" },
          maxMessageSize: 65536
        }
      })
    )
  )

  it.effect("without a prefix: PG_URL, else DATABASE_URL, and never lower-case root keys", () =>
    Effect.gen(function* () {
      const fromDatabaseUrl = yield* connectConfig({ env: {} }).pipe(
        withProvider({
          DATABASE_URL: "postgresql://dbu@dbhost:6000/dbname",
          url: "postgresql://x@ignored/x",
          host: "ignored"
        })
      )
      assert.deepStrictEqual(fromDatabaseUrl.hosts, [{ host: "dbhost", hostaddr: undefined, port: 6000 }])
      assert.strictEqual(fromDatabaseUrl.user, "dbu")
      const fromPgUrl = yield* connectConfig({ env: {} }).pipe(
        withProvider({
          PG_URL: "postgresql://pgu@pghost/pgdb",
          DATABASE_URL: "postgresql://dbu@dbhost/dbname"
        })
      )
      assert.strictEqual(fromPgUrl.hosts[0]!.host, "pghost")
      // Nothing configured: libpq's defaults and the PG* environment, as the CLI does.
      const fromPgEnv = yield* connectConfig({ env: { PGHOST: "envhost", PGUSER: "envuser" } }).pipe(
        withProvider({ url: "postgresql://x@ignored/x" })
      )
      assert.strictEqual(fromPgEnv.hosts[0]!.host, "envhost")
      assert.strictEqual(fromPgEnv.user, "envuser")
    })
  )

  it.effect("with ConfigProvider.constantCase, a prefix reads DB_URL, DB_HOST, ...", () =>
    Effect.gen(function* () {
      const c = yield* connectConfig({ env: {}, prefix: "db" })
      assert.strictEqual(c.hosts[0]!.host, "envhost")
      assert.strictEqual(c.user, "envuser")
      assert.strictEqual(c.applicationName, "from-env")
    }).pipe(
      Effect.provide(
        ConfigProvider.layer(
          ConfigProvider.constantCase(
            ConfigProvider.fromEnv({
              env: {
                DB_URL: "postgresql://envuser@urlhost/x",
                DB_HOST: "envhost",
                DB_APPLICATION_NAME: "from-env"
              }
            })
          )
        )
      )
    )
  )

  it.effect("puts the PG* environment under the provider's keys", () =>
    Effect.gen(function* () {
      const c = yield* connectConfig({
        env: { PGHOST: "envhost", PGUSER: "envuser", PGDATABASE: "envdb" },
        prefix: "pg"
      })
      assert.strictEqual(c.hosts[0]!.host, "envhost")
      assert.strictEqual(c.user, "cfguser")
      assert.strictEqual(c.database, "envdb")
    }).pipe(withProvider({ pg: { user: "cfguser" } }))
  )

  it.effect("works under a prefix", () =>
    Effect.gen(function* () {
      const c = yield* Config.nested("app")(connectConfig({ env: {}, prefix: "pg" }))
      assert.strictEqual(c.hosts[0]!.host, "nested")
    }).pipe(withProvider({ app: { pg: { host: "nested", user: "u" } } }))
  )

  it.effect("fails with a ConfigError that carries the PgConfigError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(connectConfig({ env: {}, prefix: "pg" }))
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, 'invalid sslmode value: "bogus"')
      const cause = (error.cause as { cause?: unknown }).cause
      assert.instanceOf(cause, PgConfigError)
      assert.strictEqual((cause as PgConfigError).origin, 'config key "sslmode"')
    }).pipe(withProvider({ pg: { user: "u", sslmode: "bogus" } }))
  )
})

describe("PgConfig", () => {
  it.effect("layer resolves a connection string", () =>
    Effect.gen(function* () {
      const c = yield* PgConfig
      assert.deepStrictEqual(c.hosts, [{ host: "db", hostaddr: undefined, port: 6432 }])
      assert.strictEqual(c.user, "app")
    }).pipe(Effect.provide(PgConfigModule.layer("postgresql://app@db:6432/app", { env: {} })))
  )

  it.effect("layer fails with PgConfigError on bad input", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.provide(Effect.service(PgConfig), PgConfigModule.layer("host=a,b port=1,2,3", { env: {} }))
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(
        Effect.provide(Effect.service(PgConfig), PgConfigModule.layer({ sslmode: "nope" as "disable" }))
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
        PgConfigModule.layerConfig(connectConfig({ env: {}, prefix: "pg" })).pipe(
          Layer.provide(
            ConfigProvider.layer(ConfigProvider.fromUnknown({ pg: { host: "from-provider", user: "u" } }))
          )
        )
      )
    )
  )
})
