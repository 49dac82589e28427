/**
 * One-shot statements on shared connections: finding room for a statement (`roomNow`, `room`),
 * and the end of a statement (`finish`); `oneShot` puts them together.
 *
 * - A shared connection pipelines statements of many callers, each with its own Sync, at most
 *   `maxInFlightPerConnection` at once. Room: an idle connection first (checked before it takes
 *   statements); while the pool may grow, a new connection (waiting for it, unless room frees
 *   first); else the open shared connection with the fewest in flight; else the statements line.
 * - When a statement ends: a failure makes its connection dirty; a timed-out or interrupted one
 *   (its cancel may still be on its way) or one that opened a transaction seals it (no new
 *   statements). A failure with others still in flight checks the status: a connection not Open
 *   is retired at once (its statements fail by themselves). The last one out unshares the
 *   connection and runs the return checks (lines.ts `settle`), a dirty one counting as a failed
 *   borrow.
 *
 * It does NOT run statements itself (the caller's `run` does), trace or map errors (api.ts).
 *
 * Invariants: a statement's room is counted once when given and given back exactly once
 * (`finish`, or `giveBack` after an interrupted hand-over); room handed over on a slot retired
 * before the statement could use it is given back and looked for again.
 */
import { Cause, Effect, Exit } from "effect"
import type { PoolConnection } from "./connector.ts"
import type { PgPoolExpertError } from "./errors.ts"
import { acquisition, type GiveBack, offerRoom, settle, share, wait } from "./lines.ts"
import { retire, vet } from "./retire.ts"
import { canGrow, handOver, type PoolState, poolClosed, publish, takeIdle } from "./state.ts"
import type { AroundWait, Restore, Slot } from "./types.ts"

/** Whether a failure means the statement may still hold its connection (interrupted or timed out). */
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

/** A shared slot whose last statement ended: busy again, for the return checks. */
const unshare = <C extends PoolConnection>(s: PoolState<C>, slot: Slot<C>): void => {
  slot.setShared(false)
  s.shared.remove(slot)
  if (slot.reserved) s.reservations--
  slot.sealed = false
  slot.state = "busy"
}

/**
 * Room on a shared slot right now, without waiting: `undefined` when the statement must go the
 * slow way (someone waits, a connection is idle, or the pool may still grow).
 */
const roomNow = <C extends PoolConnection>(s: PoolState<C>): Slot<C> | undefined => {
  if (s.closed || s.statements.size > 0 || s.idle.length > 0 || canGrow(s)) return undefined
  const slot = s.shared.pick(s.limit)
  if (slot === undefined) return undefined
  slot.inFlight++
  s.inFlight++
  return slot
}

/**
 * Room for one statement: an idle slot (checked first); while the pool may grow, a new
 * connection (waiting for it, unless room frees first); else room on a shared one, or a wait.
 */
const room = <C extends PoolConnection>(
  s: PoolState<C>,
  restore: Restore
): Effect.Effect<Slot<C>, PgPoolExpertError> =>
  acquisition(s, (ticket, deadline) => {
    const giveBack: GiveBack<C> = (slot) => finish(s, slot, Exit.void)
    const attempt = (front: boolean): Effect.Effect<Slot<C>, PgPoolExpertError> =>
      Effect.suspend(() => {
        if (s.closed) return Effect.fail(poolClosed())
        if (front || s.statements.size === 0) {
          const free = takeIdle(s)
          if (free !== undefined) {
            return Effect.flatMap(vet(s, free, restore), (ok) => {
              if (!ok) return attempt(true)
              const handed = share(s, free, 1)
              publish(s)
              s.fill()
              for (const waiter of handed) handOver(waiter, free)
              return Effect.succeed(free)
            })
          }
          const slot = canGrow(s) ? undefined : s.shared.pick(s.limit)
          if (slot !== undefined) {
            slot.inFlight++
            s.inFlight++
            return Effect.succeed(slot)
          }
        }
        return Effect.flatMap(wait(s, s.statements, ticket, restore, front, deadline, giveBack), (slot) => {
          if (slot.state === "shared") return Effect.succeed(slot)
          // Retired between the hand-over and now: its room is worth nothing.
          slot.inFlight--
          s.inFlight--
          return attempt(true)
        })
      })
    return attempt
  })

/** A statement on `slot` ended with `exit`; the last one out runs the return checks. */
const finish = <C extends PoolConnection, A>(
  s: PoolState<C>,
  slot: Slot<C>,
  exit: Exit.Exit<A, unknown>,
  opensTransaction?: (result: A) => boolean
): Effect.Effect<void> | undefined => {
  slot.inFlight--
  s.inFlight--
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
      offerRoom(s, slot)
      return undefined
    }
    return Effect.map(slot.connection.status, (status) =>
      status._tag === "Open" ? offerRoom(s, slot) : retire(s, slot, "failed")
    )
  }
  unshare(s, slot)
  const dirty = slot.dirty
  slot.dirty = false
  return settle(s, slot, dirty)
}

/** Runs `run` on room on a shared connection (see PoolMachine.oneShot). */
export const oneShot = <C extends PoolConnection, A, E>(
  s: PoolState<C>,
  run: (connection: C) => Effect.Effect<A, E>,
  aroundWait?: AroundWait<C>,
  opensTransaction?: (result: A) => boolean
): Effect.Effect<A, E | PgPoolExpertError> =>
  Effect.uninterruptibleMask((restore) => {
    const ready = roomNow(s)
    if (ready !== undefined) {
      s.recorder.waited(0)
      return Effect.onExitPrimitive(restore(run(ready.connection)), (exit) =>
        finish(s, ready, exit, opensTransaction)
      )
    }
    const slow = room(s, restore)
    return Effect.flatMap(aroundWait === undefined ? slow : aroundWait(slow), (slot) =>
      Effect.onExitPrimitive(restore(run(slot.connection)), (exit) => finish(s, slot, exit, opensTransaction))
    )
  })
