/**
 * A scriptable, in-process fake PostgreSQL server for tests: a `node:net` server on 127.0.0.1,
 * port 0, that lives as long as the test's Scope.
 *
 * Each accepted connection runs the test's script (an Effect) against a `FakeClient`: the script
 * reads what the client sent (decoded frontend messages: SSLRequest, StartupMessage, then typed
 * frames) and writes raw bytes or well-formed backend messages (FakeMessages.ts, re-exported here).
 * Every message the client sent is recorded in `received`, read or not, so tests can assert on it.
 *
 * It does NOT speak TLS, check passwords or implement SQL: a script says exactly what to answer.
 *
 * Invariants: sockets and the listener are destroyed when the scope closes; a script that ends
 * with anything but "the client went away" (ClientClosed, WriteFailed) or interruption fails the
 * test at scope close; socket errors never escape as unhandled events.
 */
import * as Net from "node:net"
import { Cause, Data, Deferred, Effect, Exit, Queue, Redacted, type Scope } from "effect"
import type { ConnectConfigInput } from "../../src/config/ConnectConfig.ts"
import {
  authenticationOk,
  bytes,
  concat,
  decodeTyped,
  decodeUntyped,
  type FrontendMessage,
  sessionReady
} from "./FakeMessages.ts"

export * from "./FakeMessages.ts"

/** Why a script step failed. ClientClosed and WriteFailed mean the client went away. */
export class FakeServerError extends Data.TaggedError("FakeServerError")<{
  readonly reason: "ClientClosed" | "WriteFailed" | "Unexpected"
  readonly message: string
}> {}

// ---- the fake's view of one client -------------------------------------------------------------

export interface FakeClient {
  readonly id: number
  /** Every message the client sent so far, decoded, in order (read by the script or not). */
  readonly received: ReadonlyArray<FrontendMessage>
  /** The next message the client sent (waits for it). */
  readonly read: Effect.Effect<FrontendMessage, FakeServerError>
  /** The next message, which must have tag `tag`. */
  readonly expect: <T extends FrontendMessage["_tag"]>(
    tag: T
  ) => Effect.Effect<Extract<FrontendMessage, { readonly _tag: T }>, FakeServerError>
  /** Waits until `predicate` holds for everything received so far (consumes nothing). */
  readonly waitFor: (
    predicate: (received: ReadonlyArray<FrontendMessage>) => boolean
  ) => Effect.Effect<void, FakeServerError>
  /** Messages up to and including the first with tag `tag` (e.g. "Sync"). */
  readonly readUntil: (
    tag: FrontendMessage["_tag"]
  ) => Effect.Effect<ReadonlyArray<FrontendMessage>, FakeServerError>
  /** Writes the chunks, concatenated, in one socket write. */
  readonly write: (...chunks: ReadonlyArray<Uint8Array>) => Effect.Effect<void, FakeServerError>
  /** Writes `data` in pieces of `size` bytes, one socket write each, with a pause between them. */
  readonly writeInPieces: (data: Uint8Array, size?: number) => Effect.Effect<void, FakeServerError>
  /** Half-closes: the client reads EOF. */
  readonly end: Effect.Effect<void>
  /** Waits (at most 3 s) until the client closed its socket; fails otherwise. */
  readonly awaitClientClosed: Effect.Effect<void, FakeServerError>
  /** The exit of this connection's script. */
  readonly scriptDone: Effect.Effect<void, unknown>
}

