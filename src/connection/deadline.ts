/**
 * Per-operation timeouts (`{ timeout }` on query, simpleQuery, ...): a bound on how long the
 * caller waits, and a truthful report of what became of the statement.
 *
 * When the timeout expires:
 * - a request still queued in the client is withdrawn: `PgTimeoutError` with outcome `not-sent`;
 * - a request already written gets a CancelRequest (sent in the background as soon as it is the
 *   statement running on the server; cancel.ts) and the caller waits at most `TIMEOUT_SLACK`
 *   more for its outcome: its own result if it finished first (it did complete, so the caller
 *   gets it), `PgTimeoutError` with outcome `cancelled` when the server answers 57014 (`unknown`
 *   when a COMMIT among its statements had committed part of it), its own
 *   error when it failed otherwise, and `PgTimeoutError` with outcome `unknown`
 *   (`mayHaveRun`) when nothing arrived in time: the request then drains in the background, and
 *   the connection fails if the cancelled statement does not finish within CANCEL_SETTLE_LIMIT.
 *
 * So a caller waits at most `timeout + TIMEOUT_SLACK`, whatever the network does. It does NOT
 * send the cancel (cancel.ts) nor know the requests (operations.ts hands it callbacks). Plain
 * timers: no Effect.
 */
import { Duration } from "effect"
import { configError, type PgConfigError } from "../config/ConfigError.ts"
import { type PgExpertError, PgTimeoutError } from "../Errors.ts"
import type { PgTimeoutOutcome } from "../errors/PgExpertError.ts"
import * as Sqlstate from "../Sqlstate.ts"

/** How long a timed-out caller waits for the statement's outcome after the cancel is started. */
export const TIMEOUT_SLACK_MILLIS = 1000

/**
 * The timeout option as milliseconds; `undefined` for none (also an infinite duration); a typed
 * error for input that is not a non-negative duration (a string that does not parse, NaN, -5).
 */
export const timeoutMillis = (input: Duration.Input | undefined): number | undefined | PgConfigError => {
  if (input === undefined) return undefined
  if (typeof input === "number" && Number.isNaN(input)) return invalid(input)
  const duration = Duration.fromInput(input)
  if (duration._tag === "None") return invalid(input)
  const millis = Duration.toMillis(duration.value)
  if (millis < 0) return invalid(input)
  return Number.isFinite(millis) ? millis : undefined
}

const invalid = (input: unknown): PgConfigError =>
  configError(
    "InvalidValue",
    `timeout: expected a non-negative duration (e.g. "5 seconds" or 5000), got ${String(input)}`,
    { key: "timeout" }
  )

/** Node's timers take at most this many milliseconds (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

/** A timer for any delay: chained when longer than a timer can hold; never for Infinity. */
export const after = (millis: number, f: () => void): { readonly clear: () => void } => {
  let timer: ReturnType<typeof setTimeout> | undefined
  if (millis === Number.POSITIVE_INFINITY) return { clear: () => {} }
  const arm = (left: number) => {
    timer =
      left > MAX_TIMER_MILLIS
        ? setTimeout(() => arm(left - MAX_TIMER_MILLIS), MAX_TIMER_MILLIS)
        : setTimeout(f, left)
  }
  arm(millis)
  return { clear: () => clearTimeout(timer) }
}

/** What the deadline asks of its request. */
export interface DeadlineActions {
  /** Removes the request if it was not written yet; true when it was removed. */
  readonly withdraw: () => boolean
  /** Starts cancelling the written request in the background. */
  readonly cancel: () => void
  /** The caller stops waiting: the request drains and its outcome is discarded. */
  readonly abandon: () => void
  /** Completes the caller with a timeout error. */
  readonly fail: (error: PgTimeoutError) => void
}

export class Deadline {
  /** True once the timeout expired. */
  expired = false
  /** Set by cancel.ts once the CancelRequest was delivered. */
  readonly state = { cancelSent: false }
  private timer: { readonly clear: () => void } | undefined
  private readonly millis: number
  private readonly what: string

  constructor(millis: number, what: string, actions: DeadlineActions) {
    this.millis = millis
    this.what = what
    this.timer = after(millis, () => {
      this.expired = true
      if (actions.withdraw()) return actions.fail(this.error("not-sent"))
      actions.cancel()
      this.timer = after(TIMEOUT_SLACK_MILLIS, () => {
        this.timer = undefined
        actions.abandon()
        actions.fail(this.error("unknown"))
      })
    })
  }

  /** The request's outcome arrived: stop the timers. */
  clear(): void {
    this.timer?.clear()
    this.timer = undefined
  }

  /**
   * What the caller gets for an outcome that arrived after the timeout expired: its result, its
   * own error, or the timeout error when the cancel is what ended it: `cancelled`, or `unknown`
   * when a statement of it committed before (`committedPart`: a simple query's COMMIT).
   */
  outcome<A>(outcome: A | PgExpertError, committedPart = false): A | PgExpertError {
    if (!this.expired) return outcome
    if (
      typeof outcome === "object" &&
      outcome !== null &&
      "_tag" in outcome &&
      outcome._tag === "PgServerError" &&
      outcome.code === Sqlstate.QUERY_CANCELED
    ) {
      return this.error(committedPart ? "unknown" : "cancelled", outcome)
    }
    return outcome
  }

  private error(
    outcome: PgTimeoutOutcome,
    serverError?: PgExpertError & { _tag: "PgServerError" }
  ): PgTimeoutError {
    const sent = outcome !== "not-sent"
    const what =
      outcome === "not-sent"
        ? "it was still queued and was never sent"
        : outcome === "cancelled"
          ? "it was cancelled on the server and did not take effect"
          : serverError !== undefined
            ? "it was cancelled on the server after a COMMIT in it, so what ran before that COMMIT stays committed"
            : `its outcome did not arrive within ${TIMEOUT_SLACK_MILLIS} ms more${this.state.cancelSent ? " (a cancel was sent)" : ""}; it may or may not have run`
    return new PgTimeoutError({
      message: `${this.what} did not finish within ${this.millis} ms: ${what}`,
      timeoutMillis: this.millis,
      // A 57014 can arrive before the server closes the cancel connection: it was delivered.
      cancelSent: this.state.cancelSent || outcome === "cancelled",
      outcome,
      mayHaveReachedServer: sent,
      ...(serverError === undefined ? {} : { serverError })
    })
  }
}
