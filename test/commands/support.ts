/**
 * Helpers of the command transcript tests: one sample message per BackendMessage `_tag`
 * (samples.ts and the kinds the engine keeps, so a test can feed every kind of message at every
 * state), the frontend frames a command wrote decoded as the server would read them, a driver
 * that replays a transcript through a command, and the table check "every message kind not
 * listed as allowed is `Unexpected` here".
 *
 * It does NOT do I/O: commands are pure, so a transcript is messages in, steps and frames out.
 */
import { assert } from "@effect/vitest"
import type { Command, Failure, Start, Step } from "../../src/commands/Command.ts"
import { isFailure } from "../../src/commands/Command.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { decodeTyped, type FrontendMessage } from "../protocol/support/FrontendDecoder.ts"
import { samples } from "./samples.ts"

type Tag = BackendMessage["_tag"]

const bytes = (s: string) => new TextEncoder().encode(s)

/** Every kind, so that a kind added to BackendMessage without a sample fails to compile here. */
const KINDS = {
  AuthenticationOk: 0,
  AuthenticationKerberosV5: 0,
  AuthenticationCleartextPassword: 0,
  AuthenticationMD5Password: 0,
  AuthenticationSCMCredential: 0,
  AuthenticationGSS: 0,
  AuthenticationGSSContinue: 0,
  AuthenticationSSPI: 0,
  AuthenticationSASL: 0,
  AuthenticationSASLContinue: 0,
  AuthenticationSASLFinal: 0,
  AuthenticationUnknown: 0,
  BackendKeyData: 0,
  BindComplete: 0,
  CloseComplete: 0,
  CommandComplete: 0,
  CopyInResponse: 0,
  CopyOutResponse: 0,
  CopyBothResponse: 0,
  CopyData: 0,
  CopyDone: 0,
  DataRow: 0,
  EmptyQueryResponse: 0,
  ErrorResponse: 0,
  NoticeResponse: 0,
  FunctionCallResponse: 0,
  NegotiateProtocolVersion: 0,
  NoData: 0,
  NotificationResponse: 0,
  ParameterDescription: 0,
  ParameterStatus: 0,
  ParseComplete: 0,
  PortalSuspended: 0,
  ReadyForQuery: 0,
  RowDescription: 0
} satisfies Record<Tag, 0>

/** The kinds the engine keeps (samples.ts leaves them out): a command answers them `Unexpected` too. */
const ENGINE_OWNED: ReadonlyArray<BackendMessage> = [
  { _tag: "NoticeResponse", fields: { severity: "NOTICE", code: "00000", message: "hi" } },
  { _tag: "ParameterStatus", name: "TimeZone", value: "UTC" },
  { _tag: "NotificationResponse", processId: 1, channel: "c", payload: "p" }
]

/** One message of every kind the server can send (samples.ts, plus the engine's own kinds). */
export const SAMPLES = Object.fromEntries([...samples, ...ENGINE_OWNED].map((m) => [m._tag, m])) as {
  readonly [K in Tag]: BackendMessage
}

export const TAGS = Object.keys(KINDS) as ReadonlyArray<Tag>

for (const tag of TAGS) if (SAMPLES[tag] === undefined) throw new Error(`no sample message of kind ${tag}`)

/** A sample message of kind `tag`, optionally with other fields. */
export const msg = <K extends Tag>(
  tag: K,
  fields?: Partial<Omit<Extract<BackendMessage, { readonly _tag: K }>, "_tag">>
): BackendMessage => ({ ...SAMPLES[tag], ...fields }) as BackendMessage

/** The body of a DataRow with these text values (the fast path's input). */
export const dataRowBody = (values: ReadonlyArray<string | null>): Uint8Array => {
  const parts: Array<number> = [values.length >> 8, values.length & 0xff]
  for (const v of values) {
    if (v === null) {
      parts.push(0xff, 0xff, 0xff, 0xff)
      continue
    }
    const b = bytes(v)
    parts.push(b.length >>> 24, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff, ...b)
  }
  return new Uint8Array(parts)
}

