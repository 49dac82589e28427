/**
 * Opening connections and covering demand. The pool opens connections in background fibers, as
 * demand asks: one per borrower holding or waiting and per statement in flight or waiting (as a
 * pool without sharing would), within `max`; then it reserves shared connections for the
 * borrowers that no opening covers (`fill`). `fillToMin` keeps `min` open (maintenance only).
 *
 * - A connection is opened through the pool's connector (connector.ts `PoolConnector`) in a scope
 *   of its own, which the pool closes when it retires it; its `closeFinished` is watched, so a
 *   connection that ends by itself while idle or shared is retired at once (retire.ts `onGone`).
 * - A new connection is offered like a returned one (lines.ts `offer`).
 * - A failed opening pauses growth (no tight reconnect loop against a refusing server) until a
 *   success or the next maintenance tick, puts the waiting statements on the room shared
 *   connections have (`spill`), and fails the oldest waiter with its error when the openings
 *   still running do not cover everyone waiting.
 *
 * It does NOT check connections (checks.ts), nor decide to close them (retire.ts, upkeep.ts).
 *
 * Invariants: `creating` counts the openings running and is counted in `total`; an opening
 * leaves `creating` exactly once, whatever its outcome; `total ≤ max` after every `fill`; `fill`
 * ends even when openings fail synchronously (each failure pauses growth or fails a waiter).
 */
import { Effect, Exit, Scope } from "effect"
import type { PoolConnection } from "./connector.ts"
import { failOldest, offer, spill } from "./lines.ts"
import { onGone } from "./retire.ts"
import { type PoolState, waiting } from "./state.ts"
import type { Slot } from "./types.ts"

/** One opening: the connection becomes a busy slot and is offered; a failure is reported as above. */
const create = <C extends PoolConnection>(s: PoolState<C>): Effect.Effect<void> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const opened = yield* Effect.exit(restore(Scope.provide(scope)(s.open(s.config))))
      s.creating--
      if (Exit.isFailure(opened)) {
        yield* Scope.close(scope, opened)
        s.total--
        s.growthPaused = true
        spill(s)
        if (!s.closed && waiting(s) > s.creating) failOldest(s, Exit.failCause(opened.cause))
        s.fill()
        return
      }
      s.growthPaused = false
      const createdAt = s.now()
      const jitter = s.settings.lifetimeJitterMillis * Math.random()
      const slot: Slot<C> = {
        id: s.nextId++,
        connection: opened.value.connection,
        setShared: opened.value.setShared,
        scope,
        createdAt,
        expiresAt: createdAt + s.settings.maxLifetimeMillis - jitter,
        releasedAt: createdAt,
        state: "busy",
        inFlight: 0,
        reserved: false,
        sealed: false,
        dirty: false
      }
      s.slots.add(slot)
      s.inUse++
      s.recorder.created()
      yield* Effect.forkIn(
        Effect.andThen(
          Effect.exit(slot.connection.closeFinished),
          Effect.sync(() => onGone(s, slot))
        ),
        scope
      )
      offer(s, slot)
    })
  )

const startCreate = <C extends PoolConnection>(s: PoolState<C>): void => {
  s.total++
  s.creating++
  s.runWork(create(s))
}

/**
 * Opens connections for the demand (borrowers holding or waiting, statements in flight or
 * waiting: one connection each, within `max`; after a failed opening, only for the waiters),
 * then reserves shared connections for the borrowers that no opening covers.
 */
export const fill = <C extends PoolConnection>(s: PoolState<C>): void => {
  if (s.closed) return
  const max = s.settings.max
  if (s.growthPaused) {
    while (s.total < max && s.creating < waiting(s)) startCreate(s)
  } else {
    const demand = s.inUse - s.shared.size + s.inFlight + waiting(s)
    // An opening can fail before it yields (a connector refusing the configuration at once), and
    // then pauses growth inside this loop: stop, or the loop would retry forever.
    while (!s.growthPaused && s.total < max && s.total - s.closing < demand) startCreate(s)
  }
  let uncovered = s.borrowers.size - s.creating - s.reservations
  while (uncovered > 0) {
    const slot = s.shared.leastLoaded()
    if (slot === undefined) break
    slot.reserved = true
    s.reservations++
    uncovered--
  }
}

/** Opens connections up to `min` (the maintenance fiber calls it; never after a failure). */
export const fillToMin = <C extends PoolConnection>(s: PoolState<C>): void => {
  while (!s.closed && s.total - s.closing < s.settings.min && s.total < s.settings.max) startCreate(s)
}
