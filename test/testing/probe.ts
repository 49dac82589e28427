/**
 * A minimal raw PostgreSQL protocol probe for the harness tests (there is no client library yet,
 * and psql may be absent on CI).
 *
 * Does: SSLRequest, TLS upgrade, StartupMessage (protocol 3.0), cleartext and MD5 password
 * answers, reading ParameterStatus/BackendKeyData up to ReadyForQuery, simple Query, and
 * recording every message type seen.
 * Does NOT: implement SCRAM (a SASL request is reported with its mechanisms and the probe stops),
 * decode rows beyond their raw bytes, or handle COPY.
 * Invariants: messages are framed by their length word (type byte + int32 length incl. itself).
 */
import { createHash } from "node:crypto"
import { createConnection, type Socket } from "node:net"
import { type TLSSocket, connect as tlsConnect } from "node:tls"

export interface Frame {
  readonly type: string
  readonly body: Buffer
}

export interface ServerError {
  readonly severity: string
  readonly code: string
  readonly message: string
}

/** ErrorResponse / NoticeResponse fields: type byte, cstring, ..., 0. */
export const parseError = (body: Buffer): ServerError => {
  const fields: Record<string, string> = {}
  let i = 0
  while (i < body.length && body[i] !== 0) {
    const key = String.fromCharCode(body[i]!)
    const end = body.indexOf(0, i + 1)
    fields[key] = body.subarray(i + 1, end).toString("utf8")
    i = end + 1
  }
  return { severity: fields.V ?? fields.S ?? "", code: fields.C ?? "", message: fields.M ?? "" }
}

export class Session {
  private buffer: Buffer = Buffer.alloc(0)
  private waiters: Array<() => void> = []
  closed = false
  readonly seen: Array<string> = []
  readonly socket: Socket | TLSSocket

  constructor(socket: Socket | TLSSocket) {
    this.socket = socket
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.wake()
    })
    socket.on("close", () => {
      this.closed = true
      this.wake()
    })
    socket.on("error", () => {
      this.closed = true
      this.wake()
    })
  }

  private wake() {
    const waiters = this.waiters
    this.waiters = []
    for (const waiter of waiters) waiter()
  }

  /** The next frame, or undefined when the connection closed (or `timeoutMs` passed). */
  async next(timeoutMs = 10_000): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (this.buffer.length >= 5) {
        const length = this.buffer.readInt32BE(1)
        if (this.buffer.length >= 1 + length) {
          const frame = {
            type: String.fromCharCode(this.buffer[0]!),
            body: this.buffer.subarray(5, 1 + length)
          }
          this.buffer = this.buffer.subarray(1 + length)
          this.seen.push(frame.type)
          return frame
        }
      }
      if (this.closed) return undefined
      const left = deadline - Date.now()
      if (left <= 0) return undefined
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** Sends a simple Query and returns the frames up to and including ReadyForQuery. */
  async query(sql: string, timeoutMs = 10_000): Promise<ReadonlyArray<Frame>> {
    const text = Buffer.from(sql + "\0", "utf8")
    const header = Buffer.alloc(5)
    header.write("Q", 0, "latin1")
    header.writeInt32BE(4 + text.length, 1)
    this.send(Buffer.concat([header, text]))
    return this.until("Z", timeoutMs)
  }

  /** Frames up to and including the first of type `type` (or until close/timeout). */
  async until(type: string, timeoutMs = 10_000): Promise<ReadonlyArray<Frame>> {
    const frames: Array<Frame> = []
    for (;;) {
      const frame = await this.next(timeoutMs)
      if (frame === undefined) return frames
      frames.push(frame)
      if (frame.type === type) return frames
    }
  }

  /** Resolves when the server closes the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    while (!this.closed) if ((await this.next(timeoutMs)) === undefined) break
    return this.closed
  }

  close(): void {
    this.socket.destroy()
  }
}

const startupMessage = (params: Record<string, string>): Buffer => {
  const body = Buffer.from(
    Object.entries(params)
      .map(([k, v]) => `${k}\0${v}\0`)
      .join("") + "\0",
    "utf8"
  )
  const head = Buffer.alloc(8)
  head.writeInt32BE(8 + body.length, 0)
  head.writeInt32BE(3 << 16, 4)
  return Buffer.concat([head, body])
}

const passwordMessage = (password: string): Buffer => {
  const text = Buffer.from(password + "\0", "utf8")
  const head = Buffer.alloc(5)
  head.write("p", 0, "latin1")
  head.writeInt32BE(4 + text.length, 1)
  return Buffer.concat([head, text])
}

const md5 = (data: Buffer | string) => createHash("md5").update(data).digest("hex")

export interface Target {
  readonly host?: string
  readonly port: number
  /** Connect through a unix socket in this directory instead of TCP. */
  readonly socketDir?: string
}

