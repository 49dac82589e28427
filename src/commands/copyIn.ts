/**
 * The copy-in command (COPY … FROM STDIN over the simple Query protocol), and the exchange
 * tracking it shares with the copy-out command (copyOut.ts).
 *
 * Wire transcript (Frontend/Backend Protocol, "COPY Operations"):
 *   Query("COPY … FROM STDIN") → CopyInResponse; the caller's CopyData* then CopyDone (or
 *   CopyFail) → CommandComplete | ErrorResponse, then ReadyForQuery.
 * The simple protocol is used on purpose: after an error in copy-in mode the server sends
 * ReadyForQuery at once and drops any CopyData still in flight, so nothing can desync.
 *
 * Steps: our CopyInResponse is a `Result` (the server now waits for data; the caller starts
 * feeding). Inputs: `Data` is a `Send` of a CopyData header and the payload itself (never copied;
 * a payload over the protocol's frame limit goes out as several CopyData), `Done` a `Send` of
 * CopyDone, `Abort` a `Send` of CopyFail; an `Abort` before the server is in copy-in mode is kept
 * and its CopyFail sent as soon as the CopyInResponse arrives. Inputs are ignored (`Continue`,
 * nothing sent) when they make no sense: data or done before copy-in mode, anything once
 * CopyDone/CopyFail went out or the server left copy-in mode.
 *
 * Exactly one COPY in its direction: a string whose statement is not that COPY (or that runs
 * another statement before or after it) ends with `NotCopy`, never with the other statement's
 * tag; a second CopyInResponse is refused with CopyFail. Those are the caller's mistakes,
 * answered by a server that keeps to the protocol: the session stays in step. What the protocol
 * forbids is `Unexpected` (the connection fails): each message is checked against where the
 * exchange is (`CopyPhase`), so a DataRow without RowDescription, a result in the middle of
 * copy-in mode, CopyData outside copy-out mode, a CommandComplete for a copy-in never ended with
 * CopyDone, a DataRow whose width differs from its RowDescription, or a ReadyForQuery that leaves
 * a statement unfinished (or answers nothing at all) is never taken for a NotCopy or a success.
 *
 * It does NOT do I/O, wait for socket drain (the glue, connection/copy.ts, does), nor look into
 * the data (text, CSV and binary pass through as they are).
 */
import type { BackendMessage, CopyInResponse } from "../protocol/Backend.ts"
import { COPY_DONE, encodeCopyDataHeader, encodeCopyFail, encodeQuery } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import { MAX_MESSAGE_SIZE } from "../protocol/Types.ts"
import { type CommandComplete, parseCommandTag } from "../Result.ts"
import {
  CONTINUE,
  type Command,
  done,
  type Failure,
  fail,
  protocol,
  result,
  type Start,
  type Step,
  send,
  serverError,
  unexpected
} from "./Command.ts"

// ---------------------------------------------------------------------------------------------
// The exchange, shared with copyOut.ts

/**
 * Where a simple-protocol exchange is, from the server's side (Frontend/Backend Protocol, "Simple
 * Query" and "COPY Operations"): `idle` between statements, `rows` after a RowDescription,
 * `copyIn` while the server waits for data, `copyOut`/`copyOutDone` while it sends data and after
 * its CopyDone, `errored` after an ErrorResponse (only ReadyForQuery may follow).
 */
export type CopyPhase = "idle" | "rows" | "copyIn" | "copyOut" | "copyOutDone" | "errored"

/** The exchange part of a COPY command's state. */
export interface CopyExchange {
  phase: CopyPhase
  /** A statement was answered (CommandComplete, EmptyQueryResponse or ErrorResponse). */
  answered: boolean
  /** The column count of the row set in progress (a DataRow must have as many values). */
  columns: number
}

const transitions: Record<CopyPhase, Partial<Record<BackendMessage["_tag"], CopyPhase>>> = {
  idle: {
    RowDescription: "rows",
    CommandComplete: "idle",
    EmptyQueryResponse: "idle",
    CopyInResponse: "copyIn",
    CopyOutResponse: "copyOut",
    ErrorResponse: "errored"
  },
  rows: { DataRow: "rows", CommandComplete: "idle", ErrorResponse: "errored" },
  copyIn: { CommandComplete: "idle", ErrorResponse: "errored" },
  copyOut: { CopyData: "copyOut", CopyDone: "copyOutDone", ErrorResponse: "errored" },
  copyOutDone: { CommandComplete: "idle", ErrorResponse: "errored" },
  errored: {}
}

