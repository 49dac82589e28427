/**
 * A TCP proxy between a client and a server, for fault injection in tests.
 *
 * Does: listens on 127.0.0.1 (a free port), opens one upstream connection per client connection
 * and forwards bytes both ways, half-closes included: when one side ends its writing (FIN), the
 * proxy ends its writing to the other side after the bytes already received, and keeps
 * forwarding the other direction, so "the server closed the connection" still means what it
 * means without the proxy (a CancelRequest's sender waits for exactly that). A pair closes once
 * both directions have ended, or at once on an error or a cut. On command it cuts every
 * connection (FIN, or RST with
 * `{ reset: true }`), stalls (stops reading both sides, so bytes wait in kernel buffers and new
 * connections are held) and resumes, and rewrites the next bytes coming from the server (XOR 0xFF,
 * or given replacement bytes). Counts connections and bytes.
 * Does NOT: parse the PostgreSQL protocol (it is byte-level; a TLS session through it is opaque, and
 * corrupting TLS bytes makes the TLS layer fail, not the protocol parser).
 * Invariants: byte rewrites apply in command order to the next server→client bytes of whichever
 * connection receives them first; the listener and every socket are closed when the Scope closes.
 */
import { createConnection, createServer, type Socket } from "node:net"
import { Effect, type Scope } from "effect"
import type { PgTestServerError } from "./PgTestServerError.ts"
import { fromUnknown } from "./PgTestServerError.ts"

export interface PgTestProxyStats {
  /** Client connections accepted since the proxy started. */
  readonly accepted: number
  /** Client connections currently open. */
  readonly active: number
  readonly bytesToServer: number
  readonly bytesFromServer: number
}

export interface PgTestProxy {
  readonly host: "127.0.0.1"
  readonly port: number
  /** Closes every current connection, both sides; resolves with how many were cut. New connections still work. */
  readonly cutAll: (options?: { readonly reset?: boolean }) => Effect.Effect<number>
  /** Stops forwarding in both directions (and holds new connections) until `resume`. */
  readonly stall: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
  /** Flips every bit of the next `count` bytes sent by the server. */
  readonly corruptNext: (count: number) => Effect.Effect<void>
  /** Overwrites the next bytes sent by the server with `bytes`. */
  readonly replaceNext: (bytes: Uint8Array) => Effect.Effect<void>
  readonly stats: Effect.Effect<PgTestProxyStats>
}

interface Pair {
  readonly client: Socket
  readonly upstream: Socket
}

/** Starts a proxy to `target` for the lifetime of the current Scope. */
export const makeProxy = (target: {
  readonly host: string
  readonly port: number
}): Effect.Effect<PgTestProxy, PgTestServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const pairs = new Set<Pair>()
    // One entry per pending server byte: a function from the original byte to the sent one.
    const rewrites: Array<(byte: number) => number> = []
    let stalled = false
    let accepted = 0
    let bytesToServer = 0
    let bytesFromServer = 0

    const rewrite = (chunk: Buffer): Buffer => {
      if (rewrites.length === 0) return chunk
      const out = Buffer.from(chunk)
      const n = Math.min(out.length, rewrites.length)
      const fns = rewrites.splice(0, n)
      for (let i = 0; i < n; i++) out[i] = fns[i]!(out[i]!)
      return out
    }

    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
      accepted++
      const upstream = createConnection({ host: target.host, port: target.port, allowHalfOpen: true })
      const pair: Pair = { client, upstream }
      pairs.add(pair)
      let clientEnded = false
      let upstreamEnded = false
      const teardown = () => {
        pairs.delete(pair)
        client.destroy()
        upstream.destroy()
      }
      // A socket closes by itself once it has read the peer's FIN and flushed its own (autoDestroy).
      // A close before both FINs went through is an error or a reset: the pair goes with it.
      const onClose = () => {
        if (!(clientEnded && upstreamEnded)) return teardown()
        if (client.destroyed && upstream.destroyed) pairs.delete(pair)
      }
      client.on("error", teardown).on("close", onClose)
      upstream.on("error", teardown).on("close", onClose)
      client.on("data", (chunk: Buffer) => {
        bytesToServer += chunk.length
        upstream.write(chunk)
      })
      upstream.on("data", (chunk: Buffer) => {
        bytesFromServer += chunk.length
        client.write(rewrite(chunk))
      })
      // A FIN is passed on after the bytes written before it; the other direction keeps flowing.
      client.on("end", () => {
        clientEnded = true
        upstream.end()
      })
      upstream.on("end", () => {
        upstreamEnded = true
        client.end()
      })
      // Reading starts only when not stalled; both sides start paused.
      upstream.pause()
      if (!stalled) {
        client.resume()
        upstream.resume()
      }
    })

    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          new Promise<void>((resolve, reject) => {
            server.once("error", reject)
            server.listen(0, "127.0.0.1", () => {
              server.off("error", reject)
              resolve()
            })
          }),
        catch: fromUnknown("Proxy", "listening on 127.0.0.1")
      }),
      () =>
        Effect.promise(
          () =>
            new Promise<void>((resolve) => {
              for (const pair of pairs) {
                pair.client.destroy()
                pair.upstream.destroy()
              }
              pairs.clear()
              server.close(() => resolve())
            })
        )
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0

    const proxy: PgTestProxy = {
      host: "127.0.0.1",
      port,
      cutAll: (options) =>
        Effect.sync(() => {
          const count = pairs.size
          for (const pair of [...pairs]) {
            pairs.delete(pair)
            if (options?.reset === true) {
              pair.client.resetAndDestroy()
              pair.upstream.resetAndDestroy()
            } else {
              pair.client.destroy()
              pair.upstream.destroy()
            }
          }
          return count
        }),
      stall: Effect.sync(() => {
        stalled = true
        for (const pair of pairs) {
          pair.client.pause()
          pair.upstream.pause()
        }
      }),
      resume: Effect.sync(() => {
        stalled = false
        for (const pair of pairs) {
          pair.client.resume()
          pair.upstream.resume()
        }
      }),
      corruptNext: (count) =>
        Effect.sync(() => {
          for (let i = 0; i < count; i++) rewrites.push((byte) => byte ^ 0xff)
        }),
      replaceNext: (bytes) =>
        Effect.sync(() => {
          for (const byte of bytes) rewrites.push(() => byte)
        }),
      stats: Effect.sync(() => ({ accepted, active: pairs.size, bytesToServer, bytesFromServer }))
    }
    return proxy
  })
