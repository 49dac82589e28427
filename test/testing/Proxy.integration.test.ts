/**
 * The fault proxy keeps TCP half-close semantics: a FIN from one side ends only the proxy's
 * writing to the other side, the other direction keeps flowing, and a side sees the FIN only
 * once its peer sent it. Checked with a tiny local TCP upstream (pure proxy behaviour, both
 * directions, and an upstream reset), then with a real PostgreSQL CancelRequest through the
 * proxy: `cancel` returns only after the server closed the cancel connection — held behind a
 * second, stalled proxy, it does not return at all —, so the statement fails with 57014 at once,
 * every time, and no late cancel hits the next statement.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Fiber, type Scope } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { makeProxy, type PgTestProxy, PgTestServer } from "../../src/testing/index.ts"
import { eventually } from "../pool/support.ts"

/** A local TCP server running `onSocket` for each connection, closed with the scope. */
const upstream = (onSocket: (socket: Socket) => void): Effect.Effect<number, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(
        () =>
          new Promise<{ server: Server; sockets: Set<Socket> }>((resolve) => {
            const sockets = new Set<Socket>()
            const server = createServer({ allowHalfOpen: true }, (socket) => {
              sockets.add(socket)
              socket.on("error", () => {})
              onSocket(socket)
            })
            server.listen(0, "127.0.0.1", () => resolve({ server, sockets }))
          })
      ),
      ({ server, sockets }) =>
        Effect.promise(
          () =>
            new Promise<void>((resolve) => {
              for (const socket of sockets) socket.destroy()
              server.close(() => resolve())
            })
        )
    ),
    ({ server }) => {
      const address = server.address()
      return typeof address === "object" && address !== null ? address.port : 0
    }
  )

/** A raw client of the proxy: what it received, and when (in `events`) it saw the FIN. */
const rawClient = (proxy: PgTestProxy, events: Array<string>) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ socket: Socket; received: Array<Buffer>; ended: Promise<void>; closed: Promise<void> }>(
          (resolve) => {
            const received: Array<Buffer> = []
            const socket = createConnection({ host: proxy.host, port: proxy.port, allowHalfOpen: true })
            socket.on("error", () => {})
            socket.on("data", (chunk: Buffer) => {
              received.push(chunk)
            })
            const ended = new Promise<void>((done) =>
              socket.on("end", () => {
                events.push("client saw FIN")
                done()
              })
            )
            const closed = new Promise<void>((done) => socket.on("close", () => done()))
            socket.on("connect", () => resolve({ socket, received, ended, closed }))
          }
        )
    ),
    ({ socket }) => Effect.sync(() => socket.destroy())
  )

const within = <A>(what: string, promise: Promise<A>, millis = 3_000) =>
  Effect.promise(() => promise).pipe(
    Effect.timeoutOrElse({
      duration: millis,
      orElse: () => Effect.die(new Error(`timed out waiting for: ${what}`))
    })
  )

const eventuallyInactive = (proxy: PgTestProxy) =>
  Effect.gen(function* () {
    for (let i = 0; i < 150; i++) {
      if ((yield* proxy.stats).active === 0) return
      yield* Effect.sleep("20 millis")
    }
    assert.fail("the proxy still counts an open pair after both sides ended")
  })

describe("proxy half-close", () => {
  it.live("the client half-closes: the upstream's later bytes still arrive, then its FIN", () =>
    Effect.gen(function* () {
      const events: Array<string> = []
      const port = yield* upstream((socket) => {
        const got: Array<Buffer> = []
        socket.on("data", (chunk: Buffer) => got.push(chunk))
        socket.on("end", () => {
          events.push("upstream got FIN")
          // Answers well after the client's FIN, in two writes, then ends.
          setTimeout(() => {
            socket.write(`late:${Buffer.concat(got).toString()}`)
            setTimeout(() => {
              socket.write(":later")
              events.push("upstream ends")
              socket.end()
            }, 50)
          }, 100)
        })
      })
      const proxy = yield* makeProxy({ host: "127.0.0.1", port })
      const client = yield* rawClient(proxy, events)
      client.socket.write("ping")
      client.socket.end()
      yield* within("the client sees the FIN", client.ended)
      assert.strictEqual(Buffer.concat(client.received).toString(), "late:ping:later")
      assert.deepStrictEqual(events, ["upstream got FIN", "upstream ends", "client saw FIN"])
      yield* within("the client socket closes", client.closed)
      yield* eventuallyInactive(proxy)
    })
  )

  it.live("the upstream half-closes: its bytes and FIN arrive, and the client can still write", () =>
    Effect.gen(function* () {
      const events: Array<string> = []
      let resolveGot: (text: string) => void = () => {}
      const upstreamGot = new Promise<string>((resolve) => {
        resolveGot = resolve
      })
      const port = yield* upstream((socket) => {
        const got: Array<Buffer> = []
        socket.on("data", (chunk: Buffer) => got.push(chunk))
        socket.on("end", () => {
          resolveGot(Buffer.concat(got).toString())
          socket.end()
        })
        socket.end("hello")
      })
      const proxy = yield* makeProxy({ host: "127.0.0.1", port })
      const client = yield* rawClient(proxy, events)
      yield* within("the client sees the FIN", client.ended)
      assert.strictEqual(Buffer.concat(client.received).toString(), "hello")
      client.socket.write("written after the FIN")
      client.socket.end()
      assert.strictEqual(yield* within("the upstream's FIN", upstreamGot), "written after the FIN")
      yield* within("the client socket closes", client.closed)
      yield* eventuallyInactive(proxy)
    })
  )

  it.live("an upstream reset still closes the client side at once, without waiting for the client", () =>
    Effect.gen(function* () {
      const port = yield* upstream((socket) => {
        socket.once("data", () => socket.resetAndDestroy())
      })
      const proxy = yield* makeProxy({ host: "127.0.0.1", port })
      const client = yield* rawClient(proxy, [])
      client.socket.write("x")
      // The client never ends its side: the proxy closes the pair on the error alone.
      yield* within("the client sees the proxy close", client.ended)
      yield* eventuallyInactive(proxy)
    })
  )
})

