/**
 * The pool's state machine against in-process fake connections (fakes.ts), through the
 * replaceable connection factory: the order in which waiters are served, the acquire timeout, the
 * retirement of failed, unhealthy and old connections, failed openings, and the shutdown. No
 * server: every opening and every answer is what the test says, so each rule is seen on its own.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Metric, Scope } from "effect"
import { type PgExpertError, PgServerError } from "../../src/Errors.ts"
import * as PoolM from "../../src/Pool.ts"
import type { CloseReason } from "../../src/pool/metrics.ts"
import type { PoolMachine } from "../../src/pool/types.ts"
import {
  borrow,
  type FakeConnection,
  fakePool,
  fakePoolIn,
  fakeUrl,
  makeFakeServer,
  refused,
  until
} from "./fakes.ts"

let pools = 0
/** A unique pool name (metrics are per name). */
const poolName = () => `fake_${process.pid}_${pools++}`

const closedCount = (name: string, reason: CloseReason) =>
  Effect.map(Metric.value(PoolM.poolMetrics(name).closed(reason)), (state) => state.count)

/** Borrows a connection and holds it until `release` completes; `held` completes once it has it. */
const hold = (machine: PoolMachine<FakeConnection>) =>
  Effect.gen(function* () {
    const held = yield* Deferred.make<FakeConnection>()
    const release = yield* Deferred.make<void>()
    const fiber = yield* Effect.forkChild(
      borrow(machine, (c) => Effect.andThen(Deferred.succeed(held, c), Deferred.await(release)))
    )
    const connection = yield* Deferred.await(held)
    return { connection, release: Deferred.succeed(release, undefined), fiber }
  })

const waitingIs = (machine: PoolMachine<FakeConnection>, n: number) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 5_000
    while ((yield* machine.stats).waiting !== n) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`waiting never reached ${n}`))
      yield* Effect.sleep("2 millis")
    }
  })

/** The id of the connection the next borrower gets. */
const lentId = (machine: PoolMachine<FakeConnection>) => borrow(machine, (c) => Effect.succeed(c.id))

/** The counts of a pool with nothing in use, waiting, opening or closing. */
const quiet = (idle: number, max: number): PoolM.PoolStats => ({
  total: idle,
  idle,
  inUse: 0,
  inFlight: 0,
  waiting: 0,
  creating: 0,
  closing: 0,
  min: 0,
  max
})

describe("Pool on fake connections: waiting lines", () => {
  it.live("borrowers are served first come, first served", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const machine = yield* fakePool(server, { max: 1, name: poolName() })
      const holder = yield* hold(machine)
      const order: Array<number> = []
      const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
      for (let i = 0; i < 5; i++) {
        fibers.push(yield* Effect.forkChild(borrow(machine, () => Effect.sync(() => order.push(i)))))
        yield* waitingIs(machine, i + 1)
      }
      yield* holder.release
      for (const fiber of fibers) yield* Fiber.join(fiber)
      assert.deepStrictEqual(order, [0, 1, 2, 3, 4])
      assert.strictEqual(server.attempts(), 1, "one connection served everyone")
      assert.deepStrictEqual(yield* machine.stats, quiet(1, 1))
    })
  )

  it.live("a free connection goes to the head that waited longer, borrower or statement", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const machine = yield* fakePool(server, { max: 1, maxInFlightPerConnection: 1, name: poolName() })
      const holder = yield* hold(machine)
      const order: Array<string> = []
      const statement = (name: string) =>
        machine.oneShot((c) =>
          Effect.andThen(
            Effect.sync(() => order.push(name)),
            c.query("select 1")
          )
        )
      const s1 = yield* Effect.forkChild(statement("s1"))
      yield* waitingIs(machine, 1)
      const b1 = yield* Effect.forkChild(borrow(machine, () => Effect.sync(() => order.push("b1"))))
      yield* waitingIs(machine, 2)
      const s2 = yield* Effect.forkChild(statement("s2"))
      yield* waitingIs(machine, 3)
      yield* holder.release
      yield* Fiber.join(s1)
      yield* Fiber.join(b1)
      yield* Fiber.join(s2)
      assert.deepStrictEqual(order, ["s1", "b1", "s2"])
      const [connection] = server.connections
      assert.isFalse(connection!.shared, "the guard is off once the last statement is done")
    })
  )

  it.live("a borrower that waits longer than acquireTimeout fails with PgPoolTimeoutError", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const machine = yield* fakePool(server, { max: 1, acquireTimeout: "150 millis", name: poolName() })
      const holder = yield* hold(machine)
      const started = Date.now()
      const error = yield* Effect.flip(borrow(machine, () => Effect.void))
      const waited = Date.now() - started
      assert.instanceOf(error, PoolM.PgPoolTimeoutError)
      if (error instanceof PoolM.PgPoolTimeoutError) {
        assert.strictEqual(error.timeoutMillis, 150)
        assert.strictEqual(error.max, 1)
        assert.strictEqual(error.waiting, 1)
      }
      assert.isAtLeast(waited, 140)
      assert.isBelow(waited, 2_000)
      // A one-shot statement finds no room either (the only connection is lent).
      const statementError = yield* Effect.flip(machine.oneShot((c) => c.query("select 1")))
      assert.instanceOf(statementError, PoolM.PgPoolTimeoutError)
      assert.strictEqual((yield* machine.stats).waiting, 0, "timed-out waiters left the line")
      // Nothing was lost: the connection goes to the next borrower at once.
      yield* holder.release
      yield* Fiber.join(holder.fiber)
      assert.strictEqual(yield* lentId(machine), 1)
    })
  )
})

