/**
 * The operations of a connection, written once and generic in the error type (postgres_async's
 * `module type S`, instantiated twice): `ConnectionApi<E>` is the interface, and `makeApi(expert,
 * lift)` is the one mapping from the Expert implementation (operations.ts, errors
 * `PgExpertError`) to any view of it. A `Lift` says what a view does around each operation,
 * given the operation's name, SQL and parameters: the normal API maps errors to `PgError`
 * (Connection.ts), the pool adds spans and its own error view (pool/), the Expert view is the
 * implementation itself. Adding an operation: implement it in its area module, declare it in
 * `ConnectionApi`, list it once in `makeApi`; every view follows.
 *
 * It does NOT implement operations (operations.ts and the area modules do).
 */
import { type Duration, Effect, Exit, type Scope, Stream } from "effect"
import type { Command } from "../commands/Command.ts"
import { isPgExpertError, type PgExpertError } from "../Errors.ts"
import type { Status } from "../engine/state.ts"
import type {
  AnyRow,
  Column,
  CommandComplete,
  Notice,
  QueryResult,
  RowMode,
  RowModeOption,
  RowOf,
  SimpleQueryResult
} from "../Result.ts"
import type {
  CopyAborted,
  CopyFeed,
  CopyInRowsOptions,
  CopyOutTyped,
  CopyOutTypedOptions,
  CopyTarget
} from "./copyOps.ts"
import type { CursorOptions } from "./cursor.ts"
import type { RunOptions } from "./custom.ts"
import type { Notification } from "./notifications.ts"
import type { Param } from "./params.ts"
import {
  failedQueryIndex,
  type PipelineOptions,
  type PipelineOutcome,
  type PipelineQuery
} from "./pipeline.ts"
import type { PreparedStatement, PrepareOptions, StatementDescription } from "./prepared.ts"
import type { OperationOptions } from "./timed.ts"

export type { Param } from "./params.ts"

/**
 * `pipeline`: N extended queries in one write. The result type follows the mode: "isolated" (the
 * default: a Sync after each query, so each is its own implicit transaction and fails alone) gives
 * one `Exit` per query, whose failures carry this view's error type; "transaction" (one Sync for
 * all: all or nothing outside a transaction block) gives every result and fails with the first
 * error (its context names the query index, or the COMMIT).
 */
export interface Pipeline<E> {
  <M extends RowMode = "object">(
    queries: ReadonlyArray<PipelineQuery>,
    options?: OperationOptions & RowModeOption<M> & { readonly mode?: "isolated" | undefined }
  ): Effect.Effect<ReadonlyArray<Exit.Exit<QueryResult<RowOf<M>>, E>>, E>
  <M extends RowMode = "object">(
    queries: ReadonlyArray<PipelineQuery>,
    options: OperationOptions & RowModeOption<M> & { readonly mode: "transaction" }
  ): Effect.Effect<ReadonlyArray<QueryResult<RowOf<M>>>, E>
  (
    queries: ReadonlyArray<PipelineQuery>,
    options?: PipelineOptions
  ): Effect.Effect<PipelineOutcome<E, AnyRow>, E>
}

/**
 * The options of the row-returning operations: a timeout, and `rowMode` — rows as objects keyed
 * by column name (the default) or as arrays in column order (`rowMode: "array"`).
 */
export type QueryOptions<M extends RowMode = RowMode> = OperationOptions & RowModeOption<M>

