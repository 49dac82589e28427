/**
 * Batches as operations (`makePipelineOps`): `pipeline` (N extended queries in one write,
 * commands/pipeline.ts) and `executeSimple` (a simple query whose statements must not return
 * rows, commands/executeSimple.ts). Each is one request through `timed`: a timeout cancels on the
 * server whichever statement runs then, interruption abandons.
 *
 * The `mode` decides the result type (api.ts declares `pipeline` with one overload per mode):
 * - "isolated" (default): each query in its own implicit transaction; one `Exit` per query, a
 *   failing query fails alone. The call itself fails only when the connection does (or on a
 *   timeout, a refusal before sending).
 * - "transaction": one Sync for all, so outside a transaction block all or nothing; the first
 *   error fails the call (its `where` context names the query index, or the COMMIT).
 * Notices go to the query they came with (split at the boundaries the command reports). An empty
 * list answers `[]` without sending anything; a COPY in the list is refused before sending.
 *
 * It does NOT resend anything: a query of a pipeline may have taken effect.
 */
import { Effect, Exit } from "effect"
import { protocol } from "../commands/Command.ts"
import { executeSimple as executeSimpleCommand } from "../commands/executeSimple.ts"
import {
  type PipelineQuery as BoundQuery,
  pipeline as command,
  type PipelineEntry,
  type PipelineMode
} from "../commands/pipeline.ts"
import { type PgExpertError, PgProtocolError, PgServerError } from "../Errors.ts"
import { toExpertError } from "../engine/run.ts"
import type { AnyRow, CommandComplete, Notice, ObjectRow, QueryResult, RowModeOption } from "../Result.ts"
import type { Registry } from "../types/Registry.ts"
import { introspectorOf, redecode, textColumns } from "./introspect.ts"
import type { Param } from "./params.ts"
import { type CommandDeps, observeTags, runCommand } from "./runCommand.ts"
import type { OperationOptions } from "./timed.ts"
import { Values } from "./values.ts"

export type { PipelineMode }

/** One query of a pipeline: its SQL and parameters (JS values, params.ts). */
export interface PipelineQuery {
  readonly sql: string
  readonly params?: ReadonlyArray<Param> | undefined
}

/** The queries with their parameters as Bind values; a value that cannot be sent names its query. */
const bindAll = (
  values: Values,
  queries: ReadonlyArray<PipelineQuery>
): Array<BoundQuery> | PgProtocolError => {
  const bound: Array<BoundQuery> = []
  for (let i = 0; i < queries.length; i++) {
    const query = queries[i]!
    const params = values.text(query.params ?? [])
    if (params instanceof PgProtocolError)
      return PgProtocolError.notSent({ reason: params.reason, message: `query ${i}: ${params.message}` })
    bound.push({ sql: query.sql, params })
  }
  return bound
}

export interface PipelineOptions extends OperationOptions, RowModeOption {
  /** "isolated" (default): a Sync after each query; "transaction": one Sync for all. */
  readonly mode?: PipelineMode | undefined
}

/** What `pipeline` answers: one Exit per query (isolated), or every result (transaction). */
export type PipelineOutcome<E, R = ObjectRow> =
  | ReadonlyArray<Exit.Exit<QueryResult<R>, E>>
  | ReadonlyArray<QueryResult<R>>

/** The query a transaction pipeline's server error came from (the views show that query's SQL). */
const failedAt = new WeakMap<PgServerError, number>()

/**
 * The index of the query whose ErrorResponse failed a transaction-mode pipeline, or `undefined`
 * (the implicit COMMIT failed, or the error did not come from one query).
 */
export const failedQueryIndex = (error: unknown): number | undefined =>
  error instanceof PgServerError ? failedAt.get(error) : undefined

/** One query's entry with the notices that came with it. */
type Entry = { readonly entry: PipelineEntry; readonly notices: ReadonlyArray<Notice> }

const toResult = (
  entry: PipelineEntry & { readonly _tag: "Success" },
  notices: ReadonlyArray<Notice>
): QueryResult<AnyRow> => ({ columns: entry.columns, rows: entry.rows, command: entry.command, notices })

