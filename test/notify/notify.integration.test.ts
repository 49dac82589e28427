/**
 * LISTEN/NOTIFY against real servers (PG18, PG15 for the basics): delivery with the notifier's
 * pid, several listeners on one channel of one connection, UNLISTEN when the last scope closes
 * (checked with pg_listening_channels()), NOTIFY with nobody listening, odd channel names and
 * payloads, a notification that arrives while the listening connection runs a long query, order,
 * LISTEN inside a rolled-back transaction (no effect), delivery only at the notifier's commit,
 * the stream failing with the connection, and the heartbeat failing a connection whose server
 * stopped answering (through a stalling proxy).
 */
import { assert, layer } from "@effect/vitest"
import { Cause, Effect, Fiber, type Scope, Stream } from "effect"
import type { ExpertConnection, Notification } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { makeProxy, PgTestServer } from "../../src/testing/index.ts"

const connect = Effect.gen(function* () {
  const server = yield* PgTestServer.PgTestServer
  return yield* Expert.connect(server.url)
})

/** Pulls notifications one at a time; `next` gives up after `millis` (undefined: none came). */
const receiver = <E>(stream: Stream.Stream<Notification, E>) =>
  Effect.gen(function* () {
    const pull = yield* Stream.toPull(stream)
    const buffer: Array<Notification> = []
    const next = (millis = 5000): Effect.Effect<Notification | undefined, E | Cause.Done> =>
      Effect.suspend(() => {
        const first = buffer.shift()
        if (first !== undefined) return Effect.succeed(first)
        return Effect.flatMap(Effect.timeoutOption(pull, `${millis} millis`), (batch) => {
          if (batch._tag === "None") return Effect.succeed(undefined)
          buffer.push(...batch.value)
          return Effect.succeed(buffer.shift())
        })
      })
    return { next }
  })

const listening = (conn: ExpertConnection) =>
  Effect.map(conn.query("select pg_listening_channels() order by 1"), (r) =>
    r.rows.map((row) => row.pg_listening_channels)
  )

const listen = (
  conn: ExpertConnection,
  channel: string
): Effect.Effect<
  { next: (millis?: number) => Effect.Effect<Notification | undefined, unknown> },
  unknown,
  Scope.Scope
