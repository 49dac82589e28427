/**
 * The normal API: the same operations as the Expert API, with one error type, `PgError`, whose
 * message names the SQL and parameters (truncated) and whose `cause` is the Expert error.
 *
 * It does NOT implement anything: it is the Expert implementation seen through the normal lift
 * (connection/api.ts `makeApi`, postgres_async's two views of one module).
 */
import { Context, Effect, Layer, type Scope } from "effect"
import type { ConnectInput } from "./config/ConnectConfig.ts"
import { PgConfig } from "./config/Layer.ts"
import { type Lift, makeApi, mapErrors } from "./connection/api.ts"
import { connectResolved } from "./connection/connect.ts"
import type { ConnectionApi, ExpertConnection } from "./connection/operations.ts"
import { type MessageLimits, PgError } from "./Errors.ts"
import { connect as connectExpert } from "./Expert.ts"

export type * from "./connection/publicTypes.ts"
export type { Status } from "./engine/state.ts"

/** A connection of the normal API. */
export type NormalConnection = ConnectionApi<PgError>

/** How much SQL and how many parameters a `PgError` message shows. */
export interface NormalOptions {
  readonly limits?: Partial<MessageLimits> | undefined
}

/** The normal lift: each Expert error becomes a `PgError` naming the SQL and parameters. */
export const normalLift = (options?: NormalOptions): Lift<PgError> => {
  const limits = options?.limits
  return mapErrors((e, { sql, params }) => PgError.fromExpert(e, { sql, params, limits }))
}

/** The normal view of an Expert connection (connection/api.ts `makeApi`). */
export const toNormal = (expert: ExpertConnection, options?: NormalOptions): NormalConnection =>
  makeApi(expert, normalLift(options))

/** The normal connection service. */
export class Connection extends Context.Service<Connection, NormalConnection>()("effect-pg/Connection") {}

/** A connection for the lifetime of the Layer. */
export const layer = (input: ConnectInput, options?: NormalOptions): Layer.Layer<Connection, PgError> =>
  Layer.effect(Connection, connect(input, options))

/** A connection configured by the `PgConfig` service (see `PgConfig.layerConfig`). */
export const layerFromPgConfig: Layer.Layer<Connection, PgError, PgConfig> = Layer.effect(
  Connection,
  Effect.gen(function* () {
    const config = yield* PgConfig
    const expert = yield* Effect.mapError(connectResolved(config), (e) => PgError.fromExpert(e))
    return toNormal(expert)
  })
)

/** Opens a connection that closes (gracefully) with the scope. */
export const connect = (
  input: ConnectInput,
  options?: NormalOptions
): Effect.Effect<NormalConnection, PgError, Scope.Scope> =>
  Effect.map(
    Effect.mapError(connectExpert(input), (e) => PgError.fromExpert(e)),
    (expert) => toNormal(expert, options)
  )

/** Opens a connection, runs `use`, and closes it whatever happens. */
export const withConnection = <A, E, R>(
  input: ConnectInput,
  use: (connection: NormalConnection) => Effect.Effect<A, E, R>,
  options?: NormalOptions
): Effect.Effect<A, E | PgError, Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.flatMap(connect(input, options), use))
