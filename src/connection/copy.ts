/**
 * COPY FROM STDIN and COPY TO STDOUT as the connection layer runs them: `CopyInRun` and
 * `CopyOutRun` are CommandRuns (engine/run.ts) of the pure commands in commands/copyIn.ts and
 * commands/copyOut.ts, with the Effect-side handles copyOps.ts needs.
 *
 * CopyInRun: `started` (the server is in copy-in mode, or the statement ended without it),
 * `ended` (the COPY's CommandComplete, or the error), and the caller's inputs fed through
 * `Engine.input`: `write` (one CopyData; waits for the socket to drain when its write buffer is
 * full, as `Wire.send` says), `done` (CopyDone) and `abort` (CopyFail, deferred by the command
 * until the server is in copy-in mode). A COPY run is exclusive, so the engine writes it only at
 * the head of its queue: once written it is the running request and its inputs are taken; before
 * that they are dropped, which is moot, since a caller that goes away withdraws an unwritten run.
 *
 * CopyOutRun: the command hands out each CopyData as a `Result` (commands/copyOut.ts says why);
 * this run collects the chunks of one socket read and gives them to `onData` at the end of the
 * read (`onBatchEnd`), so a consumer pulls one batch per read, as with rows.
 *
 * It does NOT run the source stream nor apply pushback to the socket (copyOps.ts and its Backlog
 * do), and it does NOT check the exchange (the commands do).
 */
import { Effect } from "effect"
import type { Wire } from "../Codec.ts"
import type { Failure, Start } from "../commands/Command.ts"
import { isFailure } from "../commands/Command.ts"
import { type CopyInArgs, type CopyInInput, type CopyInState, copyIn } from "../commands/copyIn.ts"
import { type CopyOutArgs, type CopyOutState, copyOut } from "../commands/copyOut.ts"
import { PgClosedError, type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { Engine, RequestContext } from "../engine/Engine.ts"
import { CommandRun, toExpertError } from "../engine/run.ts"
import type { CopyInResponse } from "../protocol/Backend.ts"
import type { CommandComplete } from "../Result.ts"

type Outcome = CommandComplete | PgExpertError

const isCommand = (o: Outcome): o is CommandComplete => !("_tag" in o)

const DONE: CopyInInput = { _tag: "Done" }

/** Why a COPY could not be started (its statement could not be encoded): nothing was sent. */
const notStarted = (failure: Failure): PgExpertError =>
  failure._tag === "Protocol" ? PgProtocolError.notSent(failure) : toExpertError(failure)

/** A withdrawn run (its caller went away before it was written) never ran. */
const withdrawn = () => new PgClosedError({ message: "the COPY was withdrawn before it was sent" })

/** COPY FROM STDIN. `started` resolves when the server is in copy-in mode (true) or the statement ended (false). */
export class CopyInRun extends CommandRun<
  CopyInArgs,
  CopyInState,
  CommandComplete,
  CopyInResponse,
  CopyInInput
> {
  private readonly engine: Engine
  private readonly wire: Wire
  private begun = false
  private outcome: Outcome | undefined
  private startWaiters: Array<(inCopy: boolean) => void> = []
  private endWaiters: Array<(o: Outcome) => void> = []
  /** A send of the input being carried out found the socket's buffer full. */
  private full = false
  private outer: RequestContext | undefined
  /** The engine's context for inputs, but noting whether the socket's buffer is full. */
  private readonly tracking: RequestContext = {
    send: (frames) => {
      if (!this.wire.send(frames)) this.full = true
    },
    fail: (error) => this.outer?.fail(error)
  }

  constructor(start: Start<CopyInState>, engine: Engine) {
    super(copyIn, start, {
      onResult: () => this.begin(),
      onDone: () => {},
      // Heard even when abandoned: an interrupted caller may still wait for `ended`.
      onSettle: (outcome) => this.finish(outcome ?? withdrawn())
    })
    this.engine = engine
    // The engine writes through this Wire too: the same socket buffer.
    this.wire = engine.wire
  }

  override input(value: CopyInInput, context: RequestContext): void {
    this.outer = context
    super.input(value, this.tracking)
  }

  private begin(): void {
    this.begun = true
    for (const w of this.startWaiters.splice(0)) w(true)
  }

  private finish(outcome: Outcome): void {
    if (this.outcome !== undefined) return
    this.outcome = outcome
    for (const w of this.startWaiters.splice(0)) w(false)
    for (const w of this.endWaiters.splice(0)) w(outcome)
  }

  readonly started: Effect.Effect<boolean> = Effect.callback((resume) => {
    if (this.begun) return resume(Effect.succeed(true))
    if (this.outcome !== undefined) return resume(Effect.succeed(false))
    const w = (b: boolean) => resume(Effect.succeed(b))
    this.startWaiters.push(w)
    return Effect.sync(() => {
      this.startWaiters = this.startWaiters.filter((x) => x !== w)
    })
  })

  /** The end of the exchange: the CommandComplete, or the error. */
  readonly ended: Effect.Effect<CommandComplete, PgExpertError> = Effect.callback((resume) => {
    const done = (o: Outcome) => resume(isCommand(o) ? Effect.succeed(o) : Effect.fail(o))
    if (this.outcome !== undefined) return done(this.outcome)
    this.endWaiters.push(done)
    return Effect.sync(() => {
      this.endWaiters = this.endWaiters.filter((x) => x !== done)
    })
  })

  /** Sends one CopyData; waits while the socket's buffer is full. A no-op once the copy ended. */
  write(chunk: Uint8Array): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.full = false
      const taken = this.engine.input(this, { _tag: "Data", data: chunk })
      if (!taken || !this.full || this.wire.closed()) return Effect.void
      // PgSocket's onDrain waits for the next "drain" event: only ask when the buffer is full.
      return Effect.callback<void>((resume) => {
        this.wire.onDrain(() => resume(Effect.void))
      })
    })
  }

  /** Ends the data with CopyDone. */
  done(): void {
    this.engine.input(this, DONE)
  }

  /**
   * Aborts with CopyFail; the server answers with an error (57014) and ReadyForQuery. Before the
   * server is in copy-in mode, the CopyFail is sent as soon as its CopyInResponse arrives.
   */
  abort(reason: string): void {
    this.engine.input(this, { _tag: "Abort", reason })
  }
}

