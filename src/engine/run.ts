/**
 * One command running in the engine: the adapter between a pure command (commands/Command.ts)
 * and the engine's queue (Engine.ts `Request`). It feeds the command its messages, carries out
 * the steps it answers (rows batched per socket read, intermediate results, more frames, its end),
 * turns its plain failures into the API's typed errors, and re-synchronises the session after a
 * `SyncRequired` (discarding up to the ReadyForQuery of the command's outstanding Syncs, or of a
 * Sync it writes when none is outstanding).
 *
 * It also holds what the connection layer needs to know of a request in flight: whether its
 * caller went away (`abandoned`: its rows and outcome are dropped, the exchange still runs to its
 * ReadyForQuery), whether a cancel aimed at the statement before it may hit it (`cancelRisk`), and
 * the notices it raised.
 *
 * It does NOT decide retries, timeouts or cancels (connection/), nor route messages (Engine.ts).
 */
import type { Command, Failure, Step } from "../commands/Command.ts"
import { PgAuthError, type PgExpertError, PgProtocolError, PgServerError } from "../Errors.ts"
import { type BackendMessage, decodeBackend } from "../protocol/Backend.ts"
import { SYNC } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import type { AnyRow, Notice } from "../Result.ts"
import type { Request, RequestContext } from "./Engine.ts"

/** What the caller of a run hears. `onDone` is not called once the run is abandoned. */
export interface RunSink<R, P = never> {
  /** Rows of `Row` steps, one batch per socket read. */
  readonly onRows?: ((rows: Array<AnyRow>) => void) | undefined
  readonly onResult?: ((result: P) => void) | undefined
  readonly onDone: (outcome: R | PgExpertError, notices: ReadonlyArray<Notice>) => void
  /**
   * How the run ended, even when abandoned (e.g. statement-cache upkeep): its outcome, or
   * `undefined` when it was withdrawn before it was written.
   */
  readonly onSettle?: ((outcome: R | PgExpertError | undefined) => void) | undefined
}

/** The typed error of a command's plain failure. */
export const toExpertError = (failure: Failure): PgServerError | PgProtocolError | PgAuthError =>
  failure._tag === "ServerError"
    ? PgServerError.fromFields(failure.fields, { completed: failure.completed })
    : failure._tag === "Auth"
      ? new PgAuthError({ method: failure.method, reason: failure.reason, message: failure.message })
      : new PgProtocolError({
          reason: failure.reason,
          message: failure.message,
          ...(failure.messageType === undefined ? {} : { messageType: failure.messageType }),
          ...(failure.mayHaveRun === undefined ? {} : { mayHaveRun: failure.mayHaveRun })
        })

/**
 * Whether `frames` end with a message the server answers with ReadyForQuery and after which it
 * waits for the next command: a Sync, or a simple Query. Frames that do not (a Flush-based
 * exchange, a StartupMessage, anything not made of whole messages) keep the server inside the
 * command's exchange.
 */
export const endsInStep = (frames: Uint8Array): boolean => {
  const n = frames.length
  // The common case: Sync ('S', length 4) last.
  if (n >= 5 && frames[n - 5] === 0x53 && frames[n - 4] === 0 && frames[n - 3] === 0 && frames[n - 2] === 0) {
    if (frames[n - 1] === 4) return true
  }
  let at = 0
  let last = -1
  while (at + 5 <= n) {
    const length =
      ((frames[at + 1]! << 24) | (frames[at + 2]! << 16) | (frames[at + 3]! << 8) | frames[at + 4]!) >>> 0
    if (length < 4) return false
    last = frames[at]!
    at += 1 + length
  }
  return at === n && (last === 0x53 || last === 0x51)
}

export class CommandRun<A, S, R, P = never, I = never> implements Request {
  readonly frames: Uint8Array
  readonly exclusive: boolean
  readonly state: S
  /** Its caller went away: rows and the outcome are dropped; the exchange still runs to its end. */
  abandoned = false
  /** Written behind a statement that a CancelRequest targeted: a 57014 may be meant for that one. */
  cancelRisk = false
  readonly notices: Array<Notice> = []

  private readonly command: Command<A, S, R, P, I>
  private readonly sink: RunSink<R, P>
  private batch: Array<AnyRow> | undefined
  /** The step that ended the command (at its last ReadyForQuery). */
  private final: Step<R, P> | undefined
  /** After SyncRequired: the failure to report, and how many ReadyForQuery are still to come. */
  private resync: { readonly failure: Failure; pending: number } | undefined
  private settledOnce = false

  constructor(
    command: Command<A, S, R, P, I>,
    start: { readonly state: S; readonly frames: Uint8Array; readonly exclusive?: boolean | undefined },
    sink: RunSink<R, P>
  ) {
    this.command = command
    this.sink = sink
    this.state = start.state
    this.frames = start.frames
    this.exclusive = start.exclusive === true || !endsInStep(start.frames)
  }

  /** The command's name (errors, spans). */
  get name(): string {
    return this.command.name
  }

