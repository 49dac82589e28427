/**
 * Cursors as an operation (`makeCursor`): `cursor(sql, params, { window, timeout })` is a Stream
 * of rows read over the unnamed portal in windows of `window` rows (commands/cursor.ts). The next
 * window is asked for only when the consumer pulls and the previous one has been handed out, so
 * at most one window waits in memory, and the server produces no more than is consumed.
 *
 * While the stream is open the connection is held by it (the command is exclusive: nothing else
 * is written until it ends), and the server keeps the cursor's implicit transaction (outside a
 * transaction block: its snapshot and locks, until the Sync) or the portal in the caller's
 * transaction block. Closing the stream early (its scope ends: `take`, an error downstream, an
 * interrupted consumer) sends Close(P) + Sync after the window in flight and waits for the
 * ReadyForQuery, so the connection is in step when the scope has closed; a stream that was not
 * written yet is withdrawn. Nothing is cancelled then: closing must not abort the caller's
 * transaction block.
 *
 * `timeout` bounds each window (the first one from submission): when a window has not arrived
 * in time, a stream still queued is withdrawn (PgTimeoutError `not-sent`); a written one is closed
 * and cancelled on the server, and fails with PgTimeoutError (`cancelled` when the 57014 came,
 * `unknown` otherwise, at most TIMEOUT_SLACK later). Time the consumer takes is not counted.
 * `window` defaults to 100 and must be an integer in 1..2^31-1 (PgProtocolError `InvalidValue`,
 * nothing sent).
 *
 * It does NOT resend a failed cursor (rows may have reached the consumer).
 */
