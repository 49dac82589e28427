/**
 * The query operations: `query`, `queryExpectNoData` (extended protocol, through the statement
 * cache) and `simpleQuery` (simple protocol), each one request through `timed` (timeouts,
 * interruption). A statement that certainly did not run is sent again once: a stale cached
 * statement, or a 57014 that a cancel meant for the statement before it caused outside a
 * transaction block (cancel.ts `collateralCancel`).
 *
 * User types (decision 023): a cached statement whose user types are not known yet waits for
 * their lookup before its Bind; a result with columns read as text because their type was not
 * known (a first execution) waits for the lookup and is decoded again from that text, so even
 * the first result is typed (introspect.ts).
 *
 * It does NOT stream rows (streams.ts) or know the other operations.
 */
import { Effect } from "effect"
import { type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { Engine } from "../engine/Engine.ts"
import { writeQuery } from "../protocol/Frontend.ts"
import type { ProtocolError } from "../protocol/ProtocolError.ts"
import type { Writer } from "../protocol/Writer.ts"
import type { AnyRow, QueryResult, RowMode, RowModeOption, SimpleQueryResult } from "../Result.ts"
import { collateralCancel } from "./cancel.ts"
import { introspectorOf, redecode, textColumns } from "./introspect.ts"
import {
  ExtendedQuery,
  extendedArgs,
  isControl,
  isCopyStatement,
  mayContainCopy,
  type Retry,
  SimpleQuery
} from "./requests.ts"
import type { Encoded, Param, Statements } from "./statements.ts"
import type { OperationOptions, Timed } from "./timed.ts"

export interface QueryDeps {
  readonly core: Engine
  readonly statements: Statements
  readonly writer: Writer
  readonly timed: Timed
}

const codecError = (e: ProtocolError) => PgProtocolError.notSent(e)

const isError = (u: unknown): u is PgExpertError => typeof u === "object" && u !== null && "_tag" in u

export const makeQueries = ({ core, statements, writer, timed }: QueryDeps) => {
  const introspector = introspectorOf(core, statements.values)

  const query = (
    sql: string,
    params: ReadonlyArray<Param> = [],
    options?: OperationOptions & RowModeOption
  ) => {
    const run = timed<QueryResult<AnyRow>>(options, "the query", (complete, retry) =>
      submitQuery(sql, params, complete, retry, true, false, options?.rowMode ?? "object")
    )
    if (introspector === undefined) return run
    return Effect.suspend(() => {
      const types = statements.userTypes(sql)
      return types === undefined ? run : Effect.andThen(introspector.ensure(types), run)
    })
  }

  /**
   * A result some of whose columns came as text because their type was not known: those types
   * (and the statement's user parameter types) are looked up, and the columns decoded again.
   */
  const typedResult = (
    result: QueryResult<AnyRow>,
    encoded: Encoded,
    paramTypes: ReadonlyArray<number> | undefined,
    complete: (outcome: QueryResult<AnyRow> | PgExpertError) => void
  ): void => {
    const text = introspector === undefined ? [] : textColumns(result.columns, encoded.registry)
    if (introspector === undefined || (text.length === 0 && paramTypes === undefined)) return complete(result)
    const finish = () =>
      complete(redecode(result.rows, result.columns, text, statements.values.registry) ?? result)
    const oids = [...text.map((i) => result.columns[i]!.typeOid), ...(paramTypes ?? [])]
    if (!introspector.lookup(oids, finish)) finish()
  }

  /**
   * Encodes and queues one extended query; `complete` gets its result. A stale cached statement
   * (it never ran) is prepared again once, and so is a statement that a cancel aimed at another
   * one hit before it took effect (57014 outside a transaction block, `cancelRisk`).
   */
  const submitQuery = (
    sql: string,
    params: ReadonlyArray<Param>,
    complete: (outcome: QueryResult<AnyRow> | PgExpertError) => void,
    retry: Retry,
    mayRetry: boolean,
    expectNoData = false,
    rowMode: RowMode = "array"
  ): ExtendedQuery | PgExpertError => {
    const encoded = statements.encode(writer, sql, params, rowMode)
    if (isError(encoded)) return encoded
    let all: Array<AnyRow> | undefined
    let stale = false
    const request: ExtendedQuery = new ExtendedQuery(
      { ...extendedArgs(encoded, isCopyStatement(sql)), expectNoData },
      {
        onRows: (rows) => {
          if (all === undefined) all = rows
          else for (let i = 0; i < rows.length; i++) all.push(rows[i]!)
        },
        onDone: (outcome) => {
          if (isError(outcome)) {
            const again = mayRetry && (stale || collateral(request, outcome)) && retry.allowed()
            if (!again) return complete(outcome)
            const next = submitQuery(sql, params, complete, retry, false, expectNoData, rowMode)
            return isError(next) ? complete(next) : retry.swap(next)
          }
          statements.observe(outcome.command.tag)
          const result = {
            columns: outcome.columns,
            rows: all ?? [],
            command: outcome.command,
            notices: outcome.notices
          }
          typedResult(result, encoded, outcome.paramTypes, complete)
        }
      },
      (outcome, parsed, described) => {
        stale = statements.settle(encoded, outcome, parsed, core.transactionStatus, described)
      }
    )
    core.submit(request)
    return request
  }

  const collateral = (request: { readonly cancelRisk: boolean }, error: PgExpertError) =>
    collateralCancel(core, request, error)

  /** Fails only when a row arrives or a COPY starts (commands/extended.ts `expectNoData`), after it ran. */
  const queryExpectNoData = (sql: string, params: ReadonlyArray<Param> = [], options?: OperationOptions) =>
    Effect.map(
      timed<QueryResult<AnyRow>>(options, "the query", (complete, retry) =>
        submitQuery(sql, params, complete, retry, true, true)
      ),
      (result) => result.command
    )

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
          // Statements before the failing one ran: a DEALLOCATE ALL among them dropped everything.
          for (const tag of request.commandTags()) statements.observe(tag)
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

  return { query, queryExpectNoData, simpleQuery }
}
