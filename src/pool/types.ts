/**
 * The shapes the pool engine (pool/core.ts) shares with the API built on it (pool/api.ts): a
 * pooled connection (`Slot`), the counts (`PoolStats`) and the engine's interface (`PoolCore`).
 *
 * It does NOT hold behaviour: types only.
 *
 * Invariants: a Slot's `state` is the single truth about where it is (idle list, a borrower, or
 * closing); `expiresAt` never changes after creation.
 */
import type { Effect, Exit, Scope } from "effect"
import type { ConnectConfig } from "../config/ConnectConfig.ts"
import type { ExpertConnection } from "../internal/operations.ts"
import type { PgPoolExpertError } from "./errors.ts"
import type { PoolSettings } from "./options.ts"

/** One pooled connection. */
export interface Slot {
  readonly id: number
  readonly connection: ExpertConnection
  readonly scope: Scope.Closeable
  readonly createdAt: number
  /** creation + maxLifetime − a random jitter. */
  readonly expiresAt: number
  /** When it was last given back (or created). */
  releasedAt: number
  state: "idle" | "busy" | "retired"
}

/** A snapshot of the pool's counts. */
export interface PoolStats {
  /** Connections opening, open or closing: never more than `max`. */
  readonly total: number
  readonly idle: number
  /** Borrowed, or being checked before hand-out / after release. */
  readonly inUse: number
  readonly waiting: number
  readonly creating: number
  readonly closing: number
  readonly min: number
  readonly max: number
}

/** The `restore` of `Effect.uninterruptibleMask`. */
export type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

export interface PoolCore {
  readonly settings: PoolSettings
  readonly config: ConnectConfig
  /** Borrows a slot. Only the waiting (and the health check) run under `restore`. */
  readonly acquire: (restore: Restore) => Effect.Effect<Slot, PgPoolExpertError>
  /** Gives a slot back after a borrow that ended with `exit`. Run it uninterruptibly. */
  readonly release: (slot: Slot, exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void>
  /** Runs `effect` on the side, `true` when it succeeded within checkTimeout. */
  readonly check: (effect: Effect.Effect<unknown, unknown>) => Effect.Effect<boolean>
  readonly stats: Effect.Effect<PoolStats>
}
