/**
 * Transcripts of the prepare and close-statement commands: the frames they write, their answers
 * to the server's messages in order, and `Unexpected` for every message kind out of place.
 */
import { assert, describe, it } from "@effect/vitest"
import { closeStatement } from "../../src/commands/closeStatement.ts"
import { prepareStatement } from "../../src/commands/prepare.ts"
import { assertTable, decodeFrames, msg, refused, replay, stepTags } from "./support.ts"

const ARGS = { name: "s1", sql: "select $1::int8 as a, $2::text as b" }

describe("prepare", () => {
  it("writes Parse(name, sql) + Describe(S, name) + Sync", () => {
    const { start } = replay(prepareStatement, ARGS, [])
    assert.deepStrictEqual(decodeFrames(start.frames), [
      { _tag: "Parse", name: "s1", sql: ARGS.sql, paramTypes: [] },
      { _tag: "Describe", target: "S", name: "s1" },
      { _tag: "Sync" }
    ])
    assert.notStrictEqual(start.exclusive, true)
  })

  it("imposes parameter types when asked", () => {
    const { start } = replay(prepareStatement, { ...ARGS, paramTypes: [20, 0] }, [])
    assert.deepStrictEqual(decodeFrames(start.frames)[0], {
      _tag: "Parse",
      name: "s1",
      sql: ARGS.sql,
      paramTypes: [20, 0]
    })
  })

  it("ParseComplete, ParameterDescription, RowDescription, ReadyForQuery → the statement", () => {
    const row = msg("RowDescription")
    const { steps, state } = replay(prepareStatement, ARGS, [
      msg("ParseComplete"),
      msg("ParameterDescription", { oids: [20, 25] }),
      row,
      msg("ReadyForQuery")
    ])
    assert.deepStrictEqual(stepTags(steps), ["Continue", "Continue", "Continue", "Done"])
    const last = steps[3]!
    assert.deepStrictEqual(last._tag === "Done" && last.value, {
      name: "s1",
      paramTypes: [20, 25],
      columns: row._tag === "RowDescription" ? row.fields : []
    })
    assert.isTrue(state.parsed)
  })

  it("NoData: a statement without columns", () => {
    const { steps } = replay(prepareStatement, { name: "", sql: "insert into t values ($1)" }, [
      msg("ParseComplete"),
      msg("ParameterDescription", { oids: [23] }),
      msg("NoData"),
      msg("ReadyForQuery")
    ])
    const last = steps[3]!
    assert.deepStrictEqual(last._tag === "Done" && last.value, { name: "", paramTypes: [23], columns: [] })
  })

  it("an ErrorResponse at Parse fails at ReadyForQuery; nothing was parsed", () => {
    const { steps, state } = replay(prepareStatement, ARGS, [msg("ErrorResponse"), msg("ReadyForQuery")])
    assert.deepStrictEqual(stepTags(steps), ["Continue", "Fail"])
    const last = steps[1]!
    assert.strictEqual(last._tag === "Fail" && last.failure._tag, "ServerError")
    assert.isFalse(state.parsed)
  })

  it("an ErrorResponse after ParseComplete: failed, but the statement exists (parsed)", () => {
    const { steps, state } = replay(prepareStatement, ARGS, [
      msg("ParseComplete"),
      msg("ErrorResponse"),
      msg("ReadyForQuery")
    ])
    assert.deepStrictEqual(stepTags(steps), ["Continue", "Continue", "Fail"])
    assert.isTrue(state.parsed)
  })

  it("a name or SQL with NUL is refused before anything is sent", () => {
    const failure = refused(prepareStatement, { name: "a\0b", sql: "select 1" })
    assert.strictEqual(failure._tag === "Protocol" && failure.mayHaveRun, false)
    assert.strictEqual(failure._tag === "Protocol" && failure.reason, "InvalidValue")
  })

  it("every message kind out of place is Unexpected", () => {
    const described = [msg("ParseComplete"), msg("ParameterDescription")]
    assertTable(prepareStatement, ARGS, [
      { name: "parse", prefix: [], allowed: ["ParseComplete", "ErrorResponse"] },
      { name: "params", prefix: [msg("ParseComplete")], allowed: ["ParameterDescription", "ErrorResponse"] },
      { name: "describe", prefix: described, allowed: ["RowDescription", "NoData", "ErrorResponse"] },
      {
        name: "complete (rows)",
        prefix: [...described, msg("RowDescription")],
        allowed: ["ReadyForQuery", "ErrorResponse"]
      },
      {
        name: "complete (no data)",
        prefix: [...described, msg("NoData")],
        allowed: ["ReadyForQuery", "ErrorResponse"]
      },
      { name: "failed", prefix: [msg("ErrorResponse")], allowed: ["ReadyForQuery"] }
    ])
  })
})

describe("closeStatement", () => {
  it("writes Close(S, name) + Sync; CloseComplete, ReadyForQuery → done", () => {
    const { start, steps } = replay(closeStatement, { name: "s1" }, [
      msg("CloseComplete"),
      msg("ReadyForQuery")
    ])
    assert.deepStrictEqual(decodeFrames(start.frames), [
      { _tag: "Close", target: "S", name: "s1" },
      { _tag: "Sync" }
    ])
    assert.deepStrictEqual(stepTags(steps), ["Continue", "Done"])
  })

  it("an ErrorResponse fails at ReadyForQuery", () => {
    const { steps } = replay(closeStatement, { name: "s1" }, [msg("ErrorResponse"), msg("ReadyForQuery")])
    assert.deepStrictEqual(stepTags(steps), ["Continue", "Fail"])
  })

  it("a name with NUL is refused before anything is sent", () => {
    const failure = refused(closeStatement, { name: "a\0" })
    assert.strictEqual(failure._tag === "Protocol" && failure.mayHaveRun, false)
  })

  it("every message kind out of place is Unexpected", () => {
    assertTable(closeStatement, { name: "s1" }, [
      { name: "close", prefix: [], allowed: ["CloseComplete", "ErrorResponse"] },
      { name: "complete", prefix: [msg("CloseComplete")], allowed: ["ReadyForQuery", "ErrorResponse"] },
      { name: "failed", prefix: [msg("ErrorResponse")], allowed: ["ReadyForQuery"] }
    ])
  })
})
