/**
 * Schema-decoded results: combinators that decode the rows of a query, a stream or a cursor with
 * an Effect Schema (issue 12 item 7, decision 025; docs/types.md "Schema").
 *
 * ```ts
 * const User = Schema.Struct({ id: Schema.BigInt, name: Schema.String })
 * const users = yield* conn.query("select id, name from users").pipe(Rows.decode(User))
 * const user = yield* conn.query("select id, name from users where id = $1", [id]).pipe(Rows.decodeOne(User))
 * yield* conn.stream("select id, name from users").pipe(Rows.decodeStream(User), Stream.runForEach(f))
 * ```
 *
 * Does: decode each row as it is — an object row (keyed by column name) with a `Schema.Struct`,
 * an array row (`rowMode: "array"`) with a `Schema.Tuple` — and fail with `PgRowDecodeError`
 * naming the row (1-based), the column, the value's JS type and, when the columns are known, the
 * column's PostgreSQL type (looked up in the `TypeRegistry` of the context where decoding runs).
 * `decodeOne` wants exactly one row, `decodeOption` at most one (more is `PgTooManyRowsError`: a
 * query that may return several rows and wants the first says `limit 1`).
 * Does NOT: touch the connection. Decoding runs after the rows arrived, so a refused row fails
 * only the combinator's effect; the query had completed, and the connection is ready for the next
 * one. On a stream the refusal ends the stream, which abandons the query as any early end of a
 * stream does (the connection drains it). It does not convert rows between shapes, retry, or
 * report more than the first refused row. Rows are parsed a batch at a time (a result, or one
 * socket read of a stream) by one `Schema.Array(schema)` parser.
 */
import { Effect, Option, Result, Schema, SchemaIssue, SchemaParser, Stream } from "effect"
import { TypeRegistry } from "./connection/typeRegistry.ts"
import type { Column } from "./Result.ts"
import {
  PgNoRowsError,
  type PgRowDecodeError,
  PgTooManyRowsError,
  rowContext,
  rowDecodeError
} from "./schema/errors.ts"

export { PgNoRowsError, PgRowDecodeError, PgTooManyRowsError } from "./schema/errors.ts"

/** What the combinators read from a result: its columns and its rows (object or array rows). */
export interface RowsResult {
  readonly columns: ReadonlyArray<Column>
  readonly rows: ReadonlyArray<unknown>
}

/** A Schema that decodes one row: anything with a decoded type and decoding services. */
export type RowSchema = Schema.Top

/** A parser of a batch of rows: `Schema.Array(schema)`, made once per combinator. */
type BatchParser<S extends RowSchema> = (
  rows: unknown
) => Effect.Effect<Array<S["Type"]>, SchemaIssue.Issue, S["DecodingServices"]>

const batchParser = <S extends RowSchema>(schema: S): BatchParser<S> =>
  SchemaParser.decodeUnknownEffect(Schema.Array(schema)) as BatchParser<S>

/**
 * The failing row's index and its own issue, from the issue of a batch: the batch parser reports
 * `Composite[Pointer([index], issue), …]`, the first failure first (the default parse options
 * stop there).
 */
const rowIssue = (
  issue: SchemaIssue.Issue
): { readonly index: number; readonly issue: SchemaIssue.Issue } => {
  const top = issue._tag === "Composite" && issue.issues.length > 0 ? issue.issues[0]! : issue
  if (top._tag === "Pointer" && typeof top.path[0] === "number") {
    const inner = top.path.length === 1 ? top.issue : new SchemaIssue.Pointer(top.path.slice(1), top.issue)
    return { index: top.path[0], issue: inner }
  }
  return { index: 0, issue }
}

/** What `decodeRows` gives: the rows decoded before the first refused one, and its error. */
interface Decoded<A> {
  readonly decoded: Array<A>
  readonly error: PgRowDecodeError | undefined
}

