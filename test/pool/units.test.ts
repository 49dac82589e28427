/**
 * The pool's pure parts: option checks and defaults, the FIFO line, BEGIN statements, span
 * attributes, the error mapping of the normal view, and the two error unions (the connection's
 * `PgExpertError`, the pool's `PgPoolExpertError`).
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Schema, Tracer } from "effect"
import {
  isPgExpertError,
  isPgPoolExpertError,
  mayHaveRun,
  PgError,
  PgExpertError,
  PgPoolExpertError,
  PgServerError,
  PgTransactionError
} from "../../src/Errors.ts"
import { normalPoolLift, PgPoolTimeoutError } from "../../src/pool/errors.ts"
import { poolConfig, resolveOptions } from "../../src/pool/options.ts"
import { SharedSlots } from "../../src/pool/SharedSlots.ts"
import { spanOptions, tracingActive, truncateStatement } from "../../src/pool/tracing.ts"
import { beginStatement } from "../../src/pool/transaction.ts"
import { WaitQueue } from "../../src/pool/WaitQueue.ts"

describe("resolveOptions", () => {
  it.effect("fills in the defaults", () =>
    Effect.gen(function* () {
      const s = yield* resolveOptions({ connect: "postgres://x@h/db" })
      assert.strictEqual(s.min, 0)
      assert.strictEqual(s.max, 10)
      assert.strictEqual(s.acquireTimeoutMillis, 30_000)
      assert.strictEqual(s.idleTimeoutMillis, 600_000)
      assert.strictEqual(s.maxLifetimeMillis, 1_800_000)
      assert.strictEqual(s.lifetimeJitterMillis, 180_000)
      assert.strictEqual(s.healthCheckAfterMillis, 10_000)
      assert.strictEqual(s.resetOnRelease, "none")
      assert.strictEqual(s.name, "default")
      assert.strictEqual(s.maxInFlightPerConnection, 64)
      assert.isFalse(s.traceParameters)
    })
  )

  it.effect("accepts durations in any Effect form and infinity", () =>
    Effect.gen(function* () {
      const s = yield* resolveOptions({
        connect: "x",
        acquireTimeout: 250,
        idleTimeout: "Infinity",
        maxLifetime: "Infinity",
        healthCheckAfter: "2 seconds"
      })
      assert.strictEqual(s.acquireTimeoutMillis, 250)
      assert.strictEqual(s.idleTimeoutMillis, Infinity)
      assert.strictEqual(s.maxLifetimeMillis, Infinity)
      assert.strictEqual(s.lifetimeJitterMillis, 0)
      assert.strictEqual(s.healthCheckAfterMillis, 2_000)
    })
  )

  const rejects = (options: Parameters<typeof resolveOptions>[0], key: string) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(resolveOptions(options))
      assert.strictEqual(error._tag, "PgConfigError")
      assert.strictEqual(error.reason, "InvalidValue")
      assert.strictEqual(error.key, `pool.${key}`)
    })

  it.effect("refuses bad sizes, durations and names with a typed error", () =>
    Effect.gen(function* () {
      yield* rejects({ connect: "x", max: 0 }, "max")
      yield* rejects({ connect: "x", max: 2.5 }, "max")
      yield* rejects({ connect: "x", min: -1 }, "min")
      yield* rejects({ connect: "x", maxInFlightPerConnection: 0 }, "maxInFlightPerConnection")
      yield* rejects({ connect: "x", maxInFlightPerConnection: 1.5 }, "maxInFlightPerConnection")
      yield* rejects({ connect: "x", min: 3, max: 2 }, "min")
      yield* rejects({ connect: "x", acquireTimeout: -5 }, "acquireTimeout")
      yield* rejects({ connect: "x", maxLifetime: 0 }, "maxLifetime")
      yield* rejects({ connect: "x", maxLifetime: "1 second", lifetimeJitter: "1 second" }, "lifetimeJitter")
      yield* rejects({ connect: "x", checkTimeout: 0 }, "checkTimeout")
      yield* rejects({ connect: "x", maintenanceInterval: "Infinity" }, "maintenanceInterval")
      yield* rejects({ connect: "x", name: "" }, "name")
      yield* rejects({ connect: "x", resetOnRelease: "truncate" as never }, "resetOnRelease")
      yield* rejects({ connect: "x", idleTimeout: "soon" as never }, "idleTimeout")
    })
  )

  it.effect("poolConfig reads the options from a ConfigProvider", () =>
    Effect.gen(function* () {
      const read = yield* poolConfig.pipe(
        Effect.provide(
          ConfigProvider.layer(
            ConfigProvider.fromUnknown({
              max: "7",
              maxInFlightPerConnection: "16",
              acquireTimeout: "2 seconds",
              resetOnRelease: "discard-all"
            })
          )
        )
      )
      assert.strictEqual(read.max, 7)
      assert.strictEqual(read.maxInFlightPerConnection, 16)
      assert.strictEqual(read.min, undefined)
      assert.strictEqual(read.resetOnRelease, "discard-all")
      const s = yield* resolveOptions({ ...read, connect: "x" })
      assert.strictEqual(s.acquireTimeoutMillis, 2_000)
    })
  )
})

describe("WaitQueue", () => {
  it("is first in, first out, with removal from the middle and push to the front", () => {
    const q = new WaitQueue<string>()
    const a = q.pushBack("a")
    q.pushBack("b")
    const c = q.pushBack("c")
    q.pushFront("z")
    assert.strictEqual(q.size, 4)
    assert.strictEqual(q.peek(), "z")
    assert.strictEqual(q.size, 4)
    assert.isTrue(q.remove(c))
    assert.isFalse(q.remove(c))
    assert.strictEqual(q.shift(), "z")
    assert.isTrue(q.remove(a))
    assert.strictEqual(q.size, 1)
    assert.deepStrictEqual(q.drain(), ["b"])
    assert.strictEqual(q.shift(), undefined)
    assert.strictEqual(q.size, 0)
  })
})

describe("SharedSlots", () => {
  const member = (inFlight: number, flags: { reserved?: boolean; sealed?: boolean } = {}) => ({
    inFlight,
    reserved: flags.reserved ?? false,
    sealed: flags.sealed ?? false
  })

  it("picks the member with the fewest in flight below the limit that takes new statements", () => {
    const set = new SharedSlots<ReturnType<typeof member>>()
    assert.isUndefined(set.pick(4))
    const full = member(4)
    const busy = member(3)
    const light = member(1)
    const reserved = member(0, { reserved: true })
    const sealed = member(0, { sealed: true })
    for (const m of [full, busy, light, reserved, sealed]) set.add(m)
    assert.strictEqual(set.size, 5)
    assert.strictEqual(set.pick(4), light)
    assert.isTrue(set.remove(light))
    assert.isFalse(set.remove(light))
    assert.strictEqual(set.pick(4), busy)
    assert.isUndefined(set.pick(3))
    assert.strictEqual(set.leastLoaded(), busy)
    assert.strictEqual(set.snapshot().length, 4)
  })
})

describe("beginStatement", () => {
  it("writes the options PostgreSQL understands", () => {
    assert.strictEqual(beginStatement(), "BEGIN")
    assert.strictEqual(
      beginStatement({ isolationLevel: "serializable", readOnly: true, deferrable: true }),
      "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE"
    )
    assert.strictEqual(
      beginStatement({ isolationLevel: "read uncommitted", readOnly: false, deferrable: false }),
      "BEGIN ISOLATION LEVEL READ UNCOMMITTED READ WRITE NOT DEFERRABLE"
    )
    const bad = beginStatement({ isolationLevel: "snapshot; drop table x" as never })
    assert.strictEqual(typeof bad !== "string" && bad.reason, "InvalidOptions")
  })
})

describe("tracing attributes", () => {
  const settings = {
    poolName: "p",
    database: "db",
    serverAddress: "db.example",
    serverPort: 5433,
    statementMaxLength: 8,
    traceParameters: false
  }

  it("truncates the statement and names the operation after comments", () => {
    assert.strictEqual(truncateStatement("select 1", 8), "select 1")
    assert.strictEqual(truncateStatement("select 10", 8), "select 1…")
    const options = spanOptions(settings, "/* hi */ -- x\n  insert into t values ($1)", ["v"])
    assert.strictEqual(options.attributes?.["db.operation.name"], "INSERT")
    assert.strictEqual(options.attributes?.["db.query.text"], "/* hi */…")
    assert.isUndefined(options.attributes?.["db.query.parameter.0"])
    assert.strictEqual(options.kind, "client")
    // The stable conventions only: nothing of the older generation.
    assert.deepStrictEqual(Object.keys(options.attributes ?? {}).sort(), [
      "db.client.connection.pool.name",
      "db.namespace",
      "db.operation.name",
      "db.query.text",
      "db.system.name",
      "server.address",
      "server.port"
    ])
    assert.strictEqual(options.attributes?.["server.address"], "db.example")
    assert.strictEqual(options.attributes?.["server.port"], 5433)
  })

  it("leaves the statement out with statementMaxLength 0 and adds parameters only when asked", () => {
    const hidden = spanOptions({ ...settings, statementMaxLength: 0 }, "select 1")
    assert.isUndefined(hidden.attributes?.["db.query.text"])
    const shown = spanOptions({ ...settings, traceParameters: true }, "select $1, $2", ["a", null])
    assert.strictEqual(shown.attributes?.["db.query.parameter.0"], "a")
    assert.strictEqual(shown.attributes?.["db.query.parameter.1"], "NULL")
  })
})

