/**
 * `PgTestDatabase`: a database of its own for each test (or block of tests), cloned from a template
 * database that was set up once per server, with a `Pool` (and `ExpertPool`) and a `Connection` on it.
 *
 * ```ts
 * const Template = PgTestDatabase.layerTemplate({ setup: (c) => c.simpleQuery("create table t (x int)") })
 * layer(Template, { concurrent: true })("t", (it) => {
 *   it.effect("sees only its own rows", () =>
 *     Effect.gen(function* () {
 *       const pool = yield* Pool.Pool
 *       yield* pool.query("insert into t values (1)")
 *     }).pipe(Effect.provide(PgTestDatabase.layer())))
 * })
 * ```
 *
 * A namespace (decision 012): services `PgTestDatabase.PgTestDatabase` and
 * `PgTestDatabase.PgTestTemplate`, constructors `layer`, `layerTemplate`, `layerTemplateFromServer`,
 * `layerWithServer`, `make`.
 *
 * Does: `layerTemplateFromServer` makes the template on the `PgTestServer` in context (the user's `setup`
 * runs once, on one connection to it); `layer` clones it into a fresh database and opens a pool and
 * a connection there (connection settings come from the server's URL alone, PG* variables
 * ignored); `layerTemplate` and `layerWithServer` add the server (started from `server` options)
 * in one line. Everything is dropped/closed when its Layer ends: connection and
 * pool first, then the database, then the template, then the server.
 * Does NOT: run migrations itself (that is `setup`), share rows between clones (each test sees the
 * template's contents and its own writes only), or reset a database between tests of one Layer.
 * Invariants: clones are only made from a template whose setup succeeded; the error channel is
 * PgTestServerError plus the setup's own error type.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { Connection, connect } from "../Connection.ts"
import type { ConnectConfig } from "../config/ConnectConfig.ts"
import * as Pool from "../Pool.ts"
import {
  cloneTemplate,
  connectConfigFor,
  createTemplate,
  makeAdmin,
  type Setup,
  urlWithDatabase
} from "./Databases.ts"
import type { PgTestServerOptions } from "./PgTestServer.ts"
import * as PgTestServer from "./PgTestServer.ts"
import { fromUnknown, type PgTestServerError } from "./PgTestServerError.ts"
import type { PgTestServerInfo } from "./ServerInfo.ts"

/** One database made for tests. */
export interface PgTestDatabaseInfo {
  readonly server: PgTestServerInfo
  /** The database's name, e.g. `effect_pg_db_4242_1a2b3c4d_7`. */
  readonly name: string
  /** The template it was cloned from. */
  readonly template: string
  /** A `postgres://` URL of this database (the server's URL with the path replaced). */
  readonly url: string
  /** Resolved connection settings of this database, as the Pool and Connection use them. */
  readonly connect: ConnectConfig
}

/** The template database of one server, set up once. */
export interface PgTestTemplateInfo {
  readonly server: PgTestServerInfo
  /** The template's name, e.g. `effect_pg_tpl_4242_1a2b3c4d_0`. Nobody can connect to it. */
  readonly name: string
  /** A new database cloned from the template, dropped (WITH (FORCE)) when the scope closes. */
  readonly fresh: Effect.Effect<PgTestDatabaseInfo, PgTestServerError, Scope.Scope>
}

export interface PgTestTemplateOptions<E = never, R = never> {
  /**
   * Runs once, on one connection to the template database, before anything is cloned from it:
   * migrations, extensions, fixtures. Its connection is closed before the first clone.
   */
  readonly setup?: Setup<E, R> | undefined
}

export interface PgTestDatabaseOptions {
  /** Options of the database's Pool (default: Pool's defaults; `connect` is the database). */
  readonly pool?: Omit<Pool.PoolOptions, "connect"> | undefined
}

/** The template database on the `PgTestServer` in context, made once and shared by a block of tests. */
export class PgTestTemplate extends Context.Service<PgTestTemplate, PgTestTemplateInfo>()(
  "effect-pg/testing/PgTestTemplate"
) {}

