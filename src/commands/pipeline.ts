/**
 * The pipeline command: N extended queries written at once (one buffer, one socket write), each
 * one Parse("") + Bind("", "") + Describe(P) + Execute, with its rows collected.
 *
 * Modes:
 * - "isolated": every query ends with its own Sync, so each is its own implicit transaction
 *   (outside a transaction block) and an error fails that query alone: the server skips to its
 *   Sync and goes on with the next. N ReadyForQuery; the command emits a `Result` (index and
 *   entry) at each ReadyForQuery but the last, and ends on the last one with every entry.
 * - "transaction": one Sync after the last query, so outside a transaction block the server runs
 *   them all in one implicit transaction: all or nothing. On an error the server skips every later
 *   query up to the Sync; the command fails with that error, whose context (`where`) gains a line
 *   naming the query index (0-based) that failed, or the implicit COMMIT. The command emits a
 *   `Result` at each CommandComplete (that query is done; the transaction may still fail).
 *   Inside a transaction block both modes run in that block, and its first error aborts it.
 *
 * Wire transcript per query (Frontend/Backend Protocol, "Extended Query", "Pipelining"):
 *   ParseComplete, BindComplete, RowDescription | NoData, DataRow*, CommandComplete |
 *   EmptyQueryResponse, then ReadyForQuery (isolated: after each; transaction: after the last);
 *   or ErrorResponse at any point (also after CommandComplete: a deferred constraint at the
 *   COMMIT of the Sync), then ReadyForQuery. Anything out of that order is `Unexpected`.
 *
 * COPY statements are refused before anything is sent (a COPY FROM STDIN would make the server
 * ignore the Syncs behind it); an empty list is refused too (the connection layer answers it).
 * It does NOT decide retries or timeouts (connection/pipeline.ts).
 */
import { isCopy } from "../lexer/Leading.ts"
import type { BackendMessage } from "../protocol/Backend.ts"
import type { ErrorFields } from "../protocol/ErrorFields.ts"
import {
  DESCRIBE_UNNAMED_PORTAL,
  EXECUTE_UNNAMED,
  writeBind,
  writeParse,
  writeSync
} from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import { decodeTextRow } from "../protocol/TextRow.ts"
import type { Writer } from "../protocol/Writer.ts"
import { type AnyRow, type Column, type CommandComplete, parseCommandTag } from "../Result.ts"
import {
  CONTINUE,
  type Command,
  done,
  type Failure,
  fail,
  protocol,
  result,
  type Start,
  type Step,
  serverError,
  unexpected,
  unexpectedMessage
} from "./Command.ts"
import { encodeFrames } from "./prepare.ts"
import { isDecodeFailure, type ReadRow, type RowReader, readRow } from "./rows.ts"
import { rowProblem } from "./shared.ts"

export interface PipelineQuery {
  readonly sql: string
  /** Parameters as Bind values (text; `null` is SQL NULL): connection/params.ts encodes JS values. */
  readonly params?: ReadonlyArray<string | null> | undefined
}

export type PipelineMode = "isolated" | "transaction"

export interface PipelineArgs {
  readonly queries: ReadonlyArray<PipelineQuery>
  readonly mode: PipelineMode
  /** Where to encode (the connection's Writer); default the commands' own. */
  readonly writer?: Writer | undefined
  /** Typed results (commands/rows.ts), one reader for every query in turn; absent: text rows. */
  readonly reader?: RowReader | undefined
}

/** One query's outcome. */
export type PipelineEntry =
  | {
      readonly _tag: "Success"
      readonly columns: ReadonlyArray<Column>
      readonly rows: ReadonlyArray<AnyRow>
      readonly command: CommandComplete
    }
  | { readonly _tag: "Failure"; readonly failure: Failure }

/** The intermediate result: query `index` is over (see the modes for when). */
export interface PipelineProgress {
  readonly index: number
  readonly entry: PipelineEntry
}

export interface PipelineResult {
  /** One entry per query, in order (transaction mode: all successes). */
  readonly entries: ReadonlyArray<PipelineEntry>
}

type Phase = "parse" | "bind" | "describe" | "rows" | "complete" | "failed"

