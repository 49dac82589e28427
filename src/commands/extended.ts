/**
 * The extended-query command: one statement sent as [Close(S)…] [Parse] Bind [Describe(P)]
 * Execute(0) Sync, its rows streamed as `Row` steps (or, for queryExpectNoData, refused).
 *
 * Wire transcript (Frontend/Backend Protocol, "Extended Query"):
 *   CloseComplete × closes, ParseComplete (when parsing),
 *   [ParameterDescription, RowDescription | NoData] (`describeStatement`: Describe(S) after the
 *   Parse, so the statement cache learns the parameter types in the same round trip), BindComplete,
 *   RowDescription | NoData (Describe(P); absent with `describeStatement`, or for a cached
 *   statement, whose columns are given instead),
 *   DataRow*, CommandComplete | EmptyQueryResponse, ReadyForQuery;
 *   or ErrorResponse at any point before ReadyForQuery (also after CommandComplete: a deferred
 *   constraint failing at the implicit COMMIT), then ReadyForQuery.
 * Anything out of that order is `Unexpected` (the connection fails), including a DataRow whose
 * column count differs from its RowDescription (it is never delivered) and a PortalSuspended
 * (Execute asked for no row limit, so the portal cannot be suspended: taking it for the end
 * would truncate the rows).
 *
 * `expectNoData` (queryExpectNoData): columns are fine, rows are not. The first DataRow makes the
 * outcome `UnexpectedRows` (the statement ran; `mayHaveRun`); the rows are checked and drained,
 * never delivered, and the server finishes the statement, so its side effects are done and the
 * session is in step. A server error that comes later replaces that outcome (it is what became
 * of the statement).
 *
 * A COPY reaching this flow is refused without desync: CopyInResponse is answered with CopyFail
 * and Sync (the server ignored the first Sync in copy-in mode) and the statement did not take
 * effect; CopyOutResponse's data is drained, and the statement ran. The refusal names COPY IN or
 * COPY OUT and the operation.
 *
 * Values are the server's text, or, with a `reader`, decoded on the frame path by a RowReader
 * (commands/rows.ts): a value that fails to decode fails the query (UndecodableValue) after the
 * rest of its rows were drained.
 *
 * It does NOT encode the statement (the connection's statement cache does, and says what the
 * frames contain).
 */
import type { BackendMessage } from "../protocol/Backend.ts"
import type { ProtocolError } from "../protocol/ProtocolError.ts"
import { decodeTextRow, type TextRow } from "../protocol/TextRow.ts"
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
  unexpected,
  unexpectedMessage
} from "./Command.ts"
import { isDecodeFailure, type RowReader, readRow } from "./rows.ts"
import { copyFailFrames, onErrorOrCopy, rowProblem } from "./shared.ts"

export interface ExtendedArgs {
  /** The encoded exchange, ending with Sync. */
  readonly frames: Uint8Array
  /** How many Close messages the frames begin with (a CloseComplete each). */
  readonly closes?: number | undefined
  /** Whether the frames contain a Parse (ParseComplete expected). */
  readonly parse: boolean
  /** Columns known in advance (a cached statement): no Describe was sent. */
  readonly preset?: ReadonlyArray<Column> | undefined
  /** The frames hold Describe(S) between Parse and Bind instead of Describe(P) after the Bind. */
  readonly describeStatement?: boolean | undefined
  /** Nothing may be written behind it (a COPY statement: its Sync is ignored in copy-in mode). */
  readonly exclusive?: boolean | undefined
  /** queryExpectNoData: a row (or a COPY) fails the statement after it ran; rows are not delivered. */
  readonly expectNoData?: boolean | undefined
  /** Typed results: decodes the rows (one per run, commands/rows.ts); absent: text rows. */
  readonly reader?: RowReader | undefined
}

export interface ExtendedResult {
  readonly columns: ReadonlyArray<Column>
  readonly command: CommandComplete
  /** The statement's parameter types (with `describeStatement`). */
  readonly paramTypes?: ReadonlyArray<number> | undefined
}

