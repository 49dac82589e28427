/**
 * A pulled row stream over one ExtendedQuery, with pushback to the socket (internal/backlog.ts).
 *
 * Rows arrive in batches, one per socket read, and wait in a Backlog: when the consumer falls
 * behind, the socket is paused, so the server's sends block (postgres_async's pushback). The
 * stream ends after the request's own ReadyForQuery, so the connection is in sync when the
 * consumer sees the end. If the consumer stops early, the request is abandoned: it keeps draining
 * (and discarding) until ReadyForQuery, and the socket is resumed. `awaitColumns` gives the
 * column metadata as soon as RowDescription/NoData arrives (before any row).
 *
 * It does NOT encode the query or cancel it on the server (operations do, on abandon).
 */
import { type Cause, Effect } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Wire } from "../Codec.ts"
import type { PgExpertError } from "../Errors.ts"
import type { Column, Row } from "../Result.ts"
import { Backlog } from "./backlog.ts"
import { type ExtendedOutcome, ExtendedQuery, type SettleHook } from "./requests.ts"

type Outcome = ExtendedOutcome | PgExpertError

const isError = (o: Outcome): o is PgExpertError => "_tag" in o

export class RowStream {
  readonly request: ExtendedQuery
  private readonly backlog: Backlog<Row>
  private outcome: Outcome | undefined
  private columns: ReadonlyArray<Column> | undefined
  private columnsWaiter: ((effect: Effect.Effect<ReadonlyArray<Column>, PgExpertError>) => void) | undefined

  constructor(
    frames: Uint8Array,
    exclusive: boolean,
    wire: Wire,
    options?: {
      readonly preset?: ReadonlyArray<Column> | undefined
      /** Called when the request ends, even after the consumer left (statement cache upkeep). */
      readonly onSettle?: SettleHook
    },
    highWater = 16
  ) {
    this.backlog = new Backlog<Row>(wire, highWater)
    this.request = new ExtendedQuery(
      frames,
      {
        onColumns: (columns) => {
          this.columns = columns
          this.wakeColumns()
        },
        onRows: (rows) => this.backlog.push(rows),
        onDone: (outcome) => {
          this.outcome = outcome
          this.backlog.finish(isError(outcome) ? outcome : undefined)
          this.wakeColumns()
        }
      },
      exclusive,
      options?.preset,
      options?.onSettle
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
  get pull(): Effect.Effect<NonEmptyReadonlyArray<Row>, PgExpertError | Cause.Done> {
    return this.backlog.pull
  }

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
