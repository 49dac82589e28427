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
 * notifications.ts; prepared statements, pipelines, executeSimple and cursors (prepared.ts,
 * pipeline.ts, cursor.ts) run pure commands over the same engine, Writer, `timed` and
 * `interrupt`, and every command tag they see goes to the statement cache's `observe`.
 *
 * It does NOT dial or authenticate (connection/connect.ts).
 */
import { Deferred, Effect, PubSub, type Scope, Stream } from "effect"
import type { Session } from "../Auth.ts"
import { PgConnectionError, type PgExpertError } from "../Errors.ts"
import type { Engine } from "../engine/Engine.ts"
import type { Status } from "../engine/state.ts"
import { TERMINATE } from "../protocol/Frontend.ts"
import { Writer } from "../protocol/Writer.ts"
import type { Notice } from "../Result.ts"
import type { ConnectionApi, Param } from "./api.ts"
import { type CancelTarget, makeLiveness, sendCancel } from "./cancel.ts"
import { CopyAborted, type CopyFeed, type CopyTarget, makeCopyOps } from "./copyOps.ts"
import { makeCursor } from "./cursor.ts"
import { makeRun } from "./custom.ts"
import { Listeners, type Notification } from "./notifications.ts"
import { makePipelineOps } from "./pipeline.ts"
import { makePreparedOps } from "./prepared.ts"
import { makeQueries } from "./queries.ts"
import type { CommandDeps } from "./runCommand.ts"
import { Statements } from "./statements.ts"
import { makeStreams } from "./streams.ts"
import { makeTimed, type OperationOptions } from "./timed.ts"
import type { TypeRegistryService } from "./typeRegistry.ts"
import { Values } from "./values.ts"
import { walsenderOperations } from "./walsender.ts"

export type ExpertConnection = ConnectionApi<PgExpertError>
export type { ConnectionApi, CopyFeed, CopyTarget, Notification, OperationOptions, Param }
export { CopyAborted }

const versionNumber = (version: string): number => {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version)
  if (m === null) return 0
  const major = Number(m[1])
  return major >= 10
    ? major * 10000 + Number(m[2] ?? 0)
    : major * 10000 + Number(m[2] ?? 0) * 100 + Number(m[3] ?? 0)
}

/** What the pool reaches of a connection it holds, past its public operations. */
interface Internals {
  readonly core: Engine
  readonly closePrepared: () => Effect.Effect<void, PgExpertError> | undefined
}

const internals = new WeakMap<object, Internals>()

/**
 * The pool's switch for the transaction guard (guard.ts) of a connection: on while it carries
 * one-shot statements of many callers, off while it is lent to one borrower.
 */
export const setShared = (connection: ExpertConnection, shared: boolean): void => {
  const core = internals.get(connection)?.core
  if (core !== undefined) core.guard.enabled = shared
}

/** The engine under one of our connections (a replication connection drives it directly). */
export const engineOf = (connection: object): Engine | undefined => internals.get(connection)?.core

/**
 * For the pool, when a borrowed connection comes back: closes every statement `prepare` made on
 * it that is still open (their handles stop working at once). `undefined` when there is none, or
 * the connection is not one of ours (a test's fake): nothing to wait for.
 */
export const closeBorrowedStatements = (connection: object): Effect.Effect<void, PgExpertError> | undefined =>
  internals.get(connection)?.closePrepared()

/** Builds the operations over an authenticated Wire. The scope owns the connection. */
export const makeOperations = (
  core: Engine,
  session: Session,
  cancelTarget?: CancelTarget,
  options?: {
    readonly statementCacheSize?: number | undefined
    /** The connection's TypeRegistry (connect.ts reads the service); default typed results. */
    readonly types?: TypeRegistryService | undefined
    /** A walsender session (the `replication` keyword): extended-protocol operations refused. */
    readonly walsender?: boolean | undefined
  }
): Effect.Effect<ExpertConnection, never, Scope.Scope> =>
  Effect.gen(function* () {
    const parameters = new Map(session.parameters)
    const statusHub = yield* PubSub.unbounded<Status>()
    const noticeHub = yield* PubSub.unbounded<Notice>()
    const finished = Deferred.makeUnsafe<void, PgExpertError>()
    const writer = new Writer(4096)
    // DISCARD ALL / DEALLOCATE ALL seen by any operation: the cache and every handle are gone.
    const values = new Values(options?.types)
    const statements = new Statements(options?.statementCacheSize ?? 100, () => prepared.forgetAll(), values)
    const listeners = new Listeners({ run: (command, args) => run(command, args) })

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

    const observe = (tag: string) => statements.observe(tag)
    const run = makeRun(core, timed, observe)
    const { query, queryExpectNoData, simpleQuery } = makeQueries({ core, statements, writer, timed })
    const { stream, streamWithColumns } = makeStreams({ core, wire, statements, writer, interrupt })
    const deps: CommandDeps = {
      core,
      writer,
      timed,
      interrupt: (request) => interrupt(request),
      observe,
      values
    }
    const prepared = makePreparedOps(deps, session.processId)
    const { pipeline, executeSimple } = makePipelineOps(deps)
    const { cursor } = makeCursor(deps)

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

    const copy = makeCopyOps(core, wire, (request) => interrupt(request), {
      registry: values.registry,
      describe: (sql) => prepared.describe(sql)
    })

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
      // The implementations return either row shape; the interface types it by `rowMode`.
      query: query as ExpertConnection["query"],
      queryExpectNoData,
      stream: stream as ExpertConnection["stream"],
      streamWithColumns: streamWithColumns as ExpertConnection["streamWithColumns"],
      simpleQuery,
      executeSimple,
      prepare: prepared.prepare,
      execute: prepared.execute as ExpertConnection["execute"],
      closeStatement: prepared.closeStatement,
      describe: prepared.describe,
      pipeline: pipeline as ExpertConnection["pipeline"],
      cursor: cursor as ExpertConnection["cursor"],
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
      run,
      cancel,
      heartbeat
    }
    const connection: ExpertConnection =
      options?.walsender === true ? { ...api, ...walsenderOperations() } : api
    internals.set(connection, { core, closePrepared: prepared.closeAll })
    return connection
  })
