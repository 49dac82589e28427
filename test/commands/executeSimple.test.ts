/**
 * Transcripts of the execute-simple and listen commands: the Query they write, the
 * CommandCompletes they answer, rows and COPY TO STDOUT data refused after the fact (the statement
 * ran), COPY FROM STDIN answered with CopyFail (the server's 57014 with the tags completed before
 * it), a DataRow of the wrong width refused, a LISTEN channel quoted and checked before sending,
 * and `Unexpected` for every message kind out of place at every state.
 */
import { assert, describe, it } from "@effect/vitest"
import { executeSimple } from "../../src/commands/executeSimple.ts"
import { channelProblem, listen } from "../../src/commands/listen.ts"
import { commandComplete, dataRow, error, ready } from "./samples.ts"
import {
  assertTable,
  BETWEEN_STATEMENTS,
  decodeFrames,
  framesOf,
  msg,
  refused,
  replay,
  stepTags
} from "./support.ts"

const SQL = { sql: "create table t (a int); insert into t values (1)" }

describe("executeSimple", () => {
  it("writes one Query; every statement's CommandComplete, then ReadyForQuery → Done", () => {
    const { start, steps, state } = replay(executeSimple, SQL, [
      commandComplete("CREATE TABLE"),
      msg("EmptyQueryResponse"),
      commandComplete("INSERT 0 1"),
      ready()
    ])
    assert.deepStrictEqual(decodeFrames(start.frames), [{ _tag: "Query", sql: SQL.sql }])
    assert.notStrictEqual(start.exclusive, true)
    const last = steps.at(-1)!
    assert.deepStrictEqual(last._tag === "Done" && last.value.map((c) => [c.command, c.rows]), [
      ["CREATE TABLE", undefined],
      ["INSERT", 1]
    ])
    assert.deepStrictEqual(executeSimple.tags(state), ["CREATE TABLE", "INSERT 0 1"])
  })

  it("a statement with rows: drained, then UnexpectedRows (it ran) at ReadyForQuery", () => {
    const { steps } = replay(executeSimple, { sql: "select 1; insert into t values (2)" }, [
      msg("RowDescription"),
      dataRow("1"),
      commandComplete("SELECT 1"),
      commandComplete("INSERT 0 1"),
      ready()
    ])
    assert.deepStrictEqual(stepTags(steps), ["Continue", "Continue", "Continue", "Continue", "Fail"])
    const last = steps.at(-1)!
    const failure = last._tag === "Fail" ? last.failure : undefined
    assert.deepStrictEqual(failure?._tag === "Protocol" && [failure.reason, failure.mayHaveRun], [
      "UnexpectedRows",
      true
    ])
  })

  it("a server error after refused rows is the one reported (it is what became of them)", () => {
    const { steps } = replay(executeSimple, SQL, [
      msg("RowDescription"),
      dataRow("1"),
      error("57014"),
      ready()
    ])
    const last = steps.at(-1)!
    assert.strictEqual(
      last._tag === "Fail" && last.failure._tag === "ServerError" && last.failure.fields.code,
      "57014"
    )
    const server = replay(executeSimple, SQL, [error("42601"), ready()])
    const end = server.steps.at(-1)!
    assert.strictEqual(end._tag === "Fail" && end.failure._tag, "ServerError")
  })

  it("COPY FROM STDIN: exclusive; CopyFail; the server's 57014 with the tags completed before it", () => {
    const copy = replay(executeSimple, { sql: "insert into t values (1); copy t from stdin" }, [
      commandComplete("INSERT 0 1"),
      msg("CopyInResponse"),
      error("57014"),
      ready()
    ])
    assert.isTrue(copy.start.exclusive)
    const copyFail = decodeFrames(framesOf(copy.steps[1]))
    assert.deepStrictEqual(copyFail, [
      { _tag: "CopyFail", message: "COPY FROM STDIN is not supported by executeSimple; use copyIn" }
    ])
    const last = copy.steps.at(-1)!
    assert.deepStrictEqual(
      last._tag === "Fail" && last.failure._tag === "ServerError" && last.failure.completed,
      [{ columns: [], rows: [], command: { tag: "INSERT 0 1", command: "INSERT", rows: 1, oid: 0 } }]
    )
  })

  it("COPY TO STDOUT: drained, its tag kept, then UnexpectedRows (it ran) at ReadyForQuery", () => {
    const out = replay(executeSimple, { sql: "copy t to stdout; insert into t values (3)" }, [
      msg("CopyOutResponse"),
      msg("CopyData"),
      msg("CopyDone"),
      commandComplete("COPY 1"),
      commandComplete("INSERT 0 1"),
      ready()
    ])
    assert.deepStrictEqual(executeSimple.tags(out.state), ["COPY 1", "INSERT 0 1"])
    const last = out.steps.at(-1)!
    assert.deepStrictEqual(last, {
      _tag: "Fail",
      failure: {
        _tag: "Protocol",
        reason: "UnexpectedRows",
        message: "executeSimple: a COPY TO STDOUT returned data (discarded); use copyOut",
        mayHaveRun: true
      }
    })
  })

  it("the fast path drains rows without decoding them, but checks them", () => {
    const { state } = replay(executeSimple, SQL, [msg("RowDescription")])
    assert.strictEqual(
      executeSimple.onDataRow(state, new Uint8Array([0, 1, 0, 0, 0, 1, 0x37]))._tag,
      "Continue"
    )
    // Fewer or more values than the RowDescription's one column, or a malformed body.
    const width = (body: Uint8Array) => executeSimple.onDataRow(state, body)
    assert.deepStrictEqual(width(new Uint8Array([0, 0])), {
      _tag: "Unexpected",
      failure: {
        _tag: "Protocol",
        reason: "UnexpectedMessage",
        message: "a DataRow with 0 column(s) after a RowDescription of 1"
      }
    })
    assert.strictEqual(width(new Uint8Array([0, 2, 0, 0, 0, 0, 0, 0, 0, 0]))._tag, "Unexpected")
    assert.strictEqual(width(new Uint8Array([0, 1, 0, 0, 0, 9]))._tag, "Unexpected")
    assert.strictEqual(executeSimple.onMessage(state, dataRow("1", "2"))._tag, "Unexpected")
    const idle = replay(executeSimple, SQL, []).state
    assert.strictEqual(executeSimple.onDataRow(idle, new Uint8Array([0, 0]))._tag, "Unexpected")
  })

  it("SQL with NUL is refused before anything is sent", () => {
    const failure = refused(executeSimple, { sql: "select '\0'" })
    assert.strictEqual(failure._tag === "Protocol" && failure.mayHaveRun, false)
  })

  it("every message kind out of place is Unexpected", () => {
    const idle = BETWEEN_STATEMENTS
    assertTable(executeSimple, SQL, [
      { name: "idle", prefix: [], allowed: idle },
      { name: "between statements", prefix: [commandComplete("CREATE TABLE")], allowed: idle },
      {
        name: "rows",
        prefix: [msg("RowDescription")],
        allowed: ["DataRow", "CommandComplete", "ErrorResponse"]
      },
      {
        name: "after refused rows",
        prefix: [msg("RowDescription"), commandComplete("SELECT 1")],
        allowed: idle
      },
      { name: "failed", prefix: [error()], allowed: ["ReadyForQuery"] },
      { name: "copy-in", prefix: [msg("CopyInResponse")], allowed: ["ErrorResponse"] },
      {
        name: "copy-out",
        prefix: [msg("CopyOutResponse")],
        allowed: ["CopyData", "CopyDone", "ErrorResponse"]
      },
      {
        name: "copy-out, after CopyDone",
        prefix: [msg("CopyOutResponse"), msg("CopyDone")],
        allowed: ["CommandComplete", "ErrorResponse"]
      },
      {
        name: "after a drained COPY TO STDOUT",
        prefix: [msg("CopyOutResponse"), msg("CopyDone"), commandComplete("COPY 1")],
        allowed: idle
      }
    ])
  })
})