/** The operations of a connection, generic in the error type (postgres_async's `module type S`). */
export interface ConnectionApi<E> {
  /**
   * Runs one statement (extended protocol, through the statement cache) and returns all its rows:
   * objects keyed by column name, or arrays with `rowMode: "array"`.
   */
  readonly query: <M extends RowMode = "object">(
    sql: string,
    params?: ReadonlyArray<Param>,
    options?: QueryOptions<M>
  ) => Effect.Effect<QueryResult<RowOf<M>>, E>
  /** Runs a statement that must return no rows (DDL, DML without RETURNING). */
  readonly queryExpectNoData: (
    sql: string,
    params?: ReadonlyArray<Param>,
    options?: OperationOptions
  ) => Effect.Effect<CommandComplete, E>
  /** The rows as a Stream pulled with backpressure (objects, or arrays with `rowMode: "array"`). */
  readonly stream: <M extends RowMode = "object">(
    sql: string,
    params?: ReadonlyArray<Param>,
    options?: RowModeOption<M>
  ) => Stream.Stream<RowOf<M>, E>
  /**
   * Like `stream`, but first waits for the column metadata (available even for zero rows);
   * `command` gives the statement's CommandComplete (tag and row count) once it ended: after the
   * last row, or, when the consumer stopped early, after the rest was drained or cancelled (then
   * it may fail with that cancel's error).
   */
  readonly streamWithColumns: <M extends RowMode = "object">(
    sql: string,
    params?: ReadonlyArray<Param>,
    options?: RowModeOption<M>
  ) => Effect.Effect<
    {
      readonly columns: ReadonlyArray<Column>
      readonly rows: Stream.Stream<RowOf<M>, E>
      readonly command: Effect.Effect<CommandComplete, E>
    },
    E,
    Scope.Scope
  >
  /**
   * Simple protocol: several statements in one string, every statement's result. A COPY TO
   * STDOUT among them is drained (its result kept, a `warnings` entry says so); a COPY FROM
   * STDIN is refused with CopyFail and fails with the server's 57014. A server error carries the
   * statements that completed before it (`PgServerError.completed`, decision 017).
   */
  readonly simpleQuery: (sql: string, options?: OperationOptions) => Effect.Effect<SimpleQueryResult, E>
  /**
   * Simple protocol for statements that return no rows (DDL, DML, SET; several in one string):
   * every statement's CommandComplete. A statement that returns rows (a COPY TO STDOUT too)
   * fails the call (PgProtocolError "UnexpectedRows", after every statement ran); COPY FROM STDIN
   * fails with the server's 57014, with the completed statements (`PgServerError.completed`).
   */
  readonly executeSimple: (
    sql: string,
    options?: OperationOptions
  ) => Effect.Effect<ReadonlyArray<CommandComplete>, E>
  /**
   * Prepares a named statement (`name`, default a generated `epp<N>`) for the life of the scope:
   * its parameter type OIDs and result columns, nothing executed. It is closed when the scope ends
   * (or with `closeStatement`). The handle works only on this connection, while the statement is
   * open: docs/operations.md, decision 015.
   */
  readonly prepare: (
    sql: string,
    options?: PrepareOptions
  ) => Effect.Effect<PreparedStatement, E, Scope.Scope>
  /** Runs a prepared statement (Bind + Execute + Sync), its parameters encoded by their types; all its rows. */
  readonly execute: <M extends RowMode = "object">(
    statement: PreparedStatement,
    params?: ReadonlyArray<Param>,
    options?: QueryOptions<M>
  ) => Effect.Effect<QueryResult<RowOf<M>>, E>
  /** Closes a prepared statement now (by handle, or by name); a statement already gone is not an error. */
  readonly closeStatement: (
    statement: PreparedStatement | string,
    options?: OperationOptions
  ) => Effect.Effect<void, E>
  /** The parameter type OIDs and result columns of `sql` (the unnamed statement), nothing executed. */
  readonly describe: (sql: string, options?: OperationOptions) => Effect.Effect<StatementDescription, E>
  readonly pipeline: Pipeline<E>
  /**
   * The rows of one statement read in windows of `window` rows (default 100) over a portal: the
   * next window is asked for only when the consumer pulls; the connection is held until the stream
   * ends, and an early end closes the portal. `timeout` bounds each window.
   */
  readonly cursor: <M extends RowMode = "object">(
    sql: string,
    params?: ReadonlyArray<Param>,
    options?: CursorOptions & RowModeOption<M>
  ) => Stream.Stream<RowOf<M>, E>
  /** Graceful close: Terminate, then end the socket. Idempotent. */
  readonly close: Effect.Effect<void>
  /** `close`, optionally cancelling the running statement first (`cancelRunning`). */
  readonly closeWith: (options?: { readonly cancelRunning?: boolean }) => Effect.Effect<void>
  /** Completes when the connection is gone: succeeds after a graceful close, fails with the error that ended it. */
  readonly closeFinished: Effect.Effect<void, E>
  readonly status: Effect.Effect<Status>
  /** The current status, then every change. */
  readonly statusChanges: Stream.Stream<Status>
  /** Every NoticeResponse of this connection (they are also attached to each query's result). */
  readonly notices: Stream.Stream<Notice>
  /** Run-time parameters reported by the server (ParameterStatus), kept current. */
  readonly parameters: Effect.Effect<ReadonlyMap<string, string>>
  readonly parameter: (name: string) => Effect.Effect<string | undefined>
  /** server_version as reported at startup, e.g. "18.4". */
  readonly serverVersion: string
  /** server_version_num-style number, e.g. 180004. */
  readonly serverVersionNum: number
  readonly processId: number
  readonly secretKey: Uint8Array
  /** The negotiated protocol minor version (0 or 2). */
  readonly protocolMinor: number
  readonly transactionStatus: Effect.Effect<"I" | "T" | "E">
  /** Requests queued or running on this connection (0 when idle). */
  readonly pending: Effect.Effect<number>
  /** COPY … FROM STDIN from a byte stream (chunks need not line up with rows). */
  readonly copyIn: <E2, R>(
    sql: string,
    source: Stream.Stream<Uint8Array, E2, R>
  ) => Effect.Effect<CommandComplete, E | E2, R>
  /** postgres_async's pull form: `feed` is called for each step (Data | Wait | Abort | Finished). */
  readonly copyInFeed: <E2, R>(
    sql: string,
    feed: Effect.Effect<CopyFeed, E2, R>
  ) => Effect.Effect<CommandComplete, E | E2 | CopyAborted, R>
  /**
   * COPY of rows of JS values (`Param`s) into a table; names are quoted here. Text format (the
   * default): values written as text by their JS kind and escaped; `format: "binary"`: the
   * columns are described first and each value encoded by its column's codec (decision 024).
   */
  readonly copyInRows: <E2, R>(
    target: CopyTarget,
    rows: Stream.Stream<ReadonlyArray<Param>, E2, R>,
    options?: CopyInRowsOptions
  ) => Effect.Effect<CommandComplete, E | E2, R>
  /** COPY … TO STDOUT as a byte stream pulled with backpressure. */
  readonly copyOut: (sql: string) => Stream.Stream<Uint8Array, E>
  /** COPY … TO STDOUT (text format) parsed into rows of the server's text (`null` for NULL). */
  readonly copyOutRows: (sql: string) => Stream.Stream<ReadonlyArray<string | null>, E>
  /**
   * COPY … TO STDOUT with each field decoded by the registry, rows as arrays: of a COPY
   * statement with its column `types` (text or binary, as the statement says), or of a table or
   * view target, described first (`format` "text" or "binary"). Decision 024.
   */
  readonly copyOutTyped: CopyOutTyped<E>
  /** LISTEN on a channel for the life of the scope; UNLISTEN when the last listener leaves. */
  readonly listen: (channel: string) => Effect.Effect<Stream.Stream<Notification, E>, E, Scope.Scope>
  /** NOTIFY with any channel name and payload (sent as parameters of pg_notify). */
  readonly notify: (channel: string, payload?: string) => Effect.Effect<void, E>
  /**
   * Runs a custom command (commands/Command.ts, docs/commands.md) in this connection's FIFO,
   * pipelined with the built-in operations; its result, or its failure as a typed error.
   */
  readonly run: <A, S, R, P = never, I = never>(
    command: Command<A, S, R, P, I>,
    args: A,
    options?: RunOptions<P>
  ) => Effect.Effect<R, E>
  /** Sends a CancelRequest for whatever the session runs now (over TLS when the session uses it). */
  readonly cancel: Effect.Effect<void, E>
  /**
   * Opt-in heartbeat for the scope: an empty query every `interval`; when one is not answered
   * within `timeout` the connection fails (the protocol has no heartbeat of its own). Durations
   * that cannot be read fail with PgConfigError.
   */
  readonly heartbeat: (options: {
    readonly interval: Duration.Input
    readonly timeout: Duration.Input
  }) => Effect.Effect<void, E, Scope.Scope>
}

