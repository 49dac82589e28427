/**
 * The pool's role check on fake connections (fakes.ts): a pool whose target_session_attrs is
 * `standby` retires a connection whose reported `in_hot_standby` turns `off` (a promoted
 * standby), when it comes back from a borrow and on the maintenance tick;
 * `prefer-standby` and `any` never retire for the role; unknown parameters are a fit. Also the
 * options: `targetSessionAttrs` is checked and replaces the connection's.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Metric } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { resolveOptions } from "../../src/pool/options.ts"
import { borrow, type FakeConnection, fakePool, makeFakeServer, until } from "./fakes.ts"

let pools = 0
const poolName = () => `roles_${process.pid}_${pools++}`

const roleClosed = (name: string) =>
  Effect.map(Metric.value(PoolM.poolMetrics(name).closed("role")), (state) => state.count)

const standby = (c: FakeConnection) => {
  c.reported.set("in_hot_standby", "on")
  c.reported.set("default_transaction_read_only", "off")
}
const promote = (c: FakeConnection): FakeConnection => {
  c.reported.set("in_hot_standby", "off")
  return c
}

describe("Pool role check (targetSessionAttrs)", () => {
  it.live("standby: a connection promoted during a borrow is retired when it comes back", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const name = poolName()
      const machine = yield* fakePool(server, {
        name,
        targetSessionAttrs: "standby",
        maintenanceInterval: "1 hour"
      })
      assert.strictEqual(machine.config.targetSessionAttrs, "standby")
      assert.strictEqual(machine.settings.monitorReplication, true)
      yield* borrow(machine, (c) => Effect.sync(() => standby(c)))
      assert.strictEqual((yield* machine.stats).idle, 1, "a standby fits")
      const first = yield* borrow(machine, (c) => Effect.sync(() => promote(c)))
      yield* until("retired", () => first.closedByPool)
      assert.strictEqual(yield* roleClosed(name), 1)
      const second = yield* borrow(machine, (c) => Effect.succeed(c.id))
      assert.strictEqual(second, 2, "the next borrower gets a new connection")
    })
  )

  it.live("standby: an idle promoted connection is retired by the maintenance tick", () =>
    Effect.gen(function* () {
      const server = makeFakeServer()
      const name = poolName()
      const machine = yield* fakePool(server, {
        name,
        max: 2,
        targetSessionAttrs: "standby",
        monitorReplication: false,
        maintenanceInterval: "20 millis"
      })
      yield* Effect.all(
        [0, 1].map(() =>
          borrow(machine, (c) =>
            Effect.andThen(
              Effect.sync(() => standby(c)),
              Effect.sleep(5)
            )
          )
        ),
        { concurrency: 2 }
      )
      assert.strictEqual((yield* machine.stats).idle, 2)
      server.connections.forEach(promote)
      yield* until("both retired", () => server.connections.every((c) => c.closedByPool))
      assert.strictEqual(yield* roleClosed(name), 2)
    })
  )

  it.live("prefer-standby and any keep a promoted connection; unknown parameters fit", () =>
    Effect.gen(function* () {
      for (const targetSessionAttrs of ["prefer-standby", "any", "standby"] as const) {
        const server = makeFakeServer()
        const name = poolName()
        const machine = yield* fakePool(server, {
          name,
          targetSessionAttrs,
          maintenanceInterval: "20 millis"
        })
        yield* borrow(machine, (c) =>
          Effect.sync(() => {
            if (targetSessionAttrs !== "standby") promote(c)
            else c.reported.clear() // reports nothing: a fit
          })
        )
        yield* Effect.sleep(60)
        assert.strictEqual(yield* roleClosed(name), 0, targetSessionAttrs)
        assert.strictEqual((yield* machine.stats).idle, 1, targetSessionAttrs)
      }
    })
  )

  it.effect("targetSessionAttrs must be a libpq value", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        resolveOptions({ connect: "postgres://x@y/z", targetSessionAttrs: "replica" as never })
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(
        resolveOptions({ connect: "postgres://x@y/z", targetSessionAttrs: "replica" as never })
      )
      assert.strictEqual(error.key, "pool.targetSessionAttrs")
      const ok = yield* resolveOptions({ connect: "postgres://x@y/z", targetSessionAttrs: "standby" })
      assert.deepStrictEqual([ok.targetSessionAttrs, ok.monitorReplication], ["standby", undefined])
    })
  )
})
