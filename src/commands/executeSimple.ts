/**
 * The execute-simple command: a simple Query (one or more statements) that must not return rows,
 * answering every statement's CommandComplete.
 *
 * Wire transcript (Frontend/Backend Protocol, "Simple Query"):
 *   Query → (CommandComplete | EmptyQueryResponse)* [ErrorResponse] ReadyForQuery.
 * A statement that returns rows (RowDescription) is refused after the fact: the statement ran, so
 * the command remembers an `UnexpectedRows` failure (`mayHaveRun` true), drains its DataRows
 * without decoding or keeping them, lets the server finish, and fails at ReadyForQuery. A server
 * error that comes later replaces that failure (it is what became of the statements: a cancel, a
 * rollback of the implicit transaction); a refused COPY stays the reported failure. A COPY is
 * refused as simpleQuery refuses it (CopyFail answers CopyInResponse; CopyOut data is drained).
 * Anything else out of order is `Unexpected` (the connection fails).
 *
 * It does NOT keep rows or columns: use simpleQuery for statements that return them.
 */

import { mayContainCopy } from "../lexer/Leading.ts"
import type { BackendMessage } from "../protocol/Backend.ts"
import { writeQuery } from "../protocol/Frontend.ts"
import type { Writer } from "../protocol/Writer.ts"
import { type CommandComplete, parseCommandTag } from "../Result.ts"
import {
  CONTINUE,
  type Command,
  done,
  type Failure,
  fail,
  protocol,
  type Start,
  type Step,
  serverError,
  unexpected,
  unexpectedMessage
} from "./Command.ts"
import { encodeFrames } from "./prepare.ts"
import { copyFailFrames, onErrorOrCopy } from "./shared.ts"

export interface ExecuteSimpleArgs {
  /** One or more statements, none of which returns rows. */
  readonly sql: string
  /** Where to encode (the connection's Writer); default the commands' own. */
  readonly writer?: Writer | undefined
}

type Phase = "idle" | "rows" | "failed" | "copy-in" | "copy-out"

export interface ExecuteSimpleState {
  phase: Phase
  failure: Failure | undefined
  readonly commands: Array<CommandComplete>
}

const NAME = "an executeSimple"

const COPY_FAIL = copyFailFrames("COPY FROM STDIN is not supported by executeSimple", false)

/** Why a statement's rows were refused: it ran. */
const rowsRefused = (columns: number): Failure =>
  protocol(
    "UnexpectedRows",
    `executeSimple: a statement returned rows (${columns} column(s)); use simpleQuery or query`,
    { mayHaveRun: true }
  )

const onMessage = (
  state: ExecuteSimpleState,
  message: BackendMessage
): Step<ReadonlyArray<CommandComplete>> => {
  switch (message._tag) {
    case "RowDescription":
      if (state.phase !== "idle") return unexpectedMessage(NAME, message, state.phase)
      state.failure ??= rowsRefused(message.fields.length)
      state.phase = "rows"
      return CONTINUE
    case "DataRow":
      return state.phase === "rows" ? CONTINUE : unexpectedMessage(NAME, message, state.phase)
    case "CommandComplete":
      if (state.phase !== "idle" && state.phase !== "rows" && state.phase !== "copy-out") {
        return unexpectedMessage(NAME, message, state.phase)
      }
      if (state.phase !== "copy-out") state.commands.push(parseCommandTag(message.tag))
      state.phase = "idle"
      return CONTINUE
    case "EmptyQueryResponse":
      return state.phase === "idle" ? CONTINUE : unexpectedMessage(NAME, message, state.phase)
    case "ErrorResponse":
      if (state.phase === "failed") return unexpectedMessage(NAME, message, "after an error")
      if (state.failure?._tag === "Protocol" && state.failure.reason === "UnexpectedRows") {
        state.failure = serverError(message.fields)
      }
      return onErrorOrCopy(state, message, NAME, "idle", COPY_FAIL)!
    case "ReadyForQuery":
      if (state.phase === "rows" || state.phase === "copy-in" || state.phase === "copy-out") {
        return unexpectedMessage(NAME, message, state.phase)
      }
      return state.failure !== undefined ? fail(state.failure) : done(state.commands)
    default:
      return (
        onErrorOrCopy(state, message, NAME, "idle", COPY_FAIL) ??
        unexpectedMessage(NAME, message, state.phase)
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
      state: { phase: "idle", failure: undefined, commands: [] }
    }
  },
  onMessage,
  onDataRow: (state, _body) =>
    state.phase === "rows"
      ? CONTINUE
      : unexpected(
          protocol("UnexpectedMessage", `unexpected DataRow during an executeSimple (${state.phase})`)
        ),
  tags: (state) => state.commands.map((c) => c.tag)
} satisfies Command<ExecuteSimpleArgs, ExecuteSimpleState, ReadonlyArray<CommandComplete>>
