/**
 * Transcript tests of the copy-in command (src/commands/copyIn.ts), no I/O: messages and the
 * caller's inputs in, steps and frames out, the frames compared with the protocol's encoders.
 * The happy path (payloads sent without a copy, cut when over the frame limit), server errors,
 * abort before and after CopyInResponse, statements that are not a COPY FROM STDIN, every
 * backend message kind at every state, and inputs after the end (ignored by the command, not
 * even handed to it by CommandRun once it ended).
 */
import { describe, expect, it } from "vitest"
import { type CopyInInput, type CopyInState, copyDataFrames, copyIn } from "../../src/commands/copyIn.ts"
import type { PgExpertError } from "../../src/Errors.ts"
import type { RequestContext } from "../../src/engine/Engine.ts"
import { CommandRun } from "../../src/engine/run.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { COPY_DONE, encodeCopyData, encodeCopyFail, encodeQuery } from "../../src/protocol/Frontend.ts"
import { parseCommandTag } from "../../src/Result.ts"
import * as T from "../copy/transcript.ts"
import { commandComplete, error, ready } from "./samples.ts"

const SQL = "COPY t (a, b) FROM STDIN"
const { start, run } = T.transcript(copyIn, { sql: SQL })
const copyInResponse = T.sample("CopyInResponse")
const copyOutResponse = T.sample("CopyOutResponse")
const data = (s: string): T.Feed<CopyInInput> => ({ input: { _tag: "Data", data: T.bytes(s) } })
const DONE: T.Feed<CopyInInput> = { input: { _tag: "Done" } }
const abort = (reason: string): T.Feed<CopyInInput> => ({ input: { _tag: "Abort", reason } })
const NOT_COPY = {
  _tag: "Fail",
  failure: { _tag: "Protocol", reason: "NotCopy", message: "copyIn expects a COPY ... FROM STDIN statement" }
}
const COPY_REFUSED = encodeCopyFail("COPY aborted by the client") as Uint8Array

describe("copy-in: transcripts", () => {
  it("Query, CopyInResponse (a Result), data without a copy, CopyDone, the COPY's tag", () => {
    const s = start()
    expect(s.frames).toEqual(encodeQuery(SQL))
    expect(s.exclusive).toBe(true)
    const payload = T.bytes("1\tx\n2\ty\n")
    const steps = T.feed(copyIn, s.state, [
      copyInResponse,
      { input: { _tag: "Data", data: payload } },
      data(""),
      DONE,
      commandComplete("COPY 2"),
      ready()
    ])
    expect(T.stepTags(steps)).toEqual(["Result", "Send", "Continue", "Send", "Continue", "Done"])
    expect(steps[0]).toEqual({ _tag: "Result", result: copyInResponse })
    const sent = steps[1] as { frames: ReadonlyArray<Uint8Array> }
    expect(sent.frames).toHaveLength(2)
    expect(sent.frames[1]).toBe(payload)
    expect(T.joined(sent.frames)).toEqual(encodeCopyData(payload))
    expect(steps[3]).toEqual({ _tag: "Send", frames: COPY_DONE })
    expect(steps[5]).toEqual({ _tag: "Done", value: parseCommandTag("COPY 2") })
    expect(copyIn.tags(s.state)).toEqual(["COPY 2"])
  })

  it("a payload over the frame limit goes out as several CopyData, views of the payload", () => {
    const payload = T.bytes("abcdefg")
    const frames = copyDataFrames(payload, 3)
    expect(frames.filter((_, i) => i % 2 === 1).map((f) => new TextDecoder().decode(f))).toEqual([
      "abc",
      "def",
      "g"
    ])
    expect(frames[1]!.buffer).toBe(payload.buffer)
    expect(T.joined(frames)).toEqual(
      T.joined([T.bytes("abc"), T.bytes("def"), T.bytes("g")].map((p) => encodeCopyData(p) as Uint8Array))
    )
    expect(copyDataFrames(payload)[1]).toBe(payload)
  })

  it("SQL that cannot be encoded is refused at start: nothing is sent", () => {
    expect(copyIn.start({ sql: "COPY t FROM STDIN\0" })).toMatchObject({
      _tag: "Protocol",
      mayHaveRun: false
    })
  })

  it("a server error in copy-in mode (a bad row) is the outcome; later data is not sent", () => {
    const { steps } = run([copyInResponse, data("x\n"), error("22P02"), data("y\n"), DONE, ready()])
    expect(T.stepTags(steps)).toEqual(["Result", "Send", "Continue", "Continue", "Continue", "Fail"])
    expect(steps[5]).toMatchObject({ failure: { _tag: "ServerError", fields: { code: "22P02" } } })
  })

  it("the COPY itself fails (no such table): its error, never a copy-in", () => {
    const { steps } = run([error("42P01"), ready()])
    expect(steps[1]).toMatchObject({ _tag: "Fail", failure: { fields: { code: "42P01" } } })
  })

  it("abort after CopyInResponse: CopyFail with the reason, then the server's 57014", () => {
    const { steps } = run([copyInResponse, abort("source failed"), data("x"), error("57014"), ready()])
    expect(steps[1]).toEqual({ _tag: "Send", frames: encodeCopyFail("source failed") })
    expect(T.stepTags(steps.slice(2))).toEqual(["Continue", "Continue", "Fail"])
    expect(steps[4]).toMatchObject({ failure: { fields: { code: "57014" } } })
  })

  it("an abort reason loses its NULs and is cut to 1000 characters", () => {
    const { steps } = run([copyInResponse, abort(`a\0b${"x".repeat(2000)}`)])
    expect(steps[1]).toEqual({ _tag: "Send", frames: encodeCopyFail(`a b${"x".repeat(997)}`) })
  })

  it("abort before CopyInResponse: kept, its CopyFail sent when the server asks for data", () => {
    const { steps } = run([
      abort("gone early"),
      abort("second reason"),
      data("x"),
      DONE,
      copyInResponse,
      data("y"),
      error("57014"),
      ready()
    ])
    expect(T.stepTags(steps.slice(0, 4))).toEqual(["Continue", "Continue", "Continue", "Continue"])
    expect(steps[4]).toEqual({ _tag: "Send", frames: encodeCopyFail("gone early") })
    expect(steps[5]).toEqual({ _tag: "Continue" })
    expect(steps[7]).toMatchObject({ _tag: "Fail", failure: { fields: { code: "57014" } } })
  })
})

