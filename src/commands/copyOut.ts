/**
 * The copy-out command (COPY … TO STDOUT over the simple Query protocol): the data chunks as they
 * arrive, then the COPY's command tag.
 *
 * Wire transcript (Frontend/Backend Protocol, "COPY Operations"):
 *   Query("COPY … TO STDOUT") → CopyOutResponse, CopyData*, CopyDone, CommandComplete,
 *   ReadyForQuery (or ErrorResponse at any point, then ReadyForQuery).
 *
 * Decision: each CopyData is a `Result` step carrying the chunk (a view of the frame, not copied),
 * not a `Row`: `Row` is a text row (`ReadonlyArray<string | null>`) and a chunk is bytes, so a
 * `Row` would need a lie in the types. The per-socket-read batching `Row` steps get from
 * CommandRun is done by the glue instead (connection/copy.ts collects the chunks of one read and
 * hands them over at the end of the read), so a consumer still pulls one batch per read.
 *
 * Exactly one COPY TO STDOUT: a statement that is not one (or another statement before or after
 * it) ends with `NotCopy`, never with the other statement's tag; its rows and any other COPY's
 * data are drained, not handed out; a COPY FROM STDIN is refused with CopyFail (simple protocol:
 * no Sync needed). What the protocol forbids is `Unexpected`, checked against where the exchange
 * is (copyIn.ts `advance`), as for copy-in.
 *
 * It does NOT parse the data (copy/CopyText.ts does for copyOutRows), nor apply pushback to the
 * socket (the glue's Backlog does).
 */
import type { BackendMessage } from "../protocol/Backend.ts"
import { type CommandComplete, parseCommandTag } from "../Result.ts"
import { CONTINUE, type Command, type Failure, result, type Step, send, serverError } from "./Command.ts"
import {
  advance,
  atReady,
  COPY_REFUSED,
  type CopyExchange,
  copyTags,
  copyUnexpected,
  notCopy,
  startCopy
} from "./copyIn.ts"

export interface CopyOutArgs {
  /** The COPY … TO STDOUT statement. */
  readonly sql: string
}

export interface CopyOutState extends CopyExchange {
  /** A CopyOutResponse arrived (ours, or a second one that is refused). */
  inCopy: boolean
  failure: Failure | undefined
  command: CommandComplete | undefined
}

const onMessage = (state: CopyOutState, message: BackendMessage): Step<CommandComplete, Uint8Array> => {
  if (message._tag === "ReadyForQuery") return atReady(state, "out")
  const before = state.phase
  const broken = advance(state, message)
  if (broken !== undefined) return broken
  switch (message._tag) {
    case "CopyData":
      // The data of a COPY that is not ours (or after a failure) is drained.
      return state.failure === undefined ? result(message.data) : CONTINUE
    case "CopyOutResponse":
      if (state.failure !== undefined || state.inCopy) state.failure ??= notCopy("out")
      state.inCopy = true
      return CONTINUE
    case "CommandComplete":
      // We never end a copy-in with CopyDone: the one we refused must end with an ErrorResponse.
      if (before === "copyIn") return copyUnexpected("CommandComplete (in copy-in mode, after CopyFail)")
      // Only the COPY's own tag counts: a statement that ran instead of it is not a success.
      if (before === "copyOutDone" && state.command === undefined)
        state.command = parseCommandTag(message.tag)
      else state.failure ??= notCopy("out")
      return CONTINUE
    case "ErrorResponse":
      state.failure ??= serverError(message.fields)
      return CONTINUE
    case "CopyInResponse":
      // The statement was COPY FROM STDIN: refuse it without desync.
      state.failure ??= notCopy("out")
      return send(COPY_REFUSED)
    case "RowDescription":
    case "DataRow":
    case "EmptyQueryResponse":
      state.failure ??= notCopy("out")
      return CONTINUE
    default:
      // CopyDone: the data is over, its CommandComplete follows.
      return CONTINUE
  }
}

/** The copy-out command (copyOut, copyOutRows). */
export const copyOut = {
  name: "copy-out",
  start: (args: CopyOutArgs) =>
    startCopy<CopyOutState>(args.sql, { inCopy: false, failure: undefined, command: undefined }),
  onMessage,
  tags: copyTags
} satisfies Command<CopyOutArgs, CopyOutState, CommandComplete, Uint8Array>