type Phase =
  | "closes"
  | "parse"
  | "params"
  | "statement"
  | "bind"
  | "describe"
  | "rows"
  | "complete"
  | "failed"
  | "copy-in"
  | "copy-out"
  | "copy-out-done"

export interface ExtendedState {
  phase: Phase
  closesLeft: number
  readonly parse: boolean
  preset: ReadonlyArray<Column> | undefined
  readonly describeStatement: boolean
  paramTypes: ReadonlyArray<number> | undefined
  columns: ReadonlyArray<Column>
  /** NoData: the statement returns no rows. */
  noData: boolean
  /** queryExpectNoData: rows are refused (see the module header). */
  readonly expectNoData: boolean
  command: CommandComplete | undefined
  failure: Failure | undefined
  /** The server acknowledged the Parse (a named statement exists now). */
  parsed: boolean
  /** Decodes typed rows (absent: text rows). */
  readonly reader: RowReader | undefined
  /** The one Row step of this run, refilled per row: the engine consumes a step before the next. */
  readonly rowStep: { readonly _tag: "Row"; row: AnyRow }
}

const EMPTY_COMMAND: CommandComplete = { tag: "", command: "", rows: undefined }

const COPY_FAIL_AND_SYNC = copyFailFrames("COPY FROM STDIN is not supported by this operation", true)

const NAME = "a query"

const operationOf = (state: ExtendedState) => (state.expectNoData ? "queryExpectNoData" : "query")

/** queryExpectNoData's outcome when a row arrives: the statement ran. */
const ROWS_REFUSED: Failure = protocol(
  "UnexpectedRows",
  "queryExpectNoData: query unexpectedly produced rows",
  {
    mayHaveRun: true
  }
)

const isRowsRefused = (failure: Failure | undefined) =>
  failure?._tag === "Protocol" && failure.reason === "UnexpectedRows"

const startPhase = (closes: number, parse: boolean): Phase =>
  closes > 0 ? "closes" : parse ? "parse" : "bind"

const onRow = (
  state: ExtendedState,
  value: TextRow | ProtocolError
): Step<ExtendedResult, ReadonlyArray<Column>> => {
  const problem = rowProblem(value, state.columns)
  if (problem !== undefined) return problem
  if (!state.expectNoData) return row(value as TextRow)
  state.failure ??= ROWS_REFUSED
  return CONTINUE
}

const rowsAllowed = (state: ExtendedState) => state.phase === "rows" && !state.noData

const onMessage = (
  state: ExtendedState,
  message: BackendMessage
): Step<ExtendedResult, ReadonlyArray<Column>> => {
  switch (message._tag) {
    case "DataRow":
      if (!rowsAllowed(state)) return unexpectedMessage(NAME, message, state.phase)
      return onRow(state, decodeTextRow(message.columns))
    case "CloseComplete":
      if (state.phase !== "closes") return unexpectedMessage(NAME, message, state.phase)
      if (--state.closesLeft === 0) state.phase = state.parse ? "parse" : "bind"
      return CONTINUE
    case "ParseComplete":
      if (state.phase !== "parse") return unexpectedMessage(NAME, message, state.phase)
      state.parsed = true
      state.phase = state.describeStatement ? "params" : "bind"
      return CONTINUE
    case "ParameterDescription":
      if (state.phase !== "params") return unexpectedMessage(NAME, message, state.phase)
      state.paramTypes = message.oids
      state.phase = "statement"
      return CONTINUE
    case "BindComplete":
      if (state.phase !== "bind") return unexpectedMessage(NAME, message, state.phase)
      if (state.preset === undefined) {
        state.phase = "describe"
        return CONTINUE
      }
      state.columns = state.preset
      state.reader?.plan(state.columns)
      state.phase = "rows"
      return result(state.columns)
    case "RowDescription":
      if (state.phase === "statement") {
        // Describe(S): the columns, formats all text (the Bind asked for text).
        state.preset = message.fields
        state.phase = "bind"
        return CONTINUE
      }
      if (state.phase !== "describe") return unexpectedMessage(NAME, message, state.phase)
      state.columns = message.fields
      state.reader?.plan(state.columns)
      state.phase = "rows"
      return result(state.columns)
    case "NoData":
      if (state.phase === "statement") {
        state.preset = []
        state.noData = true
        state.phase = "bind"
        return CONTINUE
      }
      if (state.phase !== "describe") return unexpectedMessage(NAME, message, state.phase)
      state.noData = true
      state.phase = "rows"
      return result(state.columns)
    case "CommandComplete":
    case "EmptyQueryResponse":
      return onComplete(state, message)
    case "PortalSuspended":
      // Execute asked for every row (limit 0): a suspended portal would silently truncate them.
      return unexpectedMessage(NAME, message, `${state.phase}: Execute asked for no row limit`)
    case "ErrorResponse":
      // What became of the statement after its rows were refused: rolled back (or cancelled).
      if (isRowsRefused(state.failure) && state.phase !== "failed") state.failure = undefined
      return onErrorOrCopy(state, message, NAME, "rows", COPY_FAIL_AND_SYNC, operationOf(state))!
    case "ReadyForQuery":
      if (state.phase === "failed") return fail(state.failure!)
      if (state.phase !== "complete") {
        return unexpected(
          protocol("UnexpectedMessage", "unexpected ReadyForQuery before CommandComplete during a query")
        )
      }
      if (state.failure !== undefined) return fail(state.failure)
      return done({ columns: state.columns, command: state.command!, paramTypes: state.paramTypes })
    default:
      return (
        onErrorOrCopy(state, message, NAME, "rows", COPY_FAIL_AND_SYNC, operationOf(state)) ??
        unexpectedMessage(NAME, message, state.phase)
      )
  }
}