export interface TlsOptions {
  readonly ca: string
  readonly cert?: string
  readonly key?: string
  readonly servername?: string
}

const rawConnect = (target: Target): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket =
      target.socketDir === undefined
        ? createConnection({ host: target.host ?? "127.0.0.1", port: target.port })
        : createConnection({ path: `${target.socketDir}/.s.PGSQL.${target.port}` })
    socket.once("connect", () => {
      socket.off("error", reject)
      resolve(socket)
    })
    socket.once("error", reject)
  })

/** Sends SSLRequest and returns the server's one-byte answer ('S' or 'N'), with the socket. */
export const sslRequest = async (
  target: Target
): Promise<{ readonly answer: string; readonly socket: Socket }> => {
  const socket = await rawConnect(target)
  const request = Buffer.alloc(8)
  request.writeInt32BE(8, 0)
  request.writeInt32BE(80877103, 4)
  const answer = await new Promise<string>((resolve, reject) => {
    socket.once("data", (chunk: Buffer) => resolve(String.fromCharCode(chunk[0]!)))
    socket.once("error", reject)
    socket.once("close", () => resolve(""))
    socket.write(request)
  })
  return { answer, socket }
}

/** Opens a session: plaintext, or SSLRequest + TLS handshake when `tls` is given. */
export const open = async (target: Target, tls?: TlsOptions): Promise<Session> => {
  if (tls === undefined) return new Session(await rawConnect(target))
  const { answer, socket } = await sslRequest(target)
  if (answer !== "S") {
    socket.destroy()
    throw new Error(`server refused SSL (answer ${JSON.stringify(answer)})`)
  }
  const secure = await new Promise<TLSSocket>((resolve, reject) => {
    const upgraded = tlsConnect({
      socket,
      servername: tls.servername ?? "localhost",
      ca: tls.ca,
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: tls.key })
    })
    upgraded.once("secureConnect", () => resolve(upgraded))
    upgraded.once("error", reject)
  })
  return new Session(secure)
}

export interface StartupResult {
  readonly session: Session
  /** Authentication request codes seen, in order (0 ok, 3 cleartext, 5 md5, 10 SASL). */
  readonly authRequests: ReadonlyArray<number>
  readonly saslMechanisms: ReadonlyArray<string>
  readonly params: Readonly<Record<string, string>>
  readonly backendPid?: number
  readonly error?: ServerError
  readonly ready: boolean
}

/** StartupMessage and the authentication dialogue, up to ReadyForQuery, an error, or a SASL request. */
export const startup = async (
  session: Session,
  options: { readonly user: string; readonly database?: string; readonly password?: string }
): Promise<StartupResult> => {
  session.send(startupMessage({ user: options.user, database: options.database ?? "postgres" }))
  const authRequests: Array<number> = []
  const params: Record<string, string> = {}
  let saslMechanisms: Array<string> = []
  let backendPid: number | undefined
  for (;;) {
    const frame = await session.next()
    const base = { session, authRequests, saslMechanisms, params }
    const withPid = backendPid === undefined ? base : { ...base, backendPid }
    if (frame === undefined) return { ...withPid, ready: false }
    if (frame.type === "E") return { ...withPid, error: parseError(frame.body), ready: false }
    if (frame.type === "Z") return { ...withPid, ready: true }
    if (frame.type === "K") backendPid = frame.body.readInt32BE(0)
    if (frame.type === "S") {
      const [name, value] = frame.body.toString("utf8").split("\0")
      params[name!] = value!
    }
    if (frame.type === "R") {
      const code = frame.body.readInt32BE(0)
      authRequests.push(code)
      if (code === 3) session.send(passwordMessage(options.password ?? ""))
      if (code === 5) {
        const salt = frame.body.subarray(4, 8)
        const inner = md5((options.password ?? "") + options.user)
        session.send(passwordMessage("md5" + md5(Buffer.concat([Buffer.from(inner), salt]))))
      }
      if (code === 10) {
        saslMechanisms = frame.body
          .subarray(4)
          .toString("utf8")
          .split("\0")
          .filter((m) => m !== "")
        return { ...withPid, saslMechanisms, ready: false }
      }
    }
  }
}

/** Connects (plain or TLS) and runs the startup; the caller closes `result.session`. */
export const connectAndStartup = async (
  target: Target,
  options: { readonly user: string; readonly database?: string; readonly password?: string },
  tls?: TlsOptions
): Promise<StartupResult> => startup(await open(target, tls), options)