describe("span cost", () => {
  const settings = {
    poolName: "p",
    database: "db",
    serverAddress: "localhost",
    serverPort: 5432,
    statementMaxLength: 100,
    traceParameters: false
  }

  it("shares the span options of a statement between calls, unless parameters are recorded", () => {
    const first = spanOptions(settings, "select $1", ["a"])
    assert.strictEqual(spanOptions(settings, "select $1", ["b"]), first)
    assert.strictEqual(first.captureStackTrace, false)
    const recorded = { ...settings, traceParameters: true }
    const a = spanOptions(recorded, "select $1", ["a"])
    const b = spanOptions(recorded, "select $1", ["b"])
    assert.notStrictEqual(a, b)
    assert.strictEqual(b.attributes?.["db.query.parameter.0"], "b")
  })

  it.effect("statement spans are made only for a tracer that can see them", () =>
    Effect.gen(function* () {
      const active = Effect.withFiber((fiber) => Effect.succeed(tracingActive(fiber)))
      const tracer = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })
      assert.isFalse(yield* active)
      assert.isFalse(yield* Effect.withTracer(active, Tracer.nativeTracer))
      assert.isTrue(yield* Effect.withTracer(active, tracer))
      assert.isFalse(yield* active.pipe(Effect.withTracer(tracer), Effect.withTracerEnabled(false)))
      assert.isTrue(yield* active.pipe(Effect.withSpan("parent"), Effect.withTracer(tracer)))
      assert.isFalse(
        yield* active.pipe(Effect.withSpan("parent", { sampled: false }), Effect.withTracer(tracer))
      )
    })
  )
})

