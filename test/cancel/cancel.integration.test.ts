/**
 * Cancelling statements against real servers (PG18 with protocol 3.2's long cancel keys, PG15
 * with 3.0's): `cancel` and fiber interruption stop `pg_sleep(10)` within a second with 57014 and
 * the connection works after; the CancelRequest goes over TLS when the session does
 * (sslmode=require; witnessed by the bytes a proxy forwarded); the `timeout` option fails with
 * PgTimeoutError and no late cancel hits the next statement; a timeout on a queued request does
 * not cancel the one running; a timeout against a server that stopped answering still returns and
 * fails the connection; `closeWith({ cancelRunning })` stops the server's work, plain close does not.
 */
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Stream } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { makeProxy, PgTestServer, type PgTestServerInfo } from "../../src/testing/index.ts"

const connect = Effect.gen(function* () {
  const server = yield* PgTestServer.PgTestServer
  return yield* Expert.connect(server.url)
})

const viaProxy = (server: PgTestServerInfo, port: number, query = "") =>
  `postgres://${server.user}@127.0.0.1:${port}/${server.database}${query}`

const usable = (conn: ExpertConnection) =>
  Effect.gen(function* () {
    assert.deepStrictEqual((yield* conn.query("select 'still in sync'")).rows, [
      { "?column?": "still in sync" }
    ])
    assert.strictEqual((yield* conn.status)._tag, "Open")
  })

/** Milliseconds taken by `effect`, with its exit. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = Date.now()
    const exit = yield* Effect.exit(effect)
    return { exit, millis: Date.now() - started }
  })

/** Waits until backend `pid` runs a statement (state active), so a cancel has something to hit. */
const running = (observer: ExpertConnection, pid: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < 400; i++) {
      const r = yield* observer.query("select state, query from pg_stat_activity where pid = $1", [
        String(pid)
      ])
      if (r.rows[0]?.state === "active" && String(r.rows[0]?.query).includes("pg_sleep")) return
      yield* Effect.sleep("10 millis")
    }
    assert.fail(`backend ${pid} never became active`)
  })

