/**
 * Retirement, and the check before lending: taking a slot out of wherever it is and closing its
 * connection (`retire`), retiring a connection that ended by itself (`onGone`), and applying the
 * verdict of the checks before a slot is lent (`vet`, pool/checks.ts `vetVerdict`).
 *
 * - A retired slot counts towards `max` until its close has finished (Terminate sent, socket
 *   gone), so the server never sees more than `max` backends for the pool.
 * - A slot retired because it is busy or failed its health check is closed with a cancel of
 *   whatever still runs on it.
 * - The close runs outside the pool's work scope (state.ts `runClose`), so it finishes even while
 *   the pool shuts down; when it has, the demand is covered again (`fill`).
 *
 * It does NOT decide when to retire for lifetime or idleness (upkeep.ts), nor run the return
 * checks (lines.ts `settle`).
 *
 * Invariants: `retire` is idempotent (a retired slot stays retired); it leaves the counts
 * consistent before it returns; `closing` and `total` drop only once the close is done.
 */
import { Effect, Exit, Scope } from "effect"
import { vetVerdict } from "./checks.ts"
import type { PoolConnection } from "./connector.ts"
import type { CloseReason } from "./metrics.ts"
import { type PoolState, publish, runClose } from "./state.ts"
import type { Restore, Slot } from "./types.ts"

export const retire = <C extends PoolConnection>(
  s: PoolState<C>,
  slot: Slot<C>,
  reason: CloseReason
): void => {
  if (slot.state === "retired") return
  if (slot.state === "busy" || slot.state === "shared") s.inUse--
  if (slot.state === "shared") {
    s.shared.remove(slot)
    if (slot.reserved) s.reservations--
  } else if (slot.state === "idle") {
    const at = s.idle.indexOf(slot)
    if (at >= 0) s.idle.splice(at, 1)
  }
  slot.state = "retired"
  slot.reserved = false
  s.closing++
  publish(s)
  const cancelFirst = reason === "busy" || reason === "health"
  runClose(
    s,
    Effect.uninterruptible(
      Effect.gen(function* () {
        if (cancelFirst) yield* slot.connection.closeWith({ cancelRunning: true })
        yield* Scope.close(slot.scope, Exit.void)
        s.slots.delete(slot)
        s.closing--
        s.total--
        s.recorder.closed(reason)
        s.fill()
      })
    )
  )
}

/** The slot's connection ended by itself (FATAL, lost socket): an idle or shared one goes at once. */
export const onGone = <C extends PoolConnection>(s: PoolState<C>, slot: Slot<C>): void => {
  if (slot.state === "idle" || slot.state === "shared") retire(s, slot, "failed")
}

/** Whether a slot may be handed out; retires it when not. */
export const vet = <C extends PoolConnection>(
  s: PoolState<C>,
  slot: Slot<C>,
  restore: Restore
): Effect.Effect<boolean> =>
  Effect.map(
    vetVerdict(s, slot, restore, () => retire(s, slot, "health")),
    (reason) => {
      if (reason === undefined) return true
      retire(s, slot, reason)
      return false
    }
  )
