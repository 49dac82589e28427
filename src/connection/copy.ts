/**
 * COPY FROM STDIN and COPY TO STDOUT as engine requests, over the simple Query protocol.
 *
 * Wire transcripts (Frontend/Backend Protocol, "COPY Operations"):
 *   in:  Query("COPY … FROM STDIN") → CopyInResponse; CopyData* then CopyDone (or CopyFail) →
 *        CommandComplete | ErrorResponse, then ReadyForQuery
 *   out: Query("COPY … TO STDOUT") → CopyOutResponse, CopyData*, CopyDone, CommandComplete,
 *        ReadyForQuery (or ErrorResponse, ReadyForQuery)
 * The simple protocol is used on purpose: after an error in copy-in mode the server sends
 * ReadyForQuery at once and drops any CopyData still in flight, so nothing can desync. COPY
 * requests are exclusive: nothing is pipelined behind them.
 *
 * Each request takes exactly one COPY in its direction: a string whose statement is not that COPY
 * (or that runs another statement before or after it) ends with a NotCopy error, never with the
 * other statement's tag; a second CopyInResponse is refused with CopyFail. Those are the caller's
 * mistakes, answered by a server that keeps to the protocol: the connection stays usable.
 *
 * What the protocol itself forbids fails the connection (PgProtocolError "UnexpectedMessage"),
 * like the other flows: each message is checked against where the exchange is (`CopyExchange`:
 * between statements, in a row set, in copy-in or copy-out mode, after an error), so a DataRow
 * without RowDescription, a result in the middle of copy-in mode, CopyData outside copy-out mode,
 * a CommandComplete for a copy-in that was never ended with CopyDone, or a ReadyForQuery that
 * leaves a statement unfinished (or answers nothing at all) is never taken for a NotCopy or a
 * success (the latter through the engine's `readyProblem`).
 *
 * It does NOT run the source stream (operations do); it only tracks the exchange and offers
 * `write` with socket backpressure.
 */
import { Effect } from "effect"
import type { Wire } from "../Codec.ts"
import { type PgExpertError, PgProtocolError, PgServerError } from "../Errors.ts"
import type { Request, RequestContext } from "../engine/Engine.ts"
import type { BackendMessage } from "../protocol/Backend.ts"
import { COPY_DONE, encodeCopyDataHeader, encodeCopyFail } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import type { CommandComplete, Notice } from "../Result.ts"
import { parseCommandTag } from "../Result.ts"

type Outcome = CommandComplete | PgExpertError

const isCommand = (o: Outcome): o is CommandComplete => !("_tag" in o)

const unexpected = (what: string) =>
  new PgProtocolError({ reason: "UnexpectedMessage", message: `unexpected ${what} during COPY` })

/**
 * Where a simple-protocol exchange is, from the server's side (Frontend/Backend Protocol, "Simple
 * Query" and "COPY Operations"): `idle` between statements, `rows` after a RowDescription,
 * `copyIn` while the server waits for data, `copyOut`/`copyOutDone` while it sends data and after
 * its CopyDone, `errored` after an ErrorResponse (only ReadyForQuery may follow).
 */
type Phase = "idle" | "rows" | "copyIn" | "copyOut" | "copyOutDone" | "errored"

