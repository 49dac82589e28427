/**
 * A pulled backlog of batches with pushback to the socket: the engine pushes batches (one per
 * socket read), the consumer pulls them. Above `highWater` waiting batches the socket is paused,
 * below `lowWater` it is resumed; it is always resumed when the backlog ends or is abandoned.
 *
 * It does NOT know what a batch holds (rows, COPY chunks) nor which request feeds it.
 */
import { Cause, Effect } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Wire } from "../Codec.ts"
import type { PgExpertError } from "../Errors.ts"

type Resume<A> = (effect: Effect.Effect<NonEmptyReadonlyArray<A>, PgExpertError | Cause.Done>) => void

export class Backlog<A> {
  private readonly batches: Array<Array<A>> = []
  private ended = false
  private error: PgExpertError | undefined
  private waiter: Resume<A> | undefined
  private paused = false
  private readonly wire: Wire
  private readonly highWater: number
  private readonly lowWater: number

  constructor(wire: Wire, highWater = 16) {
    this.wire = wire
    this.highWater = highWater
    this.lowWater = Math.max(1, highWater >> 2)
  }

  push(batch: Array<A>): void {
    if (this.ended || batch.length === 0) return
    this.batches.push(batch)
    if (!this.paused && this.batches.length > this.highWater) {
      this.paused = true
      this.wire.pause()
    }
    this.wake()
  }

  /** The producer is done: `error` undefined for a clean end. */
  finish(error: PgExpertError | undefined): void {
    if (this.ended) return
    this.ended = true
    this.error = error
    this.resumeSocket()
    this.wake()
  }

  /** The consumer went away. */
  abandon(): void {
    this.batches.length = 0
    this.ended = true
    this.resumeSocket()
  }

  private resumeSocket(): void {
    if (!this.paused) return
    this.paused = false
    this.wire.resume()
  }

  private next(): Effect.Effect<NonEmptyReadonlyArray<A>, PgExpertError | Cause.Done> | undefined {
    const batch = this.batches.shift()
    if (batch !== undefined) {
      if (this.paused && this.batches.length <= this.lowWater) this.resumeSocket()
      return Effect.succeed(batch as unknown as NonEmptyReadonlyArray<A>)
    }
    if (!this.ended) return undefined
    return this.error === undefined ? Cause.done() : Effect.fail(this.error)
  }

  private wake(): void {
    const resume = this.waiter
    if (resume === undefined) return
    const next = this.next()
    if (next === undefined) return
    this.waiter = undefined
    resume(next)
  }

  readonly pull: Effect.Effect<NonEmptyReadonlyArray<A>, PgExpertError | Cause.Done> = Effect.callback(
    (resume) => {
      const now = this.next()
      if (now !== undefined) return resume(now)
      this.waiter = resume
      return Effect.sync(() => {
        if (this.waiter === resume) this.waiter = undefined
      })
    }
  )
}
