/**
 * CancelRequest on a side connection (Frontend/Backend Protocol, "Canceling Requests in
 * Progress"): dial the same server the session uses — over TLS when the session uses TLS —, send
 * the 16-byte (3.0) or long (3.2) CancelRequest with the session's key, and wait until the server
 * closes that connection, which it does after signalling the backend. Only then is it safe to send
 * more work on the session: a cancel that lands later could hit the next statement.
 *
 * It does NOT decide whether to cancel (operations do); the server never answers a cancel, so
 * success means "delivered", not "cancelled".
 */
import { Effect } from "effect"
import { PgConnectionError, PgProtocolError } from "../Errors.ts"
import type { PgSocketService, SocketOptions } from "../PgSocket.ts"
import { encodeCancelRequest } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"

export interface CancelTarget {
  readonly socket: PgSocketService
  readonly options: SocketOptions
}

export const sendCancel = (
  target: CancelTarget,
  processId: number,
  secretKey: Uint8Array
): Effect.Effect<void, PgConnectionError | PgProtocolError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const frame = encodeCancelRequest({ processId, secretKey })
      if (frame instanceof ProtocolError) return yield* Effect.fail(PgProtocolError.fromCodec(frame))
      const transport = yield* target.socket.open(target.options)
      yield* Effect.callback<void>((resume) => {
        transport.start({ onData: () => {}, onClose: () => resume(Effect.void) })
        transport.write(frame)
        transport.end()
      }).pipe(
        Effect.timeoutOrElse({
          duration: "10 seconds",
          orElse: () =>
            Effect.fail(
              new PgConnectionError({
                phase: "io",
                mayHaveReachedServer: true,
                message: "the server did not close the cancel connection within 10 seconds"
              })
            )
        })
      )
    })
  )
