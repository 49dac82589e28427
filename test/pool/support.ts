/**
 * Helpers for the pool's integration tests: a connection input tagged with an application_name,
 * counting that name's backends in pg_stat_activity from a separate monitor connection, and
 * polling until a condition holds (bounded, so a broken pool fails the test instead of hanging).
 */
import { Effect, type Scope } from "effect"
import type { ConnectConfigInput } from "../../src/config/ConnectConfig.ts"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import type { PgTestServerInfo } from "../../src/testing/index.ts"

let counter = 0

/** A unique application_name for one test. */
export const appName = (prefix: string): string => `${prefix}_${process.pid}_${counter++}`

/** Connection input for `server`, tagged with `app`. */
export const connectInput = (server: PgTestServerInfo, app: string): ConnectConfigInput => ({
  url: server.url,
  applicationName: app
})

/** A connection outside the pool, to watch pg_stat_activity. */
export const monitor = (server: PgTestServerInfo): Effect.Effect<ExpertConnection, unknown, Scope.Scope> =>
  Expert.connect(server.url)

/** The backend pids of `app`'s client connections. */
export const backendPids = (
  watcher: ExpertConnection,
  app: string
): Effect.Effect<ReadonlyArray<number>, unknown> =>
  Effect.map(
    watcher.query("select pid from pg_stat_activity where application_name = $1 order by pid", [app], {
      rowMode: "array"
    }),
    ({ rows }) => rows.map((row) => Number(row[0]))
  )

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMillis`. */
export const eventually = <E, R>(
  what: string,
  condition: Effect.Effect<boolean, E, R>,
  timeoutMillis = 10_000
): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMillis
    for (;;) {
      if (yield* condition) return
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep("20 millis")
    }
  })
