/**
 * The pool's state — one mutable record (`PoolState`) that the modules of the state machine share
 * (pool/lines.ts, room.ts, opening.ts, retire.ts, upkeep.ts; machine.ts assembles them) — and the
 * smallest transitions on it: counting, publishing the counts, handing a slot to a waiter, taking
 * an idle slot.
 *
 * It does NOT decide anything: who gets a connection (lines.ts, room.ts), when one opens
 * (opening.ts) or goes (retire.ts, upkeep.ts). Plain data and plain functions, except `makeState`.
 *
 * Invariants (kept by all the modules): `total = creating + |slots|` where `slots` counts idle,
 * busy, shared and closing ones; `total ≤ max` at all times; a slot is in `idle` iff its state is
 * "idle" and in `shared` iff its state is "shared"; `inUse` counts busy and shared ones;
 * `inFlight` is the sum of the slots' `inFlight`; a shared slot has at least one statement in
 * flight; no statement waits while a connection is idle or has room, and no borrower waits while
 * one is idle; state changes happen in plain synchronous code, and a waiter is resumed only after
 * the state is consistent (`handOver` last).
 */
import { type Context, Deferred, Effect, type Fiber, FiberSet, Scope } from "effect"
import type { ConnectConfig } from "../config/ConnectConfig.ts"
import type { PgExpertError } from "../Errors.ts"
import { PgClosedError } from "../Errors.ts"
import { type CheckDeps, type Run, sideCheck } from "./checks.ts"
import type { PoolConnection, PooledConnection } from "./connector.ts"
import { type PgPoolExpertError, PgPoolTimeoutError } from "./errors.ts"
import { makeRecorder, type PoolRecorder } from "./metrics.ts"
import type { PoolSettings } from "./options.ts"
import { SharedSlots } from "./SharedSlots.ts"
import type { ReplicationSample, Slot } from "./types.ts"
import { type WaitNode, WaitQueue } from "./WaitQueue.ts"

/** A borrower or a statement waiting in one of the two lines. */
export interface Waiter<C extends PoolConnection> {
  readonly line: WaitQueue<Waiter<C>>
  /** Orders the heads of the two lines: the lower waited longer. */
  readonly ticket: number
  readonly deferred: Deferred.Deferred<Slot<C>, PgPoolExpertError>
  node: WaitNode<Waiter<C>> | undefined
  timer: { readonly clear: () => void } | undefined
  /** The slot handed over (for a statement: with its room counted), until the fiber takes it. */
  slot: Slot<C> | undefined
}

/** Opens one connection for the pool (PoolConnectorService.open). */
export type Open<C extends PoolConnection> = (
  config: ConnectConfig
) => Effect.Effect<PooledConnection<C>, PgExpertError, Scope.Scope>

export interface PoolState<C extends PoolConnection> extends CheckDeps<C> {
  readonly settings: PoolSettings<C>
  readonly config: ConnectConfig
  readonly open: Open<C>
  /** maxInFlightPerConnection. */
  readonly limit: number
  readonly now: () => number
  readonly recorder: PoolRecorder
  /** The Context the pool was made in: closes run with it, outside any FiberSet. */
  readonly context: Context.Context<never>
  /** Openings, checks and maintenance run here; closed at shutdown. */
  readonly workScope: Scope.Closeable
  readonly runWork: Run
  /** Closes still running (shutdown waits for them). */
  readonly closers: Set<Fiber.Fiber<void>>
  readonly idle: Array<Slot<C>>
  readonly shared: SharedSlots<Slot<C>>
  readonly slots: Set<Slot<C>>
  readonly borrowers: WaitQueue<Waiter<C>>
  readonly statements: WaitQueue<Waiter<C>>
  total: number
  creating: number
  closing: number
  inUse: number
  inFlight: number
  reservations: number
  closed: boolean
  /** Set by a failed opening, cleared by a successful one or the next maintenance tick. */
  growthPaused: boolean
  nextId: number
  nextTicket: number
  /** Shutdown's wake-up once nothing is in use. */
  onDrained: (() => void) | undefined
  /** The last replication sample (standbys.ts), and whether one is running. */
  replication: ReplicationSample | undefined
  sampling: boolean
  /**
   * Opens connections for the demand and reserves shared ones for uncovered borrowers
   * (opening.ts `fill`). Bound by machine.ts: opening ends in a hand-over, which calls it again.
   */
  fill: () => void
}

