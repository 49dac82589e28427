/**
 * The operations of an open session, as Effects over the engine (core.ts): query, stream,
 * simple query, close, status and session information. This is the one implementation; the
 * Expert API exposes it as is and the normal API maps its errors (Connection.ts).
 *
 * Each operation encodes its whole request into one buffer (one socket write) and completes
 * through a callback, so no Effect is allocated per row or per message. Interrupting a caller
 * abandons its request: the request still drains to its ReadyForQuery, so the session never
 * desyncs, and later requests are unaffected.
 *
 * It does NOT dial or authenticate (internal/connect.ts) and does not cancel on the server.
 */
import { Channel, Deferred, Effect, PubSub, Scope, Stream } from "effect"
import type { Wire } from "../Codec.ts"
import { type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { Session } from "../Auth.ts"
import { DESCRIBE_UNNAMED_PORTAL, EXECUTE_UNNAMED, SYNC, TERMINATE, writeBind, writeParse, writeQuery } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import { Writer } from "../protocol/Writer.ts"
import type { Column, CommandComplete, Notice, QueryResult, Row, SimpleQueryResult } from "../Result.ts"
import { Core } from "./core.ts"
import { ExtendedQuery, isCopyStatement, mayContainCopy, SimpleQuery } from "./requests.ts"
import { RowStream } from "./rowStream.ts"
import type { Status } from "./state.ts"

/** A query parameter in text format; `null` is SQL NULL. */
export type Param = string | null

/** The operations of a connection, generic in the error type (postgres_async's `module type S`). */
export interface ConnectionApi<E> {
  /** Runs one statement (extended protocol, text parameters) and returns all its rows. */
  readonly query: (sql: string, params?: ReadonlyArray<Param>) => Effect.Effect<QueryResult, E>
  /** Runs a statement that must return no rows (DDL, DML without RETURNING). */
  readonly queryExpectNoData: (sql: string, params?: ReadonlyArray<Param>) => Effect.Effect<CommandComplete, E>
  /** The rows as a Stream pulled with backpressure, one array of rows per socket read. */
  readonly stream: (sql: string, params?: ReadonlyArray<Param>) => Stream.Stream<Row, E>
  /** Like `stream`, but first waits for the column metadata (available even for zero rows). */
  readonly streamWithColumns: (
    sql: string,
    params?: ReadonlyArray<Param>
  ) => Effect.Effect<{ readonly columns: ReadonlyArray<Column>; readonly rows: Stream.Stream<Row, E> }, E, Scope.Scope>
  /** Simple protocol: several statements in one string, every statement's result. */
  readonly simpleQuery: (sql: string) => Effect.Effect<SimpleQueryResult, E>
  /** Graceful close: Terminate, then end the socket. Idempotent. */
  readonly close: Effect.Effect<void>
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
}

export type ExpertConnection = ConnectionApi<PgExpertError>

const codecError = (e: ProtocolError) => PgProtocolError.fromCodec(e)

/** Encodes Parse/Bind/Describe/Execute/Sync for the unnamed statement and portal, in one buffer. */
const encodeExtended = (writer: Writer, sql: string, params: ReadonlyArray<Param>): Uint8Array | PgProtocolError => {
  writer.reset()
  const parse = writeParse(writer, "", sql, [])
  if (parse !== undefined) return codecError(parse)
  const bind = writeBind(writer, "", "", params)
  if (bind !== undefined) {
    writer.reset()
    return codecError(bind)
  }
  writer.bytes(DESCRIBE_UNNAMED_PORTAL)
  writer.bytes(EXECUTE_UNNAMED)
  writer.bytes(SYNC)
  return writer.finish()
}

const isError = (u: unknown): u is PgExpertError => typeof u === "object" && u !== null && "_tag" in u

const versionNumber = (version: string): number => {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version)
  if (m === null) return 0
  const major = Number(m[1])
  return major >= 10 ? major * 10000 + Number(m[2] ?? 0) : major * 10000 + Number(m[2] ?? 0) * 100 + Number(m[3] ?? 0)
}