const makeClient = (
  id: number,
  socket: Net.Socket
): FakeClient & { readonly exit: Deferred.Deferred<void, unknown> } => {
  const received: Array<FrontendMessage> = []
  let pending: Uint8Array = new Uint8Array(0)
  let typed = false
  let readIndex = 0
  let closed = false
  const wakers = new Set<() => void>()
  const wake = () => {
    for (const f of [...wakers]) f()
  }
  const clientClosed = Deferred.makeUnsafe<void>()
  const exit = Deferred.makeUnsafe<void, unknown>()

  // Frames eagerly, so `received` holds everything even if the script never reads it.
  const onData = (chunk: Uint8Array) => {
    pending = concat([pending, chunk])
    for (;;) {
      const head = typed ? 5 : 4
      if (pending.length < head) break
      const length = new DataView(pending.buffer, pending.byteOffset).getInt32(typed ? 1 : 0)
      const total = (typed ? 1 : 0) + length
      if (length < 4 || pending.length < total) break
      const body = pending.slice(head, total)
      const message = typed ? decodeTyped(String.fromCharCode(pending[0]!), body) : decodeUntyped(body)
      pending = pending.slice(total)
      if (message._tag === "StartupMessage") typed = true
      received.push(message)
    }
    wake()
  }
  const onGone = () => {
    closed = true
    Deferred.doneUnsafe(clientClosed, Effect.void)
    wake()
  }
  socket.on("data", onData)
  socket.on("end", onGone)
  socket.on("close", onGone)
  socket.on("error", () => {}) // 'close' follows; an unhandled 'error' would crash the worker

  /** Waits until `check` gives a value (re-checked at every arrival), or fails once the client is gone. */
  const waitUntil = <A>(check: () => A | undefined, what: string) =>
    Effect.callback<A, FakeServerError>((resume) => {
      const attempt = () => {
        const value = check()
        if (value !== undefined) {
          wakers.delete(attempt)
          resume(Effect.succeed(value))
        } else if (closed) {
          wakers.delete(attempt)
          const message = `client ${id} closed the connection while the script waited for ${what}`
          resume(Effect.fail(new FakeServerError({ reason: "ClientClosed", message })))
        }
      }
      wakers.add(attempt)
      attempt()
      return Effect.sync(() => {
        wakers.delete(attempt)
      })
    })

  const read = waitUntil(() => (readIndex < received.length ? received[readIndex++] : undefined), "a message")

  const expect = <T extends FrontendMessage["_tag"]>(tag: T) =>
    Effect.flatMap(read, (m) =>
      m._tag === tag
        ? Effect.succeed(m as Extract<FrontendMessage, { readonly _tag: T }>)
        : Effect.fail(
            new FakeServerError({
              reason: "Unexpected",
              message: `expected ${tag} from client ${id}, got ${m._tag}`
            })
          )
    )

  const readUntil = (tag: FrontendMessage["_tag"]) =>
    Effect.gen(function* () {
      const out: Array<FrontendMessage> = []
      for (;;) {
        const m = yield* read
        out.push(m)
        if (m._tag === tag) return out
      }
    })

  const writeOnce = (data: Uint8Array) =>
    Effect.callback<void, FakeServerError>((resume) => {
      if (socket.destroyed || !socket.writable) {
        return resume(
          Effect.fail(new FakeServerError({ reason: "WriteFailed", message: `client ${id} is gone` }))
        )
      }
      socket.write(data, (error) =>
        resume(
          error
            ? Effect.fail(new FakeServerError({ reason: "WriteFailed", message: error.message }))
            : Effect.void
        )
      )
    })

  const writeInPieces = (data: Uint8Array, size = 1) =>
    Effect.gen(function* () {
      for (let at = 0; at < data.length; at += size) {
        yield* writeOnce(data.subarray(at, at + size))
        yield* Effect.sleep("1 millis")
      }
    })

  return {
    id,
    received,
    read,
    expect,
    readUntil,
    waitFor: (predicate) =>
      Effect.asVoid(waitUntil(() => (predicate(received) ? true : undefined), "a condition")),
    write: (...chunks) => writeOnce(concat(chunks)),
    writeInPieces,
    end: Effect.sync(() => {
      socket.end()
    }),
    awaitClientClosed: Deferred.await(clientClosed).pipe(
      Effect.timeoutOrElse({
        duration: "3 seconds",
        orElse: () =>
          Effect.fail(
            new FakeServerError({ reason: "Unexpected", message: `client ${id} did not close its socket` })
          )
      })
    ),
    scriptDone: Deferred.await(exit),
    exit
  }
}

// ---- the server --------------------------------------------------------------------------------

export type Script = (client: FakeClient) => Effect.Effect<void, unknown>

export interface FakeServer {
  readonly port: number
  /** The clients that connected so far, in order. */
  readonly clients: ReadonlyArray<FakeClient>
  /** Waits for the `n`-th client (0-based). */
  readonly client: (n: number) => Effect.Effect<FakeClient>
  /** A connection input for this server: user "u", database "d", password "secret", sslmode disable. */
  readonly config: (overrides?: ConnectConfigInput) => ConnectConfigInput
}

