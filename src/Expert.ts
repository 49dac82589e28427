/**
 * The Expert API: connections whose error channel is the union `PgExpertError` of rich tagged
 * errors (every ErrorResponse field, SQLSTATE, whether the statement may have run). This is the
 * one implementation; `Connection.ts` exposes the same operations with the single `PgError`.
 *
 * It does NOT add behaviour of its own: it names the service, the scoped `connect` and the Layer.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import type { ConnectInput } from "./config/ConnectConfig.ts"
import { PgConfig } from "./config/Layer.ts"
import { type ConnectError, connect as connectInternal, connectResolved } from "./connection/connect.ts"
import type { ConnectionApi, ExpertConnection as ExpertConnectionShape } from "./connection/operations.ts"
import type { PgExpertError } from "./Errors.ts"

export type { ConnectError } from "./connection/connect.ts"
export type * from "./connection/publicTypes.ts"

/** The Expert connection service: the operations with `PgExpertError` in the error channel. */
export class ExpertConnection extends Context.Service<ExpertConnection, ConnectionApi<PgExpertError>>()(
  "effect-pg/ExpertConnection"
) {}

/** A connection for the lifetime of the Layer. */
export const layer = (input: ConnectInput): Layer.Layer<ExpertConnection, PgExpertError> =>
  Layer.effect(ExpertConnection, connect(input))

/** A connection configured by the `PgConfig` service (see `PgConfig.layerConfig`). */
export const layerFromPgConfig: Layer.Layer<ExpertConnection, PgExpertError, PgConfig> = Layer.effect(
  ExpertConnection,
  Effect.gen(function* () {
    return yield* connectResolved(yield* PgConfig)
  })
)

/** Opens a connection that closes (gracefully) with the scope. */
export const connect = (
  input: ConnectInput
): Effect.Effect<ExpertConnectionShape, ConnectError, Scope.Scope> => connectInternal(input)

/** Opens a connection, runs `use`, and closes it whatever happens. */
export const withConnection = <A, E, R>(
  input: ConnectInput,
  use: (connection: ExpertConnectionShape) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | ConnectError, Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.flatMap(connect(input), use))