export interface PipelineState {
  readonly mode: PipelineMode
  readonly count: number
  /** The query the next message belongs to. */
  index: number
  phase: Phase
  columns: ReadonlyArray<Column>
  noData: boolean
  rows: Array<AnyRow>
  command: CommandComplete | undefined
  /** The current query's failure (isolated), or the pipeline's (transaction). */
  failure: Failure | undefined
  readonly entries: Array<PipelineEntry>
  readonly reader: RowReader | undefined
  /**
   * A value that did not decode (typed results): the query's outcome (isolated), or the
   * pipeline's (transaction) unless a server error comes; its later rows are dropped.
   */
  undecodable: Failure | undefined
}

type PipelineStep = Step<PipelineResult, PipelineProgress>

const NAME = "a pipeline"
const EMPTY_COMMAND: CommandComplete = { tag: "", command: "", rows: undefined }

/** The error's context with one more line: where in the pipeline it happened. */
const withContext = (fields: ErrorFields, line: string): ErrorFields => ({
  ...fields,
  where: fields.where === undefined || fields.where === "" ? line : `${fields.where}\n${line}`
})

const failureOf = (state: PipelineState, fields: ErrorFields): Failure => {
  if (state.mode === "isolated") return serverError(fields)
  const where =
    state.phase === "complete"
      ? `pipeline COMMIT (after all ${state.count} queries)`
      : `pipeline query index ${state.index} (of ${state.count} queries)`
  return serverError(withContext(fields, where))
}

/** The next query starts (its messages come next). */
const next = (state: PipelineState): void => {
  state.index++
  state.phase = "parse"
  state.columns = []
  state.noData = false
  state.rows = []
  state.command = undefined
  state.failure = undefined
  if (state.mode === "isolated") state.undecodable = undefined
}

const onRow = (state: PipelineState, value: ReadRow): PipelineStep => {
  if (isDecodeFailure(value)) {
    state.undecodable ??= value.failure
    return CONTINUE
  }
  const problem = rowProblem(value, state.columns)
  if (problem !== undefined) return problem
  if (state.undecodable === undefined) state.rows.push(value as AnyRow)
  return CONTINUE
}

const rowsAllowed = (state: PipelineState) => state.phase === "rows" && !state.noData

/** CommandComplete or EmptyQueryResponse: the query is done (transaction: the next one starts). */
const onComplete = (state: PipelineState, command: CommandComplete): PipelineStep => {
  state.command = command
  if (state.mode === "isolated") {
    state.phase = "complete"
    return CONTINUE
  }
  const entry: PipelineEntry = { _tag: "Success", columns: state.columns, rows: state.rows, command }
  state.entries.push(entry)
  const index = state.index
  if (index + 1 < state.count) next(state)
  else state.phase = "complete"
  return result({ index, entry })
}

const onReady = (state: PipelineState, message: BackendMessage): PipelineStep => {
  if (state.phase !== "complete" && state.phase !== "failed") {
    return unexpectedMessage(NAME, message, `query ${state.index}, ${state.phase}`)
  }
  if (state.mode === "transaction") {
    if (state.phase === "failed") return fail(state.failure!)
    return state.undecodable === undefined ? done({ entries: state.entries }) : fail(state.undecodable)
  }
  const failure = state.phase === "failed" ? state.failure! : state.undecodable
  const entry: PipelineEntry =
    failure !== undefined
      ? { _tag: "Failure", failure }
      : { _tag: "Success", columns: state.columns, rows: state.rows, command: state.command! }
  state.entries.push(entry)
  const index = state.index
  if (index + 1 === state.count) return done({ entries: state.entries })
  next(state)
  return result({ index, entry })
}

/** The phase a message of the extended-query sequence moves on from, and the one it leads to. */
const SEQUENCE: Partial<Record<BackendMessage["_tag"], readonly [Phase, Phase]>> = {
  ParseComplete: ["parse", "bind"],
  BindComplete: ["bind", "describe"],
  NoData: ["describe", "rows"],
  RowDescription: ["describe", "rows"]
}