/** Builds the operations over an authenticated Wire. The scope owns the connection. */
export const makeOperations = (wire: Wire, session: Session): Effect.Effect<ExpertConnection, never, Scope.Scope> =>
  Effect.gen(function* () {
    const parameters = new Map(session.parameters)
    const statusHub = yield* PubSub.unbounded<Status>()
    const noticeHub = yield* PubSub.unbounded<Notice>()
    const finished = Deferred.makeUnsafe<void, PgExpertError>()
    const writer = new Writer(4096)

    const core = new Core(wire, {
      onNotice: (notice) => {
        PubSub.publishUnsafe(noticeHub, notice)
      },
      onNotification: () => {},
      onParameter: (name, value) => {
        parameters.set(name, value)
      },
      onStatus: (status) => {
        PubSub.publishUnsafe(statusHub, status)
        if (status._tag === "ClosedGracefully") Deferred.doneUnsafe(finished, Effect.void)
        if (status._tag === "Failed" && status.resourcesReleased) Deferred.doneUnsafe(finished, Effect.fail(status.error))
      }
    })

    const query = (sql: string, params: ReadonlyArray<Param> = []) =>
      Effect.callback<QueryResult, PgExpertError>((resume) => {
        const frames = encodeExtended(writer, sql, params)
        if (isError(frames)) return resume(Effect.fail(frames))
        const batches: Array<Array<Row>> = []
        const request = new ExtendedQuery(
          frames,
          {
            onRows: (rows) => {
              batches.push(rows)
            },
            onDone: (outcome) => {
              if (isError(outcome)) return resume(Effect.fail(outcome))
              const rows = batches.length === 1 ? batches[0]! : batches.flat()
              resume(Effect.succeed({ columns: outcome.columns, rows, command: outcome.command, notices: outcome.notices }))
            }
          },
          isCopyStatement(sql)
        )
        core.submit(request)
        return Effect.sync(() => {
          request.abandoned = true
        })
      })

    const queryExpectNoData = (sql: string, params: ReadonlyArray<Param> = []) =>
      Effect.flatMap(query(sql, params), (result) =>
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
        const frames = encodeExtended(writer, sql, params)
        if (isError(frames)) return Effect.fail(frames)
        const rowStream = new RowStream(frames, isCopyStatement(sql), wire)
        core.submit(rowStream.request)
        return Effect.as(Scope.addFinalizer(scope, Effect.sync(() => rowStream.abandon())), rowStream)
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
            Effect.as(Scope.addFinalizer(inner, Effect.sync(() => rowStream.abandon())), rowStream.pull)
          )
        )
        return { columns, rows }
      })

    const simpleQuery = (sql: string) =>
      Effect.callback<SimpleQueryResult, PgExpertError>((resume) => {
        writer.reset()
        const problem = writeQuery(writer, sql)
        if (problem !== undefined) return resume(Effect.fail(codecError(problem)))
        const request = new SimpleQuery(
          writer.finish(),
          (outcome) => resume(isError(outcome) ? Effect.fail(outcome) : Effect.succeed(outcome)),
          mayContainCopy(sql)
        )
        core.submit(request)
        return Effect.sync(() => {
          request.abandoned = true
        })
      })

    const close = Effect.suspend(() => {
      core.close(TERMINATE)
      return Deferred.await(finished).pipe(
        Effect.ignore,
        Effect.timeoutOrElse({ duration: "2 seconds", orElse: () => Effect.sync(() => wire.destroy()) })
      )
    })

    yield* Effect.addFinalizer(() => close)

    const version = session.parameters.get("server_version") ?? ""
    return {
      query,
      queryExpectNoData,
      stream,
      streamWithColumns,
      simpleQuery,
      close,
      closeFinished: Deferred.await(finished),
      status: Effect.sync(() => core.status),
      statusChanges: Stream.concat(
        Stream.suspend(() => Stream.succeed(core.status)),
        Stream.fromPubSub(statusHub)
      ),
      notices: Stream.fromPubSub(noticeHub),
      parameters: Effect.sync(() => new Map(parameters) as ReadonlyMap<string, string>),
      parameter: (name: string) => Effect.sync(() => parameters.get(name)),
      serverVersion: version,
      serverVersionNum: versionNumber(version),
      processId: session.processId,
      secretKey: session.secretKey,
      protocolMinor: session.protocolMinor,
      transactionStatus: Effect.sync(() => core.transactionStatus as "I" | "T" | "E")
    } satisfies ExpertConnection
  })
