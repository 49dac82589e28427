/**
 * The cursor command: one statement read in windows of `window` rows over the unnamed portal,
 * each window asked for by the caller (`onInput("more")`), so rows come only as fast as they are
 * consumed.
 *
 * Wire transcript (Frontend/Backend Protocol, "Extended Query", Execute with a row limit, Flush):
 *   → Parse("") Bind("", "") Describe(P) Execute("", window) Flush
 *   ← ParseComplete BindComplete RowDescription | NoData DataRow* then
 *     PortalSuspended: the window is full; the caller's "more" → Execute("", window) Flush, and
 *       DataRow* again;
 *     CommandComplete | EmptyQueryResponse: the statement is done → Sync ← ReadyForQuery (Done).
 *   The caller's "close" (it stopped early) → Close(P, "") Sync; the window in flight (if any)
 *   ends first, its rows dropped, then ← CloseComplete ReadyForQuery (Done).
 *   ErrorResponse with no Sync pending → Sync ← ReadyForQuery (Fail); with one pending (after
 *   "close", after CommandComplete: a deferred constraint at the COMMIT) → ReadyForQuery (Fail).
 * Anything out of that order is `Unexpected` (the connection fails).
 *
 * The command is exclusive: its frames end with Flush, not Sync, so the server stays inside the
 * exchange between windows and nothing else may be written on the connection until the command
 * ends. What the server keeps alive meanwhile: outside a transaction block, the exchange runs in
 * an implicit transaction that stays open until the Sync, with its snapshot and its locks (a
 * VACUUM cannot remove rows it may see; DDL on the tables it reads waits); inside a transaction
 * block the portal lives in that transaction, which goes on after the cursor ends.
 *
 * COPY is refused before anything is sent. `Suspended` results carry the number of rows emitted
 * so far, so a caller that receives rows in batches knows when a window has been fully delivered.
 * It does NOT decide when to ask for more or to close (connection/cursor.ts does).
 */
import { isCopy } from "../lexer/Leading.ts"
import type { BackendMessage } from "../protocol/Backend.ts"
import {
  DESCRIBE_UNNAMED_PORTAL,
  SYNC,
  writeBind,
  writeClose,
  writeExecute,
  writeFlush,
  writeParse,
  writeSync
} from "../protocol/Frontend.ts"
import type { ProtocolError } from "../protocol/ProtocolError.ts"
import { decodeTextRow } from "../protocol/TextRow.ts"
import type { Writer } from "../protocol/Writer.ts"
import { type AnyRow, type Column, type CommandComplete, parseCommandTag } from "../Result.ts"
import {
  CONTINUE,
  type Command,
  done,
  type Failure,
  fail,
  protocol,
  result,
  row,
  type Start,
  type Step,
  send,
  serverError,
  unexpected,
  unexpectedMessage
} from "./Command.ts"
import { advance, encodeFrames } from "./prepare.ts"
import { isDecodeFailure, type ReadRow, type RowReader, readRow } from "./rows.ts"
import { rowProblem } from "./shared.ts"

export interface CursorArgs {
  readonly sql: string
  /** Parameters as Bind values (text; `null` is SQL NULL): connection/params.ts encodes JS values. */
  readonly params?: ReadonlyArray<string | null> | undefined
  /** Rows per window: an integer in 1..2147483647. */
  readonly window: number
  /** Where to encode (the connection's Writer); default the commands' own. */
  readonly writer?: Writer | undefined
  /** Typed results (commands/rows.ts); absent: text rows. */
  readonly reader?: RowReader | undefined
}

/** What the caller feeds the running cursor. */
export type CursorInput = "more" | "close"

/** The cursor's intermediate results. */
export type CursorEvent =
  | { readonly _tag: "Columns"; readonly columns: ReadonlyArray<Column> }
  /** The window is full; `rows`: rows emitted so far (all windows). Feed "more" or "close". */
  | { readonly _tag: "Suspended"; readonly rows: number }

