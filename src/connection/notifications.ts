/**
 * LISTEN/NOTIFY fan-out: channel → subscriber queues on one connection.
 *
 * The first subscriber of a channel runs `LISTEN "<channel>"` (identifier quoted), and the last one
 * to leave runs `UNLISTEN`, both through the listen command (commands/listen.ts: exactly that
 * statement's CommandComplete is accepted); several subscribers share one LISTEN. A second
 * subscriber that arrives while the LISTEN is still in flight waits for it, so a returned stream
 * never misses a notification committed after `listen` returned. A channel name that is not 1 to
 * 63 bytes of UTF-8 without NUL is refused (the server would truncate it, and nothing would ever
 * arrive).
 * Queues are unbounded: a notification that arrives while a query runs, or while the consumer is
 * slow, is kept. When the connection fails or closes, every stream fails with its closed error.
 *
 * Subtleties (see docs/notifications.md): a LISTEN inside a transaction that rolls back has no
 * effect; notifications are delivered only when the notifying transaction commits; the protocol
 * has no heartbeat (see `heartbeat`).
 */
import { Cause, Deferred, Effect, Exit, Queue, type Scope, Stream } from "effect"
import { channelProblem, type ListenArgs, listen as listenCommand } from "../commands/listen.ts"
import { type PgExpertError, PgProtocolError } from "../Errors.ts"

/** A NotificationResponse. */
export interface Notification {
  readonly pid: number
  readonly channel: string
  readonly payload: string
}

/** How LISTEN and UNLISTEN run: the listen command, through the connection's `run`. */
export interface ListenRunner {
  readonly run: (command: typeof listenCommand, args: ListenArgs) => Effect.Effect<unknown, PgExpertError>
}

type Subscriber = Queue.Queue<Notification, PgExpertError | Cause.Done>

interface Channel {
  readonly subscribers: Set<Subscriber>
  readonly ready: Deferred.Deferred<void, PgExpertError>
}

export class Listeners {
  private readonly channels = new Map<string, Channel>()
  /** Set once the connection is gone; built lazily (most connections never listen). */
  private failure: (() => PgExpertError) | undefined
  private readonly runner: ListenRunner

  constructor(runner: ListenRunner) {
    this.runner = runner
  }

  /** LISTEN (or UNLISTEN) `channel`. */
  private run(channel: string, unlisten: boolean): Effect.Effect<unknown, PgExpertError> {
    return this.runner.run(listenCommand, { channel, unlisten })
  }

  /** From the engine: one NotificationResponse. */
  deliver(pid: number, channel: string, payload: string): void {
    const entry = this.channels.get(channel)
    if (entry === undefined) return
    const n: Notification = { pid, channel, payload }
    for (const q of entry.subscribers) Queue.offerUnsafe(q, n)
  }

  /** From the engine: the connection is gone; every stream fails with `error`. */
  fail(error: PgExpertError | (() => PgExpertError)): void {
    if (this.failure !== undefined) return
    let built: PgExpertError | undefined
    const get = (): PgExpertError => (built ??= typeof error === "function" ? error() : error)
    this.failure = get
    if (this.channels.size === 0) return
    const failed = get()
    for (const entry of this.channels.values()) {
      for (const q of entry.subscribers) Queue.failCauseUnsafe(q, Cause.fail(failed))
    }
    this.channels.clear()
  }

  listen(
    channel: string
  ): Effect.Effect<Stream.Stream<Notification, PgExpertError>, PgExpertError, Scope.Scope> {
    const self = this
    return Effect.gen(function* () {
      if (self.failure !== undefined) return yield* Effect.fail(self.failure())
      const problem = channelProblem(channel)
      // LISTEN would truncate a long name (and NOTIFY refuses it), so nothing would ever arrive.
      if (problem !== undefined)
        return yield* PgProtocolError.notSent({ reason: "InvalidValue", message: problem })
      const queue = yield* Effect.acquireRelease(
        Queue.unbounded<Notification, PgExpertError | Cause.Done>(),
        (q) => self.leave(channel, q)
      )
      let entry = self.channels.get(channel)
      if (entry === undefined) {
        const created: Channel = { subscribers: new Set([queue]), ready: Deferred.makeUnsafe() }
        entry = created
        self.channels.set(channel, created)
        const listened = yield* Effect.exit(self.run(channel, false))
        Deferred.doneUnsafe(created.ready, Exit.asVoid(listened))
        if (Exit.isFailure(listened) && self.channels.get(channel) === created) self.channels.delete(channel)
      } else {
        entry.subscribers.add(queue)
      }
      yield* Deferred.await(entry.ready)
      return Stream.fromQueue(queue)
    })
  }

  private leave(channel: string, queue: Subscriber): Effect.Effect<void> {
    return Effect.suspend(() => {
      Queue.shutdownUnsafe(queue)
      const entry = this.channels.get(channel)
      if (entry === undefined || !entry.subscribers.delete(queue) || entry.subscribers.size > 0)
        return Effect.void
      this.channels.delete(channel)
      if (this.failure !== undefined) return Effect.void
      return Effect.ignore(this.run(channel, true))
    })
  }
}
