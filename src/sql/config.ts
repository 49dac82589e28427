/**
 * The driver's configuration: the fields of @effect/sql-pg's `PgPoolConfig` that make sense over
 * effect-pg, and their mapping onto `Pool.make`'s options (`poolOptions`), plus the span
 * attributes effect/sql puts on every statement (`spanAttributes`).
 *
 * Refused with a `SqlError` (UnknownError, operation "config") rather than ignored: `stream` (a
 * custom Duplex: effect-pg owns its sockets) and `ssl` given as Node's `tls.ConnectionOptions`
 * (use `url` with `sslmode`, `sslrootcert`, … or `connect`). Everything effect-pg's connection
 * settings offer beyond these is reachable through `connect` (a `ConnectConfigInput`, merged
 * last) and the Pool's own options through `pool`.
 *
 * It does NOT connect or validate values: `Pool.make` does (its `PgConfigError` becomes a
 * SqlError in PgClient.make).
 */
import { Duration, type Effect, Option, Redacted } from "effect"
import { SqlError, UnknownError } from "effect/sql/SqlError"
import type { ConnectConfigInput } from "../config/ConnectConfig.ts"
import type { PoolOptions } from "../Pool.ts"
import type { Registry } from "../types/Registry.ts"

/** Connection and client settings (the names of @effect/sql-pg's `PgClientConfig`). */
export interface PgClientConfig {
  /** A connection URL (or libpq key=value string), redacted because it may hold the password. */
  readonly url?: Redacted.Redacted | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  /** A Unix socket directory (libpq's `host=/dir`). */
  readonly path?: string | undefined
  /** `true`: sslmode=require; `false`: sslmode=disable. Node TLS options are refused (use `connect`). */
  readonly ssl?: boolean | object | undefined
  readonly database?: string | undefined
  readonly username?: string | undefined
  /** A static password or an Effect evaluated for each connection attempt. */
  readonly password?: Redacted.Redacted | Effect.Effect<Redacted.Redacted> | undefined
  readonly connectTimeout?: Duration.Input | undefined
  /** Idle time before TCP keepalive probes start. */
  readonly keepAlive?: Duration.Input | undefined
  /** Not supported (effect-pg owns its sockets): refused. */
  readonly stream?: (() => unknown) | undefined
  readonly applicationName?: string | undefined
  /** Session settings sent at startup (`params` of effect-pg's connection settings). */
  readonly startupParameters?: Readonly<Record<string, string>> | undefined
  /** The startup `options` string (`-c search_path=app`). */
  readonly startupOptions?: string | undefined
  readonly spanAttributes?: Record<string, unknown> | undefined
  readonly transformResultNames?: ((str: string) => string) | undefined
  readonly transformQueryNames?: ((str: string) => string) | undefined
  /** Apply the name transforms inside JSON values too (default true), as effect/sql defines it. */
  readonly transformJson?: boolean | undefined
  /** effect-pg's codec registry for this client's connections (default `Types.defaultRegistry`). */
  readonly types?: Registry | undefined
  /** `false`: one statement at a time per connection (maxInFlightPerConnection 1). Default on. */
  readonly multiplex?: boolean | undefined
  /** One-shot statements in flight per connection (the Pool's maxInFlightPerConnection, default 64). */
  readonly multiplexConcurrency?: number | undefined
  /** `false` turns the statement cache off (statementCacheSize 0). */
  readonly prepare?: boolean | undefined
  readonly preparedStatementCacheSize?: number | undefined
  readonly maxMessageSize?: number | undefined
  /** effect-pg's own connection settings, merged over the fields above (sslrootcert, targetSessionAttrs, …). */
  readonly connect?: ConnectConfigInput | undefined
}

/** Settings with pool limits (the names of @effect/sql-pg's `PgPoolConfig`). */
export interface PgPoolConfig extends PgClientConfig {
  readonly idleTimeout?: Duration.Input | undefined
  readonly maxConnections?: number | undefined
  readonly minConnections?: number | undefined
  /** A connection's lifetime (the Pool's `maxLifetime`). */
  readonly connectionTTL?: Duration.Input | undefined
  /** The rest of effect-pg's Pool options (acquireTimeout, healthCheckAfter, resetOnRelease, …). */
  readonly pool?: Omit<PoolOptions, "connect"> | undefined
}

