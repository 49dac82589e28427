/**
 * What the query commands (extended.ts, simple.ts) treat alike: an ErrorResponse (the first one
 * is the outcome; the server then skips to ReadyForQuery), a COPY they refuse without desync, and
 * the check of a decoded row against its RowDescription.
 *
 * It does NOT know the commands' other phases: `open` names the phase in which a statement may
 * start a COPY (after its row description).
 */
import type { BackendMessage } from "../protocol/Backend.ts"
import { encodeCopyFail, SYNC } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import type { TextRow } from "../protocol/TextRow.ts"
import type { Column } from "../Result.ts"
import {
  CONTINUE,
  type Failure,
  protocol,
  type Step,
  send,
  serverError,
  unexpected,
  unexpectedMessage
} from "./Command.ts"

/** The phases shared by the query commands. */
export interface Refusing {
  phase: string
  failure: Failure | undefined
}

/**
 * The CopyFail a query command answers CopyInResponse with (`message`: why), with a Sync behind
 * it for the extended protocol, whose own Sync the server ignored in copy-in mode.
 */
export const copyFailFrames = (message: string, sync: boolean): Uint8Array => {
  const bytes = encodeCopyFail(message)
  const fail = bytes instanceof Uint8Array ? bytes : new Uint8Array(0)
  if (!sync) return fail
  const out = new Uint8Array(fail.length + SYNC.length)
  out.set(fail)
  out.set(SYNC, fail.length)
  return out
}

/** Why a COPY was refused: COPY FROM STDIN did not take effect; COPY TO STDOUT ran. */
export const copyRefused = (direction: "in" | "out"): Failure =>
  direction === "in"
    ? protocol("CopyNotSupported", "COPY FROM STDIN cannot run through query/simpleQuery; use copyIn", {
        mayHaveRun: false
      })
    : protocol("CopyNotSupported", "COPY TO STDOUT cannot run through query/simpleQuery; use copyOut")

/**
 * ErrorResponse, CopyInResponse (answered with `copyFail`), CopyOutResponse, CopyData, CopyDone;
 * `undefined` for any other message.
 */
export const onErrorOrCopy = (
  state: Refusing,
  message: BackendMessage,
  name: string,
  open: string,
  copyFail: Uint8Array
): Step<never, never> | undefined => {
  switch (message._tag) {
    case "ErrorResponse":
      if (state.phase === "failed") return unexpectedMessage(name, message, "after an error")
      state.failure ??= serverError(message.fields)
      state.phase = "failed"
      return CONTINUE
    case "CopyInResponse":
      if (state.phase !== open) return unexpectedMessage(name, message, state.phase)
      state.failure ??= copyRefused("in")
      state.phase = "copy-in"
      return send(copyFail)
    case "CopyOutResponse":
      if (state.phase !== open) return unexpectedMessage(name, message, state.phase)
      state.failure ??= copyRefused("out")
      state.phase = "copy-out"
      return CONTINUE
    case "CopyData":
    case "CopyDone":
      return state.phase === "copy-out" ? CONTINUE : unexpectedMessage(name, message, state.phase)
    default:
      return undefined
  }
}

/** `undefined` when `value` is a well-formed row of `columns`; the `Unexpected` step otherwise. */
export const rowProblem = (
  value: TextRow | ProtocolError,
  columns: ReadonlyArray<Column>
): Step<never, never> | undefined => {
  if (value instanceof ProtocolError) {
    return unexpected(protocol(value.reason, value.message, { messageType: value.messageType }))
  }
  if (value.length === columns.length) return undefined
  return unexpected(
    protocol(
      "UnexpectedMessage",
      `a DataRow with ${value.length} column(s) after a RowDescription of ${columns.length}`
    )
  )
}
