/**
 * The checks a pooled connection passes before it is lent (`vetVerdict`) and when it comes back
 * (`returnVerdict`), as verdicts: `undefined` when it may be lent, else the reason to retire it.
 *
 * Before lending: a connection whose status is not Open, or past its lifetime, is out; one idle
 * longer than `healthCheckAfter` must answer an empty query within `checkTimeout`.
 * When it comes back, in order: not Open → out; a borrow that failed or was interrupted (`dirty`),
 * or requests still queued, → an empty query must come back within `checkTimeout` (it queues
 * behind whatever was left running); a transaction left open → ROLLBACK; statements the borrower
 * prepared and left open → closed (their handles stop working: decision 015); the reset
 * (`resetOnRelease`); past its lifetime → out. Both end with the role: a connection whose reported
 * `in_hot_standby` / `default_transaction_read_only` no longer fit the pool's
 * `target_session_attrs` (a promoted standby) is out (reason `role`; `roleMismatch`).
 *
 * `sideCheck` makes that `check`: the statement runs in a side fiber, awaited with a timer.
 *
 * It does NOT change the pool's state (pool/retire.ts and pool/lines.ts apply the verdicts), and
 * it runs every statement through `check`, so none of them can hang a caller longer than
 * `checkTimeout`. It uses only what `PoolConnection` offers.
 *
 * Invariants: a verdict of `undefined` means every step passed; the steps run in the order above
 * and stop at the first that fails.
 */
import { Effect, Exit, type Fiber } from "effect"
import type { ConnectConfig, TargetSessionAttrs } from "../config/ConnectConfig.ts"
import { sessionAttrsMismatch } from "../connection/connect.ts"
import { after } from "../connection/deadline.ts"
import { closeBorrowedStatements } from "../connection/operations.ts"
import type { PoolConnection } from "./connector.ts"
import type { CloseReason } from "./metrics.ts"
import type { PoolSettings } from "./options.ts"
import type { Restore, Slot } from "./types.ts"

/** Forks an effect into the pool's work scope. */
export type Run = <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>

/**
 * Runs `effect` on the side (forked with `run`) and answers `true` when it succeeded within
 * `timeoutMillis`. Awaited with a timer, not `Effect.timeout`: in a release finalizer
 * (uninterruptible) a timeout could not interrupt a hung statement anyway (decision 007).
 */
export const sideCheck =
  (run: Run, timeoutMillis: number) =>
  (effect: Effect.Effect<unknown, unknown>): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      const fiber = run(Effect.exit(effect))
      return Effect.callback<boolean>((resume) => {
        const timer = after(timeoutMillis, () => resume(Effect.succeed(false)))
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

export interface CheckDeps<C extends PoolConnection> {
  readonly settings: PoolSettings<C>
  /** The pool's connection settings (its targetSessionAttrs: the role its connections must keep). */
  readonly config: Pick<ConnectConfig, "targetSessionAttrs">
  readonly now: () => number
  /** Runs `effect` on the side: `true` when it succeeded within checkTimeout. */
  readonly check: (effect: Effect.Effect<unknown, unknown>) => Effect.Effect<boolean>
}

/** Whether a server with these properties does not fit `target` (for the pool: never for any, prefer-standby). */
export const misfits = (target: TargetSessionAttrs, standby: boolean, readOnly: boolean): boolean =>
  target !== "any" &&
  target !== "prefer-standby" &&
  sessionAttrsMismatch(target, standby, readOnly) !== undefined

/**
 * Whether the connection's reported `in_hot_standby` / `default_transaction_read_only` say it no
 * longer fits `target`. Unknown (a server before 14, a pooler that hides them) is a fit.
 */
export const roleMismatch = (
  connection: PoolConnection,
  target: TargetSessionAttrs
): Effect.Effect<boolean> => {
  if (target === "any" || target === "prefer-standby") return Effect.succeed(false)
  return Effect.map(
    Effect.all([
      connection.parameter("in_hot_standby"),
      connection.parameter("default_transaction_read_only")
    ]),
    ([standby, readOnly]) =>
      standby !== undefined && readOnly !== undefined && misfits(target, standby === "on", readOnly === "on")
  )
}

/**
 * Whether `slot` may be lent now. Only the health check runs under `restore`; when it is
 * interrupted, `onInterrupt` runs (the caller retires the slot).
 */
export const vetVerdict = <C extends PoolConnection>(
  deps: CheckDeps<C>,
  slot: Slot<C>,
  restore: Restore,
  onInterrupt: () => void
): Effect.Effect<CloseReason | undefined> =>
  Effect.flatMap(slot.connection.status, (status): Effect.Effect<CloseReason | undefined> => {
    if (status._tag !== "Open") return Effect.succeed("failed")
    const now = deps.now()
    if (now >= slot.expiresAt) return Effect.succeed("lifetime")
    const role = roleVerdict(deps, slot.connection)
    if (now - slot.releasedAt < deps.settings.healthCheckAfterMillis) return role
    return Effect.flatMap(
      Effect.onInterrupt(restore(deps.check(slot.connection.simpleQuery(""))), () =>
        Effect.sync(onInterrupt)
      ),
      (ok) => (ok ? role : Effect.succeed("health" as const))
    )
  })

/** `role` when the connection's reported parameters no longer fit the pool's target. */
const roleVerdict = <C extends PoolConnection>(
  deps: CheckDeps<C>,
  connection: C
): Effect.Effect<CloseReason | undefined> =>
  Effect.map(roleMismatch(connection, deps.config.targetSessionAttrs), (misfit) =>
    misfit ? "role" : undefined
  )

/** Whether `slot`, coming back from a borrow (or from its last one-shot statement), may be lent again. */
export const returnVerdict = <C extends PoolConnection>(
  deps: CheckDeps<C>,
  slot: Slot<C>,
  dirty: boolean
): Effect.Effect<CloseReason | undefined> =>
  Effect.gen(function* () {
    const connection = slot.connection
    if ((yield* connection.status)._tag !== "Open") return "failed"
    // Work still queued (a failed or interrupted borrower, a leaked fiber): wait for it to
    // settle, within checkTimeout, before the connection can go to someone else.
    const busy = dirty || (yield* connection.pending) > 0
    if (busy && !(yield* deps.check(connection.simpleQuery("")))) return "busy"
    if (
      (yield* connection.transactionStatus) !== "I" &&
      !(yield* deps.check(connection.simpleQuery("ROLLBACK")))
    ) {
      return "reset"
    }
    // A statement prepared in a scope that outlives the borrow: gone before anyone else borrows.
    const statements = closeBorrowedStatements(connection)
    if (statements !== undefined && !(yield* deps.check(statements))) return "reset"
    const reset = deps.settings.resetOnRelease
    if (reset !== "none") {
      const done = yield* deps.check(
        reset === "discard-all"
          ? connection.simpleQuery("DISCARD ALL")
          : Effect.suspend(() => reset(connection))
      )
      if (!done) return "reset"
    }
    if (deps.now() >= slot.expiresAt) return "lifetime"
    return yield* roleVerdict(deps, connection)
  })
