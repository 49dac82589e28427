/**
 * One-shot statements on shared connections against a real PostgreSQL 18: `max` still holds on
 * the server under 1,000 concurrent statements, statements pipeline past `max` but never past
 * `maxInFlightPerConnection`, a failing, timed-out or interrupted statement leaves its neighbours
 * and its connection alone, a BEGIN sent as a statement pulls nobody into its transaction, a
 * borrower and a transaction still get a connection of their own under a steady flow of
 * statements, a shared connection past its lifetime is drained and replaced without failing a
 * statement, and a backend killed under shared statements is replaced.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Metric } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, backendPids, connectInput, eventually, monitor } from "./support.ts"

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

layer(PgTestServer.layer({ version: 18, tls: false, backend: "local" }), {
  timeout: 120_000,
  excludeTestServices: true
})("Pool one-shot statements (PG18)", (it) => {
  it.effect(
    "1,000 concurrent statements never exceed max backends and pipeline within the per-connection limit",
    () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const app = appName("oneshot_max")
        const { pool } = yield* PoolM.make({
          connect: connectInput(server, app),
          max: 4,
          maxInFlightPerConnection: 8
        })
        const watcher = yield* monitor(server)
        let sampling = true
        let serverPeak = 0
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
        let peakInFlight = 0
        let peakWaiting = 0
        let peakTotal = 0
        const values = yield* Effect.forEach(
          range(1_000),
          (i) =>
            Effect.gen(function* () {
              const { rows } = yield* pool.query("select $1::int, pg_sleep(0.0005)", [String(i)])
              const s = yield* pool.stats
              peakInFlight = Math.max(peakInFlight, s.inFlight)
              peakWaiting = Math.max(peakWaiting, s.waiting)
              peakTotal = Math.max(peakTotal, s.total)
              return rows[0]!.int4
            }),
          { concurrency: "unbounded" }
        )
        sampling = false
        yield* Fiber.join(sampler)
        assert.deepStrictEqual(values, range(1_000))
        assert.isAtMost(serverPeak, 4)
        assert.isAtMost(peakTotal, 4)
        // More statements in flight than connections: they were pipelined...
        assert.isAbove(peakInFlight, 4)
        // ...but never more than 8 per connection; the rest waited in line.
        assert.isAtMost(peakInFlight, 32)
        assert.isAbove(peakWaiting, 0)
        const after = yield* pool.stats
        assert.strictEqual(after.inUse, 0)
        assert.strictEqual(after.inFlight, 0)
        assert.strictEqual(after.waiting, 0)
        assert.isAtMost((yield* backendPids(watcher, app)).length, 4)
      })
  )

  it.effect("below max, concurrent statements get connections of their own before they pipeline", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({ connect: connectInput(server, appName("oneshot_grow")), max: 4 })
      const pids = yield* Effect.forEach(
        range(4),
        () =>
          Effect.map(
            pool.query("select pg_backend_pid(), pg_sleep(0.1)"),
            ({ rows }) => rows[0]!.pg_backend_pid
          ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(new Set(pids).size, 4)
      assert.strictEqual((yield* pool.stats).total, 4)
    })
  )

  it.effect("maxInFlightPerConnection 1 sends one statement per connection at a time", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, appName("oneshot_one")),
        max: 2,
        maxInFlightPerConnection: 1
      })
      let peak = 0
      yield* Effect.forEach(
        range(100),
        (i) =>
          Effect.andThen(pool.query("select $1::int", [String(i)]), pool.stats).pipe(
            Effect.tap((s) => Effect.sync(() => (peak = Math.max(peak, s.inFlight))))
          ),
        { concurrency: "unbounded" }
      )
      assert.isAtMost(peak, 2)
    })
  )

  it.effect("a failing statement does not poison the statements next to it nor retire the connection", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const name = appName("oneshot_fail")
      const { pool } = yield* PoolM.make({ connect: connectInput(server, name), name, max: 1 })
      const outcomes = yield* Effect.forEach(
        range(300),
        (i) =>
          Effect.exit(i % 3 === 0 ? pool.query("select 1/0") : pool.query("select $1::int", [String(i)])),
        { concurrency: "unbounded" }
      )
      let failures = 0
      outcomes.forEach((exit, i) => {
        if (i % 3 === 0) {
          assert.isTrue(Exit.isFailure(exit))
          if (Exit.isFailure(exit)) {
            const error = exit.cause.reasons[0]
            assert.strictEqual(error?._tag === "Fail" && error.error.code, "22012")
            failures++
          }
        } else {
          assert.isTrue(Exit.isSuccess(exit))
          if (Exit.isSuccess(exit)) assert.strictEqual(exit.value.rows[0]!.int4, i)
        }
      })
      assert.strictEqual(failures, 100)
      const metrics = PoolM.poolMetrics(name)
      assert.strictEqual((yield* Metric.value(metrics.created)).count, 1)
      assert.strictEqual((yield* Metric.value(metrics.closed("busy"))).count, 0)
      assert.deepStrictEqual((yield* pool.query("select 7")).rows, [{ "?column?": 7 }])
    })
  )

  it.effect("a timed-out or interrupted statement leaves the shared connection usable", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const app = appName("oneshot_interrupt")
      const { pool } = yield* PoolM.make({ connect: connectInput(server, app), name: app, max: 1 })
      const pid = (yield* pool.query("select pg_backend_pid()")).rows[0]!.pg_backend_pid
      // Alone on its connection: cancelled on the server, reported as a timeout.
      const timedOut = yield* Effect.flip(pool.query("select pg_sleep(5)", [], { timeout: "100 millis" }))
      assert.strictEqual(timedOut._tag === "PgError" && timedOut.cause._tag, "PgTimeoutError")
      // With neighbours: the interrupted one drains, the others get their answers.
      const slow = yield* Effect.forkChild(pool.query("select pg_sleep(0.3)"))
      const neighbours = yield* Effect.forkChild(
        Effect.forEach(range(20), (i) => pool.query("select $1::int", [String(i)]), {
          concurrency: "unbounded"
        })
      )
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(slow)
      const answers = yield* Fiber.join(neighbours)
      assert.deepStrictEqual(
        answers.map((r) => r.rows[0]!.int4),
        range(20)
      )
      yield* eventually(
        "the connection is idle again",
        Effect.map(pool.stats, (s) => s.idle === 1 && s.inFlight === 0)
      )
      assert.strictEqual((yield* pool.query("select pg_backend_pid()")).rows[0]!.pg_backend_pid, pid)
      assert.strictEqual((yield* Metric.value(PoolM.poolMetrics(app).created)).count, 1)
    })
  )

  it.effect("a BEGIN sent as a statement pulls no other statement into its transaction", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool, expert } = yield* PoolM.make({
        connect: connectInput(server, appName("oneshot_begin")),
        max: 1
      })
      yield* pool.simpleQuery("drop table if exists oneshot_begin; create table oneshot_begin (x int)")
      yield* Effect.forEach(
        range(50),
        (i) =>
          Effect.asVoid<unknown, unknown, never>(
            i === 10
              ? pool.query("begin")
              : i === 20
                ? pool.simpleQuery("start transaction; select 1")
                : pool.query("insert into oneshot_begin values ($1)", [String(i)])
          ),
        { concurrency: "unbounded" }
      )
      const { rows } = yield* pool.query("select count(*) from oneshot_begin")
      assert.deepStrictEqual(rows, [{ count: 48n }])
      assert.strictEqual(yield* expert.withConnection((c) => c.transactionStatus), "I")
    })
  )

  it.effect("a transaction gets a connection of its own while statements keep flowing", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, appName("oneshot_tx")),
        max: 2,
        acquireTimeout: "5 seconds"
      })
      yield* pool.simpleQuery("drop table if exists oneshot_tx; create table oneshot_tx (x int)")
      let running = true
      const seen: Array<{ readonly pid: number; readonly count: bigint }> = []
      const worker = Effect.whileLoop({
        while: () => running,
        body: () =>
          Effect.map(pool.query("select pg_backend_pid(), count(*) from oneshot_tx"), ({ rows }) => {
            seen.push({ pid: rows[0]!.pg_backend_pid as number, count: rows[0]!.count as bigint })
          }),
        step: () => {}
      })
      const workers = yield* Effect.forEach(range(20), () => Effect.forkChild(worker))
      yield* eventually(
        "statements flow",
        Effect.sync(() => seen.length > 100)
      )
      const inside = yield* Deferred.make<void>()
      const started = Date.now()
      const transaction = yield* Effect.forkChild(
        pool.withTransaction((tx) =>
          Effect.gen(function* () {
            yield* tx.query("insert into oneshot_tx values (1)")
            const pid = (yield* tx.query("select pg_backend_pid()")).rows[0]!.pg_backend_pid
            const before = seen.length
            yield* Deferred.succeed(inside, undefined)
            yield* Effect.sleep("200 millis")
            return { pid, during: seen.slice(before) }
          })
        )
      )
      yield* Deferred.await(inside)
      assert.isBelow(Date.now() - started, 5_000)
      const { pid, during } = yield* Fiber.join(transaction)
      // Statements went on, on the other connection, and none of them saw the uncommitted row.
      assert.isAbove(during.length, 0)
      assert.isTrue(during.every((s) => s.pid !== pid && s.count === 0n))
      yield* eventually(
        "the committed row is seen",
        Effect.sync(() => seen.at(-1)?.count === 1n)
      )
      running = false
      yield* Fiber.joinAll(workers)
    })
  )

  it.effect("a borrower waiting behind shared connections gets one within one connection's pipeline", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const { pool } = yield* PoolM.make({
        connect: connectInput(server, appName("oneshot_borrow")),
        max: 1,
        acquireTimeout: "5 seconds"
      })
      let running = true
      let done = 0
      const worker = Effect.whileLoop({
        while: () => running,
        body: () => Effect.map(pool.query("select pg_sleep(0.001)"), () => void done++),
        step: () => {}
      })
      const workers = yield* Effect.forEach(range(30), () => Effect.forkChild(worker))
      yield* eventually(
        "statements flow",
        Effect.sync(() => done > 100)
      )
      const held = yield* pool.withConnection((c) =>
        Effect.gen(function* () {
          const stats = yield* pool.stats
          const { rows } = yield* c.query("select 1")
          return { stats, rows }
        })
      )
      assert.deepStrictEqual(held.rows, [{ "?column?": 1 }])
      assert.strictEqual(held.stats.inFlight, 0)
      assert.isAbove(held.stats.waiting, 0)
      const afterBorrow = done
      yield* eventually(
        "statements flow again",
        Effect.sync(() => done > afterBorrow + 100)
      )
      running = false
      yield* Fiber.joinAll(workers)
    })
  )

  it.effect(
    "a shared connection past its lifetime takes no new statements and is replaced once drained",
    () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const name = appName("oneshot_lifetime")
        const { pool } = yield* PoolM.make({
          connect: connectInput(server, name),
          name,
          max: 1,
          maxLifetime: "300 millis",
          lifetimeJitter: 0,
          maintenanceInterval: "50 millis"
        })
        let running = true
        const pids = new Set<number>()
        const worker = Effect.whileLoop({
          while: () => running,
          body: () =>
            Effect.map(pool.query("select pg_backend_pid(), pg_sleep(0.001)"), ({ rows }) => {
              pids.add(rows[0]!.pg_backend_pid as number)
            }),
          step: () => {}
        })
        const workers = yield* Effect.forEach(range(10), () => Effect.forkChild(worker))
        yield* eventually(
          "a second backend served statements",
          Effect.sync(() => pids.size >= 2)
        )
        running = false
        // Every statement succeeded (a failure would have ended its worker with an error).
        yield* Fiber.joinAll(workers)
        assert.isAtLeast((yield* Metric.value(PoolM.poolMetrics(name).closed("lifetime"))).count, 1)
        assert.isAtMost((yield* pool.stats).total, 1)
      })
  )

  it.effect("a backend killed under shared statements fails only its statements and is replaced", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      if (server.source !== "local")
        return yield* Effect.die('this test needs a server started here (backend: "local")')
      const app = appName("oneshot_kill")
      const { pool } = yield* PoolM.make({ connect: connectInput(server, app), max: 2 })
      const watcher = yield* monitor(server)
      const jobs = yield* Effect.forkChild(
        Effect.forEach(
          range(200),
          (i) => Effect.exit(pool.query("select $1::int, pg_sleep(0.01)", [String(i)])),
          {
            concurrency: "unbounded"
          }
        )
      )
      yield* eventually(
        "both connections carry statements",
        Effect.map(backendPids(watcher, app), (pids) => pids.length === 2)
      )
      const [victim] = yield* backendPids(watcher, app)
      yield* server.terminateBackend(victim!)
      const exits = yield* Fiber.join(jobs)
      const failed = exits.filter(Exit.isFailure)
      assert.isAbove(exits.length - failed.length, 0)
      for (const exit of failed) {
        const reason = exit.cause.reasons[0]
        assert.isTrue(reason?._tag === "Fail" && reason.error._tag === "PgError")
      }
      yield* eventually(
        "the pool settles",
        Effect.map(
          pool.stats,
          (s) => s.inUse === 0 && s.closing === 0 && s.creating === 0 && s.inFlight === 0
        )
      )
      const results = yield* Effect.forEach(range(20), (i) => pool.query("select $1::int", [String(i)]), {
        concurrency: "unbounded"
      })
      assert.strictEqual(results.length, 20)
      const pids = yield* backendPids(watcher, app)
      assert.isAtMost(pids.length, 2)
      assert.isFalse(pids.includes(victim!))
    })
  )
})
