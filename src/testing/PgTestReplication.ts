/**
 * `PgTestReplication`: a throwaway primary with streaming standbys, for tests of multi-host
 * connections, `target_session_attrs`, read replicas and failover.
 *
 * Does: makes one cluster (initdb, roles, configuration: PgTestServer's local backend), copies its
 * cleanly shut-down data directory once per standby before anything starts (same system
 * identifier and checkpoint: a base backup without `pg_basebackup`, which the npm builds lack and
 * Debian's 15 refuses for other majors), starts the primary, points each copy at it
 * (`standby.signal`, `primary_conninfo` with `application_name=standby<n>`), starts the standbys,
 * and waits until the primary's `pg_stat_replication` shows each of them `streaming`. Each standby
 * can wait until it has replayed everything the primary wrote (`caughtUp`) and be promoted
 * (`pg_promote`); every server can be stopped and restarted (ServerInfo.ts).
 * Does NOT: use an external server or a container (standbys need the data directory), archive
 * WAL, rewind a demoted primary (after a promotion the old primary stays what it was: stop it), or
 * use Effect's Clock (waits use real timers, so it works under @effect/vitest's TestClock).
 * Invariants: standbys stop before the primary and every directory is removed when the Scope
 * closes, on success, failure and interruption; the result is returned only once every standby
 * streams; `synchronous: true` makes every commit on the primary wait until a standby applied it
 * (a promoted standby is asynchronous: its commits never wait).
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { connect, type NormalConnection } from "../Connection.ts"
import { writeDataFile } from "./Cluster.ts"
import { connectConfigFor } from "./Databases.ts"
import { copyPrepared, prepareLocal, runPrepared } from "./LocalServer.ts"
import { localOptions, type PgTestServerOptions } from "./PgTestServer.ts"
import { fromUnknown, PgTestServerError } from "./PgTestServerError.ts"
import type { PgTestLocalServer } from "./ServerInfo.ts"

export interface PgTestReplicationOptions extends Omit<PgTestServerOptions, "backend"> {
  /** How many streaming standbys (default 1, at most 8). */
  readonly standbys?: number
  /**
   * Synchronous replication (default false): `synchronous_standby_names = '*'` and
   * `synchronous_commit = remote_apply`, so a commit on the primary returns once a standby
   * applied it (a read on the standby right after sees it). A commit then waits while no
   * standby runs.
   */
  readonly synchronous?: boolean
}

/** A standby of {@link PgTestReplicationInfo}: a local server that streams from the primary. */
export interface PgTestStandby extends PgTestLocalServer {
  /** Its `application_name` in the primary's `pg_stat_replication` (`standby1`, `standby2`...). */
  readonly applicationName: string
  /** Waits (up to the start timeout) until it has replayed everything the primary wrote so far. */
  readonly caughtUp: Effect.Effect<void, PgTestServerError>
  /** `select pg_promote(true, 60)`: ends recovery; resolves once it accepts writes. */
  readonly promote: Effect.Effect<void, PgTestServerError>
}

export interface PgTestReplicationInfo {
  readonly primary: PgTestLocalServer
  /** The first standby. */
  readonly standby: PgTestStandby
  readonly standbys: ReadonlyArray<PgTestStandby>
  /** `[primary, ...standbys]` as `{ host, port }`, for the `hosts` connection option. */
  readonly hosts: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /** A multi-host URL, primary first: `postgres://postgres@127.0.0.1:P,127.0.0.1:S/postgres`. */
  readonly url: string
}

const pause = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

const failure = (message: string) => new PgTestServerError({ reason: "Replication", message })

/** Runs `use` on a fresh superuser connection to `server` (environment ignored). */
const withSession = <A>(
  server: PgTestLocalServer,
  what: string,
  use: (connection: NormalConnection) => Effect.Effect<A, unknown>
): Effect.Effect<A, PgTestServerError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const config = yield* connectConfigFor(server, server.database)
      const connection = yield* connect(config)
      return yield* use(connection)
    })
  ).pipe(Effect.mapError(fromUnknown("Replication", what)))

/** The first value as text ("t"/"f" for booleans), whether the connection's results are typed or not. */
const firstValue = (connection: NormalConnection, sql: string, params: ReadonlyArray<string> = []) =>
  Effect.map(connection.query(sql, params, { rowMode: "array" }), (result) => {
    const value = result.rows[0]?.[0] ?? null
    return typeof value === "boolean" ? (value ? "t" : "f") : value === null ? null : String(value)
  })

/** Polls `check` every 20 ms until it is true, for at most `timeoutMs`. */
const until = (
  what: string,
  timeoutMs: number,
  check: Effect.Effect<boolean, PgTestServerError>
): Effect.Effect<void, PgTestServerError> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (yield* check) return
      if (Date.now() > deadline) return yield* failure(`${what}: not done after ${timeoutMs} ms`)
      yield* pause(20)
    }
  })

