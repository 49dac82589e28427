/**
 * Transcript tests of the simple-query command (src/commands/simple.ts): several statements,
 * rows collected, the first error, refused COPY both ways, the DataRow fast path, and every
 * backend message kind at every state.
 */
import { describe, expect, it } from "vitest"
import { type SimpleState, simpleQuery } from "../../src/commands/simple.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { encodeCopyFail, encodeQuery } from "../../src/protocol/Frontend.ts"
import { commandComplete, dataRow, error, field, ready, samples } from "./samples.ts"

const frames = encodeQuery("select 1; select 2") as Uint8Array
const started = () => simpleQuery.start({ frames }).state
const feed = (state: SimpleState, messages: ReadonlyArray<BackendMessage>) =>
  messages.map((m) => simpleQuery.onMessage(state, m))
const rowDescription: BackendMessage = { _tag: "RowDescription", fields: [field("n")] }

describe("simple query: transcripts", () => {
  it("two statements, rows collected per statement; frames are the Query", () => {
    const start = simpleQuery.start({ frames })
    expect(start.frames).toBe(frames)
    const steps = feed(start.state, [
      rowDescription,
      dataRow("1"),
      commandComplete("SELECT 1"),
      commandComplete("CREATE TABLE"),
      { _tag: "EmptyQueryResponse" },
      ready()
    ])
    const last = steps[steps.length - 1] as {
      _tag: string
      value: { results: ReadonlyArray<{ rows: unknown; command?: { tag: string } }> }
    }
    expect(last._tag).toBe("Done")
    expect(last.value.results.map((r) => r.command?.tag)).toEqual(["SELECT 1", "CREATE TABLE", undefined])
    expect(last.value.results[0]!.rows).toEqual([["1"]])
    expect(simpleQuery.tags(start.state)).toEqual(["SELECT 1", "CREATE TABLE"])
  })

  it("the first error is the outcome; what ran before it keeps its tags", () => {
    const state = started()
    const steps = feed(state, [commandComplete("COMMIT"), error("22012"), ready()])
    expect(steps[2]).toMatchObject({ _tag: "Fail", failure: { fields: { code: "22012" } } })
    expect(simpleQuery.tags(state)).toEqual(["COMMIT"])
  })

  it("COPY FROM STDIN: CopyFail, then the server's error, then ReadyForQuery", () => {
    const steps = feed(started(), [
      { _tag: "CopyInResponse", format: 0, columnFormats: [0] },
      error("57014"),
      ready()
    ])
    expect(steps[0]).toEqual({
      _tag: "Send",
      frames: encodeCopyFail("COPY FROM STDIN is not supported by this operation")
    })
    expect(steps[2]).toMatchObject({
      _tag: "Fail",
      failure: { reason: "CopyNotSupported", mayHaveRun: false }
    })
  })

  it("COPY TO STDOUT is drained; later statements still run; the outcome says it was refused", () => {
    const steps = feed(started(), [
      { _tag: "CopyOutResponse", format: 0, columnFormats: [0] },
      { _tag: "CopyData", data: new Uint8Array([0x31]) },
      { _tag: "CopyDone" },
      commandComplete("COPY 1"),
      commandComplete("SELECT 1"),
      ready()
    ])
    expect(steps.slice(0, 5).every((s) => s._tag === "Continue")).toBe(true)
    expect(steps[5]).toMatchObject({ _tag: "Fail", failure: { reason: "CopyNotSupported" } })
  })

  it("a DataRow of the wrong width, or a malformed body, is unexpected", () => {
    const state = started()
    feed(state, [rowDescription])
    expect(simpleQuery.onMessage(state, dataRow("1", "2"))._tag).toBe("Unexpected")
    expect(simpleQuery.onDataRow(state, new Uint8Array([0, 1, 0, 0, 0, 9]))._tag).toBe("Unexpected")
    expect(simpleQuery.onDataRow(state, new Uint8Array([0, 1, 0, 0, 0, 1, 0x37]))).toEqual({
      _tag: "Continue"
    })
    expect(state.rows).toEqual([["7"]])
  })
})

const states: ReadonlyArray<{
  readonly name: string
  readonly prefix: ReadonlyArray<BackendMessage>
  readonly accepts: ReadonlyArray<string>
}> = [
  {
    name: "between statements",
    prefix: [],
    accepts: [
      "RowDescription",
      "CommandComplete",
      "EmptyQueryResponse",
      "ErrorResponse",
      "CopyInResponse",
      "CopyOutResponse",
      "ReadyForQuery"
    ]
  },
  { name: "rows", prefix: [rowDescription], accepts: ["DataRow", "CommandComplete", "ErrorResponse"] },
  { name: "failed", prefix: [error()], accepts: ["ReadyForQuery"] },
  {
    name: "copy-in",
    prefix: [{ _tag: "CopyInResponse", format: 0, columnFormats: [0] }],
    accepts: ["ErrorResponse"]
  },
  {
    name: "copy-out",
    prefix: [{ _tag: "CopyOutResponse", format: 0, columnFormats: [0] }],
    accepts: ["CopyData", "CopyDone", "CommandComplete", "ErrorResponse"]
  }
]

describe("simple query: every message kind at every state", () => {
  for (const s of states) {
    it(s.name, () => {
      for (const message of samples) {
        const state = started()
        feed(state, s.prefix)
        const step = simpleQuery.onMessage(state, message)
        expect({ tag: message._tag, unexpected: step._tag === "Unexpected" }).toEqual({
          tag: message._tag,
          unexpected: !s.accepts.includes(message._tag)
        })
      }
    })
  }
})
