/**
 * The pool's metrics, through Effect's `Metric` (so any exporter installed on the MetricRegistry
 * sees them). Names follow the OpenTelemetry database-client conventions where one exists:
 *
 * | metric | kind | attributes |
 * |---|---|---|
 * | `db.client.connection.count` | gauge | `db.client.connection.pool.name`, `db.client.connection.state` = used / idle |
 * | `db.client.connection.pending_requests` | gauge | pool name: borrowers waiting |
 * | `db.client.connection.max` | gauge | pool name |
 * | `db.client.connection.wait_time` | histogram, milliseconds | pool name: time to get a connection |
 * | `db.client.connection.timeouts` | counter | pool name: acquire timeouts |
 * | `effect_pg.pool.connections_created` | counter | pool name |
 * | `effect_pg.pool.connections_closed` | counter | pool name, `reason` (see {@link CloseReason}) |
 *
 * It does NOT decide when to record (the pool's state machine, pool/state.ts and the modules
 * around it, calls these from plain code, with the Context captured when the pool was made, so
 * no Effect is allocated per update).
 *
 * Invariants: gauges are set to the pool's exact counts after every change; counters only grow.
 */
import { type Context, Metric } from "effect"

/** Why a connection was closed. */
export type CloseReason =
  | "failed" // its status was Failed or it ended on its own
  | "lifetime" // maxLifetime reached
  | "idle" // idle longer than idleTimeout, above min
  | "health" // the empty query before hand-out failed or timed out
  | "busy" // a borrower left it busy and it did not settle within checkTimeout
  | "reset" // the rollback or reset on release failed
  | "shutdown" // the pool was closed

const waitBoundaries = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000]

/** The metric objects of the pool named `name` (read them with `Metric.value`). */
export const poolMetrics = (name: string) => {
  const pool = { "db.client.connection.pool.name": name }
  return {
    used: Metric.gauge("db.client.connection.count", {
      description: "Connections borrowed (or being checked) right now",
      attributes: { ...pool, "db.client.connection.state": "used" }
    }),
    idle: Metric.gauge("db.client.connection.count", {
      description: "Connections open and idle in the pool",
      attributes: { ...pool, "db.client.connection.state": "idle" }
    }),
    pending: Metric.gauge("db.client.connection.pending_requests", {
      description: "Borrowers waiting for a connection",
      attributes: pool
    }),
    max: Metric.gauge("db.client.connection.max", {
      description: "The most connections the pool opens",
      attributes: pool
    }),
    waitTime: Metric.histogram("db.client.connection.wait_time", {
      description: "Time a borrower waited for a connection, in milliseconds",
      attributes: pool,
      boundaries: waitBoundaries
    }),
    timeouts: Metric.counter("db.client.connection.timeouts", {
      description: "Borrowers that gave up after acquireTimeout",
      attributes: pool,
      incremental: true
    }),
    created: Metric.counter("effect_pg.pool.connections_created", {
      description: "Connections opened by the pool",
      attributes: pool,
      incremental: true
    }),
    closed: (reason: CloseReason) =>
      Metric.counter("effect_pg.pool.connections_closed", {
        description: "Connections closed by the pool, by reason",
        attributes: { ...pool, reason },
        incremental: true
      })
  }
}

/** The counts the gauges show. */
export interface PoolCounts {
  readonly used: number
  readonly idle: number
  readonly pending: number
}

/** Plain-function recorders bound to one pool and one Context. */
export interface PoolRecorder {
  readonly counts: (counts: PoolCounts) => void
  readonly waited: (millis: number) => void
  readonly timedOut: () => void
  readonly created: () => void
  readonly closed: (reason: CloseReason) => void
}

export const makeRecorder = (name: string, max: number, context: Context.Context<never>): PoolRecorder => {
  const metrics = poolMetrics(name)
  const closed = new Map<CloseReason, ReturnType<typeof metrics.closed>>()
  metrics.max.updateUnsafe(max, context)
  let last: PoolCounts = { used: -1, idle: -1, pending: -1 }
  return {
    counts: (counts) => {
      if (counts.used !== last.used) metrics.used.updateUnsafe(counts.used, context)
      if (counts.idle !== last.idle) metrics.idle.updateUnsafe(counts.idle, context)
      if (counts.pending !== last.pending) metrics.pending.updateUnsafe(counts.pending, context)
      last = counts
    },
    waited: (millis) => metrics.waitTime.updateUnsafe(millis, context),
    timedOut: () => metrics.timeouts.updateUnsafe(1, context),
    created: () => metrics.created.updateUnsafe(1, context),
    closed: (reason) => {
      let counter = closed.get(reason)
      if (counter === undefined) {
        counter = metrics.closed(reason)
        closed.set(reason, counter)
      }
      counter.updateUnsafe(1, context)
    }
  }
}