export const makePipelineOps = (deps: CommandDeps) => {
  const { writer } = deps
  /** Every tag the server answered, even for a failed or abandoned run (DISCARD ALL matters). */
  const observe = (_: unknown, run: { commandTags(): ReadonlyArray<string> }) => observeTags(deps, run)

  /** Runs the pipeline; the entries with each query's notices. */
  const values = deps.values ?? new Values()
  const run = (queries: ReadonlyArray<PipelineQuery>, mode: PipelineMode, options?: PipelineOptions) => {
    const bound = bindAll(values, queries)
    if (bound instanceof PgProtocolError) return Effect.fail(bound)
    /** notices[i]: the notices that came with query i; the rest belong to the last one. */
    const notices: Array<ReadonlyArray<Notice>> = []
    let seen = 0
    /** Queries that completed (transaction: an error belongs to the next one, or to the COMMIT). */
    let completed = 0
    // The registry the rows are decoded with: columns it has no codec for are looked up after.
    const registry = values.registry
    const ran = runCommand(
      deps,
      options,
      "the pipeline",
      command,
      { queries: bound, mode, writer, reader: values.reader(undefined, options?.rowMode ?? "object") },
      {
        onResult: (progress, request) => {
          notices[progress.index] = request.notices.slice(seen)
          seen = request.notices.length
          completed = progress.index + 1
        },
        map: (value, request) => {
          const last = value.entries.length - 1
          if (notices[last] === undefined) notices[last] = request.notices.slice(seen)
          return value.entries.map((entry, i) => ({ entry, notices: notices[i] ?? [] }))
        },
        onSettle: (outcome, request) => {
          observe(outcome, request)
          if (mode === "transaction" && outcome instanceof PgServerError && completed < queries.length) {
            failedAt.set(outcome, completed)
          }
        }
      }
    )
    return Effect.flatMap(ran, (entries) => typedAfterLookup(entries, registry))
  }

  /**
   * Columns of a type nobody had looked up came as text: the types are looked up (one catalog
   * query on this connection, introspect.ts) and those columns decoded again, as `query` does. A
   * value the looked-up codec refuses fails its query (UndecodableValue).
   */
  const typedAfterLookup = (entries: ReadonlyArray<Entry>, registry: Registry) => {
    const introspector = introspectorOf(deps.core, values)
    if (introspector === undefined) return Effect.succeed(entries)
    const text = entries.map(({ entry }) =>
      entry._tag === "Success" ? textColumns(entry.columns, registry) : []
    )
    const oids = entries.flatMap(({ entry }, i) =>
      entry._tag === "Success" ? text[i]!.map((c) => entry.columns[c]!.typeOid) : []
    )
    if (oids.length === 0) return Effect.succeed(entries)
    return Effect.callback<ReadonlyArray<Entry>>((resume) => {
      const finish = () =>
        resume(
          Effect.succeed(
            entries.map((e, i): Entry => {
              const { entry } = e
              if (entry._tag !== "Success" || text[i]!.length === 0) return e
              const problem = redecode(entry.rows, entry.columns, text[i]!, values.registry)
              if (problem === undefined) return e
              const failure = protocol(problem.reason, problem.message, { mayHaveRun: true })
              return { entry: { _tag: "Failure", failure }, notices: e.notices }
            })
          )
        )
      if (!introspector.lookup(oids, finish)) finish()
    })
  }

  const isolated = (
    queries: ReadonlyArray<PipelineQuery>,
    options?: PipelineOptions
  ): Effect.Effect<ReadonlyArray<Exit.Exit<QueryResult<AnyRow>, PgExpertError>>, PgExpertError> =>
    queries.length === 0
      ? Effect.succeed([])
      : Effect.map(run(queries, "isolated", options), (entries) =>
          entries.map(({ entry, notices }) =>
            entry._tag === "Success"
              ? Exit.succeed(toResult(entry, notices))
              : Exit.fail(toExpertError(entry.failure))
          )
        )

  const transaction = (
    queries: ReadonlyArray<PipelineQuery>,
    options?: PipelineOptions
  ): Effect.Effect<ReadonlyArray<QueryResult<AnyRow>>, PgExpertError> =>
    queries.length === 0
      ? Effect.succeed([])
      : Effect.flatMap(run(queries, "transaction", options), (entries) => {
          // A transaction's entries are all successes (an error fails the whole command), unless a
          // looked-up type's codec refused a value afterwards: that fails the call (it committed).
          const failed = entries.find(({ entry }) => entry._tag === "Failure")?.entry
          if (failed?._tag === "Failure") return Effect.fail(toExpertError(failed.failure))
          return Effect.succeed(
            entries.flatMap(({ entry, notices }) =>
              entry._tag === "Success" ? [toResult(entry, notices)] : []
            )
          )
        })

  const executeSimple = (
    sql: string,
    options?: OperationOptions
  ): Effect.Effect<ReadonlyArray<CommandComplete>, PgExpertError> =>
    runCommand(
      deps,
      options,
      "the statement",
      executeSimpleCommand,
      { sql, writer },
      {
        map: (commands) => commands,
        onSettle: observe
      }
    )

  const pipeline = (
    queries: ReadonlyArray<PipelineQuery>,
    options?: PipelineOptions
  ): Effect.Effect<PipelineOutcome<PgExpertError, AnyRow>, PgExpertError> => {
    const mode = options?.mode ?? "isolated"
    if (mode === "transaction") return transaction(queries, options)
    if (mode === "isolated") return isolated(queries, options)
    return Effect.fail(
      PgProtocolError.notSent({
        reason: "InvalidValue",
        message: `pipeline: mode must be "isolated" or "transaction", got ${JSON.stringify(mode)}`
      })
    )
  }

  return { pipeline, executeSimple }
}
