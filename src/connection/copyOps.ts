/**
 * The COPY operations as Effects and Streams: copyIn (a Stream of bytes, chunks cut anywhere),
 * copyInFeed (postgres_async's pull form), copyInRows (names quoted, values escaped here),
 * copyOut (a Stream of bytes with pushback) and copyOutRows (parsed text format).
 *
 * Failure of the source or interruption sends CopyFail, and the call waits for the server's
 * ReadyForQuery, so the connection stays usable; nothing of an aborted COPY is stored. The CopyFail
 * carries the source error's own message (an Error's `message`, a CopyAborted's `reason`, a
 * string, else a `_tag`), which the server quotes in its 57014 "COPY from stdin failed: …"; the
 * call fails with that PgServerError, the source's error as its `cause` (decision 017). Only when
 * the server cannot answer (the connection was lost meanwhile) does it fail with the source's
 * error itself, which is why the source's error type stays in the signature: the COPY certainly
 * did not commit (no CopyDone was sent). A defect or an interruption of the source is re-raised
 * as it is, and so is copyInRows' own refusal of a value it cannot encode (PgProtocolError,
 * `mayHaveRun: false`). Interrupted before the server asked for data, the COPY is cancelled (and gets its
 * CopyFail as soon as it asks). A server error mid-copy (a bad row) stops the source and fails with that PgServerError
 * (its `where` names the COPY line). A copyOut stream closed before its end cancels the COPY
 * instead of draining the rest. Only the source's own bytes are sent: it does NOT validate them
 * (text, CSV and binary pass through as they are).
 */