describe("copy-in: statements that are not a COPY FROM STDIN", () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly messages: ReadonlyArray<BackendMessage> }> = [
    ...T.notCopyAnswers,
    {
      name: "a COPY TO STDOUT (its data drained)",
      messages: [
        copyOutResponse,
        T.sample("CopyData"),
        { _tag: "CopyDone" },
        commandComplete("COPY 1"),
        ready()
      ]
    }
  ]
  for (const c of cases) {
    it(`${c.name}: NotCopy, every step before it Continue`, () =>
      expect(T.ending(run(c.messages).steps)).toEqual({ before: ["Continue"], last: NOT_COPY }))
  }

  it("a statement before the COPY: its copy-in mode refused with CopyFail, never a Result", () => {
    const { state, steps } = run([
      commandComplete("SELECT 1"),
      copyInResponse,
      data("x"),
      error("57014"),
      ready()
    ])
    expect(steps[1]).toEqual({ _tag: "Send", frames: COPY_REFUSED })
    expect(T.stepTags(steps)).toEqual(["Continue", "Send", "Continue", "Continue", "Fail"])
    expect(steps[4]).toEqual(NOT_COPY)
    expect(state.refusing).toBe(true)
  })

  it("a second COPY after ours: refused; a CommandComplete for it is unexpected", () => {
    const { steps } = run([
      copyInResponse,
      DONE,
      commandComplete("COPY 0"),
      copyInResponse,
      commandComplete("COPY 0")
    ])
    expect(steps[3]).toEqual({ _tag: "Send", frames: COPY_REFUSED })
    expect(steps[4]).toEqual(
      T.unexpectedCopy("unexpected CommandComplete (in copy-in mode, before CopyDone was sent) during COPY")
    )
  })

  it("a ReadyForQuery that answers nothing, or leaves copy-in mode unfinished, is unexpected", () => {
    expect(run([ready()]).steps[0]).toEqual(
      T.unexpectedCopy("unexpected ReadyForQuery before any CommandComplete or ErrorResponse during COPY")
    )
    expect(run([copyInResponse, DONE, ready()]).steps[2]).toEqual(
      T.unexpectedCopy(
        "unexpected ReadyForQuery (in copy-in mode, before its CommandComplete or ErrorResponse) during COPY"
      )
    )
  })
})