/** Waits until backend `pid` runs pg_sleep, so a cancel has something to hit. */
const running = (observer: ExpertConnection, pid: number) =>
  eventually(
    `backend ${pid} runs pg_sleep`,
    Effect.map(
      observer.query(
        "select state = 'active' and query like '%pg_sleep%' from pg_stat_activity where pid = $1",
        [String(pid)]
      ),
      ({ rows }) => rows[0]?.["?column?"] === true
    )
  )

layer(PgTestServer.layer({ tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "a PostgreSQL cancel through the proxy",
  (it) => {
    it.effect("cancel returns once the server processed it; 57014 at once, every time", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const observer = yield* Expert.connect(server.url)
        const proxy = yield* makeProxy(server)
        // The cancel target is where the connection was made: the proxy.
        const conn = yield* Expert.connect(
          `postgres://${server.user}@127.0.0.1:${proxy.port}/${server.database}`
        )
        for (let round = 0; round < 5; round++) {
          const sleeping = yield* Effect.forkChild(conn.query("select pg_sleep(10)"))
          yield* running(observer, conn.processId)
          const before = yield* proxy.stats
          yield* conn.cancel
          const returned = Date.now()
          const after = yield* proxy.stats
          assert.strictEqual(after.accepted, before.accepted + 1, "the cancel went through the proxy")
          assert.isAtLeast(after.bytesToServer - before.bytesToServer, 16)
          const e = yield* Effect.flip(Fiber.join(sleeping))
          assert.isBelow(Date.now() - returned, 1_000)
          assert.strictEqual(e._tag === "PgServerError" && e.code, "57014")
          // Slow enough that a cancel landing late would hit it.
          const next = yield* conn.query("select pg_sleep(0.1), $1::text", [String(round)])
          assert.deepStrictEqual(next.rows, [{ pg_sleep: "", text: String(round) }])
        }
      })
    )

    it.effect("cancel does not return while the request is still on its way to the server", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const observer = yield* Expert.connect(server.url)
        // client → near → far → server; stalling `far` holds the cancel before the server.
        const far = yield* makeProxy(server)
        const near = yield* makeProxy({ host: far.host, port: far.port })
        const conn = yield* Expert.connect(
          `postgres://${server.user}@127.0.0.1:${near.port}/${server.database}`
        )
        const sleeping = yield* Effect.forkChild(conn.query("select pg_sleep(10)"))
        yield* running(observer, conn.processId)
        yield* far.stall
        const cancel = yield* Effect.forkChild(conn.cancel)
        yield* Effect.sleep("300 millis")
        assert.isUndefined(cancel.pollUnsafe(), "cancel returned before the server saw it")
        assert.strictEqual((yield* near.stats).accepted, 2, "the cancel reached the near proxy")
        assert.strictEqual(
          (yield* observer.query("select state from pg_stat_activity where pid = $1", [
            String(conn.processId)
          ])).rows[0]?.state,
          "active"
        )
        yield* far.resume
        yield* Fiber.join(cancel)
        const returned = Date.now()
        const e = yield* Effect.flip(Fiber.join(sleeping))
        assert.isBelow(Date.now() - returned, 1_000)
        assert.strictEqual(e._tag === "PgServerError" && e.code, "57014")
        assert.deepStrictEqual((yield* conn.query("select 'in sync'")).rows, [{ "?column?": "in sync" }])
      })
    )
  }
)
