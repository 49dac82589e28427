/**
 * The per-flow state machines run by the connection engine (engine/Engine.ts): an extended
 * query whose rows are collected or streamed, and a simple (multi-statement) query.
 *
 * Wire transcripts (see the Frontend/Backend Protocol chapter, "Extended Query"):
 *   extended: Parse Bind Describe(P) Execute Sync →
 *             ParseComplete BindComplete (RowDescription | NoData) DataRow* (CommandComplete |
 *             EmptyQueryResponse) ReadyForQuery, or ErrorResponse at any point then ReadyForQuery
 *   simple:   Query → ((RowDescription DataRow*)? CommandComplete | EmptyQueryResponse)*
 *             [ErrorResponse] ReadyForQuery
 * A COPY statement sent through these flows is refused without desync: CopyInResponse is
 * answered with CopyFail (plus Sync in the extended flow, whose first Sync the server ignored
 * in copy-in mode), and CopyOutResponse's data is drained.
 *
 * Each request finishes only at its own ReadyForQuery, so the connection is in sync whatever the
 * caller does; an abandoned request (its fiber was interrupted) keeps draining and discards.
 * No Effect here: completion is a plain callback.
 */
import { type PgExpertError, PgProtocolError, PgServerError } from "../Errors.ts"
import type { Request, RequestContext } from "../engine/Engine.ts"
import { isCopy } from "../lexer/Leading.ts"
import type { BackendMessage, FieldDescription } from "../protocol/Backend.ts"
import { DataRowScanner } from "../protocol/DataRowScanner.ts"
import { encodeCopyFail, SYNC } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import { decodeText, decodeUtf8 } from "../protocol/Reader.ts"
import type { Column, CommandComplete, Notice, Row, StatementResult } from "../Result.ts"
import { parseCommandTag } from "../Result.ts"

export type RequestError = PgExpertError

const scanner = new DataRowScanner()

/** Node's native UTF-8 slice (flat strings); undocumented but stable, and what peers use. */
type NodeBuffer = Buffer & { utf8Slice(start: number, end: number): string }