const refuse = (message: string): SqlError =>
  new SqlError({ reason: new UnknownError({ cause: new Error(message), message, operation: "config" }) })

const seconds = (input: Duration.Input): number | undefined => {
  const d = Duration.fromInput(input)
  return Option.isSome(d) ? Duration.toMillis(d.value) / 1000 : undefined
}

const defined = <A extends object>(record: A): A =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as A

/** The Pool's options for `config`, or the SqlError for a setting this driver does not support. */
export const poolOptions = (config: PgPoolConfig): PoolOptions | SqlError => {
  if (config.stream !== undefined) {
    return refuse(
      "PgClient: `stream` (a custom Duplex) is not supported by effect-pg/sql; effect-pg owns its sockets"
    )
  }
  if (config.ssl !== undefined && typeof config.ssl !== "boolean") {
    return refuse(
      "PgClient: `ssl` as Node TLS options is not supported; use `ssl: true`, or `connect: { sslmode, sslrootcert, sslcert, sslkey }`, or the URL's parameters"
    )
  }
  const connectTimeout =
    config.connectTimeout === undefined ? undefined : Duration.fromInput(config.connectTimeout)
  const keepAlive = config.keepAlive === undefined ? undefined : seconds(config.keepAlive)
  const connect: ConnectConfigInput = defined({
    url: config.url === undefined ? undefined : Redacted.value(config.url),
    host: config.path ?? config.host,
    port: config.port,
    database: config.database,
    user: config.username,
    password: config.password as ConnectConfigInput["password"],
    sslmode: config.ssl === undefined ? undefined : config.ssl ? "require" : "disable",
    applicationName: config.applicationName,
    connectTimeout:
      connectTimeout !== undefined && Option.isSome(connectTimeout) ? connectTimeout.value : undefined,
    keepalives: keepAlive === undefined ? undefined : true,
    keepalivesIdle: keepAlive === undefined ? undefined : Math.max(1, Math.round(keepAlive)),
    params: config.startupParameters,
    options: config.startupOptions,
    statementCacheSize: config.prepare === false ? 0 : config.preparedStatementCacheSize,
    maxMessageSize: config.maxMessageSize,
    ...config.connect
  })
  return defined({
    ...config.pool,
    connect,
    max: config.maxConnections ?? config.pool?.max,
    min: config.minConnections ?? config.pool?.min,
    idleTimeout: config.idleTimeout ?? config.pool?.idleTimeout,
    maxLifetime: config.connectionTTL ?? config.pool?.maxLifetime,
    maxInFlightPerConnection:
      config.multiplex === false ? 1 : (config.multiplexConcurrency ?? config.pool?.maxInFlightPerConnection)
  })
}

/** Where the client connects, as far as the config says it (for span attributes and pg_dump). */
export const target = (
  config: PgClientConfig
): {
  readonly host: string
  readonly port: number
  readonly database: string | undefined
  readonly user: string | undefined
} => {
  let url: URL | undefined
  if (config.url !== undefined) {
    try {
      url = new URL(Redacted.value(config.url))
    } catch {
      url = undefined
    }
  }
  const fromUrl = (value: string | undefined) =>
    value === undefined || value === "" ? undefined : decodeURIComponent(value)
  const database = config.database ?? fromUrl(url?.pathname.replace(/^\//, ""))
  const user = config.username ?? fromUrl(url?.username)
  return {
    host: config.host ?? config.path ?? fromUrl(url?.hostname) ?? "localhost",
    port: config.port ?? (url?.port ? Number(url.port) : 5432),
    database,
    user
  }
}

/** effect/sql's span attributes for this client (the names @effect/sql-pg uses). */
export const spanAttributes = (config: PgClientConfig): ReadonlyArray<readonly [string, unknown]> => {
  const t = target(config)
  return [
    ...(config.spanAttributes === undefined ? [] : Object.entries(config.spanAttributes)),
    ["db.system.name", "postgresql"],
    ["db.namespace", t.database ?? t.user ?? "postgres"],
    ["server.address", t.host],
    ["server.port", t.port]
  ]
}
