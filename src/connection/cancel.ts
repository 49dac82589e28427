/**
 * Stopping work and checking the server is there: the CancelRequest, what happens when a caller
 * goes away (`interrupt`), and the opt-in heartbeat.
 *
 * CancelRequest (Frontend/Backend Protocol, "Canceling Requests in Progress"): dial the same
 * server the session uses — over TLS when the session uses TLS —, send the 16-byte (3.0) or long
 * (3.2) CancelRequest with the session's key, and wait until the server closes that connection,
 * which it does after signalling the backend. Only then is it safe to send more work on the
 * session: a cancel that lands later could hit the next statement. The server never answers a
 * cancel, so success means "delivered", not "cancelled".
 *
 * `interrupt(request)`: a request not yet written is withdrawn; one that is the only statement in
 * flight is cancelled, and the engine writes nothing more (hold) until its outcome is known (its
 * ReadyForQuery); otherwise it just drains. `cancelTimedOut(request)` (a timeout expired) cancels
 * the request as soon as it is the one running, even with others pipelined behind it: those are
 * marked (`cancelRisk`), because a cancel that lands after the target finished hits the next one. When the cancelled statement has not finished within
 * CANCEL_SETTLE_LIMIT (a server that stopped answering), the connection fails: its state is
 * unknown. Concurrent interrupts of one request share one cancel.
 *
 * `heartbeat`: an empty query every `interval`, only while the connection is idle (a long
 * statement is not a dead server, and a beat queued behind it would prove nothing); a beat not
 * answered within `timeout` fails the connection at once (no cancel is waited for).
 *
 * It does NOT decide which operations are interruptible, nor time them out (operations.ts).
 */
import { Deferred, Duration, Effect, Schedule, type Scope } from "effect"
import type { Session } from "../Auth.ts"
import { configError, type PgConfigError } from "../config/ConfigError.ts"
import { PgConnectionError, type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { Engine, Request } from "../engine/Engine.ts"
import type { PgSocketService, SocketOptions } from "../PgSocket.ts"
import { encodeCancelRequest, encodeQuery } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import * as Sqlstate from "../Sqlstate.ts"
import { SimpleQuery } from "./requests.ts"

export interface CancelTarget {
  readonly socket: PgSocketService
  readonly options: SocketOptions
}

/** How long a cancelled statement may take to finish before the connection is given up. */
export const CANCEL_SETTLE_LIMIT = Duration.seconds(10)

export const sendCancel = (
  target: CancelTarget,
  processId: number,
  secretKey: Uint8Array
): Effect.Effect<void, PgConnectionError | PgProtocolError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const frame = encodeCancelRequest({ processId, secretKey })
      if (frame instanceof ProtocolError) return yield* Effect.fail(PgProtocolError.fromCodec(frame))
      const transport = yield* target.socket.open(target.options)
      yield* Effect.callback<void>((resume) => {
        transport.start({ onData: () => {}, onClose: () => resume(Effect.void) })
        transport.write(frame)
        transport.end()
      }).pipe(
        Effect.timeoutOrElse({
          duration: "10 seconds",
          orElse: () =>
            Effect.fail(
              new PgConnectionError({
                phase: "io",
                mayHaveReachedServer: true,
                message: "the server did not close the cancel connection within 10 seconds"
              })
            )
        })
      )
    })
  )

/**
 * A 57014 that a cancel meant for the statement before `request` caused (`cancelRisk`), to a
 * statement that started and ended outside a transaction block, so it had no effect and may be
 * sent again. (A COMMIT hit while it commits ends outside one too, its transaction rolled back:
 * sent again, it would answer COMMIT for nothing.)
 */
export const collateralCancel = (
  core: Pick<Engine, "startStatus" | "transactionStatus">,
  request: { readonly cancelRisk: boolean },
  error: PgExpertError
): boolean =>
  request.cancelRisk &&
  error._tag === "PgServerError" &&
  error.code === Sqlstate.QUERY_CANCELED &&
  core.startStatus === "I" &&
  core.transactionStatus === "I"

const EMPTY_QUERY = (() => {
  const frames = encodeQuery("")
  return frames instanceof Uint8Array ? frames : new Uint8Array(0)
})()

/** `interrupt`, `beat` (one empty query) and `heartbeat` for one connection. */
/**
 * Opt-in heartbeat: an empty query (`beat`) every `interval` while the connection is idle; one not
 * answered within `timeout` fails the connection (the protocol has no heartbeat of its own).
 */