describe("normalPoolLift", () => {
  it("wraps connection errors in PgError and leaves the pool's and the user's alone", () => {
    const server = new PgServerError({ severity: "ERROR", code: "22012", message: "division by zero" })
    const mapped = normalPoolLift.error(server, { operation: "query", sql: "select 1/0" })
    assert.instanceOf(mapped, PgError)
    assert.strictEqual((mapped as PgError).code, "22012")
    assert.match((mapped as PgError).message, /select 1\/0/)
    const timeout = new PgPoolTimeoutError({ message: "m", timeoutMillis: 1, waiting: 1, max: 1 })
    const normalTimeout = normalPoolLift.error(timeout, { operation: "pool" })
    assert.instanceOf(normalTimeout, PgError)
    assert.strictEqual(normalTimeout.cause, timeout)
    const mine = { _tag: "Mine" } as const
    const passed = Effect.runSync(
      Effect.flip(normalPoolLift.effect(Effect.fail(mine), { operation: "pool" }))
    )
    assert.strictEqual(passed, mine)
  })
})

describe("error unions", () => {
  const timeout = new PgPoolTimeoutError({ message: "no connection", timeoutMillis: 5, waiting: 2, max: 1 })
  const server = new PgServerError({ severity: "ERROR", code: "22012", message: "division by zero" })
  const leftOpen = new PgTransactionError({ reason: "LeftOpen", message: "left open" })

  it("the connection union has no pool timeout; the pool union has every connection error and it", () => {
    assert.isFalse(isPgExpertError(timeout))
    assert.isFalse(Schema.is(PgExpertError)(timeout))
    assert.isTrue(isPgPoolExpertError(timeout))
    assert.isTrue(Schema.is(PgPoolExpertError)(timeout))
    for (const error of [server, leftOpen]) {
      assert.isTrue(isPgExpertError(error), error._tag)
      assert.isTrue(isPgPoolExpertError(error), error._tag)
      assert.isTrue(Schema.is(PgPoolExpertError)(error), error._tag)
    }
    assert.isFalse(isPgPoolExpertError({ _tag: "PgPoolTimeoutError", message: "forged" }))
  })

  it("PgError wraps a pool error: cause, message and mayHaveRun", () => {
    const wrapped = PgError.fromExpert(timeout, { sql: "select 1" })
    assert.strictEqual(wrapped.cause, timeout)
    assert.include(wrapped.message, "no connection")
    assert.include(wrapped.message, "SQL: select 1")
    assert.isFalse(wrapped.mayHaveRun)
    assert.isFalse(wrapped.mayHaveReachedServer)
    assert.isUndefined(wrapped.code)
    assert.isFalse(mayHaveRun(timeout))
    // The schema of `cause` accepts the pool union (the constructor validates it).
    assert.strictEqual(new PgError({ message: "m", cause: timeout }).cause, timeout)
  })
})
