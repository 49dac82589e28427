/**
 * Helpers of the COPY command transcript tests (test/commands/copyIn.test.ts, copyOut.test.ts):
 * one sample message of every BackendMessage kind (test/commands/samples.ts plus the kinds the
 * engine keeps), a replay of messages and caller inputs through a command, frames joined as the
 * server reads them, and the table check "every kind not allowed in a state is `Unexpected`".
 *
 * It does NOT do I/O nor assert: the table check returns what differs, the test compares.
 */
import type { Command, Start, Step } from "../../src/commands/Command.ts"
import { isFailure } from "../../src/commands/Command.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { commandComplete, dataRow, error, field, ready, samples } from "../commands/samples.ts"
import { concat } from "../support/FakeMessages.ts"

export type Tag = BackendMessage["_tag"]

/** Every kind, so a kind added to BackendMessage without a sample fails to compile here. */
const ALL_TAGS: Record<Tag, true> = {
  AuthenticationOk: true,
  AuthenticationKerberosV5: true,
  AuthenticationCleartextPassword: true,
  AuthenticationMD5Password: true,
  AuthenticationSCMCredential: true,
  AuthenticationGSS: true,
  AuthenticationGSSContinue: true,
  AuthenticationSSPI: true,
  AuthenticationSASL: true,
  AuthenticationSASLContinue: true,
  AuthenticationSASLFinal: true,
  AuthenticationUnknown: true,
  BackendKeyData: true,
  BindComplete: true,
  CloseComplete: true,
  CommandComplete: true,
  CopyInResponse: true,
  CopyOutResponse: true,
  CopyBothResponse: true,
  CopyData: true,
  CopyDone: true,
  DataRow: true,
  EmptyQueryResponse: true,
  ErrorResponse: true,
  NoticeResponse: true,
  FunctionCallResponse: true,
  NegotiateProtocolVersion: true,
  NoData: true,
  NotificationResponse: true,
  ParameterDescription: true,
  ParameterStatus: true,
  ParseComplete: true,
  PortalSuspended: true,
  ReadyForQuery: true,
  RowDescription: true
}

/** One message of every kind: samples.ts, and the kinds the engine keeps (never given to a command). */
export const EVERY_KIND: ReadonlyArray<BackendMessage> = [
  ...samples,
  { _tag: "NoticeResponse", fields: { severity: "NOTICE", code: "00000", message: "hi" } },
  { _tag: "ParameterStatus", name: "TimeZone", value: "UTC" },
  { _tag: "NotificationResponse", processId: 1, channel: "c", payload: "p" }
]

/** The kinds `EVERY_KIND` lacks (a test asserts there are none). */
export const missingKinds = (): Array<string> => {
  const present = new Set(EVERY_KIND.map((m) => m._tag))
  return Object.keys(ALL_TAGS).filter((tag) => !present.has(tag as Tag))
}

/** A sample of kind `tag`. */
export const sample = (tag: Tag): BackendMessage => EVERY_KIND.find((m) => m._tag === tag)!

/** What a transcript feeds: a backend message, or the caller's input. */
export type Feed<I> = BackendMessage | { readonly input: I }

/** `command.start(args)`, which must succeed. */
export const started = <A, S, R, P, I>(command: Command<A, S, R, P, I>, args: A): Start<S> => {
  const start = command.start(args)
  if (isFailure(start)) throw new Error(`start failed: ${JSON.stringify(start)}`)
  return start
}

/** Feeds `feeds` to `state` in order; every step answered. */
export const feed = <A, S, R, P, I>(
  command: Command<A, S, R, P, I>,
  state: S,
  feeds: ReadonlyArray<Feed<I>>
): Array<Step<R, P>> =>
  feeds.map((f) => ("input" in f ? command.onInput!(state, f.input) : command.onMessage(state, f)))

/** A transcript of `command` started with `args`: a fresh start each call, and a replay through one. */
export const transcript = <A, S, R, P, I>(command: Command<A, S, R, P, I>, args: A) => ({
  start: (): Start<S> => started(command, args),
  run: (feeds: ReadonlyArray<Feed<I>>): { readonly state: S; readonly steps: Array<Step<R, P>> } => {
    const { state } = started(command, args)
    return { state, steps: feed(command, state, feeds) }
  }
})

