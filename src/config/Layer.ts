/**
 * The configuration as an Effect service: `PgConfig` holds the resolved `ConnectConfig` that the
 * Connection and Pool layers read, built from a value (`PgConfig.layer`) or from the ConfigProvider
 * (`PgConfig.layerConfig`, `connectConfig`).
 *
 * What it does: `connectConfig()` with no prefix reads what the CLI and libpq read: a connection
 * string from `PG_URL` or else `DATABASE_URL` (through the ConfigProvider, by default the
 * environment), and the PG* environment variables under it (`~/.pgpass` at connect time).
 * `connectConfig({ prefix: "db" })` reads the keys under `db` instead: `url` (a connection
 * string) and one key per field of `ConnectConfigInput` (`host`, `port`, `database`, `user`,
 * `password` as `Config.Redacted`, `sslmode`, `sslrootcert`, `channelBinding`, `requireAuth`,
 * `applicationName`, `connectTimeout`, ..., and `params` as a record), all optional, with libpq's
 * string syntax for every value (`sslsni=1`, `keepalives=0`, `port=5432,5433`); with
 * `ConfigProvider.constantCase` over the environment that is `DB_URL`, `DB_HOST`, `DB_SSLMODE`.
 * Either way the result is resolved as explicit fields over the connection string over the PG*
 * environment over the defaults. A configuration error is a `ConfigError` whose cause is a
 * `SourceError` carrying the `PgConfigError`.
 *
 * What it does NOT do: read `~/.pgpass` or TLS files (at connect time), or read lower-case keys at
 * the root of the provider (an environment variable named `url` or `host` configures nothing).
 *
 * Invariants: the service always holds a checked `ConnectConfig`; the password is read only as
 * `Config.Redacted`.
 */
import { Config, ConfigProvider, Context, Effect, Layer, Option, Result, Schema } from "effect"
import type { PgConfigError } from "./ConfigError.ts"
import type { ConnectConfig, ConnectInput } from "./ConnectConfig.ts"
import type { Sourced } from "./Env.ts"
import { type ResolveOptions, resolve, resolveSources, systemContext } from "./Resolve.ts"

/** Config key (field name) → libpq keyword, for the string-valued fields. */
const stringKeys: ReadonlyArray<readonly [key: string, keyword: string]> = [
  ["service", "service"],
  ["host", "host"],
  ["hostaddr", "hostaddr"],
  ["port", "port"],
  ["database", "dbname"],
  ["user", "user"],
  ["passfile", "passfile"],
  ["sslmode", "sslmode"],
  ["sslnegotiation", "sslnegotiation"],
  ["sslrootcert", "sslrootcert"],
  ["sslcert", "sslcert"],
  ["sslkey", "sslkey"],
  ["sslcrl", "sslcrl"],
  ["sslsni", "sslsni"],
  ["sslcertmode", "sslcertmode"],
  ["sslMinProtocolVersion", "ssl_min_protocol_version"],
  ["sslMaxProtocolVersion", "ssl_max_protocol_version"],
  ["channelBinding", "channel_binding"],
  ["requireAuth", "require_auth"],
  ["gssencmode", "gssencmode"],
  ["applicationName", "application_name"],
  ["fallbackApplicationName", "fallback_application_name"],
  ["connectTimeout", "connect_timeout"],
  ["keepalives", "keepalives"],
  ["keepalivesIdle", "keepalives_idle"],
  ["keepalivesInterval", "keepalives_interval"],
  ["keepalivesCount", "keepalives_count"],
  ["options", "options"],
  ["targetSessionAttrs", "target_session_attrs"],
  ["loadBalanceHosts", "load_balance_hosts"],
  ["minProtocolVersion", "min_protocol_version"],
  ["maxProtocolVersion", "max_protocol_version"]
]

const optionalString = (key: string) => Config.option(Config.String(key))

