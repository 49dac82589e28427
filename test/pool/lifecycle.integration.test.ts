/**
 * Connection lifecycle in the pool against a real PostgreSQL 18: idle eviction above `min`,
 * retirement at `maxLifetime`, the reset on release (none, DISCARD ALL, an Effect), rolling back a
 * transaction left open, the health check of a connection that stalls (through the TCP proxy),
 * and connections cut under the pool.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Metric } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { makeProxy, PgTestServer } from "../../src/testing/index.ts"
import { appName, backendPids, connectInput, eventually, monitor } from "./support.ts"

const backendPid = (pool: PoolM.NormalPool) =>
  Effect.map(pool.query("select pg_backend_pid()"), ({ rows }) => {
    const pid = rows[0]!.pg_backend_pid
    assert.isNumber(pid)
    return pid as number
  })

layer(PgTestServer.layer({ version: 18, tls: false, backend: "local" }), {
  timeout: 120_000,
  excludeTestServices: true
})("Pool lifecycle (PG18)", (it) => {
  it.effect("idle connections above min are closed after idleTimeout", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const app = appName("pool_idle")
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, app),
        min: 1,
        max: 4,
        idleTimeout: "300 millis",
        maintenanceInterval: "50 millis"
      })
      const watcher = yield* monitor(server)
      yield* Effect.forEach([1, 2, 3, 4], () => pool.query("select pg_sleep(0.1)"), {
        concurrency: "unbounded"
      })
      assert.strictEqual((yield* pool.stats).total, 4)
      assert.strictEqual((yield* backendPids(watcher, app)).length, 4)
      yield* eventually(
        "the pool shrinks to min",
        Effect.map(pool.stats, (s) => s.total === 1 && s.closing === 0)
      )
      yield* eventually(
        "the server sees one connection",
        Effect.map(backendPids(watcher, app), (p) => p.length === 1)
      )
      assert.deepStrictEqual((yield* pool.query("select 1")).rows, [{ "?column?": 1 }])
    })
  )

  it.effect("connections are replaced after maxLifetime", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const app = appName("pool_lifetime")
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, app),
        max: 1,
        maxLifetime: "400 millis",
        lifetimeJitter: "100 millis",
        maintenanceInterval: "50 millis"
      })
      const watcher = yield* monitor(server)
      const first = yield* backendPid(pool)
      yield* eventually(
        "the old connection is closed",
        Effect.map(backendPids(watcher, app), (p) => !p.includes(first))
      )
      const second = yield* backendPid(pool)
      assert.notStrictEqual(second, first)
    })
  )

  it.effect("a connection borrowed past its lifetime is retired when it comes back", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, appName("pool_lifetime_busy")),
        max: 1,
        maxLifetime: "200 millis",
        lifetimeJitter: 0,
        maintenanceInterval: "10 seconds"
      })
      const first = yield* pool.withConnection((c) =>
        Effect.andThen(Effect.sleep("300 millis"), c.query("select pg_backend_pid()"))
      )
      const second = yield* backendPid(pool)
      assert.isNumber(first.rows[0]!.pg_backend_pid)
      assert.notStrictEqual(second, first.rows[0]!.pg_backend_pid)
    })
  )

  it.effect("without a reset a SET survives the borrow; DISCARD ALL and an Effect reset undo it", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const setting = (pool: PoolM.NormalPool) =>
        Effect.map(pool.query("show statement_timeout"), ({ rows }) => rows[0]!.statement_timeout)
      const dirty = (pool: PoolM.NormalPool) => pool.query("set statement_timeout = '123s'")

      const plain = (yield* PoolM.make({ connect: connectInput(server, appName("pool_noreset")), max: 1 }))
        .pool
      yield* dirty(plain)
      assert.strictEqual(yield* setting(plain), "123s")

      const discard = (yield* PoolM.make({
        connect: connectInput(server, appName("pool_discard")),
        max: 1,
        resetOnRelease: "discard-all"
      })).pool
      yield* dirty(discard)
      assert.strictEqual(yield* setting(discard), "0")
      yield* discard.query("create temp table scratch (x int)")
      const tables = yield* discard.query("select count(*) from pg_tables where tablename = 'scratch'")
      assert.deepStrictEqual(tables.rows, [{ count: 0n }])

      let resets = 0
      const custom = (yield* PoolM.make({
        connect: connectInput(server, appName("pool_customreset")),
        max: 1,
        resetOnRelease: (c) =>
          Effect.andThen(
            c.simpleQuery("RESET statement_timeout"),
            Effect.sync(() => resets++)
          )
      })).pool
      yield* dirty(custom)
      assert.strictEqual(yield* setting(custom), "0")
      assert.strictEqual(resets, 2)
    })
  )

  it.effect("a failing reset retires the connection", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, appName("pool_badreset")),
        max: 1,
        resetOnRelease: (c) => c.simpleQuery("select no_such_function()")
      })
      const first = yield* backendPid(pool)
      const second = yield* backendPid(pool)
      assert.notStrictEqual(first, second)
    })
  )

  it.effect("a transaction left open by a borrower is rolled back when the connection comes back", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool, expert } = yield* PoolM.make({
        connect: connectInput(server, appName("pool_opentx")),
        max: 1
      })
      yield* pool.query("create table if not exists left_open (x int)")
      yield* pool.withConnection((c) =>
        Effect.andThen(c.query("begin"), c.query("insert into left_open values (1)"))
      )
      const status = yield* expert.withConnection((c) => c.transactionStatus)
      assert.strictEqual(status, "I")
      assert.deepStrictEqual((yield* pool.query("select count(*) from left_open")).rows, [{ count: 0n }])
    })
  )

  it.effect("a connection that stops answering fails its health check and is replaced", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const proxy = yield* makeProxy({ host: server.host, port: server.port })
      const name = appName("pool_health")
      const { pool } = yield* PoolM.make({
        connect: {
          url: `postgres://${server.user}@127.0.0.1:${proxy.port}/${server.database}?sslmode=disable`
        },
        name,
        max: 1,
        healthCheckAfter: "100 millis",
        checkTimeout: "300 millis",
        acquireTimeout: "20 seconds"
      })
      assert.deepStrictEqual((yield* pool.query("select 1")).rows, [{ "?column?": 1 }])
      yield* Effect.sleep("150 millis")
      yield* proxy.stall
      const query = yield* Effect.forkChild(pool.query("select 2"))
      yield* eventually(
        "the health check gave up",
        Effect.map(pool.stats, (s) => s.creating === 1 || s.closing === 1)
      )
      yield* proxy.resume
      const { rows } = yield* Fiber.join(query)
      assert.deepStrictEqual(rows, [{ "?column?": 2 }])
      // The stalled connection was closed for failing its check (the cancel sent with it also went
      // through the proxy), and a new one served the query.
      assert.strictEqual((yield* Metric.value(PoolM.poolMetrics(name).closed("health"))).count, 1)
      assert.strictEqual((yield* Metric.value(PoolM.poolMetrics(name).created)).count, 2)
    })
  )

  it.effect("connections cut under the pool are replaced", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const proxy = yield* makeProxy({ host: server.host, port: server.port })
      const { pool } = yield* PoolM.make({
        connect: {
          url: `postgres://${server.user}@127.0.0.1:${proxy.port}/${server.database}?sslmode=disable`
        },
        min: 2,
        max: 2,
        maintenanceInterval: "50 millis"
      })
      yield* eventually(
        "two connections",
        Effect.map(proxy.stats, (s) => s.active === 2)
      )
      assert.strictEqual(yield* proxy.cutAll({ reset: true }), 2)
      yield* eventually(
        "two new connections",
        Effect.map(proxy.stats, (s) => s.accepted === 4 && s.active === 2)
      )
      const results = yield* Effect.forEach([1, 2, 3], () => pool.query("select 1"), {
        concurrency: "unbounded"
      })
      assert.strictEqual(results.length, 3)
    })
  )
})
