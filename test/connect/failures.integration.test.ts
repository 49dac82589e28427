/**
 * How connecting fails at the transport level, against listeners made here: a closed port, a Unix
 * socket that does not exist, a server that never answers (connect_timeout at each stage: startup,
 * TLS after SSLRequest, direct TLS), interruption at each of those stages, a server that hangs up,
 * buffer stuffing after 'S', and an error message in answer to SSLRequest. Every case must end
 * promptly with a typed error (or the interruption) and leave no socket open.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber } from "effect"
import type { ConnectConfigInput } from "../../src/config/ConnectConfig.ts"
import { connect } from "../../src/Expert.ts"
import { bounded, closedPort, type ListenerBehaviour, listenerInput, silentListener } from "./support.ts"

describe("failures while connecting", () => {
  it.live("a closed port: PgConnectionError in the connect phase", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      for (const extra of [
        {},
        { sslmode: "require" },
        { sslmode: "require", sslnegotiation: "direct" }
      ] as const) {
        const error = yield* bounded("refused", 20, Effect.flip(connect(listenerInput(port, extra))))
        assert.strictEqual(error._tag, "PgConnectionError", JSON.stringify(extra))
        if (error._tag !== "PgConnectionError") return
        assert.strictEqual(error.phase, "connect", JSON.stringify(extra))
        assert.isFalse(error.mayHaveReachedServer)
        assert.include(error.message, `127.0.0.1:${port}`)
        assert.include(error.message, "ECONNREFUSED")
      }
    })
  )

  const stages: ReadonlyArray<{
    readonly name: string
    readonly listener: ListenerBehaviour
    readonly input: Partial<ConnectConfigInput>
    /** How many bytes the client sends before it waits: startup packet, SSLRequest + ClientHello... */
    readonly sent: number
    readonly firstByte: number
  }> = [
    { name: "waiting for the startup answer", listener: "silent", input: {}, sent: 8, firstByte: 0 },
    {
      name: "in the TLS handshake after SSLRequest",
      listener: "answer-ssl-then-silent",
      input: { sslmode: "require" },
      sent: 9,
      firstByte: 0
    },
    {
      name: "in a direct TLS handshake",
      listener: "silent",
      input: { sslmode: "require", sslnegotiation: "direct" },
      sent: 5,
      firstByte: 0x16
    }
  ]

  for (const stage of stages) {
    it.live(`connect_timeout fires ${stage.name}, and the socket is closed`, () =>
      Effect.gen(function* () {
        const listener = yield* silentListener(stage.listener)
        const started = Date.now()
        const error = yield* bounded(
          "connect timeout",
          20,
          Effect.flip(
            connect(listenerInput(listener.port, { ...stage.input, connectTimeout: Duration.seconds(1) }))
          )
        )
        const elapsed = Date.now() - started
        assert.strictEqual(error._tag, "PgConnectionError")
        if (error._tag !== "PgConnectionError") return
        assert.strictEqual(error.phase, "connect")
        assert.include(error.message, "timed out")
        assert.isAtLeast(elapsed, 900)
        const accepted = yield* Deferred.await(listener.first)
        assert.isAtLeast(accepted.received().length, stage.sent)
        assert.strictEqual(accepted.received()[0], stage.firstByte)
        yield* bounded("socket closed after the timeout", 10, Deferred.await(accepted.closed))
      })
    )

    it.live(`interrupting connect ${stage.name} closes the socket`, () =>
      Effect.gen(function* () {
        const listener = yield* silentListener(stage.listener)
        const fiber = yield* Effect.forkChild(
          Effect.scoped(connect(listenerInput(listener.port, stage.input)))
        )
        // Interrupt only once the client is waiting where this stage says.
        const received = yield* bounded("client bytes", 20, listener.firstReceived(stage.sent))
        assert.strictEqual(received[0], stage.firstByte)
        const exit = yield* bounded(
          "interrupt",
          10,
          Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
        )
        assert.isTrue(Exit.hasInterrupts(exit))
        const accepted = yield* Deferred.await(listener.first)
        yield* bounded("socket closed after the interrupt", 10, Deferred.await(accepted.closed))
      })
    )
  }

  // Where the client notices the hang-up: in the startup dialogue ("auth") or in SSL negotiation ("tls").
  const hangUps: ReadonlyArray<
    readonly [ListenerBehaviour, Partial<ConnectConfigInput>, "auth" | "tls", ReadonlyArray<string>]
  > = [
    ["hang-up-at-once", {}, "auth", ["during startup"]],
    ["hang-up-at-once", { sslmode: "require" }, "tls", ["during SSL negotiation"]],
    ["hang-up-on-first-bytes", {}, "auth", ["during startup"]],
    ["hang-up-on-first-bytes", { sslmode: "require" }, "tls", ["during SSL negotiation"]],
    // prefer: the failed TLS attempt is followed by a plaintext one (libpq), and both are reported.
    ["hang-up-on-first-bytes", { sslmode: "prefer" }, "auth", ["during SSL negotiation", "during startup"]],
    ["hang-up-on-first-bytes", { sslmode: "require", sslnegotiation: "direct" }, "tls", []]
  ]
  for (const [behaviour, input, phase, mentions] of hangUps) {
    it.live(
      `a server that hangs up (${behaviour}, ${JSON.stringify(input)}) fails the connect, no hang`,
      () =>
        Effect.gen(function* () {
          const listener = yield* silentListener(behaviour)
          // No connect_timeout: the client must notice the hang-up by itself.
          const error = yield* bounded(
            "hang-up",
            20,
            Effect.flip(connect(listenerInput(listener.port, input)))
          )
          assert.strictEqual(
            error._tag === "PgConnectionError" ? error.phase : error._tag,
            phase,
            error.message
          )
          for (const text of mentions) assert.include(error.message, text)
        })
    )
  }

  it.live("bytes after the server's 'S' and before the TLS handshake are refused (buffer stuffing)", () =>
    Effect.gen(function* () {
      const listener = yield* silentListener("answer-ssl-with-extra-bytes")
      const error = yield* bounded(
        "stuffing",
        20,
        Effect.flip(connect(listenerInput(listener.port, { sslmode: "require" })))
      )
      assert.strictEqual(error._tag === "PgConnectionError" ? error.phase : error._tag, "tls")
      assert.include(error.message, "unencrypted data after its SSL response")
    })
  )

  it.live("an error in answer to SSLRequest fails every sslmode, unread and with no plaintext retry", () =>
    Effect.gen(function* () {
      const listener = yield* silentListener("answer-ssl-with-error")
      for (const sslmode of ["prefer", "require"] as const) {
        const error = yield* bounded(
          "ssl error",
          20,
          Effect.flip(connect(listenerInput(listener.port, { sslmode })))
        )
        assert.strictEqual(error._tag === "PgConnectionError" ? error.phase : error._tag, "tls", sslmode)
        assert.include(error.message, "error response during SSL exchange")
        // The server is not authenticated yet: its words are not repeated (CVE-2024-10977).
        assert.notInclude(error.message, "too many clients")
      }
      // One connection per connect: prefer did not come back in plaintext (libpq does not).
      assert.strictEqual(listener.accepted(), 2)
    })
  )

  it.live("a Unix socket that does not exist: PgConnectionError in the connect phase", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        connect({ ...listenerInput(5432), host: "/nonexistent-effect-pg-dir" })
      )
      assert.strictEqual(error._tag === "PgConnectionError" ? error.phase : error._tag, "connect")
      assert.include(error.message, "/nonexistent-effect-pg-dir/.s.PGSQL.5432")
    })
  )

  it.live("connect_timeout in whole seconds follows libpq (1 counts as 2)", () =>
    Effect.gen(function* () {
      const listener = yield* silentListener()
      const started = Date.now()
      const error = yield* bounded(
        "timeout 1",
        20,
        Effect.flip(connect(listenerInput(listener.port, { connectTimeout: 1 })))
      )
      assert.include(error.message, "timed out")
      assert.isAtLeast(Date.now() - started, 1900)
    })
  )
})
