/**
 * Pool options: what a user may set, the defaults, and the checks that turn them into the
 * settings the pool runs with (`resolveOptions`), plus `poolConfig`, the same options read from
 * Effect's `Config`.
 *
 * It does NOT read the connection configuration (config/): `connect` is passed through as given.
 *
 * Invariants: resolved settings are whole milliseconds ≥ 0; `1 ≤ max`, `0 ≤ min ≤ max`,
 * `1 ≤ maxInFlightPerConnection`;
 * `lifetimeJitterMillis < maxLifetimeMillis`; a bad value is a `PgConfigError` (reason
 * InvalidValue, key `pool.<name>`), never a clamp.
 */
import { Config, Duration, Effect, Option } from "effect"
import { configError, type PgConfigError } from "../config/ConfigError.ts"
import {
  type ConnectInput,
  type TargetSessionAttrs,
  targetSessionAttrsValues
} from "../config/ConnectConfig.ts"
import type { ExpertConnection } from "../connection/operations.ts"
import { type PoolerMode, poolerModes } from "./pooler.ts"

/**
 * What to do to a connection when a borrower gives it back, after any open transaction was rolled
 * back: `"none"` (default), `"discard-all"` (`DISCARD ALL`: session settings, temporary tables,
 * prepared statements, LISTENs, advisory locks), or an Effect of your own. A reset that fails
 * retires the connection.
 */
export type ResetOnRelease<C = ExpertConnection> =
  | "none"
  | "discard-all"
  | ((connection: C) => Effect.Effect<void, unknown>)

export interface PoolOptions {
  /** How to connect: a URL, a key=value string, a `ConnectConfigInput` or a resolved `ConnectConfig`. */
  readonly connect: ConnectInput
  /** Connections kept open even when idle (default 0). */
  readonly min?: number | undefined
  /** At most this many connections, so at most this many borrowers at once (default 10). */
  readonly max?: number | undefined
  /**
   * One-shot statements (`query`, `queryExpectNoData`, `simpleQuery`, `notify` outside a
   * transaction) share connections: at most this many are in flight on one connection at once;
   * past that they wait in line (default 64; 1 runs one statement per connection at a time).
   */
  readonly maxInFlightPerConnection?: number | undefined
  /** How long a borrower waits for a connection before `PgPoolTimeoutError` (default 30 seconds). */
  readonly acquireTimeout?: Duration.Input | undefined
  /** An idle connection above `min` is closed after this long (default 10 minutes; "Infinity" never). */
  readonly idleTimeout?: Duration.Input | undefined
  /** A connection is retired after this long, minus a random jitter (default 30 minutes; "Infinity" never). */
  readonly maxLifetime?: Duration.Input | undefined
  /** Up to this much is taken off each connection's lifetime, at random (default a tenth of maxLifetime). */
  readonly lifetimeJitter?: Duration.Input | undefined
  /** A connection idle longer than this is checked with an empty query before it is handed out (default 10 seconds). */
  readonly healthCheckAfter?: Duration.Input | undefined
  /** How long the health check, the settle check and the reset may take (default 5 seconds). */
  readonly checkTimeout?: Duration.Input | undefined
  /** See {@link ResetOnRelease} (default "none"). */
  readonly resetOnRelease?: ResetOnRelease | undefined
  /** How often idle connections are examined for eviction and `min` is restored (default 1 second). */
  readonly maintenanceInterval?: Duration.Input | undefined
  /** How long closing the pool waits for borrowed connections to come back (default 5 seconds). */
  readonly shutdownTimeout?: Duration.Input | undefined
  /** The pool's name in metrics and spans (default "default"). */
  readonly name?: string | undefined
  /** `db.query.text` span attributes are cut to this many characters (default 1,000; 0 leaves them out). */
  readonly statementMaxLength?: number | undefined
  /** Record query parameters as the span attributes `db.query.parameter.<n>` (default false). */
  readonly traceParameters?: boolean | undefined
  /**
   * Replaces the connection's `target_session_attrs` for this pool, so one multi-host string
   * serves a writing pool (`read-write`) and a reading one (`prefer-standby`, `standby`). Besides
   * the check at connect, a pool whose target is not `any` or `prefer-standby` retires a
   * connection whose server stops fitting it (a promoted standby; reason `role`).
   */
  readonly targetSessionAttrs?: TargetSessionAttrs | undefined
  /**
   * Sample the server's role and replication lag once per maintenance tick (one statement on one
   * connection; `stats.replication` and the `effect_pg.pool.replication.*` gauges). Default: on
   * when the pool's target_session_attrs is not `any`.
   */
  readonly monitorReplication?: boolean | undefined
  /**
   * What the connections go through (default "none"). "transaction" (PgBouncer's transaction
   * mode): the statement cache is off and `prepare`, LISTEN, session SET and session advisory
   * locks are refused with PgConfigError before anything is sent (pool/pooler.ts). "session"
   * (PgBouncer's session mode) changes nothing.
   */
  readonly pooler?: PoolerMode | undefined
}

