/**
 * The connection pool as Effect services: `Pool` (the normal view: connections of the normal API,
 * errors `PgError` plus the pool's own) and `ExpertPool` (Expert connections, the rich error union).
 * Both views of one pool share its connections, metrics and current transaction; every Layer here
 * provides both.
 *
 * ```ts
 * import { Pool } from "effect-pg"
 * const PoolLive = Pool.layer({ connect: "postgres://app@db/app", max: 20 })
 * const program = Effect.gen(function* () {
 *   const pool = yield* Pool.Pool
 *   const { rows } = yield* pool.query("select $1::int + 1", ["41"])
 *   yield* pool.withTransaction((tx) => tx.query("insert into t values (1)"))
 * })
 * ```
 *
 * Connections come from the `PoolConnector` service (a `Context.Reference` whose default dials
 * real servers); provide another around `make` or a Layer to run a pool on fake connections.
 *
 * What it does NOT do: implement pooling (pool/machine.ts and the modules it assembles), the
 * operations (pool/api.ts), or parse connection settings (config/). See docs/pool.md and
 * docs/decisions/007-own-pool.md, 014-pool-connection-factory.md.
 *
 * Read scaling (decision 020): `layerRead` makes a second pool, provided as `ReadPool` /
 * `ExpertReadPool`, from the same host list with `targetSessionAttrs: "prefer-standby"` (unless
 * given), so reads go to standbys and writes, through `Pool`, where the list says.
 *
 * Invariants: a Layer's pool lives exactly as long as the Layer; closing it fails the waiting
 * borrowers and statements, closes idle connections at once and borrowed or shared ones when they
 * come back or drain (or after `shutdownTimeout`).
 */
import { Config, Context, Effect, Layer, type Scope } from "effect"
import { type NormalConnection, normalLift } from "./Connection.ts"
import type { PgConfigError } from "./config/ConfigError.ts"
import type { ConnectConfig } from "./config/ConnectConfig.ts"
import { connectConfig, PgConfig } from "./config/Layer.ts"
import { expertLift, identityLift } from "./connection/api.ts"
import type { ExpertConnection } from "./connection/operations.ts"
import { makePoolApi, makeShared, type PoolApi } from "./pool/api.ts"
import { PoolConnector } from "./pool/connector.ts"
import { normalPoolLift, type PgPoolExpertError, type PgPoolNormalError } from "./pool/errors.ts"
import { makeMachine } from "./pool/machine.ts"
import { type PoolConfigOptions, type PoolOptions, poolConfig, resolveOptions } from "./pool/options.ts"
import { guardLift } from "./pool/pooler.ts"

export { isPgPoolExpertError, PgPoolExpertError } from "./errors/PgPoolErrors.ts"
export type { PoolApi } from "./pool/api.ts"
export {
  dialConnector,
  type PoolConnection,
  PoolConnector,
  type PoolConnectorService,
  type PooledConnection
} from "./pool/connector.ts"
export {
  isPgPoolError,
  type PgPoolError,
  type PgPoolNormalError,
  PgPoolTimeoutError,
  PgTransactionError,
  PgTransactionErrorReason
} from "./pool/errors.ts"
export { type CloseReason, poolMetrics } from "./pool/metrics.ts"
export type { PoolConfigOptions, PoolOptions, ResetOnRelease } from "./pool/options.ts"
export { poolConfig } from "./pool/options.ts"
export type { PoolerMode } from "./pool/pooler.ts"
export type { IsolationLevel, TransactionOptions } from "./pool/transaction.ts"
export type { PoolStats, ReplicationSample } from "./pool/types.ts"

/** The normal pool: normal connections, `PgError` (its `cause` may be a pool error too). */
export type NormalPool = PoolApi<PgPoolNormalError, NormalConnection>

/** The Expert pool: Expert connections, the Expert error union plus the pool's errors. */
export type ExpertPoolApi = PoolApi<PgPoolExpertError, ExpertConnection>

/** Both views of one pool. */
export interface Pools {
  readonly pool: NormalPool
  readonly expert: ExpertPoolApi
}

/**
 * Makes a pool that lives as long as the scope; both views. Its connections come from the
 * {@link PoolConnector} of the context this runs in.
 */
