/**
 * The pool engine: who holds which connection, who waits, and when connections are opened,
 * checked and closed. Everything user-facing (spans, error views, transactions, conveniences)
 * is built on `acquire`/`release` in pool/api.ts.
 *
 *   creating ──ok──► busy ◄──takeIdle / hand-over── idle ◄──offer (nobody waits)── busy
 *                     │                                │
 *                     └──────────── retire ────────────┴──► retired (closing, then gone)
 *
 * - Throttle: at most `max` connections exist (opening, open or still closing), so at most `max`
 *   borrowers hold one; the others wait in one FIFO line (WaitQueue). A released connection goes
 *   straight to the first in line; only when nobody waits does it become idle (a stack, so the
 *   most recently used is reused first and the others can idle out).
 * - Opening happens in background fibers, one per borrower in line that no other opening covers;
 *   a failed opening fails the first borrower in line with its error. `min` is restored by the
 *   maintenance fiber, never in a tight loop.
 * - Acquire timeout: each waiter has a deadline timer inside this state machine, so a connection
 *   is either handed to a borrower or not, never lost in a race with a timeout.
 * - Checks: before hand-out, a Failed or expired connection is retired, and one idle longer than
 *   `healthCheckAfter` must answer an empty query. On release: one whose borrower failed or was
 *   interrupted must answer an empty query (it may still be draining, or its cancel may not have
 *   been confirmed); an open transaction is rolled back; the reset runs. Every check is bounded
 *   by `checkTimeout`; a connection that fails one is retired (closed with a cancel of what runs).
 *
 * It does NOT trace, map errors, or know about transactions (pool/api.ts, pool/transaction.ts).
 * It runs on real timers (setTimeout for deadlines, the Clock for timestamps and maintenance).
 *
 * Invariants: `total = creating + |slots|` where `slots` counts idle, busy and closing ones;
 * `total ≤ max` at all times; a slot is in `idle` iff its state is "idle"; `inUse` counts the
 * busy ones; state changes happen in plain synchronous code, and a waiter is resumed only after
 * the state is consistent (resuming may run the borrower's code at once).
 */
import { Deferred, Effect, Exit, Fiber, FiberSet, Scope } from "effect"
import type { PgConfigError } from "../config/ConfigError.ts"
import { resolve } from "../config/Resolve.ts"
import { PgClosedError } from "../Errors.ts"
import { connectResolved } from "../internal/connect.ts"
import { type PgPoolExpertError, PgPoolTimeoutError } from "./errors.ts"
import { type CloseReason, makeRecorder, type PoolRecorder } from "./metrics.ts"
import type { PoolSettings } from "./options.ts"
import type { PoolCore, Restore, Slot } from "./types.ts"
import { type WaitNode, WaitQueue } from "./WaitQueue.ts"

interface Waiter {
  readonly deferred: Deferred.Deferred<Slot, PgPoolExpertError>
  node: WaitNode<Waiter> | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  /** The slot handed over, until the borrower's fiber takes it. */
  slot: Slot | undefined
}

type Run = <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>

const poolClosed = () => new PgClosedError({ message: "the pool is closed" })