  onMessage(message: BackendMessage, context: RequestContext): void {
    if (this.resync !== undefined) return
    this.apply(this.command.onMessage(this.state, message), context, false)
  }

  onDataRow(body: Uint8Array, context: RequestContext): void {
    if (this.resync !== undefined) return
    const fast = this.command.onDataRow
    if (fast !== undefined) {
      const step = fast(this.state, body)
      // The hot path: a row, straight into the batch.
      if (step._tag !== "Row") this.apply(step, context, false)
      else if (!this.abandoned) {
        if (this.batch === undefined) this.batch = [step.row]
        else this.batch.push(step.row)
      }
      return
    }
    const message = decodeBackend(0x44, body)
    if (message instanceof ProtocolError) return context.fail(PgProtocolError.fromCodec(message))
    this.apply(this.command.onMessage(this.state, message), context, false)
  }

  /** Feeds the running command something from its caller (Engine.ts `input`). */
  input(value: I, context: RequestContext): void {
    const onInput = this.command.onInput
    if (onInput === undefined || this.final !== undefined || this.resync !== undefined) return
    this.apply(onInput(this.state, value), context, false)
  }

  /**
   * A ReadyForQuery: true when it ends the run (the engine then removes it from the queue and
   * calls `onReady`), false when it answers one of the command's earlier Syncs.
   */
  onReadyForQuery(message: BackendMessage, context: RequestContext): boolean {
    const resync = this.resync
    if (resync !== undefined) {
      if (--resync.pending > 0) return false
      this.final = { _tag: "Fail", failure: resync.failure }
      return true
    }
    return this.apply(this.command.onMessage(this.state, message), context, true)
  }

  /** Carries out one step; true when it ended the command (only on a ReadyForQuery). */
  private apply(step: Step<R, P>, context: RequestContext, ready: boolean): boolean {
    switch (step._tag) {
      case "Continue":
        return false
      case "Row":
        if (this.abandoned) return false
        if (this.batch === undefined) this.batch = [step.row]
        else this.batch.push(step.row)
        return false
      case "Result":
        if (!this.abandoned) this.sink.onResult?.(step.result)
        return false
      case "Send": {
        const frames = step.frames
        if (frames instanceof Uint8Array) context.send(frames)
        else for (const f of frames) context.send(f)
        return false
      }
      case "Done":
      case "Fail":
        if (!ready) {
          context.fail(
            new PgProtocolError({
              reason: "UnexpectedMessage",
              message: `the ${this.command.name} command ended before its ReadyForQuery`
            })
          )
          return false
        }
        this.final = step
        return true
      case "SyncRequired": {
        const pending = step.pendingSyncs > 0 ? step.pendingSyncs : 1
        this.resync = { failure: step.failure, pending }
        if (step.pendingSyncs <= 0) context.send(SYNC)
        if (ready) {
          // The step answered a ReadyForQuery, which is itself one of the pending ones.
          if (--this.resync.pending > 0) return false
          this.final = { _tag: "Fail", failure: step.failure }
          return true
        }
        return false
      }
      case "Stop":
        context.fail(toExpertError(step.failure))
        return false
      case "Unexpected":
        if (ready) {
          this.final = step
          return true
        }
        context.fail(toExpertError(step.failure))
        return false
    }
  }

  /** Asked by the engine before `onReady`: an `Unexpected` end fails the connection. */
  readyProblem(): PgProtocolError | undefined {
    const final = this.final
    if (final?._tag !== "Unexpected") return undefined
    const error = toExpertError(final.failure)
    return error instanceof PgProtocolError
      ? error
      : new PgProtocolError({ reason: "UnexpectedMessage", message: error.message })
  }

  onBatchEnd(): void {
    const batch = this.batch
    if (batch === undefined) return
    this.batch = undefined
    if (!this.abandoned) this.sink.onRows?.(batch)
  }

  onReady(): void {
    this.onBatchEnd()
    const final = this.final
    const outcome: R | PgExpertError =
      final?._tag === "Done"
        ? final.value
        : final?._tag === "Fail" || final?._tag === "Unexpected"
          ? toExpertError(final.failure)
          : new PgProtocolError({
              reason: "UnexpectedMessage",
              message: `the ${this.command.name} command did not end`
            })
    this.settle(outcome)
    if (!this.abandoned) this.sink.onDone(outcome, this.notices)
  }

  onFail(error: PgExpertError): void {
    this.batch = undefined
    this.settle(error)
    if (!this.abandoned) this.sink.onDone(error, this.notices)
  }

  onWithdraw(): void {
    this.settle(undefined)
  }

  onNotice(notice: Notice): void {
    this.notices.push(notice)
  }

  /** Whether the run's own outcome is an error (the transaction guard asks). */
  hasError(): boolean {
    const final = this.final
    return final !== undefined ? final._tag !== "Done" : this.resync !== undefined
  }

  commandTags(): ReadonlyArray<string> {
    return this.command.tags?.(this.state) ?? []
  }

  private settle(outcome: R | PgExpertError | undefined): void {
    if (this.settledOnce) return
    this.settledOnce = true
    this.sink.onSettle?.(outcome)
  }
}