/** The database a test runs against. `layer()` provides it with a Pool and a Connection on it. */
export class PgTestDatabase extends Context.Service<PgTestDatabase, PgTestDatabaseInfo>()(
  "effect-pg/testing/PgTestDatabase"
) {}

const makeTemplate = <E, R>(
  setup: Setup<E, R> | undefined
): Effect.Effect<PgTestTemplateInfo, PgTestServerError | E, PgTestServer.PgTestServer | R | Scope.Scope> =>
  Effect.gen(function* () {
    const server = yield* PgTestServer.PgTestServer
    const admin = yield* makeAdmin(server)
    const template = yield* createTemplate(admin, server, setup)
    const fresh = Effect.gen(function* () {
      const name = yield* cloneTemplate(admin, template)
      return {
        server,
        name,
        template,
        url: urlWithDatabase(server.url, name),
        connect: yield* connectConfigFor(server, name)
      }
    })
    return { server, name: template, fresh }
  })

/** Creates the template (running `setup` into it) on the server in context; dropped with the Layer. */
export const layerTemplateFromServer = <E = never, R = never>(
  options?: PgTestTemplateOptions<E, R>
): Layer.Layer<PgTestTemplate, PgTestServerError | E, PgTestServer.PgTestServer | R> =>
  Layer.effect(PgTestTemplate, makeTemplate(options?.setup))

/** One line for a block of tests: starts a server (`server` options) and makes the template on it. */
export const layerTemplate = <E = never, R = never>(
  options?: PgTestTemplateOptions<E, R> & { readonly server?: PgTestServerOptions | undefined }
): Layer.Layer<PgTestServer.PgTestServer | PgTestTemplate, PgTestServerError | E, R> =>
  Layer.provideMerge(layerTemplateFromServer(options), PgTestServer.layer(options?.server))

/** A fresh database cloned from the template in context, dropped when the scope closes. */
export const make: Effect.Effect<PgTestDatabaseInfo, PgTestServerError, PgTestTemplate | Scope.Scope> =
  Effect.flatMap(Effect.service(PgTestTemplate), (template) => template.fresh)

/** The services `layer` provides. */
export type PgTestDatabaseServices = PgTestDatabase | Pool.Pool | Pool.ExpertPool | Connection

/**
 * A fresh database cloned from the `PgTestTemplate` in context, with a Pool (both views) and a
 * Connection on it; closed and dropped when the Layer ends. Each build is a new database: provide
 * it to each test (`Effect.provide(PgTestDatabase.layer())`) for a database of its own.
 */
export const layer = (
  options?: PgTestDatabaseOptions
): Layer.Layer<PgTestDatabaseServices, PgTestServerError, PgTestTemplate> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const database = yield* make
      const { pool, expert } = yield* Pool.make({ ...options?.pool, connect: database.connect }).pipe(
        Effect.mapError(fromUnknown("InvalidOptions", "pool options"))
      )
      const connection = yield* connect(database.connect).pipe(
        Effect.mapError(fromUnknown("Database", `connecting to ${database.name}`))
      )
      return Context.make(PgTestDatabase, database).pipe(
        Context.add(Pool.Pool, pool),
        Context.add(Pool.ExpertPool, expert),
        Context.add(Connection, connection)
      )
    })
  )

/**
 * One line for a block of tests that share one database: a server, the template, one database
 * cloned from it, and a Pool and a Connection on that database.
 */
export const layerWithServer = <E = never, R = never>(
  options?: PgTestTemplateOptions<E, R> &
    PgTestDatabaseOptions & { readonly server?: PgTestServerOptions | undefined }
): Layer.Layer<
  PgTestServer.PgTestServer | PgTestTemplate | PgTestDatabaseServices,
  PgTestServerError | E,
  R
> => Layer.provideMerge(layer(options), layerTemplate(options))