export const make = (options: PoolOptions): Effect.Effect<Pools, PgConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = yield* resolveOptions(options)
    const shared = makeShared(yield* makeMachine(settings, yield* PoolConnector))
    const mode = settings.pooler
    const expert = makePoolApi(shared, {
      lift: guardLift(identityLift<PgPoolExpertError>(), mode),
      connection: guardLift(expertLift, mode)
    })
    const pool = makePoolApi(shared, {
      lift: guardLift(normalPoolLift, mode),
      connection: guardLift(normalLift(), mode)
    })
    return { pool, expert }
  })

const layerFrom = <E, R>(
  pools: Effect.Effect<Pools, E, R | Scope.Scope>
): Layer.Layer<Pool | ExpertPool, E, Exclude<R, Scope.Scope>> =>
  Layer.effectContext(
    Effect.map(pools, ({ pool, expert }) => Context.make(Pool, pool).pipe(Context.add(ExpertPool, expert)))
  )

/** The Expert view of the pool. */
export class ExpertPool extends Context.Service<ExpertPool, ExpertPoolApi>()("effect-pg/ExpertPool") {}

/** The connection pool (normal view). Its Layers also provide {@link ExpertPool}. */
export class Pool extends Context.Service<Pool, NormalPool>()("effect-pg/Pool") {}

/** The Expert view of the read pool ({@link layerRead}). */
export class ExpertReadPool extends Context.Service<ExpertReadPool, ExpertPoolApi>()(
  "effect-pg/ExpertReadPool"
) {}

/**
 * A pool for read-only work on standbys ({@link layerRead}), next to the {@link Pool} for writes.
 * Its Layer also provides {@link ExpertReadPool}.
 */
export class ReadPool extends Context.Service<ReadPool, NormalPool>()("effect-pg/ReadPool") {}

/** A pool with these options, for the lifetime of the Layer. */
export const layer = (options: PoolOptions): Layer.Layer<Pool | ExpertPool, PgConfigError> =>
  layerFrom(make(options))

/**
 * The read pool: a pool with these options as {@link ReadPool} and {@link ExpertReadPool}, with
 * `targetSessionAttrs` "prefer-standby" (a standby when one is up, else any server) and the name
 * "read" unless given. Give it the same host list as the writing {@link layer} (whose connect
 * string says `target_session_attrs=read-write`, or whose `targetSessionAttrs` does). Use
 * "standby" to keep reads off the primary altogether: its statements then fail with the connect
 * error while no standby is up, and a promoted standby's connections are retired (reason
 * `role`). Its maintenance samples the replication lag (`stats.replication`, the
 * `effect_pg.pool.replication.*` gauges). See docs/ha.md.
 */
export const layerRead = (options: PoolOptions): Layer.Layer<ReadPool | ExpertReadPool, PgConfigError> =>
  Layer.effectContext(
    Effect.map(
      make({
        ...options,
        name: options.name ?? "read",
        targetSessionAttrs: options.targetSessionAttrs ?? "prefer-standby"
      }),
      ({ pool, expert }) => Context.make(ReadPool, pool).pipe(Context.add(ExpertReadPool, expert))
    )
  )

/**
 * A pool whose connection comes from the `PgConfig` service and whose options are given here
 * (`connect` is taken from `PgConfig`).
 */
export const layerFromPgConfig = (
  options?: Omit<PoolOptions, "connect">
): Layer.Layer<Pool | ExpertPool, PgConfigError, PgConfig> =>
  layerFrom(Effect.flatMap(Effect.service(PgConfig), (connect) => make({ ...options, connect })))

/**
 * A pool configured through the ConfigProvider. The connection as {@link connectConfig} reads
 * it: with no `prefix`, from `PG_URL` or `DATABASE_URL` and the PG* variables (as the CLI and
 * libpq do); with `prefix: "db"`, from the keys under `db` (`db.url`, `db.host`, ...). The pool
 * options under `pool` (or `db.pool`: `pool.max`, `pool.acquireTimeout`, ...). `connect` and
 * `pool` replace either Config.
 */
export const layerConfig = (options?: {
  readonly prefix?: string | undefined
  readonly connect?: Config.Config<ConnectConfig> | undefined
  readonly pool?: Config.Config<PoolConfigOptions> | undefined
}): Layer.Layer<Pool | ExpertPool, Config.ConfigError | PgConfigError> =>
  layerFrom(
    Effect.gen(function* () {
      const prefix = options?.prefix
      const connect = yield* options?.connect ?? connectConfig({ prefix })
      const nested = Config.nested(poolConfig, "pool")
      const pool = yield* options?.pool ?? (prefix === undefined ? nested : Config.nested(nested, prefix))
      return yield* make({ ...pool, connect })
    })
  )
