/**
 * The shapes the pool's state machine (pool/machine.ts and the modules it assembles) shares with
 * the API built on it (pool/api.ts): a pooled connection (`Slot`), the counts (`PoolStats`) and
 * the machine's interface (`PoolMachine`).
 *
 * It does NOT hold behaviour: types only.
 *
 * Invariants: a Slot's `state` is the single truth about where it is (idle stack, a borrower,
 * shared by one-shot statements, or closing); `expiresAt` never changes after creation; `inFlight`
 * is 0 unless the state is "shared" or "retired" (a retired slot's statements still finish).
 */
import type { Effect, Exit, Scope } from "effect"
import type { ConnectConfig } from "../config/ConnectConfig.ts"
import type { ExpertConnection } from "../connection/operations.ts"
import type { PoolConnection } from "./connector.ts"
import type { PgPoolExpertError } from "./errors.ts"
import type { PoolSettings } from "./options.ts"

/**
 * Where a slot is: `idle` (in the idle stack), `busy` (lent to one borrower, or being checked),
 * `shared` (carrying one or more one-shot statements, lent to nobody), `retired` (closing).
 */
export type SlotState = "idle" | "busy" | "shared" | "retired"

/** One pooled connection (`C`: what the connector made; the real pool holds Expert connections). */
export interface Slot<C extends PoolConnection = ExpertConnection> {
  readonly id: number
  readonly connection: C
  /** The connection's transaction-guard switch (PooledConnection.setShared). */
  readonly setShared: (shared: boolean) => void
  readonly scope: Scope.Closeable
  readonly createdAt: number
  /** creation + maxLifetime − a random jitter. */
  readonly expiresAt: number
  /** When it was last given back (or created). */
  releasedAt: number
  state: SlotState
  /** One-shot statements the pool sent on it that have not finished yet. */
  inFlight: number
  /** Takes no new one-shot statements: it drains for a waiting borrower. */
  reserved: boolean
  /**
   * Takes no new one-shot statements: it drains, then passes the return checks — it is past its
   * lifetime, or a statement on it opened a transaction (BEGIN sent as a one-shot statement).
   */
  sealed: boolean
  /** A one-shot statement on it failed or was interrupted since it was last idle or lent. */
  dirty: boolean
}

/** A snapshot of the pool's counts. */
export interface PoolStats {
  /** Connections opening, open or closing: never more than `max`. */
  readonly total: number
  readonly idle: number
  /** Borrowed, carrying one-shot statements, or being checked before hand-out / after release. */
  readonly inUse: number
  /** One-shot statements in flight on shared connections. */
  readonly inFlight: number
  /** Borrowers and one-shot statements waiting for a connection. */
  readonly waiting: number
  readonly creating: number
  readonly closing: number
  readonly min: number
  readonly max: number
  /** The last replication sample (only once one was taken: `monitorReplication`). */
  readonly replication?: ReplicationSample
}

/** What the maintenance tick's replication sample saw (pool/standbys.ts). */
export interface ReplicationSample {
  /** The sampled server is a standby (`pg_is_in_recovery()`). */
  readonly inRecovery: boolean
  /**
   * Seconds: on a standby, how far its replay is behind (0 when it replayed all it received); on a
   * primary, the largest `replay_lag` in `pg_stat_replication` (0 when none is reported).
   */
  readonly lagSeconds: number
  /** Standbys streaming from the sampled server (`pg_stat_replication`, state `streaming`). */
  readonly standbys: number
  /** When the answer came (the Clock, epoch milliseconds). */
  readonly sampledAt: number
}

/** The `restore` of `Effect.uninterruptibleMask`. */
export type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** Wraps the waiting part of an acquisition (pool/api.ts puts the `pg.pool.acquire` span there). */
export type AroundWait<C extends PoolConnection = ExpertConnection> = (
  wait: Effect.Effect<Slot<C>, PgPoolExpertError>
) => Effect.Effect<Slot<C>, PgPoolExpertError>

/** The pool's state machine, as the API sees it. */
export interface PoolMachine<C extends PoolConnection = ExpertConnection> {
  readonly settings: PoolSettings<C>
  readonly config: ConnectConfig
  /** Borrows a slot exclusively. Only the waiting (and the health check) run under `restore`. */
  readonly acquire: (restore: Restore) => Effect.Effect<Slot<C>, PgPoolExpertError>
  /** Gives a slot back after a borrow that ended with `exit`. Run it uninterruptibly. */
  readonly release: (slot: Slot<C>, exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void>
  /**
   * Runs one statement `run` on a shared connection: the open one with the fewest statements in
   * flight (below `maxInFlightPerConnection`), waiting in line only when none has room.
   * `aroundWait` wraps the wait, when there is one; `opensTransaction` tells from a result that
   * the statement left a transaction open, so the connection takes no more statements until it
   * is drained and rolled back.
   */
  readonly oneShot: <A, E>(
    run: (connection: C) => Effect.Effect<A, E>,
    aroundWait?: AroundWait<C>,
    opensTransaction?: (result: A) => boolean
  ) => Effect.Effect<A, E | PgPoolExpertError>
  /** Runs `effect` on the side, `true` when it succeeded within checkTimeout. */
  readonly check: (effect: Effect.Effect<unknown, unknown>) => Effect.Effect<boolean>
  readonly stats: Effect.Effect<PoolStats>
}
