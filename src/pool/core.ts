/**
 * The pool engine: who holds which connection, which connections carry one-shot statements, who
 * waits, and when connections are opened, checked and closed. Everything user-facing (spans,
 * error views, transactions, conveniences) is built on `acquire`/`release`/`oneShot` in pool/api.ts.
 *
 *   creating ──ok──► busy ◄──takeIdle / hand-over── idle ◄──(nobody waits)── busy
 *                    │  ▲                                                    ▲
 *                    │  └──last statement done, checks── shared ◄──statement─┘ (idle or offered)
 *                    └───────────────────── retire ──────────────────────────► retired (closing, then gone)
 *
 * - Two kinds of use. A borrower (`acquire`: withConnection, transactions, streams, COPY, LISTEN)
 *   holds a connection alone. A one-shot statement (`oneShot`) is sent on a `shared` connection —
 *   the one with the fewest statements in flight, idle ones first — next to others: the
 *   connection pipelines them and matches answers in order, each with its own Sync, so one
 *   failing does not touch the others. At most `maxInFlightPerConnection` are in flight on one.
 * - Throttle: at most `max` connections exist (opening, open or still closing). The pool opens
 *   connections as demand asks — one per borrower and per statement in flight or waiting, as a
 *   pool without sharing would — but a statement never waits for an opening while a connection
 *   has room; it waits only when every connection is lent, draining or full.
 * - Two FIFO lines (WaitQueue): borrowers and statements, each first come, first served; a
 *   connection that becomes free goes to the head that has waited longer (a ticket orders them).
 *   A borrower that waits while `max` connections exist reserves the least loaded shared
 *   connection: it takes no new statements, and once drained goes to the first borrower. So a
 *   borrower waits for at most one connection's pipeline, and statements keep flowing elsewhere.
 * - Opening happens in background fibers; a failed opening fails the oldest waiter with its error
 *   when openings do not cover everyone waiting. `min` is restored by the maintenance fiber.
 * - Acquire timeout: each waiter has a deadline timer inside this state machine, so a connection
 *   (or room on one) is either handed to a waiter or not, never lost in a race with a timeout.
 * - Checks (pool/checks.ts): before a borrow, and before an idle connection takes statements;
 *   when a borrow ends, and when a shared connection's last statement ends (then a failed or
 *   interrupted statement counts like a failed borrow). A connection that fails one is retired.
 *   A shared connection whose status is not Open is retired at once (its statements fail by
 *   themselves); one past its lifetime takes no new statements and is retired when drained.
 *
 * It does NOT trace, map errors, or know about transactions (pool/api.ts, pool/transaction.ts).
 * It runs on real timers (deadline.ts `after`, any length), the Clock for timestamps and maintenance.
 *
 * Invariants: `total = creating + |slots|` where `slots` counts idle, busy, shared and closing
 * ones; `total ≤ max` at all times; a slot is in `idle` iff its state is "idle" and in `shared`
 * iff its state is "shared"; `inUse` counts busy and shared ones; `inFlight` is the sum of the
 * slots' `inFlight`; a shared slot has at least one statement in flight; no statement waits while
 * a connection is idle or has room, and no borrower waits while one is idle; state changes happen
 * in plain synchronous code, and a waiter is resumed only after the state is consistent.
 */
import { Cause, Deferred, Effect, Exit, Fiber, FiberSet, Scope } from "effect"
import type { PgConfigError } from "../config/ConfigError.ts"
import { resolve } from "../config/Resolve.ts"
import { connectResolved } from "../connection/connect.ts"
import { after } from "../connection/deadline.ts"
import { type ExpertConnection, setShared } from "../connection/operations.ts"
import { PgClosedError } from "../Errors.ts"
import { type CheckDeps, returnVerdict, vetVerdict } from "./checks.ts"
import { type PgPoolExpertError, PgPoolTimeoutError } from "./errors.ts"
import { type CloseReason, makeRecorder, type PoolRecorder } from "./metrics.ts"
import type { PoolSettings } from "./options.ts"
import { SharedSlots } from "./SharedSlots.ts"
import type { AroundWait, PoolCore, Restore, Slot } from "./types.ts"
import { type WaitNode, WaitQueue } from "./WaitQueue.ts"

interface Waiter {
  readonly line: WaitQueue<Waiter>
  /** Orders the heads of the two lines: the lower waited longer. */
  readonly ticket: number
  readonly deferred: Deferred.Deferred<Slot, PgPoolExpertError>
  node: WaitNode<Waiter> | undefined
  timer: { readonly clear: () => void } | undefined
  /** The slot handed over (for a statement: with its room counted), until the fiber takes it. */
  slot: Slot | undefined
}