describe("Pool on fake connections: retirement", () => {
  it.live("an idle connection whose status becomes Failed is retired at once and replaced", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const name = poolName()
      const machine = yield* fakePool(server, { max: 2, name })
      assert.strictEqual(yield* lentId(machine), 1)
      const first = server.connections[0]!
      first.fail()
      yield* until("the failed idle connection is gone", () => first.closedByPool)
      yield* Effect.sleep("10 millis")
      assert.strictEqual((yield* machine.stats).total, 0)
      assert.strictEqual(yield* closedCount(name, "failed"), 1)
      assert.strictEqual(yield* lentId(machine), 2)
    })
  )

  it.live("a connection that fails while borrowed is retired when it comes back, not before", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const name = poolName()
      const machine = yield* fakePool(server, { max: 1, name })
      yield* borrow(machine, (c) =>
        Effect.gen(function* () {
          c.fail()
          yield* Effect.sleep("20 millis")
          assert.isFalse(c.closedByPool, "a borrowed connection stays with its borrower")
        })
      )
      yield* until("retired on return", () => server.connections[0]!.closedByPool)
      assert.deepStrictEqual(server.connections[0]!.sent, [], "no check is sent to a failed connection")
      assert.strictEqual(yield* lentId(machine), 2)
      assert.strictEqual(yield* closedCount(name, "failed"), 1)
    })
  )

  it.live(
    "a shared connection that fails is retired at once; its statement fails, the next opens another",
    () =>
      Effect.gen(function* () {
        const server = makeFakeServer()
        const machine = yield* fakePool(server, { max: 1, name: poolName() })
        const stuck = yield* Deferred.make<void>()
        server.answer = (c, sql) =>
          c.id === 1 && sql === "select stuck" ? Deferred.await(stuck) : Effect.void
        const statement = yield* Effect.forkChild(machine.oneShot((c) => c.query("select stuck")))
        yield* until("the statement runs", () => server.connections[0]?.running() === 1)
        assert.isTrue(server.connections[0]!.shared, "the guard is on while statements are shared")
        server.connections[0]!.fail()
        const error = yield* Effect.flip(Fiber.join(statement))
        assert.strictEqual((error as PgExpertError)._tag, "PgClosedError")
        yield* until("retired", () => server.connections[0]!.closedByPool)
        assert.strictEqual(yield* machine.oneShot((c) => Effect.succeed(c.id)), 2)
      })
  )

  it.live("a failed borrow whose settle check does not come back retires the connection, cancelling it", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const name = poolName()
      const machine = yield* fakePool(server, { max: 1, checkTimeout: "100 millis", name })
      // A clean borrow sends nothing on return.
      yield* borrow(machine, () => Effect.void)
      assert.deepStrictEqual(server.connections[0]!.sent, [])
      server.answer = (c, sql) => (c.id === 1 && sql === "" ? Effect.never : Effect.void)
      const started = Date.now()
      yield* Effect.flip(borrow(machine, () => Effect.fail("boom")))
      yield* until("retired after the check", () => server.connections[0]!.closedByPool)
      assert.isAtLeast(Date.now() - started, 90)
      assert.deepStrictEqual(server.connections[0]!.sent, [""])
      assert.isTrue(server.connections[0]!.cancelledOnClose, "closed with a cancel of what still runs")
      assert.strictEqual(yield* closedCount(name, "busy"), 1)
      assert.strictEqual(yield* lentId(machine), 2)
    })
  )

  it.live("a settle check that fails retires the connection; a passing one keeps it", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const name = poolName()
      const machine = yield* fakePool(server, { max: 1, name })
      yield* Effect.flip(borrow(machine, () => Effect.fail("boom")))
      assert.deepStrictEqual(server.connections[0]!.sent, [""], "a failed borrow is checked")
      assert.strictEqual(yield* lentId(machine), 1, "the check passed: kept")
      server.answer = (_, sql) =>
        sql === ""
          ? Effect.fail(new PgServerError({ severity: "ERROR", code: "XX000", message: "no" }))
          : Effect.void
      yield* Effect.flip(borrow(machine, () => Effect.fail("boom")))
      yield* until("retired", () => server.connections[0]!.closedByPool)
      assert.strictEqual(yield* closedCount(name, "busy"), 1)
    })
  )

  it.live("a transaction left open is rolled back on return and the connection kept", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const machine = yield* fakePool(server, { max: 1, name: poolName() })
      yield* borrow(machine, (c) => c.query("BEGIN"))
      const connection = server.connections[0]!
      assert.deepStrictEqual(connection.sent, ["BEGIN", "ROLLBACK"])
      assert.strictEqual(yield* connection.transactionStatus, "I")
      assert.strictEqual(yield* lentId(machine), 1)
    })
  )

  it.live(
    "an idle connection that fails its health check before lending is replaced; the borrower keeps its turn",
    () =>
      Effect.gen(function* () {
        const server = makeFakeServer()
        const name = poolName()
        const machine = yield* fakePool(server, { max: 1, healthCheckAfter: "30 millis", name })
        yield* borrow(machine, () => Effect.void)
        yield* Effect.sleep("60 millis")
        server.answer = (c, sql) =>
          c.id === 1 && sql === ""
            ? Effect.fail(new PgServerError({ severity: "FATAL", code: "57P01", message: "terminating" }))
            : Effect.void
        assert.strictEqual(yield* lentId(machine), 2)
        assert.deepStrictEqual(server.connections[0]!.sent, [""])
        assert.isTrue(server.connections[0]!.cancelledOnClose)
        assert.strictEqual(yield* closedCount(name, "health"), 1)
      })
  )

  it.live("maxLifetime: an idle connection past it is retired by maintenance, a borrowed one on return", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const name = poolName()
      const machine = yield* fakePool(server, {
        max: 1,
        maxLifetime: "150 millis",
        lifetimeJitter: 0,
        maintenanceInterval: "20 millis",
        name
      })
      yield* borrow(machine, () => Effect.void)
      yield* until("the idle connection is retired", () => server.connections[0]!.closedByPool)
      assert.strictEqual(yield* closedCount(name, "lifetime"), 1)
      // Borrowed past its lifetime: maintenance leaves it alone, the return retires it.
      yield* borrow(machine, (c) =>
        Effect.gen(function* () {
          assert.strictEqual(c.id, 2)
          yield* Effect.sleep("250 millis")
          assert.isFalse(c.closedByPool)
        })
      )
      yield* until("retired on return", () => server.connections[1]!.closedByPool)
      assert.strictEqual(yield* closedCount(name, "lifetime"), 2)
      assert.strictEqual(yield* lentId(machine), 3)
    })
  )
})

