/**
 * A running START_REPLICATION (commands/replication.ts) as the connection layer drives it: the
 * CopyData decoded as it arrives, keepalives answered, Standby status updates carrying only what
 * the consumer acknowledged, and the events pulled with pushback to the socket.
 *
 * - Events: one per XLogData (for pgoutput, one per message, Begin and Commit included), decoded
 *   by the caller's `decode` on the engine's side, batched per socket read into a Backlog
 *   (backlog.ts): 16 batches behind, the socket pauses and the server blocks in its write; so
 *   memory is bounded by about 16 socket reads, whatever the consumer does.
 * - Acknowledgement: `ack(lsn)` raises the acknowledged LSN (never lowers it); every status update
 *   reports it as written, flushed and applied, so the slot's confirmed_flush_lsn never passes what
 *   the consumer acknowledged (at-least-once delivery).
 * - Liveness: a keepalive that asks for a reply is answered at once from the engine's callback,
 *   whatever the consumer does; a timer independent of the consumer sends a status update every
 *   `statusInterval` (so a paused socket, which reads no keepalive, still keeps the walsender's
 *   wal_sender_timeout from firing); one more goes out when the stream stops.
 * - Stop (the scope of `open` closes): a last status update, CopyDone, the buffered events are
 *   dropped and the socket resumed; the exchange runs to its ReadyForQuery (bounded wait), so the
 *   connection can run replication commands again.
 *
 * It does NOT build the START_REPLICATION text (commands/replication.ts) nor connect
 * (replication.ts).
 */
