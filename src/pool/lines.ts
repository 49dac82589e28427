/**
 * The two waiting lines and the hand-over: borrowers and one-shot statements wait in FIFO lines
 * (WaitQueue), each with a deadline timer; a connection that becomes free goes to the head that
 * has waited longer (tickets order them), or carries the waiting statements, or becomes idle.
 *
 * - `offer`: a busy, checked slot goes to the first borrower (always, if the slot was reserved
 *   for one), else starts carrying the waiting statements (`share`), else becomes idle.
 * - `offerRoom` / `spill`: room freed on a shared slot goes to the first waiting statement.
 * - `wait`: joins a line under the acquire timeout. The timeout is a timer inside the state
 *   machine that removes the waiter from its line — never a race between two fibers — so a
 *   connection (or room on one) is either handed to a waiter or not, never lost. A waiter
 *   interrupted after the hand-over gives what it was handed back (`giveBack`).
 * - `settle`: the return checks (checks.ts `returnVerdict`), then `offer` or retire.
 * - `acquire` / `release`: borrowing a connection exclusively.
 *
 * It does NOT open connections (opening.ts; it only asks for them through `fill`), nor run
 * one-shot statements (room.ts).
 *
 * Invariants: a waiter is removed from its line before it is resumed; `handOver` comes after
 * every count change; only the wait and the health check run under the borrower's `restore`.
 */
import { Deferred, Effect, Exit } from "effect"
import { after } from "../connection/deadline.ts"
import { returnVerdict } from "./checks.ts"
import type { PoolConnection } from "./connector.ts"
import type { PgPoolExpertError } from "./errors.ts"
import { retire, vet } from "./retire.ts"
import {
  handOver,
  type PoolState,
  poolClosed,
  publish,
  takeIdle,
  timeoutError,
  type Waiter,
  waiting
} from "./state.ts"
import type { Restore, Slot } from "./types.ts"
import type { WaitQueue } from "./WaitQueue.ts"

/** What a waiter interrupted after the hand-over does with the slot it was handed. */
export type GiveBack<C extends PoolConnection> = (slot: Slot<C>) => Effect.Effect<void> | undefined

/**
 * A busy, checked slot starts carrying statements (`first` of them already counted) and takes
 * its share of the waiting ones: all of them up to `limit`, or, while other connections are
 * opening, a part, so that each new connection gets some.
 */
export const share = <C extends PoolConnection>(
  s: PoolState<C>,
  slot: Slot<C>,
  first: number
): Array<Waiter<C>> => {
  slot.setShared(true)
  slot.state = "shared"
  slot.inFlight = first
  s.inFlight += first
  s.shared.add(slot)
  const handed: Array<Waiter<C>> = []
  const take = Math.min(s.limit, first + Math.ceil(s.statements.size / (s.creating + 1)))
  while (slot.inFlight < take) {
    const waiter = s.statements.shift()
    if (waiter === undefined) break
    slot.inFlight++
    s.inFlight++
    handed.push(waiter)
  }
  return handed
}

/** Hands a busy, checked slot to the head that waited longer, or makes it idle. */
export const offer = <C extends PoolConnection>(s: PoolState<C>, slot: Slot<C>): void => {
  if (slot.state !== "busy") return
  if (s.closed) return retire(s, slot, "shutdown")
  slot.releasedAt = s.now()
  const wasReserved = slot.reserved
  slot.reserved = false
  const borrower = s.borrowers.peek()
  const statement = s.statements.peek()
  if (
    borrower !== undefined &&
    (wasReserved || statement === undefined || borrower.ticket < statement.ticket)
  ) {
    s.borrowers.shift()
    publish(s)
    s.fill()
    return handOver(borrower, slot)
  }
  if (statement !== undefined) {
    const handed = share(s, slot, 0)
    publish(s)
    s.fill()
    for (const waiter of handed) handOver(waiter, slot)
    return
  }
  slot.state = "idle"
  s.inUse--
  s.idle.push(slot)
  publish(s)
}

/** Room freed on a shared slot goes to the first waiting statement. */
export const offerRoom = <C extends PoolConnection>(s: PoolState<C>, slot: Slot<C>): void => {
  if (slot.state !== "shared" || slot.reserved || slot.sealed || slot.inFlight >= s.limit) return
  const waiter = s.statements.shift()
  if (waiter === undefined) return
  slot.inFlight++
  s.inFlight++
  publish(s)
  handOver(waiter, slot)
}

/** Puts waiting statements on the room shared connections have (when no opening will come). */
export const spill = <C extends PoolConnection>(s: PoolState<C>): void => {
  while (s.statements.size > 0) {
    const slot = s.shared.pick(s.limit)
    if (slot === undefined) return
    offerRoom(s, slot)
  }
}

