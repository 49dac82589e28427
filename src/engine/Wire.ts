/**
 * The engine's view of a connection's byte stream: framed, decoded backend messages in, encoded
 * frames out. The Codec service (Codec.ts) makes one per transport; the engine (Engine.ts) is its
 * only listener once a session is up, and the startup dialogue (Auth.ts) before that.
 *
 * It does NOT expose the transport: what a caller may know of it (TLS, the server certificate for
 * channel binding, write backpressure) is here, and nothing else.
 */

import type { PgProtocolError } from "../errors/PgExpertError.ts"
import type { BackendMessage } from "../protocol/Backend.ts"

export interface WireListener {
  readonly onMessages: (messages: ReadonlyArray<BackendMessage>) => void
  /** The bytes could not be framed or decoded; nothing after them is delivered. */
  readonly onError: (error: PgProtocolError) => void
  /** The transport closed; `error` is undefined for a clean EOF. */
  readonly onClose: (error: Error | undefined) => void
  /**
   * Another listener takes the Wire: return the messages received but not consumed, in order;
   * they are delivered to the new listener. This listener gets nothing more.
   */
  readonly release?: () => ReadonlyArray<BackendMessage>
  /**
   * Optional fast path for DataRow ('D'): the raw body instead of a decoded message, so no
   * message object, column array or column views are allocated per row. Called in order with
   * `onMessages` (pending messages are delivered first).
   */
  readonly onDataRow?: (body: Uint8Array) => void
  /** All messages of one socket read were delivered. */
  readonly onReadEnd?: () => void
}

/** A message-level view of one transport. */
export interface Wire {
  /** Whether the transport is TLS. */
  readonly tls: boolean
  /** DER of the server certificate when TLS is on (SCRAM channel binding). */
  readonly peerCertificate: Uint8Array | undefined
  /**
   * Writes encoded frames (one request = one call = one socket write). `false` when the
   * transport's buffer is full: wait for `onDrain` before writing much more.
   */
  readonly send: (frames: Uint8Array) => boolean
  /** Calls `f` once the transport's write buffer has drained (at once when it is not full). */
  readonly onDrain: (f: () => void) => void
  /** Whether the transport is closed (writes go nowhere). */
  readonly closed: () => boolean
  /**
   * Sets who receives messages from now on. The first call starts reading; a later call hands
   * over the previous listener's unconsumed messages, then an error or close that already happened.
   */
  readonly listen: (listener: WireListener) => void
  readonly pause: () => void
  readonly resume: () => void
  /** Half-close after the pending writes (graceful). */
  readonly end: () => void
  readonly destroy: () => void
}
