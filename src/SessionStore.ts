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
 * Bad input is a typed PgSessionError, never a defect nor a throw: the options (names, durations,
 * batch size) are checked when the store is built (session/options.ts), an expiry at each call;
 * a value with a NUL character (which text cannot hold) is refused before anything is sent, and a
 * key with one is a session that cannot exist (`get` finds nothing, `set` is false).
 *
 * Invariants: keys carry 240 random bits (node:crypto); no statement interpolates a key, value or
 * duration (they are parameters); the default period starts at one week.
 */
import { Context, Duration, Effect, Layer, Schedule, type Scope } from "effect"
import { Pool } from "./Pool.ts"
import type { PgPoolNormalError } from "./pool/errors.ts"
import { resolveOptions, resolveSql, type SessionStoreOptions } from "./session/options.ts"
import { expiryMillis, generateKey, PgSessionError } from "./session/sql.ts"

export type { SessionStoreOptions } from "./session/options.ts"
export { generateKey, keyLength, PgSessionError } from "./session/sql.ts"

/** A live session. */
export interface SessionEntry {
  /** The value; `null` when the session was generated without one and never set. */
  readonly value: string | null
  /** Time left before it expires (as of the server's clock, 10 ms precision). */
  readonly expiresIn: Duration.Duration
}

export type SessionStoreError = PgPoolNormalError | PgSessionError

export interface SessionStoreApi {
  /** A new session expiring after `expiry` (default: the default period); returns its key. */
  readonly generate: (expiry?: Duration.Input, value?: string) => Effect.Effect<string, SessionStoreError>
  /**
   * The live session under `key`, or `undefined` when there is none or it expired (or `key` has a
   * NUL character: no session can have it, and nothing is sent).
   */
  readonly get: (key: string) => Effect.Effect<SessionEntry | undefined, SessionStoreError>
  /**
   * Sets the value and restarts the expiry of a live session. `false` when there is no live
   * session under `key` (an expired one is deleted, not revived). A value with a NUL character
   * fails with PgSessionError `InvalidValue`.
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

const checked = <A>(result: A | PgSessionError): Effect.Effect<A, PgSessionError> =>
  result instanceof PgSessionError ? Effect.fail(result) : Effect.succeed(result)

/** Not text PostgreSQL can store (a NUL, or no string): a value is refused, a key names no session. */
const unstorable = (text: unknown): boolean => typeof text !== "string" || text.includes("\0")

const badValue = () =>
  new PgSessionError({
    reason: "InvalidValue",
    message: "a session value must be a string without NUL characters"
  })

/** Creates the table and index of `options` (idempotent). */
export const ensureSchema = (options?: SessionStoreOptions): Effect.Effect<void, SessionStoreError, Pool> =>
  Effect.gen(function* () {
    const sql = yield* checked(resolveSql(options))
    const pool = yield* Pool
    yield* pool.simpleQuery(`${sql.createTable}; ${sql.createIndex}`)
  })

/** A store over the `Pool`; its background purge lives as long as the scope. */
export const make = (
  options?: SessionStoreOptions
): Effect.Effect<SessionStoreApi, SessionStoreError, Pool | Scope.Scope> =>
  Effect.gen(function* () {
    const settings = yield* checked(resolveOptions(options))
    const pool = yield* Pool
    const { sql, purgeBatchSize: batch, purgeInterval: interval } = settings
    let period = settings.defaultPeriod

    const expiryOf = (expiry: Duration.Input | undefined) =>
      expiry === undefined ? Effect.succeed(period) : checked(expiryMillis("expiry", expiry))

    const generate = (expiry?: Duration.Input, value?: string) =>
      Effect.gen(function* () {
        const millis = yield* expiryOf(expiry)
        if (value !== undefined && value !== null && unstorable(value)) return yield* badValue()
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

    const get = (key: string): Effect.Effect<SessionEntry | undefined, SessionStoreError> =>
      unstorable(key)
        ? Effect.succeed(undefined)
        : Effect.map(
            pool.query(sql.select, [key], { rowMode: "array" }),
            ({ rows }): SessionEntry | undefined => {
              const row = rows[0]
              if (row === undefined) return undefined
              return {
                value: (row[0] as string | null) ?? null,
                expiresIn: Duration.millis(Math.max(0, Number(row[1])))
              }
            }
          )

    const set = (key: string, value: string, expiry?: Duration.Input) =>
      Effect.gen(function* () {
        const millis = yield* expiryOf(expiry)
        if (unstorable(value)) return yield* badValue()
        if (unstorable(key)) return false
        const done = yield* pool.queryExpectNoData(sql.update, [key, String(millis), value])
        return done.rows === 1
      })

    const purgeExpired = Effect.gen(function* () {
      let deleted = 0
      for (;;) {
        const done = yield* pool.queryExpectNoData(sql.purge, [String(batch)])
        deleted += done.rows ?? 0
        if ((done.rows ?? 0) < batch) return deleted
      }
    })

    if (settings.ensureSchema) yield* pool.simpleQuery(`${sql.createTable}; ${sql.createIndex}`)
    if (Duration.isFinite(interval)) {
      yield* Effect.forkScoped(
        Effect.repeat(
          Effect.catchCause(purgeExpired, (cause) => Effect.logWarning("session store: purge failed", cause)),
          Schedule.spaced(interval)
        )
      )
    }

    return {
      generate,
      get,
      set,
      clear: (key: string) =>
        unstorable(key) ? Effect.void : Effect.asVoid(pool.queryExpectNoData(sql.delete, [key])),
      defaultPeriod: Effect.sync(() => Duration.millis(period)),
      setDefaultPeriod: (next: Duration.Input) =>
        Effect.map(checked(expiryMillis("defaultPeriod", next)), (millis) => {
          period = millis
        }),
      purgeExpired,
      ensureSchema: Effect.asVoid(pool.simpleQuery(`${sql.createTable}; ${sql.createIndex}`))
    } satisfies SessionStoreApi
  })

/** The session store service. */
export class SessionStore extends Context.Service<SessionStore, SessionStoreApi>()(
  "effect-pg/SessionStore"
) {}

/** A store over the `Pool` for the lifetime of the Layer. */
export const layer = (options?: SessionStoreOptions): Layer.Layer<SessionStore, SessionStoreError, Pool> =>
  Layer.effect(SessionStore, make(options))