/** Fails the waiter that waited longest, of either line. */
export const failOldest = <C extends PoolConnection>(
  s: PoolState<C>,
  error: Exit.Exit<never, PgPoolExpertError>
): void => {
  const borrower = s.borrowers.peek()
  const statement = s.statements.peek()
  const line =
    statement === undefined || (borrower !== undefined && borrower.ticket < statement.ticket)
      ? s.borrowers
      : s.statements
  const waiter = line.shift()
  if (waiter === undefined) return
  waiter.timer?.clear()
  publish(s)
  Deferred.doneUnsafe(waiter.deferred, error)
}

/** Checks a busy slot that came back, then offers or retires it. */
export const settle = <C extends PoolConnection>(
  s: PoolState<C>,
  slot: Slot<C>,
  dirty: boolean
): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (slot.state !== "busy") return Effect.void
    if (s.closed) return Effect.sync(() => retire(s, slot, "shutdown"))
    return Effect.map(returnVerdict(s, slot, dirty), (reason) =>
      reason === undefined ? offer(s, slot) : retire(s, slot, reason)
    )
  })

const cancel = <C extends PoolConnection>(
  s: PoolState<C>,
  waiter: Waiter<C>,
  giveBack: GiveBack<C>
): Effect.Effect<void> =>
  Effect.suspend(() => {
    waiter.timer?.clear()
    if (waiter.node !== undefined && waiter.line.remove(waiter.node)) {
      publish(s)
      return Effect.void
    }
    const slot = waiter.slot
    waiter.slot = undefined
    if (slot === undefined) return Effect.void
    return giveBack(slot) ?? Effect.void
  })

/** Waits in `line` (at its front when `front`) until `deadline`, for a slot or room on one. */
export const wait = <C extends PoolConnection>(
  s: PoolState<C>,
  line: WaitQueue<Waiter<C>>,
  ticket: number,
  restore: Restore,
  front: boolean,
  deadline: number,
  giveBack: GiveBack<C>
): Effect.Effect<Slot<C>, PgPoolExpertError> =>
  Effect.suspend(() => {
    const remaining = deadline - s.now()
    if (remaining <= 0) {
      s.recorder.timedOut()
      return Effect.fail(timeoutError(s, waiting(s) + 1))
    }
    const waiter: Waiter<C> = {
      line,
      ticket,
      deferred: Deferred.makeUnsafe(),
      node: undefined,
      timer: undefined,
      slot: undefined
    }
    waiter.node = front ? line.pushFront(waiter) : line.pushBack(waiter)
    waiter.timer = after(remaining, () => {
      const count = waiting(s)
      if (waiter.node === undefined || !line.remove(waiter.node)) return
      s.recorder.timedOut()
      publish(s)
      Deferred.doneUnsafe(waiter.deferred, Effect.fail(timeoutError(s, count)))
    })
    publish(s)
    s.fill()
    return Effect.onInterrupt(restore(Deferred.await(waiter.deferred)), () => cancel(s, waiter, giveBack))
  })

/**
 * One acquisition (a borrow, or room for a statement): its ticket (its place among both lines)
 * and its deadline, given to `attempts`, whose `attempt(front)` tries once (again at the front of
 * the line after a failed check); the wait is recorded when it succeeds.
 */
export const acquisition = <C extends PoolConnection>(
  s: PoolState<C>,
  attempts: (
    ticket: number,
    deadline: number
  ) => (front: boolean) => Effect.Effect<Slot<C>, PgPoolExpertError>
): Effect.Effect<Slot<C>, PgPoolExpertError> =>
  Effect.suspend(() => {
    const started = s.now()
    const attempt = attempts(s.nextTicket++, started + s.settings.acquireTimeoutMillis)
    return Effect.tap(attempt(false), () => Effect.sync(() => s.recorder.waited(s.now() - started)))
  })

/** Borrows a slot exclusively: an idle one when nobody waits, else a wait; vetted before it is lent. */
export const acquire = <C extends PoolConnection>(
  s: PoolState<C>,
  restore: Restore
): Effect.Effect<Slot<C>, PgPoolExpertError> =>
  acquisition(s, (ticket, deadline) => {
    const giveBack: GiveBack<C> = (slot) => {
      offer(s, slot)
      return undefined
    }
    const attempt = (front: boolean): Effect.Effect<Slot<C>, PgPoolExpertError> =>
      Effect.suspend(() => {
        if (s.closed) return Effect.fail(poolClosed())
        const free = s.borrowers.size === 0 ? takeIdle(s) : undefined
        const got =
          free !== undefined
            ? Effect.succeed(free)
            : wait(s, s.borrowers, ticket, restore, front, deadline, giveBack)
        return Effect.flatMap(got, (slot) =>
          Effect.flatMap(vet(s, slot, restore), (ok) => (ok ? Effect.succeed(slot) : attempt(true)))
        )
      })
    return attempt
  })

/** Gives a borrowed slot back after a borrow that ended with `exit` (a failure makes it dirty). */
export const release = <C extends PoolConnection>(
  s: PoolState<C>,
  slot: Slot<C>,
  exit: Exit.Exit<unknown, unknown>
): Effect.Effect<void> => settle(s, slot, Exit.isFailure(exit))
