/**
 * A pulled row stream over one ExtendedQuery, with pushback to the socket (connection/backlog.ts).
 *
 * Rows arrive in batches, one per socket read, and wait in a Backlog: when the consumer falls
 * behind, the socket is paused, so the server's sends block (postgres_async's pushback). The
 * stream ends after the request's own ReadyForQuery, so the connection is in sync when the
 * consumer sees the end. If the consumer stops early, the request is abandoned: it keeps draining
 * (and discarding) until ReadyForQuery, and the socket is resumed. `awaitColumns` gives the
 * column metadata as soon as RowDescription/NoData arrives (before any row).
 *
 * A request that failed before any row reached the consumer may be sent again once (`Resend`: a
 * stale cached statement, a cancel meant for the statement before it); the stream then follows the
 * new request.
 *
 * It does NOT encode the query or cancel it on the server (streams.ts does, on abandon).
 */
import { type Cause, Effect } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Wire } from "../Codec.ts"
import type { ExtendedArgs } from "../commands/extended.ts"
import { type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { AnyRow, Column, CommandComplete } from "../Result.ts"
import { Backlog } from "./backlog.ts"
import { type ExtendedOutcome, ExtendedQuery, type SettleHook } from "./requests.ts"

type Outcome = ExtendedOutcome | PgExpertError

const isError = (o: Outcome): o is PgExpertError => "_tag" in o

/** One encoding of the stream's statement: what its request sends, and its cache upkeep. */
export interface Attempt {
  /** What the request sends and what its frames contain (commands/extended.ts). */
  readonly args: ExtendedArgs
  /** Called when the request ends, even after the consumer left (statement cache upkeep). */
  readonly onSettle?: SettleHook
}

/**
 * A failed request may be sent again, once and only before any row reached the consumer: `resend`
 * gives the new attempt (a stale cached statement, a cancel meant for the statement before it),
 * or `undefined`; `submit` queues it.
 */
export interface Resend {
  readonly resend: (request: ExtendedQuery, error: PgExpertError) => Attempt | undefined
  readonly submit: (request: ExtendedQuery) => void
}

/** `ended` of a stream whose request was withdrawn before it was sent (the consumer left first). */
const abandonedUnsent = new PgProtocolError({
  reason: "Abandoned",
  message: "the stream was stopped before its statement was sent: it never ran",
  mayHaveRun: false
})

export class RowStream {
  /** The request now carrying the stream (a new one once it was sent again). */
  request: ExtendedQuery
  private readonly backlog: Backlog<AnyRow>
  private outcome: Outcome | undefined
  private columns: ReadonlyArray<Column> | undefined
  private columnsWaiter: ((effect: Effect.Effect<ReadonlyArray<Column>, PgExpertError>) => void) | undefined
  private readonly again: Resend | undefined
  /** Rows reached the backlog, or it was sent again already: no (more) resending. */
  private committed = false

  constructor(attempt: Attempt, wire: Wire, again?: Resend, highWater = 16) {
    this.backlog = new Backlog<AnyRow>(wire, highWater)
    this.again = again
    this.request = this.makeRequest(attempt)
  }

  private makeRequest(attempt: Attempt): ExtendedQuery {
    return new ExtendedQuery(
      attempt.args,
      {
        onColumns: (columns) => {
          this.columns = columns
          this.wakeColumns()
        },
        onRows: (rows) => {
          if (rows.length > 0) this.committed = true
          this.backlog.push(rows)
        },
        onDone: (outcome) => {
          if (isError(outcome) && this.resend(outcome)) return
          this.outcome = outcome
          this.backlog.finish(isError(outcome) ? outcome : undefined)
          this.wakeColumns()
          for (const wake of this.endWaiters.splice(0)) wake()
        }
      },
      (outcome, parsed, described) => {
        attempt.onSettle?.(outcome, parsed, described)
        // An abandoned request settles without onDone: `ended` learns its outcome here.
        if (this.outcome !== undefined) return
        this.settled = outcome ?? abandonedUnsent
        for (const wake of this.endWaiters.splice(0)) wake()
      }
    )
  }

  /** The outcome of a request that settled after the consumer left (no onDone then). */
  private settled: Outcome | undefined

  /** Sends the statement again when allowed; true when it did. */
  private resend(error: PgExpertError): boolean {
    if (this.committed || this.again === undefined) return false
    this.committed = true
    const next = this.again.resend(this.request, error)
    if (next === undefined) return false
    this.request = this.makeRequest(next)
    this.again.submit(this.request)
    return true
  }

  /** True once the request's outcome arrived. */
  get finished(): boolean {
    return this.outcome !== undefined
  }

  /** The consumer went away: discard the rest, never leave the socket paused. */
  abandon(): void {
    if (this.outcome !== undefined) return
    this.request.abandoned = true
    this.backlog.abandon()
  }

  private wakeColumns(): void {
    const resume = this.columnsWaiter
    if (resume === undefined) return
    const next = this.columnsNow()
    if (next === undefined) return
    this.columnsWaiter = undefined
    resume(next)
  }

  private columnsNow(): Effect.Effect<ReadonlyArray<Column>, PgExpertError> | undefined {
    if (this.columns !== undefined) return Effect.succeed(this.columns)
    const outcome = this.outcome
    if (outcome === undefined) return undefined
    return isError(outcome) ? Effect.fail(outcome) : Effect.succeed(outcome.columns)
  }

  /** The next batch of rows; fails with Done at the end. */
  get pull(): Effect.Effect<NonEmptyReadonlyArray<AnyRow>, PgExpertError | Cause.Done> {
    return this.backlog.pull
  }

  /** Woken when the request's outcome arrives (`ended`). */
  private readonly endWaiters: Array<() => void> = []

  /**
   * The statement's CommandComplete once its request ended (after the last row, or after it was
   * drained or cancelled when the consumer stopped early); fails with the request's error.
   */
  readonly ended: Effect.Effect<CommandComplete, PgExpertError> = Effect.callback((resume) => {
    const settle = () => {
      const outcome = (this.outcome ?? this.settled)!
      resume(isError(outcome) ? Effect.fail(outcome) : Effect.succeed(outcome.command))
    }
    if (this.outcome !== undefined || this.settled !== undefined) return settle()
    this.endWaiters.push(settle)
    return Effect.sync(() => {
      const at = this.endWaiters.indexOf(settle)
      if (at >= 0) this.endWaiters.splice(at, 1)
    })
  })

  /** Waits for RowDescription/NoData (or the request's failure). */
  readonly awaitColumns: Effect.Effect<ReadonlyArray<Column>, PgExpertError> = Effect.callback((resume) => {
    const now = this.columnsNow()
    if (now !== undefined) return resume(now)
    this.columnsWaiter = resume
    return Effect.sync(() => {
      if (this.columnsWaiter === resume) this.columnsWaiter = undefined
    })
  })
}
