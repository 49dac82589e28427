/**
 * The listen command: `LISTEN "<channel>"` (or `UNLISTEN "<channel>"`) as a simple Query, the
 * channel quoted as an identifier (double quotes doubled), expecting exactly the CommandComplete
 * of that statement.
 *
 * Wire transcript (Frontend/Backend Protocol, "Simple Query"):
 *   Query → CommandComplete "LISTEN" | "UNLISTEN", ReadyForQuery; or ErrorResponse, ReadyForQuery.
 * Anything else (rows, another tag, an empty query) is `Unexpected` (the connection fails).
 *
 * A channel that is not 1 to 63 bytes of UTF-8 without NUL is refused before anything is sent
 * (`channelProblem`): the server would truncate a longer name, and nothing would ever arrive.
 * It does NOT fan notifications out (connection/notifications.ts does).
 */
import { quoteIdentifier } from "../copy/CopyText.ts"
import type { BackendMessage } from "../protocol/Backend.ts"
import { writeQuery } from "../protocol/Frontend.ts"
import { utf8Length, type Writer } from "../protocol/Writer.ts"
import { type Command, type Failure, protocol, type Start, type Step, unexpectedMessage } from "./Command.ts"
import { advance, encodeFrames, onEnd } from "./prepare.ts"

/** Identifiers longer than this are truncated by the server (NAMEDATALEN 64 in every standard build). */
export const MAX_CHANNEL_BYTES = 63

export interface ListenArgs {
  readonly channel: string
  /** UNLISTEN instead of LISTEN. */
  readonly unlisten?: boolean | undefined
  /** Where to encode (the connection's Writer); default the commands' own. */
  readonly writer?: Writer | undefined
}

export interface ListenState {
  phase: "sent" | "complete" | "failed"
  readonly tag: "LISTEN" | "UNLISTEN"
  failure: Failure | undefined
}

/** Why `channel` cannot be listened to, or `undefined` when it can. */
export const channelProblem = (channel: string): string | undefined => {
  if (channel.includes("\0")) return "a channel name cannot contain a NUL character"
  const bytes = utf8Length(channel)
  if (bytes === 0) return "a channel name cannot be empty"
  // LISTEN would truncate the name (and NOTIFY refuses it), so nothing would ever arrive.
  if (bytes > MAX_CHANNEL_BYTES) {
    return `a channel name is at most ${MAX_CHANNEL_BYTES} bytes of UTF-8 (PostgreSQL's NAMEDATALEN - 1)`
  }
  return undefined
}

const NAME = "a LISTEN"

const onMessage = (state: ListenState, message: BackendMessage): Step<void> => {
  if (message._tag !== "CommandComplete") {
    return onEnd(state, message, NAME, () => undefined) ?? unexpectedMessage(NAME, message, state.phase)
  }
  if (message.tag !== state.tag)
    return unexpectedMessage(NAME, message, `${state.phase}, tag "${message.tag}"`)
  return advance(state, message, NAME, "sent", "complete")
}

/** The listen command (LISTEN and UNLISTEN of connection/notifications.ts). */
export const listen = {
  name: "listen",
  start: (args: ListenArgs): Start<ListenState> | Failure => {
    const problem = channelProblem(args.channel)
    if (problem !== undefined) return protocol("InvalidValue", problem, { mayHaveRun: false })
    const tag = args.unlisten === true ? "UNLISTEN" : "LISTEN"
    const frames = encodeFrames((w) => writeQuery(w, `${tag} ${quoteIdentifier(args.channel)}`), args.writer)
    if (!(frames instanceof Uint8Array)) return frames
    return { frames, state: { phase: "sent", tag, failure: undefined } }
  },
  onMessage
} satisfies Command<ListenArgs, ListenState, void>
