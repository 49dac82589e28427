/**
 * Spans for database operations through Effect's tracer (`Effect.withSpan`, `Stream.withSpan`),
 * with OpenTelemetry's database attributes:
 *
 * the stable generation of the conventions (as effect's own sql module and @effect/sql-pg use):
 * - `db.system.name` = "postgresql", `db.namespace` (the database), `server.address` and
 *   `server.port` (the first configured host), `db.client.connection.pool.name`;
 * - `db.operation.name`: the statement's first keyword ("SELECT", "COPY", ...);
 * - `db.query.text`: the SQL, cut to `statementMaxLength` characters (left out when 0);
 * - `db.collection.name`: the table, where the client knows it (copyInRows);
 * - `db.query.parameter.<n>` (n from 0): only with `traceParameters: true` (values may be
 *   personal data);
 * - `db.response.returned_rows` after a query, `db.response.status_code` (the SQLSTATE) on a
 *   server error.
 *
 * Cost: a statement's span is a leaf (no user code runs inside it), so it is made only when
 * someone can see it: a tracer other than Effect's built-in `nativeTracer` is installed, tracing
 * is enabled (`References.TracerEnabled`) and the parent span, if any, is sampled. Otherwise the
 * statement runs bare (`leaf`): no span, no attribute, no Context change. The attributes of a
 * statement without recorded parameters are computed once per SQL text and shared (a bounded
 * cache). No span captures a stack trace.
 *
 * It does NOT create a tracer (install one, e.g. @effect/opentelemetry, to export spans) nor decide
 * which operations are traced (pool/api.ts calls `leaf`, `traced`, and `traceLift` for the
 * connections it lends).
 *
 * Invariants: parameters never reach a span unless `traceParameters` is true; attributes are
 * computed at most once per call from the SQL text, never per row; spans that wrap user code
 * (`traced`: transactions, savepoints) are always made, so `Effect.currentSpan` inside them is
 * the same with or without an exporter.
 */
import { Effect, type Fiber, Stream, Tracer } from "effect"
import type { SpanOptions } from "effect/Tracer"
import type { Lift } from "../connection/api.ts"
import type { Param } from "../connection/operations.ts"
import type { PgExpertError } from "../Errors.ts"
import { firstKeyword } from "../lexer/Leading.ts"

export interface TraceSettings {
  readonly poolName: string
  readonly database: string
  /** The first configured host and its port (`server.address`, `server.port`). */
  readonly serverAddress: string
  readonly serverPort: number
  readonly statementMaxLength: number
  readonly traceParameters: boolean
}

/** Cuts `sql` to `max` characters, marking the cut. */
export const truncateStatement = (sql: string, max: number): string =>
  sql.length <= max ? sql : `${sql.slice(0, max)}…`

const build = (settings: TraceSettings, sql?: string, params?: ReadonlyArray<Param>): SpanOptions => {
  const attributes: Record<string, unknown> = {
    "db.system.name": "postgresql",
    "db.namespace": settings.database,
    "server.address": settings.serverAddress,
    "server.port": settings.serverPort,
    "db.client.connection.pool.name": settings.poolName
  }
  if (sql !== undefined) {
    const operation = firstKeyword(sql)
    if (operation !== undefined) attributes["db.operation.name"] = operation
    if (settings.statementMaxLength > 0) {
      attributes["db.query.text"] = truncateStatement(sql, settings.statementMaxLength)
    }
  }
  if (settings.traceParameters && params !== undefined) {
    for (let i = 0; i < params.length; i++) {
      const value = params[i]
      attributes[`db.query.parameter.${i}`] = value === null ? "NULL" : value
    }
  }
  // No stack trace per span: it would cost more than the statement on a fast query.
  return { kind: "client", attributes, captureStackTrace: false }
}

/** How many SQL texts keep their span options per settings object before the cache starts over. */
const CACHE_LIMIT = 512
const caches = new WeakMap<TraceSettings, Map<string, SpanOptions>>()

/**
 * The span options of one operation. Options without parameters are shared between calls with
 * the same SQL (read-only: spans copy the attributes).
 */
export const spanOptions = (
  settings: TraceSettings,
  sql?: string,
  params?: ReadonlyArray<Param>
): SpanOptions => {
  if (sql === undefined || (settings.traceParameters && params !== undefined && params.length > 0)) {
    return build(settings, sql, params)
  }
  let cache = caches.get(settings)
  if (cache === undefined) {
    cache = new Map()
    caches.set(settings, cache)
  }
  let options = cache.get(sql)
  if (options === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear()
    options = build(settings, sql)
    cache.set(sql, options)
  }
  return options
}

/**
 * Whether a span made now by `fiber` could be seen: tracing enabled, a tracer other than the
 * built-in `nativeTracer` (which keeps spans in memory and exports nothing), and no unsampled
 * parent (its children are unsampled too).
 */
export const tracingActive = (fiber: Fiber.Fiber<unknown, unknown>): boolean => {
  const cache = fiber.cache
  if (!cache.tracerEnabled) return false
  const tracer = cache.tracer
  if (tracer === undefined || tracer === Tracer.nativeTracer) return false
  return cache.span === undefined || cache.span.sampled
}