const states: ReadonlyArray<T.StateRow<CopyInInput>> = [
  ...T.exchangeStates<CopyInInput>(),
  { name: "copy-in, sending", prefix: [copyInResponse, data("x")], allowed: ["ErrorResponse"] },
  {
    name: "copy-in, after CopyDone",
    prefix: [copyInResponse, DONE],
    allowed: ["CommandComplete", "ErrorResponse"]
  },
  { name: "copy-in, after CopyFail", prefix: [copyInResponse, abort("no")], allowed: ["ErrorResponse"] },
  {
    name: "copy-in, refused",
    prefix: [commandComplete("SELECT 1"), copyInResponse],
    allowed: ["ErrorResponse"]
  },
  {
    name: "copy-out, drained",
    prefix: [copyOutResponse],
    allowed: ["CopyData", "CopyDone", "ErrorResponse"]
  },
  {
    name: "copy-out, after CopyDone",
    prefix: [copyOutResponse, { _tag: "CopyDone" }],
    allowed: ["CommandComplete", "ErrorResponse"]
  },
  {
    name: "after the COPY completed",
    prefix: [copyInResponse, DONE, commandComplete("COPY 0")],
    allowed: [...T.BETWEEN_STATEMENTS, "ReadyForQuery"]
  }
]

describe("copy-in: every message kind at every state", () => {
  it("the samples cover every kind", () => {
    expect(T.missingKinds()).toEqual([])
  })

  it("a kind out of place is Unexpected; one in place is not", () => {
    expect(T.tableMismatches(copyIn, { sql: SQL }, states)).toEqual([])
  })
})

describe("copy-in: inputs after the end", () => {
  const ended: ReadonlyArray<{ readonly name: string; readonly prefix: ReadonlyArray<T.Feed<CopyInInput>> }> =
    [
      { name: "after CopyDone", prefix: [copyInResponse, DONE] },
      { name: "after CopyFail", prefix: [copyInResponse, abort("no")] },
      { name: "after the server's error", prefix: [copyInResponse, error()] },
      { name: "after the COPY completed", prefix: [copyInResponse, DONE, commandComplete("COPY 0")] },
      { name: "after ReadyForQuery", prefix: [copyInResponse, DONE, commandComplete("COPY 0"), ready()] },
      { name: "after a statement that is not a COPY", prefix: [commandComplete("SELECT 1"), ready()] }
    ]
  for (const e of ended) {
    it(`${e.name}: data, done and abort are ignored (Continue, nothing sent)`, () => {
      const { state } = start()
      T.feed(copyIn, state, e.prefix)
      const steps = T.feed(copyIn, state, [data("late"), DONE, abort("late")])
      expect(T.stepTags(steps)).toEqual(["Continue", "Continue", "Continue"])
    })
  }

  it("CommandRun does not even hand the command an input once the run ended", () => {
    const sent: Array<Uint8Array> = []
    const failed: Array<PgExpertError> = []
    const context: RequestContext = { send: (f) => sent.push(f), fail: (e) => failed.push(e) }
    const outcomes: Array<unknown> = []
    const s = start()
    const inputs: Array<CopyInInput> = []
    const spy = {
      ...copyIn,
      onInput: (state: CopyInState, input: CopyInInput) => {
        inputs.push(input)
        return copyIn.onInput(state, input)
      }
    }
    const r = new CommandRun(spy, s, { onDone: (o) => outcomes.push(o) })
    r.onMessage(copyInResponse, context)
    r.input({ _tag: "Done" }, context)
    r.onMessage(commandComplete("COPY 0"), context)
    expect(r.onReadyForQuery(ready(), context)).toBe(true)
    r.onReady()
    r.input({ _tag: "Data", data: T.bytes("late") }, context)
    r.input({ _tag: "Abort", reason: "late" }, context)
    expect(inputs).toEqual([{ _tag: "Done" }])
    expect(sent).toEqual([COPY_DONE])
    expect(failed).toEqual([])
    expect(outcomes).toEqual([parseCommandTag("COPY 0")])
  })
})