export interface CursorResult {
  /** The statement's CommandComplete; `undefined` when it was closed before it ended. */
  readonly command: CommandComplete | undefined
  /** Closed by the caller ("close") rather than read to its end. */
  readonly closed: boolean
}

type Phase =
  | "parse"
  | "bind"
  | "describe"
  | "rows"
  | "suspended"
  | "syncing"
  | "closing"
  | "closed"
  | "failed"

export interface CursorState {
  phase: Phase
  columns: ReadonlyArray<Column>
  noData: boolean
  /** Rows emitted as `Row` steps. */
  rows: number
  command: CommandComplete | undefined
  failure: Failure | undefined
  /** "close" was sent (Close + Sync): the window in flight is dropped, then CloseComplete. */
  closeSent: boolean
  /** A Sync is on its way: its ReadyForQuery ends the command. */
  syncSent: boolean
  /** Execute("", window) + Flush. */
  readonly more: Uint8Array
  /** Close(P, "") + Sync. */
  readonly close: Uint8Array
  readonly reader: RowReader | undefined
}

type CursorStep = Step<CursorResult, CursorEvent>

const NAME = "a cursor"
const EMPTY_COMMAND: CommandComplete = { tag: "", command: "", rows: undefined }
const MAX_WINDOW = 0x7fffffff

const onRow = (state: CursorState, value: ReadRow): CursorStep => {
  if (isDecodeFailure(value)) {
    // The first value that did not decode fails the cursor: the window is drained, then closed.
    state.failure ??= value.failure
    return CONTINUE
  }
  const problem = rowProblem(value, state.columns)
  if (problem !== undefined) return problem
  if (state.closeSent || state.failure !== undefined) return CONTINUE
  state.rows++
  return row(value as AnyRow)
}

const rowsAllowed = (state: CursorState) => state.phase === "rows" && !state.noData

/** PortalSuspended, CommandComplete, EmptyQueryResponse: the window in flight ended. */
const onWindowEnd = (state: CursorState, message: BackendMessage): CursorStep => {
  if (state.phase !== "rows") return unexpectedMessage(NAME, message, state.phase)
  if (message._tag === "CommandComplete") state.command = parseCommandTag(message.tag)
  else if (message._tag === "EmptyQueryResponse") state.command = EMPTY_COMMAND
  if (state.closeSent) {
    state.phase = "closing"
    return CONTINUE
  }
  if (message._tag === "PortalSuspended" && state.failure !== undefined) {
    // A value did not decode: close the portal instead of asking for more.
    state.closeSent = true
    state.syncSent = true
    state.phase = "closing"
    return send(state.close)
  }
  if (message._tag === "PortalSuspended") {
    state.phase = "suspended"
    return result({ _tag: "Suspended", rows: state.rows })
  }
  state.phase = "syncing"
  state.syncSent = true
  return send(SYNC)
}

const onError = (state: CursorState, message: BackendMessage & { _tag: "ErrorResponse" }): CursorStep => {
  if (state.phase === "failed" || state.phase === "suspended") {
    return unexpectedMessage(NAME, message, state.phase)
  }
  state.failure = serverError(message.fields)
  state.phase = "failed"
  if (state.syncSent) return CONTINUE
  state.syncSent = true
  return send(SYNC)
}