/** What a view knows about the operation it wraps. */
export interface OpContext {
  /** The operation's name ("query", "copyIn", …). */
  readonly operation: string
  readonly sql?: string | undefined
  readonly params?: ReadonlyArray<unknown> | undefined
  /** The table, where the client knows it (copyInRows). */
  readonly table?: string | undefined
}

/**
 * What a view does around every operation: `X` is the error type it maps from (the Expert
 * connection's `PgExpertError`, or the Expert pool's union), `E` the one it maps to. Errors that
 * are not `X` (a COPY source's own, a user's) pass through unchanged.
 */
export interface Lift<E, X = PgExpertError> {
  readonly effect: <A, E2, R>(
    self: Effect.Effect<A, X | E2, R>,
    context: OpContext
  ) => Effect.Effect<A, E | Exclude<E2, X>, R>
  readonly stream: <A, E2, R>(
    self: Stream.Stream<A, X | E2, R>,
    context: OpContext
  ) => Stream.Stream<A, E | Exclude<E2, X>, R>
  /** One error held in an operation's result (the Exits of an isolated pipeline). */
  readonly error: (error: X, context: OpContext) => E
}

/** The view that maps each error recognised by `is` (default: the Expert errors) with `f`. */
export const mapErrors = <E, X = PgExpertError>(
  f: (error: X, context: OpContext) => E,
  is: (u: unknown) => u is X = isPgExpertError as unknown as (u: unknown) => u is X
): Lift<E, X> => ({
  effect: (self, context) => Effect.mapError(self, (e) => (is(e) ? f(e, context) : e)) as never,
  stream: (self, context) => Stream.mapError(self, (e) => (is(e) ? f(e, context) : e)) as never,
  error: f
})

