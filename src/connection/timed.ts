/**
 * One request with the per-operation `timeout` option and interruption (postgres_async's
 * statement_timeout, done client-side): `submit` builds and queues the request; the deadline
 * (deadline.ts) withdraws it while queued, cancels it on the server once it runs, and gives up
 * 1 s later saying what is known; interrupting the caller abandons it (cancel.ts `interrupt`).
 * Every operation that runs one request goes through here, built-in or new.
 *
 * It does NOT build requests, nor decide which may be sent again (the operation does, within
 * `retry.allowed()`).
 */
import { type Duration, Effect } from "effect"
import type { PgExpertError } from "../Errors.ts"
import type { Engine, Request } from "../engine/Engine.ts"
import { Deadline, timeoutMillis } from "./deadline.ts"
import { committedPart, type Retry } from "./requests.ts"

/**
 * Per-operation options. `timeout`: a bound on the call (deadline.ts). When it expires, a
 * statement still queued is withdrawn; a written one is cancelled on the server once it is the
 * one running, and the caller waits at most 1 s more for its outcome: its result or error if it
 * arrives, else `PgTimeoutError` saying what is known.
 */
export interface OperationOptions {
  readonly timeout?: Duration.Input | undefined
}

/**
 * A request as `timed` sees it. A statement may be sent again once (a stale cached statement,
 * a collateral cancel) only while `retry.allowed()`: never once its timeout expired, since the
 * 57014 is then its own cancel's and a copy would run on, uncancelled, after the caller's
 * timeout. `retry.swap` makes the copy the request the deadline and interrupts act on.
 */
export type Submit<A> = (
  complete: (outcome: A | PgExpertError) => void,
  retry: Retry
) => (Request & { abandoned: boolean }) | PgExpertError

export type Timed = <A>(
  options: OperationOptions | undefined,
  what: string,
  submit: Submit<A>
) => Effect.Effect<A, PgExpertError>

type Interrupt = (
  request: Request & { abandoned: boolean },
  state?: { cancelSent: boolean }
) => Effect.Effect<void>

const isError = (u: unknown): u is PgExpertError => typeof u === "object" && u !== null && "_tag" in u

export const makeTimed =
  (
    core: Engine,
    interrupt: Interrupt,
    cancelTimedOut: (request: Request, state: { cancelSent: boolean }) => Effect.Effect<void>
  ): Timed =>
  <A>(options: OperationOptions | undefined, what: string, submit: Submit<A>) => {
    const millis = timeoutMillis(options?.timeout)
    if (isError(millis)) return Effect.fail(millis)
    return Effect.callback<A, PgExpertError>((resume) => {
      let deadline: Deadline | undefined
      let done = false
      const finish = (outcome: A | PgExpertError) => {
        if (done) return
        done = true
        deadline?.clear()
        resume(isError(outcome) ? Effect.fail(outcome) : Effect.succeed(outcome))
      }
      const submitted = submit(
        (outcome) =>
          finish(deadline === undefined ? outcome : deadline.outcome(outcome, committedPart(current))),
        {
          allowed: () => !done && deadline?.expired !== true,
          swap: (next) => {
            current = next
          }
        }
      )
      if (isError(submitted)) return finish(submitted)
      let current = submitted
      // Failed at once (a closed connection): no deadline to arm, nothing to interrupt.
      if (done) return
      if (millis !== undefined) {
        deadline = new Deadline(millis, what, {
          withdraw: () => core.withdraw(current),
          cancel: () => {
            Effect.runFork(cancelTimedOut(current, deadline!.state))
          },
          abandon: () => {
            current.abandoned = true
          },
          fail: finish
        })
      }
      return Effect.suspend(() => {
        deadline?.clear()
        return interrupt(current, deadline?.state)
      })
    })
  }
