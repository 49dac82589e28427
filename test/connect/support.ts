/**
 * Shared helpers of the connect integration tests (test/connect/*.integration.test.ts).
 *
 * Does: narrows a test server to a local one; reads the server log lines of one backend pid;
 * asks the server whether a session is encrypted (`pg_stat_ssl`); connects while recording the
 * `Session` the Auth service produced (method, channel binding) and the bytes the client wrote;
 * runs a TCP listener that accepts and never answers (or answers only the SSLRequest, or hangs
 * up), to test timeouts, interruption and a server that goes away; finds a port nobody listens on.
 * Does NOT: start servers (each test file starts its own through effect-pg/testing) or assert.
 * Invariants: every listener and socket made here is closed when the Scope that made it closes;
 * every wait is bounded (`bounded`), so a broken client fails a test instead of hanging it.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Tls from "node:tls"
import { Deferred, Duration, Effect, Redacted, type Scope } from "effect"
import { Auth, type Session, startup } from "../../src/Auth.ts"
import type { ConnectConfigInput } from "../../src/config/ConnectConfig.ts"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import { type ConnectError, connect } from "../../src/Expert.ts"
import { open, PgSocket, type Transport } from "../../src/PgSocket.ts"
import type { PgTestLocalServer, PgTestRole, PgTestServerInfo } from "../../src/testing/index.ts"

/** The test servers are always local ones (the harness is started with `env: {}`). */
export const local = (info: PgTestServerInfo): PgTestLocalServer => {
  if (info.source !== "local") throw new Error(`expected a local test server, got ${info.source}`)
  return info
}

