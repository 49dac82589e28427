/**
 * The pool's upkeep: the maintenance tick and the shutdown.
 *
 * - `maintain` (every `maintenanceInterval`, on the Clock): resumes growth after a failed
 *   opening; retires idle connections whose status is not Open, that are past their lifetime, or
 *   idle longer than `idleTimeout` above `min`; seals shared connections past their lifetime (no
 *   new statements; the last one out retires them); checks the role of connections and samples
 *   replication (standbys.ts `monitor`); restores `min` and covers demand.
 * - `shutdown` (the pool's scope closes): fails every waiter with `PgClosedError`, stops the
 *   background work, closes idle connections at once, waits for the ones in use up to
 *   `shutdownTimeout`, then closes everything left and waits for the closes.
 *
 * It does NOT close connections itself (retire.ts), nor open them (opening.ts).
 *
 * Invariants: after `shutdown` no slot is left open and no close is running; a waiter never
 * waits past the shutdown.
 */
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { after } from "../connection/deadline.ts"
import type { PoolConnection } from "./connector.ts"
import { fillToMin } from "./opening.ts"
import { retire } from "./retire.ts"
import { monitor } from "./standbys.ts"
import { type PoolState, poolClosed, publish } from "./state.ts"

/** One maintenance tick. */
export const maintain = <C extends PoolConnection>(s: PoolState<C>): Effect.Effect<void> =>
  Effect.gen(function* () {
    s.growthPaused = false
    const t = s.now()
    for (const slot of s.idle.slice()) {
      if (slot.state !== "idle") continue
      if ((yield* slot.connection.status)._tag !== "Open") retire(s, slot, "failed")
      else if (t >= slot.expiresAt) retire(s, slot, "lifetime")
      else if (t - slot.releasedAt >= s.settings.idleTimeoutMillis && s.total - s.closing > s.settings.min) {
        retire(s, slot, "idle")
      }
    }
    // A shared connection past its lifetime takes no new statements; its last one retires it.
    for (const slot of s.shared.snapshot()) if (t >= slot.expiresAt) slot.sealed = true
    yield* monitor(s)
    fillToMin(s)
    s.fill()
  })

/** Closes the pool (its scope's finalizer). */
export const shutdown = <C extends PoolConnection>(s: PoolState<C>): Effect.Effect<void> =>
  Effect.gen(function* () {
    s.closed = true
    for (const waiter of [...s.borrowers.drain(), ...s.statements.drain()]) {
      waiter.timer?.clear()
      Deferred.doneUnsafe(waiter.deferred, Effect.fail(poolClosed()))
    }
    publish(s)
    yield* Scope.close(s.workScope, Exit.void)
    for (const slot of s.idle.slice()) retire(s, slot, "shutdown")
    if (s.inUse > 0) {
      yield* Effect.callback<void>((resume) => {
        const timer = after(s.settings.shutdownTimeoutMillis, () => resume(Effect.void))
        s.onDrained = () => {
          timer.clear()
          resume(Effect.void)
        }
      })
      s.onDrained = undefined
    }
    for (const slot of Array.from(s.slots)) retire(s, slot, "shutdown")
    while (s.closers.size > 0) yield* Fiber.await(s.closers.values().next().value!)
  })
