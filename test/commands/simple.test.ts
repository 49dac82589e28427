/**
 * Transcript tests of the simple-query command (src/commands/simple.ts): several statements,
 * rows collected, the first error with the results completed before it, COPY FROM STDIN answered
 * with CopyFail (the server's error is the outcome), COPY TO STDOUT drained with a warning, the
 * DataRow fast path, and every backend message kind at every state.
 */
import { describe, expect, it } from "vitest"
import {
  SIMPLE_COPY_IN_REFUSED,
  SIMPLE_COPY_OUT_DISCARDED,
  type SimpleState,
  simpleQuery
} from "../../src/commands/simple.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { encodeCopyFail, encodeQuery } from "../../src/protocol/Frontend.ts"
import { commandComplete, dataRow, error, field, ready, samples } from "./samples.ts"
import { BETWEEN_STATEMENTS } from "./support.ts"

const frames = encodeQuery("select 1; select 2") as Uint8Array
const started = () => simpleQuery.start({ frames }).state
const feed = (state: SimpleState, messages: ReadonlyArray<BackendMessage>) =>
  messages.map((m) => simpleQuery.onMessage(state, m))
const rowDescription: BackendMessage = { _tag: "RowDescription", fields: [field("n")] }
/** The fields of samples.ts's `error(code)`. */
const errorFields = (code: string) => {
  const message = error(code)
  if (message._tag !== "ErrorResponse") throw new Error("not an ErrorResponse")
  return message.fields
}

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

  it("the first error is the outcome, with the results completed before it; their tags stay", () => {
    const state = started()
    const steps = feed(state, [
      rowDescription,
      dataRow("1"),
      commandComplete("SELECT 1"),
      commandComplete("COMMIT"),
      error("22012"),
      ready()
    ])
    expect(steps[5]).toEqual({
      _tag: "Fail",
      failure: {
        _tag: "ServerError",
        fields: errorFields("22012"),
        completed: [
          { columns: [field("n")], rows: [["1"]], command: { tag: "SELECT 1", command: "SELECT", rows: 1 } },
          { columns: [], rows: [], command: { tag: "COMMIT", command: "COMMIT", rows: undefined } }
        ]
      }
    })
    expect(simpleQuery.tags(state)).toEqual(["SELECT 1", "COMMIT"])
  })

  it("an error as the first statement carries no completed results", () => {
    const steps = feed(started(), [error("42601"), ready()])
    expect(steps[1]).toEqual({ _tag: "Fail", failure: { _tag: "ServerError", fields: errorFields("42601") } })
  })

  it("COPY FROM STDIN: CopyFail; the server's error (57014) is the outcome, with what completed", () => {
    const steps = feed(started(), [
      commandComplete("INSERT 0 1"),
      { _tag: "CopyInResponse", format: 0, columnFormats: [0] },
      error("57014"),
      ready()
    ])
    expect(steps[1]).toEqual({ _tag: "Send", frames: encodeCopyFail(SIMPLE_COPY_IN_REFUSED) })
    expect(SIMPLE_COPY_IN_REFUSED).toBe("COPY FROM STDIN is not supported by simpleQuery; use copyIn")
    expect(steps[3]).toEqual({
      _tag: "Fail",
      failure: {
        _tag: "ServerError",
        fields: errorFields("57014"),
        completed: [
          { columns: [], rows: [], command: { tag: "INSERT 0 1", command: "INSERT", rows: 1, oid: 0 } }
        ]
      }
    })
  })

  it("COPY TO STDOUT is drained: its result, a warning, and the next statements run", () => {
    const steps = feed(started(), [
      { _tag: "CopyOutResponse", format: 0, columnFormats: [0] },
      { _tag: "CopyData", data: new Uint8Array([0x31]) },
      { _tag: "CopyDone" },
      commandComplete("COPY 1"),
      rowDescription,
      dataRow("2"),
      commandComplete("SELECT 1"),
      ready()
    ])
    expect(steps.slice(0, 7).every((s) => s._tag === "Continue")).toBe(true)
    expect(SIMPLE_COPY_OUT_DISCARDED).toBe("COPY TO STDOUT output discarded; use copyOut")
    expect(steps[7]).toEqual({
      _tag: "Done",
      value: {
        results: [
          { columns: [], rows: [], command: { tag: "COPY 1", command: "COPY", rows: 1 } },
          { columns: [field("n")], rows: [["2"]], command: { tag: "SELECT 1", command: "SELECT", rows: 1 } }
        ],
        warnings: [{ statement: 0, message: SIMPLE_COPY_OUT_DISCARDED }]
      }
    })
  })

  it("an error in the middle of a COPY TO STDOUT: the error, with what completed before", () => {
    const steps = feed(started(), [
      commandComplete("SET"),
      { _tag: "CopyOutResponse", format: 0, columnFormats: [0] },
      { _tag: "CopyData", data: new Uint8Array([0x31]) },
      error("57014"),
      ready()
    ])
    expect(steps[4]).toMatchObject({
      _tag: "Fail",
      failure: { fields: { code: "57014" }, completed: [{ command: { tag: "SET" } }] }
    })
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

const BETWEEN: ReadonlyArray<string> = BETWEEN_STATEMENTS

const states: ReadonlyArray<{
  readonly name: string
  readonly prefix: ReadonlyArray<BackendMessage>
  readonly accepts: ReadonlyArray<string>
}> = [
  {
    name: "between statements",
    prefix: [],
    accepts: BETWEEN
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
    accepts: ["CopyData", "CopyDone", "ErrorResponse"]
  },
  {
    name: "copy-out, after CopyDone",
    prefix: [{ _tag: "CopyOutResponse", format: 0, columnFormats: [0] }, { _tag: "CopyDone" }],
    accepts: ["CommandComplete", "ErrorResponse"]
  },
  {
    name: "after a drained COPY TO STDOUT",
    prefix: [
      { _tag: "CopyOutResponse", format: 0, columnFormats: [0] },
      { _tag: "CopyDone" },
      commandComplete("COPY 0")
    ],
    accepts: BETWEEN
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