/** The CopyInRun of `sql`, not yet submitted; fails (nothing sent) when `sql` cannot be encoded. */
export const makeCopyIn = (sql: string, engine: Engine): Effect.Effect<CopyInRun, PgExpertError> =>
  Effect.suspend(() => {
    const start = copyIn.start({ sql })
    return isFailure(start) ? Effect.fail(notStarted(start)) : Effect.succeed(new CopyInRun(start, engine))
  })

/** Where a COPY TO STDOUT's data and end go. */
export interface CopyOutSink {
  /** The chunks of one socket read (none once the run is abandoned). */
  readonly onData: (chunks: Array<Uint8Array>) => void
  readonly onDone: (outcome: Outcome) => void
}

/** COPY TO STDOUT: data chunks to `onData` (one batch per socket read), the end to `onDone`. */
export class CopyOutRun extends CommandRun<CopyOutArgs, CopyOutState, CommandComplete, Uint8Array> {
  /** True once the exchange is over (ReadyForQuery, the connection's failure, or withdrawn). */
  settled = false
  private chunks: Array<Uint8Array> | undefined
  private readonly onData: (chunks: Array<Uint8Array>) => void

  constructor(start: Start<CopyOutState>, sink: CopyOutSink) {
    super(copyOut, start, {
      onResult: (chunk) => {
        if (this.chunks === undefined) this.chunks = [chunk]
        else this.chunks.push(chunk)
      },
      onDone: (outcome) => sink.onDone(outcome),
      onSettle: () => {
        this.settled = true
      }
    })
    this.onData = sink.onData
  }

  override onBatchEnd(): void {
    super.onBatchEnd()
    const chunks = this.chunks
    if (chunks === undefined) return
    this.chunks = undefined
    if (!this.abandoned) this.onData(chunks)
  }

  override onFail(error: PgExpertError): void {
    this.chunks = undefined
    super.onFail(error)
  }
}

/** The CopyOutRun of `sql`, not yet submitted; fails (nothing sent) when `sql` cannot be encoded. */
export const makeCopyOut = (sql: string, sink: CopyOutSink): Effect.Effect<CopyOutRun, PgExpertError> =>
  Effect.suspend(() => {
    const start = copyOut.start({ sql })
    return isFailure(start) ? Effect.fail(notStarted(start)) : Effect.succeed(new CopyOutRun(start, sink))
  })