const standbyConf = (primary: PgTestLocalServer, applicationName: string): string =>
  [
    `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres application_name=${applicationName}'`,
    "hot_standby = on",
    // The copy inherited the primary's settings; promoted, it must not wait for standbys of its own.
    "synchronous_standby_names = ''",
    ""
  ].join("\n")

const makeStandby = (
  server: PgTestLocalServer,
  primary: PgTestLocalServer,
  applicationName: string,
  timeoutMs: number
): PgTestStandby => ({
  ...server,
  applicationName,
  caughtUp: Effect.gen(function* () {
    const target = yield* withSession(primary, "reading the primary's WAL position", (c) =>
      firstValue(c, "select pg_current_wal_insert_lsn()::text")
    )
    yield* until(
      `${applicationName} catching up to ${target}`,
      timeoutMs,
      withSession(server, `asking ${applicationName} what it replayed`, (c) =>
        Effect.map(
          firstValue(c, "select coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", [target ?? "0/0"]),
          (done) => done === "t"
        )
      )
    )
  }),
  promote: Effect.gen(function* () {
    const promoted = yield* withSession(server, `promoting ${applicationName}`, (c) =>
      firstValue(c, "select pg_promote(true, 60)")
    )
    if (promoted !== "t") return yield* failure(`pg_promote() on ${applicationName} returned ${promoted}`)
    yield* until(
      `${applicationName} leaving recovery`,
      timeoutMs,
      withSession(server, `asking ${applicationName} whether it is in recovery`, (c) =>
        Effect.map(firstValue(c, "select pg_is_in_recovery()"), (inRecovery) => inRecovery === "f")
      )
    )
  })
})

/**
 * Starts a primary and its streaming standbys for the lifetime of the current Scope.
 *
 * @example
 * const { primary, standby, url } = yield* PgTestReplication.start({ version: 18 })
 * // connect(`${url}?target_session_attrs=standby`) lands on the standby
 */
export const start: (
  options?: PgTestReplicationOptions
) => Effect.Effect<PgTestReplicationInfo, PgTestServerError, Scope.Scope> = Effect.fn(
  "PgTestReplication.start"
)(function* (options: PgTestReplicationOptions = {}) {
  const count = options.standbys ?? 1
  if (!Number.isInteger(count) || count < 1 || count > 8) {
    return yield* new PgTestServerError({
      reason: "InvalidOptions",
      message: `standbys must be an integer in 1..8; got ${String(count)}`
    })
  }
  const settings = {
    ...(options.synchronous === true
      ? { synchronous_standby_names: "*", synchronous_commit: "remote_apply" }
      : {}),
    ...options.settings
  }
  const local = yield* localOptions({ ...options, settings })
  const prepared = yield* prepareLocal(local)
  // Copies of the cleanly shut-down cluster, made before the primary writes anything.
  const copies = []
  for (let i = 0; i < count; i++) copies.push(yield* copyPrepared(prepared))
  const primary = yield* runPrepared(prepared)
  const standbys: Array<PgTestStandby> = []
  for (const [i, copy] of copies.entries()) {
    const applicationName = `standby${i + 1}`
    yield* Effect.tryPromise({
      try: async () => {
        await writeDataFile(
          `${copy.paths.dataDir}/postgresql.conf`,
          standbyConf(primary, applicationName),
          copy.runAs,
          true
        )
        await writeDataFile(`${copy.paths.dataDir}/standby.signal`, "", copy.runAs, false)
      },
      catch: fromUnknown("Filesystem", `configuring ${applicationName}`)
    })
    const server = yield* runPrepared(copy)
    standbys.push(makeStandby(server, primary, applicationName, local.startTimeoutMs))
  }
  yield* until(
    "the standbys streaming",
    local.startTimeoutMs,
    withSession(primary, "reading pg_stat_replication", (c) =>
      Effect.map(
        c.query("select count(*) from pg_stat_replication where state = 'streaming'", [], {
          rowMode: "array"
        }),
        (result) => Number(result.rows[0]?.[0]) === count
      )
    )
  )
  const all: ReadonlyArray<PgTestLocalServer> = [primary, ...standbys]
  return {
    primary,
    standby: standbys[0]!,
    standbys,
    hosts: all.map((server) => ({ host: server.host, port: server.port })),
    url: `postgres://postgres@${all.map((server) => `${server.host}:${server.port}`).join(",")}/postgres`
  }
})

/**
 * A primary and its standbys as a service, for `layer(PgTestReplication.layer())(...)` in
 * @effect/vitest (`yield* PgTestReplication.PgTestReplication`).
 */
export class PgTestReplication extends Context.Service<PgTestReplication, PgTestReplicationInfo>()(
  "effect-pg/testing/PgTestReplication"
) {}

/** A primary and its standbys for the lifetime of the Layer (see {@link start}). */
export const layer = (
  options?: PgTestReplicationOptions
): Layer.Layer<PgTestReplication, PgTestServerError> => Layer.effect(PgTestReplication, start(options))
