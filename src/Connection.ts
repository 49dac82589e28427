/**
 * The normal API: the same operations as the Expert API, with one error type, `PgError`, whose
 * message names the SQL and parameters (truncated) and whose `cause` is the Expert error.
 *
 * It does NOT implement anything: every operation delegates to the Expert implementation and
 * maps the error (postgres_async's two views of one module).
 */
import { Context, Effect, Layer, type Scope, Stream } from "effect"
import type { ConnectInput } from "./config/ConnectConfig.ts"
import { PgConfig } from "./config/Layer.ts"
import { connectResolved } from "./connection/connect.ts"
import type { ConnectionApi, ExpertConnection, Param } from "./connection/operations.ts"
import { type ErrorContext, isPgExpertError, type MessageLimits, PgError } from "./Errors.ts"
import { connect as connectExpert } from "./Expert.ts"

export type { ConnectionApi, Param } from "./connection/operations.ts"
export type { Status } from "./engine/state.ts"

/** A connection of the normal API. */
export type NormalConnection = ConnectionApi<PgError>

/** How much SQL and how many parameters a `PgError` message shows. */
export interface NormalOptions {
  readonly limits?: Partial<MessageLimits> | undefined
}

/** The normal view of an Expert connection. */
export const toNormal = (expert: ExpertConnection, options?: NormalOptions): NormalConnection => {
  const limits = options?.limits
  const wrap = (sql?: string, params?: ReadonlyArray<Param>): ((e: ExpertError) => PgError) => {
    const context: ErrorContext = { sql, params, limits }
    return (e) => PgError.fromExpert(e, context)
  }
  return {
    query: (sql, params, options) => Effect.mapError(expert.query(sql, params, options), wrap(sql, params)),
    queryExpectNoData: (sql, params, options) =>
      Effect.mapError(expert.queryExpectNoData(sql, params, options), wrap(sql, params)),
    stream: (sql, params) => Stream.mapError(expert.stream(sql, params), wrap(sql, params)),
    streamWithColumns: (sql, params) =>
      Effect.map(
        Effect.mapError(expert.streamWithColumns(sql, params), wrap(sql, params)),
        ({ columns, rows }) => ({
          columns,
          rows: Stream.mapError(rows, wrap(sql, params))
        })
      ),
    simpleQuery: (sql, options) => Effect.mapError(expert.simpleQuery(sql, options), wrap(sql)),
    close: expert.close,
    closeWith: expert.closeWith,
    closeFinished: Effect.mapError(expert.closeFinished, wrap()),
    status: expert.status,
    statusChanges: expert.statusChanges,
    notices: expert.notices,
    parameters: expert.parameters,
    parameter: expert.parameter,
    serverVersion: expert.serverVersion,
    serverVersionNum: expert.serverVersionNum,
    processId: expert.processId,
    secretKey: expert.secretKey,
    protocolMinor: expert.protocolMinor,
    transactionStatus: expert.transactionStatus,
    pending: expert.pending,
    copyIn: (sql, source) => Effect.mapError(expert.copyIn(sql, source), normalize(sql)),
    copyInFeed: (sql, feed) => Effect.mapError(expert.copyInFeed(sql, feed), normalize(sql)),
    copyInRows: (target, rows) =>
      Effect.mapError(expert.copyInRows(target, rows), normalize(`COPY ${target.table}`)),
    copyOut: (sql) => Stream.mapError(expert.copyOut(sql), wrap(sql)),
    copyOutRows: (sql) => Stream.mapError(expert.copyOutRows(sql), wrap(sql)),
    listen: (channel) =>
      Effect.map(Effect.mapError(expert.listen(channel), wrap(`LISTEN ${channel}`)), (stream) =>
        Stream.mapError(stream, wrap(`LISTEN ${channel}`))
      ),
    notify: (channel, payload) =>
      Effect.mapError(expert.notify(channel, payload), wrap("NOTIFY", [channel, payload ?? ""])),
    cancel: Effect.mapError(expert.cancel, wrap()),
    heartbeat: (options) => Effect.mapError(expert.heartbeat(options), wrap())
  }
  /** Maps Expert errors to PgError and leaves the source's own errors alone. */
  function normalize(sql: string) {
    return <E2>(e: ExpertError | E2): PgError | E2 => (isPgExpertError(e) ? wrap(sql)(e) : e)
  }
}

type ExpertError = Parameters<typeof PgError.fromExpert>[0]

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
