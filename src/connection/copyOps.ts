/**
 * The COPY operations as Effects and Streams: copyIn (a Stream of bytes, chunks cut anywhere),
 * copyInFeed (postgres_async's pull form), copyInRows (rows of JS values; names quoted here; text
 * format by the values' JS kinds, or binary by the codecs of the columns it describes first),
 * copyOut (a Stream of bytes with pushback), copyOutRows (parsed text format, the server's text)
 * and copyOutTyped (fields decoded by the registry: of a COPY statement with given types, text or
 * binary as the data shows, or of a described table target). Decision 024; the typed pieces are
 * in copyRows.ts and copy/CopyBinary.ts.
 *
 * Pushback both ways: copyInRows encodes one chunk of the row stream at a time and pulls the next
 * only once its CopyData is written (or the socket drained); the typed outputs decode one socket
 * read per pull. A row copyInRows refuses (its value does not fit its column's type) fails the
 * chunk it is in before any of that chunk is sent; earlier chunks were sent, so the COPY is
 * aborted with CopyFail and nothing is stored. A field copyOutTyped cannot decode ends its stream
 * with PgProtocolError UndecodableValue, which cancels the COPY (the session stays in step).
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
import { CopyBinaryEncoder, copyBinaryHeader, copyBinaryTrailer, missingBinary } from "../copy/CopyBinary.ts"
import { type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { Engine, Request } from "../engine/Engine.ts"
import type { Column, CommandComplete } from "../Result.ts"
import type { Registry } from "../types/Registry.ts"
import { Backlog } from "./backlog.ts"
import { makeCopyIn, makeCopyOut } from "./copy.ts"
import {
  binaryRows,
  type CopyFormat,
  type CopyTarget,
  checkNames,
  copyFromSql,
  copyToSql,
  describedColumns,
  detectedRows,
  encodeBinaryBatch,
  encodeTextBatch,
  type RowsDecoder,
  refused,
  selectSql,
  textRows,
  typedColumns,
  typedTextRows
} from "./copyRows.ts"
import type { Param } from "./params.ts"

export type { CopyFormat, CopyTarget } from "./copyRows.ts"

/** postgres_async's feed result for the pull form of COPY IN. */
export type CopyFeed =
  | { readonly _tag: "Data"; readonly data: Uint8Array }
  | { readonly _tag: "Wait"; readonly wait: Effect.Effect<void> }
  | { readonly _tag: "Abort"; readonly reason: string }
  | { readonly _tag: "Finished" }

/** copyInRows' options. */
export interface CopyInRowsOptions {
  /** "text" (the default): values written as text by their JS kind; "binary": by the columns' codecs. */
  readonly format?: CopyFormat | undefined
}

/** copyOutTyped's options: `types` for a COPY statement, `format` for a table target. */
export interface CopyOutTypedOptions {
  /** One per column: an OID or a type name the registry knows ("int8", "integer", "_int4", "int4[]"). */
  readonly types?: ReadonlyArray<number | string> | undefined
  /** For a table target: the format to COPY in (default "text"). A statement says its own. */
  readonly format?: CopyFormat | undefined
}

/**
 * COPY TO STDOUT with each field decoded by the registry, rows as arrays (decision 024): of a
 * COPY statement (text or binary, as the statement says) whose column types are given, or of a
 * table or view whose columns are described first (one round trip).
 */
export interface CopyOutTyped<E> {
  (
    sql: string,
    options: { readonly types: ReadonlyArray<number | string> }
  ): Stream.Stream<ReadonlyArray<unknown>, E>
  (
    target: CopyTarget,
    options?: { readonly format?: CopyFormat | undefined }
  ): Stream.Stream<ReadonlyArray<unknown>, E>
}

