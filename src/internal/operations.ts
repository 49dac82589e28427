/**
 * The operations of an open session, as Effects over the engine (core.ts): query, stream,
 * simple query, close, status and session information. This is the one implementation; the
 * Expert API exposes it as is and the normal API maps its errors (Connection.ts).
 *
 * Each operation encodes its whole request into one buffer (one socket write) and completes
 * through a callback, so no Effect is allocated per row or per message. Interrupting a caller
 * abandons its request: a request not yet written is withdrawn, the only one in flight is
 * cancelled on the server (cancel.ts `interrupt`, later requests held until its outcome is
 * known), and any other drains to its ReadyForQuery, so the session never desyncs. The `timeout`
 * option is such an interrupt, reported as PgTimeoutError. COPY is in copyOps.ts, LISTEN in
 * notifications.ts.
 *
 * It does NOT dial or authenticate (internal/connect.ts).
 */
import { Channel, Deferred, Duration, Effect, PubSub, Scope, Stream } from "effect"
import type { Session } from "../Auth.ts"
import type { Wire } from "../Codec.ts"
import { PgConnectionError, type PgExpertError, PgProtocolError, PgTimeoutError } from "../Errors.ts"
import { TERMINATE, writeQuery } from "../protocol/Frontend.ts"
import type { ProtocolError } from "../protocol/ProtocolError.ts"
import { Writer } from "../protocol/Writer.ts"
import type { Column, CommandComplete, Notice, QueryResult, Row, SimpleQueryResult } from "../Result.ts"
import { type CancelTarget, makeLiveness, sendCancel } from "./cancel.ts"
import { CopyAborted, type CopyFeed, type CopyTarget, makeCopyOps } from "./copyOps.ts"
import { Core } from "./core.ts"
import { Listeners, type Notification } from "./notifications.ts"
import { ExtendedQuery, isCopyStatement, mayContainCopy, SimpleQuery } from "./requests.ts"
import { RowStream } from "./rowStream.ts"
import type { Status } from "./state.ts"
import { Statements } from "./statements.ts"

/**
 * Per-operation options. `timeout`: when it expires the statement is cancelled on the server (if
 * it is the only one in flight), the connection waits for its outcome, and the call fails with
 * `PgTimeoutError` (postgres_async's statement_timeout, done client-side).
 */
export interface OperationOptions {
  readonly timeout?: Duration.Input | undefined
}

/** A query parameter in text format; `null` is SQL NULL. */
export type Param = string | null

/** The operations of a connection, generic in the error type (postgres_async's `module type S`). */
export interface ConnectionApi<E> {
  /** Runs one statement (extended protocol, text parameters) and returns all its rows. */
  readonly query: (
    sql: string,
    params?: ReadonlyArray<Param>,
    options?: OperationOptions
  ) => Effect.Effect<QueryResult, E>
  /** Runs a statement that must return no rows (DDL, DML without RETURNING). */
  readonly queryExpectNoData: (
    sql: string,
    params?: ReadonlyArray<Param>,
    options?: OperationOptions
  ) => Effect.Effect<CommandComplete, E>
  /** The rows as a Stream pulled with backpressure, one array of rows per socket read. */
  readonly stream: (sql: string, params?: ReadonlyArray<Param>) => Stream.Stream<Row, E>
  /** Like `stream`, but first waits for the column metadata (available even for zero rows). */
  readonly streamWithColumns: (
    sql: string,
    params?: ReadonlyArray<Param>
  ) => Effect.Effect<
    { readonly columns: ReadonlyArray<Column>; readonly rows: Stream.Stream<Row, E> },
    E,
    Scope.Scope
  >
  /** Simple protocol: several statements in one string, every statement's result. */
  readonly simpleQuery: (sql: string, options?: OperationOptions) => Effect.Effect<SimpleQueryResult, E>
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
  /** COPY of rows into a table; names are quoted and values escaped here. */
  readonly copyInRows: <E2, R>(
    target: CopyTarget,
    rows: Stream.Stream<ReadonlyArray<string | null>, E2, R>
  ) => Effect.Effect<CommandComplete, E | E2, R>
  /** COPY … TO STDOUT as a byte stream pulled with backpressure. */
  readonly copyOut: (sql: string) => Stream.Stream<Uint8Array, E>
  /** COPY … TO STDOUT (text format) parsed into rows. */
  readonly copyOutRows: (sql: string) => Stream.Stream<ReadonlyArray<string | null>, E>
  /** LISTEN on a channel for the life of the scope; UNLISTEN when the last listener leaves. */
  readonly listen: (channel: string) => Effect.Effect<Stream.Stream<Notification, E>, E, Scope.Scope>
  /** NOTIFY with any channel name and payload (sent as parameters of pg_notify). */
  readonly notify: (channel: string, payload?: string) => Effect.Effect<void, E>
  /** Sends a CancelRequest for whatever the session runs now (over TLS when the session uses it). */
  readonly cancel: Effect.Effect<void, E>
  /**
   * Opt-in heartbeat for the scope: an empty query every `interval`; when one is not answered
   * within `timeout` the connection fails (the protocol has no heartbeat of its own).
   */
  readonly heartbeat: (options: {
    readonly interval: Duration.Input
    readonly timeout: Duration.Input
  }) => Effect.Effect<void, never, Scope.Scope>
}