export const makeCore = (settings: PoolSettings): Effect.Effect<PoolCore, PgConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const config = yield* resolve(settings.connect)
    const context = yield* Effect.context<never>()
    const clock = yield* Effect.clockWith(Effect.succeed)
    const now = () => clock.currentTimeMillisUnsafe()
    const recorder: PoolRecorder = makeRecorder(settings.name, settings.max, context)
    const workScope = yield* Scope.make()
    const runWork: Run = yield* Scope.provide(workScope)(FiberSet.makeRuntime<never, unknown, unknown>())
    const closers = new Set<Fiber.Fiber<void>>()
    /** Closing must finish even while the pool shuts down, so it runs outside any FiberSet. */
    const runClose = (effect: Effect.Effect<void>): void => {
      const fiber = Effect.runForkWith(context)(effect)
      closers.add(fiber)
      fiber.addObserver(() => closers.delete(fiber))
    }

    const idle: Array<Slot> = []
    const slots = new Set<Slot>()
    const waiters = new WaitQueue<Waiter>()
    let total = 0
    let creating = 0
    let closing = 0
    let inUse = 0
    let closed = false
    let nextId = 1
    let onDrained: (() => void) | undefined

    const publish = () => {
      recorder.counts({ used: inUse, idle: idle.length, pending: waiters.size })
      if (onDrained !== undefined && inUse === 0) onDrained()
    }

    const timeoutError = (waiting: number) =>
      new PgPoolTimeoutError({
        message: `no connection was free within ${settings.acquireTimeoutMillis} ms (pool "${settings.name}": max ${settings.max}, ${waiting} waiting)`,
        timeoutMillis: settings.acquireTimeoutMillis,
        waiting,
        max: settings.max
      })

    // ---- plain state transitions -------------------------------------------------------------

    const takeIdle = (): Slot | undefined => {
      const slot = idle.pop()
      if (slot === undefined) return undefined
      slot.state = "busy"
      inUse++
      publish()
      return slot
    }

    /** Hands a busy slot to the first waiter, or makes it idle. */
    const offer = (slot: Slot): void => {
      if (slot.state !== "busy") return
      if (closed) return retire(slot, "shutdown")
      slot.releasedAt = now()
      const waiter = waiters.shift()
      if (waiter !== undefined) {
        clearTimeout(waiter.timer)
        waiter.slot = slot
        publish()
        Deferred.doneUnsafe(waiter.deferred, Effect.succeed(slot))
        return
      }
      slot.state = "idle"
      inUse--
      idle.push(slot)
      publish()
    }

    const retire = (slot: Slot, reason: CloseReason): void => {
      if (slot.state === "retired") return
      if (slot.state === "busy") inUse--
      else {
        const at = idle.indexOf(slot)
        if (at >= 0) idle.splice(at, 1)
      }
      slot.state = "retired"
      closing++
      publish()
      const cancelFirst = reason === "busy" || reason === "health"
      runClose(
        Effect.uninterruptible(
          Effect.gen(function* () {
            if (cancelFirst) yield* slot.connection.closeWith({ cancelRunning: true })
            yield* Scope.close(slot.scope, Exit.void)
            slots.delete(slot)
            closing--
            total--
            recorder.closed(reason)
            fillForWaiters()
          })
        )
      )
    }

    /** The slot's connection ended by itself (FATAL, lost socket): an idle one goes at once. */
    const onGone = (slot: Slot): void => {
      if (slot.state === "idle") retire(slot, "failed")
    }

    const failFirstWaiter = (error: Exit.Exit<never, PgPoolExpertError>): void => {
      const waiter = waiters.shift()
      if (waiter === undefined) return
      clearTimeout(waiter.timer)
      publish()
      Deferred.doneUnsafe(waiter.deferred, error)
    }

    // ---- opening connections -----------------------------------------------------------------

    const create = Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const opened = yield* Effect.exit(restore(Scope.provide(scope)(connectResolved(config))))
        creating--
        if (Exit.isFailure(opened)) {
          yield* Scope.close(scope, opened)
          total--
          if (!closed && waiters.size > creating) failFirstWaiter(Exit.failCause(opened.cause))
          fillForWaiters()
          return
        }
        const createdAt = now()
        const jitter = settings.lifetimeJitterMillis * Math.random()
        const slot: Slot = {
          id: nextId++,
          connection: opened.value,
          scope,
          createdAt,
          expiresAt: createdAt + settings.maxLifetimeMillis - jitter,
          releasedAt: createdAt,
          state: "busy"
        }
        slots.add(slot)
        inUse++
        recorder.created()
        yield* Effect.forkIn(
          Effect.andThen(
            Effect.exit(slot.connection.closeFinished),
            Effect.sync(() => onGone(slot))
          ),
          scope
        )
        offer(slot)
      })
    )

    const startCreate = (): void => {
      total++
      creating++
      runWork(create)
    }

    /** Opens one connection for each waiter that no opening covers, within `max`. */
    const fillForWaiters = (): void => {
      while (!closed && total < settings.max && creating < waiters.size) startCreate()
    }

    /** Opens connections up to `min` (the maintenance fiber calls it; never after a failure). */
    const fillToMin = (): void => {
      while (!closed && total - closing < settings.min && total < settings.max) startCreate()
    }

    // ---- borrowing ---------------------------------------------------------------------------

    const check = (effect: Effect.Effect<unknown, unknown>): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        const fiber = runWork(Effect.exit(effect))
        return Effect.callback<boolean>((resume) => {
          const timer = setTimeout(() => resume(Effect.succeed(false)), settings.checkTimeoutMillis)
          const remove = fiber.addObserver((exit) => {
            clearTimeout(timer)
            resume(Effect.succeed(Exit.isSuccess(exit) && Exit.isSuccess(exit.value)))
          })
          return Effect.sync(() => {
            clearTimeout(timer)
            remove()
          })
        })
      })

    const cancel = (waiter: Waiter): void => {
      clearTimeout(waiter.timer)
      if (waiter.node !== undefined && waiters.remove(waiter.node)) return publish()
      const slot = waiter.slot
      waiter.slot = undefined
      if (slot !== undefined) offer(slot)
    }

    const wait = (
      restore: Restore,
      front: boolean,
      deadline: number
    ): Effect.Effect<Slot, PgPoolExpertError> =>
      Effect.suspend(() => {
        const remaining = deadline - now()
        if (remaining <= 0) {
          recorder.timedOut()
          return Effect.fail(timeoutError(waiters.size + 1))
        }
        const waiter: Waiter = {
          deferred: Deferred.makeUnsafe(),
          node: undefined,
          timer: undefined,
          slot: undefined
        }
        waiter.node = front ? waiters.pushFront(waiter) : waiters.pushBack(waiter)
        waiter.timer = setTimeout(() => {
          const waiting = waiters.size
          if (waiter.node === undefined || !waiters.remove(waiter.node)) return
          recorder.timedOut()
          publish()
          Deferred.doneUnsafe(waiter.deferred, Effect.fail(timeoutError(waiting)))
        }, remaining)
        publish()
        fillForWaiters()
        return Effect.onInterrupt(restore(Deferred.await(waiter.deferred)), () =>
          Effect.sync(() => cancel(waiter))
        )
      })

    /** Whether a slot may be handed out; retires it when not. */
    const vet = (slot: Slot, restore: Restore): Effect.Effect<boolean> =>
      Effect.gen(function* () {
        if ((yield* slot.connection.status)._tag !== "Open") {
          retire(slot, "failed")
          return false
        }
        if (now() >= slot.expiresAt) {
          retire(slot, "lifetime")
          return false
        }
        if (now() - slot.releasedAt < settings.healthCheckAfterMillis) return true
        const ok = yield* Effect.onInterrupt(restore(check(slot.connection.simpleQuery(""))), () =>
          Effect.sync(() => retire(slot, "health"))
        )
        if (!ok) retire(slot, "health")
        return ok
      })

    const acquire = (restore: Restore): Effect.Effect<Slot, PgPoolExpertError> =>
      Effect.suspend(() => {
        const started = now()
        const deadline = started + settings.acquireTimeoutMillis
        const attempt = (front: boolean): Effect.Effect<Slot, PgPoolExpertError> =>
          Effect.suspend(() => {
            if (closed) return Effect.fail(poolClosed())
            const free = waiters.size === 0 ? takeIdle() : undefined
            const got = free !== undefined ? Effect.succeed(free) : wait(restore, front, deadline)
            return Effect.flatMap(got, (slot) =>
              Effect.flatMap(vet(slot, restore), (ok) => (ok ? Effect.succeed(slot) : attempt(true)))
            )
          })
        return Effect.tap(attempt(false), () => Effect.sync(() => recorder.waited(now() - started)))
      })

    const release = (slot: Slot, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> =>
      Effect.gen(function* () {
        if (slot.state !== "busy") return
        if (closed) return retire(slot, "shutdown")
        const connection = slot.connection
        if ((yield* connection.status)._tag !== "Open") return retire(slot, "failed")
        // Work still queued (a failed or interrupted borrower, a leaked fiber): wait for it to
        // settle, within checkTimeout, before the connection can go to someone else.
        const busy = Exit.isFailure(exit) || (yield* connection.pending) > 0
        if (busy && !(yield* check(connection.simpleQuery("")))) return retire(slot, "busy")
        if (
          (yield* connection.transactionStatus) !== "I" &&
          !(yield* check(connection.simpleQuery("ROLLBACK")))
        ) {
          return retire(slot, "reset")
        }
        const reset = settings.resetOnRelease
        if (reset !== "none") {
          const done = yield* check(
            reset === "discard-all"
              ? connection.simpleQuery("DISCARD ALL")
              : Effect.suspend(() => reset(connection))
          )
          if (!done) return retire(slot, "reset")
        }
        if (now() >= slot.expiresAt) return retire(slot, "lifetime")
        offer(slot)
      })

    // ---- maintenance and shutdown --------------------------------------------------------------

    const maintain = Effect.gen(function* () {
      const t = now()
      for (const slot of idle.slice()) {
        if (slot.state !== "idle") continue
        if ((yield* slot.connection.status)._tag !== "Open") retire(slot, "failed")
        else if (t >= slot.expiresAt) retire(slot, "lifetime")
        else if (t - slot.releasedAt >= settings.idleTimeoutMillis && total - closing > settings.min) {
          retire(slot, "idle")
        }
      }
      fillToMin()
    })

    runWork(Effect.forever(Effect.andThen(Effect.sleep(settings.maintenanceIntervalMillis), maintain)))
    fillToMin()

    const shutdown = Effect.gen(function* () {
      closed = true
      for (const waiter of waiters.drain()) {
        clearTimeout(waiter.timer)
        Deferred.doneUnsafe(waiter.deferred, Effect.fail(poolClosed()))
      }
      publish()
      yield* Scope.close(workScope, Exit.void)
      for (const slot of idle.slice()) retire(slot, "shutdown")
      if (inUse > 0) {
        yield* Effect.callback<void>((resume) => {
          const timer = setTimeout(() => resume(Effect.void), settings.shutdownTimeoutMillis)
          onDrained = () => {
            clearTimeout(timer)
            resume(Effect.void)
          }
        })
        onDrained = undefined
      }
      for (const slot of Array.from(slots)) retire(slot, "shutdown")
      while (closers.size > 0) yield* Fiber.await(closers.values().next().value!)
    })
    yield* Effect.addFinalizer(() => shutdown)

    return {
      settings,
      config,
      acquire,
      release,
      check,
      stats: Effect.sync(() => ({
        total,
        idle: idle.length,
        inUse,
        waiting: waiters.size,
        creating,
        closing,
        min: settings.min,
        max: settings.max
      }))
    }
  })
