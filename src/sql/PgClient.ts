/**
 * `PgClient`: effect/sql's `SqlClient` driven by effect-pg, with the entry points of
 * @effect/sql-pg (`layer`, `layerConfig`, `make`, `layerFrom`, `makeCompiler`), so switching is
 * an import change, and effect-pg's extras: `listen` as a Stream, `notify`, `json`, COPY in and
 * out, cursors, the effect-pg connection itself (notices, prepare, pipeline) and the Pool.
 *
 * ```ts
 * import { PgClient } from "effect-pg/sql"
 * import { SqlClient } from "effect/sql"
 * const SqlLive = PgClient.layer({ url: Redacted.make("postgres://app@db/app") })
 * const program = Effect.gen(function* () {
 *   const sql = yield* SqlClient.SqlClient
 *   yield* sql.withTransaction(sql`insert into people ${sql.insert({ name: "Ada" })}`)
 * })
 * ```
 *
 * Built over effect-pg's Pool: statements outside a transaction take the Pool's pipelined
 * one-shot path (no borrow, effect/sql's `borrower`); streams, `reserve` and transactions hold a
 * connection; `withTransaction` is the Pool's (transaction.ts). Statements are compiled by
 * effect's `Statement.makeCompiler` (`$n` placeholders, `"` identifiers); values are encoded and
 * decoded by effect-pg's codec registry (`types`), rows are typed objects.
 *
 * It does NOT implement the wire protocol or pooling (effect-pg does), nor migrations
 * (PgMigrator.ts).
 */
