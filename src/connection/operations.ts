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
 * It does NOT dial or authenticate (connection/connect.ts).
 */
import { Deferred, Effect, PubSub, type Scope, Stream } from "effect"
import type { Session } from "../Auth.ts"
import { PgConnectionError, type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { Engine } from "../engine/Engine.ts"
import type { Status } from "../engine/state.ts"
import { TERMINATE, writeQuery } from "../protocol/Frontend.ts"
import type { ProtocolError } from "../protocol/ProtocolError.ts"
import { Writer } from "../protocol/Writer.ts"
import type { Notice, QueryResult, Row, SimpleQueryResult } from "../Result.ts"
import type { ConnectionApi, Param } from "./api.ts"
import { type CancelTarget, collateralCancel, makeLiveness, sendCancel } from "./cancel.ts"
import { CopyAborted, type CopyFeed, type CopyTarget, makeCopyOps } from "./copyOps.ts"
import { makeRun } from "./custom.ts"
import { Listeners, type Notification } from "./notifications.ts"
import {
  ExtendedQuery,
  extendedArgs,
  isControl,
  isCopyStatement,
  mayContainCopy,
  type Retry,
  SimpleQuery
} from "./requests.ts"
import { Statements } from "./statements.ts"
import { makeStreams } from "./streams.ts"
import { makeTimed, type OperationOptions } from "./timed.ts"

export type ExpertConnection = ConnectionApi<PgExpertError>
export type { ConnectionApi, CopyFeed, CopyTarget, Notification, OperationOptions, Param }
export { CopyAborted }

const codecError = (e: ProtocolError) => PgProtocolError.notSent(e)

const isError = (u: unknown): u is PgExpertError => typeof u === "object" && u !== null && "_tag" in u

const versionNumber = (version: string): number => {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version)
  if (m === null) return 0
  const major = Number(m[1])
  return major >= 10
    ? major * 10000 + Number(m[2] ?? 0)
    : major * 10000 + Number(m[2] ?? 0) * 100 + Number(m[3] ?? 0)
}

const engines = new WeakMap<ExpertConnection, Engine>()

/**
 * The pool's switch for the transaction guard (guard.ts) of a connection: on while it carries
 * one-shot statements of many callers, off while it is lent to one borrower.
 */
export const setShared = (connection: ExpertConnection, shared: boolean): void => {
  const core = engines.get(connection)
  if (core !== undefined) core.guard.enabled = shared
}

/** Builds the operations over an authenticated Wire. The scope owns the connection. */
export const makeOperations = (
  core: Engine,
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

    const wire = core.wire
    core.setHooks({
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

    const { interrupt, cancelTimedOut, beat, heartbeat } = makeLiveness(core, session, cancelTarget)

    const timed = makeTimed(core, interrupt, cancelTimedOut)

    const query = (sql: string, params: ReadonlyArray<Param> = [], options?: OperationOptions) =>
      timed<QueryResult>(options, "the query", (complete, retry) =>
        submitQuery(sql, params, complete, retry, true)
      )

    /**
     * Encodes and queues one extended query; `complete` gets its result. A stale cached statement
     * (it never ran) is prepared again once, and so is a statement that a cancel aimed at another
     * one hit before it took effect (57014 outside a transaction block, `cancelRisk`).
     */
    const submitQuery = (
      sql: string,
      params: ReadonlyArray<Param>,
      complete: (outcome: QueryResult | PgExpertError) => void,
      retry: Retry,
      mayRetry: boolean
    ): ExtendedQuery | PgExpertError => {
      const encoded = statements.encode(writer, sql, params)
      if (isError(encoded)) return encoded
      let all: Array<Row> | undefined
      let stale = false
      const request: ExtendedQuery = new ExtendedQuery(
        extendedArgs(encoded, isCopyStatement(sql)),
        {
          onRows: (rows) => {
            if (all === undefined) all = rows
            else for (let i = 0; i < rows.length; i++) all.push(rows[i]!)
          },
          onDone: (outcome) => {
            if (isError(outcome)) {
              const again = mayRetry && (stale || collateral(request, outcome)) && retry.allowed()
              if (!again) return complete(outcome)
              const next = submitQuery(sql, params, complete, retry, false)
              return isError(next) ? complete(next) : retry.swap(next)
            }
            statements.observe(outcome.command.tag)
            complete({
              columns: outcome.columns,
              rows: all ?? [],
              command: outcome.command,
              notices: outcome.notices
            })
          }
        },
        (outcome, parsed) => {
          stale = statements.settle(encoded, outcome, parsed, core.transactionStatus)
        }
      )
      core.submit(request)
      return request
    }

    const collateral = (request: { readonly cancelRisk: boolean }, error: PgExpertError) =>
      collateralCancel(core, request, error)

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

    const { stream, streamWithColumns } = makeStreams({ core, wire, statements, writer, interrupt })

    const simpleQuery = (sql: string, options?: OperationOptions) =>
      timed<SimpleQueryResult>(options, "the query", (complete, retry) =>
        submitSimple(sql, complete, retry, true)
      )

    /**
     * Queues one simple query. One that a cancel aimed at another statement hit runs again once,
     * when nothing of it can have taken effect: outside a transaction block, and none of its
     * statements before the error controlled a transaction (so they shared one implicit
     * transaction, rolled back).
     */
    const submitSimple = (
      sql: string,
      complete: (outcome: SimpleQueryResult | PgExpertError) => void,
      retry: Retry,
      mayRetry: boolean
    ): SimpleQuery | PgExpertError => {
      writer.reset()
      const problem = writeQuery(writer, sql)
      if (problem !== undefined) return codecError(problem)
      const request: SimpleQuery = new SimpleQuery(
        writer.finish(),
        (outcome) => {
          if (isError(outcome)) {
            const again =
              mayRetry &&
              collateral(request, outcome) &&
              !request.commandTags().some(isControl) &&
              retry.allowed()
            if (!again) return complete(outcome)
            const next = submitSimple(sql, complete, retry, false)
            return isError(next) ? complete(next) : retry.swap(next)
          }
          for (const r of outcome.results) if (r.command !== undefined) statements.observe(r.command.tag)
          complete(outcome)
        },
        mayContainCopy(sql)
      )
      core.submit(request)
      return request
    }

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
    const api: ExpertConnection = {
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
      run: makeRun(core, timed),
      cancel,
      heartbeat
    }
    engines.set(api, core)
    return api
  })
