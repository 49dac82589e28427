/**
 * Transcript tests of the extended-query command (src/commands/extended.ts): messages in, steps
 * and frames out, no I/O. The happy paths (described, cached, no rows, empty query, an error at
 * each point, a deferred error after CommandComplete, refused COPY both ways), PortalSuspended
 * refused, the DataRow fast path against the decoded form, queryExpectNoData's mode (columns fine,
 * rows and COPY refused after the statement ran), and every backend message kind at every state.
 */
import { describe, expect, it } from "vitest"
import type { Step } from "../../src/commands/Command.ts"
import { type ExtendedArgs, type ExtendedState, extendedQuery } from "../../src/commands/extended.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { encodeCopyFail, SYNC } from "../../src/protocol/Frontend.ts"
import { commandComplete, dataRow, error, field, ready, samples } from "./samples.ts"

const FRAMES = new Uint8Array([0x53, 0, 0, 0, 4])
const args = (over: Partial<ExtendedArgs> = {}): ExtendedArgs => ({ frames: FRAMES, parse: true, ...over })

const feed = (state: ExtendedState, messages: ReadonlyArray<BackendMessage>) =>
  messages.map((m) => extendedQuery.onMessage(state, m))

const started = (over?: Partial<ExtendedArgs>) => extendedQuery.start(args(over)).state

const tagsOf = (steps: ReadonlyArray<Step<unknown, unknown>>) => steps.map((s) => s._tag)

const rowDescription = (...names: ReadonlyArray<string>): BackendMessage => ({
  _tag: "RowDescription",
  fields: names.map((n) => field(n))
})

describe("extended query: transcripts", () => {
  it("first use: Parse, describe, rows, CommandComplete, ReadyForQuery", () => {
    const state = started({ closes: 1 })
    const steps = feed(state, [
      { _tag: "CloseComplete" },
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      rowDescription("a", "b"),
      dataRow("1", null),
      dataRow("2", "x"),
      commandComplete("SELECT 2"),
      ready()
    ])
    expect(tagsOf(steps)).toEqual([
      "Continue",
      "Continue",
      "Continue",
      "Result",
      "Row",
      "Row",
      "Continue",
      "Done"
    ])
    expect(steps[4]).toEqual({ _tag: "Row", row: ["1", null] })
    const done = steps[7] as { value: { command: { tag: string; rows: number } } }
    expect(done.value.command.tag).toBe("SELECT 2")
    expect(done.value.command.rows).toBe(2)
    expect(state.parsed).toBe(true)
    expect(extendedQuery.tags(state)).toEqual(["SELECT 2"])
  })

  it("a cached statement: its columns at BindComplete, no ParseComplete expected", () => {
    const preset = [field("n", 23)]
    const state = started({ parse: false, preset })
    const steps = feed(state, [{ _tag: "BindComplete" }, dataRow("7"), commandComplete("SELECT 1"), ready()])
    expect(steps[0]).toEqual({ _tag: "Result", result: preset })
    expect(tagsOf(steps)).toEqual(["Result", "Row", "Continue", "Done"])
  })

  it("no rows (NoData) and the empty query", () => {
    const a = feed(started(), [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      { _tag: "NoData" },
      commandComplete("INSERT 0 1"),
      ready("T")
    ])
    expect(tagsOf(a)).toEqual(["Continue", "Continue", "Result", "Continue", "Done"])
    const b = feed(started(), [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      { _tag: "NoData" },
      { _tag: "EmptyQueryResponse" },
      ready()
    ])
    expect((b[4] as { value: { command: { command: string } } }).value.command.command).toBe("")
  })

  it("an error at any point ends the command with that error at ReadyForQuery", () => {
    const prefixes: ReadonlyArray<ReadonlyArray<BackendMessage>> = [
      [],
      [{ _tag: "ParseComplete" }],
      [{ _tag: "ParseComplete" }, { _tag: "BindComplete" }],
      [{ _tag: "ParseComplete" }, { _tag: "BindComplete" }, rowDescription("a"), dataRow("1")],
      // A deferred constraint failing at the implicit COMMIT, after CommandComplete.
      [{ _tag: "ParseComplete" }, { _tag: "BindComplete" }, { _tag: "NoData" }, commandComplete("INSERT 0 1")]
    ]
    for (const prefix of prefixes) {
      const state = started()
      const steps = feed(state, [...prefix, error("23505"), ready()])
      const last = steps[steps.length - 1]!
      expect(last._tag).toBe("Fail")
      expect((last as { failure: { fields: { code: string } } }).failure.fields.code).toBe("23505")
    }
  })

  it("COPY FROM STDIN is refused with CopyFail + Sync and did not take effect", () => {
    const state = started()
    const steps = feed(state, [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      { _tag: "NoData" },
      { _tag: "CopyInResponse", format: 0, columnFormats: [0] },
      error("57014", "COPY from stdin failed"),
      ready()
    ])
    const sent = steps[3] as { _tag: string; frames: Uint8Array }
    expect(sent._tag).toBe("Send")
    const copyFail = encodeCopyFail("COPY FROM STDIN is not supported by this operation") as Uint8Array
    expect(Array.from(sent.frames)).toEqual([...copyFail, ...SYNC])
    expect(steps[5]).toEqual({
      _tag: "Fail",
      failure: {
        _tag: "Protocol",
        reason: "CopyNotSupported",
        message: "query: the statement attempted COPY IN (COPY FROM STDIN); use copyIn",
        mayHaveRun: false
      }
    })
  })

  it("COPY TO STDOUT is drained and reported as refused (it ran)", () => {
    const steps = feed(started(), [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      { _tag: "NoData" },
      { _tag: "CopyOutResponse", format: 0, columnFormats: [0] },
      { _tag: "CopyData", data: new Uint8Array([0x31, 0x0a]) },
      { _tag: "CopyDone" },
      commandComplete("COPY 1"),
      ready()
    ])
    expect(tagsOf(steps).slice(3)).toEqual(["Continue", "Continue", "Continue", "Continue", "Fail"])
    expect(steps[7]).toEqual({
      _tag: "Fail",
      failure: {
        _tag: "Protocol",
        reason: "CopyNotSupported",
        message: "query: the statement attempted COPY OUT (COPY TO STDOUT); use copyOut"
      }
    })
  })

  it("PortalSuspended is Unexpected: no row limit was asked, so taking it would truncate", () => {
    for (const prefix of [[rowDescription("n"), dataRow("1")], [{ _tag: "NoData" } as BackendMessage]]) {
      const steps = feed(started(), [
        { _tag: "ParseComplete" },
        { _tag: "BindComplete" },
        ...prefix,
        { _tag: "PortalSuspended" }
      ])
      expect(steps[steps.length - 1]).toEqual({
        _tag: "Unexpected",
        failure: {
          _tag: "Protocol",
          reason: "UnexpectedMessage",
          message: "unexpected PortalSuspended during a query (rows: Execute asked for no row limit)"
        }
      })
    }
  })

  it("the DataRow fast path answers as the decoded message does", () => {
    const body = (values: ReadonlyArray<string | null>) => {
      const parts: Array<number> = [0, values.length]
      for (const v of values) {
        if (v === null) parts.push(0xff, 0xff, 0xff, 0xff)
        else {
          const b = new TextEncoder().encode(v)
          parts.push(
            (b.length >>> 24) & 0xff,
            (b.length >>> 16) & 0xff,
            (b.length >>> 8) & 0xff,
            b.length & 0xff,
            ...b
          )
        }
      }
      return new Uint8Array(parts)
    }
    const state = started()
    feed(state, [{ _tag: "ParseComplete" }, { _tag: "BindComplete" }, rowDescription("a", "b")])
    const values = ["héllo wörld, a longer value", null]
    expect(extendedQuery.onDataRow(state, body(values))).toEqual(
      extendedQuery.onMessage(state, dataRow(...values))
    )
    expect(extendedQuery.onDataRow(state, body(["1"]))._tag).toBe("Unexpected")
    expect(extendedQuery.onDataRow(state, new Uint8Array([0, 1, 0, 0]))._tag).toBe("Unexpected")
  })
})

