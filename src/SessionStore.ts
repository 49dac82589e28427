/**
 * A session store in PostgreSQL over the `Pool`, after OCaml's session-postgresql-async: opaque
 * random keys mapped to a text value and an expiry.
 *
 *   generate(expiry?, value?) → key       get(key) → { value, expiresIn } | undefined
 *   set(key, value, expiry?) → updated?   clear(key)      defaultPeriod / setDefaultPeriod
 *
 * Differences from the original, on purpose: the key is the table's PRIMARY KEY (unique, indexed)
 * and `expire_date` is indexed and NOT NULL; expiry is decided by the server's clock in the
 * statement itself, so an expired session is never returned; expired rows are deleted — by a
 * periodic purge (`purgeInterval`), by `set` on an expired key (which never revives it), and on
 * demand (`purgeExpired`). The original keeps them forever. See docs/session-store.md.
 *
 * What it does NOT do: cookies, signing, or serializing values (the value is text; store JSON if
 * you need structure). It does not create the table unless asked (`ensureSchema`).
 *
 * Invariants: keys carry 240 random bits (node:crypto); no statement interpolates a key, value or
 * duration (they are parameters); the default period starts at one week.
 */
import { Context, Duration, Effect, Layer, Schedule, type Scope } from "effect"
import { Pool } from "./Pool.ts"
import type { PgPoolNormalError } from "./pool/errors.ts"
import { expiryMillis, generateKey, PgSessionError, type SessionSql, sessionSql } from "./session/sql.ts"

export { generateKey, keyLength, PgSessionError } from "./session/sql.ts"

/** A live session. */
export interface SessionEntry {
  /** The value; `null` when the session was generated without one and never set. */
  readonly value: string | null
  /** Time left before it expires (as of the server's clock, 10 ms precision). */
  readonly expiresIn: Duration.Duration
}

export interface SessionStoreOptions {
  /** Table name (default "session"). */
  readonly table?: string | undefined
  /** Schema of the table (default: the search_path). */
  readonly schema?: string | undefined
  /** The expiry when none is given (default one week). */
  readonly defaultPeriod?: Duration.Input | undefined
  /** How often expired rows are deleted in the background (default 10 minutes; "Infinity" never). */
  readonly purgeInterval?: Duration.Input | undefined
  /** Rows deleted per purge statement (default 1,000). */
  readonly purgeBatchSize?: number | undefined
  /** Create the table and index when the store starts (default false). */
  readonly ensureSchema?: boolean | undefined
}

export type SessionStoreError = PgPoolNormalError | PgSessionError

export interface SessionStoreApi {
  /** A new session expiring after `expiry` (default: the default period); returns its key. */
  readonly generate: (expiry?: Duration.Input, value?: string) => Effect.Effect<string, SessionStoreError>
  /** The live session under `key`, or `undefined` when there is none or it expired. */
  readonly get: (key: string) => Effect.Effect<SessionEntry | undefined, SessionStoreError>
  /**
   * Sets the value and restarts the expiry of a live session. `false` when there is no live
   * session under `key` (an expired one is deleted, not revived).
   */
  readonly set: (
    key: string,
    value: string,
    expiry?: Duration.Input
  ) => Effect.Effect<boolean, SessionStoreError>
  /** Removes the session. */
  readonly clear: (key: string) => Effect.Effect<void, SessionStoreError>
  readonly defaultPeriod: Effect.Effect<Duration.Duration>
  /** Changes the default period for later calls. */
  readonly setDefaultPeriod: (period: Duration.Input) => Effect.Effect<void, PgSessionError>
  /** Deletes every expired session now; returns how many. */
  readonly purgeExpired: Effect.Effect<number, SessionStoreError>
  /** Creates the table and its index if they do not exist. */
  readonly ensureSchema: Effect.Effect<void, SessionStoreError>
}

const week = 7 * 24 * 60 * 60 * 1000

const optionError = (message: string) => new PgSessionError({ reason: "InvalidOption", message })

/** Creates the table and index of `options` (idempotent). */
export const ensureSchema = (options?: SessionStoreOptions): Effect.Effect<void, SessionStoreError, Pool> =>
  Effect.gen(function* () {
    const pool = yield* Pool
    const sql = sessionSql(options?.table ?? "session", options?.schema)
    yield* pool.simpleQuery(`${sql.createTable}; ${sql.createIndex}`)
  })

