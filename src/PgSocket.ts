/**
 * The Socket service: opens the byte stream a PostgreSQL session runs over.
 *
 * It dials TCP (IPv4/IPv6, DNS) or a Unix socket (`<dir>/.s.PGSQL.<port>`), negotiates TLS the
 * way libpq does (SSLRequest then an in-place upgrade, or direct TLS with ALPN `postgresql` on
 * PG17+), checks the server certificate per sslmode (with a CRL and TLS version bounds when
 * given), presents a client certificate, and sets TCP keepalive. The result is a `Transport`: a
 * small callback interface the Codec reads from.
 *
 * It does NOT frame or decode messages (Codec), authenticate (Auth), apply connect timeouts
 * (the caller wraps the whole handshake), or retry with another sslmode (Connection).
 *
 * Invariants: `open` is interruptible at every stage (dial, SSLRequest, TLS handshake), and an
 * interrupted or failed `open` leaves no socket behind; a server that hangs up mid-dialogue fails
 * it at once; the socket is destroyed when the scope that opened it closes; after an SSLRequest,
 * bytes the server sends before the TLS handshake are refused (CVE-2021-23222 "buffer stuffing"),
 * and an error message in answer to it is neither read nor shown (CVE-2024-10977).
 */
import * as Net from "node:net"
import * as Tls from "node:tls"
import { Context, Effect, type Scope } from "effect"
import { PgConnectionError } from "./Errors.ts"

/** Where to connect. A Unix target is the socket file itself. */
export type SocketTarget =
  | {
      readonly _tag: "Tcp"
      readonly host: string
      readonly port: number
      readonly hostaddr?: string | undefined
    }
  | { readonly _tag: "Unix"; readonly path: string }

/** What the caller wants from TLS, already resolved from sslmode and friends. */
export interface TlsRequest {
  /** "none": never send SSLRequest. "try": accept 'N' and go on in clear. "must": fail on 'N'. */
  readonly use: "none" | "try" | "must"
  /** "postgres": SSLRequest first. "direct": TLS handshake at once with ALPN `postgresql`. */
  readonly negotiation: "postgres" | "direct"
  /** "none": encrypt only. "ca": the chain must verify. "full": chain and host name. */
  readonly verify: "none" | "ca" | "full"
  /** PEM trust anchors; undefined means Node's default (system) store. */
  readonly ca?: string | Uint8Array | undefined
  readonly cert?: string | Uint8Array | undefined
  readonly key?: string | Uint8Array | undefined
  readonly passphrase?: string | undefined
  /** Send SNI (libpq `sslsni`, default on); never sent for IP literals. */
  readonly sni?: boolean | undefined
  /** PEM certificate revocation list(s) checked with the chain (libpq `sslcrl`). */
  readonly crl?: string | Uint8Array | undefined
  /** Lowest and highest TLS version allowed (libpq `ssl_min_protocol_version`, `ssl_max_protocol_version`). */
  readonly minVersion?: Tls.SecureVersion | undefined
  readonly maxVersion?: Tls.SecureVersion | undefined
}

export interface SocketOptions {
  readonly target: SocketTarget
  readonly tls: TlsRequest
  readonly keepAlive?: { readonly enabled: boolean; readonly idleMillis?: number | undefined } | undefined
}

/** Receives bytes from a Transport. Called synchronously from socket events. */
export interface Receiver {
  readonly onData: (chunk: Uint8Array) => void
  /** The socket is gone: `error` is undefined for a clean EOF. Called once. */
  readonly onClose: (error: Error | undefined) => void
}

/**
 * An open byte stream. Writes never block: `write` returns false when the kernel buffer is
 * full and `onDrain` says when to go on. Reading is push-based with `pause`/`resume`, which is
 * what gives backpressure: a paused transport stops reading, so the server's sends block.
 */
export interface Transport {
  readonly tls: boolean
  /** DER of the server certificate when TLS is on (for SCRAM channel binding). */
  readonly peerCertificate: Uint8Array | undefined
  readonly tlsProtocol: string | undefined
  readonly remote: string
  readonly write: (chunk: Uint8Array) => boolean
  readonly onDrain: (f: () => void) => void
  readonly start: (receiver: Receiver) => void
  readonly pause: () => void
  readonly resume: () => void
  /** Half-close after the pending writes (graceful). */
  readonly end: () => void
  readonly destroy: () => void
  readonly closed: () => boolean
}

