/**
 * The prepare command: Parse(name, sql) + Describe(S, name) + Sync. It creates a prepared
 * statement (with name "", the unnamed one: that is `describe`) and reports its parameter types
 * and result columns; nothing is executed.
 *
 * Wire transcript (Frontend/Backend Protocol, "Extended Query", Describe of a statement):
 *   ParseComplete, ParameterDescription, RowDescription | NoData, ReadyForQuery;
 *   or ErrorResponse at any point before ReadyForQuery (the server then skips to the Sync), then
 *   ReadyForQuery.
 * Anything out of that order is `Unexpected` (the connection fails). `parsed` records whether the
 * server acknowledged the Parse: a named statement exists on the server from then on, even when
 * a later message fails the command.
 *
 * Also here, shared by the commands of this folder: `encodeFrames` (their frames as one buffer, or
 * a Failure with nothing sent), `advance` (one expected message moves the phase on) and `onEnd`
 * (the ErrorResponse and ReadyForQuery of a one-Sync exchange).
 *
 * It does NOT check or reserve statement names (connection/prepared.ts does), nor close what it
 * created (closeStatement.ts).
 */
import type { BackendMessage } from "../protocol/Backend.ts"
import { writeDescribe, writeParse, writeSync } from "../protocol/Frontend.ts"
import type { ProtocolError } from "../protocol/ProtocolError.ts"
import { Writer } from "../protocol/Writer.ts"
import type { Column } from "../Result.ts"
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
  unexpectedMessage
} from "./Command.ts"

/** The commands' own Writer when the caller lends none (encoding is synchronous, never re-entered). */
const SCRATCH = new Writer(4096)

/**
 * Runs `build` on a fresh output of `writer` and returns the frames it wrote as one buffer, or
 * the encoder's error as a Failure that says nothing was sent.
 */
export const encodeFrames = (
  build: (w: Writer) => ProtocolError | undefined,
  writer: Writer = SCRATCH
): Uint8Array | Failure => {
  writer.reset()
  const problem = build(writer)
  if (problem === undefined) return writer.finish()
  writer.reset()
  return protocol(problem.reason, problem.message, {
    mayHaveRun: false,
    messageType: problem.messageType
  })
}

/** A state with a phase and the failure to report (the commands of this folder). */
export interface Phased {
  phase: string
  failure: Failure | undefined
}

/** `message` is expected in phase `from` only, and moves the state to `to`. */
export const advance = (
  state: Phased,
  message: BackendMessage,
  name: string,
  from: string,
  to: string
): Step<never, never> => {
  if (state.phase !== from) return unexpectedMessage(name, message, state.phase)
  state.phase = to
  return CONTINUE
}

/**
 * The end of a one-Sync exchange: the first ErrorResponse fails it (phase "failed"; a second one
 * is Unexpected), and ReadyForQuery ends it with that failure, or with `value()` in phase
 * "complete"; `undefined` for any other message.
 */
export const onEnd = <R>(
  state: Phased,
  message: BackendMessage,
  name: string,
  value: () => R
): Step<R, never> | undefined => {
  switch (message._tag) {
    case "ErrorResponse":
      if (state.phase === "failed") return unexpectedMessage(name, message, "after an error")
      state.failure = serverError(message.fields)
      state.phase = "failed"
      return CONTINUE
    case "ReadyForQuery":
      if (state.phase === "failed") return fail(state.failure!)
      if (state.phase !== "complete") return unexpectedMessage(name, message, state.phase)
      return done(value())
    default:
      return undefined
  }
}

export interface PrepareArgs {
  /** The statement name; "" is the unnamed statement (`describe`). */
  readonly name: string
  readonly sql: string
  /** Parameter types to impose (0 = let the server infer); default none. */
  readonly paramTypes?: ReadonlyArray<number> | undefined
  /** Where to encode (the connection's Writer); default the commands' own. */
  readonly writer?: Writer | undefined
}

export interface PrepareResult {
  readonly name: string
  readonly paramTypes: ReadonlyArray<number>
  readonly columns: ReadonlyArray<Column>
}

type Phase = "parse" | "params" | "describe" | "complete" | "failed"

export interface PrepareState {
  phase: Phase
  readonly name: string
  paramTypes: ReadonlyArray<number>
  columns: ReadonlyArray<Column>
  failure: Failure | undefined
  /** The server acknowledged the Parse: a named statement exists now. */
  parsed: boolean
}

const NAME = "a prepare"

const onMessage = (state: PrepareState, message: BackendMessage): Step<PrepareResult> => {
  switch (message._tag) {
    case "ParseComplete":
      state.parsed ||= state.phase === "parse"
      return advance(state, message, NAME, "parse", "params")
    case "ParameterDescription":
      if (state.phase === "params") state.paramTypes = message.oids
      return advance(state, message, NAME, "params", "describe")
    case "RowDescription":
      if (state.phase === "describe") state.columns = message.fields
      return advance(state, message, NAME, "describe", "complete")
    case "NoData":
      return advance(state, message, NAME, "describe", "complete")
    default:
      return (
        onEnd(state, message, NAME, () => ({
          name: state.name,
          paramTypes: state.paramTypes,
          columns: state.columns
        })) ?? unexpectedMessage(NAME, message, state.phase)
      )
  }
}

/** The prepare command (prepare, describe). */
export const prepareStatement = {
  name: "prepare",
  start: (args: PrepareArgs): Start<PrepareState> | Failure => {
    const frames = encodeFrames(
      (w) =>
        writeParse(w, args.name, args.sql, args.paramTypes ?? []) ??
        writeDescribe(w, "S", args.name) ??
        writeSync(w),
      args.writer
    )
    if (!(frames instanceof Uint8Array)) return frames
    return {
      frames,
      state: {
        phase: "parse",
        name: args.name,
        paramTypes: [],
        columns: [],
        failure: undefined,
        parsed: false
      }
    }
  },
  onMessage
} satisfies Command<PrepareArgs, PrepareState, PrepareResult>
