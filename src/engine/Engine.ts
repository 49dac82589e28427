/**
 * The connection engine: a FIFO of requests over one Wire, with backend messages routed to the
 * request at the head of the queue.
 *
 * Requests are written as soon as they are submitted (pipelined), unless one in the queue is
 * `exclusive` (COPY), in which case later requests wait until it ends. Each request ends at its
 * own ReadyForQuery, so a failing statement only fails itself (Sync recovery). Messages that
 * belong to nobody (NoticeResponse, ParameterStatus, NotificationResponse) are handled here at
 * any time. A FATAL error, a protocol error or a lost socket fails the connection: the request
 * in flight gets that error, the queued ones and every later call get PgClosedError (08003)
 * carrying it.
 *
 * It does NOT know Effect: it is plain callbacks, so no Effect is allocated per message or row.
 * The Effect API (Expert.ts) wraps it. It does NOT authenticate (Auth runs before it exists).
 */

import { simpleQuery } from "../commands/simple.ts"
import {
  PgClosedError,
  PgConnectionError,
  type PgConnectionFailure,
  type PgExpertError,
  PgProtocolError,
  PgServerError
} from "../Errors.ts"
import { type BackendMessage, decodeBackend } from "../protocol/Backend.ts"
import { encodeQuery } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import type { Notice } from "../Result.ts"
import { TransactionGuard } from "./guard.ts"
import { CommandRun } from "./run.ts"
import * as State from "./state.ts"
import type { Wire } from "./Wire.ts"

/** What a request may do to the connection while it runs. */
export interface RequestContext {
  readonly send: (frames: Uint8Array) => void
  /** The server broke the protocol: fail the whole connection. */
  readonly fail: (error: PgConnectionFailure) => void
}

/** One protocol exchange that ends with ReadyForQuery. */
export interface Request {
  readonly frames: Uint8Array
  /** COPY and anything else that must not have later requests written behind it. */
  readonly exclusive: boolean
  /** A message for this request (not Notice/ParameterStatus/Notification/ReadyForQuery). */
  onMessage(message: BackendMessage, context: RequestContext): void
  /**
   * A ReadyForQuery for this request (before `onReady`): true when it ends the request, false
   * when it answers one of the request's earlier Syncs (a multi-Sync command). Without it, every
   * ReadyForQuery ends the request.
   */
  onReadyForQuery?(message: BackendMessage, context: RequestContext): boolean
  /** ReadyForQuery arrived: the request is over. */
  onReady(transactionStatus: string): void
  /**
   * Asked when ReadyForQuery arrives, before `onReady`: an error means the exchange broke the
   * protocol (e.g. no CommandComplete), so the connection fails with it and `onFail` is called.
   */
  readyProblem?(): PgConnectionFailure | undefined
  /** The connection died. `sent` says whether its frames were written. */
  onFail(error: PgExpertError, sent: boolean): void
  onNotice(notice: Notice): void
  /** The messages of one socket read were all delivered (lets streams emit one batch per read). */
  onBatchEnd?(): void
  /** A DataRow's raw body (fast path); without it the row arrives decoded through onMessage. */
  onDataRow?(body: Uint8Array, context: RequestContext): void
  /** It was withdrawn before it was written (its caller went away): it will never run. */
  onWithdraw?(): void
  /** Whether the request's own outcome is an error (asked by the transaction guard). */
  hasError?(): boolean
  /** The command tags the server answered, one per statement (asked by the transaction guard). */
  commandTags?(): ReadonlyArray<string>
}

export interface CoreHooks {
  readonly onNotice: (notice: Notice) => void
  readonly onNotification: (pid: number, channel: string, payload: string) => void
  readonly onParameter: (name: string, value: string) => void
  readonly onStatus: (status: State.Status) => void
}

const NO_HOOKS: CoreHooks = {
  onNotice: () => {},
  onNotification: () => {},
  onParameter: () => {},
  onStatus: () => {}
}

export class Engine {
  status: State.Status = State.Open
  transactionStatus = "I"
  /**
   * The transaction status the request whose ReadyForQuery came last started in (the status
   * before that ReadyForQuery): with `transactionStatus`, it tells a statement that ran outside
   * a transaction block ("I" → "I") from a COMMIT that failed and so ended one ("T" → "I").
   */
  startStatus = "I"
  private readonly queue: Array<Request> = []
  /** How many requests at the front of the queue have been written. */
  private written = 0
  private readonly context: RequestContext