import { Cause, Channel, Effect, Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { isFailure, type Start } from "../commands/Command.ts"
import {
  type CursorArgs,
  type CursorEvent,
  type CursorInput,
  type CursorResult,
  type CursorState,
  cursor as command
} from "../commands/cursor.ts"
import {
  isPgExpertError,
  type PgExpertError,
  PgProtocolError,
  PgServerError,
  PgTimeoutError
} from "../Errors.ts"
import { CommandRun, toExpertError } from "../engine/run.ts"
import type { PgTimeoutOutcome } from "../errors/PgExpertError.ts"
import type { AnyRow, RowModeOption } from "../Result.ts"
import * as Sqlstate from "../Sqlstate.ts"
import { after, TIMEOUT_SLACK_MILLIS, timeoutMillis } from "./deadline.ts"
import { introspectorOf, textColumns } from "./introspect.ts"
import type { Param } from "./params.ts"
import { type CommandDeps, observeTags } from "./runCommand.ts"
import type { OperationOptions } from "./timed.ts"
import { Values } from "./values.ts"

export interface CursorOptions extends OperationOptions, RowModeOption {
  /** Rows per window (default 100). */
  readonly window?: number | undefined
}

type CursorRun = CommandRun<CursorArgs, CursorState, CursorResult, CursorEvent, CursorInput>
type Pulled = Effect.Effect<NonEmptyReadonlyArray<AnyRow>, PgExpertError | Cause.Done>

const DEFAULT_WINDOW = 100

/** One open cursor: the run, the rows handed over but not pulled yet, and its end. */
class CursorFeed {
  readonly run: CursorRun
  private readonly deps: CommandDeps
  private readonly millis: number | undefined
  private readonly batches: Array<Array<AnyRow>> = []
  /** Rows delivered by the run so far, and the count at which it suspended (a window is out). */
  private received = 0
  private suspendedAt: number | undefined
  private end: PgExpertError | "done" | undefined
  private settled = false
  private waiter: ((effect: Pulled) => void) | undefined
  private timer: { readonly clear: () => void } | undefined
  /** A window did not arrive in time. */
  private expired = false

  constructor(deps: CommandDeps, started: Start<CursorState>, millis: number | undefined, values: Values) {
    this.deps = deps
    this.millis = millis
    this.run = new CommandRun(command, started, {
      onRows: (rows) => {
        this.received += rows.length
        this.batches.push(rows)
        this.wake()
      },
      onResult: (event) => {
        if (event._tag === "Columns") {
          // Types this cursor reads as text because they are not known yet: looked up (after the
          // cursor, on this connection) for the next statements.
          const introspector = introspectorOf(deps.core, values)
          if (introspector !== undefined) {
            // The registry the reader planned these columns with, just now.
            const text = textColumns(event.columns, values.registry)
            if (text.length > 0) introspector.lookup(text.map((i) => event.columns[i]!.typeOid))
          }
          return
        }
        if (event._tag !== "Suspended") return
        this.clearTimer()
        this.suspendedAt = event.rows
        this.wake()
      },
      onDone: () => {},
      onSettle: (outcome) => {
        observeTags(deps, this.run)
        this.finish(outcome)
      }
    })
  }

  /** Arms the timeout of the window now asked for. */
  arm(): void {
    if (this.millis === undefined || this.settled) return
    this.timer = after(this.millis, () => this.expire())
  }

  private clearTimer(): void {
    this.timer?.clear()
    this.timer = undefined
  }

  private expire(): void {
    this.timer = undefined
    this.expired = true
    const { core, interrupt } = this.deps
    if (core.withdraw(this.run)) return // settles at once: not-sent
    core.input(this.run, "close")
    Effect.runFork(interrupt(this.run))
    this.timer = after(TIMEOUT_SLACK_MILLIS, () => {
      this.timer = undefined
      this.settle(this.timeout("unknown"))
    })
  }

  private timeout(outcome: PgTimeoutOutcome, serverError?: PgServerError): PgTimeoutError {
    const what =
      outcome === "not-sent"
        ? "it was still queued and was never sent"
        : outcome === "cancelled"
          ? "it was cancelled on the server"
          : "it was closed and cancelled; what it did is unknown"
    return new PgTimeoutError({
      message: `a cursor window did not arrive within ${this.millis} ms: ${what}`,
      timeoutMillis: this.millis ?? 0,
      cancelSent: outcome === "cancelled",
      outcome,
      mayHaveReachedServer: outcome !== "not-sent",
      ...(serverError === undefined ? {} : { serverError })
    })
  }

  /** The run ended (`undefined`: withdrawn unsent). */
  private finish(outcome: CursorResult | PgExpertError | undefined): void {
    this.settled = true
    this.clearTimer()
    if (!this.expired) return this.settle(isPgExpertError(outcome) ? outcome : "done")
    if (outcome === undefined) return this.settle(this.timeout("not-sent"))
    if (outcome instanceof PgServerError && outcome.code === Sqlstate.QUERY_CANCELED) {
      return this.settle(this.timeout("cancelled", outcome))
    }
    this.settle(isPgExpertError(outcome) ? outcome : this.timeout("unknown"))
  }

  private settle(end: PgExpertError | "done"): void {
    this.end ??= end
    this.wake()
  }

  private next(): Pulled | undefined {
    const batch = this.batches.shift()
    if (batch !== undefined) return Effect.succeed(batch as unknown as NonEmptyReadonlyArray<AnyRow>)
    const end = this.end
    if (end !== undefined) return end === "done" ? Cause.done() : Effect.fail(end)
    // The window is out and every row of it was pulled: ask for the next one.
    if (this.suspendedAt !== undefined && this.suspendedAt === this.received) {
      this.suspendedAt = undefined
      if (this.deps.core.input(this.run, "more")) this.arm()
    }
    return undefined
  }

  private wake(): void {
    const resume = this.waiter
    if (resume === undefined) return
    const next = this.next()
    if (next === undefined) return
    this.waiter = undefined
    resume(next)
  }

  readonly pull: Pulled = Effect.callback((resume) => {
    const now = this.next()
    if (now !== undefined) return resume(now)
    this.waiter = resume
    return Effect.sync(() => {
      if (this.waiter === resume) this.waiter = undefined
    })
  })

  /** The consumer left: withdraw, or close after the window in flight and wait for the end. */
  readonly stop: Effect.Effect<void> = Effect.suspend(() => {
    if (this.settled) return Effect.void
    const { core } = this.deps
    this.run.abandoned = true
    this.batches.length = 0
    if (core.withdraw(this.run)) return Effect.void
    core.input(this.run, "close")
    return Effect.callback<void>((resume) => core.whenSettled(this.run, () => resume(Effect.void)))
  })
}

export const makeCursor = (deps: CommandDeps) => {
  const open = (
    sql: string,
    params: ReadonlyArray<Param>,
    options: CursorOptions | undefined,
    scope: Scope.Scope
  ): Effect.Effect<Pulled, PgExpertError> =>
    Effect.suspend((): Effect.Effect<Pulled, PgExpertError> => {
      const millis = timeoutMillis(options?.timeout)
      if (isPgExpertError(millis)) return Effect.fail(millis)
      const window = options?.window ?? DEFAULT_WINDOW
      const values = deps.values ?? new Values()
      const bound = values.text(params)
      if (bound instanceof PgProtocolError) return Effect.fail(bound)
      const reader = values.reader(undefined, options?.rowMode ?? "object")
      const started = command.start({ sql, params: bound, window, writer: deps.writer, reader })
      if (isFailure(started)) {
        const error = toExpertError(started)
        return Effect.fail(error instanceof PgProtocolError ? PgProtocolError.notSent(error) : error)
      }
      const feed = new CursorFeed(deps, started, millis, values)
      deps.core.submit(feed.run)
      feed.arm()
      return Effect.as(Scope.addFinalizer(scope, feed.stop), feed.pull)
    })

  const cursor = (
    sql: string,
    params: ReadonlyArray<Param> = [],
    options?: CursorOptions
  ): Stream.Stream<AnyRow, PgExpertError> =>
    Stream.fromChannel(Channel.fromTransform((_, scope) => open(sql, params, options, scope)))

  return { cursor }
}
