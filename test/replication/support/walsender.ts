/**
 * Helpers for the replication-connection suites: a normal connection's one value (simple
 * protocol, so the rows stay text), bounded polling of pg_replication_slots / pg_stat_activity,
 * and taking events from a handle up to the n-th Commit.
 */
import { Effect, Stream } from "effect"
import type { ExpertConnection } from "../../../src/connection/operations.ts"
import type { ReplicationEvent, ReplicationHandle } from "../../../src/connection/replication.ts"
import type { PgOutputMessage } from "../../../src/replication/PgOutputMessage.ts"

/** The first column of the first row, as text (simple protocol). */
export const value = (conn: ExpertConnection, sql: string) =>
  Effect.map(conn.simpleQuery(sql), (r) => r.results.at(-1)?.rows[0]?.[0] ?? null)

/** Polls `probe` every 100 ms until `ok`, at most `millis`; the last value either way. */
export const poll = <A, E>(probe: Effect.Effect<A, E>, ok: (a: A) => boolean, millis = 10_000) =>
  Effect.gen(function* () {
    const until = Date.now() + millis
    let last = yield* probe
    while (!ok(last) && Date.now() < until) {
      yield* Effect.sleep("100 millis")
      last = yield* probe
    }
    return last
  })

/** The slot's confirmed_flush_lsn as a bigint (via pg_lsn arithmetic), or null. */
export const confirmedFlush = (conn: ExpertConnection, slot: string) =>
  Effect.map(
    value(
      conn,
      `select (confirmed_flush_lsn - '0/0')::text from pg_replication_slots where slot_name = '${slot}'`
    ),
    (v) => (v === null ? null : BigInt(v))
  )

/** Events until (and with) the n-th Commit. */
export const untilCommits = (handle: ReplicationHandle<PgOutputMessage>, n: number) => {
  let commits = 0
  return Stream.runCollect(
    handle.events.pipe(Stream.takeUntil((e) => e.message._tag === "Commit" && ++commits === n))
  ).pipe(Effect.map((events): Array<ReplicationEvent<PgOutputMessage>> => Array.from(events)))
}

export const tagsOf = (events: ReadonlyArray<ReplicationEvent<PgOutputMessage>>) =>
  events.map((e) => e.message._tag)

/** The first column of every Insert, as a number (text format). */
export const insertedIds = (events: ReadonlyArray<ReplicationEvent<PgOutputMessage>>) =>
  events.flatMap((e) => {
    if (e.message._tag !== "Insert") return []
    const id = e.message.row[0]
    return id?.kind === "text" ? [Number(new TextDecoder().decode(id.bytes))] : []
  })
