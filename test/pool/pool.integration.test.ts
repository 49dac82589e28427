/**
 * The pool against a real PostgreSQL 18: throttling to `max` (counted on the server), FIFO
 * waiters, the acquire timeout, replacement of terminated connections, random interruption
 * without leaks, and busy connections left behind by interrupted borrowers.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Metric, Option, Random, Stream } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, backendPids, connectInput, eventually, monitor } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false, backend: "local" }), {
  timeout: 120_000,
  excludeTestServices: true
})("Pool (PG18)", (it) => {
  it.effect("never holds more than max connections under 1,000 concurrent borrowers", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const app = appName("pool_max")
      const { pool } = yield* PoolM.make({ connect: connectInput(server, app), max: 5 })
      const watcher = yield* monitor(server)
      let active = 0
      let peak = 0
      let serverPeak = 0
      let sampling = true
      const sampler = yield* Effect.forkChild(
        Effect.whileLoop({
          while: () => sampling,
          body: () =>
            Effect.andThen(backendPids(watcher, app), (pids) => {
              serverPeak = Math.max(serverPeak, pids.length)
              return Effect.sleep("5 millis")
            }),
          step: () => {}
        })
      )
      const results = yield* Effect.forEach(
        Array.from({ length: 1_000 }, (_, i) => i),
        (i) =>
          pool.withConnection((c) =>
            Effect.gen(function* () {
              active++
              peak = Math.max(peak, active)
              const { rows } = yield* c.query("select $1::int, pg_sleep(0.001)", [String(i)])
              active--
              return rows[0]!.int4
            })
          ),
        { concurrency: "unbounded" }
      )
      sampling = false
      yield* Fiber.join(sampler)
      assert.strictEqual(results.length, 1_000)
      assert.deepStrictEqual(results.slice(0, 3), [0, 1, 2])
      assert.isAtMost(peak, 5)
      assert.isAtLeast(peak, 2)
      assert.isAtMost(serverPeak, 5)
      assert.isAtMost((yield* backendPids(watcher, app)).length, 5)
      const stats = yield* pool.stats
      assert.strictEqual(stats.inUse, 0)
      assert.strictEqual(stats.waiting, 0)
      assert.isAtMost(stats.total, 5)
    })
  )

  it.effect("waiters are served in FIFO order", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({ connect: connectInput(server, appName("pool_fifo")), max: 1 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.forkChild(pool.withConnection(() => Deferred.await(gate)))
      yield* eventually(
        "the holder has the connection",
        Effect.map(pool.stats, (s) => s.inUse === 1)
      )
      const order: Array<number> = []
      const waiters: Array<Fiber.Fiber<number, unknown>> = []
      for (let i = 0; i < 20; i++) {
        waiters.push(yield* Effect.forkChild(pool.withConnection(() => Effect.sync(() => order.push(i)))))
        yield* eventually(
          `waiter ${i} is in line`,
          Effect.map(pool.stats, (s) => s.waiting === i + 1)
        )
      }
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.joinAll(waiters)
      assert.deepStrictEqual(
        order,
        Array.from({ length: 20 }, (_, i) => i)
      )
    })
  )

  it.effect("a borrower that waits longer than acquireTimeout fails with PgPoolTimeoutError", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool, expert } = yield* PoolM.make({
        connect: connectInput(server, appName("pool_timeout")),
        min: 1,
        max: 1,
        acquireTimeout: "200 millis",
        maintenanceInterval: "20 millis"
      })
      // The holder takes the connection `min` opened, so its own borrow cannot time out.
      yield* eventually(
        "the connection is open",
        Effect.map(pool.stats, (s) => s.idle === 1)
      )
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.forkChild(pool.withConnection(() => Deferred.await(gate)))
      yield* eventually(
        "the holder has the connection",
        Effect.map(pool.stats, (s) => s.inUse === 1)
      )
      const normal = yield* Effect.flip(pool.query("select 1"))
      assert.strictEqual(normal._tag, "PgError")
      const error = normal.cause
      assert.strictEqual(error._tag, "PgPoolTimeoutError")
      if (error._tag === "PgPoolTimeoutError") {
        assert.strictEqual(error.timeoutMillis, 200)
        assert.strictEqual(error.waiting, 1)
        assert.strictEqual(error.max, 1)
        assert.match(error.message, /within 200 ms/)
      }
      const expertError = yield* Effect.flip(expert.query("select 1"))
      assert.strictEqual(expertError._tag, "PgPoolTimeoutError")
      assert.strictEqual((yield* pool.stats).waiting, 0)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      assert.deepStrictEqual((yield* pool.query("select 1")).rows, [{ "?column?": 1 }])
    })
  )

  it.effect("terminated connections, idle or busy, are replaced", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      if (server.source !== "local")
        return yield* Effect.die('this test needs a server started here (backend: "local")')
      const app = appName("pool_terminate")
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, app),
        min: 3,
        max: 3,
        maintenanceInterval: "50 millis"
      })
      const watcher = yield* monitor(server)
      yield* eventually(
        "min connections open",
        Effect.map(backendPids(watcher, app), (p) => p.length === 3)
      )
      const before = yield* backendPids(watcher, app)
      yield* Effect.forEach(before, (pid) => server.terminateBackend(pid))
      yield* eventually(
        "three new backends replace the terminated ones",
        Effect.map(
          backendPids(watcher, app),
          (pids) => pids.length === 3 && pids.every((p) => !before.includes(p))
        )
      )
      const results = yield* Effect.forEach(
        [1, 2, 3, 4, 5, 6],
        (i) => pool.query("select $1::int", [String(i)]),
        {
          concurrency: "unbounded"
        }
      )
      assert.strictEqual(results.length, 6)

      // A backend terminated while its borrower runs a query: that borrower fails with 57P01,
      // the connection is retired on release and replaced.
      const busy = yield* Effect.forkChild(
        Effect.flip(pool.withConnection((c) => c.query("select pg_sleep(30)")))
      )
      yield* eventually(
        "the sleeping query runs",
        Effect.map(
          watcher.query(
            "select count(*) from pg_stat_activity where application_name = $1 and query like 'select pg_sleep(30)%'",
            [app]
          ),
          ({ rows }) => rows[0]!.count === 1n
        )
      )
      const sleeping = yield* watcher.query(
        "select pid from pg_stat_activity where application_name = $1 and query like 'select pg_sleep(30)%'",
        [app]
      )
      yield* server.terminateBackend(sleeping.rows[0]!.pid as number)
      const error = yield* Fiber.join(busy)
      assert.strictEqual(error._tag === "PgError" && error.code, "57P01")
      yield* eventually(
        "the pool is back to three open connections",
        Effect.map(pool.stats, (s) => s.total === 3 && s.inUse === 0)
      )
      assert.deepStrictEqual((yield* pool.query("select 1")).rows, [{ "?column?": 1 }])
    })
  )

  it.effect("interrupting borrowers at random never leaks a connection", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const app = appName("pool_interrupt")
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, app),
        max: 4,
        checkTimeout: "2 seconds"
      })
      const watcher = yield* monitor(server)
      const job = (i: number) => {
        switch (i % 4) {
          case 0:
            return pool.query("select pg_sleep($1::float8 / 1000)", [String(i % 7)])
          case 1:
            return Stream.runDrain(pool.stream("select generate_series(1, 20000)"))
          case 2:
            return pool.withTransaction((tx) => tx.query("select pg_sleep(0.003)"))
          default:
            return pool.withConnection((c) =>
              Effect.andThen(c.query("select 1"), c.query("select pg_sleep(0.002)"))
            )
        }
      }
      const fibers = yield* Effect.forEach(
        Array.from({ length: 300 }, (_, i) => i),
        (i) => Effect.forkChild(Effect.ignore(job(i)))
      )
      for (const fiber of fibers) {
        if (yield* Random.nextBoolean) {
          yield* Effect.sleep(`${yield* Random.nextIntBetween(0, 3)} millis`)
          yield* Fiber.interrupt(fiber)
        }
      }
      yield* Fiber.awaitAll(fibers)
      yield* eventually(
        "every connection is back or closed",
        Effect.map(pool.stats, (s) => s.inUse === 0 && s.waiting === 0 && s.closing === 0 && s.creating === 0)
      )
      const stats = yield* pool.stats
      assert.isAtMost(stats.total, 4)
      yield* eventually(
        "the server sees exactly the pool's connections",
        Effect.map(backendPids(watcher, app), (pids) => pids.length === stats.total)
      )
      const after = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => pool.query("select $1::int", [String(i)]),
        {
          concurrency: "unbounded"
        }
      )
      assert.strictEqual(after.length, 20)
      assert.strictEqual((yield* pool.stats).inUse, 0)
    })
  )

  it.effect("an interrupted long query does not keep the pool's only connection", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const app = appName("pool_cancel")
      const { pool } = yield* PoolM.make({ connect: connectInput(server, app), max: 1 })
      const watcher = yield* monitor(server)
      const long = yield* Effect.forkChild(pool.query("select pg_sleep(30)"))
      yield* eventually(
        "the query holds the connection",
        Effect.map(pool.stats, (s) => s.inUse === 1)
      )
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(long)
      // The statement was cancelled on the server, not left to run its 30 seconds.
      const running = yield* watcher.query(
        "select count(*) from pg_stat_activity where application_name = $1 and state = 'active'",
        [app]
      )
      assert.deepStrictEqual(running.rows, [{ count: 0n }])
      assert.deepStrictEqual((yield* pool.query("select 2")).rows, [{ "?column?": 2 }])
    })
  )

  it.effect("a connection left busy by a failed borrower is retired, not lent while it drains", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const app = appName("pool_busy")
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, app),
        name: app,
        max: 1,
        checkTimeout: "300 millis"
      })
      const watcher = yield* monitor(server)
      const [first] = yield* Effect.map(pool.query("select pg_backend_pid()"), ({ rows }) =>
        rows.map((r) => r.pg_backend_pid)
      )
      // The borrower starts a statement it does not wait for, then fails: the statement keeps
      // the connection busy for seconds after the borrow ended.
      const failed = yield* Effect.flip(
        pool.withConnection((c) =>
          Effect.andThen(
            Effect.forkDetach(Effect.ignore(c.query("select pg_sleep(5)")), { startImmediately: true }),
            Effect.fail("gave up")
          )
        )
      )
      assert.strictEqual(failed, "gave up")
      const { rows } = yield* pool.query("select pg_backend_pid()")
      assert.isNumber(first)
      assert.notStrictEqual(rows[0]!.pg_backend_pid, first)
      assert.strictEqual((yield* Metric.value(PoolM.poolMetrics(app).closed("busy"))).count, 1)
      yield* eventually(
        "the busy backend is gone",
        Effect.map(
          backendPids(watcher, app),
          (pids) => pids.length === 1 && pids[0] === rows[0]!.pg_backend_pid
        )
      )
    })
  )

  it.effect("COPY, LISTEN and NOTIFY through the pool", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({ connect: connectInput(server, appName("pool_copy")), max: 2 })
      yield* pool.simpleQuery("drop table if exists pool_copy; create table pool_copy (a int, b text)")
      const done = yield* pool.copyInRows(
        { table: "pool_copy", columns: ["a", "b"] },
        Stream.fromIterable([
          ["1", "one"],
          ["2", null]
        ])
      )
      assert.strictEqual(done.rows, 2)
      const back = yield* Stream.runCollect(
        pool.copyOutRows("copy (select a, b from pool_copy order by a) to stdout")
      )
      assert.deepStrictEqual(Array.from(back), [
        ["1", "one"],
        ["2", null]
      ])
      const bytes = yield* Stream.runCollect(pool.copyOut("copy (select 7) to stdout"))
      assert.strictEqual(new TextDecoder().decode(bytes[0]), "7\n")

      const received = yield* Effect.scoped(
        Effect.gen(function* () {
          const notifications = yield* pool.listen("pool_channel")
          const first = yield* Effect.forkChild(Stream.runHead(notifications))
          yield* pool.notify("pool_channel", "hello")
          return yield* Fiber.join(first)
        })
      )
      assert.strictEqual(Option.getOrUndefined(received)?.payload, "hello")
      yield* eventually(
        "both connections are back",
        Effect.map(pool.stats, (s) => s.inUse === 0)
      )
    })
  )
})
