/**
 * What the query commands treat alike: in the extended protocol (extended.ts) an ErrorResponse
 * (the first one is the outcome; the server then skips to ReadyForQuery) and a COPY refused
 * without desync; in the simple protocol (simple.ts, executeSimple.ts) an ErrorResponse that
 * carries the statements completed before it, a COPY FROM STDIN answered with CopyFail and a COPY
 * TO STDOUT drained; and the check of a decoded row against its RowDescription.
 *
 * It does NOT know the commands' other phases: `open` names the phase in which a statement may
 * start a COPY (after its row description).
 */
import type { BackendMessage } from "../protocol/Backend.ts"
import { encodeCopyFail, SYNC } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import type { AnyRow, Column, StatementResult } from "../Result.ts"
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

/**
 * Why `operation` refused a COPY: COPY FROM STDIN (COPY IN) did not take effect (aborted with
 * CopyFail); COPY TO STDOUT (COPY OUT) ran, its data drained.
 */
export const copyRefused = (direction: "in" | "out", operation: string): Failure =>
  direction === "in"
    ? protocol(
        "CopyNotSupported",
        `${operation}: the statement attempted COPY IN (COPY FROM STDIN); use copyIn`,
        {
          mayHaveRun: false
        }
      )
    : protocol(
        "CopyNotSupported",
        `${operation}: the statement attempted COPY OUT (COPY TO STDOUT); use copyOut`
      )

/**
 * ErrorResponse, CopyInResponse (answered with `copyFail`, refused as `operation`), CopyOutResponse,
 * CopyData, CopyDone (a COPY TO STDOUT is drained: CopyData* CopyDone, then its CommandComplete,
 * which the caller takes in phase "copy-out-done"); `undefined` for any other message.
 */
export const onErrorOrCopy = (
  state: Refusing,
  message: BackendMessage,
  name: string,
  open: string,
  copyFail: Uint8Array,
  operation: string
): Step<never, never> | undefined => {
  switch (message._tag) {
    case "ErrorResponse":
      if (state.phase === "failed") return unexpectedMessage(name, message, "after an error")
      state.failure ??= serverError(message.fields)
      state.phase = "failed"
      return CONTINUE
    case "CopyInResponse":
      if (state.phase !== open) return unexpectedMessage(name, message, state.phase)
      state.failure ??= copyRefused("in", operation)
      state.phase = "copy-in"
      return send(copyFail)
    case "CopyOutResponse":
      if (state.phase !== open) return unexpectedMessage(name, message, state.phase)
      state.failure ??= copyRefused("out", operation)
      state.phase = "copy-out"
      return CONTINUE
    case "CopyData":
      return state.phase === "copy-out" ? CONTINUE : unexpectedMessage(name, message, state.phase)
    case "CopyDone":
      if (state.phase !== "copy-out") return unexpectedMessage(name, message, state.phase)
      state.phase = "copy-out-done"
      return CONTINUE
    default:
      return undefined
  }
}

/**
 * The phases of a simple Query shared by simple.ts and executeSimple.ts: "idle" between
 * statements, "rows" after a RowDescription, "failed" after an ErrorResponse, "copy-in" after our
 * CopyFail (until the server's error), "copy-out" / "copy-out-done" while a COPY TO STDOUT is
 * drained, before and after its CopyDone.
 */
export type SimplePhase = "idle" | "rows" | "failed" | "copy-in" | "copy-out" | "copy-out-done"

/**
 * ErrorResponse (the outcome, with the statements `completed` before it), CopyInResponse
 * (answered with `copyFail`: the server then ends the COPY with its error), CopyOutResponse
 * (`onCopyOut` is told), CopyData and CopyDone of that COPY TO STDOUT (its CommandComplete is the
 * caller's, in "copy-out-done"); `undefined` for any other message.
 */
export const onSimpleErrorOrCopy = (
  state: { phase: SimplePhase; failure: Failure | undefined },
  message: BackendMessage,
  name: string,
  copyFail: Uint8Array,
  completed: () => ReadonlyArray<StatementResult>,
  onCopyOut: () => void
): Step<never, never> | undefined => {
  const phase = state.phase
  switch (message._tag) {
    case "ErrorResponse":
      if (phase === "failed") return unexpectedMessage(name, message, "after an error")
      // The statements before it completed; the error ended the rest (and their transaction).
      state.failure = serverError(message.fields, completed())
      state.phase = "failed"
      return CONTINUE
    case "CopyInResponse":
      if (phase !== "idle") return unexpectedMessage(name, message, phase)
      state.phase = "copy-in"
      return send(copyFail)
    case "CopyOutResponse":
      if (phase !== "idle") return unexpectedMessage(name, message, phase)
      onCopyOut()
      state.phase = "copy-out"
      return CONTINUE
    case "CopyData":
      return phase === "copy-out" ? CONTINUE : unexpectedMessage(name, message, phase)
    case "CopyDone":
      if (phase !== "copy-out") return unexpectedMessage(name, message, phase)
      state.phase = "copy-out-done"
      return CONTINUE
    default:
      return undefined
  }
}

/**
 * `undefined` when `value` is a well-formed row of `columns`; the `Unexpected` step otherwise. An
 * object row was made by a decoder that checked the row's width already.
 */
export const rowProblem = (
  value: AnyRow | ProtocolError,
  columns: ReadonlyArray<Column>
): Step<never, never> | undefined => {
  if (value instanceof ProtocolError) {
    return unexpected(protocol(value.reason, value.message, { messageType: value.messageType }))
  }
  if (!Array.isArray(value) || value.length === columns.length) return undefined
  return unexpected(
    protocol(
      "UnexpectedMessage",
      `a DataRow with ${value.length} column(s) after a RowDescription of ${columns.length}`
    )
  )
}