const onComplete = (
  state: ExtendedState,
  message: BackendMessage & { _tag: "CommandComplete" | "EmptyQueryResponse" }
): Step<ExtendedResult, ReadonlyArray<Column>> => {
  // A COPY TO STDOUT that was drained ends with its CommandComplete (after its CopyDone).
  const copyEnd = state.phase === "copy-out-done" && message._tag === "CommandComplete"
  if (state.phase !== "rows" && !copyEnd) return unexpectedMessage(NAME, message, state.phase)
  state.command = message._tag === "CommandComplete" ? parseCommandTag(message.tag) : EMPTY_COMMAND
  state.phase = "complete"
  return CONTINUE
}

/** The extended-query command (query, stream). */
export const extendedQuery = {
  name: "query",
  start: (args: ExtendedArgs): Start<ExtendedState> => {
    const closes = args.closes ?? 0
    return {
      frames: args.frames,
      exclusive: args.exclusive,
      state: {
        phase: startPhase(closes, args.parse),
        closesLeft: closes,
        parse: args.parse,
        preset: args.preset,
        describeStatement: args.describeStatement === true,
        paramTypes: undefined,
        columns: [],
        noData: false,
        expectNoData: args.expectNoData === true,
        command: undefined,
        failure: undefined,
        parsed: false,
        reader: args.reader,
        rowStep: { _tag: "Row", row: [] }
      }
    }
  },
  onMessage,
  onDataRow: (state, body) => {
    if (!rowsAllowed(state)) {
      return unexpected(protocol("UnexpectedMessage", `unexpected DataRow during a query (${state.phase})`))
    }
    // queryExpectNoData refuses rows: they are checked, never decoded.
    const value = readRow(state.expectNoData ? undefined : state.reader, body)
    if (isDecodeFailure(value)) {
      // The first value that did not decode fails the query; the rest of its rows are drained.
      state.failure ??= value.failure
      return CONTINUE
    }
    const problem = rowProblem(value, state.columns)
    if (problem !== undefined) return problem
    if (state.expectNoData) {
      state.failure ??= ROWS_REFUSED
      return CONTINUE
    }
    // A row after a failed value is dropped: the query fails with that value's error.
    if (state.failure !== undefined) return CONTINUE
    // No allocation per row: the run's own Row step, refilled (the engine takes the row at once).
    state.rowStep.row = value as AnyRow
    return state.rowStep
  },
  tags: (state) => (state.command === undefined || state.command.tag === "" ? [] : [state.command.tag])
} satisfies Command<ExtendedArgs, ExtendedState, ExtendedResult, ReadonlyArray<Column>>
