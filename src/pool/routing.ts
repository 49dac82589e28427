/**
 * How the pool routes and bounds a statement, before any connection is involved: whether a
 * statement may open a transaction (`mayBegin`: then it borrows a connection instead of sharing
 * one), whether its answer says it did (`queryOpens`, `simpleOpens`: then its shared connection
 * is sealed), and how its `timeout` covers the wait for a connection too (`boundedBy`).
 *
 * It does NOT wait, borrow or run anything (pool/api.ts and the state machine do): plain
 * functions, and Effect combinators for the bound.
 *
 * Invariants: `mayBegin` errs on the side of borrowing; a bounded wait that runs out fails with
 * `PgTimeoutError` "not-sent", and the statement then gets only what is left of the timeout.
 */
import { Duration, Effect } from "effect"
import { timeoutMillis } from "../connection/deadline.ts"
import type { OperationOptions } from "../connection/operations.ts"
import { PgTimeoutError } from "../Errors.ts"
import { opensTransaction } from "../lexer/Leading.ts"
import type { CommandComplete, QueryResult, SimpleQueryResult } from "../Result.ts"

/** Rows a query returned (the span attribute `db.response.returned_rows`). */
export const rowCount = (result: QueryResult<unknown>) => result.rows.length

/** BEGIN or START TRANSACTION, by the command tag the server answered. */
export const isBegin = (command: CommandComplete | undefined): boolean =>
  command !== undefined && (command.command === "BEGIN" || command.command === "START")
export const queryOpens = (result: QueryResult<unknown>) => isBegin(result.command)
/**
 * Whether `sql` may open a transaction: such a statement is not sent on a shared connection (the
 * statements pipelined behind it would run inside the transaction); it borrows one, as `withConnection`
 * would, and the return checks roll the transaction back. One statement (extended protocol): its
 * leading keywords, read as PostgreSQL's scanner reads them (lexer/Leading.ts). Several (simple
 * protocol): any BEGIN or START word anywhere, erring on the safe side. What slips past both is
 * caught by the transaction guard of the shared connection (engine/guard.ts).
 */
export const mayBegin = (sql: string, simple: boolean): boolean =>
  simple ? /\b(?:begin|start)\b/i.test(sql) : opensTransaction(sql)
export const simpleOpens = (result: SimpleQueryResult) => result.results.some((r) => isBegin(r.command))

/**
 * A statement's `timeout` bounds the whole call, the wait for a connection included: the wait
 * gets the timeout (`PgTimeoutError` "not-sent" when it runs out: nothing was sent), and the
 * statement what is left of it. `undefined` without a usable timeout (a bad one fails in the
 * connection's operation, as PgConfigError).
 */
export const boundedBy = (options: OperationOptions | undefined) => {
  const millis = timeoutMillis(options?.timeout)
  if (typeof millis !== "number") return undefined
  const started = Date.now()
  return {
    wait: <A, E, R>(wait: Effect.Effect<A, E, R>): Effect.Effect<A, E | PgTimeoutError, R> =>
      Effect.timeoutOrElse(wait, {
        duration: Duration.millis(millis),
        orElse: () =>
          Effect.fail(
            new PgTimeoutError({
              message: `the query did not finish within ${millis} ms: no pool connection was free in that time, and it was never sent`,
              timeoutMillis: millis,
              cancelSent: false,
              outcome: "not-sent",
              mayHaveReachedServer: false
            })
          )
      }),
    /** The options with what is left of the timeout. */
    rest: (): OperationOptions => ({
      ...options,
      timeout: Duration.millis(Math.max(0, millis - (Date.now() - started)))
    })
  }
}
