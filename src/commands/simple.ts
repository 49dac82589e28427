/**
 * The simple-query command: one Query message, which may hold several statements; every
 * statement's result (columns, rows, command tag) and the warnings, or the first error with the
 * results of the statements that completed before it.
 *
 * Wire transcript (Frontend/Backend Protocol, "Simple Query", "COPY Operations"):
 *   Query → ((RowDescription DataRow*)? CommandComplete | EmptyQueryResponse
 *           | CopyOutResponse CopyData* CopyDone CommandComplete
 *           | CopyInResponse → CopyFail, ErrorResponse)* [ErrorResponse] ReadyForQuery
 * Anything out of that order is `Unexpected` (the connection fails), including a DataRow whose
 * column count differs from its RowDescription and a CopyBothResponse.
 *
 * A COPY among the statements, as postgres_async's simple_query does it (decision 017):
 * - COPY TO STDOUT runs: its data is drained (not kept), its CommandComplete is its statement's
 *   result (no columns, no rows, tag "COPY n"), a warning names it, and the next statements run;
 * - COPY FROM STDIN is answered with CopyFail, so the server ends it with its own error (57014
 *   "COPY from stdin failed: …"), skips the rest and sends ReadyForQuery: the call fails with that
 *   error, which carries the results of the statements that completed before it.
 * Every server error carries those results (`completed`), so a failure never hides a statement
 * that committed (a COMMIT among them).
 *
 * Rows are collected in the state (not streamed): a simple query's result is whole.
 * It does NOT encode the query text (`start` takes the frames).
 */
import type { BackendMessage } from "../protocol/Backend.ts"
import type { ProtocolError } from "../protocol/ProtocolError.ts"
import { decodeTextRow, scanTextRow, type TextRow } from "../protocol/TextRow.ts"
import { type Column, parseCommandTag, type SimpleQueryWarning, type StatementResult } from "../Result.ts"
import {
  CONTINUE,
  type Command,
  done,
  type Failure,
  fail,
  protocol,
  type Start,
  type Step,
  unexpected,
  unexpectedMessage
} from "./Command.ts"
import { copyFailFrames, onSimpleErrorOrCopy, rowProblem, type SimplePhase } from "./shared.ts"

export interface SimpleArgs {
  /** The encoded Query message. */
  readonly frames: Uint8Array
  /** Nothing may be written behind it (it may hold a COPY). */
  readonly exclusive?: boolean | undefined
}

export interface SimpleResult {
  readonly results: ReadonlyArray<StatementResult>
  readonly warnings: ReadonlyArray<SimpleQueryWarning>
}

export interface SimpleState {
  /** shared.ts `SimplePhase`. */
  phase: SimplePhase
  readonly results: Array<StatementResult>
  readonly warnings: Array<SimpleQueryWarning>
  columns: ReadonlyArray<Column>
  rows: Array<TextRow>
  failure: Failure | undefined
}

const NAME = "a simple query"

/** The reason of the CopyFail that refuses a COPY FROM STDIN (the server's 57014 message quotes it). */
export const SIMPLE_COPY_IN_REFUSED = "COPY FROM STDIN is not supported by simpleQuery; use copyIn"

/** The warning of a COPY TO STDOUT whose data was drained. */
export const SIMPLE_COPY_OUT_DISCARDED = "COPY TO STDOUT output discarded; use copyOut"

const COPY_FAIL = copyFailFrames(SIMPLE_COPY_IN_REFUSED, false)

const NO_COLUMNS: ReadonlyArray<Column> = []

const pushRow = (state: SimpleState, value: TextRow | ProtocolError): Step<SimpleResult> => {
  const problem = rowProblem(value, state.columns)
  if (problem !== undefined) return problem
  state.rows.push(value as TextRow)
  return CONTINUE
}

const onCommandComplete = (state: SimpleState, message: BackendMessage & { _tag: "CommandComplete" }) => {
  const phase = state.phase
  if (phase !== "idle" && phase !== "rows" && phase !== "copy-out-done")
    return unexpectedMessage(NAME, message, phase)
  const columns = phase === "copy-out-done" ? NO_COLUMNS : state.columns
  const rows = phase === "copy-out-done" ? [] : state.rows
  state.results.push({ columns, rows, command: parseCommandTag(message.tag) })
  state.columns = NO_COLUMNS
  state.rows = []
  state.phase = "idle"
  return CONTINUE
}

const onMessage = (state: SimpleState, message: BackendMessage): Step<SimpleResult> => {
  switch (message._tag) {
    case "DataRow":
      if (state.phase !== "rows") return unexpectedMessage(NAME, message, state.phase)
      return pushRow(state, decodeTextRow(message.columns))
    case "RowDescription":
      if (state.phase !== "idle") return unexpectedMessage(NAME, message, state.phase)
      state.columns = message.fields
      state.rows = []
      state.phase = "rows"
      return CONTINUE
    case "CommandComplete":
      return onCommandComplete(state, message)
    case "EmptyQueryResponse":
      if (state.phase !== "idle") return unexpectedMessage(NAME, message, state.phase)
      state.results.push({ columns: NO_COLUMNS, rows: [], command: undefined })
      return CONTINUE
    case "ReadyForQuery":
      if (state.phase !== "idle" && state.phase !== "failed") {
        return unexpected(
          protocol("UnexpectedMessage", `unexpected ReadyForQuery during a simple query (${state.phase})`)
        )
      }
      return state.failure !== undefined
        ? fail(state.failure)
        : done({ results: state.results, warnings: state.warnings })
    default:
      return (
        onSimpleErrorOrCopy(
          state,
          message,
          NAME,
          COPY_FAIL,
          () => state.results,
          () => state.warnings.push({ statement: state.results.length, message: SIMPLE_COPY_OUT_DISCARDED })
        ) ?? unexpectedMessage(NAME, message, state.phase)
      )
  }
}

/** The simple-query command (simpleQuery, LISTEN, the pool's ROLLBACK, heartbeats). */
export const simpleQuery = {
  name: "simple query",
  start: (args: SimpleArgs): Start<SimpleState> => ({
    frames: args.frames,
    exclusive: args.exclusive,
    state: { phase: "idle", results: [], warnings: [], columns: NO_COLUMNS, rows: [], failure: undefined }
  }),
  onMessage,
  onDataRow: (state, body) => {
    if (state.phase !== "rows") {
      return unexpected(
        protocol("UnexpectedMessage", `unexpected DataRow during a simple query (${state.phase})`)
      )
    }
    return pushRow(state, scanTextRow(body))
  },
  tags: (state) => {
    const tags: Array<string> = []
    for (const r of state.results) if (r.command !== undefined) tags.push(r.command.tag)
    return tags
  }
} satisfies Command<SimpleArgs, SimpleState, SimpleResult>