/** Frames (one buffer or several) decoded one message each, as the server reads them. */
export const decodeFrames = (frames: Uint8Array | ReadonlyArray<Uint8Array>): Array<FrontendMessage> => {
  const all = frames instanceof Uint8Array ? [frames] : frames
  const out: Array<FrontendMessage> = []
  for (const buffer of all) {
    let at = 0
    while (at < buffer.length) {
      const length =
        ((buffer[at + 1]! << 24) | (buffer[at + 2]! << 16) | (buffer[at + 3]! << 8) | buffer[at + 4]!) >>> 0
      out.push(decodeTyped(buffer.subarray(at, at + 1 + length)))
      at += 1 + length
    }
  }
  return out
}

/** What may come between the statements of a simple Query (simple.ts, executeSimple.ts). */
export const BETWEEN_STATEMENTS: ReadonlyArray<Tag> = [
  "RowDescription",
  "CommandComplete",
  "EmptyQueryResponse",
  "ErrorResponse",
  "CopyInResponse",
  "CopyOutResponse",
  "ReadyForQuery"
]

/** The message kinds of decoded frames, e.g. ["Parse", "Describe", "Sync"]. */
export const kinds = (frames: Uint8Array | ReadonlyArray<Uint8Array>): Array<string> =>
  decodeFrames(frames).map((m) => m._tag)

/** What a transcript step feeds: a backend message, or the caller's input. */
export type Feed<I> = BackendMessage | { readonly input: I }

/** Starts `command` (which must accept `args`) and returns its start. */
export const started = <A, S, R, P, I>(command: Command<A, S, R, P, I>, args: A): Start<S> => {
  const start = command.start(args)
  if (isFailure(start)) throw new Error(`start failed: ${JSON.stringify(start)}`)
  return start
}

/** The Failure `start` returned (the test fails if it started). */
export const refused = <A, S, R, P, I>(command: Command<A, S, R, P, I>, args: A): Failure => {
  const start = command.start(args)
  if (!isFailure(start)) throw new Error("start did not refuse")
  return start
}

/** Replays `feeds` through a fresh start of `command`: the state and every step answered. */
export const replay = <A, S, R, P, I>(
  command: Command<A, S, R, P, I>,
  args: A,
  feeds: ReadonlyArray<Feed<I>>
): { readonly start: Start<S>; readonly state: S; readonly steps: Array<Step<R, P>> } => {
  const start = started(command, args)
  const steps: Array<Step<R, P>> = []
  for (const feed of feeds) {
    if ("input" in feed) steps.push(command.onInput!(start.state, feed.input))
    else steps.push(command.onMessage(start.state, feed))
  }
  return { start, state: start.state, steps }
}

/** The frames of a `Send` step (the test fails on any other step). */
export const framesOf = (
  step: Step<unknown, unknown> | undefined
): Uint8Array | ReadonlyArray<Uint8Array> => {
  if (step?._tag !== "Send") throw new Error(`not a Send step: ${step?._tag}`)
  return step.frames
}

/** The step tags of a replay, e.g. ["Continue", "Row", "Done"]. */
export const stepTags = (steps: ReadonlyArray<Step<unknown, unknown>>): Array<string> =>
  steps.map((s) => s._tag)

/** One state of a command, reached by `prefix`, where only `allowed` message kinds make sense. */
export interface StateRow<I> {
  readonly name: string
  readonly prefix: ReadonlyArray<Feed<I>>
  readonly allowed: ReadonlyArray<Tag>
}

/**
 * For every state and every message kind: a kind not in `allowed` is answered `Unexpected`
 * (through `onDataRow` too for DataRow), an allowed one is not. The prefix itself must not
 * produce `Unexpected`.
 */
export const assertTable = <A, S, R, P, I>(
  command: Command<A, S, R, P, I>,
  args: A,
  rows: ReadonlyArray<StateRow<I>>
): void => {
  for (const state of rows) {
    const before = replay(command, args, state.prefix)
    assert.notInclude(stepTags(before.steps), "Unexpected", `${state.name}: its prefix`)
    for (const tag of TAGS) {
      const { state: s } = replay(command, args, state.prefix)
      const step = command.onMessage(s, SAMPLES[tag])
      const label = `${command.name} in ${state.name}: ${tag}`
      if (state.allowed.includes(tag)) assert.notStrictEqual(step._tag, "Unexpected", label)
      else assert.strictEqual(step._tag, "Unexpected", label)
      if (tag === "DataRow" && command.onDataRow !== undefined) {
        const fast = command.onDataRow(replay(command, args, state.prefix).state, dataRowBody(["1"]))
        assert.strictEqual(fast._tag, step._tag, `${label} (onDataRow)`)
      }
    }
  }
}
