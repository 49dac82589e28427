/**
 * The command contract: one protocol exchange as a pure state machine (epgsql's command modules).
 *
 * A command is a plain object. `start(args)` builds its initial state and the frames to write;
 * then the engine hands it, in order, every backend message that belongs to it (everything but
 * NoticeResponse, ParameterStatus, NotificationResponse and FATAL errors, which the engine keeps),
 * ReadyForQuery included, and the command answers each with a {@link Step}: carry on, a row, an
 * intermediate result for its caller, more frames to write, its end (success or failure), a
 * sequence it cannot follow that the server can recover from (`SyncRequired`), a message that
 * makes no sense (`Unexpected`, which ends the connection), or a refusal to go on (`Stop`, which
 * ends the connection with the command's own failure). `onInput` takes what the caller feeds
 * a running command (the next cursor window, COPY data, a password), so caller-driven rounds are
 * part of the same machine.
 *
 * Rules the engine enforces:
 * - A command ends (`Done`/`Fail`) only on a ReadyForQuery; a ReadyForQuery it does not end on
 *   answers one of its own earlier Syncs. Ending on any other message is a protocol error.
 * - Frames that do not end with Sync (or a simple Query) leave the server inside the command's
 *   exchange, so nothing is written behind such a command until it ends (it is exclusive, as is
 *   one that says so).
 * - `SyncRequired` fails the command with its failure; the engine discards the command's
 *   messages up to the ReadyForQuery of its outstanding Syncs (`pendingSyncs`), or, with none
 *   outstanding, writes a Sync and discards up to its ReadyForQuery; then the next command runs.
 *
 * It does NOT do I/O, know Effect or Node, or decode values beyond text rows: a command may keep
 * its state in a mutable object of its own (so a row costs no copy of the state), and transcript
 * tests drive it with messages in and steps out.
 */
import type { BackendMessage } from "../protocol/Backend.ts"
import type { ErrorFields } from "../protocol/ErrorFields.ts"
import type { AnyRow, StatementResult } from "../Result.ts"

/**
 * Why a command failed, as plain data; the engine turns it into the typed error of the API
 * (`PgServerError` for `ServerError`, `PgProtocolError` with the same `reason` otherwise).
 */
export type Failure =
  | {
      readonly _tag: "ServerError"
      readonly fields: ErrorFields
      /** The statements of the same simple Query that completed before the error (PgServerError.completed). */
      readonly completed?: ReadonlyArray<StatementResult> | undefined
    }
  | {
      readonly _tag: "Protocol"
      /** PgProtocolError's reason, e.g. "UnexpectedMessage", "CopyNotSupported", "UnexpectedRows". */
      readonly reason: string
      readonly message: string
      /** `false` when the statement certainly did not take effect (default: it may have). */
      readonly mayHaveRun?: boolean | undefined
      readonly messageType?: number | undefined
    }
  /** The startup dialogue refused to go on (PgAuthError's method and reason). */
  | {
      readonly _tag: "Auth"
      readonly method: string
      readonly reason: AuthFailureReason
      readonly message: string
    }

/** PgAuthError's reasons (errors/PgExpertError.ts), as plain strings. */
export type AuthFailureReason =
  | "unsupported-method"
  | "refused-by-require-auth"
  | "channel-binding-required"
  | "server-signature-invalid"
  | "server-rejected"
  | "protocol"

/** The engine's answer-set to a message (epgsql's noaction/add_row/add_result/requeue/finish/sync_required/unknown). */
export type Step<R, P = never> =
  | { readonly _tag: "Continue" }
  /**
   * A row for a caller that streams them (delivered in batches, one per socket read). The engine
   * takes the row before it calls the command again, so a command may return one Row step object
   * refilled per row (extended.ts does, to allocate nothing per row).
   */
  | { readonly _tag: "Row"; readonly row: AnyRow }
  /** An intermediate result for the caller (the columns of a stream, one query of a pipeline). */
  | { readonly _tag: "Result"; readonly result: P }
  /**
   * More frames to write now (a multi-round-trip command). Several buffers are written in order
   * without being copied together (a CopyData header and its payload).
   */
  | { readonly _tag: "Send"; readonly frames: Uint8Array | ReadonlyArray<Uint8Array> }
  /** The command is over and succeeded (only on a ReadyForQuery). */
  | { readonly _tag: "Done"; readonly value: R }
  /** The command is over and failed; the session is in step (only on a ReadyForQuery). */
  | { readonly _tag: "Fail"; readonly failure: Failure }
  /** The command met a sequence it cannot follow; fail it and bring the session back in step. */
  | { readonly _tag: "SyncRequired"; readonly failure: Failure; readonly pendingSyncs: number }
  /** A message that makes no sense here: the connection fails with a protocol error. */
  | { readonly _tag: "Unexpected"; readonly failure: Failure }
  /** The command ends the connection with its failure (epgsql's `stop`), e.g. a refused authentication. */
  | { readonly _tag: "Stop"; readonly failure: Failure }

