/**
 * The replication commands of a walsender connection (`replication=database` or `true` in the
 * startup packet): the text of IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT, DROP_REPLICATION_SLOT
 * and START_REPLICATION, and the START_REPLICATION exchange itself as a pure command.
 *
 * Wire transcript (Frontend/Backend Protocol, "Streaming Replication Protocol"):
 *   Query("START_REPLICATION SLOT s LOGICAL 0/0 (…)") → CopyBothResponse,
 *   then CopyData both ways (XLogData / Primary keepalive in; Standby status updates out), until
 *   one side sends CopyDone and the other answers CopyDone; then (a physical stream may first
 *   send a one-row result with the next timeline) CommandComplete, ReadyForQuery. An ErrorResponse
 *   at any point, then ReadyForQuery.
 *
 * Each CopyData body is a `Result` step (a view of the frame, not copied); the CopyBothResponse is
 * the `STARTED` result. The caller feeds `Send` (a whole CopyData frame: a status update) and
 * `Stop` (CopyDone) through `onInput`; a Send after CopyDone is dropped (the server is no longer
 * reading CopyData), a Stop before the CopyBothResponse is sent as soon as it arrives. The run is
 * exclusive: nothing is written behind it until its ReadyForQuery. CopyData behind the server's
 * CopyDone (the walsender sends a keepalive there) is dropped.
 *
 * It does NOT decode the CopyData (replication/CopyData.ts does), answer keepalives or time
 * status updates (connection/replicationStream.ts does).
 */
import { quoteIdentifier, quoteLiteral } from "../copy/CopyText.ts"
import type { BackendMessage } from "../protocol/Backend.ts"
import { COPY_DONE, encodeQuery } from "../protocol/Frontend.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import { formatLsn, type Lsn } from "../replication/Lsn.ts"
import {
  CONTINUE,
  type Command,
  done,
  type Failure,
  fail,
  protocol,
  result,
  type Start,
  type Step,
  send,
  serverError,
  unexpectedMessage
} from "./Command.ts"

/** A slot name as the server accepts it (ReplicationSlotValidateName): [a-z0-9_], 1–63 characters. */
const SLOT_NAME = /^[a-z0-9_]{1,63}$/

const refused = (message: string): Failure => protocol("InvalidArgument", message, { mayHaveRun: false })

/** Why `name` is not a valid slot name, or undefined. */
export const slotNameProblem = (name: string): Failure | undefined =>
  SLOT_NAME.test(name)
    ? undefined
    : refused(`replication slot name "${name}" must be 1-63 lower case letters, digits or underscores`)

export interface CreateSlotArgs {
  readonly slot: string
  /** "pgoutput", "test_decoding", or another installed output plugin; absent: a physical slot. */
  readonly plugin?: string | undefined
  /** Dropped by the server when the session ends (or on error). */
  readonly temporary?: boolean | undefined
  /** What to do with the slot's snapshot (PG15+ syntax): the server's default is "export". */
  readonly snapshot?: "export" | "use" | "nothing" | undefined
  /** Decode prepared transactions at PREPARE (PG15+). */
  readonly twoPhase?: boolean | undefined
  /** Reserve WAL at once (physical slots). */
  readonly reserveWal?: boolean | undefined
}

/** CREATE_REPLICATION_SLOT in the PG15+ option syntax, or why the arguments are refused. */
export const createSlotSql = (args: CreateSlotArgs): string | Failure => {
  const problem = slotNameProblem(args.slot)
  if (problem !== undefined) return problem
  const options: Array<string> = []
  if (args.snapshot !== undefined) options.push(`SNAPSHOT ${quoteLiteral(args.snapshot)}`)
  if (args.twoPhase === true) options.push("TWO_PHASE true")
  if (args.reserveWal === true) options.push("RESERVE_WAL true")
  const kind = args.plugin === undefined ? "PHYSICAL" : `LOGICAL ${quoteIdentifier(args.plugin)}`
  const temporary = args.temporary === true ? " TEMPORARY" : ""
  const tail = options.length === 0 ? "" : ` (${options.join(", ")})`
  return `CREATE_REPLICATION_SLOT ${args.slot}${temporary} ${kind}${tail}`
}

/** DROP_REPLICATION_SLOT; `wait`: wait for an active slot to become inactive instead of failing. */
export const dropSlotSql = (slot: string, wait = false): string | Failure =>
  slotNameProblem(slot) ?? `DROP_REPLICATION_SLOT ${slot}${wait ? " WAIT" : ""}`

export interface StartLogicalArgs {
  readonly slot: string
  /** Where to start; 0n: from the slot's confirmed_flush_lsn. */
  readonly startLsn?: Lsn | undefined
  /** The output plugin's options, in order (`proto_version`, `publication_names`, …). */
  readonly options?: ReadonlyArray<readonly [string, string]> | undefined
}

