/**
 * Transcripts of the cursor command: the Flush-based first frames (exclusive), windows asked for
 * by the caller's "more", the end with its Sync, an early "close" (while suspended, and while a
 * window is in flight: its rows dropped), errors with and without a Sync pending, refusals before
 * sending, and `Unexpected` for every message kind out of place at every state.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Step } from "../../src/commands/Command.ts"
import { type CursorArgs, type CursorInput, cursor } from "../../src/commands/cursor.ts"
import { commandComplete, dataRow, error, ready } from "./samples.ts"
import {
  assertTable,
  dataRowBody,
  decodeFrames,
  type Feed,
  framesOf,
  kinds,
  msg,
  refused,
  replay,
  stepTags
} from "./support.ts"

const ARGS: CursorArgs = { sql: "select g from generate_series(1, $1::int) g", params: ["3"], window: 2 }
const more: Feed<CursorInput> = { input: "more" }
const close: Feed<CursorInput> = { input: "close" }
const opened = [msg("ParseComplete"), msg("BindComplete"), msg("RowDescription")]
const suspended = [...opened, dataRow("1"), dataRow("2"), msg("PortalSuspended")]

const sentOf = (step: Step<unknown, unknown> | undefined) => kinds(framesOf(step))

describe("cursor", () => {
  it("writes Parse, Bind, Describe(P), Execute(window), Flush, and is exclusive", () => {
    const { start } = replay(cursor, ARGS, [])
    assert.deepStrictEqual(decodeFrames(start.frames), [
      { _tag: "Parse", name: "", sql: ARGS.sql, paramTypes: [] },
      {
        _tag: "Bind",
        portal: "",
        statement: "",
        paramFormats: [],
        params: [new TextEncoder().encode("3")],
        resultFormats: []
      },
      { _tag: "Describe", target: "P", name: "" },
      { _tag: "Execute", portal: "", maxRows: 2 },
      { _tag: "Flush" }
    ])
    assert.isTrue(start.exclusive)
  })

  it("windows: rows, Suspended, the caller's more, the end with a Sync", () => {
    const { steps, state } = replay(cursor, ARGS, [
      ...suspended,
      more,
      dataRow("3"),
      commandComplete("SELECT 3"),
      ready()
    ])
    assert.deepStrictEqual(stepTags(steps), [
      ...["Continue", "Continue", "Result", "Row", "Row", "Result"],
      ...["Send", "Row", "Send", "Done"]
    ])
    assert.deepStrictEqual(steps[5], { _tag: "Result", result: { _tag: "Suspended", rows: 2 } })
    assert.deepStrictEqual(decodeFrames(framesOf(steps[6])), [
      { _tag: "Execute", portal: "", maxRows: 2 },
      { _tag: "Flush" }
    ])
    assert.deepStrictEqual(sentOf(steps[8]), ["Sync"])
    const last = steps[9]!
    assert.deepStrictEqual(last._tag === "Done" && [last.value.command?.tag, last.value.closed], [
      "SELECT 3",
      false
    ])
    assert.deepStrictEqual(cursor.tags(state), ["SELECT 3"])
  })

  it("close while suspended: Close(P) + Sync, CloseComplete, ReadyForQuery", () => {
    const { steps } = replay(cursor, ARGS, [...suspended, close, msg("CloseComplete"), ready("T")])
    assert.deepStrictEqual(decodeFrames(framesOf(steps[6])), [
      { _tag: "Close", target: "P", name: "" },
      { _tag: "Sync" }
    ])
    const last = steps.at(-1)!
    assert.deepStrictEqual(last._tag === "Done" && last.value, { command: undefined, closed: true })
  })

  it("close while a window is in flight: its rows are dropped, then CloseComplete", () => {
    const { steps } = replay(cursor, ARGS, [
      ...opened,
      dataRow("1"),
      close,
      dataRow("2"),
      msg("PortalSuspended"),
      msg("CloseComplete"),
      ready()
    ])
    assert.deepStrictEqual(stepTags(steps).slice(3), [
      "Row",
      "Send",
      "Continue",
      "Continue",
      "Continue",
      "Done"
    ])
  })

  it("close before the first window: the exchange still runs in order", () => {
    const { steps } = replay(cursor, ARGS, [close, ...suspended, msg("CloseComplete"), ready()])
    assert.notInclude(stepTags(steps), "Row")
    assert.strictEqual(steps.at(-1)!._tag, "Done")
  })

  it("an ErrorResponse with no Sync pending sends one, and fails at ReadyForQuery", () => {
    const { steps } = replay(cursor, ARGS, [...opened, dataRow("1"), error("57014"), ready()])
    assert.deepStrictEqual(sentOf(steps[4]), ["Sync"])
    const last = steps.at(-1)!
    assert.strictEqual(
      last._tag === "Fail" && last.failure._tag === "ServerError" && last.failure.fields.code,
      "57014"
    )
  })

  it("an ErrorResponse with a Sync pending (after close, after CommandComplete) sends nothing", () => {
    const afterClose = replay(cursor, ARGS, [...opened, close, error(), ready()])
    assert.deepStrictEqual(stepTags(afterClose.steps).slice(3), ["Send", "Continue", "Fail"])
    const deferred = replay(cursor, ARGS, [...opened, commandComplete("SELECT 0"), error("23505"), ready()])
    assert.deepStrictEqual(stepTags(deferred.steps).slice(3), ["Send", "Continue", "Fail"])
    const atClose = replay(cursor, ARGS, [...suspended, close, msg("CloseComplete"), error("23505"), ready()])
    assert.deepStrictEqual(stepTags(atClose.steps).slice(6), ["Send", "Continue", "Continue", "Fail"])
  })

  it("an input out of turn changes nothing", () => {
    const early = replay(cursor, ARGS, [...opened, more])
    assert.strictEqual(early.steps.at(-1)!._tag, "Continue")
    assert.strictEqual(early.state.phase, "rows")
    const late = replay(cursor, ARGS, [...suspended, close, more, close])
    assert.deepStrictEqual(stepTags(late.steps).slice(-3), ["Send", "Continue", "Continue"])
    const ended = replay(cursor, ARGS, [...opened, commandComplete("SELECT 0"), close])
    assert.strictEqual(ended.steps.at(-1)!._tag, "Continue")
  })

  it("rows come through the DataRow fast path as through the decoded one", () => {
    const { state } = replay(cursor, ARGS, opened)
    assert.deepStrictEqual(cursor.onDataRow(state, dataRowBody(["9"])), { _tag: "Row", row: ["9"] })
    assert.strictEqual(cursor.onDataRow(state, dataRowBody(["9", "9"]))._tag, "Unexpected")
    assert.strictEqual(state.rows, 1)
  })

  it("a window that is not a positive integer, or a COPY, is refused before anything is sent", () => {
    for (const window of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      const failure = refused(cursor, { ...ARGS, window })
      assert.deepStrictEqual(failure._tag === "Protocol" && [failure.reason, failure.mayHaveRun], [
        "InvalidValue",
        false
      ])
    }
    const copy = refused(cursor, { ...ARGS, sql: "COPY t TO STDOUT" })
    assert.strictEqual(copy._tag === "Protocol" && copy.reason, "CopyNotSupported")
  })

  it("every message kind out of place is Unexpected", () => {
    const windowEnd = ["PortalSuspended", "CommandComplete", "EmptyQueryResponse", "ErrorResponse"] as const
    assertTable(cursor, ARGS, [
      { name: "parse", prefix: [], allowed: ["ParseComplete", "ErrorResponse"] },
      { name: "bind", prefix: opened.slice(0, 1), allowed: ["BindComplete", "ErrorResponse"] },
      {
        name: "describe",
        prefix: opened.slice(0, 2),
        allowed: ["RowDescription", "NoData", "ErrorResponse"]
      },
      { name: "rows", prefix: opened, allowed: ["DataRow", ...windowEnd] },
      { name: "rows (no data)", prefix: [...opened.slice(0, 2), msg("NoData")], allowed: windowEnd },
      { name: "suspended", prefix: suspended, allowed: [] },
      { name: "next window", prefix: [...suspended, more], allowed: ["DataRow", ...windowEnd] },
      {
        name: "syncing",
        prefix: [...opened, commandComplete("SELECT 2")],
        allowed: ["ReadyForQuery", "ErrorResponse"]
      },
      { name: "closing", prefix: [...suspended, close], allowed: ["CloseComplete", "ErrorResponse"] },
      { name: "closing in flight", prefix: [...opened, close], allowed: ["DataRow", ...windowEnd] },
      {
        name: "closed",
        prefix: [...suspended, close, msg("CloseComplete")],
        allowed: ["ReadyForQuery", "ErrorResponse"]
      },
      { name: "failed", prefix: [error()], allowed: ["ReadyForQuery"] }
    ])
  })
})
