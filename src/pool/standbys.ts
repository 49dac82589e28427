/**
 * The pool's view of replication: whether a connection still fits the pool's
 * `target_session_attrs` (`roleMismatch`), and the replication sample the maintenance tick takes
 * (`monitor`): one statement on one open connection per tick, never per query.
 *
 * - Role. A connection was checked against the pool's target when it opened (connect.ts). A
 *   standby that is promoted tells its sessions so: PostgreSQL 14+ reports `in_hot_standby=off`
 *   (ParameterStatus) before the next ReadyForQuery of each session. So the reported parameters
 *   are current after any statement; checks.ts `roleMismatch` reads them (no I/O), and the checks
 *   and the tick retire a connection that no longer fits (reason `role`). `any` and
 *   `prefer-standby` accept every server, so they never retire for the role.
 * - Sample. `sampleSql` asks the server whether it is in recovery, its replication lag in seconds
 *   (on a standby: 0 when everything received is replayed, else `now() -
 *   pg_last_xact_replay_timestamp()`; on a primary: the largest `replay_lag` in
 *   `pg_stat_replication`, 0 when none is reported) and how many standbys stream from it. It runs
 *   on the idle connection sampled longest ago (else a shared one), next to whatever runs there,
 *   without taking it from the pool (it neither counts as use nor resets the idle clock), in a
 *   work fiber bounded by `checkTimeout`; at most one runs at a time. Its answer goes to the
 *   gauges (metrics.ts), to `stats.replication`, and retires the sampled connection when the
 *   server no longer fits — so the idle connections of a promoted standby are found one per tick.
 *
 * It does NOT open, lend or account connections (the state machine does), nor decide the target:
 * the pool's `targetSessionAttrs` option or the connection's `target_session_attrs` (machine.ts).
 *
 * Invariants: a failed or timed-out sample changes nothing but leaves the last one in place; a
 * sample never retires a slot that is busy (lent: the return checks read the fresh parameters).
 */
import { Effect, Option } from "effect"
import { misfits, roleMismatch } from "./checks.ts"
import type { PoolConnection } from "./connector.ts"
import { retire } from "./retire.ts"
import type { PoolState } from "./state.ts"
import type { ReplicationSample, Slot } from "./types.ts"

/** The sample: in recovery, default_transaction_read_only, lag in seconds, standbys streaming. */
export const sampleSql = `select pg_is_in_recovery()::text,
  current_setting('default_transaction_read_only'),
  (case
    when not pg_is_in_recovery()
      then coalesce((select extract(epoch from max(replay_lag)) from pg_stat_replication), 0)
    when pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() then 0
    else coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0)
  end)::float8::text,
  (select count(*) from pg_stat_replication where state = 'streaming')::text`

const sampledAt = new WeakMap<object, number>()

/** The slot to sample: the idle one sampled longest ago, else the least loaded shared one. */
const pickSlot = <C extends PoolConnection>(s: PoolState<C>): Slot<C> | undefined => {
  let best: Slot<C> | undefined
  let oldest = Infinity
  for (const slot of s.idle) {
    const at = sampledAt.get(slot) ?? 0
    if (at < oldest) {
      oldest = at
      best = slot
    }
  }
  return best ?? s.shared.leastLoaded()
}

const parse = (row: ReadonlyArray<unknown> | undefined, now: number): ReplicationSample | undefined => {
  if (row === undefined || row.length < 4) return undefined
  const lag = Number(row[2])
  const standbys = Number(row[3])
  if (!Number.isFinite(lag) || !Number.isInteger(standbys)) return undefined
  return { inRecovery: row[0] === "true", lagSeconds: lag, standbys, sampledAt: now }
}

/** One sample on `slot`, applied to the state; nothing when it fails or times out. */
const sample = <C extends PoolConnection>(s: PoolState<C>, slot: Slot<C>): Effect.Effect<void> =>
  Effect.gen(function* () {
    sampledAt.set(slot, s.now())
    const answer = yield* slot.connection
      .simpleQuery(sampleSql)
      .pipe(Effect.timeoutOption(s.settings.checkTimeoutMillis), Effect.option)
    const result = Option.flatten(answer)
    if (Option.isNone(result)) return
    const row = result.value.results[0]?.rows[0]
    const taken = parse(row, s.now())
    if (taken === undefined) return
    s.replication = taken
    s.recorder.replication(taken)
    if (!misfits(s.config.targetSessionAttrs, taken.inRecovery, row?.[1] === "on")) return
    if (slot.state === "idle") retire(s, slot, "role")
    else if (slot.state === "shared") slot.sealed = true
  })

/**
 * The tick's part: retires idle connections and seals shared ones whose reported parameters no
 * longer fit the target, then starts a sample (when asked for and none is running).
 */
export const monitor = <C extends PoolConnection>(s: PoolState<C>): Effect.Effect<void> =>
  Effect.gen(function* () {
    const target = s.config.targetSessionAttrs
    if (target !== "any" && target !== "prefer-standby") {
      for (const slot of s.idle.slice()) {
        if (slot.state === "idle" && (yield* roleMismatch(slot.connection, target))) retire(s, slot, "role")
      }
      for (const slot of s.shared.snapshot()) {
        if (yield* roleMismatch(slot.connection, target)) slot.sealed = true
      }
    }
    if (!s.settings.monitorReplication || s.sampling || s.closed) return
    const slot = pickSlot(s)
    if (slot === undefined) return
    s.sampling = true
    s.runWork(
      Effect.ensuring(
        sample(s, slot),
        Effect.sync(() => (s.sampling = false))
      )
    )
  })