const stateOf = (observer: ExpertConnection, pid: number) =>
  Effect.map(observer.query("select state from pg_stat_activity where pid = $1", [String(pid)]), (r) =>
    r.rows.length === 0 ? "gone" : String(r.rows[0]!.state)
  )

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, tls: false }), { timeout: 120_000, excludeTestServices: true })(
    `cancel (PG${version})`,
    (it) => {
      it.effect("cancel stops pg_sleep(10) within a second with 57014; the connection works after", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const observer = yield* connect
          const sleeping = yield* Effect.forkChild(conn.query("select pg_sleep(10)"))
          yield* running(observer, conn.processId)
          const started = Date.now()
          yield* conn.cancel
          const e = yield* Effect.flip(Fiber.join(sleeping))
          assert.isBelow(Date.now() - started, 1000)
          assert.strictEqual(e._tag === "PgServerError" && e.code, "57014")
          yield* usable(conn)
        })
      )

      it.effect("interrupting the fiber cancels on the server: back within a second, backend idle", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const observer = yield* connect
          const sleeping = yield* Effect.forkChild(conn.query("select pg_sleep(10)"))
          yield* running(observer, conn.processId)
          const { millis } = yield* timed(Fiber.interrupt(sleeping))
          assert.isBelow(millis, 1000)
          assert.strictEqual(yield* stateOf(observer, conn.processId), "idle")
          yield* usable(conn)
        })
      )

      it.effect(
        "the timeout option: PgTimeoutError, usable after, and no late cancel hits the next query",
        () =>
          Effect.gen(function* () {
            const conn = yield* connect
            for (let i = 0; i < 10; i++) {
              const { exit, millis } = yield* timed(
                conn.query("select pg_sleep(10)", [], { timeout: "100 millis" })
              )
              assert.isBelow(millis, 1000)
              assert.isTrue(exit._tag === "Failure")
              const e = yield* Effect.flip(exit)
              assert.strictEqual(e._tag, "PgTimeoutError")
              if (e._tag === "PgTimeoutError") {
                assert.isTrue(e.cancelSent)
                assert.strictEqual(e.timeoutMillis, 100)
              }
              // Sent right away, and slow enough that a stray cancel would land on it.
              const next = yield* conn.query("select pg_sleep(0.05), $1::text", [String(i)])
              assert.deepStrictEqual(next.rows, [{ pg_sleep: "", text: String(i) }])
            }
            const simple = yield* Effect.flip(
              conn.simpleQuery("select 1; select pg_sleep(10)", { timeout: "100 millis" })
            )
            assert.strictEqual(simple._tag, "PgTimeoutError")
            const noData = yield* Effect.flip(
              conn.queryExpectNoData("do $$ begin perform pg_sleep(10); end $$", [], {
                timeout: "100 millis"
              })
            )
            assert.strictEqual(noData._tag, "PgTimeoutError")
            // A statement that ends in time is not affected by its timeout.
            const quick = yield* conn.query("select 42", [], { timeout: "5 seconds" })
            assert.deepStrictEqual(quick.rows, [{ "?column?": 42 }])
            yield* usable(conn)
          })
      )
    }
  )
}

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "cancel and close (PG18)",
  (it) => {
    it.effect("a timeout on a pipelined request does not cancel the one running before it", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        const first = yield* Effect.forkChild(conn.query("select pg_sleep(2), 'first'"))
        yield* Effect.sleep("50 millis")
        // Written behind the sleep, so it cannot be withdrawn; its outcome is not known within the
        // timeout and the slack: it may still run, and says so.
        const { exit, millis } = yield* timed(conn.query("select 'second'", [], { timeout: "100 millis" }))
        const e = yield* Effect.flip(exit)
        assert.isBelow(millis, 1800)
        assert.strictEqual(e._tag, "PgTimeoutError")
        if (e._tag === "PgTimeoutError") {
          assert.isFalse(e.cancelSent)
          assert.strictEqual(e.outcome, "unknown")
          assert.isTrue(e.mayHaveReachedServer)
        }
        assert.deepStrictEqual((yield* Fiber.join(first)).rows, [{ pg_sleep: "", "?column?": "first" }])
        yield* usable(conn)
      })
    )

    it.effect("a timeout or heartbeat duration that cannot be read is a typed PgConfigError", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        // What a caller passes through untyped configuration (JSON, environment) at run time.
        const bad = ["abc", -5, Number.NaN, "-1 seconds"] as unknown as ReadonlyArray<Duration.Input>
        for (const timeout of bad) {
          const e = yield* Effect.flip(conn.query("select 1", [], { timeout }))
          assert.strictEqual(e._tag, "PgConfigError")
          if (e._tag === "PgConfigError") assert.strictEqual(e.key, "timeout")
        }
        const soon = "soon" as unknown as Duration.Input
        const simple = yield* Effect.flip(conn.simpleQuery("select 1", { timeout: soon }))
        assert.strictEqual(simple._tag, "PgConfigError")
        const beat = yield* Effect.flip(
          Effect.scoped(conn.heartbeat({ interval: soon, timeout: "1 second" }))
        )
        assert.strictEqual(beat._tag, "PgConfigError")
        // An infinite timeout is no timeout.
        assert.deepStrictEqual((yield* conn.query("select 1", [], { timeout: Duration.infinity })).rows, [
          { "?column?": 1 }
        ])
        yield* usable(conn)
      })
    )

    it.effect("a timeout on a request still queued in the client withdraws it: not-sent", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.simpleQuery("create temp table queued_copy (a int)")
        // A COPY is exclusive: nothing is written behind it until it ends (its source is slow).
        const slow = Stream.fromEffect(Effect.as(Effect.sleep("500 millis"), new TextEncoder().encode("1\n")))
        const copy = yield* Effect.forkChild(conn.copyIn("copy queued_copy from stdin", slow))
        yield* Effect.sleep("20 millis")
        const e = yield* Effect.flip(conn.query("select 'queued'", [], { timeout: "50 millis" }))
        assert.strictEqual(e._tag, "PgTimeoutError")
        if (e._tag === "PgTimeoutError") {
          assert.isFalse(e.cancelSent)
          assert.isFalse(e.mayHaveReachedServer)
        }
        assert.strictEqual((yield* Fiber.join(copy)).rows, 1)
        assert.deepStrictEqual((yield* conn.query("select count(*) from queued_copy")).rows, [{ count: 1n }])
        yield* usable(conn)
      })
    )

    it.effect(
      "closeWith({ cancelRunning: true }) stops the server's work; plain close leaves it running",
      () =>
        Effect.gen(function* () {
          const observer = yield* connect
          const server = yield* PgTestServer.PgTestServer
          // Plain close: the Terminate waits behind the statement, so the backend keeps sleeping.
          const plain = yield* Effect.scoped(
            Effect.gen(function* () {
              const conn = yield* Expert.connect(server.url)
              yield* Effect.forkChild(Effect.exit(conn.query("select pg_sleep(5)")))
              yield* running(observer, conn.processId)
              yield* conn.closeWith()
              return conn.processId
            })
          )
          assert.strictEqual(yield* stateOf(observer, plain), "active")

          const conn = yield* Expert.connect(server.url)
          const sleeping = yield* Effect.forkChild(conn.query("select pg_sleep(10)"))
          yield* running(observer, conn.processId)
          const { millis } = yield* timed(conn.closeWith({ cancelRunning: true }))
          assert.isBelow(millis, 1000)
          // The cancelled caller gets the statement's real outcome, not a closed-connection error.
          const e = yield* Effect.flip(Fiber.join(sleeping))
          assert.strictEqual(e._tag === "PgServerError" && e.code, "57014")
          let state = yield* stateOf(observer, conn.processId)
          for (let i = 0; i < 100 && state !== "gone"; i++) {
            yield* Effect.sleep("10 millis")
            state = yield* stateOf(observer, conn.processId)
          }
          assert.strictEqual(state, "gone")
          assert.strictEqual((yield* conn.status)._tag, "ClosedGracefully")
        })
    )

    it.effect(
      "a timeout against a server that stopped answering still returns, and fails the connection",
      () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const proxy = yield* makeProxy(server)
          const conn = yield* Expert.connect(viaProxy(server, proxy.port))
          yield* usable(conn)
          yield* proxy.stall
          const { exit, millis } = yield* timed(conn.query("select 1", [], { timeout: "200 millis" }))
          const e = yield* Effect.flip(exit)
          assert.strictEqual(e._tag, "PgTimeoutError")
          if (e._tag === "PgTimeoutError") assert.strictEqual(e.outcome, "unknown")
          // A timeout is a bound: 200 ms plus the documented slack (1 s), not the cancel's wait.
          assert.isBelow(millis, 2500)
          // The cancel cannot finish either: the connection fails once CANCEL_SETTLE_LIMIT passes.
          for (let i = 0; i < 150 && (yield* conn.status)._tag === "Open"; i++)
            yield* Effect.sleep("100 millis")
          const status = yield* conn.status
          assert.strictEqual(status._tag, "Failed")
          assert.strictEqual((yield* Effect.flip(conn.query("select 1")))._tag, "PgClosedError")
          yield* proxy.resume
        }),
      30_000
    )
  }
)

