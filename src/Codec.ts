/**
 * The Codec service: turns a Transport's bytes into backend messages and sends encoded frames.
 *
 * Each socket read is framed and decoded in one synchronous pass (the pure `protocol/Framer`
 * and `decodeBackend`), and the messages of that read are handed to the listener as one batch:
 * no Effect is allocated per message. Frames of one request are written with one `write`.
 *
 * It does NOT know which message belongs to which request (internal/core.ts does), nor run the
 * startup dialogue (Auth). A framing or decoding error is reported once, after the messages
 * that preceded it; the framer is poisoned afterwards, so nothing after a bad byte is trusted.
 *
 * Hand-over: when a new listener takes the Wire (the engine after the startup dialogue), it first
 * gets what the previous one received but did not consume (messages that came in the same read as
 * the startup's ReadyForQuery), then the protocol error and the close, if they already happened.
 * So nothing the server sent is lost between two listeners.
 */
import { Context } from "effect"
import { PgProtocolError } from "./Errors.ts"
import type { Transport } from "./PgSocket.ts"
import type { BackendMessage } from "./protocol/Backend.ts"
import { decodeBackend } from "./protocol/Backend.ts"
import { Framer } from "./protocol/Framer.ts"
import { ProtocolError } from "./protocol/ProtocolError.ts"

export interface WireListener {
  readonly onMessages: (messages: ReadonlyArray<BackendMessage>) => void
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

/** A message-level view of one Transport. */
export interface Wire {
  readonly transport: Transport
  /** Writes encoded frames (one request = one call = one socket write). */
  readonly send: (frames: Uint8Array) => void
  /**
   * Sets who receives messages from now on. The first call starts reading; a later call hands
   * over the previous listener's unconsumed messages, then an error or close that already happened.
   */
  readonly listen: (listener: WireListener) => void
  readonly pause: () => void
  readonly resume: () => void
  readonly end: () => void
  readonly destroy: () => void
}

export interface WireOptions {
  /** Largest backend message accepted; bigger ones fail with a PgProtocolError (MessageTooLarge). */
  readonly maxMessageSize?: number | undefined
}

export interface CodecService {
  readonly make: (transport: Transport, options?: WireOptions) => Wire
}

/** The Codec service; a `Context.Reference` whose default is the pure-codec implementation. */
export const Codec: Context.Reference<CodecService> = Context.Reference<CodecService>("effect-pg/Codec", {
  defaultValue: () => ({ make: makeWire })
})

const DATA_ROW = 0x44

export const makeWire = (transport: Transport, options?: WireOptions): Wire => {
  const framer = new Framer(
    options?.maxMessageSize === undefined ? undefined : { maxMessageSize: options.maxMessageSize }
  )
  let listener: WireListener | undefined
  let started = false
  let failed: PgProtocolError | undefined
  let closed: { readonly error: Error | undefined } | undefined

  const onData = (chunk: Uint8Array): void => {
    if (failed !== undefined) return
    framer.feed(chunk)
    let messages: Array<BackendMessage> | undefined
    let error: ProtocolError | undefined
    const dataRow = listener?.onDataRow
    while (framer.next()) {
      if (dataRow !== undefined && framer.type === DATA_ROW) {
        if (messages !== undefined) {
          listener?.onMessages(messages)
          messages = undefined
        }
        dataRow(framer.body)
        continue
      }
      const message = decodeBackend(framer.type, framer.body)
      if (message instanceof ProtocolError) {
        error = message
        break
      }
      if (messages === undefined) messages = [message]
      else messages.push(message)
    }
    error ??= framer.error
    if (messages !== undefined) listener?.onMessages(messages)
    listener?.onReadEnd?.()
    if (error !== undefined && failed === undefined) {
      failed = PgProtocolError.fromCodec(error)
      listener?.onError(failed)
    }
  }

  const onClose = (error: Error | undefined): void => {
    if (closed !== undefined) return
    closed = { error }
    listener?.onClose(error)
  }

  return {
    transport,
    send: (frames) => {
      transport.write(frames)
    },
    listen: (next) => {
      const previous = listener
      listener = next
      if (!started) {
        started = true
        transport.start({ onData, onClose })
        return
      }
      const unconsumed = previous?.release?.() ?? []
      if (unconsumed.length > 0) next.onMessages(unconsumed)
      if (failed !== undefined) next.onError(failed)
      if (closed !== undefined) next.onClose(closed.error)
    },
    pause: transport.pause,
    resume: transport.resume,
    end: transport.end,
    destroy: transport.destroy
  }
}
