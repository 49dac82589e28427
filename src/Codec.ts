/**
 * The Codec service: turns a Transport's bytes into backend messages and sends encoded frames.
 *
 * Each socket read is framed and decoded in one synchronous pass (the pure `protocol/Framer`
 * and `decodeBackend`), and the messages of that read are handed to the listener as one batch:
 * no Effect is allocated per message. Frames of one request are written with one `write`.
 *
 * It does NOT know which message belongs to which request (engine/Engine.ts does), nor run the
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
import type { Wire, WireListener } from "./engine/Wire.ts"
import type { Transport } from "./PgSocket.ts"
import type { BackendMessage } from "./protocol/Backend.ts"
import { decodeBackend } from "./protocol/Backend.ts"
import { Framer } from "./protocol/Framer.ts"
import { ProtocolError } from "./protocol/ProtocolError.ts"

export type { Wire, WireListener } from "./engine/Wire.ts"

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
    tls: transport.tls,
    peerCertificate: transport.peerCertificate,
    send: (frames) => transport.write(frames),
    onDrain: transport.onDrain,
    closed: transport.closed,
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