/** START_REPLICATION SLOT … LOGICAL lsn (options), or why the arguments are refused. */
export const startLogicalSql = (args: StartLogicalArgs): string | Failure => {
  const problem = slotNameProblem(args.slot)
  if (problem !== undefined) return problem
  const lsn = formatLsn(args.startLsn ?? 0n)
  const options = (args.options ?? []).map(
    ([name, value]) => `${quoteIdentifier(name)} ${quoteLiteral(value)}`
  )
  return `START_REPLICATION SLOT ${args.slot} LOGICAL ${lsn}${options.length === 0 ? "" : ` (${options.join(", ")})`}`
}

/** `publication_names`' value: each name quoted as an identifier, comma-separated. */
export const publicationNames = (names: ReadonlyArray<string>): string => names.map(quoteIdentifier).join(",")

/** The CopyBothResponse: the server streams from now on. */
export const STARTED: { readonly _tag: "Started" } = { _tag: "Started" }

export type ReplicationOutput = Uint8Array | typeof STARTED

/** What the caller feeds the running stream. */
export type ReplicationInput =
  | { readonly _tag: "Send"; readonly frames: Uint8Array }
  | { readonly _tag: "Stop" }

export interface ReplicationArgs {
  /** The START_REPLICATION statement. */
  readonly sql: string
}

export interface ReplicationState {
  phase: "starting" | "copy" | "after-copy" | "failed"
  /** We sent CopyDone (or must, as soon as the copy starts). */
  clientDone: boolean
  stopWanted: boolean
  /** The server sent CopyDone. */
  serverDone: boolean
  failure: Failure | undefined
  tag: string | undefined
}

const NAME = "START_REPLICATION"

const onCopyMessage = (state: ReplicationState, message: BackendMessage): Step<string, ReplicationOutput> => {
  switch (message._tag) {
    case "CopyData":
      return result(message.data)
    case "CopyDone":
      if (state.serverDone) return unexpectedMessage(NAME, message, "a second CopyDone")
      state.serverDone = true
      if (state.clientDone) {
        state.phase = "after-copy"
        return CONTINUE
      }
      state.clientDone = true
      state.phase = "after-copy"
      return send(COPY_DONE)
    default:
      return unexpectedMessage(NAME, message, "copy-both mode")
  }
}

const onMessage = (state: ReplicationState, message: BackendMessage): Step<string, ReplicationOutput> => {
  switch (message._tag) {
    case "ErrorResponse":
      state.failure ??= serverError(message.fields)
      state.phase = "failed"
      return CONTINUE
    case "ReadyForQuery":
      if (state.failure !== undefined) return fail(state.failure)
      if (state.phase !== "after-copy" || state.tag === undefined)
        return unexpectedMessage(NAME, message, state.phase)
      return done(state.tag)
    case "CopyBothResponse":
      if (state.phase !== "starting") return unexpectedMessage(NAME, message, state.phase)
      state.phase = "copy"
      if (state.stopWanted) {
        state.clientDone = true
        return send(COPY_DONE)
      }
      return result(STARTED)
    case "CopyData":
      // The walsender may send a keepalive behind its CopyDone (seen on PG15 and PG18): dropped.
      if (state.phase === "copy") return onCopyMessage(state, message)
      return state.phase === "after-copy" ? CONTINUE : unexpectedMessage(NAME, message, state.phase)
    case "RowDescription":
    case "DataRow":
      // A physical stream's next-timeline result set, after the copy.
      return state.phase === "after-copy" ? CONTINUE : unexpectedMessage(NAME, message, state.phase)
    case "CommandComplete":
      // "COPY 0" ends the copy, then "START_REPLICATION". A second logical START_REPLICATION on
      // one connection gets its copy ended at once this way, with no CopyDone (PG15, PG18).
      if (state.phase === "copy") state.phase = "after-copy"
      if (state.phase !== "after-copy") return unexpectedMessage(NAME, message, state.phase)
      state.tag = message.tag
      return CONTINUE
    default:
      if (state.phase === "copy") return onCopyMessage(state, message)
      if (state.phase === "failed") return CONTINUE
      return unexpectedMessage(NAME, message, state.phase)
  }
}

const onInput = (state: ReplicationState, input: ReplicationInput): Step<string, ReplicationOutput> => {
  if (input._tag === "Stop") {
    if (state.clientDone) return CONTINUE
    if (state.phase !== "copy") {
      state.stopWanted = true
      return CONTINUE
    }
    state.clientDone = true
    return send(COPY_DONE)
  }
  return state.phase === "copy" && !state.clientDone ? send(input.frames) : CONTINUE
}

/** START_REPLICATION over the simple Query protocol, in copy-both mode (exclusive). */
export const startReplication = {
  name: "START_REPLICATION",
  start: (args: ReplicationArgs): Start<ReplicationState> | Failure => {
    const frames = encodeQuery(args.sql)
    if (frames instanceof ProtocolError) return protocol(frames.reason, frames.message, { mayHaveRun: false })
    return {
      frames,
      exclusive: true,
      state: {
        phase: "starting",
        clientDone: false,
        stopWanted: false,
        serverDone: false,
        failure: undefined,
        tag: undefined
      }
    }
  },
  onMessage,
  onInput
} satisfies Command<ReplicationArgs, ReplicationState, string, ReplicationOutput, ReplicationInput>
