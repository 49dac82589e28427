/**
 * An Effect-friendly mailbox over a Wire, for the few message exchanges that are not on the hot
 * path (the startup dialogue). `take` waits for the next backend message; a socket loss or a
 * protocol error fails the waiting and every later `take`.
 *
 * When the engine takes the Wire over, the messages not yet taken are handed to it (`release`),
 * so a message that came in the same read as the startup's ReadyForQuery is not lost.
 *
 * It does NOT route messages to requests (engine/Engine.ts does that once the session is up).
 */
import { Effect } from "effect"
import type { Wire } from "../Codec.ts"
import { PgConnectionError, type PgProtocolError } from "../Errors.ts"
import type { BackendMessage } from "../protocol/Backend.ts"

export interface Inbox {
  readonly take: Effect.Effect<BackendMessage, PgConnectionError | PgProtocolError>
}

export const makeInbox = (wire: Wire, phase: "auth" | "io" = "auth"): Inbox => {
  const buffered: Array<BackendMessage> = []
  let failure: PgConnectionError | PgProtocolError | undefined
  let waiter:
    | ((effect: Effect.Effect<BackendMessage, PgConnectionError | PgProtocolError>) => void)
    | undefined

  const wake = () => {
    if (waiter === undefined) return
    const resume = waiter
    if (buffered.length > 0) {
      waiter = undefined
      resume(Effect.succeed(buffered.shift()!))
    } else if (failure !== undefined) {
      waiter = undefined
      resume(Effect.fail(failure))
    }
  }

  wire.listen({
    onMessages: (messages) => {
      for (const m of messages) buffered.push(m)
      wake()
    },
    onError: (error) => {
      failure ??= error
      wake()
    },
    onClose: (error) => {
      failure ??= new PgConnectionError({
        phase,
        mayHaveReachedServer: false,
        message: `the server closed the connection during ${phase === "auth" ? "startup" : "the exchange"}${
          error ? `: ${error.message}` : ""
        }`,
        cause: error
      })
      wake()
    },
    release: () => buffered.splice(0)
  })

  const take = Effect.callback<BackendMessage, PgConnectionError | PgProtocolError>((resume) => {
    if (buffered.length > 0) return resume(Effect.succeed(buffered.shift()!))
    if (failure !== undefined) return resume(Effect.fail(failure))
    waiter = resume
    return Effect.sync(() => {
      if (waiter === resume) waiter = undefined
    })
  })

  return { take }
}
