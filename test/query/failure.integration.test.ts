/**
 * Server-side failures against a real server: the backend is terminated while idle and while a
 * query runs. The status goes to Failed, closeFinished fails with 57P01, and every later call
 * fails with PgClosedError (08003) carrying the original error.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"

layer(PgTestServer.layer({ version: 18, tls: false, backend: "local" }), {
  timeout: 120_000,
  excludeTestServices: true
})("server failure (PG18)", (it) => {
  const terminate = (pid: number) =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      if (server.source !== "local") return yield* Effect.die("needs a local server")
      yield* server.terminateBackend(pid)
    })

  it.effect("terminating an idle backend fails the connection with 57P01", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const conn = yield* Expert.connect(server.url)
      const statuses = yield* Effect.forkChild(Stream.runCollect(Stream.take(conn.statusChanges, 3)))
      yield* Effect.sleep("20 millis")
      yield* terminate(conn.processId)
      const finished = yield* Effect.flip(conn.closeFinished)
      assert.strictEqual(finished._tag, "PgServerError")
      if (finished._tag === "PgServerError") assert.strictEqual(finished.code, "57P01")
      const status = yield* conn.status
      assert.strictEqual(status._tag, "Failed")
      if (status._tag === "Failed") assert.isTrue(status.resourcesReleased)
      const later = yield* Effect.flip(conn.query("select 1"))
      assert.strictEqual(later._tag, "PgClosedError")
      if (later._tag === "PgClosedError") {
        assert.strictEqual(later.code, "08003")
        assert.strictEqual(later.original?._tag, "PgServerError")
      }
      const seen = Array.from(yield* Fiber.join(statuses)).map((s) => s._tag)
      assert.deepStrictEqual(seen, ["Open", "Failed", "Failed"])
    })
  )

  it.effect(
    "terminating a backend mid-query fails that query with 57P01 and the queued ones with 08003",
    () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* Expert.connect(server.url)
        const running = yield* Effect.forkChild(Effect.flip(conn.query("select pg_sleep(10)")))
        const queued = yield* Effect.forkChild(Effect.flip(conn.query("select 2")))
        yield* Effect.sleep("200 millis")
        yield* terminate(conn.processId)
        const first = yield* Fiber.join(running)
        assert.strictEqual(first._tag === "PgServerError" && first.code, "57P01")
        const second = yield* Fiber.join(queued)
        assert.strictEqual(second._tag, "PgClosedError")
        const finished = yield* Effect.flip(conn.closeFinished)
        assert.strictEqual(finished._tag === "PgServerError" && finished.code, "57P01")
        const later = yield* Effect.flip(conn.stream("select 1").pipe(Stream.runCollect))
        assert.strictEqual(later._tag, "PgClosedError")
      })
  )

  it.effect("closing while a statement runs stays graceful; the statement fails with PgClosedError", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const conn = yield* Expert.connect(server.url)
      const running = yield* Effect.forkChild(Effect.flip(conn.query("select pg_sleep(0.3)")))
      yield* Effect.sleep("50 millis")
      yield* conn.close
      assert.strictEqual((yield* conn.status)._tag, "ClosedGracefully")
      const e = yield* Fiber.join(running)
      assert.strictEqual(e._tag, "PgClosedError")
      yield* conn.closeFinished
    })
  )

  it.effect("graceful close: Closing then ClosedGracefully, later calls fail with 08003", () =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const conn = yield* Expert.connect(server.url)
      yield* conn.close
      assert.strictEqual((yield* conn.status)._tag, "ClosedGracefully")
      yield* conn.closeFinished
      const later = yield* Effect.flip(conn.query("select 1"))
      assert.strictEqual(later._tag === "PgClosedError" && later.code, "08003")
      assert.isUndefined(later._tag === "PgClosedError" ? later.original : "x")
      yield* conn.close
    })
  )
})
