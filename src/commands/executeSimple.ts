/**
 * The execute-simple command: a simple Query (one or more statements) that must not return rows,
 * answering every statement's CommandComplete.
 *
 * Wire transcript (Frontend/Backend Protocol, "Simple Query"):
 *   Query → (CommandComplete | EmptyQueryResponse)* [ErrorResponse] ReadyForQuery.
 * A statement that returns rows (RowDescription), or a COPY TO STDOUT (its data), is refused after
 * the fact: the statement ran, so the command remembers an `UnexpectedRows` failure (`mayHaveRun`
 * true), drains the rows or data without decoding or keeping them, lets the server finish the
 * string, and fails at ReadyForQuery. A COPY FROM STDIN is answered with CopyFail, as simpleQuery
 * answers it: the server ends it with 57014 and skips the rest. A server error replaces an
 * `UnexpectedRows` failure (it is what became of the statements: a cancel, the rollback of the
 * implicit transaction) and carries the command tags of the statements that completed before it
 * (`completed`), so a failure never hides a COMMIT. Anything else out of order is `Unexpected`
 * (the connection fails).
 *
 * It does NOT keep rows or columns: use simpleQuery for statements that return them.
 */

import { mayContainCopy } from "../lexer/Leading.ts"
import type { BackendMessage } from "../protocol/Backend.ts"
import { DataRowScanner } from "../protocol/DataRowScanner.ts"
import { writeQuery } from "../protocol/Frontend.ts"
import type { Writer } from "../protocol/Writer.ts"
import { type CommandComplete, parseCommandTag, type StatementResult } from "../Result.ts"
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
import { encodeFrames } from "./prepare.ts"
import { copyFailFrames, onSimpleErrorOrCopy, type SimplePhase } from "./shared.ts"

export interface ExecuteSimpleArgs {
  /** One or more statements, none of which returns rows. */
  readonly sql: string
  /** Where to encode (the connection's Writer); default the commands' own. */
  readonly writer?: Writer | undefined
}

export interface ExecuteSimpleState {
  /** shared.ts `SimplePhase`. */
  phase: SimplePhase
  /** The column count of the row set being drained (each DataRow must have as many). */
  columns: number
  failure: Failure | undefined
  readonly commands: Array<CommandComplete>
}

const NAME = "an executeSimple"

/** Commands are run one message at a time: one scanner serves every run. */
const scanner = new DataRowScanner()

const COPY_FAIL = copyFailFrames("COPY FROM STDIN is not supported by executeSimple; use copyIn", false)

/** Why a statement's rows were refused: it ran. */
const rowsRefused = (columns: number): Failure =>
  protocol(
    "UnexpectedRows",
    `executeSimple: a statement returned rows (${columns} column(s)); use simpleQuery or query`,
    { mayHaveRun: true }
  )

/** Why a COPY TO STDOUT was refused: it ran (to its end), its data was drained. */
const COPY_OUT_REFUSED: Failure = protocol(
  "UnexpectedRows",
  "executeSimple: a COPY TO STDOUT returned data (discarded); use copyOut",
  { mayHaveRun: true }
)

/** The completed statements as simple-query results (no columns, no rows). */
const asResults = (commands: ReadonlyArray<CommandComplete>): Array<StatementResult> =>
  commands.map((command) => ({ columns: [], rows: [], command }))

/** A drained DataRow of `count` values: `Unexpected` unless its RowDescription had as many columns. */
const drained = (state: ExecuteSimpleState, count: number): Step<never> =>
  count === state.columns
    ? CONTINUE
    : unexpected(
        protocol(
          "UnexpectedMessage",
          `a DataRow with ${count} column(s) after a RowDescription of ${state.columns}`
        )
      )

const onMessage = (
  state: ExecuteSimpleState,
  message: BackendMessage
): Step<ReadonlyArray<CommandComplete>> => {
  switch (message._tag) {
    case "RowDescription":
      if (state.phase !== "idle") return unexpectedMessage(NAME, message, state.phase)
      state.failure ??= rowsRefused(message.fields.length)
      state.columns = message.fields.length
      state.phase = "rows"
      return CONTINUE
    case "DataRow":
      return state.phase === "rows"
        ? drained(state, message.columns.length)
        : unexpectedMessage(NAME, message, state.phase)
    case "CommandComplete":
      if (state.phase !== "idle" && state.phase !== "rows" && state.phase !== "copy-out-done") {
        return unexpectedMessage(NAME, message, state.phase)
      }
      state.commands.push(parseCommandTag(message.tag))
      state.phase = "idle"
      return CONTINUE
    case "EmptyQueryResponse":
      return state.phase === "idle" ? CONTINUE : unexpectedMessage(NAME, message, state.phase)
    case "ReadyForQuery":
      if (state.phase !== "idle" && state.phase !== "failed")
        return unexpectedMessage(NAME, message, state.phase)
      return state.failure !== undefined ? fail(state.failure) : done(state.commands)
    default:
      return (
        onSimpleErrorOrCopy(
          state,
          message,
          NAME,
          COPY_FAIL,
          () => asResults(state.commands),
          () => {
            state.failure ??= COPY_OUT_REFUSED
          }
        ) ?? unexpectedMessage(NAME, message, state.phase)
      )
  }
}

/** The execute-simple command (executeSimple). */
export const executeSimple = {
  name: "execute simple",
  start: (args: ExecuteSimpleArgs): Start<ExecuteSimpleState> | Failure => {
    const frames = encodeFrames((w) => writeQuery(w, args.sql), args.writer)
    if (!(frames instanceof Uint8Array)) return frames
    return {
      frames,
      // A COPY FROM STDIN makes the server read what follows as COPY data: write nothing behind it.
      exclusive: mayContainCopy(args.sql),
      state: { phase: "idle", columns: 0, failure: undefined, commands: [] }
    }
  },
  onMessage,
  onDataRow: (state, body) => {
    if (state.phase !== "rows") {
      return unexpected(
        protocol("UnexpectedMessage", `unexpected DataRow during an executeSimple (${state.phase})`)
      )
    }
    // Checked (lengths, column count) but not decoded: the values are dropped.
    const malformed = scanner.scan(body)
    if (malformed !== undefined) {
      return unexpected(protocol(malformed.reason, malformed.message, { messageType: malformed.messageType }))
    }
    return drained(state, scanner.count)
  },
  tags: (state) => state.commands.map((c) => c.tag)
} satisfies Command<ExecuteSimpleArgs, ExecuteSimpleState, ReadonlyArray<CommandComplete>>