export interface PgSocketService {
  readonly open: (options: SocketOptions) => Effect.Effect<Transport, PgConnectionError, Scope.Scope>
}

/**
 * The Socket service. A `Context.Reference`: the Node implementation (node:net + node:tls) is the
 * default, and a test replaces it with `Effect.provideService(PgSocket, fake)`.
 */
export const PgSocket: Context.Reference<PgSocketService> = Context.Reference<PgSocketService>(
  "effect-pg/PgSocket",
  {
    defaultValue: () => ({ open })
  }
)

const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

/**
 * The `cause` of the PgConnectionError for a server that answered SSLRequest with an error
 * message: libpq treats it as fatal in every sslmode (no plaintext retry), and so does Connection.
 */
export class ErrorBeforeTls extends Error {
  constructor() {
    super("the server answered SSLRequest with an error message (not read: it is not authenticated)")
    this.name = "ErrorBeforeTls"
  }
}

const describe = (target: SocketTarget): string =>
  target._tag === "Unix"
    ? `socket "${target.path}"`
    : `${Net.isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}`

const fail = (phase: "connect" | "tls", message: string, cause?: unknown) =>
  new PgConnectionError({ phase, mayHaveReachedServer: false, message, cause })

/**
 * Dial, then negotiate TLS. The dialogue is interruptible (a connect timeout or an interrupt
 * must be able to stop a server that never answers): interruption destroys whatever socket
 * exists at that moment, and only a finished socket is handed to the scope's finalizer.
 */
export const open = (options: SocketOptions): Effect.Effect<Transport, PgConnectionError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Net.Socket | Tls.TLSSocket, PgConnectionError>((resume) => {
      const where = describe(options.target)
      let current: Net.Socket = dial(
        options,
        where,
        (result) => {
          if (result instanceof PgConnectionError) {
            current.destroy()
            resume(Effect.fail(result))
          } else {
            current = result
            resume(Effect.succeed(result))
          }
        },
        (replacement) => {
          current = replacement
        }
      )
      return Effect.sync(() => current.destroy())
    }),
    (socket) => Effect.sync(() => socket.destroy()),
    { interruptible: true }
  ).pipe(Effect.map((socket) => makeTransport(socket, describe(options.target))))

/**
 * The callback-level dialogue. `done` gets the ready socket or the error; called once. Failures
 * before the TCP (or Unix) connection is up are phase "connect", later ones (SSLRequest answer,
 * TLS handshake, direct TLS) phase "tls". The listeners added here stay on the socket but do
 * nothing once `done` was called, so an error event never finds a socket without a listener.
 */
const dial = (
  options: SocketOptions,
  where: string,
  done: (result: Net.Socket | PgConnectionError) => void,
  replaced: (socket: Net.Socket) => void
): Net.Socket => {
  const { target, tls } = options
  let finished = false
  let phase: "connect" | "tls" = "connect"
  const finish = (result: Net.Socket | PgConnectionError) => {
    if (finished) return
    finished = true
    done(result)
  }
  const onError = (err: Error) => finish(fail(phase, `could not connect to ${where}: ${err.message}`, err))
  // A clean EOF before the dialogue ended (no 'error' event): the server hung up on us.
  const onClose = () =>
    finish(
      fail(
        phase,
        phase === "tls"
          ? `server at ${where} closed the connection unexpectedly during SSL negotiation`
          : `server at ${where} closed the connection unexpectedly`
      )
    )

  // As libpq: TLS is never attempted over a Unix socket, whatever sslmode says.
  const direct = tls.use !== "none" && tls.negotiation === "direct" && target._tag === "Tcp"
  const connectOptions: Net.NetConnectOpts =
    target._tag === "Unix"
      ? { path: target.path }
      : { host: target.hostaddr ?? target.host, port: target.port }
  const raw = direct
    ? Tls.connect({ ...connectOptions, ...tlsOptions(options), ALPNProtocols: ["postgresql"] })
    : Net.createConnection(connectOptions)
  raw.setNoDelay(true)
  if (options.keepAlive?.enabled !== false && target._tag === "Tcp") {
    raw.setKeepAlive(true, options.keepAlive?.idleMillis ?? 0)
  }
  raw.on("error", onError)
  raw.once("close", onClose)

  if (direct) {
    // A TLSSocket from tls.connect emits 'connect' when TCP is up, then 'secureConnect'.
    raw.once("connect", () => {
      phase = "tls"
    })
    raw.once("secureConnect", () => {
      const tlsSocket = raw as Tls.TLSSocket
      if (tlsSocket.alpnProtocol !== "postgresql") {
        return finish(fail("tls", `server at ${where} did not negotiate ALPN "postgresql" for direct TLS`))
      }
      finish(raw)
    })
    return raw
  }

  raw.once("connect", () => {
    if (tls.use === "none" || target._tag === "Unix") return finish(raw)
    phase = "tls"
    raw.once("data", (chunk: Buffer) => {
      raw.pause()
      const answer = chunk[0]
      if (answer === 0x45 /* E */) {
        // As libpq (CVE-2024-10977): the server is not authenticated yet, so its words are not
        // read or repeated, and no mode falls back to plaintext after this (see ErrorBeforeTls).
        return finish(
          fail("tls", `server at ${where} sent an error response during SSL exchange`, new ErrorBeforeTls())
        )
      }
      if (chunk.length > 1) {
        return finish(fail("tls", `server at ${where} sent unencrypted data after its SSL response`))
      }
      if (answer === 0x4e /* N */) {
        if (tls.use === "must") {
          return finish(fail("tls", `server at ${where} does not support SSL, but SSL was required`))
        }
        return finish(raw)
      }
      if (answer !== 0x53 /* S */) {
        return finish(
          fail("tls", `server at ${where} answered the SSL request with byte 0x${(answer ?? 0).toString(16)}`)
        )
      }
      const secured = Tls.connect({ ...tlsOptions(options), socket: raw })
      replaced(secured)
      secured.on("error", onError)
      secured.once("close", onClose)
      secured.once("secureConnect", () => finish(secured))
    })
    raw.write(SSL_REQUEST)
  })
  return raw
}