const onMessage = (state: CursorState, message: BackendMessage): CursorStep => {
  switch (message._tag) {
    case "ParseComplete":
      return advance(state, message, NAME, "parse", "bind")
    case "BindComplete":
      return advance(state, message, NAME, "bind", "describe")
    case "RowDescription":
    case "NoData":
      if (state.phase !== "describe") return unexpectedMessage(NAME, message, state.phase)
      if (message._tag === "RowDescription") {
        state.columns = message.fields
        state.reader?.plan(state.columns)
      } else state.noData = true
      state.phase = "rows"
      return result({ _tag: "Columns", columns: state.columns })
    case "DataRow":
      if (!rowsAllowed(state)) return unexpectedMessage(NAME, message, state.phase)
      return onRow(state, decodeTextRow(message.columns))
    case "PortalSuspended":
    case "CommandComplete":
    case "EmptyQueryResponse":
      return onWindowEnd(state, message)
    case "CloseComplete":
      return advance(state, message, NAME, "closing", "closed")
    case "ErrorResponse":
      return onError(state, message)
    case "ReadyForQuery":
      if (state.phase === "failed") return fail(state.failure!)
      // A value that did not decode (the rows were drained, the portal closed).
      if (state.failure !== undefined && (state.phase === "syncing" || state.phase === "closed"))
        return fail(state.failure)
      if (state.phase === "syncing") return done({ command: state.command, closed: false })
      if (state.phase === "closed") return done({ command: state.command, closed: true })
      return unexpectedMessage(NAME, message, state.phase)
    default:
      return unexpectedMessage(NAME, message, state.phase)
  }
}

const onInput = (state: CursorState, input: CursorInput): CursorStep => {
  if (state.closeSent || state.syncSent) return CONTINUE
  if (input === "more") {
    if (state.phase !== "suspended") return CONTINUE
    state.phase = "rows"
    return send(state.more)
  }
  state.closeSent = true
  state.syncSent = true
  if (state.phase === "suspended") state.phase = "closing"
  return send(state.close)
}

/** Execute("", window) + Flush. */
const writeExecuteFlush = (w: Writer, window: number): ProtocolError | undefined =>
  writeExecute(w, "", window) ?? writeFlush(w)

/** Why the cursor cannot start (nothing is sent): a bad window, or a COPY. */
const refusal = (args: CursorArgs): Failure | undefined => {
  if (!Number.isInteger(args.window) || args.window < 1 || args.window > MAX_WINDOW) {
    return protocol(
      "InvalidValue",
      `cursor: window must be an integer in 1..${MAX_WINDOW}, got ${args.window}`,
      {
        mayHaveRun: false
      }
    )
  }
  if (isCopy(args.sql)) {
    return protocol("CopyNotSupported", "COPY cannot run through a cursor; use copyIn or copyOut", {
      mayHaveRun: false
    })
  }
  return undefined
}

/** The cursor command (cursor). */
export const cursor = {
  name: "cursor",
  start: (args: CursorArgs): Start<CursorState> | Failure => {
    const refused = refusal(args)
    if (refused !== undefined) return refused
    const frames = encodeFrames((w) => {
      const problem = writeParse(w, "", args.sql, []) ?? writeBind(w, "", "", args.params ?? [])
      if (problem !== undefined) return problem
      w.bytes(DESCRIBE_UNNAMED_PORTAL)
      return writeExecuteFlush(w, args.window)
    }, args.writer)
    if (!(frames instanceof Uint8Array)) return frames
    const more = encodeFrames((w) => writeExecuteFlush(w, args.window), args.writer)
    const close = encodeFrames((w) => writeClose(w, "P", "") ?? writeSync(w), args.writer)
    if (!(more instanceof Uint8Array)) return more
    if (!(close instanceof Uint8Array)) return close
    return {
      frames,
      exclusive: true,
      state: {
        phase: "parse",
        columns: [],
        noData: false,
        rows: 0,
        command: undefined,
        failure: undefined,
        closeSent: false,
        syncSent: false,
        more,
        close,
        reader: args.reader
      }
    }
  },
  onMessage,
  onDataRow: (state, body) => {
    if (!rowsAllowed(state)) {
      return unexpected(protocol("UnexpectedMessage", `unexpected DataRow during a cursor (${state.phase})`))
    }
    return onRow(state, readRow(state.reader, body))
  },
  onInput,
  tags: (state) => (state.command === undefined || state.command.tag === "" ? [] : [state.command.tag])
} satisfies Command<CursorArgs, CursorState, CursorResult, CursorEvent, CursorInput>