  readonly wire: Wire
  private hooks: CoreHooks = NO_HOOKS
  /** Run-time parameters the server reported (ParameterStatus), kept current from the startup on. */
  readonly parameters = new Map<string, string>()
  /** The pool's safety net for shared connections (guard.ts); off unless the pool turns it on. */
  readonly guard: TransactionGuard

  constructor(wire: Wire, hooks?: CoreHooks) {
    this.wire = wire
    if (hooks !== undefined) this.hooks = hooks
    this.guard = new TransactionGuard(
      () => rollbackRun(),
      (request) => this.insertNext(request as Request),
      () =>
        this.fail(
          new PgConnectionError({
            phase: "io",
            mayHaveReachedServer: true,
            message:
              "the server refused the ROLLBACK of a transaction block a one-shot statement left open on a shared pool connection"
          }),
          false
        )
    )
    this.context = {
      send: (frames) => this.wire.send(frames),
      fail: (error) => this.fail(error)
    }
    // What the Wire hands over during `listen` (messages that came behind the startup's
    // ReadyForQuery, or the socket's loss) waits until this constructor has returned: the hooks
    // may refer to the Engine through the owner's variable. It runs at the next microtask, or
    // before the first submit/close, so it is always handled before any request.
    let early: Array<() => void> | undefined = []
    this.drainEarly = () => {
      const pending = early
      early = undefined
      if (pending !== undefined) for (const f of pending) f()
    }
    wire.listen({
      onMessages: (messages) => {
        if (early !== undefined) early.push(() => this.onMessages(messages))
        else this.onMessages(messages)
      },
      onError: (error) => {
        if (early !== undefined) early.push(() => this.fail(error))
        else this.fail(error)
      },
      onClose: (error) => {
        if (early !== undefined) early.push(() => this.onSocketGone(error))
        else this.onSocketGone(error)
      },
      onDataRow: (body) => {
        if (early !== undefined) early.push(() => this.onDataRow(body))
        else this.onDataRow(body)
      },
      onReadEnd: () => {
        if (early === undefined) this.queue[0]?.onBatchEnd?.()
      }
    })
    if (early.length === 0) early = undefined
    else queueMicrotask(this.drainEarly)
  }

  private readonly drainEarly: () => void

  /** Who hears notices, notifications, parameters and status changes from now on. */
  setHooks(hooks: CoreHooks): void {
    this.hooks = hooks
  }

  private onMessages(messages: ReadonlyArray<BackendMessage>): void {
    for (let i = 0; i < messages.length; i++) this.onMessage(messages[i]!)
  }

  /** A DataRow body (the Codec's fast path): to the running request, decoded there. */
  private onDataRow(body: Uint8Array): void {
    if (this.status._tag === "Closing") return
    const head = this.queue[0]
    if (head === undefined || this.written === 0) return this.fail(this.unexpected("DataRow"))
    if (head.onDataRow !== undefined) return head.onDataRow(body, this.context)
    const message = decodeBackend(0x44, body)
    if (message instanceof ProtocolError) return this.fail(PgProtocolError.fromCodec(message))
    head.onMessage(message, this.context)
  }

  /** Queue a request. It fails at once when the connection is not Open. */
  submit(request: Request): void {
    this.drainEarly()
    if (this.status._tag !== "Open") {
      request.onFail(this.closedError(), false)
      return
    }
    this.queue.push(request)
    this.flush()
  }

  /**
   * Feeds a running command something from its caller (run.ts `input`). False when `run` is not
   * the request the server runs now (queued, finished, or the connection is gone).
   */
  input<I>(run: Request & { input(value: I, context: RequestContext): void }, value: I): boolean {
    if (this.status._tag !== "Open" || !this.isRunning(run)) return false
    run.input(value, this.context)
    return true
  }

  /** Puts `request` in front of every request not yet written (the guard's ROLLBACK). */
  private insertNext(request: Request): void {
    this.queue.splice(this.written, 0, request)
    this.flush()
  }

  /** Number of requests queued or running. */
  get pending(): number {
    return this.queue.length
  }

  private holds = 0
  private readonly settleHooks = new Map<Request, Array<() => void>>()
  private readonly runningHooks = new Map<Request, () => void>()

  /**
   * Stops writing queued requests until `release` (used while a cancel is in flight, so that the
   * cancel cannot hit a statement written after the one it targets).
   */
  hold(): void {
    this.holds++
  }

  release(): void {
    if (this.holds > 0 && --this.holds === 0) this.flush()
  }