const tlsOptions = (options: SocketOptions): Tls.ConnectionOptions => {
  const { tls, target } = options
  const host = target._tag === "Tcp" ? target.host : "localhost"
  const servername = tls.sni !== false && !Net.isIP(host) ? host : undefined
  return {
    ...(servername === undefined ? {} : { servername }),
    ...(tls.ca === undefined ? {} : { ca: toPem(tls.ca) }),
    ...(tls.cert === undefined ? {} : { cert: toPem(tls.cert) }),
    ...(tls.key === undefined ? {} : { key: toPem(tls.key) }),
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
    ...(tls.crl === undefined ? {} : { crl: toPem(tls.crl) }),
    ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
    ...(tls.maxVersion === undefined ? {} : { maxVersion: tls.maxVersion }),
    rejectUnauthorized: tls.verify !== "none",
    checkServerIdentity: (_name, cert) =>
      tls.verify === "full" ? Tls.checkServerIdentity(host, cert) : undefined
  }
}

const toPem = (value: string | Uint8Array): string | Buffer =>
  typeof value === "string" ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)

const makeTransport = (socket: Net.Socket | Tls.TLSSocket, remote: string): Transport => {
  const isTls = socket instanceof Tls.TLSSocket
  const peer = isTls ? socket.getPeerX509Certificate() : undefined
  let receiver: Receiver | undefined
  let corked = false
  const uncork = () => {
    corked = false
    socket.uncork()
  }
  let closedFlag = false
  let lastError: Error | undefined
  const close = (error: Error | undefined) => {
    if (closedFlag) return
    closedFlag = true
    receiver?.onClose(error ?? lastError)
  }
  socket.on("error", (err) => {
    lastError = err
  })
  socket.on("close", () => close(undefined))
  socket.on("end", () => close(undefined))
  return {
    tls: isTls,
    peerCertificate: peer === undefined ? undefined : new Uint8Array(peer.raw),
    tlsProtocol: isTls ? (socket.getProtocol() ?? undefined) : undefined,
    remote,
    write: (chunk) => {
      // Writes made in the same tick (pipelined requests from many fibers) leave in one writev.
      if (!corked) {
        corked = true
        socket.cork()
        process.nextTick(uncork)
      }
      return socket.write(chunk)
    },
    onDrain: (f) => {
      socket.once("drain", f)
    },
    start: (r) => {
      receiver = r
      // The socket may have closed between the handshake and now: report it, never lose it.
      if (closedFlag || socket.destroyed) {
        closedFlag = true
        r.onClose(lastError)
        return
      }
      socket.on("data", (chunk: Buffer) => r.onData(chunk))
      socket.resume()
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    end: () => {
      if (!socket.destroyed) socket.end()
    },
    destroy: () => socket.destroy(),
    closed: () => closedFlag || socket.destroyed
  }
}