/** What `start` returns: the first state and frames, or why the arguments cannot be encoded. */
export interface Start<S> {
  readonly state: S
  readonly frames: Uint8Array
  /** Nothing may be written behind the command until it ends (implied by frames without a final Sync). */
  readonly exclusive?: boolean | undefined
}

/**
 * A protocol command. `A`: its arguments; `S`: its state; `R`: its result; `P`: the intermediate
 * results it hands out (`Result` steps); `I`: what its caller may feed it (`onInput`).
 */
export interface Command<A, S, R, P = never, I = never> {
  /** A short name for errors and spans ("query", "copy-in", "bulk-insert"). */
  readonly name: string
  /** The first state and frames; a Failure (nothing is sent) when the arguments cannot be encoded. */
  readonly start: (args: A) => Start<S> | Failure
  /** A backend message for this command. */
  readonly onMessage: (state: S, message: BackendMessage) => Step<R, P>
  /**
   * Optional fast path for DataRow: the raw body, so no message object is allocated per row; must
   * answer exactly as `onMessage` would for the decoded DataRow.
   */
  readonly onDataRow?: ((state: S, body: Uint8Array) => Step<R, P>) | undefined
  /** Something the caller feeds the running command (only while it runs). */
  readonly onInput?: ((state: S, input: I) => Step<R, P>) | undefined
  /**
   * The command tags the server answered so far, one per statement (the pool's transaction guard
   * asks what a statement that ended a transaction block was).
   */
  readonly tags?: ((state: S) => ReadonlyArray<string>) | undefined
}

/** The shared `Continue` step (no allocation per message). */
export const CONTINUE: Step<never, never> = { _tag: "Continue" }

export const row = (value: AnyRow): Step<never, never> => ({ _tag: "Row", row: value })

export const result = <P>(value: P): Step<never, P> => ({ _tag: "Result", result: value })

export const send = (frames: Uint8Array | ReadonlyArray<Uint8Array>): Step<never, never> => ({
  _tag: "Send",
  frames
})

export const done = <R>(value: R): Step<R, never> => ({ _tag: "Done", value })

export const fail = (failure: Failure): Step<never, never> => ({ _tag: "Fail", failure })

export const syncRequired = (failure: Failure, pendingSyncs: number): Step<never, never> => ({
  _tag: "SyncRequired",
  failure,
  pendingSyncs
})

export const unexpected = (failure: Failure): Step<never, never> => ({ _tag: "Unexpected", failure })

export const stop = (failure: Failure): Step<never, never> => ({ _tag: "Stop", failure })

export const authFailure = (method: string, reason: AuthFailureReason, message: string): Failure => ({
  _tag: "Auth",
  method,
  reason,
  message
})

export const serverError = (fields: ErrorFields, completed?: ReadonlyArray<StatementResult>): Failure =>
  completed === undefined || completed.length === 0
    ? { _tag: "ServerError", fields }
    : { _tag: "ServerError", fields, completed }

export const protocol = (
  reason: string,
  message: string,
  options?: { readonly mayHaveRun?: boolean | undefined; readonly messageType?: number | undefined }
): Failure => ({ _tag: "Protocol", reason, message, ...options })

/** A message this command does not expect in its current state: `Unexpected` naming both. */
export const unexpectedMessage = (
  command: string,
  message: BackendMessage,
  where?: string
): Step<never, never> =>
  unexpected(
    protocol(
      "UnexpectedMessage",
      `unexpected ${message._tag} during ${command}${where === undefined ? "" : ` (${where})`}`
    )
  )

/** True when `u` is a Failure (what `start` returns when the arguments cannot be encoded). */
export const isFailure = (u: unknown): u is Failure =>
  typeof u === "object" &&
  u !== null &&
  "_tag" in u &&
  (u._tag === "ServerError" || u._tag === "Protocol" || u._tag === "Auth")

/** Defines a command (identity, for inference: `Command.make({ name, start, onMessage })`). */
export const make = <A, S, R, P = never, I = never>(
  command: Command<A, S, R, P, I>
): Command<A, S, R, P, I> => command