/**
 * The options after defaults and checks. Durations in milliseconds, `Infinity` for never. `C` is
 * the connection the reset receives (the pool's state machine works on any `PoolConnection`).
 */
export interface PoolSettings<C = ExpertConnection> {
  readonly connect: ConnectInput
  readonly min: number
  readonly max: number
  readonly maxInFlightPerConnection: number
  readonly acquireTimeoutMillis: number
  readonly idleTimeoutMillis: number
  readonly maxLifetimeMillis: number
  readonly lifetimeJitterMillis: number
  readonly healthCheckAfterMillis: number
  readonly checkTimeoutMillis: number
  readonly resetOnRelease: ResetOnRelease<C>
  readonly maintenanceIntervalMillis: number
  readonly shutdownTimeoutMillis: number
  readonly name: string
  readonly statementMaxLength: number
  readonly traceParameters: boolean
  /** undefined: the connection's target_session_attrs. */
  readonly targetSessionAttrs: TargetSessionAttrs | undefined
  /** undefined until the pool is made (machine.ts: on when the target is not `any`). */
  readonly monitorReplication: boolean | undefined
  readonly pooler: PoolerMode
}

const invalid = (key: string, message: string): PgConfigError =>
  configError("InvalidValue", message, { key: `pool.${key}` })

const millis = (
  key: string,
  input: Duration.Input | undefined,
  fallback: number
): Effect.Effect<number, PgConfigError> => {
  if (input === undefined) return Effect.succeed(fallback)
  const decoded = Duration.fromInput(input)
  if (Option.isNone(decoded)) return Effect.fail(invalid(key, `pool option ${key} is not a duration`))
  const value = Duration.toMillis(decoded.value)
  if (!(value >= 0)) return Effect.fail(invalid(key, `pool option ${key} must not be negative`))
  return Effect.succeed(value === Infinity ? Infinity : Math.round(value))
}

const count = (
  key: string,
  input: number | undefined,
  fallback: number,
  least: number
): Effect.Effect<number, PgConfigError> => {
  if (input === undefined) return Effect.succeed(fallback)
  if (!Number.isInteger(input) || input < least) {
    return Effect.fail(invalid(key, `pool option ${key} must be an integer ≥ ${least}; got ${String(input)}`))
  }
  return Effect.succeed(input)
}

const fail = (key: string, message: string) => Effect.fail(invalid(key, `pool option ${message}`))