  /** True when `request` is the only request written and not yet finished. */
  isSoleInFlight(request: Request): boolean {
    return this.written === 1 && this.queue[0] === request
  }

  /** True when `request` is the statement the server runs now (written, everything before it done). */
  isRunning(request: Request): boolean {
    return this.written > 0 && this.queue[0] === request
  }

  /** Marks the requests written behind `request`: a cancel aimed at it may land on one of them. */
  markBehind(request: Request): void {
    if (this.queue[0] !== request) return
    for (let i = 1; i < this.written; i++) {
      const behind = this.queue[i] as Request & { cancelRisk?: boolean }
      if ("cancelRisk" in behind) behind.cancelRisk = true
    }
  }

  /** Removes a request that was not written yet (its caller went away). True if it was removed. */
  withdraw(request: Request): boolean {
    const i = this.queue.indexOf(request)
    if (i < this.written) return false
    this.queue.splice(i, 1)
    request.onWithdraw?.()
    this.settled(request)
    return true
  }

  /** Calls `f` once `request` leaves the queue (its ReadyForQuery, or a failure). */
  whenSettled(request: Request, f: () => void): void {
    if (!this.queue.includes(request)) return f()
    const hooks = this.settleHooks.get(request)
    if (hooks === undefined) this.settleHooks.set(request, [f])
    else hooks.push(f)
  }

  /** Calls `f` once `request` is the statement running (`isRunning`), unless it settles first. */
  whenRunning(request: Request, f: () => void): void {
    if (this.isRunning(request)) return f()
    if (this.queue.includes(request)) this.runningHooks.set(request, f)
  }

  private settled(request: Request): void {
    this.runningHooks.delete(request)
    const hooks = this.settleHooks.get(request)
    if (hooks === undefined) return
    this.settleHooks.delete(request)
    for (const hook of hooks) hook()
  }

  /** Runs the hook of a request that just became the running one. */
  private checkRunning(): void {
    if (this.runningHooks.size === 0 || this.written === 0) return
    const head = this.queue[0]!
    const hook = this.runningHooks.get(head)
    if (hook === undefined) return
    this.runningHooks.delete(head)
    hook()
  }

  /** Writes every queued request that may go now. */
  private flush(): void {
    while (this.holds === 0 && this.written < this.queue.length) {
      const next = this.queue[this.written]!
      if (next.exclusive && this.written > 0) break
      if (this.written > 0 && this.queue[this.written - 1]!.exclusive) break
      this.wire.send(next.frames)
      this.written++
    }
    this.checkRunning()
  }

  private onMessage(message: BackendMessage): void {
    // After close() the queue is empty and Terminate is on its way: late replies to requests
    // that were in flight belong to nobody and are dropped, so a graceful close stays graceful.
    if (this.status._tag === "Closing") return
    switch (message._tag) {
      case "NoticeResponse": {
        const notice = message.fields
        this.queue[0]?.onNotice(notice)
        this.hooks.onNotice(notice)
        return
      }
      case "ParameterStatus":
        this.parameters.set(message.name, message.value)
        this.hooks.onParameter(message.name, message.value)
        // Text is read and written as UTF-8 only: another client_encoding (a SET) would garble it.
        if (message.name === "client_encoding" && !isUtf8(message.value)) {
          return this.fail(encodingChanged(message.value))
        }
        return
      case "NotificationResponse":
        this.hooks.onNotification(message.processId, message.channel, message.payload)
        return
      case "ReadyForQuery": {
        const before = this.transactionStatus
        this.transactionStatus = message.status
        this.startStatus = before
        const head = this.queue[0]
        if (head === undefined || this.written === 0) return this.fail(this.unexpected(message._tag))
        if (head.onReadyForQuery !== undefined && !head.onReadyForQuery(message, this.context)) return
        if (this.status._tag !== "Open") return
        this.queue.shift()
        this.written--
        const broken = head.readyProblem?.()
        if (broken === undefined) {
          if (!this.guard.onReady(head, before, message.status)) head.onReady(message.status)
        } else {
          // The connection is Failed before the caller hears why.
          this.fail(broken, false)
          head.onFail(broken, true)
        }
        this.settled(head)
        this.flush()
        return
      }
      case "ErrorResponse": {
        const severity = message.fields.severityNonLocalized ?? message.fields.severity
        if (severity === "FATAL" || severity === "PANIC") {
          return this.fail(PgServerError.fromFields(message.fields))
        }
        const head = this.queue[0]
        if (head === undefined || this.written === 0) return this.fail(this.unexpected(message._tag))
        head.onMessage(message, this.context)
        return
      }
      default: {
        const head = this.queue[0]
        if (head === undefined || this.written === 0) return this.fail(this.unexpected(message._tag))
        head.onMessage(message, this.context)
      }
    }
  }

