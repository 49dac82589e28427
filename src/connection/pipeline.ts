/**
 * Batches as operations (`makePipelineOps`): `pipeline` and `pipelineTransaction` (N extended
 * queries in one write, commands/pipeline.ts) and `executeSimple` (a simple query whose
 * statements must not return rows, commands/executeSimple.ts). Each is one request through
 * `timed`: a timeout cancels on the server whichever statement runs then, interruption abandons.
 *
 * Two names rather than a `mode` option, because the result types differ:
 * - `pipeline` (isolated): each query in its own implicit transaction; one `Exit` per query, a
 *   failing query fails alone. The call itself fails only when the connection does (or on a
 *   timeout, a refusal before sending).
 * - `pipelineTransaction`: one Sync for all, so outside a transaction block all or nothing; the
 *   first error fails the call (its `where` context names the query index, or the COMMIT).
 * Notices go to the query they came with (split at the boundaries the command reports). An empty
 * list answers `[]` without sending anything; a COPY in the list is refused before sending.
 *
 * It does NOT resend anything: a query of a pipeline may have taken effect.
 */
import { Effect, Exit } from "effect"
import { executeSimple as executeSimpleCommand } from "../commands/executeSimple.ts"
import {
  pipeline as command,
  type PipelineEntry,
  type PipelineMode,
  type PipelineQuery
} from "../commands/pipeline.ts"
import type { PgExpertError } from "../Errors.ts"
import { toExpertError } from "../engine/run.ts"
import type { CommandComplete, Notice, QueryResult } from "../Result.ts"
import { type CommandDeps, runCommand } from "./prepared.ts"
import type { OperationOptions } from "./timed.ts"

export type { PipelineQuery }

const toResult = (
  entry: PipelineEntry & { readonly _tag: "Success" },
  notices: ReadonlyArray<Notice>
): QueryResult => ({ columns: entry.columns, rows: entry.rows, command: entry.command, notices })

export const makePipelineOps = (deps: CommandDeps) => {
  const { writer } = deps

  /** Every tag the server answered, even for a failed or abandoned run (DISCARD ALL matters). */
  const observeTags = (_: unknown, request: { commandTags(): ReadonlyArray<string> }) => {
    const observe = deps.observe
    if (observe !== undefined) for (const tag of request.commandTags()) observe(tag)
  }

  /** Runs the pipeline; the entries with each query's notices. */
  const run = (queries: ReadonlyArray<PipelineQuery>, mode: PipelineMode, options?: OperationOptions) => {
    /** notices[i]: the notices that came with query i; the rest belong to the last one. */
    const notices: Array<ReadonlyArray<Notice>> = []
    let seen = 0
    return runCommand(
      deps,
      options,
      "the pipeline",
      command,
      { queries, mode, writer },
      {
        onResult: (progress, request) => {
          notices[progress.index] = request.notices.slice(seen)
          seen = request.notices.length
        },
        map: (value, request) => {
          const last = value.entries.length - 1
          if (notices[last] === undefined) notices[last] = request.notices.slice(seen)
          return value.entries.map((entry, i) => ({ entry, notices: notices[i] ?? [] }))
        },
        onSettle: observeTags
      }
    )
  }

  const pipeline = (
    queries: ReadonlyArray<PipelineQuery>,
    options?: OperationOptions
  ): Effect.Effect<ReadonlyArray<Exit.Exit<QueryResult, PgExpertError>>, PgExpertError> =>
    queries.length === 0
      ? Effect.succeed([])
      : Effect.map(run(queries, "isolated", options), (entries) =>
          entries.map(({ entry, notices }) =>
            entry._tag === "Success"
              ? Exit.succeed(toResult(entry, notices))
              : Exit.fail(toExpertError(entry.failure))
          )
        )

  const pipelineTransaction = (
    queries: ReadonlyArray<PipelineQuery>,
    options?: OperationOptions
  ): Effect.Effect<ReadonlyArray<QueryResult>, PgExpertError> =>
    queries.length === 0
      ? Effect.succeed([])
      : Effect.map(run(queries, "transaction", options), (entries) =>
          // A transaction's entries are all successes: an error fails the whole command.
          entries.flatMap(({ entry, notices }) =>
            entry._tag === "Success" ? [toResult(entry, notices)] : []
          )
        )

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
        onSettle: observeTags
      }
    )

  return { pipeline, pipelineTransaction, executeSimple }
}