/** The kinds of steps, e.g. ["Continue", "Result", "Done"]. */
export const stepTags = (steps: ReadonlyArray<{ readonly _tag: string }>): Array<string> =>
  steps.map((s) => s._tag)

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

/** The frames of a `Send` step (or a start) as one buffer, as the server reads them. */
export const joined = (frames: Uint8Array | ReadonlyArray<Uint8Array>): Uint8Array =>
  frames instanceof Uint8Array ? frames : concat(frames)

/** The distinct kinds of every step but the last, and the last step (a run that ends on it). */
export const ending = <R, P>(
  steps: ReadonlyArray<Step<R, P>>
): { readonly before: ReadonlyArray<string>; readonly last: Step<R, P> | undefined } => ({
  before: [...new Set(steps.slice(0, -1).map((s) => s._tag))],
  last: steps[steps.length - 1]
})

/** The `Unexpected` step of a COPY command with this message. */
export const unexpectedCopy = (message: string) => ({
  _tag: "Unexpected",
  failure: { _tag: "Protocol", reason: "UnexpectedMessage", message }
})

/** One state of a command, reached by `prefix`, where only `allowed` kinds make sense. */
export interface StateRow<I> {
  readonly name: string
  readonly prefix: ReadonlyArray<Feed<I>>
  readonly allowed: ReadonlyArray<Tag>
}

/**
 * For every state and every kind, from a fresh start: "<state>: <kind>" for each kind answered
 * `Unexpected` though allowed, or not `Unexpected` though not allowed, and for a prefix that is
 * itself `Unexpected` somewhere. Empty when the table holds.
 */
export const tableMismatches = <A, S, R, P, I>(
  command: Command<A, S, R, P, I>,
  args: A,
  rows: ReadonlyArray<StateRow<I>>
): Array<string> => {
  const wrong: Array<string> = []
  for (const row of rows) {
    const prefixSteps = feed(command, started(command, args).state, row.prefix)
    if (prefixSteps.some((s) => s._tag === "Unexpected")) wrong.push(`${row.name}: its prefix`)
    for (const message of EVERY_KIND) {
      const { state } = started(command, args)
      feed(command, state, row.prefix)
      const isUnexpected = command.onMessage(state, message)._tag === "Unexpected"
      if (isUnexpected === row.allowed.includes(message._tag)) {
        wrong.push(`${row.name}: ${message._tag} ${isUnexpected ? "refused" : "accepted"}`)
      }
    }
  }
  return wrong
}

/** A RowDescription of one text column. */
export const rowDescription: BackendMessage = { _tag: "RowDescription", fields: [field("a")] }

/** The kinds that may come between statements (an answer starting), ReadyForQuery aside. */
export const BETWEEN_STATEMENTS: ReadonlyArray<Tag> = [
  "RowDescription",
  "CommandComplete",
  "EmptyQueryResponse",
  "CopyInResponse",
  "CopyOutResponse",
  "ErrorResponse"
]

/**
 * The states both COPY commands have before any COPY of theirs: before any answer (ReadyForQuery
 * would answer nothing), after a statement's CommandComplete, in a row set, after an error.
 */
export const exchangeStates = <I>(): ReadonlyArray<StateRow<I>> => [
  { name: "before any answer", prefix: [], allowed: BETWEEN_STATEMENTS },
  {
    name: "after a statement's CommandComplete",
    prefix: [commandComplete("SELECT 1")],
    allowed: [...BETWEEN_STATEMENTS, "ReadyForQuery"]
  },
  {
    name: "in a row set",
    prefix: [rowDescription],
    allowed: ["DataRow", "CommandComplete", "ErrorResponse"]
  },
  { name: "after an error", prefix: [error()], allowed: ["ReadyForQuery"] }
]

/** Answers to a statement that is no COPY at all, up to its ReadyForQuery. */
export const notCopyAnswers: ReadonlyArray<{
  readonly name: string
  readonly messages: ReadonlyArray<BackendMessage>
}> = [
  { name: "a SELECT", messages: [rowDescription, dataRow("1"), commandComplete("SELECT 1"), ready()] },
  { name: "an INSERT", messages: [commandComplete("INSERT 0 1"), ready()] },
  { name: "an empty query", messages: [{ _tag: "EmptyQueryResponse" }, ready()] }
]