/** The view that leaves everything as it is (no mapping is run). */
export const identityLift = <X = PgExpertError>(): Lift<X, X> => ({
  effect: (self) => self as never,
  stream: (self) => self as never,
  error: (error) => error
})

/** The Expert view: the implementation as it is. */
export const expertLift: Lift<PgExpertError> = identityLift()

/**
 * `pipeline` through `lift`: in isolated mode each Exit's failure with its own query's SQL and
 * parameters; the call's error with every query's SQL (joined only when asked for), or, when one
 * query of a transaction pipeline failed, that query's (the error's position points into it).
 */
const liftPipeline = <E>(pipeline: Pipeline<PgExpertError>, lift: Lift<E>): Pipeline<E> =>
  ((queries: ReadonlyArray<PipelineQuery>, options?: PipelineOptions) => {
    const one = (i: number): OpContext => ({
      operation: "pipeline",
      sql: queries[i]?.sql,
      params: queries[i]?.params
    })
    let joined: string | undefined
    const all: OpContext = {
      operation: "pipeline",
      get sql() {
        joined ??= queries.map((query) => query.sql).join(";\n")
        return joined
      }
    }
    const run = pipeline(queries, options)
    if (options?.mode === "transaction") {
      // The failing query's error is mapped here, with its own context; `lift` passes it on.
      const located = Effect.mapError(run, (e) => {
        const at = failedQueryIndex(e)
        return at === undefined ? e : lift.error(e, one(at))
      })
      return lift.effect(located, all)
    }
    const exits = Effect.map(run, (outcome) =>
      (outcome as ReadonlyArray<Exit.Exit<QueryResult<AnyRow>, PgExpertError>>).map((exit, i) =>
        Exit.mapError(exit, (error) => lift.error(error, one(i)))
      )
    )
    return lift.effect(exits, all)
  }) as Pipeline<E>

