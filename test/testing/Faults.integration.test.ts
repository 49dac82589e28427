import { assert, layer } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import {
  makeProxy,
  type PgTestLocalServer,
  PgTestServer,
  type PgTestServerInfo
} from "../../src/testing/index.ts"
import { connectAndStartup, parseError, type StartupResult, sslRequest, type Target } from "./probe.ts"

const local = (info: PgTestServerInfo): PgTestLocalServer => {
  if (info.source !== "local") throw new Error(`expected a local server, got ${info.source}`)
  return info
}

const session = (target: Target): Effect.Effect<StartupResult, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => connectAndStartup(target, { user: "postgres" })),
    (result) => Effect.sync(() => result.session.close())
  )

const delay = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

layer(PgTestServer.layer({ env: {} }))("fault helpers", (it) => {
  it.effect("terminateBackend ends that session with FATAL 57P01", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      const victim = yield* session({ port: pg.port })
      const bystander = yield* session({ port: pg.port })
      assert.isDefined(victim.backendPid)
      yield* pg.terminateBackend(victim.backendPid!)
      const frames = yield* Effect.promise(() => victim.session.until("E"))
      const error = parseError(frames.at(-1)!.body)
      assert.deepStrictEqual([error.severity, error.code], ["FATAL", "57P01"])
      assert.isTrue(yield* Effect.promise(() => victim.session.waitClosed()))
      const ok = yield* Effect.promise(() => bystander.session.query("select 1"))
      assert.strictEqual(ok.at(-1)?.type, "Z")
    })
  )

  it.effect("terminateBackend refuses pids that are not backends of this server", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      for (const pid of [process.pid, 1, yield* pg.pid, -5]) {
        const error = yield* Effect.flip(pg.terminateBackend(pid))
        assert.strictEqual(error.reason, "Signal")
      }
    })
  )

  it.effect("cancelBackend cancels the running query with 57014 and the session survives", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      const victim = yield* session({ port: pg.port })
      const running = Effect.promise(() => victim.session.query("select pg_sleep(30)"))
      const frames = yield* Effect.all(
        [running, delay(200).pipe(Effect.andThen(pg.cancelBackend(victim.backendPid!)))],
        {
          concurrency: 2
        }
      ).pipe(Effect.map(([result]) => result))
      const error = parseError(frames.find((f) => f.type === "E")!.body)
      assert.strictEqual(error.code, "57014")
      const after = yield* Effect.promise(() => victim.session.query("select 1"))
      assert.strictEqual(after.at(-1)?.type, "Z")
    })
  )

  for (const mode of ["fast", "immediate"] as const) {
    it.effect(`restart (${mode}) disconnects clients and comes back on the same port`, () =>
      Effect.gen(function* () {
        const pg = local(yield* PgTestServer.PgTestServer)
        const before = yield* pg.pid
        const client = yield* session({ port: pg.port })
        const mark = (yield* pg.readLog).length
        yield* pg.restart({ mode })
        // fast: ErrorResponse FATAL; immediate: a WARNING NoticeResponse. Both 57P01 (admin_shutdown).
        const frames = yield* Effect.promise(() => client.session.until("E"))
        const notice = frames.find((f) => f.type === "E" || f.type === "N")
        if (mode === "fast" || notice !== undefined) {
          // Under an immediate shutdown the backend's goodbye is best effort (quickdie may be
          // killed before it writes), so only its content is checked when it arrives.
          assert.strictEqual(notice?.type, mode === "fast" ? "E" : "N")
          assert.strictEqual(parseError(notice!.body).code, "57P01")
        }
        assert.isTrue(yield* Effect.promise(() => client.session.waitClosed()))
        const after = yield* pg.pid
        assert.notStrictEqual(after, before)
        const again = yield* session({ port: pg.port })
        assert.isTrue(again.ready)
        const log = (yield* pg.readLog).slice(mark)
        if (mode === "fast") assert.include(log, "received fast shutdown request")
        else {
          assert.include(log, "received immediate shutdown request")
          assert.match(log, /not properly shut down|automatic recovery in progress/)
        }
      })
    )
  }

  it.effect("proxy forwards, counts, stalls and resumes", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      const proxy = yield* makeProxy(pg)
      const client = yield* session({ port: proxy.port })
      assert.isTrue(client.ready)
      const stats = yield* proxy.stats
      assert.deepStrictEqual([stats.accepted, stats.active], [1, 1])
      assert.isAbove(stats.bytesFromServer, 0)

      yield* proxy.stall
      const stalled = yield* Effect.promise(() => client.session.query("select 1", 300))
      assert.deepStrictEqual(stalled, [], "no answer while stalled")
      yield* proxy.resume
      const resumed = yield* Effect.promise(() => client.session.until("Z"))
      assert.deepStrictEqual(
        resumed.map((f) => f.type),
        ["T", "D", "C", "Z"]
      )

      // New connections are held while stalled, then proceed.
      yield* proxy.stall
      const held = Effect.promise(() => connectAndStartup({ port: proxy.port }, { user: "postgres" }))
      const [late] = yield* Effect.all([held, delay(300).pipe(Effect.andThen(proxy.resume))], {
        concurrency: 2
      })
      assert.isTrue(late.ready)
      late.session.close()
    })
  )

  it.effect("proxy corrupts or replaces the next bytes from the server", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      const proxy = yield* makeProxy(pg)
      const client = yield* session({ port: proxy.port })
      yield* proxy.corruptNext(1)
      const frames1 = yield* Effect.promise(() => client.session.query("select 1", 2_000))
      // RowDescription 'T' (0x54) with every bit flipped; the length words after it are intact.
      assert.strictEqual(frames1[0]?.type, String.fromCharCode(0x54 ^ 0xff))
      assert.strictEqual(frames1.at(-1)?.type, "Z")

      const second = yield* session({ port: proxy.port })
      yield* proxy.replaceNext(new Uint8Array([0x45]))
      const frames = yield* Effect.promise(() => second.session.query("select 1", 2_000))
      assert.strictEqual(frames[0]?.type, "E", "T replaced by E")
    })
  )

  it.effect("proxy cuts every connection and keeps accepting new ones; TLS passes through", () =>
    Effect.gen(function* () {
      const pg = local(yield* PgTestServer.PgTestServer)
      const proxy = yield* makeProxy(pg)
      const a = yield* session({ port: proxy.port })
      const b = yield* session({ port: proxy.port })
      assert.strictEqual(yield* proxy.cutAll(), 2)
      assert.isTrue(yield* Effect.promise(() => a.session.waitClosed(2_000)))
      assert.isTrue(yield* Effect.promise(() => b.session.waitClosed(2_000)))
      const c = yield* session({ port: proxy.port })
      assert.isTrue(c.ready)
      assert.strictEqual(yield* proxy.cutAll({ reset: true }), 1)
      assert.isTrue(yield* Effect.promise(() => c.session.waitClosed(2_000)))
      const stats = yield* proxy.stats
      assert.deepStrictEqual([stats.accepted, stats.active], [3, 0])
      const answer = yield* Effect.promise(() => sslRequest({ port: proxy.port }))
      answer.socket.destroy()
      assert.strictEqual(answer.answer, "S")
    })
  )
})