const transitions: Record<Phase, Partial<Record<BackendMessage["_tag"], Phase>>> = {
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

/** Tracks the phase; says when a message, or the ReadyForQuery, breaks the protocol. */
class CopyExchange {
  phase: Phase = "idle"
  /** A statement was answered (CommandComplete, EmptyQueryResponse or ErrorResponse). */
  private answered = false

  /** Moves on with `message`; the protocol error when it cannot come now. */
  step(message: BackendMessage): PgProtocolError | undefined {
    const to = transitions[this.phase][message._tag]
    if (to === undefined) return unexpected(`${message._tag} (${describe[this.phase]})`)
    if (to === "idle" || to === "errored") this.answered = true
    this.phase = to
    return undefined
  }

  /** ReadyForQuery is only in order between statements or after an error, and after an answer. */
  readyProblem(): PgProtocolError | undefined {
    if (this.phase !== "idle" && this.phase !== "errored")
      return unexpected(`ReadyForQuery (${describe[this.phase]})`)
    return this.answered ? undefined : unexpected("ReadyForQuery before any CommandComplete or ErrorResponse")
  }
}

const describe: Record<Phase, string> = {
  idle: "no statement running",
  rows: "in a row set, before its CommandComplete",
  copyIn: "in copy-in mode, before its CommandComplete or ErrorResponse",
  copyOut: "in copy-out mode, before its CopyDone",
  copyOutDone: "after CopyDone, before its CommandComplete",
  errored: "after an ErrorResponse"
}

const notCopy = (direction: "in" | "out") =>
  new PgProtocolError({
    reason: "NotCopy",
    message:
      direction === "in"
        ? "copyIn expects a COPY ... FROM STDIN statement"
        : "copyOut expects a COPY ... TO STDOUT statement"
  })

/** COPY FROM STDIN. `started` resolves when the server is in copy-in mode (true) or the statement ended (false). */
export class CopyInRequest implements Request {
  readonly exclusive = true
  readonly frames: Uint8Array
  private readonly wire: Wire
  /** Set by `interrupt` (operations.ts) when the caller went away. */
  abandoned = false
  private readonly exchange = new CopyExchange()
  private inCopy = false
  private finished = false
  /** CopyDone was sent: the server may now complete the COPY. */
  private doneSent = false
  /** The copy-in mode now running is one we refused with CopyFail. */
  private refusing = false
  private pendingAbort: string | undefined
  private error: PgExpertError | undefined
  private command: CommandComplete | undefined
  private outcome: Outcome | undefined
  private startWaiters: Array<(inCopy: boolean) => void> = []
  private endWaiters: Array<(o: Outcome) => void> = []
  private readonly notices: Array<Notice> = []

  constructor(frames: Uint8Array, wire: Wire) {
    this.frames = frames
    this.wire = wire
  }

  /** True once CopyDone/CopyFail was sent or the server left copy mode. */
  get closed(): boolean {
    return this.finished || this.outcome !== undefined
  }

  onMessage(message: BackendMessage, context: RequestContext): void {
    const before = this.exchange.phase
    const broken = this.exchange.step(message)
    if (broken !== undefined) return context.fail(broken)
    switch (message._tag) {
      case "CopyInResponse":
        if (this.error !== undefined || this.inCopy) {
          // Another statement of the same string ran first (or a second COPY): refuse this one.
          this.error ??= notCopy("in")
          this.refusing = true
          context.send(encodeCopyFailFallback)
          return
        }
        this.inCopy = true
        if (this.pendingAbort !== undefined) {
          // The caller went away before the server was ready for data.
          this.finished = true
          context.send(encodeCopyFailFrame(this.pendingAbort))
        }
        for (const w of this.startWaiters.splice(0)) w(true)
        return
      case "CommandComplete":
        if (before !== "copyIn") {
          // A statement that ran instead of the COPY (or after it) is not a success.
          this.error ??= notCopy("in")
          return
        }
        // Copy-in mode ends in success only after our CopyDone (a CopyFail gets an ErrorResponse).
        if (this.refusing || !this.doneSent) {
          return context.fail(unexpected("CommandComplete (in copy-in mode, before CopyDone was sent)"))
        }
        this.command = parseCommandTag(message.tag)
        return
      case "ErrorResponse":
        this.error ??= PgServerError.fromFields(message.fields)
        return
      case "RowDescription":
      case "DataRow":
      case "EmptyQueryResponse":
      case "CopyOutResponse":
        this.error ??= notCopy("in")
        return
      default:
        // CopyData and CopyDone of a COPY TO STDOUT that ran instead: drained.
        return
    }
  }

  readyProblem(): PgProtocolError | undefined {
    return this.exchange.readyProblem()
  }

  onReady(): void {
    const outcome: Outcome = this.error ?? this.command ?? notCopy("in")
    this.settle(outcome)
  }

  onFail(error: PgExpertError): void {
    this.settle(error)
  }

  onNotice(notice: Notice): void {
    this.notices.push(notice)
  }

  private settle(outcome: Outcome): void {
    if (this.outcome !== undefined) return
    this.outcome = outcome
    for (const w of this.startWaiters.splice(0)) w(false)
    for (const w of this.endWaiters.splice(0)) w(outcome)
  }

  readonly started: Effect.Effect<boolean> = Effect.callback((resume) => {
    if (this.inCopy) return resume(Effect.succeed(true))
    if (this.outcome !== undefined) return resume(Effect.succeed(false))
    const w = (b: boolean) => resume(Effect.succeed(b))
    this.startWaiters.push(w)
    return Effect.sync(() => {
      this.startWaiters = this.startWaiters.filter((x) => x !== w)
    })
  })

  /** The end of the exchange: the CommandComplete, or the error. */
  readonly ended: Effect.Effect<CommandComplete, PgExpertError> = Effect.callback((resume) => {
    const done = (o: Outcome) => resume(isCommand(o) ? Effect.succeed(o) : Effect.fail(o))
    if (this.outcome !== undefined) return done(this.outcome)
    this.endWaiters.push(done)
    return Effect.sync(() => {
      this.endWaiters = this.endWaiters.filter((x) => x !== done)
    })
  })

  /** Sends one CopyData; waits while the socket's buffer is full. A no-op once the copy ended. */
  write(chunk: Uint8Array): Effect.Effect<void, PgProtocolError> {
    return Effect.suspend(() => {
      if (this.closed || chunk.length === 0) return Effect.void
      const header = encodeCopyDataHeader(chunk.length)
      if (header instanceof ProtocolError) return Effect.fail(PgProtocolError.fromCodec(header))
      const wire = this.wire
      wire.send(header)
      if (wire.send(chunk) || wire.closed()) return Effect.void
      return Effect.callback<void>((resume) => {
        wire.onDrain(() => resume(Effect.void))
      })
    })
  }

  /** Ends the data with CopyDone. */
  done(): void {
    if (this.closed) return
    this.finished = true
    this.doneSent = true
    this.wire.send(COPY_DONE)
  }

  /**
   * Aborts with CopyFail; the server answers with an error (57014) and ReadyForQuery. Before the
   * server is in copy-in mode, the CopyFail is sent as soon as its CopyInResponse arrives.
   */
  abort(reason: string): void {
    if (this.closed) return
    if (!this.inCopy) {
      this.pendingAbort ??= reason
      return
    }
    this.finished = true
    this.wire.send(encodeCopyFailFrame(reason))
  }
}

const encodeCopyFailFallback = (() => {
  const f = encodeCopyFail("COPY aborted by the client")
  return f instanceof ProtocolError ? new Uint8Array(0) : f
})()

const encodeCopyFailFrame = (reason: string): Uint8Array => {
  const frame = encodeCopyFail(reason.replace(/\0/g, " ").slice(0, 1000))
  return frame instanceof ProtocolError ? encodeCopyFailFallback : frame
}

/** COPY TO STDOUT: data chunks to `onData` (one batch per socket read), the end to `onDone`. */
export class CopyOutRequest implements Request {
  readonly exclusive = true
  readonly frames: Uint8Array
  abandoned = false
  /** True once the exchange is over (ReadyForQuery or the connection's failure). */
  settled = false
  private readonly exchange = new CopyExchange()
  private inCopy = false
  private error: PgExpertError | undefined
  private command: CommandComplete | undefined
  private batch: Array<Uint8Array> | undefined
  private readonly sink: {
    readonly onData: (chunks: Array<Uint8Array>) => void
    readonly onDone: (outcome: Outcome) => void
  }

  constructor(frames: Uint8Array, sink: CopyOutRequest["sink"]) {
    this.frames = frames
    this.sink = sink
  }

  onMessage(message: BackendMessage, context: RequestContext): void {
    const before = this.exchange.phase
    const broken = this.exchange.step(message)
    if (broken !== undefined) return context.fail(broken)
    switch (message._tag) {
      case "CopyData":
        if (this.abandoned || this.error !== undefined) return
        if (this.batch === undefined) this.batch = [message.data]
        else this.batch.push(message.data)
        return
      case "CopyOutResponse":
        if (this.error !== undefined || this.inCopy) this.error ??= notCopy("out")
        this.inCopy = true
        return
      case "CommandComplete":
        // We never end a copy-in with CopyDone: the one we refused must end with an ErrorResponse.
        if (before === "copyIn") {
          return context.fail(unexpected("CommandComplete (in copy-in mode, after CopyFail)"))
        }
        // Only the COPY's own tag counts: a statement that ran instead of it is not a success.
        if (before === "copyOutDone" && this.command === undefined)
          this.command = parseCommandTag(message.tag)
        else this.error ??= notCopy("out")
        return
      case "ErrorResponse":
        this.error ??= PgServerError.fromFields(message.fields)
        return
      case "CopyInResponse":
        // The statement was COPY FROM STDIN: refuse it without desync (simple protocol: no Sync needed).
        this.error ??= notCopy("out")
        context.send(encodeCopyFailFallback)
        return
      case "RowDescription":
      case "DataRow":
      case "EmptyQueryResponse":
        this.error ??= notCopy("out")
        return
      default:
        // CopyDone: the data is over, its CommandComplete follows.
        return
    }
  }

  readyProblem(): PgProtocolError | undefined {
    return this.exchange.readyProblem()
  }

  onBatchEnd(): void {
    const batch = this.batch
    if (batch === undefined) return
    this.batch = undefined
    if (!this.abandoned) this.sink.onData(batch)
  }

  onReady(): void {
    this.onBatchEnd()
    this.settled = true
    if (!this.abandoned) this.sink.onDone(this.error ?? this.command ?? notCopy("out"))
  }

  onFail(error: PgExpertError): void {
    this.settled = true
    if (!this.abandoned) this.sink.onDone(error)
  }

  onNotice(): void {}
}