/**
 * Decodes `rows` (numbered from `first`) as one batch. On a refusal: its error, which names the
 * row and column (the TypeRegistry is read only then), and, when `prefix` is asked for, the rows
 * before the refused one (decoded again: the batch's own result is gone with its failure).
 */
const decodeRows = <S extends RowSchema>(
  parse: BatchParser<S>,
  rows: ReadonlyArray<unknown>,
  first: number,
  columns: ReadonlyArray<Column> | undefined,
  prefix: boolean
): Effect.Effect<Decoded<S["Type"]>, never, S["DecodingServices"]> =>
  Effect.flatMap(
    Effect.result(parse(rows)),
    (result): Effect.Effect<Decoded<S["Type"]>, never, S["DecodingServices"]> => {
      if (Result.isSuccess(result)) return Effect.succeed({ decoded: result.success, error: undefined })
      const failed = rowIssue(result.failure)
      const error = Effect.map(Effect.service(TypeRegistry), (types) =>
        rowDecodeError(
          failed.issue,
          rows[failed.index],
          first + failed.index,
          rowContext(columns, types.registry)
        )
      )
      if (!prefix || failed.index === 0) return Effect.map(error, (e) => ({ decoded: [], error: e }))
      return Effect.flatMap(Effect.result(parse(rows.slice(0, failed.index))), (before) =>
        Effect.map(error, (e) => ({ decoded: Result.isSuccess(before) ? before.success : [], error: e }))
      )
    }
  )

/** Every row decoded, or the first refused row's error. */
const decodeArray = <S extends RowSchema>(
  parse: BatchParser<S>,
  rows: ReadonlyArray<unknown>,
  first: number,
  columns: ReadonlyArray<Column> | undefined
): Effect.Effect<Array<S["Type"]>, PgRowDecodeError, S["DecodingServices"]> =>
  Effect.flatMap(decodeRows(parse, rows, first, columns, false), (out) =>
    out.error === undefined ? Effect.succeed(out.decoded) : Effect.fail(out.error)
  )

/**
 * The rows of a result already in hand (a `pipeline` result, an `Exit`'s value), decoded with
 * `schema`: every row, or the first refused row's `PgRowDecodeError`.
 */
export const decodeResult =
  <S extends RowSchema>(schema: S) =>
  (result: RowsResult): Effect.Effect<Array<S["Type"]>, PgRowDecodeError, S["DecodingServices"]> =>
    decodeArray(batchParser(schema), result.rows, 1, result.columns)

/**
 * Every row of the query, decoded: `conn.query(sql, params).pipe(Rows.decode(User))`. Zero rows
 * is an empty array.
 */
export const decode = <S extends RowSchema>(schema: S) => {
  const parse = batchParser(schema)
  return <E, R>(
    self: Effect.Effect<RowsResult, E, R>
  ): Effect.Effect<Array<S["Type"]>, E | PgRowDecodeError, R | S["DecodingServices"]> =>
    Effect.flatMap(self, (result) => decodeArray(parse, result.rows, 1, result.columns))
}

const rowCount = (n: number): string => `${n} row${n === 1 ? "" : "s"}`

/**
 * The query's one row, decoded. No row fails with `PgNoRowsError`, more than one with
 * `PgTooManyRowsError` (nothing is decoded then).
 */
export const decodeOne = <S extends RowSchema>(schema: S) => {
  const parse = batchParser(schema)
  return <E, R>(
    self: Effect.Effect<RowsResult, E, R>
  ): Effect.Effect<
    S["Type"],
    E | PgRowDecodeError | PgNoRowsError | PgTooManyRowsError,
    R | S["DecodingServices"]
  > =>
    Effect.flatMap(
      self,
      (
        result
      ): Effect.Effect<
        S["Type"],
        PgRowDecodeError | PgNoRowsError | PgTooManyRowsError,
        S["DecodingServices"]
      > => {
        const n = result.rows.length
        if (n === 0) return Effect.fail(new PgNoRowsError({ message: "expected exactly one row, got none" }))
        if (n > 1)
          return Effect.fail(
            new PgTooManyRowsError({ message: `expected exactly one row, got ${rowCount(n)}`, rows: n })
          )
        return Effect.map(decodeArray(parse, result.rows, 1, result.columns), (rows) => rows[0] as S["Type"])
      }
    )
}