const onMessage = (state: PipelineState, message: BackendMessage): PipelineStep => {
  const where = `query ${state.index}, ${state.phase}`
  const sequence = SEQUENCE[message._tag]
  if (sequence !== undefined) {
    if (state.phase !== sequence[0]) return unexpectedMessage(NAME, message, where)
    state.phase = sequence[1]
    if (message._tag === "RowDescription") {
      state.columns = message.fields
      state.reader?.plan(state.columns)
    }
    if (message._tag === "NoData") state.noData = true
    return CONTINUE
  }
  switch (message._tag) {
    case "DataRow":
      if (!rowsAllowed(state)) return unexpectedMessage(NAME, message, where)
      return onRow(state, decodeTextRow(message.columns))
    case "CommandComplete":
    case "EmptyQueryResponse":
      if (state.phase !== "rows") return unexpectedMessage(NAME, message, where)
      return onComplete(
        state,
        message._tag === "CommandComplete" ? parseCommandTag(message.tag) : EMPTY_COMMAND
      )
    case "ErrorResponse":
      if (state.phase === "failed") return unexpectedMessage(NAME, message, `${where}: after an error`)
      state.failure = failureOf(state, message.fields)
      state.phase = "failed"
      return CONTINUE
    case "ReadyForQuery":
      return onReady(state, message)
    default:
      return unexpectedMessage(NAME, message, where)
  }
}

/** Encodes every query; an encoding problem names the query it is in. */
const encode = (args: PipelineArgs) =>
  encodeFrames((w) => {
    const isolated = args.mode === "isolated"
    for (let i = 0; i < args.queries.length; i++) {
      const query = args.queries[i]!
      const problem = writeParse(w, "", query.sql, []) ?? writeBind(w, "", "", query.params ?? [])
      if (problem !== undefined) {
        return new ProtocolError(problem.reason, `query ${i}: ${problem.message}`, problem.messageType)
      }
      w.bytes(DESCRIBE_UNNAMED_PORTAL)
      w.bytes(EXECUTE_UNNAMED)
      if (isolated) writeSync(w)
    }
    if (!isolated) writeSync(w)
    return undefined
  }, args.writer)

/** Why the queries cannot be sent (nothing is): none, or a COPY among them. */
const refusal = (args: PipelineArgs): Failure | undefined => {
  if (args.queries.length === 0) {
    return protocol("InvalidValue", "a pipeline needs at least one query", { mayHaveRun: false })
  }
  const copy = args.queries.findIndex((q) => isCopy(q.sql))
  if (copy < 0) return undefined
  return protocol("CopyNotSupported", `query ${copy} of the pipeline is a COPY; use copyIn or copyOut`, {
    mayHaveRun: false
  })
}

/** The pipeline command (`pipeline`, both modes). */
export const pipeline = {
  name: "pipeline",
  start: (args: PipelineArgs): Start<PipelineState> | Failure => {
    const refused = refusal(args)
    if (refused !== undefined) return refused
    const frames = encode(args)
    if (!(frames instanceof Uint8Array)) return frames
    return {
      frames,
      state: {
        mode: args.mode,
        count: args.queries.length,
        index: 0,
        phase: "parse",
        columns: [],
        noData: false,
        rows: [],
        command: undefined,
        failure: undefined,
        entries: [],
        reader: args.reader,
        undecodable: undefined
      }
    }
  },
  onMessage,
  onDataRow: (state, body) => {
    if (!rowsAllowed(state)) {
      return unexpected(
        protocol(
          "UnexpectedMessage",
          `unexpected DataRow during a pipeline (query ${state.index}, ${state.phase})`
        )
      )
    }
    return onRow(state, readRow(state.reader, body))
  },
  tags: (state) => {
    const tags: Array<string> = []
    for (const entry of state.entries) {
      if (entry._tag === "Success" && entry.command.tag !== "") tags.push(entry.command.tag)
    }
    // Isolated: the current query completed but its ReadyForQuery has not come yet.
    const pending = state.mode === "isolated" && state.entries.length === state.index
    if (pending && state.command !== undefined && state.command.tag !== "") tags.push(state.command.tag)
    return tags
  }
} satisfies Command<PipelineArgs, PipelineState, PipelineResult, PipelineProgress>