const codeOf = (error: unknown): string | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const code = (error as { readonly code?: unknown }).code
  return typeof code === "string" ? code : undefined
}

const annotateCode = (error: unknown) => {
  const code = codeOf(error)
  return code === undefined ? Effect.void : Effect.annotateCurrentSpan("db.response.status_code", code)
}

/** Wraps an Effect in a client span named `name`, always (it may run user code). */
export const traced = <A, E, R>(
  settings: TraceSettings,
  name: string,
  effect: Effect.Effect<A, E, R>,
  sql?: string,
  params?: ReadonlyArray<Param>
): Effect.Effect<A, E, R> =>
  Effect.withSpan(Effect.tapError(effect, annotateCode), name, spanOptions(settings, sql, params))

/**
 * `traced` for a statement that runs no user code, made only when `tracingActive`. `rows`, when
 * given, reads `db.response.returned_rows` from the result.
 */
export const leaf = <A, E, R>(
  fiber: Fiber.Fiber<unknown, unknown>,
  settings: TraceSettings,
  name: string,
  effect: Effect.Effect<A, E, R>,
  sql?: string,
  params?: ReadonlyArray<Param>,
  rows?: (result: A) => number
): Effect.Effect<A, E, R> => {
  if (!tracingActive(fiber)) return effect
  const counted =
    rows === undefined
      ? effect
      : Effect.tap(effect, (result) => Effect.annotateCurrentSpan("db.response.returned_rows", rows(result)))
  return traced(settings, name, counted, sql, params)
}

/** `leaf`, deciding when the Effect runs. */
export const leafLazy = <A, E, R>(
  settings: TraceSettings,
  name: string,
  effect: Effect.Effect<A, E, R>,
  sql?: string,
  params?: ReadonlyArray<Param>,
  rows?: (result: A) => number
): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) => leaf(fiber, settings, name, effect, sql, params, rows))

/** Wraps a Stream in a client span that lasts until the stream ends. */
export const tracedStream = <A, E, R>(
  settings: TraceSettings,
  name: string,
  stream: Stream.Stream<A, E, R>,
  sql: string,
  params?: ReadonlyArray<Param>
): Stream.Stream<A, E, R> => Stream.withSpan(stream, name, spanOptions(settings, sql, params))

/** Names the table of the current span (`db.collection.name`), where the client knows it. */
export const collection = (table: string): Effect.Effect<void> =>
  Effect.annotateCurrentSpan("db.collection.name", table)

/** Span names of the operations that run no user code: a leaf span, made only when it can be seen. */
const LEAVES: Readonly<Record<string, string>> = {
  query: "pg.query",
  queryExpectNoData: "pg.query",
  simpleQuery: "pg.simpleQuery",
  notify: "pg.notify",
  prepare: "pg.prepare",
  execute: "pg.execute",
  describe: "pg.describe",
  closeStatement: "pg.closeStatement",
  pipeline: "pg.pipeline",
  executeSimple: "pg.executeSimple"
}

/** Operations that run user code inside (a COPY source) or hand out a stream: always a span. */
const WRAPPED: Readonly<Record<string, string>> = {
  copyIn: "pg.copyIn",
  copyInFeed: "pg.copyIn",
  copyInRows: "pg.copyIn",
  streamWithColumns: "pg.stream"
}

/** Streams: a span that lasts until the stream ends. */
const STREAMS: Readonly<Record<string, string>> = {
  stream: "pg.stream",
  copyOut: "pg.copyOut",
  copyOutRows: "pg.copyOut",
  copyOutTyped: "pg.copyOut",
  cursor: "pg.cursor"
}

/** `db.response.returned_rows` of a result that has rows (query, execute). */
const returnedRows = (result: unknown): number | undefined => {
  const rows = typeof result === "object" && result !== null ? (result as { rows?: unknown }).rows : undefined
  return Array.isArray(rows) ? rows.length : undefined
}

const annotateRows = (result: unknown) => {
  const n = returnedRows(result)
  return n === undefined ? Effect.void : Effect.annotateCurrentSpan("db.response.returned_rows", n)
}

/**
 * The tracing view of a connection (a `Lift` for connection/api.ts `makeApi`): a span around each
 * statement it runs, named by the operation; errors unchanged. Operations not listed above
 * (close, listen, cancel, heartbeat, custom commands) run without a span of their own.
 */
export const traceLift = (settings: TraceSettings): Lift<PgExpertError> => ({
  effect: (self, { operation, sql, params, table }) => {
    const leafName = LEAVES[operation]
    if (leafName !== undefined) {
      return Effect.withFiber((fiber) =>
        tracingActive(fiber)
          ? traced(settings, leafName, Effect.tap(self, annotateRows), sql, params as ReadonlyArray<Param>)
          : self
      ) as never
    }
    const wrapName = WRAPPED[operation]
    if (wrapName === undefined) return self as never
    const body = table === undefined ? self : Effect.andThen(collection(table), self)
    return traced(settings, wrapName, body, sql, params as ReadonlyArray<Param>) as never
  },
  stream: (self, { operation, sql, params }) => {
    const name = STREAMS[operation]
    return (
      name === undefined || sql === undefined
        ? self
        : tracedStream(settings, name, self, sql, params as ReadonlyArray<Param>)
    ) as never
  },
  error: (error) => error
})