/** Builds the view `lift` of an Expert connection: every operation listed once. */
export const makeApi = <E>(expert: ConnectionApi<PgExpertError>, lift: Lift<E>): ConnectionApi<E> => {
  const op = (operation: string, sql?: string, params?: ReadonlyArray<unknown>): OpContext => ({
    operation,
    sql,
    params
  })
  const plain = op("connection")
  return {
    query: (sql, params, options) =>
      lift.effect(expert.query(sql, params, options), op("query", sql, params)),
    queryExpectNoData: (sql, params, options) =>
      lift.effect(expert.queryExpectNoData(sql, params, options), op("queryExpectNoData", sql, params)),
    stream: (sql, params, options) =>
      lift.stream(expert.stream(sql, params, options), op("stream", sql, params)),
    streamWithColumns: (sql, params, options) => {
      const context = op("streamWithColumns", sql, params)
      return lift.effect(
        Effect.map(expert.streamWithColumns(sql, params, options), ({ columns, rows, command }) => ({
          columns,
          rows: lift.stream(rows, context),
          command: lift.effect(command, context)
        })),
        context
      )
    },
    simpleQuery: (sql, options) => lift.effect(expert.simpleQuery(sql, options), op("simpleQuery", sql)),
    executeSimple: (sql, options) =>
      lift.effect(expert.executeSimple(sql, options), op("executeSimple", sql)),
    prepare: (sql, options) => lift.effect(expert.prepare(sql, options), op("prepare", sql)),
    execute: (statement, params, options) =>
      lift.effect(expert.execute(statement, params, options), op("execute", statement.sql, params)),
    closeStatement: (statement, options) =>
      lift.effect(
        expert.closeStatement(statement, options),
        op("closeStatement", typeof statement === "string" ? undefined : statement.sql)
      ),
    describe: (sql, options) => lift.effect(expert.describe(sql, options), op("describe", sql)),
    pipeline: liftPipeline(expert.pipeline, lift),
    cursor: (sql, params, options) =>
      lift.stream(expert.cursor(sql, params, options), op("cursor", sql, params)),
    close: expert.close,
    closeWith: expert.closeWith,
    closeFinished: lift.effect(expert.closeFinished, op("closeFinished")),
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
    copyIn: (sql, source) => lift.effect(expert.copyIn(sql, source), op("copyIn", sql)),
    copyInFeed: (sql, feed) => lift.effect(expert.copyInFeed(sql, feed), op("copyInFeed", sql)),
    copyInRows: (target, rows, options) =>
      lift.effect(expert.copyInRows(target, rows, options), {
        operation: "copyInRows",
        sql: `COPY ${target.table} FROM STDIN`,
        table: target.table
      }),
    copyOut: (sql) => lift.stream(expert.copyOut(sql), op("copyOut", sql)),
    copyOutRows: (sql) => lift.stream(expert.copyOutRows(sql), op("copyOutRows", sql)),
    copyOutTyped: ((source: string | CopyTarget, options?: CopyOutTypedOptions) =>
      lift.stream(
        (
          expert.copyOutTyped as (
            s: string | CopyTarget,
            o?: CopyOutTypedOptions
          ) => Stream.Stream<ReadonlyArray<unknown>, PgExpertError>
        )(source, options),
        typeof source === "string"
          ? op("copyOutTyped", source)
          : { operation: "copyOutTyped", sql: `COPY ${source.table} TO STDOUT`, table: source.table }
      )) as CopyOutTyped<E>,
    listen: (channel) => {
      const context = op("listen", `LISTEN ${channel}`)
      return lift.effect(
        Effect.map(expert.listen(channel), (stream) => lift.stream(stream, context)),
        context
      )
    },
    notify: (channel, payload) =>
      lift.effect(expert.notify(channel, payload), op("notify", "NOTIFY", [channel, payload ?? ""])),
    run: (command, args, options) => lift.effect(expert.run(command, args, options), op(command.name)),
    cancel: lift.effect(expert.cancel, op("cancel")),
    heartbeat: (options) => lift.effect(expert.heartbeat(options), plain)
  }
}
