/**
 * The session store against real servers: the schema helper, generate/get/set/clear, expiry with
 * short periods (never returned, deleted on set and by the purge), the default period, 10,000
 * concurrent generates, bad input (a NUL in a table name, a value or a key, a duration that is
 * none) failing with PgSessionError and never a defect, and the same basics on PostgreSQL 15.
 */
import { assert, layer, type Vitest } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as PoolM from "../../src/Pool.ts"
import * as Session from "../../src/SessionStore.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, connectInput, eventually } from "../pool/support.ts"

const poolLayer = Layer.unwrap(
  Effect.map(Effect.service(PgTestServer.PgTestServer), (server) =>
    PoolM.layer({ connect: connectInput(server, appName("session")), max: 10 })
  )
)

const store = (table: string, options?: Session.SessionStoreOptions) =>
  Session.make({ table, ensureSchema: true, ...options })

const rowCount = (table: string, where = "true") =>
  Effect.flatMap(Effect.service(PoolM.Pool), (pool) =>
    Effect.map(pool.query(`select count(*) from "${table}" where ${where}`), ({ rows }) =>
      Number(rows[0]!.count)
    )
  )

const basics = (it: Vitest.MethodsNonLive<PoolM.Pool | PoolM.ExpertPool | PgTestServer.PgTestServer>) => {
  it.effect("generate, get, set and clear", () =>
    Effect.gen(function* () {
      const sessions = yield* store("sessions_basic")
      const key = yield* sessions.generate()
      assert.match(key, /^[A-Za-z0-9_-]{40}$/)
      const fresh = yield* sessions.get(key)
      assert.isDefined(fresh)
      assert.isNull(fresh!.value)
      const week = Duration.toMillis(Duration.days(7))
      assert.isAbove(Duration.toMillis(fresh!.expiresIn), week - 60_000)
      assert.isAtMost(Duration.toMillis(fresh!.expiresIn), week + 10)

      const withValue = yield* sessions.generate("1 hour", '{"user":1}')
      assert.strictEqual((yield* sessions.get(withValue))!.value, '{"user":1}')
      assert.isTrue(yield* sessions.set(key, "v2", "2 hours"))
      const updated = yield* sessions.get(key)
      assert.strictEqual(updated!.value, "v2")
      assert.isAtMost(Duration.toMillis(updated!.expiresIn), 2 * 3_600_000 + 10)
      assert.isAbove(Duration.toMillis(updated!.expiresIn), 2 * 3_600_000 - 60_000)

      yield* sessions.clear(key)
      assert.isUndefined(yield* sessions.get(key))
      assert.isFalse(yield* sessions.set(key, "again"))
      assert.isUndefined(yield* sessions.get("no-such-key"))
      assert.strictEqual((yield* sessions.get(withValue))!.value, '{"user":1}')
    })
  )

  it.effect("an expired session is never returned, and set deletes it instead of reviving it", () =>
    Effect.gen(function* () {
      const sessions = yield* store("sessions_expiry")
      const key = yield* sessions.generate("1 second", "short")
      const live = yield* sessions.get(key)
      assert.strictEqual(live!.value, "short")
      assert.isAtMost(Duration.toMillis(live!.expiresIn), 1_010)
      yield* eventually(
        "the session expires",
        Effect.map(sessions.get(key), (entry) => entry === undefined)
      )
      assert.strictEqual(yield* rowCount("sessions_expiry", `session_key = '${key}'`), 1)
      assert.isFalse(yield* sessions.set(key, "revived", "1 hour"))
      assert.isUndefined(yield* sessions.get(key))
      assert.strictEqual(yield* rowCount("sessions_expiry", `session_key = '${key}'`), 0)
    })
  )
}