describe("Pool on fake connections: openings and shutdown", () => {
  it.live("a failed opening fails the oldest waiter with its error; the next opening serves the next", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const error = refused()
      server.opening = (n) =>
        n === 1 ? Effect.andThen(Effect.sleep("50 millis"), Effect.fail(error)) : Effect.sleep("150 millis")
      const machine = yield* fakePool(server, { max: 2, acquireTimeout: "5 seconds", name: poolName() })
      const started = Date.now()
      const a = yield* Effect.forkChild(borrow(machine, () => Effect.void))
      yield* waitingIs(machine, 1)
      const b = yield* Effect.forkChild(borrow(machine, (c) => Effect.succeed(c.id)))
      yield* waitingIs(machine, 2)
      assert.strictEqual((yield* machine.stats).creating, 2)
      assert.strictEqual(yield* Effect.flip(Fiber.join(a)), error)
      assert.isBelow(Date.now() - started, 1_000, "no wait for acquireTimeout")
      assert.strictEqual(yield* Fiber.join(b), 2)
    })
  )

  it.live("when every opening fails, each waiter gets the error, oldest first", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      // The openings fail only once all three borrowers wait (a slow machine must not end one early).
      const gate = yield* Deferred.make<void>()
      server.opening = (n) =>
        Deferred.await(gate).pipe(
          Effect.andThen(Effect.sleep(`${20 * n} millis`)),
          Effect.andThen(Effect.fail(refused(`refused ${n}`)))
        )
      const machine = yield* fakePool(server, { max: 3, acquireTimeout: "5 seconds", name: poolName() })
      const fibers: Array<Fiber.Fiber<void, unknown>> = []
      for (let i = 0; i < 3; i++) {
        fibers.push(yield* Effect.forkChild(borrow(machine, () => Effect.void)))
        yield* waitingIs(machine, i + 1)
      }
      yield* Deferred.succeed(gate, undefined)
      const messages: Array<string> = []
      for (const fiber of fibers) messages.push(((yield* Effect.flip(Fiber.join(fiber))) as Error).message)
      assert.deepStrictEqual(messages, ["refused 1", "refused 2", "refused 3"])
      assert.deepStrictEqual(yield* machine.stats, quiet(0, 3))
    })
  )

  it.live("openings that fail before they yield do not spin: the waiter gets the error, growth pauses", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const error = refused()
      server.opening = () => Effect.fail(error)
      const machine = yield* fakePool(server, { max: 4, name: poolName() })
      assert.strictEqual(yield* Effect.flip(borrow(machine, () => Effect.void)), error)
      assert.strictEqual(yield* Effect.flip(machine.oneShot((c) => c.query("select 1"))), error)
      assert.strictEqual(server.attempts(), 2, "one opening per waiter, no retry loop")
    })
  )

  it.live(
    "a configuration the real dialer refuses at once fails the statement (regression: it spun forever)",
    () =>
      Effect.gen(function* () {
        const { pool } = yield* PoolM.make({
          connect: "postgres://u@127.0.0.1:1/db?sslcertmode=require",
          max: 2
        })
        const error = yield* Effect.flip(pool.query("select 1"))
        assert.strictEqual(error.cause._tag, "PgConfigError")
      })
  )

  it.live("shutdown: idle connections close at once, a borrowed one when it comes back", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const { machine, scope } = yield* fakePoolIn(server, {
        max: 2,
        shutdownTimeout: "10 seconds",
        name: poolName()
      })
      const holder = yield* hold(machine)
      yield* borrow(machine, () => Effect.void) // a second connection, idle now
      const [lent, idle] = server.connections
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* until("the idle connection closes", () => idle!.closedByPool)
      assert.isFalse(lent!.closedByPool, "the borrowed one is still lent")
      assert.isUndefined(closing.pollUnsafe(), "shutdown waits for it")
      const started = Date.now()
      yield* holder.release
      yield* Fiber.join(closing)
      assert.isBelow(Date.now() - started, 1_000)
      assert.isTrue(lent!.closedByPool)
      const after = yield* Effect.flip(borrow(machine, () => Effect.void))
      assert.strictEqual((after as PgExpertError)._tag, "PgClosedError")
    })
  )

  it.live(
    "shutdown: waiters fail with PgClosedError; after shutdownTimeout a borrowed connection is closed",
    () =>
      Effect.gen(function* () {
        const server = makeFakeServer()
        const { machine, scope } = yield* fakePoolIn(server, {
          max: 1,
          shutdownTimeout: "100 millis",
          name: poolName()
        })
        const holder = yield* hold(machine)
        const borrower = yield* Effect.forkChild(borrow(machine, () => Effect.void))
        const statement = yield* Effect.forkChild(machine.oneShot((c) => c.query("select 1")))
        yield* waitingIs(machine, 2)
        const started = Date.now()
        const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
        const errors = [
          yield* Effect.flip(Fiber.join(borrower)),
          yield* Effect.flip(Fiber.join(statement))
        ] as ReadonlyArray<PgExpertError>
        for (const error of errors) {
          assert.strictEqual(error._tag, "PgClosedError")
          assert.strictEqual(error.message, "the pool is closed")
        }
        yield* Fiber.join(closing)
        assert.isAtLeast(Date.now() - started, 90)
        assert.isTrue(holder.connection.closedByPool, "closed although its borrower still holds it")
        yield* holder.release
        yield* Fiber.join(holder.fiber)
        assert.strictEqual(server.attempts(), 1)
      })
  )
})

describe("Pool.PoolConnector", () => {
  it.live("the default dials real servers; Pool.make opens its connections through the one provided", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* PoolM.PoolConnector, PoolM.dialConnector)
      const hosts: Array<string | undefined> = []
      const error = refused()
      const connector: PoolM.PoolConnectorService = {
        open: (config) =>
          Effect.andThen(
            Effect.sync(() => hosts.push(config.hosts[0]?.host)),
            Effect.fail(error)
          )
      }
      const { pool, expert } = yield* PoolM.make({ connect: fakeUrl, max: 1 }).pipe(
        Effect.provideService(PoolM.PoolConnector, connector)
      )
      assert.strictEqual(yield* Effect.flip(expert.query("select 1")), error)
      const normal = yield* Effect.flip(pool.query("select 1"))
      assert.strictEqual(normal.cause, error)
      assert.include(normal.message, "select 1")
      assert.deepStrictEqual(hosts, ["fake.invalid", "fake.invalid"])
    })
  )
})