import { Config, Context, Effect, Layer, type Scope, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Client from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import * as Statement from "effect/sql/Statement"
import type { NormalConnection } from "../Connection.ts"
import type { CopyTarget, Notification } from "../connection/operations.ts"
import { TypeRegistry } from "../connection/typeRegistry.ts"
import { isPgError, type PgError } from "../Errors.ts"
import * as Pool from "../Pool.ts"
import type { CommandComplete, Notice } from "../Result.ts"
import { type PgClientConfig, type PgPoolConfig, poolOptions, spanAttributes } from "./config.ts"
import { connectionSource, makeConnection, poolSource } from "./connection.ts"
import { toSqlError } from "./errors.ts"
import { makeTransactions } from "./transaction.ts"

export type { PgClientConfig, PgPoolConfig } from "./config.ts"

export const TypeId: TypeId = "~effect-pg/sql/PgClient"
export type TypeId = "~effect-pg/sql/PgClient"

/** A PostgreSQL `SqlClient` over effect-pg. */
export interface PgClient extends Client.SqlClient {
  readonly [TypeId]: TypeId
  readonly config: PgPoolConfig
  /** The effect-pg Pool under this client (its transactions are this client's). */
  readonly pool: Pool.NormalPool
  /** A JSON value as a parameter (sent as JSON text; json and jsonb columns read it). */
  readonly json: (value: unknown) => Statement.Fragment
  /** LISTEN on `channel` while the stream runs (it holds a connection); effect-pg's notifications. */
  readonly listen: (channel: string) => Stream.Stream<Notification, SqlError>
  /** NOTIFY `channel` (any channel name), on the one-shot path or the current transaction. */
  readonly notify: (channel: string, payload: string) => Effect.Effect<void, SqlError>
  /** `COPY … FROM STDIN` fed from a Stream of bytes (COPY's text or CSV format, as `sql` says). */
  readonly copyIn: <E, R>(
    sql: string,
    source: Stream.Stream<Uint8Array, E, R>
  ) => Effect.Effect<CommandComplete, SqlError | E, R>
  /** Rows of text (null for NULL) into `target`'s columns, quoted for COPY's text format. */
  readonly copyInRows: <E, R>(
    target: CopyTarget,
    rows: Stream.Stream<ReadonlyArray<string | null>, E, R>
  ) => Effect.Effect<CommandComplete, SqlError | E, R>
  /** `COPY … TO STDOUT` as a Stream of bytes, pulled with backpressure. */
  readonly copyOut: (sql: string) => Stream.Stream<Uint8Array, SqlError>
  /** `COPY … TO STDOUT` (text format) as rows of text. */
  readonly copyOutRows: (sql: string) => Stream.Stream<ReadonlyArray<string | null>, SqlError>
  /**
   * A statement's rows read through a portal in windows of `window` rows (default 100), asked for
   * as the consumer pulls; the client's row transform applies.
   */
  readonly cursor: <A extends object = Record<string, unknown>>(
    statement: Statement.Fragment,
    options?: { readonly window?: number | undefined }
  ) => Stream.Stream<A, SqlError>
  /** An effect-pg connection until the scope closes (the transaction's, inside one). */
  readonly connection: Effect.Effect<NormalConnection, SqlError, Scope.Scope>
  /** The server's notices (NoticeResponse) of statements run by `use` on one connection. */
  readonly withNotices: <A, E, R>(
    use: (connection: NormalConnection, notices: Stream.Stream<Notice>) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | SqlError, R>
  /** `withTransaction` with an isolation level, read-only or deferrable mode (outermost only). */
  readonly withTransactionOptions: (
    options: Pool.TransactionOptions
  ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
}

/** The service; its Layers also provide `SqlClient`. */
export const PgClient = Context.Service<PgClient>("effect-pg/sql/PgClient")

let clients = 0

const sqlStream = <A>(stream: Stream.Stream<A, PgError>, operation: string): Stream.Stream<A, SqlError> =>
  Stream.mapError(stream, (error) => toSqlError(error, operation))

/** Maps effect-pg's errors (and only those: a COPY source's own error passes) to SqlError. */
const sqlOnly = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  operation: string
): Effect.Effect<A, SqlError | Exclude<E, PgError>, R> =>
  Effect.mapError(effect, (error) =>
    isPgError(error) ? toSqlError(error, operation) : error
  ) as Effect.Effect<A, SqlError | Exclude<E, PgError>, R>

/** A client over a pool made from `options`, for the scope's lifetime. */
export const make = (
  options: PgPoolConfig
): Effect.Effect<PgClient, SqlError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function* () {
    const resolved = poolOptions(options)
    if (!("connect" in resolved)) return yield* Effect.fail(resolved)
    let made = Pool.make(resolved)
    if (options.types !== undefined) {
      made = Effect.provideService(made, TypeRegistry, { results: "typed", registry: options.types })
    }
    const { pool } = yield* Effect.mapError(made, (error) => toSqlError(error, "connect"))
    return yield* makeFromPool(pool, options)
  })

/** A client over an existing effect-pg Pool (its Layer's, say): shares its connections and transactions. */
export const makeFromPool = (
  pool: Pool.NormalPool,
  config: PgPoolConfig = {}
): Effect.Effect<PgClient, never, Reactivity.Reactivity> =>
  Effect.gen(function* () {
    const compiler = makeCompiler(config.transformQueryNames, config.transformJson)
    const transformRows =
      config.transformResultNames === undefined
        ? undefined
        : Statement.defaultTransforms(config.transformResultNames, config.transformJson).array
    const attributes = spanAttributes(config)
    const wrap = (connection: NormalConnection) => makeConnection(connectionSource(connection))
    const oneShot = makeConnection(poolSource(pool))
    const acquirer = Effect.map(
      Effect.mapError(pool.connection, (error) => toSqlError(error, "acquire")),
      wrap
    )
    const transactionService = Context.Service<
      Client.TransactionConnection,
      Client.TransactionConnection.Service
    >(`effect-pg/sql/TransactionConnection/${clients++}`)
    const client = yield* Client.make({
      acquirer,
      borrower: (f) => f(oneShot),
      transactionAcquirer: acquirer,
      compiler,
      driver: "effect-pg",
      spanAttributes: attributes,
      transactionService,
      transformRows
    })
    const transactions = makeTransactions({ pool, transactionService, spanAttributes: attributes, wrap })
    const extras: Omit<PgClient, keyof Client.SqlClient> &
      Pick<Client.SqlClient, "withTransaction" | "afterCommit"> = {
      [TypeId]: TypeId,
      config,
      pool,
      withTransaction: transactions.withTransaction(),
      withTransactionOptions: transactions.withTransaction,
      afterCommit: transactions.afterCommit,
      json: (value) => Statement.fragment([PgJson(value, undefined, undefined)]),
      listen: (channel) =>
        Stream.unwrap(Effect.map(pool.listen(channel), (s) => sqlStream(s, "listen"))).pipe(
          Stream.mapError((error) => toSqlError(error, "listen"))
        ),
      notify: (channel, payload) =>
        Effect.mapError(pool.notify(channel, payload), (e) => toSqlError(e, "notify")),
      copyIn: (sql, source) => sqlOnly(pool.copyIn(sql, source), "copyIn"),
      copyInRows: (target, rows) => sqlOnly(pool.copyInRows(target, rows), "copyIn"),
      copyOut: (sql) => sqlStream(pool.copyOut(sql), "copyOut"),
      copyOutRows: (sql) => sqlStream(pool.copyOutRows(sql), "copyOut"),
      cursor: <A extends object>(
        statement: Statement.Fragment,
        options?: { readonly window?: number | undefined }
      ) => {
        const [sql, params] = compiler.compile(statement, false)
        const rows = Stream.unwrap(
          Effect.map(pool.connection, (c) => c.cursor(sql, params as never, { window: options?.window }))
        )
        const mapped = sqlStream(rows, "cursor") as Stream.Stream<A, SqlError>
        return transformRows === undefined
          ? mapped
          : Stream.mapArray(mapped, (batch) => transformRows(batch) as typeof batch)
      },
      connection: Effect.mapError(pool.connection, (error) => toSqlError(error, "acquire")),
      withNotices: (use) =>
        sqlOnly(
          pool.withConnection((c) => use(c, c.notices)),
          "acquire"
        ) as never
    }
    return Object.assign(client, extras) as PgClient
  })

/** Provides `PgClient` and `SqlClient` from an Effect that makes a client (Reactivity included). */
export const layerFrom = <E, R>(
  acquire: Effect.Effect<PgClient, E, R>
): Layer.Layer<PgClient | Client.SqlClient, E, Exclude<R, Scope.Scope | Reactivity.Reactivity>> =>
  Layer.effectContext(
    Effect.map(acquire, (client) =>
      Context.make(PgClient, client).pipe(Context.add(Client.SqlClient, client))
    )
  ).pipe(Layer.provide(Reactivity.layer)) as never

/** A client layer from settings. */
export const layer = (config: PgPoolConfig): Layer.Layer<PgClient | Client.SqlClient, SqlError> =>
  layerFrom(make(config))

/** A client layer from settings read through the ConfigProvider (`Config.Wrap`, as @effect/sql-pg). */
export const layerConfig = (
  config: Config.Wrap<PgPoolConfig>
): Layer.Layer<PgClient | Client.SqlClient, Config.ConfigError | SqlError> =>
  layerFrom(Effect.flatMap(Config.unwrap(config), make))

/** A client over the `Pool.Pool` of the context (one pool for effect-pg and effect/sql code). */
export const layerFromPool = (
  config?: PgClientConfig
): Layer.Layer<PgClient | Client.SqlClient, never, Pool.Pool> =>
  layerFrom(Effect.flatMap(Effect.service(Pool.Pool), (pool) => makeFromPool(pool, config)))

/** PostgreSQL JSON as a statement fragment. */
interface PgJson extends Statement.Custom<"PgJson", unknown> {}
const PgJson = Statement.custom<PgJson>("PgJson")

export type PgCustom = PgJson

const quoteName = Statement.defaultEscape('"')

/**
 * The PostgreSQL compiler: `$n` placeholders, identifiers quoted with `"` (after
 * `transform` when given), `updateValues` as `(values …) AS alias(columns)`, JSON fragments as
 * one JSON text parameter (names transformed inside when `transformJson`).
 */
export const makeCompiler = (
  transform?: (name: string) => string,
  transformJson = true
): Statement.Compiler => {
  const transformValue =
    transformJson && transform !== undefined ? Statement.defaultTransforms(transform).value : undefined
  return Statement.makeCompiler<PgCustom>({
    dialect: "pg",
    placeholder: (index) => `$${index}`,
    onIdentifier:
      transform === undefined
        ? quoteName
        : (value, withoutTransform) => (withoutTransform ? quoteName(value) : quoteName(transform(value))),
    onRecordUpdate: (placeholders, alias, columns, values, returning) => [
      `(values ${placeholders}) AS ${alias}${columns}${returning ? ` RETURNING ${returning[0]}` : ""}`,
      returning ? [...values.flat(), ...returning[1]] : values.flat()
    ],
    onCustom: (type, placeholder, withoutTransform) => {
      const value =
        withoutTransform || transformValue === undefined ? type.paramA : transformValue(type.paramA)
      return [placeholder(undefined), [value === undefined ? null : JSON.stringify(value)]]
    }
  })
}
