/**
 * Row streams over one connection (`stream`, `streamWithColumns`): each opens a RowStream
 * (rowStream.ts) for one extended query, whose rows are pulled with backpressure, and abandons it
 * when the consumer leaves early (the scope closes): the request drains, or is cancelled when it
 * is the only one in flight (cancel.ts `interrupt`).
 *
 * A stream that failed before any row reached its consumer is sent again once, like a query, when
 * nothing of it ran: its cached statement was stale, or a cancel meant for the statement before it
 * hit it outside a transaction block (cancel.ts `collateralCancel`) — a neighbour's timeout must not
 * fail it.
 *
 * User types (decision 023): a cached statement whose user types are not known yet waits for
 * their lookup before it is sent (nothing of the stream is on the wire yet, so nothing can wait
 * on its backpressure); a statement streamed for the first time gives the text of columns whose
 * type is not known yet, and their lookup starts when it ends, for the next executions.
 *
 * It does NOT know the other operations (operations.ts builds it and hands it what it needs).
 */
import { Channel, Effect, Scope, Stream } from "effect"
import type { Wire } from "../Codec.ts"
import type { PgExpertError } from "../Errors.ts"
import type { Engine, Request } from "../engine/Engine.ts"
import type { Writer } from "../protocol/Writer.ts"
import type { AnyRow, Column, CommandComplete, RowMode, RowModeOption } from "../Result.ts"
import { collateralCancel } from "./cancel.ts"
import { introspectorOf, textColumns } from "./introspect.ts"
import { type ExtendedQuery, extendedArgs, isCopyStatement } from "./requests.ts"
import { type Attempt, RowStream } from "./rowStream.ts"
import type { Param, Statements } from "./statements.ts"

export interface StreamDeps {
  readonly core: Engine
  readonly wire: Wire
  readonly statements: Statements
  readonly writer: Writer
  readonly interrupt: (request: Request & { abandoned: boolean }) => Effect.Effect<void>
}

const isError = (u: unknown): u is PgExpertError => typeof u === "object" && u !== null && "_tag" in u

export const makeStreams = ({ core, wire, statements, writer, interrupt }: StreamDeps) => {
  const introspector = introspectorOf(core, statements.values)
  /** One encoding of the statement; `stale` is set when its cached statement turned out stale. */
  const attempt = (sql: string, params: ReadonlyArray<Param>, rowMode: RowMode) => {
    const encoded = statements.encode(writer, sql, params, rowMode)
    if (isError(encoded)) return encoded
    const state = { stale: false }
    const next: Attempt = {
      args: extendedArgs(encoded, isCopyStatement(sql)),
      onSettle: (outcome, parsed, described) => {
        state.stale = statements.settle(encoded, outcome, parsed, core.transactionStatus, described)
        if (outcome === undefined || isError(outcome)) return
        statements.observe(outcome.command.tag)
        // Types this execution read as text: looked up for the next ones.
        if (introspector === undefined) return
        const text = textColumns(outcome.columns, encoded.registry).map((i) => outcome.columns[i]!.typeOid)
        introspector.lookup([...text, ...(outcome.paramTypes ?? [])])
      }
    }
    return { next, state }
  }

  const openStream = (sql: string, params: ReadonlyArray<Param>, rowMode: RowMode, scope: Scope.Scope) => {
    const open = openNow(sql, params, rowMode, scope)
    if (introspector === undefined) return open
    return Effect.suspend(() => {
      const types = statements.userTypes(sql)
      return types === undefined ? open : Effect.andThen(introspector.ensure(types), open)
    })
  }

  const openNow = (sql: string, params: ReadonlyArray<Param>, rowMode: RowMode, scope: Scope.Scope) =>
    Effect.suspend(() => {
      const first = attempt(sql, params, rowMode)
      if (isError(first)) return Effect.fail(first)
      let state = first.state
      const rowStream = new RowStream(first.next, wire, {
        resend: (request: ExtendedQuery, error) => {
          if (!state.stale && !collateralCancel(core, request, error)) return undefined
          const again = attempt(sql, params, rowMode)
          if (isError(again)) return undefined
          state = again.state
          return again.next
        },
        submit: (request) => core.submit(request)
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

  const stream = (
    sql: string,
    params: ReadonlyArray<Param> = [],
    options?: RowModeOption
  ): Stream.Stream<AnyRow, PgExpertError> =>
    Stream.fromChannel(
      Channel.fromTransform((_, scope) =>
        Effect.map(openStream(sql, params, options?.rowMode ?? "object", scope), (s) => s.pull)
      )
    )

  const streamWithColumns = (
    sql: string,
    params: ReadonlyArray<Param> = [],
    options?: RowModeOption
  ): Effect.Effect<
    {
      readonly columns: ReadonlyArray<Column>
      readonly rows: Stream.Stream<AnyRow, PgExpertError>
      readonly command: Effect.Effect<CommandComplete, PgExpertError>
    },
    PgExpertError,
    Scope.Scope
  > =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const rowStream = yield* openStream(sql, params, options?.rowMode ?? "object", scope)
      const columns = yield* rowStream.awaitColumns
      const rows: Stream.Stream<AnyRow, PgExpertError> = Stream.fromChannel(
        Channel.fromTransform((_, inner) =>
          Effect.as(Scope.addFinalizer(inner, abandonStream(rowStream)), rowStream.pull)
        )
      )
      return { columns, rows, command: rowStream.ended }
    })

  return { stream, streamWithColumns }
}