/** Checks the options and fills in the defaults. */
export const resolveOptions = (options: PoolOptions): Effect.Effect<PoolSettings, PgConfigError> =>
  Effect.gen(function* () {
    const max = yield* count("max", options.max, 10, 1)
    const min = yield* count("min", options.min, 0, 0)
    const maxInFlightPerConnection = yield* count(
      "maxInFlightPerConnection",
      options.maxInFlightPerConnection,
      64,
      1
    )
    if (min > max) return yield* fail("min", `min (${min}) exceeds max (${max})`)
    const maxLifetimeMillis = yield* millis("maxLifetime", options.maxLifetime, 1_800_000)
    if (maxLifetimeMillis === 0) return yield* fail("maxLifetime", "maxLifetime must be positive")
    const defaultJitter = maxLifetimeMillis === Infinity ? 0 : Math.floor(maxLifetimeMillis / 10)
    const lifetimeJitterMillis = yield* millis("lifetimeJitter", options.lifetimeJitter, defaultJitter)
    if (lifetimeJitterMillis >= maxLifetimeMillis) {
      return yield* fail("lifetimeJitter", "lifetimeJitter must be shorter than maxLifetime")
    }
    const checkTimeoutMillis = yield* millis("checkTimeout", options.checkTimeout, 5_000)
    if (checkTimeoutMillis === 0) return yield* fail("checkTimeout", "checkTimeout must be positive")
    const maintenanceIntervalMillis = yield* millis("maintenanceInterval", options.maintenanceInterval, 1_000)
    if (maintenanceIntervalMillis === 0 || maintenanceIntervalMillis === Infinity) {
      return yield* fail("maintenanceInterval", "maintenanceInterval must be a positive, finite duration")
    }
    const resetOnRelease = options.resetOnRelease ?? "none"
    if (
      resetOnRelease !== "none" &&
      resetOnRelease !== "discard-all" &&
      typeof resetOnRelease !== "function"
    ) {
      return yield* fail("resetOnRelease", 'resetOnRelease must be "none", "discard-all" or a function')
    }
    const name = options.name ?? "default"
    if (name === "") return yield* fail("name", "name must not be empty")
    const pooler = options.pooler ?? "none"
    if (!poolerModes.includes(pooler))
      return yield* fail("pooler", 'pooler must be "none", "session" or "transaction"')
    const target = options.targetSessionAttrs
    if (target !== undefined && !targetSessionAttrsValues.includes(target)) {
      return yield* fail(
        "targetSessionAttrs",
        `targetSessionAttrs must be one of ${targetSessionAttrsValues.join(", ")}`
      )
    }
    return {
      connect: options.connect,
      min,
      max,
      maxInFlightPerConnection,
      acquireTimeoutMillis: yield* millis("acquireTimeout", options.acquireTimeout, 30_000),
      idleTimeoutMillis: yield* millis("idleTimeout", options.idleTimeout, 600_000),
      maxLifetimeMillis,
      lifetimeJitterMillis,
      healthCheckAfterMillis: yield* millis("healthCheckAfter", options.healthCheckAfter, 10_000),
      checkTimeoutMillis,
      resetOnRelease,
      maintenanceIntervalMillis,
      shutdownTimeoutMillis: yield* millis("shutdownTimeout", options.shutdownTimeout, 5_000),
      name,
      statementMaxLength: yield* count("statementMaxLength", options.statementMaxLength, 1_000, 0),
      traceParameters: options.traceParameters ?? false,
      targetSessionAttrs: target,
      monitorReplication: options.monitorReplication,
      pooler
    }
  })

/** The pool options that can come from a ConfigProvider (everything but `connect` and a reset function). */
export type PoolConfigOptions = Omit<PoolOptions, "connect" | "resetOnRelease"> & {
  readonly resetOnRelease?: "none" | "discard-all" | undefined
}

const optional = <A>(config: Config.Config<A>) => Config.map(Config.option(config), Option.getOrUndefined)

/**
 * The pool options read through the current ConfigProvider, under keys named like the fields
 * (`min`, `max`, `maxInFlightPerConnection`, `acquireTimeout`, `idleTimeout`, `maxLifetime`, `lifetimeJitter`, `healthCheckAfter`,
 * `checkTimeout`, `resetOnRelease`, `maintenanceInterval`, `shutdownTimeout`, `name`,
 * `statementMaxLength`, `traceParameters`, `targetSessionAttrs`, `monitorReplication`, `pooler`), all optional. Nest it for a prefix:
 * `Config.nested(poolConfig, "pool")`.
 */
export const poolConfig: Config.Config<PoolConfigOptions> = Config.all({
  min: optional(Config.Int("min")),
  max: optional(Config.Int("max")),
  maxInFlightPerConnection: optional(Config.Int("maxInFlightPerConnection")),
  acquireTimeout: optional(Config.Duration("acquireTimeout")),
  idleTimeout: optional(Config.Duration("idleTimeout")),
  maxLifetime: optional(Config.Duration("maxLifetime")),
  lifetimeJitter: optional(Config.Duration("lifetimeJitter")),
  healthCheckAfter: optional(Config.Duration("healthCheckAfter")),
  checkTimeout: optional(Config.Duration("checkTimeout")),
  resetOnRelease: optional(Config.Literals(["none", "discard-all"], "resetOnRelease")),
  maintenanceInterval: optional(Config.Duration("maintenanceInterval")),
  shutdownTimeout: optional(Config.Duration("shutdownTimeout")),
  name: optional(Config.String("name")),
  statementMaxLength: optional(Config.Int("statementMaxLength")),
  traceParameters: optional(Config.Boolean("traceParameters")),
  targetSessionAttrs: optional(Config.Literals(targetSessionAttrsValues, "targetSessionAttrs")),
  monitorReplication: optional(Config.Boolean("monitorReplication")),
  pooler: optional(Config.Literals(poolerModes, "pooler"))
})
