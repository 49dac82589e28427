/**
 * The SQL behind `PgTestDatabase`: a template database made once per server, and databases cloned
 * from it (`CREATE DATABASE … TEMPLATE …`) that are dropped again.
 *
 * Does: names databases uniquely (`effect_pg_tpl_…`, `effect_pg_db_…`: pid, random bytes and a
 * counter, so parallel test files on one external server never collide); resolves connection
 * settings for one database of a test server with the environment ignored (a PGSSLMODE or
 * PGPASSWORD in the developer's shell changes nothing); runs the administrative statements on a
 * small pool of its own to the server's maintenance database; creates the template, runs the
 * user's setup on one connection to it, then marks it `IS_TEMPLATE true ALLOW_CONNECTIONS false`
 * (no stray session can block a clone); drops the template and every clone when their scope closes
 * (`WITH (FORCE)` from PostgreSQL 13 on, so a connection left open cannot block the drop).
 * Does NOT: start servers (PgTestServer.ts), provide services (PgTestDatabase.ts), or remove
 * databases left behind by a killed process on an external server (they keep their
 * `effect_pg_` names; a local server is removed as a whole).
 * Invariants: a clone is only made after the setup succeeded and its connection was closed; a
 * database is dropped after the finalizers registered after its creation (pools, connections) ran.
 */
import { randomBytes } from "node:crypto"
import { Effect, type Scope } from "effect"
import { connect, type NormalConnection } from "../Connection.ts"
import type { ConnectConfig } from "../config/ConnectConfig.ts"
import { resolve } from "../config/Resolve.ts"
import * as Pool from "../Pool.ts"
import { identifierUnsafe } from "../Quote.ts"
import { fromUnknown, type PgTestServerError } from "./PgTestServerError.ts"
import type { PgTestServerInfo } from "./ServerInfo.ts"

let counter = 0

/** A database name no other test process uses: `effect_pg_<kind>_<pid>_<8 hex>_<n>` (< 63 bytes). */
export const uniqueName = (kind: "tpl" | "db"): string =>
  `effect_pg_${kind}_${process.pid}_${randomBytes(4).toString("hex")}_${counter++}`

/** `url` with its database (the path) replaced; the query string (host=, sslmode=) is kept. */
export const urlWithDatabase = (url: string, database: string): string => {
  const match = /^(postgres(?:ql)?:\/\/[^/?#]*)(?:\/[^?#]*)?(.*)$/s.exec(url)
  return match === null ? url : `${match[1]}/${encodeURIComponent(database)}${match[2]}`
}

/** Settings for `database` on `server`, from its URL alone: PG* variables are not read. */
export const connectConfigFor = (
  server: PgTestServerInfo,
  database: string
): Effect.Effect<ConnectConfig, PgTestServerError> =>
  resolve({ url: server.url, user: server.user, database }, { env: {} }).pipe(
    Effect.mapError(fromUnknown("InvalidOptions", `connection settings of ${server.url}`))
  )

/** Runs administrative statements on the server's maintenance database. */
export interface Admin {
  readonly run: (sql: string) => Effect.Effect<void, PgTestServerError>
  /** `server_version_num`, e.g. 180004. */
  readonly versionNum: number
}

/** A pool of up to 4 connections to the maintenance database, one statement per connection at a time. */
export const makeAdmin = (server: PgTestServerInfo): Effect.Effect<Admin, PgTestServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const config = yield* connectConfigFor(server, server.database)
    const { pool } = yield* Pool.make({
      connect: config,
      max: 4,
      maxInFlightPerConnection: 1,
      name: "effect-pg-testing-admin"
    }).pipe(Effect.mapError(fromUnknown("InvalidOptions", "the administrative pool")))
    const versionNum = yield* pool
      .withConnection((connection) => Effect.succeed(connection.serverVersionNum))
      .pipe(Effect.mapError(fromUnknown("Database", `connecting to ${server.url}`)))
    return {
      versionNum,
      run: (sql) => Effect.asVoid(pool.simpleQuery(sql)).pipe(Effect.mapError(fromUnknown("Database", sql)))
    }
  })

/**
 * Drops `name` (first making it an ordinary database: a template cannot be dropped). Failures are
 * logged, not raised: this runs in finalizers, and a local server is removed as a whole anyway.
 */
const drop = (admin: Admin, name: string, template: boolean): Effect.Effect<void> => {
  const quoted = identifierUnsafe(name)
  const force = admin.versionNum >= 130000 ? " WITH (FORCE)" : ""
  return Effect.gen(function* () {
    if (template) yield* admin.run(`ALTER DATABASE ${quoted} IS_TEMPLATE false`)
    yield* admin.run(`DROP DATABASE IF EXISTS ${quoted}${force}`)
  }).pipe(
    Effect.catch((error) => Effect.logWarning(`effect-pg/testing: could not drop database ${name}`, error))
  )
}

/** How the template is filled: any Effect on one connection to it. */
export type Setup<E, R> = (connection: NormalConnection) => Effect.Effect<unknown, E, R>

/**
 * Creates the template database, runs `setup` in it and seals it; dropped when the scope closes.
 * Fails with the setup's own error `E`, or PgTestServerError("Database").
 */
export const createTemplate = <E, R>(
  admin: Admin,
  server: PgTestServerInfo,
  setup: Setup<E, R> | undefined
): Effect.Effect<string, E | PgTestServerError, R | Scope.Scope> =>
  Effect.gen(function* () {
    const name = uniqueName("tpl")
    const quoted = identifierUnsafe(name)
    yield* Effect.acquireRelease(admin.run(`CREATE DATABASE ${quoted}`), () => drop(admin, name, true))
    if (setup !== undefined) {
      const config = yield* connectConfigFor(server, name)
      yield* Effect.scoped(
        Effect.flatMap(
          connect(config).pipe(
            Effect.mapError(fromUnknown("Database", `connecting to the template ${name}`))
          ),
          setup
        )
      )
    }
    yield* admin.run(`ALTER DATABASE ${quoted} IS_TEMPLATE true ALLOW_CONNECTIONS false`)
    return name
  })

/** A new database cloned from `template`, dropped when the scope closes. */
export const cloneTemplate = (
  admin: Admin,
  template: string
): Effect.Effect<string, PgTestServerError, Scope.Scope> => {
  const name = uniqueName("db")
  return Effect.as(
    Effect.acquireRelease(
      admin.run(`CREATE DATABASE ${identifierUnsafe(name)} TEMPLATE ${identifierUnsafe(template)}`),
      () => drop(admin, name, false)
    ),
    name
  )
}