> => Effect.flatMap(conn.listen(channel), receiver)

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, tls: false }), { timeout: 120_000, excludeTestServices: true })(
    `LISTEN/NOTIFY basics (PG${version})`,
    (it) => {
      it.effect("a notification arrives with the channel, the payload and the notifier's pid", () =>
        Effect.gen(function* () {
          const listener = yield* connect
          const notifier = yield* connect
          const r = yield* listen(listener, "basics")
          yield* notifier.notify("basics", "hello")
          yield* notifier.notify("other channel", "not for us")
          yield* listener.notify("basics")
          assert.deepStrictEqual(yield* r.next(), {
            pid: notifier.processId,
            channel: "basics",
            payload: "hello"
          })
          assert.deepStrictEqual(yield* r.next(), { pid: listener.processId, channel: "basics", payload: "" })
          assert.isUndefined(yield* r.next(200))
        })
      )

      it.effect("two listeners on one channel of one connection both get each notification; one LISTEN", () =>
        Effect.gen(function* () {
          const listener = yield* connect
          const notifier = yield* connect
          const [a, b] = yield* Effect.all([listen(listener, "shared"), listen(listener, "shared")], {
            concurrency: "unbounded"
          })
          assert.deepStrictEqual(yield* listening(listener), ["shared"])
          for (const payload of ["one", "two"]) yield* notifier.notify("shared", payload)
          for (const r of [a, b]) {
            assert.strictEqual((yield* r.next())?.payload, "one")
            assert.strictEqual((yield* r.next())?.payload, "two")
          }
        })
      )

      it.effect("UNLISTEN runs when the last scope on a channel closes", () =>
        Effect.gen(function* () {
          const conn = yield* connect
          const notifier = yield* connect
          const outer = yield* Effect.scoped(
            Effect.gen(function* () {
              yield* listen(conn, "a")
              yield* Effect.scoped(
                Effect.gen(function* () {
                  yield* listen(conn, "a")
                  yield* listen(conn, "b")
                  assert.deepStrictEqual(yield* listening(conn), ["a", "b"])
                })
              )
              // "b" had one listener and is gone; "a" still has one.
              return yield* listening(conn)
            })
          )
          assert.deepStrictEqual(outer, ["a"])
          assert.deepStrictEqual(yield* listening(conn), [])
          // Listening again after the UNLISTEN works.
          const r = yield* listen(conn, "a")
          yield* notifier.notify("a", "again")
          assert.strictEqual((yield* r.next())?.payload, "again")
        })
      )
    }
  )
}

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "LISTEN/NOTIFY (PG18)",
  (it) => {
    it.effect("NOTIFY with nobody listening succeeds", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.notify("nobody listens here", "payload")
        assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
      })
    )

    it.effect("odd channel names and payloads are carried exactly", () =>
      Effect.gen(function* () {
        const listener = yield* connect
        const notifier = yield* connect
        const channels = [
          `with "quotes"`,
          "with space",
          "MixedCase",
          "mixedcase",
          "日本語 ü",
          `'; drop table x; --`,
          "x".repeat(63)
        ]
        const receivers = yield* Effect.forEach(channels, (c) => listen(listener, c))
        assert.deepStrictEqual([...(yield* listening(listener))].sort(), [...channels].sort())
        const payloads = [`it's "quoted" \\ and ;`, "é\n\ttab", "", "x".repeat(7999)]
        for (const [i, channel] of channels.entries()) {
          const payload = payloads[i % payloads.length]!
          yield* notifier.notify(channel, payload)
          const n = yield* receivers[i]!.next()
          assert.deepStrictEqual(n, { pid: notifier.processId, channel, payload }, channel)
        }
        // "MixedCase" and "mixedcase" are two channels: neither got the other's notification.
        assert.isUndefined(yield* receivers[2]!.next(100))
        assert.isUndefined(yield* receivers[3]!.next(100))
      })
    )

    it.effect("channel names the server would change or refuse get a clear error", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        for (const bad of ["x".repeat(64), "é".repeat(32), "nul\0inside", ""]) {
          const e = yield* Effect.flip(Effect.scoped(conn.listen(bad)))
          assert.include(["PgProtocolError", "PgServerError"], e._tag, JSON.stringify(bad))
        }
        assert.deepStrictEqual(yield* listening(conn), [])
        assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
        const tooLong = yield* Effect.flip(conn.notify("x".repeat(64), "p"))
        assert.strictEqual(tooLong._tag === "PgServerError" && tooLong.code, "22023")
      })
    )

    it.effect("a notification sent while the listening connection runs a long query is not lost", () =>
      Effect.gen(function* () {
        const listener = yield* connect
        const notifier = yield* connect
        const r = yield* listen(listener, "busy")
        const long = yield* Effect.forkChild(listener.query("select pg_sleep(0.7), 'done'"))
        yield* Effect.sleep("150 millis")
        yield* notifier.notify("busy", "while you were busy")
        const n = yield* r.next(5000)
        assert.strictEqual(n?.payload, "while you were busy")
        assert.deepStrictEqual((yield* Fiber.join(long)).rows, [{ pg_sleep: "", "?column?": "done" }])
      })
    )

    it.effect("many notifications arrive in order, none lost", () =>
      Effect.gen(function* () {
        const listener = yield* connect
        const notifier = yield* connect
        const r = yield* listen(listener, "order")
        const total = 2000
        yield* Effect.forEach(
          Array.from({ length: total }, (_, i) => i),
          (i) => notifier.notify("order", String(i)),
          {
            concurrency: 16
          }
        )
        const got: Array<string> = []
        while (got.length < total) {
          const n = yield* r.next()
          if (n === undefined) break
          got.push(n.payload)
        }
        assert.strictEqual(got.length, total)
        assert.deepStrictEqual(
          got.map(Number).sort((a, b) => a - b),
          Array.from({ length: total }, (_, i) => i)
        )
      })
    )

    it.effect("LISTEN inside a transaction that rolls back has no effect (documented)", () =>
      Effect.gen(function* () {
        const listener = yield* connect
        const notifier = yield* connect
        yield* listener.query("begin")
        const r = yield* listen(listener, "rolled back")
        yield* listener.query("rollback")
        assert.deepStrictEqual(yield* listening(listener), [])
        yield* notifier.notify("rolled back", "lost")
        assert.isUndefined(yield* r.next(300))
        // The same LISTEN committed does take effect.
        yield* listener.query("begin")
        const committed = yield* listen(listener, "committed")
        yield* listener.query("commit")
        yield* notifier.notify("committed", "kept")
        assert.strictEqual((yield* committed.next())?.payload, "kept")
      })
    )

    it.effect("delivery waits for the notifier's commit; a rolled-back NOTIFY is never delivered", () =>
      Effect.gen(function* () {
        const listener = yield* connect
        const notifier = yield* connect
        const r = yield* listen(listener, "tx")
        yield* notifier.query("begin")
        yield* notifier.notify("tx", "after commit")
        assert.isUndefined(yield* r.next(300))
        yield* notifier.query("commit")
        assert.strictEqual((yield* r.next())?.payload, "after commit")
        yield* notifier.query("begin")
        yield* notifier.notify("tx", "rolled back")
        yield* notifier.query("rollback")
        yield* notifier.notify("tx", "next")
        assert.strictEqual((yield* r.next())?.payload, "next")
        // Within one transaction, identical (channel, payload) pairs are folded; order is kept.
        yield* notifier.query("begin")
        for (const payload of ["a", "b", "a", "c", "b"]) yield* notifier.notify("tx", payload)
        yield* notifier.query("commit")
        const got: Array<string | undefined> = []
        for (let i = 0; i < 3; i++) got.push((yield* r.next())?.payload)
        assert.deepStrictEqual(got, ["a", "b", "c"])
        assert.isUndefined(yield* r.next(200))
        // The server's payload limit (under 8000 bytes) is its error, and the connection survives it.
        const big = yield* Effect.flip(notifier.notify("tx", "x".repeat(8000)))
        assert.strictEqual(big._tag === "PgServerError" && big.code, "22023")
        assert.deepStrictEqual((yield* notifier.query("select 1")).rows, [{ "?column?": 1 }])
      })
    )

    it.effect("the stream fails when the connection dies, and listen then fails at once", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const listener = yield* connect
        const r = yield* listen(listener, "doomed")
        yield* server.terminateBackend!(listener.processId)
        const e = yield* Effect.flip(r.next(5000))
        // The stream fails (it does not just end), with the error that ended the connection.
        assert.isFalse(Cause.isDone(e))
        assert.strictEqual((e as { _tag: string })._tag, "PgClosedError")
        assert.match((e as { message: string }).message, /terminat/)
        const again = yield* Effect.flip(Effect.scoped(listener.listen("doomed")))
        assert.strictEqual((again as { _tag: string })._tag, "PgClosedError")
      })
    )

    it.effect(
      "the heartbeat fails the connection when the server stops answering",
      () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const proxy = yield* makeProxy(server)
          const conn = yield* Expert.connect(
            `postgres://${server.user}@127.0.0.1:${proxy.port}/${server.database}`
          )
          const r = yield* listen(conn, "heartbeat")
          yield* conn.heartbeat({ interval: "100 millis", timeout: "400 millis" })
          // Beats that are answered keep it open.
          yield* Effect.sleep("600 millis")
          assert.strictEqual((yield* conn.status)._tag, "Open")
          const started = Date.now()
          yield* proxy.stall
          const e = yield* Effect.flip(r.next(5000))
          const elapsed = Date.now() - started
          assert.isFalse(Cause.isDone(e))
          assert.match((e as { message: string }).message, /heartbeat/)
          assert.isBelow(elapsed, 3000)
          const status = yield* conn.status
          assert.strictEqual(status._tag, "Failed")
          if (status._tag === "Failed") assert.match(status.error.message, /heartbeat/)
          const q = yield* Effect.flip(conn.query("select 1"))
          assert.strictEqual(q._tag, "PgClosedError")
          yield* proxy.resume
        }),
      30_000
    )

    it.effect(
      "the heartbeat leaves a connection alone while it runs a statement longer than the timeout",
      () =>
        Effect.gen(function* () {
          const conn = yield* connect
          yield* conn.heartbeat({ interval: "50 millis", timeout: "200 millis" })
          const r = yield* conn.query("select pg_sleep(0.6), 'slow but alive'")
          assert.deepStrictEqual(r.rows, [{ pg_sleep: "", "?column?": "slow but alive" }])
          yield* Effect.sleep("300 millis")
          assert.strictEqual((yield* conn.status)._tag, "Open")
        })
    )

    it.effect(
      "without a heartbeat, a stalled server leaves the connection open (what the heartbeat is for)",
      () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const proxy = yield* makeProxy(server)
          const conn = yield* Expert.connect(
            `postgres://${server.user}@127.0.0.1:${proxy.port}/${server.database}`
          )
          yield* listen(conn, "no heartbeat")
          yield* proxy.stall
          yield* Effect.sleep("700 millis")
          assert.strictEqual((yield* conn.status)._tag, "Open")
          yield* proxy.resume
          assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
        })
    )
  }
)
