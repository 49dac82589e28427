/**
 * The built-in query commands as the connection layer runs them: `ExtendedQuery` and
 * `SimpleQuery` are CommandRuns (engine/run.ts) of the pure commands in commands/extended.ts and
 * commands/simple.ts, with the sinks operations.ts and rowStream.ts give them; plus the small
 * rules the connection layer applies around them (which statements are COPY, which command tags
 * control a transaction, whether a statement may be sent again).
 *
 * Each request finishes only at its own ReadyForQuery, so the connection is in sync whatever the
 * caller does; an abandoned request (its fiber was interrupted) keeps draining and discards.
 * No Effect here: completion is a plain callback.
 */
import { type ExtendedArgs, type ExtendedState, extendedQuery } from "../commands/extended.ts"
import type { RowReader } from "../commands/rows.ts"
import { type SimpleResult, type SimpleState, simpleQuery } from "../commands/simple.ts"
import type { PgExpertError } from "../Errors.ts"
import type { Request } from "../engine/Engine.ts"
import { CommandRun } from "../engine/run.ts"
import { isCopy } from "../lexer/Leading.ts"
import type { AnyRow, Column, CommandComplete, Notice, SimpleQueryResult } from "../Result.ts"

export type RequestError = PgExpertError

/** What a finished extended query delivers. */
export interface ExtendedOutcome {
  readonly columns: ReadonlyArray<Column>
  readonly command: CommandComplete
  /** The parameter types, when the statement was described (its first execution, cached). */
  readonly paramTypes?: ReadonlyArray<number> | undefined
  readonly notices: ReadonlyArray<Notice>
}

export interface QuerySink {
  readonly onColumns?: (columns: ReadonlyArray<Column>) => void
  readonly onRows: (rows: Array<AnyRow>) => void
  readonly onDone: (result: ExtendedOutcome | RequestError) => void
}

/**
 * Told how a request ended even when its caller went away (statement-cache upkeep): its outcome
 * and whether the server acknowledged the Parse, or `undefined` when it was withdrawn unsent.
 */
export type SettleHook = (
  outcome: ExtendedOutcome | RequestError | undefined,
  parsed: boolean,
  described: Described
) => void

/** What the server described of the statement before the request ended (its Describe(S) answer). */
export interface Described {
  readonly columns: ReadonlyArray<Column>
  readonly paramTypes: ReadonlyArray<number> | undefined
}

const isError = (u: unknown): u is RequestError => typeof u === "object" && u !== null && "_tag" in u

/**
 * An extended query. Rows go to `onRows` once per socket read (a batch), and the end to `onDone`.
 * `onColumns` fires once, when RowDescription or NoData arrives (before any row), or at
 * BindComplete for a cached statement whose columns are known.
 */
export class ExtendedQuery extends CommandRun<
  ExtendedArgs,
  ExtendedState,
  { readonly columns: ReadonlyArray<Column>; readonly command: CommandComplete },
  ReadonlyArray<Column>
> {
  constructor(args: ExtendedArgs, sink: QuerySink, settle?: SettleHook) {
    const started = extendedQuery.start(args)
    const withNotices = (
      outcome: { readonly columns: ReadonlyArray<Column>; readonly command: CommandComplete } | RequestError,
      notices: ReadonlyArray<Notice>
    ): ExtendedOutcome | RequestError => (isError(outcome) ? outcome : { ...outcome, notices })
    super(extendedQuery, started, {
      onRows: sink.onRows,
      onResult: sink.onColumns,
      onDone: (outcome, notices) => sink.onDone(withNotices(outcome, notices)),
      onSettle:
        settle === undefined
          ? undefined
          : (outcome) =>
              settle(
                outcome === undefined ? undefined : withNotices(outcome, this.notices),
                this.state.parsed,
                { columns: this.state.columns, paramTypes: this.state.paramTypes }
              )
    })
  }

  /** The server acknowledged our Parse (the named statement exists now). */
  get parsed(): boolean {
    return this.state.parsed
  }
}

/**
 * A simple-protocol Query: every statement's result and the warnings (a COPY TO STDOUT drained),
 * or the first error (with the results of the statements before it: commands/simple.ts).
 */
export class SimpleQuery extends CommandRun<
  { readonly frames: Uint8Array; readonly exclusive?: boolean | undefined },
  SimpleState,
  SimpleResult
> {
  constructor(
    frames: Uint8Array,
    onDone: (result: SimpleQueryResult | RequestError) => void,
    exclusive: boolean
  ) {
    super(simpleQuery, simpleQuery.start({ frames, exclusive }), {
      onDone: (outcome, notices) =>
        onDone(isError(outcome) ? outcome : { results: outcome.results, notices, warnings: outcome.warnings })
    })
  }
}

/** The extended-query arguments of a statement the statement cache encoded. */
export const extendedArgs = (
  encoded: {
    readonly frames: Uint8Array
    readonly preset: ReadonlyArray<Column> | undefined
    readonly mode: "unnamed" | "prepare" | "cached"
    readonly closes: ReadonlyArray<string>
    readonly reader?: RowReader | undefined
    readonly describeStatement?: boolean | undefined
  },
  exclusive: boolean
): ExtendedArgs => ({
  describeStatement: encoded.describeStatement,
  frames: encoded.frames,
  closes: encoded.closes.length,
  parse: encoded.mode !== "cached",
  preset: encoded.preset,
  exclusive,
  reader: encoded.reader
})

/** A request the connection layer may abandon (its caller went away) or swap for a resent copy. */
export type Abandonable = Request & { abandoned: boolean }

/**
 * True when an extended-protocol statement is a COPY. COPY FROM STDIN makes the server ignore the
 * Sync already sent, so nothing may be pipelined behind such a request. Only a top-level COPY can
 * reach the client (PL/pgSQL refuses COPY to/from the client), so the first keyword decides, read
 * as PostgreSQL's scanner reads it (empty statements, both comment kinds: lexer/Leading.ts).
 */
export const isCopyStatement = (sql: string): boolean => isCopy(sql)

export { mayContainCopy } from "../lexer/Leading.ts"

/** Command tags of statements that control a transaction (a simple query that ran one is never resent). */
const CONTROL_TAGS = new Set([
  "BEGIN",
  "START TRANSACTION",
  "COMMIT",
  "ROLLBACK",
  "SAVEPOINT",
  "RELEASE",
  "PREPARE TRANSACTION",
  "COMMIT PREPARED",
  "ROLLBACK PREPARED"
])
export const isControl = (tag: string): boolean => CONTROL_TAGS.has(tag)

/** Whether a statement may be sent again now, and how its copy replaces it (operations' `timed`). */
export interface Retry {
  readonly allowed: () => boolean
  readonly swap: (next: Abandonable) => void
}

/** Whether a statement of `request` committed (a simple query's COMMIT before the one that failed). */
export const committedPart = (request: { commandTags?(): ReadonlyArray<string> }): boolean =>
  request.commandTags?.().some((tag) => tag === "COMMIT" || tag === "COMMIT PREPARED") === true