/** Fails (as a defect) when `effect` takes longer than `seconds`: no test may hang. */
export const bounded = <A, E, R>(what: string, seconds: number, effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(effect, {
    duration: Duration.seconds(seconds),
    orElse: () => Effect.die(new Error(`${what}: still waiting after ${seconds} s`))
  })

/**
 * The log lines of backend `pid`. The server writes a backend's lines from that backend, so they
 * may lag the client by a moment: wait (bounded) until `until` holds on them.
 */
export const backendLog = (
  pg: PgTestLocalServer,
  pid: number,
  until: (lines: string) => boolean = () => true
): Effect.Effect<string> =>
  bounded(
    `log of backend ${pid}`,
    15,
    Effect.gen(function* () {
      for (;;) {
        const log = yield* Effect.orDie(pg.readLog)
        const lines = log
          .split("\n")
          .filter((line) => line.includes(` [${pid}] `))
          .join("\n")
        if (until(lines)) return lines
        yield* Effect.sleep(Duration.millis(25))
      }
    })
  )

/** The `method=` the server logged for backend `pid` ("connection authenticated: ... method=md5"). */
export const loggedMethod = (pg: PgTestLocalServer, pid: number): Effect.Effect<string | undefined> =>
  Effect.map(
    backendLog(pg, pid, (lines) => lines.includes("connection authorized")),
    (lines) => /connection authenticated: .* method=([a-z0-9-]+)/.exec(lines)?.[1]
  )

/** Whether the server sees this session as encrypted. */
export const sslInUse = (connection: ExpertConnection) =>
  Effect.map(
    connection.query("select ssl, version from pg_stat_ssl where pid = pg_backend_pid()"),
    (result) => ({
      ssl: result.rows[0]?.ssl === true,
      version: (result.rows[0]?.version as string | null | undefined) ?? null
    })
  )

/** The base input for `pg` over TCP (127.0.0.1) with a role, TLS off unless overridden. */
export const tcp = (
  pg: PgTestLocalServer,
  role: PgTestRole,
  extra: Partial<ConnectConfigInput> = {}
): ConnectConfigInput => ({
  host: "127.0.0.1",
  port: pg.port,
  database: "postgres",
  user: role.user,
  sslmode: "disable",
  ...(role.password === undefined ? {} : { password: Redacted.make(role.password) }),
  ...extra
})

/** The base input for `pg` over its Unix socket. */
export const unix = (
  pg: PgTestLocalServer,
  role: PgTestRole,
  extra: Partial<ConnectConfigInput> = {}
): ConnectConfigInput => ({ ...tcp(pg, role, extra), host: pg.socketDir, ...extra })

/** An input for a listener made here: a user and password that no test server knows. */
export const listenerInput = (port: number, extra: Partial<ConnectConfigInput> = {}): ConnectConfigInput => ({
  host: "127.0.0.1",
  port,
  database: "postgres",
  user: "nobody",
  password: Redacted.make("never-sent"),
  sslmode: "disable",
  ...extra
})

/** What the client did while connecting: the Auth session and every byte it wrote. */
export interface Recorded {
  readonly connection: ExpertConnection
  readonly session: Session
  readonly writes: Array<Uint8Array>
  /** The transport of the successful attempt (to cut it without Terminate in a test). */
  readonly transport: Transport
}

/** `connect`, with the real Auth and PgSocket wrapped to record what happened. */
export const connectRecorded = (
  input: ConnectConfigInput
): Effect.Effect<Recorded, ConnectError, Scope.Scope> =>
  Effect.gen(function* () {
    const sessions: Array<Session> = []
    const writes: Array<Uint8Array> = []
    const transports: Array<Transport> = []
    const connection = yield* connect(input).pipe(
      Effect.provideService(Auth, {
        startup: (engine, startupInput) =>
          Effect.tap(startup(engine, startupInput), (session) => Effect.sync(() => sessions.push(session)))
      }),
      Effect.provideService(PgSocket, {
        open: (options) =>
          Effect.map(open(options), (transport): Transport => {
            transports.push(transport)
            return {
              ...transport,
              write: (chunk) => {
                writes.push(Uint8Array.from(chunk))
                return transport.write(chunk)
              }
            }
          })
      })
    )
    const session = sessions[sessions.length - 1]
    const transport = transports[transports.length - 1]
    if (session === undefined || transport === undefined)
      throw new Error("connected without a recorded session")
    return { connection, session, writes, transport }
  })

/** A password Effect that counts its calls. */
export const countingPassword = (password: string) => {
  const counter = { calls: 0 }
  const effect = Effect.sync(() => {
    counter.calls++
    return Redacted.make(password)
  })
  return { counter, effect }
}

/** One connection accepted by a {@link SilentListener}. */
export interface Accepted {
  /** Everything the client sent so far. */
  readonly received: () => Buffer
  /** Completes when the client's socket is gone (closed or reset). */
  readonly closed: Deferred.Deferred<void>
}

export interface SilentListener {
  readonly port: number
  /** The first connection accepted. */
  readonly first: Deferred.Deferred<Accepted>
  /** How many connections were accepted so far. */
  readonly accepted: () => number
  /** Completes once the first connection has sent at least `n` bytes. */
  readonly firstReceived: (n: number) => Effect.Effect<Buffer>
}

/**
 * What a {@link silentListener} does with a connection: nothing ("silent"); answer an SSLRequest
 * with 'S' and then nothing (the client waits inside the TLS handshake); answer it with 'S' and
 * plaintext bytes in the same packet; answer it with an ErrorResponse and hang up; hang up (FIN) on the first bytes; or hang up as soon as it
 * accepts.
 */
export type ListenerBehaviour =
  | "silent"
  | "answer-ssl-then-silent"
  | "answer-ssl-with-extra-bytes"
  | "answer-ssl-with-error"
  | "hang-up-on-first-bytes"
  | "hang-up-at-once"

/** An ErrorResponse: FATAL 53300 "sorry, too many clients already". */
const errorResponse = (() => {
  const fields = Buffer.from("SFATAL\0C53300\0Msorry, too many clients already\0\0")
  const header = Buffer.alloc(5)
  header[0] = 0x45
  header.writeUInt32BE(fields.length + 4, 1)
  return Buffer.concat([header, fields])
})()

/** A TCP server on 127.0.0.1 that accepts and then never answers a PostgreSQL client (see `behaviour`). */
export const silentListener = (
  behaviour: ListenerBehaviour = "silent"
): Effect.Effect<SilentListener, never, Scope.Scope> =>
  Effect.gen(function* () {
    const sockets = new Set<Net.Socket>()
    const first = Deferred.makeUnsafe<Accepted>()
    const waiters: Array<() => void> = []
    let acceptedCount = 0
    const server = Net.createServer((socket) => {
      acceptedCount++
      sockets.add(socket)
      let received = Buffer.alloc(0)
      const closed = Deferred.makeUnsafe<void>()
      socket.on("data", (chunk: Buffer) => {
        const wasEmpty = received.length === 0
        received = Buffer.concat([received, chunk])
        const sslRequest = received.length >= 8 && received.readUInt32BE(4) === 80877103
        if (wasEmpty && behaviour === "answer-ssl-then-silent" && sslRequest) {
          socket.write("S")
        }
        // 'S' and plaintext in one write: what a "buffer stuffing" attacker sends (CVE-2021-23222).
        if (wasEmpty && behaviour === "answer-ssl-with-extra-bytes" && sslRequest)
          socket.write(Buffer.from([0x53, 0x5a, 0, 0, 0, 5, 0x49]))
        // What a server that cannot take the connection sends instead of 'S' / 'N'.
        if (wasEmpty && behaviour === "answer-ssl-with-error" && sslRequest) socket.end(errorResponse)
        if (behaviour === "hang-up-on-first-bytes") socket.end()
        for (const wake of waiters.splice(0)) wake()
      })
      socket.on("error", () => {})
      socket.on("close", () => {
        sockets.delete(socket)
        Deferred.doneUnsafe(closed, Effect.void)
      })
      Deferred.doneUnsafe(first, Effect.succeed({ received: () => received, closed }))
      if (behaviour === "hang-up-at-once") socket.end()
    })
    const port = yield* Effect.acquireRelease(
      Effect.callback<number>((resume) => {
        server.listen(0, "127.0.0.1", () =>
          resume(Effect.succeed((server.address() as Net.AddressInfo).port))
        )
      }),
      () =>
        Effect.callback<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    const firstReceived = (n: number) =>
      Effect.gen(function* () {
        const accepted = yield* Deferred.await(first)
        yield* Effect.callback<void>((resume) => {
          const check = () => {
            if (accepted.received().length >= n) resume(Effect.void)
            else waiters.push(check)
          }
          check()
        })
        return accepted.received()
      })
    return { port, first, firstReceived, accepted: () => acceptedCount }
  })

/** A port on 127.0.0.1 nobody listens on (bound, then released). */
export const closedPort: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as Net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** Files of a throwaway PKI made with the `openssl` tool: a CA, a server certificate and two CRLs. */
export interface RevocationPki {
  readonly caFile: string
  readonly serverCert: string
  readonly serverKey: string
  /** A CRL of the CA that revokes nothing. */
  readonly emptyCrlFile: string
  /** A CRL of the CA that revokes the server certificate. */
  readonly revokingCrlFile: string
}

/** Makes a {@link RevocationPki} in a temporary directory removed with the Scope. */
export const revocationPki: Effect.Effect<RevocationPki, never, Scope.Scope> = Effect.gen(function* () {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-pg-crl-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
  )
  const openssl = (...args: ReadonlyArray<string>) =>
    Effect.sync(() => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] }))
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
  writeFileSync(join(dir, "index.txt"), "")
  writeFileSync(join(dir, "crlnumber"), "01\n")
  writeFileSync(
    join(dir, "san.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
  )
  writeFileSync(
    join(dir, "ca.cnf"),
    [
      "[ca]",
      "default_ca = own",
      "[own]",
      "database = index.txt",
      "crlnumber = crlnumber",
      "default_md = sha256",
      "default_crl_days = 30",
      "certificate = ca.crt",
      "private_key = ca.key",
      ""
    ].join("\n")
  )
  yield* openssl(
    "req",
    "-x509",
    ...ec,
    "-days",
    "30",
    "-subj",
    "/CN=crl-test-ca",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt"
  )
  yield* openssl(
    "req",
    "-new",
    ...ec,
    "-subj",
    "/CN=localhost",
    "-keyout",
    "server.key",
    "-out",
    "server.csr"
  )
  yield* openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-set_serial",
    "4097",
    "-days",
    "30",
    "-extfile",
    "san.ext",
    "-out",
    "server.crt"
  )
  yield* openssl("ca", "-config", "ca.cnf", "-gencrl", "-out", "empty.crl")
  yield* openssl("ca", "-config", "ca.cnf", "-revoke", "server.crt")
  yield* openssl("ca", "-config", "ca.cnf", "-gencrl", "-out", "revoking.crl")
  return {
    caFile: join(dir, "ca.crt"),
    serverCert: join(dir, "server.crt"),
    serverKey: join(dir, "server.key"),
    emptyCrlFile: join(dir, "empty.crl"),
    revokingCrlFile: join(dir, "revoking.crl")
  }
})

/**
 * A TLS server on 127.0.0.1 that offers ALPN `postgresql` (so a direct-TLS client completes its
 * handshake) and hangs up right after the handshake.
 */
export const tlsHangUpServer = (options: {
  readonly cert: string
  readonly key: string
  readonly alpn?: ReadonlyArray<string>
}): Effect.Effect<number, never, Scope.Scope> =>
  Effect.gen(function* () {
    const server = Tls.createServer(
      {
        cert: readFileSync(options.cert),
        key: readFileSync(options.key),
        ...(options.alpn === undefined ? {} : { ALPNProtocols: [...options.alpn] })
      },
      (socket) => {
        socket.on("error", () => {})
        socket.end()
      }
    )
    server.on("tlsClientError", () => {})
    return yield* Effect.acquireRelease(
      Effect.callback<number>((resume) => {
        server.listen(0, "127.0.0.1", () =>
          resume(Effect.succeed((server.address() as Net.AddressInfo).port))
        )
      }),
      () => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
    )
  })