const makeHeartbeat = (core: Engine, beat: Effect.Effect<void>) => {
  const heartbeat = (options: {
    readonly interval: Duration.Input
    readonly timeout: Duration.Input
  }): Effect.Effect<void, PgConfigError, Scope.Scope> =>
    Effect.suspend(() => {
      const timeout = Duration.fromInput(options.timeout)
      const interval = Duration.fromInput(options.interval)
      if (timeout._tag === "None" || interval._tag === "None") {
        return Effect.fail(
          configError(
            "InvalidValue",
            `heartbeat: interval and timeout must be durations, got ${String(options.interval)} and ${String(options.timeout)}`,
            { key: "heartbeat" }
          )
        )
      }
      return start(timeout.value, interval.value)
    })

  const start = (
    timeout: Duration.Duration,
    interval: Duration.Duration
  ): Effect.Effect<void, never, Scope.Scope> =>
    Effect.suspend(() => {
      const once = Effect.suspend(() =>
        core.status._tag !== "Open" || core.pending > 0
          ? Effect.void
          : Effect.timeoutOrElse(beat, {
              duration: timeout,
              orElse: () =>
                Effect.sync(() =>
                  core.fail(
                    new PgConnectionError({
                      phase: "io",
                      mayHaveReachedServer: false,
                      message: `heartbeat: the server did not answer within ${Duration.format(timeout)}`
                    })
                  )
                )
            })
      )
      return Effect.asVoid(
        Effect.forkScoped(
          Effect.repeat(once, {
            schedule: Schedule.spaced(interval),
            while: () => core.status._tag === "Open"
          })
        )
      )
    })

  return heartbeat
}

export const makeLiveness = (core: Engine, session: Session, cancelTarget: CancelTarget | undefined) => {
  const interrupting = new Map<Request, Deferred.Deferred<void>>()

  /**
   * Cancels `request`, which is the statement running on the server now: holds later writes, sends
   * the CancelRequest, and waits until the request settles (failing the connection if it does not
   * within CANCEL_SETTLE_LIMIT). Requests already written behind it are marked: a late cancel may
   * hit one of them. Concurrent calls for one request share the cancel.
   */
  const cancelRunning = (request: Request, state?: { cancelSent: boolean }): Effect.Effect<void> =>
    Effect.suspend(() => {
      const running = interrupting.get(request)
      if (running !== undefined) return Deferred.await(running)
      if (cancelTarget === undefined || !core.isRunning(request)) return Effect.void
      const done = Deferred.makeUnsafe<void>()
      interrupting.set(request, done)
      core.hold()
      core.markBehind(request)
      const settled = Effect.callback<void>((resume) => core.whenSettled(request, () => resume(Effect.void)))
      const cancelled = sendCancel(cancelTarget, session.processId, session.secretKey).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            if (state !== undefined) state.cancelSent = true
          })
        ),
        Effect.ignore
      )
      return Effect.andThen(cancelled, settled).pipe(
        Effect.timeoutOrElse({
          duration: CANCEL_SETTLE_LIMIT,
          orElse: () =>
            Effect.sync(() =>
              core.fail(
                new PgConnectionError({
                  phase: "io",
                  mayHaveReachedServer: true,
                  message: `a cancelled statement did not finish within ${Duration.format(CANCEL_SETTLE_LIMIT)}; the server stopped answering`
                })
              )
            )
        }),
        Effect.ensuring(
          Effect.sync(() => {
            interrupting.delete(request)
            core.release()
            Deferred.doneUnsafe(done, Effect.void)
          })
        )
      )
    })

  /**
   * The caller went away: a request not yet written is withdrawn; the only one in flight is
   * cancelled (and waited for); any other drains — except on a shared pool connection (the
   * transaction guard is on), where it is cancelled in the background once it runs, as a
   * timed-out one is: every neighbour there is a one-shot statement, sent again if a cancel meant
   * for another hits it, and a statement nobody waits for must not hold the connection. (Elsewhere
   * a cancel with others written behind could hit a stream or a transaction's statement, so only a
   * timeout does that: `cancelTimedOut`.)
   */
  const interrupt = (
    request: Request & { abandoned: boolean },
    state?: { cancelSent: boolean }
  ): Effect.Effect<void> =>
    Effect.suspend(() => {
      request.abandoned = true
      if (core.withdraw(request)) return Effect.void
      const running = interrupting.get(request)
      if (running !== undefined) return Deferred.await(running)
      if (cancelTarget === undefined) return Effect.void
      if (core.isSoleInFlight(request)) return cancelRunning(request, state)
      if (core.guard.enabled) Effect.runFork(cancelTimedOut(request, state ?? { cancelSent: false }))
      return Effect.void
    })

  /**
   * A written request's timeout expired: cancel it as soon as it is the statement running on the
   * server (now, or when the requests before it are done), even with others written behind it, so
   * that it stops holding the connection. Done when the request settled.
   */
  const cancelTimedOut = (request: Request, state: { cancelSent: boolean }): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (cancelTarget === undefined) return Effect.void
      if (core.isRunning(request)) return cancelRunning(request, state)
      return Effect.callback<void>((resume) => {
        core.whenRunning(request, () => resume(cancelRunning(request, state)))
        core.whenSettled(request, () => resume(Effect.void))
      })
    })

  /** One empty query, submitted directly: giving it up does not wait for anything. */
  const beat: Effect.Effect<void> = Effect.callback<void>((resume) => {
    const request = new SimpleQuery(EMPTY_QUERY, () => resume(Effect.void), false)
    core.submit(request)
    return Effect.sync(() => {
      request.abandoned = true
    })
  })

  const heartbeat = makeHeartbeat(core, beat)

  return { interrupt, cancelTimedOut, beat, heartbeat }
}
