/**
 * Transcript tests of the copy-out command (src/commands/copyOut.ts), no I/O: messages in, steps
 * and frames out. The happy path (each CopyData a `Result` carrying the frame's own bytes), server
 * errors before and during the data, statements that are not a COPY TO STDOUT (a COPY FROM STDIN
 * refused with CopyFail), every backend message kind at every state, and that the command takes
 * no input (CommandRun drops what a caller feeds it).
 */
import { describe, expect, it } from "vitest"
import { copyOut } from "../../src/commands/copyOut.ts"
import type { RequestContext } from "../../src/engine/Engine.ts"
import { CommandRun } from "../../src/engine/run.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { encodeCopyFail, encodeQuery } from "../../src/protocol/Frontend.ts"
import { parseCommandTag } from "../../src/Result.ts"
import * as T from "../copy/transcript.ts"
import { commandComplete, error, ready } from "./samples.ts"

const SQL = "COPY t TO STDOUT"
const { start, run } = T.transcript(copyOut, { sql: SQL })
const copyOutResponse = T.sample("CopyOutResponse")
const copyInResponse = T.sample("CopyInResponse")
const copyData = (s: string): BackendMessage => ({ _tag: "CopyData", data: T.bytes(s) })
const COPY_DONE: BackendMessage = { _tag: "CopyDone" }
const NOT_COPY = {
  _tag: "Fail",
  failure: { _tag: "Protocol", reason: "NotCopy", message: "copyOut expects a COPY ... TO STDOUT statement" }
}

describe("copy-out: transcripts", () => {
  it("Query, CopyOutResponse, each CopyData a Result of its own T.bytes, CopyDone, the COPY's tag", () => {
    const s = start()
    expect(s.frames).toEqual(encodeQuery(SQL))
    expect(s.exclusive).toBe(true)
    const first = copyData("1\tx\n")
    const steps = T.feed(copyOut, s.state, [
      copyOutResponse,
      first,
      copyData("2\ty\n"),
      COPY_DONE,
      commandComplete("COPY 2"),
      ready()
    ])
    expect(T.stepTags(steps)).toEqual(["Continue", "Result", "Result", "Continue", "Continue", "Done"])
    expect((steps[1] as { result: Uint8Array }).result).toBe((first as { data: Uint8Array }).data)
    expect(steps[2]).toEqual({ _tag: "Result", result: T.bytes("2\ty\n") })
    expect(steps[5]).toEqual({ _tag: "Done", value: parseCommandTag("COPY 2") })
    expect(copyOut.tags(s.state)).toEqual(["COPY 2"])
  })

  it("an empty result: no Result at all, COPY 0", () => {
    const { steps } = run([copyOutResponse, COPY_DONE, commandComplete("COPY 0"), ready()])
    expect(T.stepTags(steps)).toEqual(["Continue", "Continue", "Continue", "Done"])
  })

  it("SQL that cannot be encoded is refused at start: nothing is sent", () => {
    expect(copyOut.start({ sql: "COPY t TO STDOUT\0" })).toMatchObject({
      _tag: "Protocol",
      mayHaveRun: false
    })
  })

  it("an error midway: the data before it was handed out, the error is the outcome", () => {
    const { steps } = run([copyOutResponse, copyData("1\n"), error("22012"), ready()])
    expect(T.stepTags(steps)).toEqual(["Continue", "Result", "Continue", "Fail"])
    expect(steps[3]).toMatchObject({ failure: { _tag: "ServerError", fields: { code: "22012" } } })
  })

  it("the COPY itself fails (no such table): its error", () => {
    expect(run([error("42P01"), ready()]).steps[1]).toMatchObject({
      _tag: "Fail",
      failure: { fields: { code: "42P01" } }
    })
  })
})

describe("copy-out: statements that are not a COPY TO STDOUT", () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly messages: ReadonlyArray<BackendMessage> }> = [
    ...T.notCopyAnswers,
    {
      name: "a statement before the COPY (the COPY's data drained)",
      messages: [
        commandComplete("SELECT 1"),
        copyOutResponse,
        copyData("1\n"),
        COPY_DONE,
        commandComplete("COPY 1"),
        ready()
      ]
    },
    {
      name: "a second COPY TO STDOUT (its data drained)",
      messages: [
        copyOutResponse,
        COPY_DONE,
        commandComplete("COPY 0"),
        copyOutResponse,
        copyData("1\n"),
        COPY_DONE,
        commandComplete("COPY 1"),
        ready()
      ]
    }
  ]
  for (const c of cases) {
    it(`${c.name}: NotCopy, every step before it Continue`, () =>
      expect(T.ending(run(c.messages).steps)).toEqual({ before: ["Continue"], last: NOT_COPY }))
  }

  it("a COPY FROM STDIN: refused with CopyFail, then the server's error, NotCopy", () => {
    const { steps } = run([copyInResponse, error("57014"), ready()])
    expect(steps[0]).toEqual({ _tag: "Send", frames: encodeCopyFail("COPY aborted by the client") })
    expect(steps[2]).toEqual(NOT_COPY)
  })

  it("a CommandComplete for the refused copy-in is unexpected", () => {
    expect(run([copyInResponse, commandComplete("COPY 0")]).steps[1]).toEqual(
      T.unexpectedCopy("unexpected CommandComplete (in copy-in mode, after CopyFail) during COPY")
    )
  })

  it("a ReadyForQuery that answers nothing, or leaves the data unfinished, is unexpected", () => {
    expect(run([ready()]).steps[0]).toEqual(
      T.unexpectedCopy("unexpected ReadyForQuery before any CommandComplete or ErrorResponse during COPY")
    )
    expect(run([copyOutResponse, copyData("1\n"), ready()]).steps[2]).toEqual(
      T.unexpectedCopy("unexpected ReadyForQuery (in copy-out mode, before its CopyDone) during COPY")
    )
  })
})

const states: ReadonlyArray<T.StateRow<never>> = [
  ...T.exchangeStates<never>(),
  { name: "copy-out", prefix: [copyOutResponse], allowed: ["CopyData", "CopyDone", "ErrorResponse"] },
  {
    name: "copy-out, with data",
    prefix: [copyOutResponse, copyData("1\n")],
    allowed: ["CopyData", "CopyDone", "ErrorResponse"]
  },
  {
    name: "after CopyDone",
    prefix: [copyOutResponse, COPY_DONE],
    allowed: ["CommandComplete", "ErrorResponse"]
  },
  { name: "copy-in, refused", prefix: [copyInResponse], allowed: ["ErrorResponse"] },
  {
    name: "after the COPY completed",
    prefix: [copyOutResponse, COPY_DONE, commandComplete("COPY 0")],
    allowed: [...T.BETWEEN_STATEMENTS, "ReadyForQuery"]
  }
]

describe("copy-out: every message kind at every state", () => {
  it("a kind out of place is Unexpected; one in place is not", () => {
    expect(T.tableMismatches(copyOut, { sql: SQL }, states)).toEqual([])
  })
})

describe("copy-out: inputs", () => {
  it("the command takes none; CommandRun drops what a caller feeds it", () => {
    expect("onInput" in copyOut).toBe(false)
    const sent: Array<Uint8Array> = []
    const context: RequestContext = { send: (f) => sent.push(f), fail: () => {} }
    const r = new CommandRun(copyOut, start(), { onDone: () => {} })
    r.onMessage(copyOutResponse, context)
    r.input(undefined as never, context)
    expect(sent).toEqual([])
  })
})