layer(Layer.provideMerge(poolLayer, PgTestServer.layer({ version: 18, tls: false, backend: "local" })), {
  timeout: 120_000,
  excludeTestServices: true
})("SessionStore (PG18)", (it) => {
  basics(it)

  it.effect("ensureSchema creates the table, its primary key and the expiry index, idempotently", () =>
    Effect.gen(function* () {
      yield* Session.ensureSchema({ table: "sessions_schema" })
      yield* Session.ensureSchema({ table: "sessions_schema" })
      const pool = yield* PoolM.Pool
      const { rows } = yield* pool.query(
        "select indexdef from pg_indexes where tablename = 'sessions_schema' order by indexname"
      )
      assert.strictEqual(rows.length, 2)
      assert.match(rows[0]!.indexdef as string, /INDEX sessions_schema_expire_date_idx .*\(expire_date\)/)
      assert.match(rows[1]!.indexdef as string, /UNIQUE INDEX sessions_schema_pkey .*\(session_key\)/)
    })
  )

  it.effect("the default period is one week and can be changed", () =>
    Effect.gen(function* () {
      const sessions = yield* store("sessions_period")
      assert.strictEqual(Duration.toMillis(yield* sessions.defaultPeriod), 7 * 24 * 3_600_000)
      yield* sessions.setDefaultPeriod("1 second")
      assert.strictEqual(Duration.toMillis(yield* sessions.defaultPeriod), 1_000)
      const key = yield* sessions.generate(undefined, "soon gone")
      assert.isDefined(yield* sessions.get(key))
      yield* eventually(
        "the session expires",
        Effect.map(sessions.get(key), (entry) => entry === undefined)
      )
      const bad = yield* Effect.flip(sessions.setDefaultPeriod(-1))
      assert.strictEqual(bad._tag, "PgSessionError")
      const badExpiry = yield* Effect.flip(sessions.generate("Infinity"))
      assert.strictEqual(badExpiry._tag, "PgSessionError")
      const badOptions = yield* Effect.flip(Session.make({ table: "" }))
      assert.strictEqual(badOptions._tag, "PgSessionError")
    })
  )

  it.effect("bad options fail the store's construction with PgSessionError, never a defect", () =>
    Effect.gen(function* () {
      const bad: ReadonlyArray<[Session.SessionStoreOptions, Session.PgSessionError["reason"]]> = [
        [{ table: "sess\0ion" }, "InvalidOption"],
        [{ schema: "a\0" }, "InvalidOption"],
        [{ table: "" }, "InvalidOption"],
        [{ defaultPeriod: "abc" as never }, "InvalidExpiry"],
        [{ purgeInterval: "abc" as never }, "InvalidOption"],
        [{ purgeBatchSize: 1e300 }, "InvalidOption"]
      ]
      for (const [options, reason] of bad) {
        const made = yield* Effect.flip(Session.make({ ensureSchema: true, ...options }))
        assert.strictEqual(made._tag, "PgSessionError")
        assert.strictEqual(made._tag === "PgSessionError" && made.reason, reason)
        const layer = yield* Effect.flip(Layer.build(Session.layer(options)))
        assert.strictEqual(layer._tag, "PgSessionError")
      }
      const schema = yield* Effect.flip(Session.ensureSchema({ table: "x\0y" }))
      assert.strictEqual(schema._tag === "PgSessionError" && schema.reason, "InvalidOption")
    })
  )

  it.effect("bad arguments: PgSessionError for values and expiries, no session for a NUL key", () =>
    Effect.gen(function* () {
      const sessions = yield* store("sessions_bad_input")
      const key = yield* sessions.generate("1 hour", "kept")
      for (const expiry of ["abc", NaN, { hourz: 1 }, "Infinity", -1] as const) {
        const generated = yield* Effect.flip(sessions.generate(expiry as never))
        assert.strictEqual(generated._tag === "PgSessionError" && generated.reason, "InvalidExpiry")
        const set = yield* Effect.flip(sessions.set(key, "v", expiry as never))
        assert.strictEqual(set._tag === "PgSessionError" && set.reason, "InvalidExpiry")
        const period = yield* Effect.flip(sessions.setDefaultPeriod(expiry as never))
        assert.strictEqual(period.reason, "InvalidExpiry")
      }
      const value = yield* Effect.flip(sessions.generate("1 hour", "a\0b"))
      assert.strictEqual(value._tag === "PgSessionError" && value.reason, "InvalidValue")
      const setValue = yield* Effect.flip(sessions.set(key, "a\0b"))
      assert.strictEqual(setValue._tag === "PgSessionError" && setValue.reason, "InvalidValue")
      assert.isUndefined(yield* sessions.get(`${key.slice(0, 39)}\0`))
      assert.isFalse(yield* sessions.set(`${key.slice(0, 39)}\0`, "v"))
      yield* sessions.clear(`${key.slice(0, 39)}\0`)
      assert.strictEqual((yield* sessions.get(key))!.value, "kept")
      assert.strictEqual(yield* rowCount("sessions_bad_input"), 1)
    })
  )

  it.effect("10,000 concurrent generates give 10,000 distinct keys", () =>
    Effect.gen(function* () {
      const sessions = yield* store("sessions_many")
      const keys = yield* Effect.forEach(
        Array.from({ length: 10_000 }, (_, i) => i),
        (i) => sessions.generate("1 hour", String(i)),
        {
          concurrency: "unbounded"
        }
      )
      assert.strictEqual(new Set(keys).size, 10_000)
      assert.strictEqual(yield* rowCount("sessions_many"), 10_000)
      assert.strictEqual((yield* sessions.get(keys[1234]!))!.value, "1234")
    })
  )

  it.effect("expired rows are deleted by purgeExpired and by the periodic purge", () =>
    Effect.gen(function* () {
      const sessions = yield* store("sessions_purge", { purgeBatchSize: 7 })
      yield* Effect.forEach(
        Array.from({ length: 50 }, () => 0),
        () => sessions.generate("50 millis"),
        {
          concurrency: 10
        }
      )
      const kept = yield* Effect.forEach([1, 2, 3], () => sessions.generate("1 hour"))
      yield* Effect.sleep("100 millis")
      assert.strictEqual(yield* sessions.purgeExpired, 50)
      assert.strictEqual(yield* rowCount("sessions_purge"), 3)
      for (const key of kept) assert.isDefined(yield* sessions.get(key))

      yield* store("sessions_purge_bg", { purgeInterval: "100 millis" })
      const other = yield* store("sessions_purge_bg", { purgeInterval: "Infinity" })
      yield* Effect.forEach(
        Array.from({ length: 20 }, () => 0),
        () => other.generate("50 millis")
      )
      yield* other.generate("1 hour")
      yield* eventually(
        "the background purge removed the expired rows",
        Effect.map(rowCount("sessions_purge_bg"), (n) => n === 1)
      )
    })
  )
})

layer(Layer.provideMerge(poolLayer, PgTestServer.layer({ version: 15, tls: false, backend: "local" })), {
  timeout: 120_000,
  excludeTestServices: true
})("SessionStore (PG15)", (it) => {
  basics(it)
})