/** A fresh, empty state; its work scope is closed by the pool's shutdown (upkeep.ts). */
export const makeState = <C extends PoolConnection>(
  settings: PoolSettings<C>,
  config: ConnectConfig,
  open: Open<C>
): Effect.Effect<PoolState<C>> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<never>()
    const clock = yield* Effect.clockWith(Effect.succeed)
    const workScope = yield* Scope.make()
    const runWork: Run = yield* Scope.provide(workScope)(FiberSet.makeRuntime<never, unknown, unknown>())
    return {
      settings,
      config,
      open,
      limit: settings.maxInFlightPerConnection,
      now: () => clock.currentTimeMillisUnsafe(),
      check: sideCheck(runWork, settings.checkTimeoutMillis),
      recorder: makeRecorder(settings.name, settings.max, context),
      context,
      workScope,
      runWork,
      closers: new Set(),
      idle: [],
      shared: new SharedSlots<Slot<C>>(),
      slots: new Set(),
      borrowers: new WaitQueue<Waiter<C>>(),
      statements: new WaitQueue<Waiter<C>>(),
      total: 0,
      creating: 0,
      closing: 0,
      inUse: 0,
      inFlight: 0,
      reservations: 0,
      closed: false,
      growthPaused: false,
      nextId: 1,
      nextTicket: 0,
      onDrained: undefined,
      replication: undefined,
      sampling: false,
      fill: () => {}
    }
  })

/** Closing must finish even while the pool shuts down, so it runs outside any FiberSet. */
export const runClose = <C extends PoolConnection>(s: PoolState<C>, effect: Effect.Effect<void>): void => {
  const fiber = Effect.runForkWith(s.context)(effect)
  s.closers.add(fiber)
  fiber.addObserver(() => s.closers.delete(fiber))
}

export const poolClosed = () => new PgClosedError({ message: "the pool is closed" })

export const waiting = <C extends PoolConnection>(s: PoolState<C>): number =>
  s.borrowers.size + s.statements.size

/** Whether a statement that finds no idle connection should wait for a new one rather than pipeline. */
export const canGrow = <C extends PoolConnection>(s: PoolState<C>): boolean =>
  s.total < s.settings.max && !s.growthPaused

/** Sets the gauges to the counts (and wakes a shutdown waiting for nothing in use). */
export const publish = <C extends PoolConnection>(s: PoolState<C>): void => {
  s.recorder.counts({ used: s.inUse, idle: s.idle.length, pending: waiting(s) })
  if (s.onDrained !== undefined && s.inUse === 0) s.onDrained()
}

export const timeoutError = <C extends PoolConnection>(s: PoolState<C>, count: number) =>
  new PgPoolTimeoutError({
    message: `no connection was free within ${s.settings.acquireTimeoutMillis} ms (pool "${s.settings.name}": max ${s.settings.max}, ${count} waiting)`,
    timeoutMillis: s.settings.acquireTimeoutMillis,
    waiting: count,
    max: s.settings.max
  })

/** Completes a waiter's wait. Call it last: resuming may run the waiter's code at once. */
export const handOver = <C extends PoolConnection>(waiter: Waiter<C>, slot: Slot<C>): void => {
  waiter.timer?.clear()
  waiter.slot = slot
  Deferred.doneUnsafe(waiter.deferred, Effect.succeed(slot))
}

/** Takes the most recently idle slot (busy now), or `undefined`. */
export const takeIdle = <C extends PoolConnection>(s: PoolState<C>): Slot<C> | undefined => {
  const slot = s.idle.pop()
  if (slot === undefined) return undefined
  slot.state = "busy"
  s.inUse++
  publish(s)
  return slot
}
