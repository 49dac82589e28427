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
 * | `effect_pg.pool.replication.lag` | gauge, seconds | pool name: the last sample's lag (pool/standbys.ts) |
 * | `effect_pg.pool.replication.standbys` | gauge | pool name: standbys streaming from the sampled server |
 * | `effect_pg.pool.replication.in_recovery` | gauge | pool name: 1 when the sampled server is a standby, else 0 |
 *
 * It does NOT decide when to record (the pool's state machine, pool/state.ts and the modules
 * around it, calls these from plain code, with the Context captured when the pool was made, so
 * no Effect is allocated per update).
 *
 * Invariants: gauges are set to the pool's exact counts after every change; counters only grow.
 */
import { type Context, Metric } from "effect"
import type { ReplicationSample } from "./types.ts"

/** Why a connection was closed. */
export type CloseReason =
  | "failed" // its status was Failed or it ended on its own
  | "lifetime" // maxLifetime reached
  | "idle" // idle longer than idleTimeout, above min
  | "health" // the empty query before hand-out failed or timed out
  | "busy" // a borrower left it busy and it did not settle within checkTimeout
  | "reset" // the rollback or reset on release failed
  | "shutdown" // the pool was closed
  | "role" // the server no longer fits the pool's target_session_attrs (a promoted standby)

const waitBoundaries = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000]

/** The metric objects of the pool named `name` (read them with `Metric.value`). */
export const poolMetrics = (name: string) => {
  const pool = { "db.client.connection.pool.name": name }
  const gauge = (metric: string, description: string, attributes: Record<string, string> = pool) =>
    Metric.gauge(metric, { description, attributes })
  return {
    used: gauge("db.client.connection.count", "Connections borrowed (or being checked) right now", {
      ...pool,
      "db.client.connection.state": "used"
    }),
    idle: gauge("db.client.connection.count", "Connections open and idle in the pool", {
      ...pool,
      "db.client.connection.state": "idle"
    }),
    pending: gauge("db.client.connection.pending_requests", "Borrowers waiting for a connection"),
    max: gauge("db.client.connection.max", "The most connections the pool opens"),
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
    replicationLag: gauge(
      "effect_pg.pool.replication.lag",
      "Replication lag in seconds seen by the last sample (standby: replay behind; primary: largest replay_lag)"
    ),
    standbys: gauge("effect_pg.pool.replication.standbys", "Standbys streaming from the sampled server"),
    inRecovery: gauge(
      "effect_pg.pool.replication.in_recovery",
      "1 when the sampled server is in recovery (a standby), else 0"
    ),
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
  readonly replication: (sample: ReplicationSample) => void
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
    },
    replication: (sample) => {
      metrics.replicationLag.updateUnsafe(sample.lagSeconds, context)
      metrics.standbys.updateUnsafe(sample.standbys, context)
      metrics.inRecovery.updateUnsafe(sample.inRecovery ? 1 : 0, context)
    }
  }
}