/** A store over the `Pool`; its background purge lives as long as the scope. */
export const make = (
  options?: SessionStoreOptions
): Effect.Effect<SessionStoreApi, SessionStoreError, Pool | Scope.Scope> =>
  Effect.gen(function* () {
    const pool = yield* Pool
    const table = options?.table ?? "session"
    if (table === "") return yield* optionError("table must not be empty")
    const sql: SessionSql = sessionSql(table, options?.schema)
    let period = yield* fromMillis(expiryMillis("defaultPeriod", options?.defaultPeriod ?? week))
    const batch = options?.purgeBatchSize ?? 1_000
    if (!Number.isInteger(batch) || batch < 1)
      return yield* optionError("purgeBatchSize must be an integer ≥ 1")
    const interval = Duration.fromInput(options?.purgeInterval ?? "10 minutes")
    if (interval._tag === "None" || Duration.toMillis(interval.value) <= 0) {
      return yield* optionError("purgeInterval must be a positive duration")
    }

    const expiryOf = (expiry: Duration.Input | undefined) =>
      expiry === undefined ? Effect.succeed(period) : fromMillis(expiryMillis("expiry", expiry))

    const generate = (expiry?: Duration.Input, value?: string) =>
      Effect.gen(function* () {
        const millis = yield* expiryOf(expiry)
        // 240-bit keys do not collide in practice; a conflict just draws another key.
        for (let attempt = 0; attempt < 3; attempt++) {
          const key = generateKey()
          const done = yield* pool.queryExpectNoData(sql.insert, [key, String(millis), value ?? null])
          if (done.rows === 1) return key
        }
        return yield* Effect.die(
          new Error("three random 240-bit session keys collided: the random source is broken")
        )
      })

    const get = (key: string) =>
      Effect.map(pool.query(sql.select, [key]), ({ rows }): SessionEntry | undefined => {
        const row = rows[0]
        if (row === undefined) return undefined
        return { value: row[0] ?? null, expiresIn: Duration.millis(Math.max(0, Number(row[1]))) }
      })

    const set = (key: string, value: string, expiry?: Duration.Input) =>
      Effect.flatMap(expiryOf(expiry), (millis) =>
        Effect.map(
          pool.queryExpectNoData(sql.update, [key, String(millis), value]),
          (done) => done.rows === 1
        )
      )

    const purgeExpired = Effect.gen(function* () {
      let deleted = 0
      for (;;) {
        const done = yield* pool.queryExpectNoData(sql.purge, [String(batch)])
        deleted += done.rows ?? 0
        if ((done.rows ?? 0) < batch) return deleted
      }
    })

    if (options?.ensureSchema === true) yield* pool.simpleQuery(`${sql.createTable}; ${sql.createIndex}`)
    if (Duration.isFinite(interval.value)) {
      yield* Effect.forkScoped(
        Effect.repeat(
          Effect.catchCause(purgeExpired, (cause) => Effect.logWarning("session store: purge failed", cause)),
          Schedule.spaced(interval.value)
        )
      )
    }

    return {
      generate,
      get,
      set,
      clear: (key: string) => Effect.asVoid(pool.queryExpectNoData(sql.delete, [key])),
      defaultPeriod: Effect.sync(() => Duration.millis(period)),
      setDefaultPeriod: (next: Duration.Input) =>
        Effect.map(fromMillis(expiryMillis("defaultPeriod", next)), (millis) => {
          period = millis
        }),
      purgeExpired,
      ensureSchema: Effect.asVoid(pool.simpleQuery(`${sql.createTable}; ${sql.createIndex}`))
    } satisfies SessionStoreApi
  })

const fromMillis = (result: number | PgSessionError): Effect.Effect<number, PgSessionError> =>
  typeof result === "number" ? Effect.succeed(result) : Effect.fail(result)

/** The session store service. */
export class SessionStore extends Context.Service<SessionStore, SessionStoreApi>()("effect-pg/SessionStore") {
  /** A store over the `Pool` for the lifetime of the Layer. */
  static readonly layer = (
    options?: SessionStoreOptions
  ): Layer.Layer<SessionStore, SessionStoreError, Pool> => Layer.effect(SessionStore, make(options))
}