/** What the typed forms need of the connection: its registry, and `describe` (prepared.ts). */
export interface CopyDeps {
  readonly registry: Registry
  readonly describe: (
    sql: string
  ) => Effect.Effect<{ readonly columns: ReadonlyArray<Column> }, PgExpertError>
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

/** COPY TO STDOUT on `core`: the raw byte stream, and rows through a decoder, both pulled. */
const copyOutWith = (core: Engine, wire: Wire, interrupt: Interrupt) => {
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

  /**
   * The rows of a COPY TO STDOUT, decoded batch by batch as the consumer pulls. `prepare` runs
   * first (a describe), then the COPY is sent. A decoding failure ends the stream, which cancels the COPY.
   */
  const rowsOut = <A>(
    prepare: Effect.Effect<{ readonly sql: string; readonly decoder: RowsDecoder<A> }, PgExpertError>
  ): Stream.Stream<A, PgExpertError> =>
    Stream.fromChannel(
      Channel.fromTransform((_, scope) =>
        Effect.gen(function* () {
          const { sql, decoder } = yield* prepare
          const pull = yield* openCopyOut(sql, scope)
          let ended = false
          const next: Effect.Effect<NonEmptyReadonlyArray<A>, PgExpertError | Cause.Done> = Effect.suspend(
            () => {
              if (ended) return Cause.done()
              return pull.pipe(
                Effect.flatMap((chunks) => {
                  const rows: Array<A> = []
                  for (const chunk of chunks) {
                    const batch = decoder.push(chunk)
                    if (batch instanceof PgProtocolError) return Effect.fail(batch)
                    for (const row of batch) rows.push(row)
                  }
                  return Effect.succeed(rows)
                }),
                Effect.catchIf(Cause.isDone, () => {
                  ended = true
                  const rows = decoder.end()
                  return rows instanceof PgProtocolError ? Effect.fail(rows) : Effect.succeed(rows)
                }),
                Effect.flatMap((rows) =>
                  rows.length > 0 ? Effect.succeed(rows as unknown as NonEmptyReadonlyArray<A>) : next
                )
              )
            }
          )
          return next
        })
      )
    )

  return { copyOut, rowsOut }
}

export const makeCopyOps = (core: Engine, wire: Wire, interrupt: Interrupt, deps: CopyDeps) => {
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

  /** COPY of rows of JS values into a table, in text (the default) or binary (decision 024). */
  const copyInRows = <E, R>(
    target: CopyTarget,
    rows: Stream.Stream<ReadonlyArray<Param>, E, R>,
    options?: CopyInRowsOptions
  ): Effect.Effect<CommandComplete, PgExpertError | E, R> =>
    Effect.suspend(() => {
      const bad = checkNames(target)
      if (bad !== undefined) return Effect.fail(bad)
      const format = options?.format ?? "text"
      const sql = copyFromSql(target, format)
      let rowNumber = 1
      if (format === "text") {
        const encoder = new TextEncoder()
        const names = target.columns ?? []
        const bytes = Stream.mapArrayEffect(rows, (batch) => {
          const text = encodeTextBatch(deps.registry, batch, rowNumber, names)
          if (typeof text !== "string") return Effect.fail(text)
          rowNumber += batch.length
          return Effect.succeed([encoder.encode(text)] as const)
        })
        return copyIn(sql, bytes, unencodable)
      }
      return Effect.gen(function* () {
        const described = yield* deps.describe(selectSql(target))
        const columns = describedColumns(deps.registry, described.columns)
        const missing = missingBinary(columns)
        if (missing !== undefined) return yield* Effect.fail(refused(`copyInRows: ${missing.message}`))
        const encoder = new CopyBinaryEncoder(columns)
        const tuples = Stream.mapArrayEffect(rows, (batch) => {
          const bytes = encodeBinaryBatch(encoder, batch, rowNumber)
          if (bytes instanceof PgProtocolError) return Effect.fail(bytes)
          rowNumber += batch.length
          return Effect.succeed([bytes] as const)
        })
        const framed = Stream.succeed(copyBinaryHeader()).pipe(
          Stream.concat(tuples),
          Stream.concat(Stream.sync(copyBinaryTrailer))
        )
        return yield* copyIn(sql, framed, unencodable)
      })
    })

  const { copyOut, rowsOut } = copyOutWith(core, wire, interrupt)

  const copyOutRows = (sql: string): Stream.Stream<ReadonlyArray<string | null>, PgExpertError> =>
    rowsOut(Effect.sync(() => ({ sql, decoder: textRows() })))

  const copyOutTyped = ((
    source: string | CopyTarget,
    options?: CopyOutTypedOptions
  ): Stream.Stream<ReadonlyArray<unknown>, PgExpertError> =>
    rowsOut(
      Effect.gen(function* () {
        if (typeof source === "string") {
          const types = options?.types
          if (types === undefined)
            return yield* Effect.fail(
              refused("copyOutTyped: a COPY statement needs `types` (one per column)")
            )
          const columns = typedColumns(deps.registry, types)
          if (columns instanceof PgProtocolError) return yield* Effect.fail(columns)
          return { sql: source, decoder: detectedRows(columns) }
        }
        const bad = checkNames(source)
        if (bad !== undefined) return yield* Effect.fail(bad)
        const format = options?.format ?? "text"
        const described = yield* deps.describe(selectSql(source))
        const columns = describedColumns(deps.registry, described.columns)
        return {
          sql: copyToSql(source, format),
          decoder: format === "binary" ? binaryRows(columns) : typedTextRows(columns)
        }
      })
    )) as CopyOutTyped<PgExpertError>

  return { copyIn, copyInFeed, copyInRows, copyOut, copyOutRows, copyOutTyped }
}