const asBuffer = (bytes: Uint8Array): NodeBuffer =>
  (Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as NodeBuffer

/**
 * Decodes a text-format DataRow body straight from the frame (no per-column views). Values of up
 * to 12 bytes go through a JS loop (fastest for short ASCII, and V8 copies such short strings
 * flat); longer ones through the native slice, because building them piecewise would leave
 * rope strings that cost memory and GC time for as long as the rows are kept.
 */
export const scanRow = (body: Uint8Array): Row | ProtocolError => {
  const problem = scanner.scan(body)
  if (problem !== undefined) return problem
  const n = scanner.count
  const offsets = scanner.offsets
  const row = new Array<string | null>(n)
  let buffer: NodeBuffer | undefined
  for (let i = 0; i < n; i++) {
    const length = offsets[2 * i + 1]!
    if (length < 0) {
      row[i] = null
      continue
    }
    const start = offsets[2 * i]!
    if (length <= 12) row[i] = decodeUtf8(body, start, start + length)
    else {
      if (buffer === undefined) buffer = asBuffer(body)
      row[i] = buffer.utf8Slice(start, start + length)
    }
  }
  return row
}

/** Decodes a DataRow that arrived as a message (columns already split into views). */
export const decodeRow = (columns: ReadonlyArray<Uint8Array | null>): Row => {
  const n = columns.length
  const row = new Array<string | null>(n)
  for (let i = 0; i < n; i++) {
    const c = columns[i]!
    row[i] = c === null ? null : decodeText(c)
  }
  return row
}

export const toColumns = (fields: ReadonlyArray<FieldDescription>): ReadonlyArray<Column> => fields

const EMPTY_COMMAND: CommandComplete = { tag: "", command: "", rows: undefined }

/**
 * A COPY these flows refuse. COPY FROM STDIN is aborted with CopyFail, so it did not take effect;
 * a COPY TO STDOUT is drained to its end, so its statement ran (a `COPY (DELETE … RETURNING …)`
 * did delete).
 */
const copyRefused = (direction: "in" | "out") =>
  direction === "in"
    ? new PgProtocolError({
        reason: "CopyNotSupported",
        message: "COPY FROM STDIN cannot run through query/simpleQuery; use copyIn",
        mayHaveRun: false
      })
    : new PgProtocolError({
        reason: "CopyNotSupported",
        message: "COPY TO STDOUT cannot run through query/simpleQuery; use copyOut"
      })

const COPY_FAIL = (() => {
  const bytes = encodeCopyFail("COPY FROM STDIN is not supported by this operation")
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(0)
})()

/** What a finished extended query delivers. */
export interface ExtendedOutcome {
  readonly columns: ReadonlyArray<Column>
  readonly command: CommandComplete
  readonly notices: ReadonlyArray<Notice>
}

export interface QuerySink {
  readonly onColumns?: (columns: ReadonlyArray<Column>) => void
  readonly onRows: (rows: Array<Row>) => void
  readonly onDone: (result: ExtendedOutcome | RequestError) => void
}

/**
 * Told how a request ended even when its caller went away (statement-cache upkeep): its outcome
 * and whether the server acknowledged the Parse, or `undefined` when it was withdrawn unsent.
 */
export type SettleHook = (outcome: ExtendedOutcome | RequestError | undefined, parsed: boolean) => void

/**
 * An extended query. Rows go to `onRows` once per socket read (a batch), and the end to `onDone`.
 * `onColumns` fires once, when RowDescription or NoData arrives (before any row).
 */
export class ExtendedQuery implements Request {
  readonly exclusive: boolean
  abandoned = false
  private columns: ReadonlyArray<Column> = []
  private command: CommandComplete | undefined
  error: RequestError | undefined
  private readonly notices: Array<Notice> = []
  private batch: Array<Row> | undefined
  copyOut = false
  /** The server acknowledged our Parse (the named statement exists now). */
  parsed = false

  readonly frames: Uint8Array
  private readonly sink: QuerySink
  /** Columns known in advance (a cached statement: Describe was not sent). */
  private readonly preset: ReadonlyArray<Column> | undefined
  private settleHook: SettleHook | undefined
  /** Written behind a statement that a CancelRequest targeted: a 57014 may be meant for that one. */
  cancelRisk = false

  constructor(
    frames: Uint8Array,
    sink: QuerySink,
    exclusive = false,
    preset?: ReadonlyArray<Column>,
    settle?: SettleHook
  ) {
    this.frames = frames
    this.sink = sink
    this.exclusive = exclusive
    this.preset = preset
    this.settleHook = settle
  }

  /** Calls the settle hook once. */
  private settle(outcome: ExtendedOutcome | RequestError | undefined): void {
    const hook = this.settleHook
    this.settleHook = undefined
    hook?.(outcome, this.parsed)
  }

  onWithdraw(): void {
    this.settle(undefined)
  }

  hasError(): boolean {
    return this.error !== undefined
  }

  commandTags(): ReadonlyArray<string> {
    return this.command === undefined ? [] : [this.command.tag]
  }

  onMessage(message: BackendMessage, context: RequestContext): void {
    switch (message._tag) {
      case "DataRow":
        if (this.abandoned || this.error !== undefined) return
        if (this.batch === undefined) this.batch = [decodeRow(message.columns)]
        else this.batch.push(decodeRow(message.columns))
        return
      case "ParseComplete":
        this.parsed = true
        return
      case "BindComplete":
        if (this.preset !== undefined) {
          this.columns = this.preset
          if (!this.abandoned) this.sink.onColumns?.(this.preset)
        }
        return
      case "ParameterDescription":
      case "CloseComplete":
        return
      case "RowDescription":
        this.columns = toColumns(message.fields)
        if (!this.abandoned) this.sink.onColumns?.(this.columns)
        return
      case "NoData":
        if (!this.abandoned) this.sink.onColumns?.(this.columns)
        return
      case "CommandComplete":
        this.command = parseCommandTag(message.tag)
        return
      case "EmptyQueryResponse":
        this.command = EMPTY_COMMAND
        return
      case "PortalSuspended":
        this.command = { tag: "", command: "SUSPENDED", rows: undefined }
        return
      default:
        return onOther(this, message, context, true)
    }
  }

  onDataRow(body: Uint8Array, context: RequestContext): void {
    if (this.abandoned || this.error !== undefined) return
    const row = scanRow(body)
    if (row instanceof ProtocolError) return context.fail(PgProtocolError.fromCodec(row))
    if (this.batch === undefined) this.batch = [row]
    else this.batch.push(row)
  }

  onBatchEnd(): void {
    const batch = this.batch
    if (batch === undefined) return
    this.batch = undefined
    if (!this.abandoned) this.sink.onRows(batch)
  }

  /** Neither an error nor a completion before ReadyForQuery: the server skipped part of the exchange. */
  readyProblem(): PgProtocolError | undefined {
    return this.error === undefined && this.command === undefined
      ? unexpected("ReadyForQuery before CommandComplete")
      : undefined
  }

  onReady(): void {
    this.onBatchEnd()
    const outcome: ExtendedOutcome | RequestError =
      this.error ??
      (this.command === undefined
        ? unexpected("ReadyForQuery before CommandComplete")
        : { columns: this.columns, command: this.command, notices: this.notices })
    this.settle(outcome)
    if (!this.abandoned) this.sink.onDone(outcome)
  }

  onFail(error: PgExpertError): void {
    this.settle(error)
    if (!this.abandoned) this.sink.onDone(error)
  }

  onNotice(notice: Notice): void {
    this.notices.push(notice)
  }
}

/** A simple-protocol Query: every statement's result, or the first error. */
export class SimpleQuery implements Request {
  abandoned = false
  /** Written behind a statement that a CancelRequest targeted: a 57014 may be meant for that one. */
  cancelRisk = false
  private readonly results: Array<StatementResult> = []
  private columns: ReadonlyArray<Column> = []
  private rows: Array<Row> = []
  error: RequestError | undefined
  private readonly notices: Array<Notice> = []
  copyOut = false

  readonly frames: Uint8Array
  readonly exclusive: boolean
  private readonly onDone: (
    result: { results: ReadonlyArray<StatementResult>; notices: ReadonlyArray<Notice> } | RequestError
  ) => void

  constructor(
    frames: Uint8Array,
    onDone: (
      result: { results: ReadonlyArray<StatementResult>; notices: ReadonlyArray<Notice> } | RequestError
    ) => void,
    exclusive: boolean
  ) {
    this.frames = frames
    this.onDone = onDone
    this.exclusive = exclusive
  }

  onMessage(message: BackendMessage, context: RequestContext): void {
    switch (message._tag) {
      case "DataRow":
        if (!this.abandoned) this.rows.push(decodeRow(message.columns))
        return
      case "RowDescription":
        this.columns = toColumns(message.fields)
        this.rows = []
        return
      case "CommandComplete":
        this.results.push({ columns: this.columns, rows: this.rows, command: parseCommandTag(message.tag) })
        this.columns = []
        this.rows = []
        return
      case "EmptyQueryResponse":
        this.results.push({ columns: [], rows: [], command: undefined })
        return
      default:
        return onOther(this, message, context, false)
    }
  }

  onDataRow(body: Uint8Array, context: RequestContext): void {
    if (this.abandoned) return
    const row = scanRow(body)
    if (row instanceof ProtocolError) return context.fail(PgProtocolError.fromCodec(row))
    this.rows.push(row)
  }

  onReady(): void {
    if (this.abandoned) return
    this.onDone(this.error ?? { results: this.results, notices: this.notices })
  }

  hasError(): boolean {
    return this.error !== undefined
  }

  commandTags(): ReadonlyArray<string> {
    const tags: Array<string> = []
    for (const r of this.results) if (r.command !== undefined) tags.push(r.command.tag)
    return tags
  }

  onFail(error: PgExpertError): void {
    if (!this.abandoned) this.onDone(error)
  }

  onNotice(notice: Notice): void {
    this.notices.push(notice)
  }
}

/**
 * The messages both flows treat alike: an ErrorResponse, a COPY they refuse without desync
 * (CopyFail, plus a Sync in the extended flow, whose own Sync the server ignored in copy-in
 * mode; COPY OUT data is drained), and anything else, which breaks the protocol.
 */
const onOther = (
  request: { error: RequestError | undefined; copyOut: boolean },
  message: BackendMessage,
  context: RequestContext,
  extended: boolean
): void => {
  switch (message._tag) {
    case "ErrorResponse":
      request.error ??= PgServerError.fromFields(message.fields)
      return
    case "CopyInResponse":
      request.error ??= copyRefused("in")
      context.send(COPY_FAIL)
      if (extended) context.send(SYNC)
      return
    case "CopyOutResponse":
      request.error ??= copyRefused("out")
      request.copyOut = true
      return
    case "CopyData":
    case "CopyDone":
      if (request.copyOut) return
      return context.fail(unexpected(message._tag))
    default:
      return context.fail(unexpected(message._tag))
  }
}

const unexpected = (what: string) =>
  new PgProtocolError({ reason: "UnexpectedMessage", message: `unexpected ${what} during a query` })

/**
 * True when an extended-protocol statement is a COPY. COPY FROM STDIN makes the server ignore the
 * Sync already sent, so nothing may be pipelined behind such a request. Only a top-level COPY can
 * reach the client (PL/pgSQL refuses COPY to/from the client), so the first keyword decides, read
 * as PostgreSQL's scanner reads it (empty statements, both comment kinds: lexer/Leading.ts).
 */
export const isCopyStatement = (sql: string): boolean => isCopy(sql)

/** For a simple (multi-statement) query: any COPY keyword at all, conservatively. */
export const mayContainCopy = (sql: string): boolean => /\bcopy\b/i.test(sql)

/** Command tags of statements that control a transaction (a simple query that ran one is never resent). */
const CONTROL_TAGS = new Set([
  "BEGIN",
  "START TRANSACTION",
  "COMMIT",
  "ROLLBACK",
  "SAVEPOINT",
  "RELEASE",
  "PREPARE TRANSACTION",
  "COMMIT PREPARED",
  "ROLLBACK PREPARED"
])
export const isControl = (tag: string): boolean => CONTROL_TAGS.has(tag)

/** Whether a statement may be sent again now, and how its copy replaces it (operations' `timed`). */
export interface Retry {
  readonly allowed: () => boolean
  readonly swap: (next: Request & { abandoned: boolean }) => void
}

/** Whether a statement of `request` committed (a simple query's COMMIT before the one that failed). */
export const committedPart = (request: { commandTags?(): ReadonlyArray<string> }): boolean =>
  request.commandTags?.().some((tag) => tag === "COMMIT" || tag === "COMMIT PREPARED") === true
