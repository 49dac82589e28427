/**
 * The simple-query command: one Query message, which may hold several statements; every
 * statement's result (columns, rows, command tag), or the first error.
 *
 * Wire transcript (Frontend/Backend Protocol, "Simple Query"):
 *   Query → ((RowDescription DataRow*)? CommandComplete | EmptyQueryResponse)* [ErrorResponse]
 *           ReadyForQuery
 * Anything out of that order is `Unexpected`. A COPY inside is refused without desync:
 * CopyInResponse is answered with CopyFail (the server then reports an error and goes on to
 * ReadyForQuery), CopyOutResponse's data is drained.
 *
 * Rows are collected in the state (not streamed): a simple query's result is whole.
 * It does NOT encode the query text (`start` takes the frames).
 */
import type { BackendMessage } from "../protocol/Backend.ts"
import type { ProtocolError } from "../protocol/ProtocolError.ts"
import { decodeTextRow, scanTextRow, type TextRow } from "../protocol/TextRow.ts"
import { type Column, parseCommandTag, type StatementResult } from "../Result.ts"
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
import { copyFailFrames, onErrorOrCopy, rowProblem } from "./shared.ts"

export interface SimpleArgs {
  /** The encoded Query message. */
  readonly frames: Uint8Array
  /** Nothing may be written behind it (it may hold a COPY). */
  readonly exclusive?: boolean | undefined
}

export interface SimpleResult {
  readonly results: ReadonlyArray<StatementResult>
}

/** "idle": between statements; "rows": after RowDescription; "failed"; "copy-in"/"copy-out". */
type Phase = "idle" | "rows" | "failed" | "copy-in" | "copy-out"

export interface SimpleState {
  phase: Phase
  readonly results: Array<StatementResult>
  columns: ReadonlyArray<Column>
  rows: Array<TextRow>
  failure: Failure | undefined
}

const NAME = "a simple query"

const COPY_FAIL = copyFailFrames("COPY FROM STDIN is not supported by this operation", false)

const pushRow = (state: SimpleState, value: TextRow | ProtocolError): Step<SimpleResult> => {
  const problem = rowProblem(value, state.columns)
  if (problem !== undefined) return problem
  state.rows.push(value as TextRow)
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
      if (state.phase === "copy-out") {
        state.phase = "idle"
        return CONTINUE
      }
      if (state.phase !== "idle" && state.phase !== "rows")
        return unexpectedMessage(NAME, message, state.phase)
      state.results.push({ columns: state.columns, rows: state.rows, command: parseCommandTag(message.tag) })
      state.columns = []
      state.rows = []
      state.phase = "idle"
      return CONTINUE
    case "EmptyQueryResponse":
      if (state.phase !== "idle") return unexpectedMessage(NAME, message, state.phase)
      state.results.push({ columns: [], rows: [], command: undefined })
      return CONTINUE
    case "ReadyForQuery":
      if (state.phase === "rows" || state.phase === "copy-in" || state.phase === "copy-out") {
        return unexpected(
          protocol("UnexpectedMessage", `unexpected ReadyForQuery during a simple query (${state.phase})`)
        )
      }
      return state.failure !== undefined ? fail(state.failure) : done({ results: state.results })
    default:
      return (
        onErrorOrCopy(state, message, NAME, "idle", COPY_FAIL) ??
        unexpectedMessage(NAME, message, state.phase)
      )
  }
}

/** The simple-query command (simpleQuery, LISTEN, the pool's ROLLBACK, heartbeats). */
export const simpleQuery = {
  name: "simple query",
  start: (args: SimpleArgs): Start<SimpleState> => ({
    frames: args.frames,
    exclusive: args.exclusive,
    state: { phase: "idle", results: [], columns: [], rows: [], failure: undefined }
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