describe("extended query: queryExpectNoData (expectNoData)", () => {
  const refusedRows = {
    _tag: "Fail",
    failure: {
      _tag: "Protocol",
      reason: "UnexpectedRows",
      message: "queryExpectNoData: query unexpectedly produced rows",
      mayHaveRun: true
    }
  }

  it("columns without rows succeed (SELECT 1 WHERE FALSE, a select on an empty table)", () => {
    const steps = feed(started({ expectNoData: true }), [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      rowDescription("n"),
      commandComplete("SELECT 0"),
      ready()
    ])
    expect(steps[2]).toEqual({ _tag: "Result", result: [field("n")] })
    expect(steps[4]).toEqual({
      _tag: "Done",
      value: { columns: [field("n")], command: { tag: "SELECT 0", command: "SELECT", rows: 0 } }
    })
  })

  it("rows are drained, never delivered, and fail the statement after it ran", () => {
    const state = started({ expectNoData: true })
    const steps = feed(state, [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      rowDescription("n"),
      dataRow("1"),
      dataRow("2"),
      commandComplete("INSERT 0 2"),
      ready()
    ])
    expect(tagsOf(steps)).toEqual([
      "Continue",
      "Continue",
      "Result",
      "Continue",
      "Continue",
      "Continue",
      "Fail"
    ])
    expect(steps[6]).toEqual(refusedRows)
    // The fast path too: no Row step, and a malformed row is still a protocol error.
    const fast = started({ expectNoData: true })
    feed(fast, [{ _tag: "ParseComplete" }, { _tag: "BindComplete" }, rowDescription("n")])
    expect(extendedQuery.onDataRow(fast, new Uint8Array([0, 1, 0, 0, 0, 1, 0x37]))).toEqual({
      _tag: "Continue"
    })
    expect(extendedQuery.onDataRow(fast, new Uint8Array([0, 2, 0, 0, 0, 1, 0x37, 0, 0, 0, 0]))._tag).toBe(
      "Unexpected"
    )
    expect(fast.failure).toEqual(refusedRows.failure)
  })

  it("a server error after the rows replaces the refusal (it is what became of the statement)", () => {
    const steps = feed(started({ expectNoData: true }), [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      rowDescription("n"),
      dataRow("1"),
      error("22012", "division by zero"),
      ready()
    ])
    expect(steps[5]).toMatchObject({
      _tag: "Fail",
      failure: { _tag: "ServerError", fields: { code: "22012" } }
    })
  })

  it("a COPY is refused naming COPY IN or COPY OUT and queryExpectNoData", () => {
    const copyIn = feed(started({ expectNoData: true }), [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      { _tag: "NoData" },
      { _tag: "CopyInResponse", format: 0, columnFormats: [0] },
      error("57014"),
      ready()
    ])
    expect(copyIn[5]).toEqual({
      _tag: "Fail",
      failure: {
        _tag: "Protocol",
        reason: "CopyNotSupported",
        message: "queryExpectNoData: the statement attempted COPY IN (COPY FROM STDIN); use copyIn",
        mayHaveRun: false
      }
    })
    const copyOut = feed(started({ expectNoData: true }), [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      { _tag: "NoData" },
      { _tag: "CopyOutResponse", format: 0, columnFormats: [0] },
      { _tag: "CopyDone" },
      commandComplete("COPY 0"),
      ready()
    ])
    expect(copyOut[6]).toEqual({
      _tag: "Fail",
      failure: {
        _tag: "Protocol",
        reason: "CopyNotSupported",
        message: "queryExpectNoData: the statement attempted COPY OUT (COPY TO STDOUT); use copyOut"
      }
    })
  })
})