/**
 * The query's row, decoded, if there is one: `Option.none()` for no row, `PgTooManyRowsError`
 * for more than one.
 */
export const decodeOption = <S extends RowSchema>(schema: S) => {
  const parse = batchParser(schema)
  return <E, R>(
    self: Effect.Effect<RowsResult, E, R>
  ): Effect.Effect<
    Option.Option<S["Type"]>,
    E | PgRowDecodeError | PgTooManyRowsError,
    R | S["DecodingServices"]
  > =>
    Effect.flatMap(
      self,
      (
        result
      ): Effect.Effect<
        Option.Option<S["Type"]>,
        PgRowDecodeError | PgTooManyRowsError,
        S["DecodingServices"]
      > => {
        const n = result.rows.length
        if (n === 0) return Effect.succeed(Option.none())
        if (n > 1)
          return Effect.fail(
            new PgTooManyRowsError({ message: `expected at most one row, got ${rowCount(n)}`, rows: n })
          )
        return Effect.map(decodeArray(parse, result.rows, 1, result.columns), (rows) =>
          Option.some(rows[0] as S["Type"])
        )
      }
    )
}

/** Options of `decodeStream`. */
export interface DecodeStreamOptions {
  /** The stream's columns (`streamWithColumns` gives them): the error then names column types. */
  readonly columns?: ReadonlyArray<Column> | undefined
}

/**
 * A stream of rows (`stream`, `cursor`, or `streamWithColumns`' `rows`), decoded row by row as the
 * consumer pulls. The first refused row fails the stream with `PgRowDecodeError` (rows are
 * numbered from 1 at the stream's start); the stream then ends, which abandons the query.
 */
export const decodeStream = <S extends RowSchema>(schema: S, options?: DecodeStreamOptions) => {
  const parse = batchParser(schema)
  const columns = options?.columns
  return <E, R>(
    self: Stream.Stream<unknown, E, R>
  ): Stream.Stream<S["Type"], E | PgRowDecodeError, R | S["DecodingServices"]> =>
    Stream.flatMap(
      Stream.mapAccumArrayEffect(
        self,
        () => 1,
        (next, rows) =>
          Effect.map(
            decodeRows(parse, rows, next, columns, true),
            (out) => [next + rows.length, [out]] as const
          )
      ),
      // The rows decoded before a refused one still reach the consumer, then the stream fails.
      (out) =>
        out.error === undefined
          ? Stream.fromArray(out.decoded)
          : Stream.concat(Stream.fromArray(out.decoded), Stream.fail(out.error))
    )
}

/**
 * `streamWithColumns`' result with its rows decoded; the error names each column's PostgreSQL
 * type: `conn.streamWithColumns(sql).pipe(Rows.decodeStreamWithColumns(User))` (in a Scope, as
 * `streamWithColumns` is).
 */
export const decodeStreamWithColumns =
  <S extends RowSchema>(schema: S) =>
  <E, R, E2, R2>(
    self: Effect.Effect<
      { readonly columns: ReadonlyArray<Column>; readonly rows: Stream.Stream<unknown, E2, R2> },
      E,
      R
    >
  ): Effect.Effect<
    {
      readonly columns: ReadonlyArray<Column>
      readonly rows: Stream.Stream<S["Type"], E2 | PgRowDecodeError, R2 | S["DecodingServices"]>
    },
    E,
    R
  > =>
    Effect.map(self, ({ columns, rows }) => ({
      columns,
      rows: decodeStream(schema, { columns })(rows)
    }))
