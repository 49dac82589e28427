/**
 * A pulled row stream over one ExtendedQuery, with pushback to the socket.
 *
 * Rows arrive in batches, one per socket read. When more than `highWater` batches wait for the
 * consumer the socket is paused, so the server's sends block (postgres_async's pushback); it is
 * resumed once the consumer has taken the backlog down to `lowWater`. The stream ends after the
 * request's own ReadyForQuery, so the connection is in sync when the consumer sees the end. If
 * the consumer stops early, the request is abandoned: it keeps draining (and discarding) until
 * ReadyForQuery, and the socket is resumed.
 *
 * It does NOT encode the query or cancel it on the server (cancel arrives with its own issue).
 */
import { Cause, Effect } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Wire } from "../Codec.ts"
import type { PgExpertError } from "../Errors.ts"
import type { Column, Row } from "../Result.ts"
import { type ExtendedOutcome, ExtendedQuery } from "./requests.ts"

type Resume<A> = (effect: Effect.Effect<A, PgExpertError | Cause.Done>) => void

export class RowStream {
  readonly request: ExtendedQuery
  private readonly batches: Array<Array<Row>> = []
  private outcome: ExtendedOutcome | PgExpertError | undefined
  private columns: ReadonlyArray<Column> | undefined
  private waiter: Resume<NonEmptyReadonlyArray<Row>> | undefined
  private columnsWaiter: ((effect: Effect.Effect<ReadonlyArray<Column>, PgExpertError>) => void) | undefined
  private paused = false
  private readonly wire: Wire
  private readonly highWater: number
  private readonly lowWater: number

  constructor(
    frames: Uint8Array,
    exclusive: boolean,
    wire: Wire,
    options?: {
      readonly preset?: ReadonlyArray<Column> | undefined
      /** Called with the outcome before the consumer sees the end (statement cache upkeep). */
      readonly onOutcome?: (outcome: ExtendedOutcome | PgExpertError, parsed: boolean) => void
    },
    highWater = 16
  ) {
    this.wire = wire
    this.highWater = highWater
    this.lowWater = Math.max(1, highWater >> 2)
    this.request = new ExtendedQuery(
      frames,
      {
        onColumns: (columns) => {
          this.columns = columns
          this.wakeColumns()
        },
        onRows: (rows) => {
          this.batches.push(rows)
          if (!this.paused && this.batches.length > this.highWater) {
            this.paused = true
            this.wire.pause()
          }
          this.wake()
        },
        onDone: (outcome) => {
          options?.onOutcome?.(outcome, this.request.parsed)
          this.outcome = outcome
          this.resumeSocket()
          this.wakeColumns()
          this.wake()
        }
      },
      exclusive,
      options?.preset
    )
  }

  /** True once the request's outcome arrived. */
  get finished(): boolean {
    return this.outcome !== undefined
  }

  /** The consumer went away: discard the rest, never leave the socket paused. */
  abandon(): void {
    if (this.outcome !== undefined) return
    this.request.abandoned = true
    this.batches.length = 0
    this.resumeSocket()
  }

  private resumeSocket(): void {
    if (this.paused) {
      this.paused = false
      this.wire.resume()
    }
  }

  private wake(): void {
    const resume = this.waiter
    if (resume === undefined) return
    const next = this.next()
    if (next === undefined) return
    this.waiter = undefined
    resume(next)
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
    return "_tag" in outcome ? Effect.fail(outcome) : Effect.succeed(outcome.columns)
  }

  private next(): Effect.Effect<NonEmptyReadonlyArray<Row>, PgExpertError | Cause.Done> | undefined {
    const batch = this.batches.shift()
    if (batch !== undefined) {
      if (this.paused && this.batches.length <= this.lowWater) this.resumeSocket()
      return Effect.succeed(batch as unknown as NonEmptyReadonlyArray<Row>)
    }
    const outcome = this.outcome
    if (outcome === undefined) return undefined
    return "_tag" in outcome ? Effect.fail(outcome) : Cause.done()
  }

  /** The next batch of rows; fails with Done at the end. */
  readonly pull: Effect.Effect<NonEmptyReadonlyArray<Row>, PgExpertError | Cause.Done> = Effect.callback(
    (resume) => {
      const now = this.next()
      if (now !== undefined) return resume(now)
      this.waiter = resume
      return Effect.sync(() => {
        if (this.waiter === resume) this.waiter = undefined
      })
    }
  )

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