type Run = <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>

const poolClosed = () => new PgClosedError({ message: "the pool is closed" })

const abandoned = (cause: Cause.Cause<unknown>): boolean => {
  if (Cause.hasInterrupts(cause)) return true
  const error = Cause.findErrorOption(cause)
  return (
    error._tag === "Some" &&
    typeof error.value === "object" &&
    error.value !== null &&
    (error.value as { readonly _tag?: unknown })._tag === "PgTimeoutError"
  )
}

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
    const limit = settings.maxInFlightPerConnection

    const idle: Array<Slot> = []
    const shared = new SharedSlots<Slot>()
    const slots = new Set<Slot>()
    const borrowers = new WaitQueue<Waiter>()
    const statements = new WaitQueue<Waiter>()
    let total = 0
    let creating = 0
    let closing = 0
    let inUse = 0
    let inFlight = 0
    let reservations = 0
    let closed = false
    /** Set by a failed opening, cleared by a successful one or the next maintenance tick. */
    let growthPaused = false
    let nextId = 1
    let nextTicket = 0
    let onDrained: (() => void) | undefined

    const waiting = () => borrowers.size + statements.size
    /** Whether a statement that finds no idle connection should wait for a new one rather than pipeline. */
    const canGrow = () => total < settings.max && !growthPaused

    const publish = () => {
      recorder.counts({ used: inUse, idle: idle.length, pending: waiting() })
      if (onDrained !== undefined && inUse === 0) onDrained()
    }

    const timeoutError = (count: number) =>
      new PgPoolTimeoutError({
        message: `no connection was free within ${settings.acquireTimeoutMillis} ms (pool "${settings.name}": max ${settings.max}, ${count} waiting)`,
        timeoutMillis: settings.acquireTimeoutMillis,
        waiting: count,
        max: settings.max
      })

    // ---- plain state transitions -------------------------------------------------------------

    /** Completes a waiter's wait. Call it last: resuming may run the waiter's code at once. */
    const handOver = (waiter: Waiter, slot: Slot): void => {
      waiter.timer?.clear()
      waiter.slot = slot
      Deferred.doneUnsafe(waiter.deferred, Effect.succeed(slot))
    }

    const takeIdle = (): Slot | undefined => {
      const slot = idle.pop()
      if (slot === undefined) return undefined
      slot.state = "busy"
      inUse++
      publish()
      return slot
    }

    /**
     * A busy, checked slot starts carrying statements (`first` of them already counted) and takes
     * its share of the waiting ones: all of them up to `limit`, or, while other connections are
     * opening, a part, so that each new connection gets some.
     */
    const share = (slot: Slot, first: number): Array<Waiter> => {
      setShared(slot.connection, true)
      slot.state = "shared"
      slot.inFlight = first
      inFlight += first
      shared.add(slot)
      const handed: Array<Waiter> = []
      const take = Math.min(limit, first + Math.ceil(statements.size / (creating + 1)))
      while (slot.inFlight < take) {
        const waiter = statements.shift()
        if (waiter === undefined) break
        slot.inFlight++
        inFlight++
        handed.push(waiter)
      }
      return handed
    }

    /** A shared slot whose last statement ended: busy again, for the return checks. */
    const unshare = (slot: Slot): void => {
      setShared(slot.connection, false)
      shared.remove(slot)
      if (slot.reserved) reservations--
      slot.sealed = false
      slot.state = "busy"
    }

    /** Hands a busy, checked slot to the head that waited longer, or makes it idle. */
    const offer = (slot: Slot): void => {
      if (slot.state !== "busy") return
      if (closed) return retire(slot, "shutdown")
      slot.releasedAt = now()
      const wasReserved = slot.reserved
      slot.reserved = false
      const borrower = borrowers.peek()
      const statement = statements.peek()
      if (
        borrower !== undefined &&
        (wasReserved || statement === undefined || borrower.ticket < statement.ticket)
      ) {
        borrowers.shift()
        publish()
        fill()
        return handOver(borrower, slot)
      }
      if (statement !== undefined) {
        const handed = share(slot, 0)
        publish()
        fill()
        for (const waiter of handed) handOver(waiter, slot)
        return
      }
      slot.state = "idle"
      inUse--
      idle.push(slot)
      publish()
    }

    /** Room freed on a shared slot goes to the first waiting statement. */
    const offerRoom = (slot: Slot): void => {
      if (slot.state !== "shared" || slot.reserved || slot.sealed || slot.inFlight >= limit) return
      const waiter = statements.shift()
      if (waiter === undefined) return
      slot.inFlight++
      inFlight++
      publish()
      handOver(waiter, slot)
    }

    const retire = (slot: Slot, reason: CloseReason): void => {
      if (slot.state === "retired") return
      if (slot.state === "busy" || slot.state === "shared") inUse--
      if (slot.state === "shared") {
        shared.remove(slot)
        if (slot.reserved) reservations--
      } else if (slot.state === "idle") {
        const at = idle.indexOf(slot)
        if (at >= 0) idle.splice(at, 1)
      }
      slot.state = "retired"
      slot.reserved = false
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
            fill()
          })
        )
      )
    }

    /** The slot's connection ended by itself (FATAL, lost socket): an idle or shared one goes at once. */
    const onGone = (slot: Slot): void => {
      if (slot.state === "idle" || slot.state === "shared") retire(slot, "failed")
    }

    /** Puts waiting statements on the room shared connections have (when no opening will come). */
    const spill = (): void => {
      while (statements.size > 0) {
        const slot = shared.pick(limit)
        if (slot === undefined) return
        offerRoom(slot)
      }
    }

    /** Fails the waiter that waited longest, of either line. */
    const failOldest = (error: Exit.Exit<never, PgPoolExpertError>): void => {
      const borrower = borrowers.peek()
      const statement = statements.peek()
      const line =
        statement === undefined || (borrower !== undefined && borrower.ticket < statement.ticket)
          ? borrowers
          : statements
      const waiter = line.shift()
      if (waiter === undefined) return
      waiter.timer?.clear()
      publish()
      Deferred.doneUnsafe(waiter.deferred, error)
    }

    // ---- opening connections and covering demand ---------------------------------------------

    const create = Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const opened = yield* Effect.exit(restore(Scope.provide(scope)(connectResolved(config))))
        creating--
        if (Exit.isFailure(opened)) {
          yield* Scope.close(scope, opened)
          total--
          growthPaused = true
          spill()
          if (!closed && waiting() > creating) failOldest(Exit.failCause(opened.cause))
          fill()
          return
        }
        growthPaused = false
        const createdAt = now()
        const jitter = settings.lifetimeJitterMillis * Math.random()
        const slot: Slot = {
          id: nextId++,
          connection: opened.value,
          scope,
          createdAt,
          expiresAt: createdAt + settings.maxLifetimeMillis - jitter,
          releasedAt: createdAt,
          state: "busy",
          inFlight: 0,
          reserved: false,
          sealed: false,
          dirty: false
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

    /**
     * Opens connections for the demand (borrowers holding or waiting, statements in flight or
     * waiting: one connection each, within `max`; after a failed opening, only for the waiters),
     * then reserves shared connections for the borrowers that no opening covers.
     */
    const fill = (): void => {
      if (closed) return
      if (growthPaused) {
        while (total < settings.max && creating < waiting()) startCreate()
      } else {
        const demand = inUse - shared.size + inFlight + waiting()
        while (total < settings.max && total - closing < demand) startCreate()
      }
      let uncovered = borrowers.size - creating - reservations
      while (uncovered > 0) {
        const slot = shared.leastLoaded()
        if (slot === undefined) break
        slot.reserved = true
        reservations++
        uncovered--
      }
    }

    /** Opens connections up to `min` (the maintenance fiber calls it; never after a failure). */
    const fillToMin = (): void => {
      while (!closed && total - closing < settings.min && total < settings.max) startCreate()
    }

    // ---- checks ------------------------------------------------------------------------------

    const check = (effect: Effect.Effect<unknown, unknown>): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        const fiber = runWork(Effect.exit(effect))
        return Effect.callback<boolean>((resume) => {
          const timer = after(settings.checkTimeoutMillis, () => resume(Effect.succeed(false)))
          const remove = fiber.addObserver((exit) => {
            timer.clear()
            resume(Effect.succeed(Exit.isSuccess(exit) && Exit.isSuccess(exit.value)))
          })
          return Effect.sync(() => {
            timer.clear()
            remove()
          })
        })
      })

    const deps: CheckDeps = { settings, now, check }

    /** Whether a slot may be handed out; retires it when not. */
    const vet = (slot: Slot, restore: Restore): Effect.Effect<boolean> =>
      Effect.map(
        vetVerdict(deps, slot, restore, () => retire(slot, "health")),
        (reason) => {
          if (reason === undefined) return true
          retire(slot, reason)
          return false
        }
      )

    /** Checks a busy slot that came back, then offers or retires it. */
    const settle = (slot: Slot, dirty: boolean): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (slot.state !== "busy") return Effect.void
        if (closed) return Effect.sync(() => retire(slot, "shutdown"))
        return Effect.map(returnVerdict(deps, slot, dirty), (reason) =>
          reason === undefined ? offer(slot) : retire(slot, reason)
        )
      })

    // ---- waiting -----------------------------------------------------------------------------

    const cancel = (waiter: Waiter): Effect.Effect<void> =>
      Effect.suspend(() => {
        waiter.timer?.clear()
        if (waiter.node !== undefined && waiter.line.remove(waiter.node)) {
          publish()
          return Effect.void
        }
        const slot = waiter.slot
        waiter.slot = undefined
        if (slot === undefined) return Effect.void
        if (waiter.line === borrowers) {
          offer(slot)
          return Effect.void
        }
        return finish(slot, Exit.void) ?? Effect.void
      })

    const wait = (
      line: WaitQueue<Waiter>,
      ticket: number,
      restore: Restore,
      front: boolean,
      deadline: number
    ): Effect.Effect<Slot, PgPoolExpertError> =>
      Effect.suspend(() => {
        const remaining = deadline - now()
        if (remaining <= 0) {
          recorder.timedOut()
          return Effect.fail(timeoutError(waiting() + 1))
        }
        const waiter: Waiter = {
          line,
          ticket,
          deferred: Deferred.makeUnsafe(),
          node: undefined,
          timer: undefined,
          slot: undefined
        }
        waiter.node = front ? line.pushFront(waiter) : line.pushBack(waiter)
        waiter.timer = after(remaining, () => {
          const count = waiting()
          if (waiter.node === undefined || !line.remove(waiter.node)) return
          recorder.timedOut()
          publish()
          Deferred.doneUnsafe(waiter.deferred, Effect.fail(timeoutError(count)))
        })
        publish()
        fill()
        return Effect.onInterrupt(restore(Deferred.await(waiter.deferred)), () => cancel(waiter))
      })

    // ---- borrowing ---------------------------------------------------------------------------

    const acquire = (restore: Restore): Effect.Effect<Slot, PgPoolExpertError> =>
      Effect.suspend(() => {
        const started = now()
        const deadline = started + settings.acquireTimeoutMillis
        const ticket = nextTicket++
        const attempt = (front: boolean): Effect.Effect<Slot, PgPoolExpertError> =>
          Effect.suspend(() => {
            if (closed) return Effect.fail(poolClosed())
            const free = borrowers.size === 0 ? takeIdle() : undefined
            const got =
              free !== undefined ? Effect.succeed(free) : wait(borrowers, ticket, restore, front, deadline)
            return Effect.flatMap(got, (slot) =>
              Effect.flatMap(vet(slot, restore), (ok) => (ok ? Effect.succeed(slot) : attempt(true)))
            )
          })
        return Effect.tap(attempt(false), () => Effect.sync(() => recorder.waited(now() - started)))
      })

    const release = (slot: Slot, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> =>
      settle(slot, Exit.isFailure(exit))

    // ---- one-shot statements -----------------------------------------------------------------

    /**
     * Room on a shared slot right now, without waiting: `undefined` when the statement must go the
     * slow way (someone waits, a connection is idle, or the pool may still grow).
     */
    const roomNow = (): Slot | undefined => {
      if (closed || statements.size > 0 || idle.length > 0 || canGrow()) return undefined
      const slot = shared.pick(limit)
      if (slot === undefined) return undefined
      slot.inFlight++
      inFlight++
      return slot
    }

    /**
     * Room for one statement: an idle slot (checked first); while the pool may grow, a new
     * connection (waiting for it, unless room frees first); else room on a shared one, or a wait.
     */
    const room = (restore: Restore): Effect.Effect<Slot, PgPoolExpertError> =>
      Effect.suspend(() => {
        const started = now()
        const deadline = started + settings.acquireTimeoutMillis
        const ticket = nextTicket++
        const attempt = (front: boolean): Effect.Effect<Slot, PgPoolExpertError> =>
          Effect.suspend(() => {
            if (closed) return Effect.fail(poolClosed())
            if (front || statements.size === 0) {
              const free = takeIdle()
              if (free !== undefined) {
                return Effect.flatMap(vet(free, restore), (ok) => {
                  if (!ok) return attempt(true)
                  const handed = share(free, 1)
                  publish()
                  fill()
                  for (const waiter of handed) handOver(waiter, free)
                  return Effect.succeed(free)
                })
              }
              const slot = canGrow() ? undefined : shared.pick(limit)
              if (slot !== undefined) {
                slot.inFlight++
                inFlight++
                return Effect.succeed(slot)
              }
            }
            return Effect.flatMap(wait(statements, ticket, restore, front, deadline), (slot) => {
              if (slot.state === "shared") return Effect.succeed(slot)
              // Retired between the hand-over and now: its room is worth nothing.
              slot.inFlight--
              inFlight--
              return attempt(true)
            })
          })
        return Effect.tap(attempt(false), () => Effect.sync(() => recorder.waited(now() - started)))
      })

    /** A statement on `slot` ended with `exit`; the last one out runs the return checks. */
    const finish = <A>(
      slot: Slot,
      exit: Exit.Exit<A, unknown>,
      opensTransaction?: (result: A) => boolean
    ): Effect.Effect<void> | undefined => {
      slot.inFlight--
      inFlight--
      if (slot.state !== "shared") return undefined
      const failed = Exit.isFailure(exit)
      if (failed) {
        slot.dirty = true
        // Timed out or interrupted, it may still hold the connection (its cancel is on its way): no
        // new statement queues behind it; the slot is checked and offered again once drained.
        if (abandoned(exit.cause)) slot.sealed = true
      } else if (opensTransaction?.(exit.value)) slot.sealed = true
      if (slot.inFlight > 0) {
        if (!failed) {
          offerRoom(slot)
          return undefined
        }
        return Effect.map(slot.connection.status, (status) =>
          status._tag === "Open" ? offerRoom(slot) : retire(slot, "failed")
        )
      }
      unshare(slot)
      const dirty = slot.dirty
      slot.dirty = false
      return settle(slot, dirty)
    }

    const oneShot = <A, E>(
      run: (connection: ExpertConnection) => Effect.Effect<A, E>,
      aroundWait?: AroundWait,
      opensTransaction?: (result: A) => boolean
    ): Effect.Effect<A, E | PgPoolExpertError> =>
      Effect.uninterruptibleMask((restore) => {
        const ready = roomNow()
        if (ready !== undefined) {
          recorder.waited(0)
          return Effect.onExitPrimitive(restore(run(ready.connection)), (exit) =>
            finish(ready, exit, opensTransaction)
          )
        }
        const slow = room(restore)
        return Effect.flatMap(aroundWait === undefined ? slow : aroundWait(slow), (slot) =>
          Effect.onExitPrimitive(restore(run(slot.connection)), (exit) =>
            finish(slot, exit, opensTransaction)
          )
        )
      })

    // ---- maintenance and shutdown --------------------------------------------------------------

    const maintain = Effect.gen(function* () {
      growthPaused = false
      const t = now()
      for (const slot of idle.slice()) {
        if (slot.state !== "idle") continue
        if ((yield* slot.connection.status)._tag !== "Open") retire(slot, "failed")
        else if (t >= slot.expiresAt) retire(slot, "lifetime")
        else if (t - slot.releasedAt >= settings.idleTimeoutMillis && total - closing > settings.min) {
          retire(slot, "idle")
        }
      }
      // A shared connection past its lifetime takes no new statements; its last one retires it.
      for (const slot of shared.snapshot()) if (t >= slot.expiresAt) slot.sealed = true
      fillToMin()
      fill()
    })

    runWork(Effect.forever(Effect.andThen(Effect.sleep(settings.maintenanceIntervalMillis), maintain)))
    fillToMin()

    const shutdown = Effect.gen(function* () {
      closed = true
      for (const waiter of [...borrowers.drain(), ...statements.drain()]) {
        waiter.timer?.clear()
        Deferred.doneUnsafe(waiter.deferred, Effect.fail(poolClosed()))
      }
      publish()
      yield* Scope.close(workScope, Exit.void)
      for (const slot of idle.slice()) retire(slot, "shutdown")
      if (inUse > 0) {
        yield* Effect.callback<void>((resume) => {
          const timer = after(settings.shutdownTimeoutMillis, () => resume(Effect.void))
          onDrained = () => {
            timer.clear()
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
      oneShot,
      check,
      stats: Effect.sync(() => ({
        total,
        idle: idle.length,
        inUse,
        inFlight,
        waiting: waiting(),
        creating,
        closing,
        min: settings.min,
        max: settings.max
      }))
    }
  })
