/**
 * effect/sql's `SqlConnection.Connection` over effect-pg: one implementation, given the few
 * operations it needs (`Source`), made either from the Pool itself (the one-shot path: statements
 * pipelined on a shared connection, nothing borrowed; inside a transaction, the transaction's
 * connection) or from one borrowed connection (streams, `reserve`, transactions).
 *
 * - `execute` / `executeStream`: object rows (effect-pg's default, decision 022), typed values
 *   from the codec registry, then the client's `transformRows`.
 * - `executeValues`: array rows (`rowMode: "array"`).
 * - `executeUnprepared` / `executeValuesUnprepared`: the extended protocol with the unnamed
 *   statement (a one-query pipeline), so nothing enters the statement cache.
 * - `executeRaw`: effect-pg's whole `QueryResult` (`rows`, `columns`, `command`).
 *
 * Errors become `SqlError` (errors.ts) with effect-pg's `PgError` as the reason's cause.
 *
 * It does NOT compile statements (PgClient.ts), nor open transactions (PgClient.ts maps them
 * onto the Pool's).
 */
import { Effect, Stream } from "effect"
import type { Connection } from "effect/sql/SqlConnection"
import type { SqlError } from "effect/sql/SqlError"
import type { NormalConnection } from "../Connection.ts"
import type { PgError } from "../Errors.ts"
import type { NormalPool } from "../Pool.ts"
import type { ObjectRow, QueryResult, Row } from "../Result.ts"
import { toSqlError } from "./errors.ts"

type Params = ReadonlyArray<unknown>
type Transform = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined
type P = Parameters<NormalConnection["query"]>[1]

/** What a Connection needs from effect-pg: a pool or one connection. */
export interface Source {
  readonly objects: (sql: string, params: Params) => Effect.Effect<QueryResult<ObjectRow>, PgError>
  readonly arrays: (sql: string, params: Params) => Effect.Effect<QueryResult<Row>, PgError>
  readonly stream: (sql: string, params: Params) => Stream.Stream<ObjectRow, PgError>
  readonly unprepared: <M extends "object" | "array">(
    sql: string,
    params: Params,
    rowMode: M
  ) => Effect.Effect<QueryResult<M extends "array" ? Row : ObjectRow>, PgError>
}

const unnamed =
  (connection: NormalConnection) =>
  <M extends "object" | "array">(sql: string, params: Params, rowMode: M) =>
    Effect.map(
      connection.pipeline([{ sql, params: params as P }], { mode: "transaction", rowMode }),
      (results) => results[0] as QueryResult<M extends "array" ? Row : ObjectRow>
    )

/** The operations of one borrowed connection. */
export const connectionSource = (connection: NormalConnection): Source => ({
  objects: (sql, params) => connection.query(sql, params as P),
  arrays: (sql, params) => connection.query(sql, params as P, { rowMode: "array" }),
  stream: (sql, params) => connection.stream(sql, params as P),
  unprepared: unnamed(connection)
})

/**
 * The pool's one-shot operations: nothing borrowed for `query` (pipelined on a shared
 * connection); a stream holds a connection until it ends; the unprepared forms borrow one for
 * their pipeline (the pool has no unnamed one-shot path).
 */
export const poolSource = (pool: NormalPool): Source => ({
  objects: (sql, params) => pool.query(sql, params as P),
  arrays: (sql, params) => pool.query(sql, params as P, { rowMode: "array" }),
  stream: (sql, params) => pool.stream(sql, params as P),
  unprepared: (sql, params, rowMode) => pool.withConnection((c) => unnamed(c)(sql, params, rowMode))
})

const sqlEffect = <A>(effect: Effect.Effect<A, PgError>, operation: string): Effect.Effect<A, SqlError> =>
  Effect.mapError(effect, (error) => toSqlError(error, operation))

const rowsOf = <A>(result: QueryResult<A>): ReadonlyArray<A> => result.rows

/** The effect/sql Connection over `source`. */
export const makeConnection = (source: Source): Connection => {
  const execute = (
    sql: string,
    params: Params,
    transformRows: Transform
  ): Effect.Effect<ReadonlyArray<ObjectRow>, SqlError> => {
    const rows = Effect.map(source.objects(sql, params), rowsOf)
    return sqlEffect(transformRows === undefined ? rows : Effect.map(rows, transformRows), "execute")
  }
  return {
    execute,
    executeRaw: (sql, params) => sqlEffect(source.objects(sql, params), "executeRaw"),
    executeStream: (sql, params, transformRows) => {
      const rows = Stream.mapError(source.stream(sql, params), (error) => toSqlError(error, "executeStream"))
      return transformRows === undefined
        ? rows
        : Stream.mapArray(rows, (batch) => transformRows(batch) as typeof batch)
    },
    executeValues: (sql, params) =>
      sqlEffect(Effect.map(source.arrays(sql, params), rowsOf), "executeValues"),
    executeValuesUnprepared: (sql, params) =>
      sqlEffect(Effect.map(source.unprepared(sql, params, "array"), rowsOf), "executeValuesUnprepared"),
    executeUnprepared: (sql, params, transformRows) => {
      const rows = Effect.map(source.unprepared(sql, params, "object"), rowsOf)
      return sqlEffect(
        transformRows === undefined ? rows : Effect.map(rows, transformRows),
        "executeUnprepared"
      )
    }
  }
}