export type ExpertConnection = ConnectionApi<PgExpertError>
export type { CopyFeed, CopyTarget, Notification }
export { CopyAborted }

const codecError = (e: ProtocolError) => PgProtocolError.fromCodec(e)

const isError = (u: unknown): u is PgExpertError => typeof u === "object" && u !== null && "_tag" in u

const versionNumber = (version: string): number => {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version)
  if (m === null) return 0
  const major = Number(m[1])
  return major >= 10
    ? major * 10000 + Number(m[2] ?? 0)
    : major * 10000 + Number(m[2] ?? 0) * 100 + Number(m[3] ?? 0)
}

/** Builds the operations over an authenticated Wire. The scope owns the connection. */
export const makeOperations = (
  wire: Wire,
  session: Session,
  cancelTarget?: CancelTarget,
  options?: { readonly statementCacheSize?: number | undefined }
): Effect.Effect<ExpertConnection, never, Scope.Scope> =>
  Effect.gen(function* () {
    const parameters = new Map(session.parameters)
    const statusHub = yield* PubSub.unbounded<Status>()
    const noticeHub = yield* PubSub.unbounded<Notice>()
    const finished = Deferred.makeUnsafe<void, PgExpertError>()
    const writer = new Writer(4096)
    const statements = new Statements(options?.statementCacheSize ?? 100)
    const listeners = new Listeners((sql) => simpleQuery(sql))

    const core = new Core(wire, {
      onNotice: (notice) => {
        PubSub.publishUnsafe(noticeHub, notice)
      },
      onNotification: (pid, channel, payload) => listeners.deliver(pid, channel, payload),
      onParameter: (name, value) => {
        parameters.set(name, value)
      },
      onStatus: (status) => {
        PubSub.publishUnsafe(statusHub, status)
        if (status._tag === "ClosedGracefully") Deferred.doneUnsafe(finished, Effect.void)
        if (status._tag === "Failed" && status.resourcesReleased)
          Deferred.doneUnsafe(finished, Effect.fail(status.error))
        if (status._tag !== "Open") listeners.fail(() => core.closedError())
      }
    })

    const { interrupt, beat, heartbeat } = makeLiveness(core, session, cancelTarget)

    const timed = <A>(
      run: (state: { cancelSent: boolean }) => Effect.Effect<A, PgExpertError>,
      what: string,
      options: OperationOptions | undefined
    ): Effect.Effect<A, PgExpertError> => {
      const state = { cancelSent: false }
      if (options?.timeout === undefined) return run(state)
      const duration = Duration.fromInputUnsafe(options.timeout)
      return Effect.timeoutOrElse(run(state), {
        duration,
        orElse: () =>
          Effect.fail(
            new PgTimeoutError({
              message: `${what} did not finish within ${Duration.format(duration)}${state.cancelSent ? "; it was cancelled on the server" : ""}`,
              timeoutMillis: Duration.toMillis(duration),
              cancelSent: state.cancelSent
            })
          )
      })
    }

    const query = (sql: string, params: ReadonlyArray<Param> = [], options?: OperationOptions) =>
      timed((state) => queryOnce(sql, params, state), "the query", options)

    const queryOnce = (
      sql: string,
      params: ReadonlyArray<Param>,
      state: { cancelSent: boolean },
      mayRetry = true
    ): Effect.Effect<QueryResult, PgExpertError> =>
      Effect.callback<QueryResult, PgExpertError>((resume) => {
        const encoded = statements.encode(writer, sql, params)
        if (isError(encoded)) return resume(Effect.fail(encoded))
        let all: Array<Row> | undefined
        const request: ExtendedQuery = new ExtendedQuery(
          encoded.frames,
          {
            onRows: (rows) => {
              if (all === undefined) all = rows
              else for (let i = 0; i < rows.length; i++) all.push(rows[i]!)
            },
            onDone: (outcome) => {
              const retry = statements.settle(encoded, outcome, request.parsed, core.transactionStatus)
              if (isError(outcome)) {
                // A stale cached statement that never ran: prepare it again, once.
                if (retry && mayRetry) return resume(queryOnce(sql, params, state, false))
                return resume(Effect.fail(outcome))
              }
              statements.observe(outcome.command.tag)
              const rows = all ?? []
              resume(
                Effect.succeed({
                  columns: outcome.columns,
                  rows,
                  command: outcome.command,
                  notices: outcome.notices
                })
              )
            }
          },
          isCopyStatement(sql),
          encoded.preset
        )
        core.submit(request)
        return interrupt(request, state)
      })

    const queryExpectNoData = (sql: string, params: ReadonlyArray<Param> = [], options?: OperationOptions) =>
      Effect.flatMap(query(sql, params, options), (result) =>
        result.columns.length > 0
          ? Effect.fail(
              new PgProtocolError({
                reason: "UnexpectedRows",
                message: `queryExpectNoData: the statement returned ${result.columns.length} column(s); use query`
              })
            )
          : Effect.succeed(result.command)
      )

    const openStream = (sql: string, params: ReadonlyArray<Param>, scope: Scope.Scope) =>
      Effect.suspend(() => {
        const encoded = statements.encode(writer, sql, params)
        if (isError(encoded)) return Effect.fail(encoded)
        const rowStream = new RowStream(encoded.frames, isCopyStatement(sql), wire, {
          preset: encoded.preset,
          onOutcome: (outcome, parsed) => {
            statements.settle(encoded, outcome, parsed, core.transactionStatus)
            if (!isError(outcome)) statements.observe(outcome.command.tag)
          }
        })
        core.submit(rowStream.request)
        return Effect.as(Scope.addFinalizer(scope, abandonStream(rowStream)), rowStream)
      })

    const abandonStream = (rowStream: RowStream) =>
      Effect.suspend(() => {
        if (!rowStream.request.abandoned && rowStream.finished) return Effect.void
        rowStream.abandon()
        return interrupt(rowStream.request)
      })

    const stream = (sql: string, params: ReadonlyArray<Param> = []): Stream.Stream<Row, PgExpertError> =>
      Stream.fromChannel(
        Channel.fromTransform((_, scope) => Effect.map(openStream(sql, params, scope), (s) => s.pull))
      )

    const streamWithColumns = (sql: string, params: ReadonlyArray<Param> = []) =>
      Effect.gen(function* () {
        const scope = yield* Effect.scope
        const rowStream = yield* openStream(sql, params, scope)
        const columns = yield* rowStream.awaitColumns
        const rows: Stream.Stream<Row, PgExpertError> = Stream.fromChannel(
          Channel.fromTransform((_, inner) =>
            Effect.as(Scope.addFinalizer(inner, abandonStream(rowStream)), rowStream.pull)
          )
        )
        return { columns, rows }
      })

    const simpleQuery = (sql: string, options?: OperationOptions) =>
      timed((state) => simpleQueryOnce(sql, state), "the query", options)

    const simpleQueryOnce = (sql: string, state: { cancelSent: boolean }) =>
      Effect.callback<SimpleQueryResult, PgExpertError>((resume) => {
        writer.reset()
        const problem = writeQuery(writer, sql)
        if (problem !== undefined) return resume(Effect.fail(codecError(problem)))
        const request = new SimpleQuery(
          writer.finish(),
          (outcome) => {
            if (isError(outcome)) return resume(Effect.fail(outcome))
            for (const r of outcome.results) if (r.command !== undefined) statements.observe(r.command.tag)
            resume(Effect.succeed(outcome))
          },
          mayContainCopy(sql)
        )
        core.submit(request)
        return interrupt(request, state)
      })

    /**
     * With `cancelRunning`: cancel the running statement, then let the connection drain (an empty
     * query answered after everything already queued, at most 2 s), so the cancelled caller gets
     * its real outcome (57014) and the Terminate goes to an idle session; then close.
     */
    const closeWith = (options?: { readonly cancelRunning?: boolean }) =>
      Effect.suspend(() => {
        if (options?.cancelRunning !== true || core.pending === 0 || cancelTarget === undefined) return close
        return Effect.ignore(cancel).pipe(
          Effect.andThen(Effect.timeoutOption(beat, "2 seconds")),
          Effect.andThen(close)
        )
      })

    const close = Effect.suspend(() => {
      core.close(TERMINATE)
      return Deferred.await(finished).pipe(
        Effect.ignore,
        Effect.timeoutOrElse({ duration: "2 seconds", orElse: () => Effect.sync(() => wire.destroy()) })
      )
    })

    yield* Effect.addFinalizer(() => close)

    const copy = makeCopyOps(core, wire, (request) => interrupt(request))

    const cancel: Effect.Effect<void, PgExpertError> =
      cancelTarget === undefined
        ? Effect.fail(
            new PgConnectionError({
              phase: "io",
              mayHaveReachedServer: false,
              message: "this connection has no cancel target"
            })
          )
        : sendCancel(cancelTarget, session.processId, session.secretKey)

    const version = session.parameters.get("server_version") ?? ""
    return {
      query,
      queryExpectNoData,
      stream,
      streamWithColumns,
      simpleQuery,
      close,
      closeWith,
      closeFinished: Deferred.await(finished),
      status: Effect.sync(() => core.status),
      // Subscribe first, then read the current status: no change can fall in between.
      statusChanges: Stream.unwrap(
        Effect.map(PubSub.subscribe(statusHub), (subscription) =>
          Stream.concat(Stream.succeed(core.status), Stream.fromSubscription(subscription))
        )
      ),
      notices: Stream.fromPubSub(noticeHub),
      parameters: Effect.sync(() => new Map(parameters) as ReadonlyMap<string, string>),
      parameter: (name: string) => Effect.sync(() => parameters.get(name)),
      serverVersion: version,
      serverVersionNum: versionNumber(version),
      processId: session.processId,
      secretKey: session.secretKey,
      protocolMinor: session.protocolMinor,
      transactionStatus: Effect.sync(() => core.transactionStatus as "I" | "T" | "E"),
      pending: Effect.sync(() => core.pending),
      ...copy,
      listen: (channel: string) => listeners.listen(channel),
      notify: (channel: string, payload = "") =>
        Effect.asVoid(query("select pg_notify($1, $2)", [channel, payload])),
      cancel,
      heartbeat
    } satisfies ExpertConnection
  })