import { Cause, Channel, Effect, Exit, Fiber, Result, Scope, Stream } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Wire } from "../Codec.ts"
import { CopyTextError, CopyTextParser, encodeRows, quoteIdentifier } from "../copy/CopyText.ts"
import { type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { Engine, Request } from "../engine/Engine.ts"
import type { CommandComplete } from "../Result.ts"
import { Backlog } from "./backlog.ts"
import { makeCopyIn, makeCopyOut } from "./copy.ts"

/** postgres_async's feed result for the pull form of COPY IN. */
export type CopyFeed =
  | { readonly _tag: "Data"; readonly data: Uint8Array }
  | { readonly _tag: "Wait"; readonly wait: Effect.Effect<void> }
  | { readonly _tag: "Abort"; readonly reason: string }
  | { readonly _tag: "Finished" }

/** Where a COPY IN of rows goes. Names are quoted here: pass names, not SQL. */
export interface CopyTarget {
  readonly schema?: string | undefined
  readonly table: string
  readonly columns: ReadonlyArray<string>
}

/** The source was aborted through the feed's `Abort`. */
export class CopyAborted {
  readonly _tag = "CopyAborted"
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

/** The message of a source's error, as the CopyFail reason (the server quotes it in its 57014). */
const messageOf = (error: unknown): string => {
  if (error instanceof CopyAborted) return error.reason
  if (typeof error === "string") return error
  if (typeof error === "object" && error !== null) {
    if ("message" in error && typeof error.message === "string" && error.message !== "") return error.message
    if ("_tag" in error && typeof error._tag === "string") return error._tag
  }
  return String(error)
}

/** Why the COPY is aborted, for the CopyFail: an interruption, or the source's error (or defect). */
const abortReason = (cause: Cause.Cause<unknown>): string => {
  if (Cause.hasInterruptsOnly(cause)) return "COPY interrupted by the client"
  const error = Cause.findError(cause)
  return messageOf(Result.isSuccess(error) ? error.success : Cause.squash(cause))
}

/**
 * What a COPY whose source failed with `cause` fails with, once the server answered the CopyFail
 * (`ended`): the server's error (57014) with the source's error as its cause; else the source's.
 */
const sourceFailure = <E>(
  cause: Cause.Cause<E>,
  ended: Exit.Exit<CommandComplete, PgExpertError>,
  own: ((error: unknown) => boolean) | undefined
): Effect.Effect<never, E | PgExpertError> => {
  const error = Cause.findError(cause)
  if (Result.isSuccess(error) && own?.(error.success) !== true && Exit.isFailure(ended)) {
    const answer = Cause.findError(ended.cause)
    if (Result.isSuccess(answer) && answer.success._tag === "PgServerError") {
      return Effect.fail(answer.success.withCause(error.success))
    }
  }
  return Effect.failCause(cause)
}

/** copyInRows' own refusal of a value it cannot encode (never sent). */
const unencodable = (error: unknown): boolean =>
  error instanceof PgProtocolError && error.mayHaveRun === false

/**
 * What to do when the caller of a written request goes away (operations.ts `interrupt`): withdraw
 * it if it was not written, else cancel it on the server when it is the only one in flight, and
 * wait for its outcome.
 */
export type Interrupt = (request: Request & { abandoned: boolean }) => Effect.Effect<void>

/**
 * COPY FROM STDIN of `source` on `core`: submit, wait for copy-in mode, pump the source with
 * backpressure, then CopyDone; CopyFail on the source's failure or an interruption.
 */
const copyInWith =
  (core: Engine, interrupt: Interrupt) =>
  <E, R>(
    sql: string,
    source: Stream.Stream<Uint8Array, E, R>,
    /** The client's own refusals among the source's errors (copyInRows' encoding): reported as they are. */
    own?: (error: unknown) => boolean
  ): Effect.Effect<CommandComplete, PgExpertError | E, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const request = yield* makeCopyIn(sql, core)
        // Gone before the data started: CopyFail as soon as the server asks for data, and a cancel
        // when the statement is the only one running (it may be a slow statement that is no COPY).
        const goneEarly = Effect.suspend(() => {
          request.abort("COPY interrupted by the client")
          return interrupt(request)
        })
        core.submit(request)
        const inCopy = yield* restore(request.started).pipe(Effect.onInterrupt(() => goneEarly))
        if (!inCopy) return yield* request.ended
        const pump = yield* Effect.forkChild(
          restore(Stream.runForEach(source, (chunk) => request.write(chunk)))
        )
        const first = yield* restore(
          Effect.raceFirst(
            Effect.map(Fiber.await(pump), (exit) => ({ _tag: "Source" as const, exit })),
            Effect.map(Effect.exit(request.ended), (exit) => ({ _tag: "Server" as const, exit }))
          )
        ).pipe(
          Effect.onInterrupt(() =>
            Effect.gen(function* () {
              yield* Fiber.interrupt(pump)
              request.abort("COPY interrupted by the client")
              yield* Effect.exit(request.ended)
            })
          )
        )
        if (first._tag === "Server") {
          yield* Fiber.interrupt(pump)
          return yield* first.exit
        }
        if (Exit.isSuccess(first.exit)) {
          request.done()
          // After CopyDone the server may still work for long (triggers, constraints): let a
          // timeout or an interrupt cancel it.
          return yield* restore(request.ended).pipe(Effect.onInterrupt(() => interrupt(request)))
        }
        request.abort(abortReason(first.exit.cause))
        return yield* sourceFailure(first.exit.cause, yield* Effect.exit(request.ended), own)
      })
    )