import { type Cause, Channel, Duration, Effect, Schedule, type Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { isFailure, type Start } from "../commands/Command.ts"
import {
  type ReplicationArgs,
  type ReplicationInput,
  type ReplicationOutput,
  type ReplicationState,
  startReplication
} from "../commands/replication.ts"
import { PgClosedError, type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { Engine } from "../engine/Engine.ts"
import { CommandRun, toExpertError } from "../engine/run.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import { Writer } from "../protocol/Writer.ts"
import { decodeReplicationServerMessage, writeReplicationClientMessage } from "../replication/CopyData.ts"
import { type Lsn, type PgTimestamp, pgTimestampFromUnixMillis } from "../replication/Lsn.ts"
import { Backlog } from "./backlog.ts"

/** One change from the slot: the decoded message and where it is in the WAL. */
export interface ReplicationEvent<A> {
  /**
   * The XLogData's WAL start. For a pgoutput Commit it is the end of the transaction's commit
   * record: acknowledging it means the transaction is never sent again.
   */
  readonly lsn: Lsn
  /** The server's WAL end when it sent this. */
  readonly walEnd: Lsn
  readonly sendTime: PgTimestamp
  readonly message: A
}

/** A running replication stream (see the module header). */
export interface ReplicationHandle<A> {
  /** The events, pulled with backpressure; ends when the server ends the stream. One consumer. */
  readonly events: Stream.Stream<ReplicationEvent<A>, PgExpertError>
  /** Acknowledges everything up to `lsn` (an event's `lsn`); sent with the next status update. */
  readonly ack: (lsn: Lsn) => Effect.Effect<void>
  /** The highest acknowledged LSN. */
  readonly acknowledged: Effect.Effect<Lsn>
  /** Sends a status update now (with the acknowledged LSN). */
  readonly sendStatus: Effect.Effect<void>
  /** Events decoded and not yet pulled (bounded by the pushback). */
  readonly buffered: Effect.Effect<number>
  /** The last WAL end the server reported (XLogData or keepalive). */
  readonly serverWalEnd: Effect.Effect<Lsn>
}

export interface OpenOptions<A> {
  readonly sql: string
  readonly decode: (data: Uint8Array) => A | ProtocolError
  /** Status update period; default 10 s. */
  readonly statusInterval?: Duration.Input | undefined
  /** Batches (socket reads) buffered before the socket pauses; default 16. */
  readonly highWater?: number | undefined
}

const STOP: ReplicationInput = { _tag: "Stop" }

type Outcome = string | PgExpertError

const WITHDRAWN = new PgClosedError({ message: "START_REPLICATION was withdrawn before it was sent" })

class ReplicationRun<A> extends CommandRun<
  ReplicationArgs,
  ReplicationState,
  string,
  ReplicationOutput,
  ReplicationInput
> {
  acked: Lsn = 0n
  walEnd: Lsn = 0n
  buffered = 0
  outcome: Outcome | undefined
  private begun = false
  private broken = false
  private pending: Array<ReplicationEvent<A>> | undefined
  private readonly writer = new Writer(256)
  private startWaiters: Array<() => void> = []
  private endWaiters: Array<(outcome: Outcome) => void> = []
  readonly backlog: Backlog<ReplicationEvent<A>>

  private readonly engine: Engine
  private readonly decode: OpenOptions<A>["decode"]

  constructor(
    engine: Engine,
    start: Start<ReplicationState>,
    decode: OpenOptions<A>["decode"],
    highWater: number
  ) {
    super(startReplication, start, {
      onResult: (out) => (out instanceof Uint8Array ? this.onData(out) : this.begin()),
      onDone: () => {},
      onSettle: (outcome) => this.finish(outcome ?? WITHDRAWN)
    })
    this.engine = engine
    this.decode = decode
    this.backlog = new Backlog(engine.wire, highWater)
  }

  private begin(): void {
    this.begun = true
    for (const w of this.startWaiters.splice(0)) w()
  }

  private finish(outcome: Outcome): void {
    if (this.outcome !== undefined) return
    this.outcome = outcome
    this.pending = undefined
    this.backlog.finish(typeof outcome === "string" ? undefined : outcome)
    for (const w of this.startWaiters.splice(0)) w()
    for (const w of this.endWaiters.splice(0)) w(outcome)
  }

  /** Resolves once the copy started or the run ended. */
  readonly started: Effect.Effect<boolean> = Effect.callback((resume) => {
    if (this.begun || this.outcome !== undefined) return resume(Effect.succeed(this.begun))
    const w = () => resume(Effect.succeed(this.begun))
    this.startWaiters.push(w)
    return Effect.sync(() => {
      this.startWaiters = this.startWaiters.filter((x) => x !== w)
    })
  })

  /** Resolves once the run ended (its ReadyForQuery, or the connection's failure). */
  readonly ended: Effect.Effect<Outcome> = Effect.callback((resume) => {
    if (this.outcome !== undefined) return resume(Effect.succeed(this.outcome))
    const w = (outcome: Outcome) => resume(Effect.succeed(outcome))
    this.endWaiters.push(w)
    return Effect.sync(() => {
      this.endWaiters = this.endWaiters.filter((x) => x !== w)
    })
  })

  private onData(data: Uint8Array): void {
    if (this.broken) return
    const message = decodeReplicationServerMessage(data)
    if (message instanceof ProtocolError) return this.breakOff(message)
    if (message.walEnd > this.walEnd) this.walEnd = message.walEnd
    if (message._tag === "PrimaryKeepalive") {
      if (message.replyRequested) this.sendStatus()
      return
    }
    const decoded = this.decode(message.data)
    if (decoded instanceof ProtocolError) return this.breakOff(decoded)
    const event: ReplicationEvent<A> = {
      lsn: message.walStart,
      walEnd: message.walEnd,
      sendTime: message.sendTime,
      message: decoded
    }
    if (this.pending === undefined) this.pending = [event]
    else this.pending.push(event)
  }

  /** Undecodable data: the stream fails with it, and the replication is stopped. */
  private breakOff(error: ProtocolError): void {
    this.broken = true
    this.pending = undefined
    this.backlog.finish(PgProtocolError.fromCodec(error))
    this.stop()
  }

  override onBatchEnd(): void {
    super.onBatchEnd()
    const events = this.pending
    if (events === undefined) return
    this.pending = undefined
    this.buffered += events.length
    this.backlog.push(events)
  }

  /** A Standby status update with the acknowledged LSN (dropped unless the copy is running). */
  sendStatus(): void {
    const clock = pgTimestampFromUnixMillis(Date.now()) ?? 0n
    const lsn = this.acked
    const w = this.writer
    const problem = writeReplicationClientMessage(w, {
      _tag: "StandbyStatusUpdate",
      written: lsn,
      flushed: lsn,
      applied: lsn,
      clock,
      replyRequested: false
    })
    const frames = w.finish()
    if (problem === undefined) this.engine.input(this, { _tag: "Send", frames })
  }

  stop(): void {
    this.engine.input(this, STOP)
  }

  pull(): Effect.Effect<NonEmptyReadonlyArray<ReplicationEvent<A>>, PgExpertError | Cause.Done> {
    return Effect.tap(this.backlog.pull, (events) =>
      Effect.sync(() => {
        this.buffered -= events.length
      })
    )
  }
}

/** The started stream: fails (nothing streamed) when the server refuses START_REPLICATION. */
export const openReplication = <A>(
  engine: Engine,
  options: OpenOptions<A>
): Effect.Effect<ReplicationHandle<A>, PgExpertError, Scope.Scope> =>
  Effect.gen(function* () {
    const start = startReplication.start({ sql: options.sql })
    if (isFailure(start)) return yield* Effect.fail(toExpertError(start))
    const run = new ReplicationRun(engine, start, options.decode, options.highWater ?? 16)
    const stop = Effect.suspend(() => {
      run.sendStatus()
      run.stop()
      run.backlog.abandon()
      return Effect.timeoutOption(run.ended, "5 seconds")
    })
    yield* Effect.addFinalizer(() => stop)
    engine.submit(run)
    const started = yield* Effect.onInterrupt(run.started, () => stop)
    if (!started) {
      const outcome = yield* run.ended
      return yield* Effect.fail(
        typeof outcome === "string"
          ? new PgProtocolError({ reason: "UnexpectedMessage", message: "START_REPLICATION ended at once" })
          : outcome
      )
    }
    const interval = Duration.fromInputUnsafe(options.statusInterval ?? "10 seconds")
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.sync(() => run.sendStatus()),
        { schedule: Schedule.spaced(interval), while: () => run.outcome === undefined }
      )
    )
    return {
      events: Stream.fromChannel(Channel.fromTransform(() => Effect.succeed(run.pull()))),
      ack: (lsn: Lsn) =>
        Effect.sync(() => {
          if (lsn > run.acked) run.acked = lsn
        }),
      acknowledged: Effect.sync(() => run.acked),
      sendStatus: Effect.sync(() => run.sendStatus()),
      buffered: Effect.sync(() => run.buffered),
      serverWalEnd: Effect.sync(() => run.walEnd)
    }
  })
