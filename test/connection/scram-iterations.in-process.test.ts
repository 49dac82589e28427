/**
 * The SCRAM iteration count, against the fake server: a count above the cap
 * (`defaultMaxIterations`, docs/decisions/011-scram-iteration-cap.md) is refused before anything
 * is hashed; the cap itself still logs in; and PBKDF2 runs off the event loop, so a timer keeps
 * firing while the client derives its key.
 *
 * Real servers (default 4096 iterations) are covered by test/auth/auth.integration.test.ts and
 * test/connect/auth.integration.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { defaultMaxIterations } from "../../src/auth/Scram.ts"
import * as Expert from "../../src/Expert.ts"
import { connectFails, expectTag } from "../support/ConnectionAssertions.ts"
import { offerScram, sendServerFirst, serverFinal } from "../support/FakeScram.ts"
import * as Fake from "../support/FakeServer.ts"

const TIMEOUT = 15_000

const countResponses = (received: ReadonlyArray<Fake.FrontendMessage>) =>
  received.filter((m) => m._tag === "PasswordFamily").length

describe("SCRAM iteration count", () => {
  it("the cap is 1 000 000 (244 × PostgreSQL's default of 4096)", () => {
    assert.strictEqual(defaultMaxIterations, 1_000_000)
  })

  // 2^31 - 1 (the most PostgreSQL can be configured with) would take minutes: only a refusal
  // before hashing ends within the 2 seconds.
  for (const iterations of [defaultMaxIterations + 1, 10_000_000, 2_147_483_647]) {
    it.live(
      `i=${iterations}: PgAuthError "protocol" before any hashing, no client-final sent`,
      () =>
        Effect.gen(function* () {
          const server = yield* Fake.make((client) =>
            Effect.gen(function* () {
              yield* client.expect("StartupMessage")
              yield* sendServerFirst(client, yield* offerScram(client), iterations)
            })
          )
          const error = expectTag(yield* connectFails(server.config(), "2 seconds"), "PgAuthError")
          assert.strictEqual(error.reason, "protocol")
          assert.strictEqual(error.method, "scram-sha-256")
          assert.match(error.message, /^iteration count \d+ exceeds the limit of 1000000$/)
          const client = yield* server.client(0)
          yield* client.awaitClientClosed
          assert.strictEqual(countResponses(client.received), 1, "only the SASLInitialResponse")
        }),
      TIMEOUT
    )
  }

  it.live(
    "i at the cap logs in",
    () =>
      Effect.gen(function* () {
        const server = yield* Fake.make((client) =>
          Effect.gen(function* () {
            yield* client.expect("StartupMessage")
            const sent = yield* sendServerFirst(client, yield* offerScram(client), defaultMaxIterations)
            yield* client.write(
              yield* serverFinal(client, sent),
              Fake.authenticationOk(),
              Fake.sessionReady()
            )
          })
        )
        const connection = yield* Expert.connect(server.config())
        assert.strictEqual(connection.processId, 4242)
        assert.strictEqual(countResponses((yield* server.client(0)).received), 2)
      }),
    TIMEOUT
  )
})

describe("PBKDF2 off the event loop", () => {
  /**
   * Counts the ticks of a 1 ms interval while `window` is open. The fake opens it when it sends
   * the server-first-message and closes it when the client-final-message arrives: the derivation
   * is in between. A synchronous PBKDF2 would stop every timer for its whole length, leaving only
   * the few ticks of the socket round trips around it.
   */
  const ticksDuringDerivation = (iterations: number) =>
    Effect.gen(function* () {
      let open = false
      let ticks = 0
      const timer = setInterval(() => {
        if (open) ticks++
      }, 1)
      yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(timer)))
      const server = yield* Fake.make((client) =>
        Effect.gen(function* () {
          yield* client.expect("StartupMessage")
          const start = yield* offerScram(client)
          open = true
          const sent = yield* sendServerFirst(client, start, iterations)
          yield* client.waitFor((received) => countResponses(received) === 2)
          open = false // before the fake derives its own key in serverFinal
          yield* client.write(yield* serverFinal(client, sent), Fake.authenticationOk(), Fake.sessionReady())
        })
      )
      yield* Expert.connect(server.config())
      return ticks
    })

  it.live(
    "a 1 ms timer keeps firing while the client derives a 500 000-iteration key",
    () =>
      Effect.gen(function* () {
        const ticks = yield* ticksDuringDerivation(500_000)
        // ~70 ms of PBKDF2 here: about 60 ticks off the loop; a synchronous pbkdf2Sync in the client
        // (tried) leaves 1.
        assert.isAtLeast(ticks, 10, `only ${ticks} ticks during the derivation`)
      }),
    TIMEOUT
  )
})