layer(PgTestServer.layer({ version: 18, tls: true }), { timeout: 120_000, excludeTestServices: true })(
  "cancel over TLS (PG18)",
  (it) => {
    const cancelThroughProxy = (sslmode: "require" | "disable") =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const observer = yield* connect
        const proxy = yield* makeProxy(server)
        const conn = yield* Expert.connect(viaProxy(server, proxy.port, `?sslmode=${sslmode}`))
        const ssl = yield* observer.query("select ssl from pg_stat_ssl where pid = $1", [
          String(conn.processId)
        ])
        assert.deepStrictEqual(ssl.rows, [{ ssl: sslmode === "require" }])
        const sleeping = yield* Effect.forkChild(conn.query("select pg_sleep(10)"))
        yield* running(observer, conn.processId)
        const before = yield* proxy.stats
        const started = Date.now()
        yield* conn.cancel
        const e = yield* Effect.flip(Fiber.join(sleeping))
        assert.isBelow(Date.now() - started, 1000)
        assert.strictEqual(e._tag === "PgServerError" && e.code, "57014")
        const after = yield* proxy.stats
        yield* usable(conn)
        // The cancel used one more connection through the proxy; its bytes tell TLS from plain.
        assert.strictEqual(after.accepted, before.accepted + 1)
        return after.bytesToServer - before.bytesToServer
      })

    it.effect("with sslmode=require the CancelRequest goes over TLS, and still cancels", () =>
      Effect.gen(function* () {
        const tlsBytes = yield* cancelThroughProxy("require")
        const plainBytes = yield* cancelThroughProxy("disable")
        // Plain: the CancelRequest alone (16 bytes, or 4 + 4 + 4 + key with protocol 3.2).
        assert.isBelow(plainBytes, 100)
        // TLS: SSLRequest (8 bytes), a ClientHello and the rest of a handshake, then the request.
        assert.isAbove(tlsBytes, 200)
      })
    )
  }
)