const urlFromEnvironment = Config.map(
  Config.all({ pgUrl: optionalString("PG_URL"), databaseUrl: optionalString("DATABASE_URL") }),
  ({ pgUrl, databaseUrl }) => (pgUrl._tag === "Some" && pgUrl.value !== "" ? pgUrl : databaseUrl)
)

const fields = Config.all({
  url: optionalString("url"),
  password: Config.option(Config.Redacted("password")),
  sslpassword: Config.option(Config.Redacted("sslpassword")),
  maxMessageSize: Config.option(Config.Int("maxMessageSize")),
  statementCacheSize: Config.option(Config.Int("statementCacheSize")),
  params: Config.option(Config.Record(Schema.String, Schema.String, "params")),
  strings: Config.all(Object.fromEntries(stringKeys.map(([key]) => [key, optionalString(key)])))
})

const toConfigError = (error: PgConfigError): Config.ConfigError =>
  new Config.ConfigError(new ConfigProvider.SourceError({ message: error.message, cause: error }))

/** Options of {@link connectConfig}. */
export interface ConnectConfigOptions extends ResolveOptions {
  /** Read the keys under this prefix (`url`, `host`, ...); without it, `PG_URL`/`DATABASE_URL` only. */
  readonly prefix?: string | undefined
}

/** Only the connection string, from `PG_URL` or `DATABASE_URL`. */
const environmentFields: Config.Config<Config.Success<typeof fields>> = Config.map(
  urlFromEnvironment,
  (url) => ({
    url,
    password: Option.none(),
    sslpassword: Option.none(),
    maxMessageSize: Option.none(),
    statementCacheSize: Option.none(),
    params: Option.none(),
    strings: Object.fromEntries(stringKeys.map(([key]) => [key, Option.none<string>()]))
  })
)

/**
 * A `Config` of the resolved configuration, read through the current ConfigProvider (see the
 * module header for the keys, with or without `prefix`), with the PG* variables of `options.env`
 * (default `process.env`) under them.
 */
export const connectConfig = (options?: ConnectConfigOptions): Config.Config<ConnectConfig> =>
  Config.mapEffect(
    options?.prefix === undefined ? environmentFields : Config.nested(fields, options.prefix),
    (read) =>
      Effect.suspend(() => {
        const explicit = new Map<string, Sourced>()
        for (const [key, keyword] of stringKeys) {
          const value = read.strings[key]
          if (value !== undefined && value._tag === "Some" && value.value !== "") {
            explicit.set(keyword, { value: value.value, origin: `config key "${key}"` })
          }
        }
        const some = <A>(o: { readonly _tag: "Some"; readonly value: A } | { readonly _tag: "None" }) =>
          o._tag === "Some" ? o.value : undefined
        const url = some(read.url)
        const resolved = resolveSources(
          {
            explicit,
            connectionString: url === "" ? undefined : url,
            password: some(read.password),
            sslpassword: some(read.sslpassword),
            params: some(read.params),
            maxMessageSize: some(read.maxMessageSize),
            statementCacheSize: some(read.statementCacheSize),
            gssToken: undefined,
            connectTimeout: undefined
          },
          systemContext(options?.env ?? process.env)
        )
        return Result.isSuccess(resolved)
          ? Effect.succeed(resolved.success)
          : Effect.fail(toConfigError(resolved.failure))
      })
  )

/** The resolved connection configuration, for the Connection and Pool layers. */
export class PgConfig extends Context.Service<PgConfig, ConnectConfig>()("effect-pg/PgConfig") {}

/** A layer from a connection string, a `ConnectConfigInput` or a `ConnectConfig`. */
export const layer = (input: ConnectInput, options?: ResolveOptions): Layer.Layer<PgConfig, PgConfigError> =>
  Layer.effect(PgConfig, resolve(input, options))

/** A layer from the ConfigProvider (default: {@link connectConfig}). */
export const layerConfig = (
  config?: Config.Config<ConnectConfig>
): Layer.Layer<PgConfig, Config.ConfigError> => Layer.effect(PgConfig, config ?? connectConfig())