const describe: Record<CopyPhase, string> = {
  idle: "no statement running",
  rows: "in a row set, before its CommandComplete",
  copyIn: "in copy-in mode, before its CommandComplete or ErrorResponse",
  copyOut: "in copy-out mode, before its CopyDone",
  copyOutDone: "after CopyDone, before its CommandComplete",
  errored: "after an ErrorResponse"
}

/** `Unexpected` with "unexpected <what> during COPY". */
export const copyUnexpected = (what: string): Step<never, never> =>
  unexpected(protocol("UnexpectedMessage", `unexpected ${what} during COPY`))

/** Moves the exchange on with `message` (not ReadyForQuery); `Unexpected` when it cannot come now. */
export const advance = (exchange: CopyExchange, message: BackendMessage): Step<never, never> | undefined => {
  const to = transitions[exchange.phase][message._tag]
  if (to === undefined) return copyUnexpected(`${message._tag} (${describe[exchange.phase]})`)
  // Rows are drained, never delivered, but a row of the wrong width is still a broken exchange.
  if (message._tag === "RowDescription") exchange.columns = message.fields.length
  if (message._tag === "DataRow" && message.columns.length !== exchange.columns) {
    return copyUnexpected(
      `DataRow with ${message.columns.length} column(s) after a RowDescription of ${exchange.columns}`
    )
  }
  if (to === "idle" || to === "errored") exchange.answered = true
  exchange.phase = to
  return undefined
}

/**
 * The end of a COPY exchange at its ReadyForQuery: `Unexpected` unless it comes between
 * statements or after an error, and after an answer; else the first failure, the COPY's command
 * tag, or `NotCopy` when no COPY in `direction` completed.
 */
export const atReady = (
  state: CopyExchange & {
    readonly failure: Failure | undefined
    readonly command: CommandComplete | undefined
  },
  direction: "in" | "out"
): Step<CommandComplete, never> => {
  if (state.phase !== "idle" && state.phase !== "errored")
    return copyUnexpected(`ReadyForQuery (${describe[state.phase]})`)
  if (!state.answered) return copyUnexpected("ReadyForQuery before any CommandComplete or ErrorResponse")
  if (state.failure !== undefined) return fail(state.failure)
  return state.command !== undefined ? done(state.command) : fail(notCopy(direction))
}

/** The statement was not the one COPY in the expected direction. */
export const notCopy = (direction: "in" | "out"): Failure =>
  protocol(
    "NotCopy",
    direction === "in"
      ? "copyIn expects a COPY ... FROM STDIN statement"
      : "copyOut expects a COPY ... TO STDOUT statement"
  )

/** The CopyFail that refuses a copy-in mode the caller did not ask for. */
export const COPY_REFUSED: Uint8Array = (() => {
  const frame = encodeCopyFail("COPY aborted by the client")
  return frame instanceof ProtocolError ? new Uint8Array(0) : frame
})()

/**
 * A COPY command's start: its Query (exclusive: nothing is written behind a COPY), the exchange
 * before any answer and the rest of `state`; or why the SQL cannot be encoded (nothing is sent).
 */
export const startCopy = <S extends CopyExchange>(
  sql: string,
  state: Omit<S, keyof CopyExchange>
): Start<S> | Failure => {
  const frames = encodeQuery(sql)
  if (frames instanceof ProtocolError) return protocol(frames.reason, frames.message, { mayHaveRun: false })
  return { frames, exclusive: true, state: { phase: "idle", answered: false, columns: 0, ...state } as S }
}

/** The command tag of a COPY that completed (none before). */
export const copyTags = (state: { readonly command: CommandComplete | undefined }): ReadonlyArray<string> =>
  state.command === undefined ? [] : [state.command.tag]

// ---------------------------------------------------------------------------------------------
// The copy-in command

export interface CopyInArgs {
  /** The COPY … FROM STDIN statement. */
  readonly sql: string
}

/** What the caller feeds a running copy-in. */
export type CopyInInput =
  | { readonly _tag: "Data"; readonly data: Uint8Array }
  | { readonly _tag: "Done" }
  | { readonly _tag: "Abort"; readonly reason: string }

/**
 * Our side: `waiting` for the server's CopyInResponse, `sending` data, `ended` once CopyDone or
 * CopyFail went out or the server left (or never entered) our copy-in mode.
 */
export type CopyInSide = "waiting" | "sending" | "ended"