describe("listen", () => {
  it("LISTEN with the channel quoted; CommandComplete LISTEN, ReadyForQuery → Done", () => {
    const { start, steps } = replay(listen, { channel: 'my "chan"' }, [commandComplete("LISTEN"), ready()])
    assert.deepStrictEqual(decodeFrames(start.frames), [{ _tag: "Query", sql: 'LISTEN "my ""chan"""' }])
    assert.deepStrictEqual(stepTags(steps), ["Continue", "Done"])
  })

  it("UNLISTEN the same way, expecting its own tag", () => {
    const { start, steps } = replay(listen, { channel: "Mixed", unlisten: true }, [
      commandComplete("UNLISTEN"),
      ready()
    ])
    assert.deepStrictEqual(decodeFrames(start.frames), [{ _tag: "Query", sql: 'UNLISTEN "Mixed"' }])
    assert.deepStrictEqual(stepTags(steps), ["Continue", "Done"])
    const wrong = replay(listen, { channel: "c", unlisten: true }, [commandComplete("LISTEN")])
    assert.strictEqual(wrong.steps[0]!._tag, "Unexpected")
  })

  it("a server error fails at ReadyForQuery", () => {
    const { steps } = replay(listen, { channel: "c" }, [error("25006"), ready()])
    assert.deepStrictEqual(stepTags(steps), ["Continue", "Fail"])
  })

  it("channels the server would truncate or refuse are refused before anything is sent", () => {
    for (const bad of ["x".repeat(64), "é".repeat(32), "nul\0inside", ""]) {
      assert.isString(channelProblem(bad), JSON.stringify(bad))
      const failure = refused(listen, { channel: bad })
      assert.deepStrictEqual(failure._tag === "Protocol" && [failure.reason, failure.mayHaveRun], [
        "InvalidValue",
        false
      ])
    }
    assert.isUndefined(channelProblem("x".repeat(63)))
    assert.isUndefined(channelProblem("é".repeat(31)))
  })

  it("every message kind out of place is Unexpected", () => {
    // The sample CommandComplete is "SELECT 1": not the LISTEN's tag.
    assertTable(listen, { channel: "c" }, [
      { name: "sent", prefix: [], allowed: ["ErrorResponse"] },
      { name: "complete", prefix: [commandComplete("LISTEN")], allowed: ["ReadyForQuery", "ErrorResponse"] },
      { name: "failed", prefix: [error()], allowed: ["ReadyForQuery"] }
    ])
  })
})
