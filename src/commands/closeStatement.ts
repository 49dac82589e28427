/**
 * The close-statement command: Close(S, name) + Sync, which drops a prepared statement.
 *
 * Wire transcript (Frontend/Backend Protocol, "Extended Query", Close):
 *   CloseComplete, ReadyForQuery; or ErrorResponse, ReadyForQuery.
 * Closing a statement that does not exist is not an error: the server answers CloseComplete all
 * the same ("It is not an error to issue Close against a nonexistent statement or portal name").
 * Anything out of that order is `Unexpected` (the connection fails).
 *
 * It does NOT know which statements exist (connection/prepared.ts keeps track of its own).
 */
import type { BackendMessage } from "../protocol/Backend.ts"
import { writeClose, writeSync } from "../protocol/Frontend.ts"
import type { Writer } from "../protocol/Writer.ts"
import { type Command, type Failure, type Start, type Step, unexpectedMessage } from "./Command.ts"
import { advance, encodeFrames, onEnd } from "./prepare.ts"

export interface CloseStatementArgs {
  /** The statement name ("" is the unnamed statement). */
  readonly name: string
  /** Where to encode (the connection's Writer); default the commands' own. */
  readonly writer?: Writer | undefined
}

export interface CloseStatementState {
  phase: "close" | "complete" | "failed"
  failure: Failure | undefined
}

const NAME = "a statement close"

const onMessage = (state: CloseStatementState, message: BackendMessage): Step<void> =>
  message._tag === "CloseComplete"
    ? advance(state, message, NAME, "close", "complete")
    : (onEnd(state, message, NAME, () => undefined) ?? unexpectedMessage(NAME, message, state.phase))

/** The close-statement command (closeStatement, and a prepared statement's scope ending). */
export const closeStatement = {
  name: "close statement",
  start: (args: CloseStatementArgs): Start<CloseStatementState> | Failure => {
    const frames = encodeFrames((w) => writeClose(w, "S", args.name) ?? writeSync(w), args.writer)
    if (!(frames instanceof Uint8Array)) return frames
    return { frames, state: { phase: "close", failure: undefined } }
  },
  onMessage
} satisfies Command<CloseStatementArgs, CloseStatementState, void>
