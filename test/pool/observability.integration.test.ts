/**
 * The pool's spans (through a test Tracer) and metrics (read with `Metric.value`) against a real
 * PostgreSQL 18.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Metric, Option, Stream, type Tracer } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { spanRecorder } from "../support/SpanRecorder.ts"
import { appName, connectInput, eventually } from "./support.ts"

const recorder = spanRecorder

const named = (spans: ReadonlyArray<Tracer.NativeSpan>, name: string) => spans.filter((s) => s.name === name)

layer(PgTestServer.layer({ version: 18, tls: false, backend: "local" }), {
  timeout: 120_000,
  excludeTestServices: true
})("Pool observability (PG18)", (it) => {
  it.effect("a query has a client span with database attributes and an acquire span inside it", () => {
    const { spans, tracer } = recorder()
    return Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({ connect: connectInput(server, appName("obs")), name: "obs-spans" })
      yield* pool.query("select $1::int as answer", ["42"])
      const [query] = named(spans, "pg.query")
      assert.isDefined(query)
      assert.strictEqual(query!.kind, "client")
      assert.strictEqual(query!.attributes.get("db.system.name"), "postgresql")
      assert.isFalse(query!.attributes.has("db.system"))
      assert.isFalse(query!.attributes.has("db.statement"))
      assert.strictEqual(query!.attributes.get("db.query.text"), "select $1::int as answer")
      assert.strictEqual(query!.attributes.get("server.address"), server.host)
      assert.strictEqual(query!.attributes.get("server.port"), server.port)
      assert.strictEqual(query!.attributes.get("db.operation.name"), "SELECT")
      assert.strictEqual(query!.attributes.get("db.namespace"), server.database)
      assert.strictEqual(query!.attributes.get("db.client.connection.pool.name"), "obs-spans")
      assert.isFalse(query!.attributes.has("db.query.parameter.0"))
      assert.strictEqual(query!.status._tag, "Ended")
      const [acquire] = named(spans, "pg.pool.acquire")
      assert.isDefined(acquire)
      assert.strictEqual(Option.getOrUndefined(acquire!.parent)?.spanId, query!.spanId)
      assert.isNumber(acquire!.attributes.get("db.client.connection.wait_time_ms"))

      const failed = yield* Effect.flip(pool.query("select 1/0"))
      assert.strictEqual(failed._tag, "PgError")
      const errorSpan = named(spans, "pg.query")[1]!
      assert.strictEqual(errorSpan.attributes.get("db.response.status_code"), "22012")
      assert.isTrue(errorSpan.status._tag === "Ended" && errorSpan.status.exit._tag === "Failure")
    }).pipe(Effect.withTracer(tracer))
  })

  it.effect("statements are truncated and parameters recorded only when asked", () => {
    const { spans, tracer } = recorder()
    return Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, appName("obs")),
        statementMaxLength: 10,
        traceParameters: true
      })
      yield* pool.query("select $1::text, 'a long statement'", ["secret"])
      const [query] = named(spans, "pg.query")
      assert.strictEqual(query!.attributes.get("db.query.text"), "select $1:…")
      assert.strictEqual(query!.attributes.get("db.query.parameter.0"), "secret")
    }).pipe(Effect.withTracer(tracer))
  })

  it.effect("statements put straight on a shared connection skip the acquire span but keep their own", () => {
    const { spans, tracer } = recorder()
    return Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({ connect: connectInput(server, appName("obs")), min: 1, max: 1 })
      yield* eventually(
        "the connection is open",
        Effect.map(pool.stats, (s) => s.idle === 1)
      )
      yield* Effect.forEach(
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        (i) => pool.query("select $1::int", [String(i)]),
        {
          concurrency: "unbounded"
        }
      ).pipe(Effect.withTracer(tracer))
      const queries = named(spans, "pg.query")
      assert.strictEqual(queries.length, 10)
      for (const query of queries) {
        assert.strictEqual(query.attributes.get("db.response.returned_rows"), 1)
        assert.strictEqual(query.attributes.get("db.operation.name"), "SELECT")
        assert.strictEqual(query.status._tag, "Ended")
      }
      const acquires = named(spans, "pg.pool.acquire").length
      assert.isAtLeast(acquires, 1)
      assert.isBelow(acquires, 10)

      // No span at all when tracing is disabled, even with a tracer installed.
      spans.length = 0
      yield* pool.query("select 1").pipe(Effect.withTracer(tracer), Effect.withTracerEnabled(false))
      yield* pool
        .withConnection((c) => c.query("select 1"))
        .pipe(Effect.withTracer(tracer), Effect.withTracerEnabled(false))
      assert.strictEqual(spans.length, 0)
    })
  })

  it.effect("borrowed connections, streams and transactions are traced", () => {
    const { spans, tracer } = recorder()
    return Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({ connect: connectInput(server, appName("obs")) })
      yield* pool.withConnection((c) => c.query("select 1"))
      assert.strictEqual(named(spans, "pg.query").length, 1)
      const rows = yield* Stream.runCollect(pool.stream("select generate_series(1, 3)"))
      assert.strictEqual(rows.length, 3)
      const [stream] = named(spans, "pg.stream")
      assert.strictEqual(stream!.attributes.get("db.query.text"), "select generate_series(1, 3)")
      assert.strictEqual(stream!.status._tag, "Ended")
      yield* pool.withTransaction(() => pool.withTransaction(() => pool.query("select 2")))
      const [transaction] = named(spans, "pg.transaction")
      const [savepoint] = named(spans, "pg.savepoint")
      assert.isDefined(transaction)
      assert.strictEqual(Option.getOrUndefined(savepoint!.parent)?.spanId, transaction!.spanId)
      // COPY of rows names its table: db.collection.name.
      yield* pool.query("create table if not exists obs_copy (a text)")
      yield* pool.copyInRows({ table: "obs_copy", columns: ["a"] }, Stream.make(["x"]))
      const [copy] = named(spans, "pg.copyIn")
      assert.strictEqual(copy!.attributes.get("db.collection.name"), "obs_copy")
      assert.strictEqual(copy!.attributes.get("db.operation.name"), "COPY")
    }).pipe(Effect.withTracer(tracer))
  })

  it.effect("gauges show used, idle and waiting; counters and the wait histogram add up", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const name = appName("obs_metrics")
      const metrics = PoolM.poolMetrics(name)
      const gauge = (m: typeof metrics.used) => Effect.map(Metric.value(m), (s) => s.value)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const { pool } = yield* PoolM.make({
            connect: connectInput(server, name),
            name,
            max: 2,
            acquireTimeout: "10 seconds"
          })
          const gate = yield* Deferred.make<void>()
          const holders = yield* Effect.forEach([1, 2, 3, 4, 5], () =>
            Effect.forkChild(pool.withConnection(() => Deferred.await(gate)))
          )
          yield* eventually(
            "two used, three waiting",
            Effect.map(
              Effect.all([gauge(metrics.used), gauge(metrics.idle), gauge(metrics.pending)]),
              ([used, idle, pending]) => used === 2 && idle === 0 && pending === 3
            )
          )
          assert.strictEqual((yield* Metric.value(metrics.max)).value, 2)
          yield* Deferred.succeed(gate, undefined)
          yield* Fiber.joinAll(holders)
          assert.strictEqual(yield* gauge(metrics.used), 0)
          assert.strictEqual(yield* gauge(metrics.idle), 2)
          assert.strictEqual(yield* gauge(metrics.pending), 0)
          const waits = yield* Metric.value(metrics.waitTime)
          assert.strictEqual(waits.count, 5)
          assert.isAbove(waits.max, 0)

          const timeoutPool = (yield* PoolM.make({
            connect: connectInput(server, name),
            name: `${name}_t`,
            min: 1,
            max: 1,
            acquireTimeout: "50 millis",
            maintenanceInterval: "20 millis"
          })).pool
          // The holder takes the connection `min` opened, so its own borrow cannot time out.
          yield* eventually(
            "the connection is open",
            Effect.map(timeoutPool.stats, (s) => s.idle === 1)
          )
          const blocker = yield* Deferred.make<void>()
          const held = yield* Effect.forkChild(timeoutPool.withConnection(() => Deferred.await(blocker)))
          yield* eventually(
            "held",
            Effect.map(timeoutPool.stats, (s) => s.inUse === 1)
          )
          yield* Effect.flip(timeoutPool.query("select 1"))
          assert.strictEqual((yield* Metric.value(PoolM.poolMetrics(`${name}_t`).timeouts)).count, 1)
          yield* Deferred.succeed(blocker, undefined)
          yield* Fiber.join(held)
        })
      )
      assert.strictEqual((yield* Metric.value(metrics.created)).count, 2)
      assert.strictEqual((yield* Metric.value(metrics.closed("shutdown"))).count, 2)
      assert.strictEqual(yield* gauge(metrics.idle), 0)
    })
  )
})