const wentAway = (cause: Cause.Cause<unknown>): boolean =>
  cause.reasons.every(
    (r) =>
      Cause.isInterruptReason(r) ||
      (Cause.isFailReason(r) && r.error instanceof FakeServerError && r.error.reason !== "Unexpected")
  )

/** Starts a fake server running `script` for every connection; stops it when the scope closes. */
export const make = (script: Script): Effect.Effect<FakeServer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const accepted = yield* Queue.unbounded<Net.Socket>()
    const sockets = new Set<Net.Socket>()
    const clients: Array<FakeClient & { readonly exit: Deferred.Deferred<void, unknown> }> = []
    const arrivals: Array<Deferred.Deferred<FakeClient>> = []
    const arrival = (n: number) => {
      while (arrivals.length <= n) arrivals.push(Deferred.makeUnsafe<FakeClient>())
      return arrivals[n]!
    }

    // Checked last (finalizers run in reverse): a script that broke for another reason fails the test.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        for (const c of clients) {
          if (!Deferred.isDoneUnsafe(c.exit)) continue
          const result = yield* Effect.exit(Deferred.await(c.exit))
          if (Exit.isFailure(result) && !wentAway(result.cause)) {
            return yield* Effect.die(
              new Error(`fake server script ${c.id} failed:\n${Cause.pretty(result.cause)}`)
            )
          }
        }
      })
    )

    const server = yield* Effect.acquireRelease(
      Effect.callback<Net.Server>((resume) => {
        const s = Net.createServer((socket) => {
          socket.setNoDelay(true)
          sockets.add(socket)
          Queue.offerUnsafe(accepted, socket)
        })
        s.once("error", (error) => resume(Effect.die(error)))
        s.listen(0, "127.0.0.1", () => {
          s.on("error", () => {}) // after listening, errors belong to sockets, which handle their own
          resume(Effect.succeed(s))
        })
      }),
      (s) =>
        Effect.callback<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          s.close(() => resume(Effect.void))
        })
    )

    yield* Effect.gen(function* () {
      for (;;) {
        const socket = yield* Queue.take(accepted)
        const client = makeClient(clients.length, socket)
        clients.push(client)
        yield* Effect.forkIn(
          Effect.onExit(
            Effect.suspend(() => script(client)),
            (exit) => Deferred.done(client.exit, exit)
          ),
          scope
        )
        Deferred.doneUnsafe(arrival(client.id), Effect.succeed(client))
      }
    }).pipe(Effect.forkScoped)

    const port = (server.address() as Net.AddressInfo).port
    return {
      port,
      clients,
      client: (n) => Deferred.await(arrival(n)),
      config: (overrides = {}) => ({
        host: "127.0.0.1",
        port,
        user: "u",
        database: "d",
        password: Redacted.make("secret"),
        sslmode: "disable",
        connectTimeout: 5,
        ...overrides
      })
    }
  })

// ---- common script steps -----------------------------------------------------------------------

/** Reads the StartupMessage (answering 'N' to an SSLRequest first) and accepts the session (trust). */
export const acceptSession = (client: FakeClient) =>
  Effect.gen(function* () {
    let first = yield* client.read
    if (first._tag === "SSLRequest") {
      yield* client.write(bytes("N"))
      first = yield* client.read
    }
    if (first._tag !== "StartupMessage") {
      return yield* new FakeServerError({
        reason: "Unexpected",
        message: `expected StartupMessage, got ${first._tag}`
      })
    }
    yield* client.write(authenticationOk(), sessionReady())
    return first
  })

/** Reads one extended query up to its Sync; returns its SQL and parameters. */
export const readExtendedQuery = (client: FakeClient) =>
  Effect.map(client.readUntil("Sync"), (messages) => {
    const parse = messages.find((m) => m._tag === "Parse")
    const bind = messages.find((m) => m._tag === "Bind")
    return {
      sql: parse?._tag === "Parse" ? parse.sql : "",
      params: bind?._tag === "Bind" ? bind.params : [],
      messages
    }
  })
