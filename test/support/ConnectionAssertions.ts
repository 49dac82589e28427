/**
 * Client-side assertions shared by the connection tests: connect expecting a typed failure
 * (bounded in time, never hanging the test's teardown), the aftermath of a connection-ending
 * error, and narrowing an error by its tag.
 *
 * It does NOT talk to the fake server; it only drives and inspects the client.
 */
import { assert } from "@effect/vitest"
import { type Duration, Effect, Fiber } from "effect"
import type { ConnectConfigInput } from "../../src/config/ConnectConfig.ts"
import type { PgExpertError } from "../../src/Errors.ts"
import * as Expert from "../../src/Expert.ts"

/**
 * Connects, expecting a failure within `within`, and returns the error. The attempt runs in a
 * detached fiber, so a connect stuck in an uninterruptible step fails the test instead of hanging
 * its teardown.
 */
export const connectFails = (
  input: ConnectConfigInput,
  within: Duration.Input = "3 seconds"
): Effect.Effect<Expert.ConnectError> =>
  Effect.gen(function* () {
    const attempt = Effect.scoped(
      Effect.matchEffect(Expert.connect(input), {
        onFailure: Effect.succeed,
        onSuccess: () => Effect.die(new Error("connect succeeded, a failure was expected"))
      })
    )
    const fiber = yield* Effect.forkDetach(attempt)
    return yield* Fiber.join(fiber).pipe(
      Effect.timeoutOrElse({
        duration: within,
        orElse: () => Effect.die(new Error(`connect neither failed nor succeeded within ${String(within)}`))
      })
    )
  })

/**
 * Asserts the aftermath of a connection-ending `error`: status Failed with it, `closeFinished`
 * fails with it (within 3 s), and a later query fails with PgClosedError 08003 whose `original` is it.
 */
export const assertFailedWith = (connection: Expert.ConnectionApi<PgExpertError>, error: PgExpertError) =>
  Effect.gen(function* () {
    const status = yield* connection.status
    assert.strictEqual(status._tag, "Failed")
    assert.strictEqual(status._tag === "Failed" ? status.error : undefined, error)
    const finished = yield* Effect.flip(connection.closeFinished).pipe(
      Effect.timeoutOrElse({
        duration: "3 seconds",
        orElse: () => Effect.die(new Error("closeFinished did not complete"))
      })
    )
    assert.strictEqual(finished, error)
    const later = expectTag(yield* Effect.flip(connection.query("select 1")), "PgClosedError")
    assert.strictEqual(later.code, "08003")
    assert.strictEqual(later.original, error)
  })

/** Asserts that `error` has tag `tag` (showing its message otherwise) and narrows it. */
export const expectTag = <E extends { readonly _tag: string; readonly message: string }, T extends E["_tag"]>(
  error: E,
  tag: T
): Extract<E, { readonly _tag: T }> => {
  if (error._tag !== tag) throw new Error(`expected ${tag}, got ${error._tag}: ${error.message}`)
  return error as Extract<E, { readonly _tag: T }>
}