export interface CopyInState extends CopyExchange {
  side: CopyInSide
  /** CopyDone was sent: the server may now complete the COPY. */
  doneSent: boolean
  /** The copy-in mode now running is one we refused with CopyFail. */
  refusing: boolean
  /** An abort asked for before the server was in copy-in mode. */
  pendingAbort: string | undefined
  failure: Failure | undefined
  command: CommandComplete | undefined
}

const MAX_PAYLOAD = MAX_MESSAGE_SIZE - 4

/** CopyData header and payload pairs for `data` (views, no copy; several when over the frame limit). */
export const copyDataFrames = (data: Uint8Array, maxPayload = MAX_PAYLOAD): Array<Uint8Array> => {
  const frames: Array<Uint8Array> = []
  for (let at = 0; at < data.length; at += maxPayload) {
    const part = data.length <= maxPayload ? data : data.subarray(at, at + maxPayload)
    // Never an error: 0 < part.length ≤ MAX_PAYLOAD.
    frames.push(encodeCopyDataHeader(part.length) as Uint8Array, part)
  }
  return frames
}

/** A CopyFail with `reason` (NULs replaced, cut to 1000 characters). */
export const copyFailFrame = (reason: string): Uint8Array => {
  const frame = encodeCopyFail(reason.replace(/\0/g, " ").slice(0, 1000))
  return frame instanceof ProtocolError ? COPY_REFUSED : frame
}

const onCopyInResponse = (
  state: CopyInState,
  message: CopyInResponse
): Step<CommandComplete, CopyInResponse> => {
  if (state.failure !== undefined || state.side !== "waiting") {
    // Another statement of the same string ran first (or a second COPY): refuse this one.
    state.failure ??= notCopy("in")
    state.refusing = true
    state.side = "ended"
    return send(COPY_REFUSED)
  }
  if (state.pendingAbort !== undefined) {
    // The caller went away before the server was ready for data.
    state.side = "ended"
    return send(copyFailFrame(state.pendingAbort))
  }
  state.side = "sending"
  return result(message)
}

const onMessage = (state: CopyInState, message: BackendMessage): Step<CommandComplete, CopyInResponse> => {
  if (message._tag === "ReadyForQuery") return atReady(state, "in")
  const before = state.phase
  const broken = advance(state, message)
  if (broken !== undefined) return broken
  switch (message._tag) {
    case "CopyInResponse":
      return onCopyInResponse(state, message)
    case "CommandComplete":
      if (before !== "copyIn") {
        // A statement that ran instead of the COPY (or after it) is not a success.
        state.failure ??= notCopy("in")
        return CONTINUE
      }
      // Copy-in mode ends in success only after our CopyDone (a CopyFail gets an ErrorResponse).
      if (state.refusing || !state.doneSent)
        return copyUnexpected("CommandComplete (in copy-in mode, before CopyDone was sent)")
      state.command = parseCommandTag(message.tag)
      state.side = "ended"
      return CONTINUE
    case "ErrorResponse":
      state.failure ??= serverError(message.fields)
      state.side = "ended"
      return CONTINUE
    case "RowDescription":
    case "DataRow":
    case "EmptyQueryResponse":
    case "CopyOutResponse":
      state.failure ??= notCopy("in")
      return CONTINUE
    default:
      // CopyData and CopyDone of a COPY TO STDOUT that ran instead: drained.
      return CONTINUE
  }
}

const onInput = (state: CopyInState, input: CopyInInput): Step<CommandComplete, CopyInResponse> => {
  switch (input._tag) {
    case "Data":
      if (state.side !== "sending" || input.data.length === 0) return CONTINUE
      return send(copyDataFrames(input.data))
    case "Done":
      if (state.side !== "sending") return CONTINUE
      state.side = "ended"
      state.doneSent = true
      return send(COPY_DONE)
    case "Abort":
      if (state.side === "waiting") {
        state.pendingAbort ??= input.reason
        return CONTINUE
      }
      if (state.side === "ended") return CONTINUE
      state.side = "ended"
      return send(copyFailFrame(input.reason))
  }
}

/** The copy-in command (copyIn, copyInFeed, copyInRows). */
export const copyIn = {
  name: "copy-in",
  start: (args: CopyInArgs) =>
    startCopy<CopyInState>(args.sql, {
      side: "waiting",
      doneSent: false,
      refusing: false,
      pendingAbort: undefined,
      failure: undefined,
      command: undefined
    }),
  onMessage,
  onInput,
  tags: copyTags
} satisfies Command<CopyInArgs, CopyInState, CommandComplete, CopyInResponse, CopyInInput>