/** The states, each with the messages that lead there and the kinds it accepts. */
/** What may come once the statement's rows may start. */
const ROWS = [
  "DataRow",
  "CommandComplete",
  "EmptyQueryResponse",
  "ErrorResponse",
  "CopyInResponse",
  "CopyOutResponse"
]

const states: ReadonlyArray<{
  readonly name: string
  readonly args?: Partial<ExtendedArgs>
  readonly prefix: ReadonlyArray<BackendMessage>
  readonly accepts: ReadonlyArray<string>
}> = [
  { name: "closes", args: { closes: 1 }, prefix: [], accepts: ["CloseComplete", "ErrorResponse"] },
  { name: "parse", prefix: [], accepts: ["ParseComplete", "ErrorResponse"] },
  { name: "bind", prefix: [{ _tag: "ParseComplete" }], accepts: ["BindComplete", "ErrorResponse"] },
  {
    name: "describe",
    prefix: [{ _tag: "ParseComplete" }, { _tag: "BindComplete" }],
    accepts: ["RowDescription", "NoData", "ErrorResponse"]
  },
  {
    name: "rows",
    prefix: [{ _tag: "ParseComplete" }, { _tag: "BindComplete" }, rowDescription("n")],
    accepts: ROWS
  },
  {
    name: "rows after NoData",
    prefix: [{ _tag: "ParseComplete" }, { _tag: "BindComplete" }, { _tag: "NoData" }],
    accepts: ["CommandComplete", "EmptyQueryResponse", "ErrorResponse", "CopyInResponse", "CopyOutResponse"]
  },
  {
    name: "complete",
    prefix: [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      { _tag: "NoData" },
      commandComplete("INSERT 0 1")
    ],
    accepts: ["ErrorResponse", "ReadyForQuery"]
  },
  { name: "failed", prefix: [error()], accepts: ["ReadyForQuery"] },
  {
    name: "copy-in",
    prefix: [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      { _tag: "NoData" },
      { _tag: "CopyInResponse", format: 0, columnFormats: [0] }
    ],
    accepts: ["ErrorResponse"]
  },
  {
    name: "copy-out",
    prefix: [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      { _tag: "NoData" },
      { _tag: "CopyOutResponse", format: 0, columnFormats: [0] }
    ],
    accepts: ["CopyData", "CopyDone", "ErrorResponse"]
  },
  {
    name: "copy-out, after CopyDone",
    prefix: [
      { _tag: "ParseComplete" },
      { _tag: "BindComplete" },
      { _tag: "NoData" },
      { _tag: "CopyOutResponse", format: 0, columnFormats: [0] },
      { _tag: "CopyDone" }
    ],
    accepts: ["CommandComplete", "ErrorResponse"]
  },
  {
    name: "rows, queryExpectNoData",
    args: { expectNoData: true },
    prefix: [{ _tag: "ParseComplete" }, { _tag: "BindComplete" }, rowDescription("n")],
    accepts: ROWS
  }
]

describe("extended query: every message kind at every state", () => {
  for (const s of states) {
    it(s.name, () => {
      for (const message of samples) {
        const state = started(s.args)
        const before = feed(state, s.prefix)
        expect(before.some((step) => step._tag === "Unexpected")).toBe(false)
        const step = extendedQuery.onMessage(state, message)
        const accepted = s.accepts.includes(message._tag)
        expect({ tag: message._tag, step: step._tag === "Unexpected" ? "Unexpected" : "accepted" }).toEqual({
          tag: message._tag,
          step: accepted ? "accepted" : "Unexpected"
        })
      }
    })
  }
})
