/**
 * Spans for database operations through Effect's tracer (`Effect.withSpan`, `Stream.withSpan`),
 * with OpenTelemetry's database attributes:
 *
 * - `db.system` = "postgresql", `db.namespace` (the database), `db.client.connection.pool.name`;
 * - `db.operation.name`: the statement's first keyword ("SELECT", "COPY", ...);
 * - `db.statement`: the SQL, cut to `statementMaxLength` characters (left out when 0);
 * - `db.statement.parameters`: only with `traceParameters: true` (values may be personal data);
 * - `db.response.returned_rows` after a query, `db.response.status_code` (the SQLSTATE) on a
 *   server error.
 *
 * It does NOT create a tracer (install one, e.g. @effect/opentelemetry, to export spans) nor decide
 * which operations are traced (pool/api.ts calls `spanOptions` and `traceConnection`).
 *
 * Invariants: parameters never reach a span unless `traceParameters` is true; attributes are
 * computed once per call from the SQL text, never per row.
 */
import { Effect, Stream } from "effect"
import type { SpanOptions } from "effect/Tracer"
import type { ConnectionApi, Param } from "../internal/operations.ts"

export interface TraceSettings {
  readonly poolName: string
  readonly database: string
  readonly statementMaxLength: number
  readonly traceParameters: boolean
}

const firstKeyword = (sql: string): string | undefined => {
  const match = /^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*([A-Za-z]+)/.exec(sql)
  return match?.[1]?.toUpperCase()
}

/** Cuts `sql` to `max` characters, marking the cut. */
export const truncateStatement = (sql: string, max: number): string =>
  sql.length <= max ? sql : `${sql.slice(0, max)}…`

/** The span options of one operation. */
export const spanOptions = (
  settings: TraceSettings,
  sql?: string,
  params?: ReadonlyArray<Param>
): SpanOptions => {
  const attributes: Record<string, unknown> = {
    "db.system": "postgresql",
    "db.namespace": settings.database,
    "db.client.connection.pool.name": settings.poolName
  }
  if (sql !== undefined) {
    const operation = firstKeyword(sql)
    if (operation !== undefined) attributes["db.operation.name"] = operation
    if (settings.statementMaxLength > 0) {
      attributes["db.statement"] = truncateStatement(sql, settings.statementMaxLength)
    }
  }
  if (settings.traceParameters && params !== undefined && params.length > 0) {
    attributes["db.statement.parameters"] = JSON.stringify(params)
  }
  // No stack trace per span: it would cost more than the statement on a fast query.
  return { kind: "client", attributes, captureStackTrace: false }
}

const codeOf = (error: unknown): string | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const code = (error as { readonly code?: unknown }).code
  return typeof code === "string" ? code : undefined
}

/** Wraps an Effect in a client span named `name`. */
export const traced = <A, E, R>(
  settings: TraceSettings,
  name: string,
  effect: Effect.Effect<A, E, R>,
  sql?: string,
  params?: ReadonlyArray<Param>
): Effect.Effect<A, E, R> =>
  effect.pipe(
    Effect.tapError((error) => {
      const code = codeOf(error)
      return code === undefined ? Effect.void : Effect.annotateCurrentSpan("db.response.status_code", code)
    }),
    (self) => Effect.withSpan(self, name, spanOptions(settings, sql, params))
  )

/** Wraps a Stream in a client span that lasts until the stream ends. */
export const tracedStream = <A, E, R>(
  settings: TraceSettings,
  name: string,
  stream: Stream.Stream<A, E, R>,
  sql: string,
  params?: ReadonlyArray<Param>
): Stream.Stream<A, E, R> => Stream.withSpan(stream, name, spanOptions(settings, sql, params))

/** The same connection, with a span around each statement it runs. */
export const traceConnection = <E>(
  connection: ConnectionApi<E>,
  settings: TraceSettings
): ConnectionApi<E> => ({
  ...connection,
  query: (sql, params, options) =>
    traced(
      settings,
      "pg.query",
      Effect.tap(connection.query(sql, params, options), (result) =>
        Effect.annotateCurrentSpan("db.response.returned_rows", result.rows.length)
      ),
      sql,
      params
    ),
  queryExpectNoData: (sql, params, options) =>
    traced(settings, "pg.query", connection.queryExpectNoData(sql, params, options), sql, params),
  simpleQuery: (sql, options) =>
    traced(settings, "pg.simpleQuery", connection.simpleQuery(sql, options), sql),
  stream: (sql, params) => tracedStream(settings, "pg.stream", connection.stream(sql, params), sql, params),
  streamWithColumns: (sql, params) =>
    traced(settings, "pg.stream", connection.streamWithColumns(sql, params), sql, params),
  copyIn: (sql, source) => traced(settings, "pg.copyIn", connection.copyIn(sql, source), sql),
  copyInFeed: (sql, feed) => traced(settings, "pg.copyIn", connection.copyInFeed(sql, feed), sql),
  copyInRows: (target, rows) =>
    traced(settings, "pg.copyIn", connection.copyInRows(target, rows), `COPY ${target.table} FROM STDIN`),
  copyOut: (sql) => tracedStream(settings, "pg.copyOut", connection.copyOut(sql), sql),
  copyOutRows: (sql) => tracedStream(settings, "pg.copyOut", connection.copyOutRows(sql), sql),
  notify: (channel, payload) => traced(settings, "pg.notify", connection.notify(channel, payload), "NOTIFY")
})