export const makeCopyOps = (core: Engine, wire: Wire, interrupt: Interrupt) => {
  const copyIn = copyInWith(core, interrupt)

  const copyInFeed = <E, R>(
    sql: string,
    feed: Effect.Effect<CopyFeed, E, R>
  ): Effect.Effect<CommandComplete, PgExpertError | E | CopyAborted, R> => {
    const source: Stream.Stream<Uint8Array, E | CopyAborted, R> = Stream.fromChannel(
      Channel.fromPull(
        Effect.succeed(
          Effect.flatMap(feed, function loop(step): Effect.Effect<
            readonly [Uint8Array],
            E | CopyAborted | Cause.Done,
            R
          > {
            switch (step._tag) {
              case "Data":
                return Effect.succeed([step.data] as const)
              case "Wait":
                return Effect.flatMap(Effect.andThen(step.wait, feed), loop)
              case "Abort":
                return Effect.fail(new CopyAborted(step.reason))
              case "Finished":
                return Cause.done()
            }
          })
        )
      )
    )
    return copyIn(sql, source)
  }

  const copyInRows = <E, R>(
    target: CopyTarget,
    rows: Stream.Stream<ReadonlyArray<string | null>, E, R>
  ): Effect.Effect<CommandComplete, PgExpertError | E, R> =>
    Effect.suspend(() => {
      const names = [target.schema, target.table, ...target.columns].filter((n) => n !== undefined)
      if (names.some((n) => n.includes("\0"))) {
        return Effect.fail(
          PgProtocolError.notSent({
            reason: "InvalidValue",
            message: "a table or column name contains a NUL character"
          })
        )
      }
      const table =
        target.schema === undefined
          ? quoteIdentifier(target.table)
          : `${quoteIdentifier(target.schema)}.${quoteIdentifier(target.table)}`
      const columns =
        target.columns.length === 0 ? "" : ` (${target.columns.map(quoteIdentifier).join(", ")})`
      const encoder = new TextEncoder()
      let rowNumber = 1
      const bytes = Stream.mapArrayEffect(rows, (batch) => {
        const text = encodeRows(batch, rowNumber)
        if (text instanceof CopyTextError) {
          return Effect.fail(
            PgProtocolError.notSent({ reason: "InvalidValue", message: `copyInRows: ${text.message}` })
          )
        }
        rowNumber += batch.length
        return Effect.succeed([encoder.encode(text)] as const)
      })
      return copyIn(`COPY ${table}${columns} FROM STDIN`, bytes, unencodable)
    })

  /** Submits a COPY TO STDOUT and returns the pull of its data batches (scoped to the stream). */
  const openCopyOut = (sql: string, scope: Scope.Scope) =>
    Effect.gen(function* () {
      const backlog = new Backlog<Uint8Array>(wire)
      const request = yield* makeCopyOut(sql, {
        onData: (chunks) => backlog.push(chunks),
        onDone: (outcome) => backlog.finish("_tag" in outcome ? outcome : undefined)
      })
      core.submit(request)
      // The consumer went away (or the stream ended): discard the rest and, if the COPY still
      // runs, cancel it so the connection is not busy draining a large result.
      yield* Scope.addFinalizer(
        scope,
        Effect.suspend(() => {
          backlog.abandon()
          if (request.settled) {
            request.abandoned = true
            return Effect.void
          }
          return interrupt(request)
        })
      )
      return backlog.pull
    })

  const copyOut = (sql: string): Stream.Stream<Uint8Array, PgExpertError> =>
    Stream.fromChannel(Channel.fromTransform((_, scope) => openCopyOut(sql, scope)))

  const copyOutRows = (sql: string): Stream.Stream<ReadonlyArray<string | null>, PgExpertError> =>
    Stream.fromChannel(
      Channel.fromTransform((_, scope) =>
        Effect.map(openCopyOut(sql, scope), (pull) => {
          const parser = new CopyTextParser()
          let ended = false
          const next: Effect.Effect<
            NonEmptyReadonlyArray<ReadonlyArray<string | null>>,
            PgExpertError | Cause.Done
          > = Effect.suspend(() => {
            if (ended) return Cause.done()
            return pull.pipe(
              Effect.map((chunks) => chunks.flatMap((chunk) => parser.push(chunk))),
              Effect.catchIf(Cause.isDone, () => {
                ended = true
                return Effect.succeed(parser.end())
              }),
              Effect.flatMap((rows) =>
                rows.length > 0
                  ? Effect.succeed(rows as unknown as NonEmptyReadonlyArray<ReadonlyArray<string | null>>)
                  : next
              )
            )
          })
          return next
        })
      )
    )

  return { copyIn, copyInFeed, copyInRows, copyOut, copyOutRows }
}