  private unexpected(tag: string): PgConnectionFailure {
    return protocolError(`unexpected ${tag} with no request in flight`)
  }

  /**
   * Fails the connection: the running request gets `error` (unless `headIsCulprit` is false: the
   * culprit already left the queue); requests never written get the closed error (they did not
   * run). The other written ones: after an ErrorResponse (FATAL) the server read nothing behind
   * the running request, so they did not run either; after a lost socket or a protocol error they
   * may have, and their PgClosedError says so (`mayHaveReachedServer`).
   */
  fail(error: PgConnectionFailure, headIsCulprit = true): void {
    const next = State.transition(this.status, { _tag: "Fail", error })
    if (next === this.status) return
    this.setStatus(next)
    const requests = this.queue.splice(0)
    const written = this.written
    this.written = 0
    this.wire.destroy()
    const closed = this.closedError()
    const inOrder = error._tag === "PgServerError"
    const behind = inOrder ? closed : PgClosedError.afterSend(error)
    this.guard.onConnectionEnd(inOrder ? [] : requests.slice(0, written))
    requests.forEach((request, i) => {
      const sent = i < written
      request.onFail(sent ? (i === 0 && headIsCulprit ? error : behind) : closed, sent)
      this.settled(request)
    })
  }

  private onSocketGone(error: Error | undefined): void {
    if (this.status._tag === "Open" || (this.status._tag === "Closing" && this.queue.length > 0)) {
      this.fail(connectionLost(error))
    }
    if (this.status._tag === "Closing") this.setStatus(State.transition(this.status, { _tag: "SocketGone" }))
    if (this.status._tag === "Failed") {
      this.setStatus(State.transition(this.status, { _tag: "ResourcesReleased" }))
    }
  }

  /** Graceful close: refuse new work, fail what is queued, send Terminate, end the socket. */
  close(terminate: Uint8Array): void {
    this.drainEarly()
    const next = State.transition(this.status, { _tag: "CloseRequested" })
    if (next === this.status) return
    this.setStatus(next)
    const requests = this.queue.splice(0)
    const written = this.written
    this.written = 0
    // What was written runs before the server reads the Terminate: it may have run, and
    // committed; what was not written never will.
    const closed = new PgClosedError({ message: "the connection was closed before the statement was sent" })
    const behind = PgClosedError.afterSend(undefined)
    this.guard.onConnectionEnd(requests.slice(0, written))
    requests.forEach((request, i) => {
      request.onFail(i < written ? behind : closed, i < written)
      this.settled(request)
    })
    this.wire.send(terminate)
    this.wire.end()
  }

  closedError(): PgClosedError {
    const status = this.status
    return status._tag === "Failed" ? PgClosedError.previouslyFailed(status.error) : PgClosedError.closed()
  }

  private setStatus(status: State.Status): void {
    this.status = status
    this.hooks.onStatus(status)
  }
}

/** The guard's ROLLBACK, a simple query whose outcome the guard reads in its `onReady`. */
const rollbackRun = () =>
  new CommandRun(simpleQuery, simpleQuery.start({ frames: ROLLBACK }), { onDone: () => {} })

const ROLLBACK = (() => {
  const frames = encodeQuery("ROLLBACK")
  return frames instanceof Uint8Array ? frames : new Uint8Array(0)
})()

const protocolError = (message: string): PgConnectionFailure =>
  new PgProtocolError({ reason: "UnexpectedMessage", message })

const connectionLost = (error: Error | undefined): PgConnectionFailure =>
  new PgConnectionError({
    phase: "io",
    mayHaveReachedServer: true,
    message: `the server closed the connection unexpectedly${error ? `: ${error.message}` : ""}`,
    cause: error
  })

/** Whether a client_encoding name is UTF-8 (the server reports "UTF8"; "UNICODE" is its alias). */
export const isUtf8 = (encoding: string): boolean => /^(utf-?8|unicode)$/i.test(encoding)

/** The connection's failure when the server's client_encoding stops being UTF-8. */
export const encodingChanged = (encoding: string): PgProtocolError =>
  new PgProtocolError({
    reason: "UnsupportedEncoding",
    message: `the server's client_encoding is now ${encoding}: effect-pg reads and writes text as UTF-8 only, so the connection is closed (do not SET client_encoding)`
  })
