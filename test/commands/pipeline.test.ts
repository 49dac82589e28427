/**
 * Transcripts of the pipeline command in both modes: the frames (one Sync per query, or one at
 * the end), mixed failures and successes, the failing query named in a transaction's error, a
 * deferred error at the COMMIT, refusals before sending, and `Unexpected` for every message kind
 * out of place at every state.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Step } from "../../src/commands/Command.ts"
import {
  type PipelineArgs,
  type PipelineProgress,
  type PipelineResult,
  pipeline
} from "../../src/commands/pipeline.ts"
import { commandComplete, dataRow, error, ready } from "./samples.ts"
import { assertTable, dataRowBody, kinds, msg, refused, replay, stepTags } from "./support.ts"

const queries = [{ sql: "select $1::int as n", params: ["1"] }, { sql: "insert into t values (1)" }]
const isolated: PipelineArgs = { queries, mode: "isolated" }
const transaction: PipelineArgs = { queries, mode: "transaction" }

const parsed = [msg("ParseComplete"), msg("BindComplete")]
/** Query 0 (one row) up to its CommandComplete. */
const first = [...parsed, msg("RowDescription"), dataRow("1"), commandComplete("SELECT 1")]
/** Query 1 (no rows) up to its CommandComplete. */
const second = [...parsed, msg("NoData"), commandComplete("INSERT 0 1")]

type PStep = Step<PipelineResult, PipelineProgress>
const doneOf = (step: PStep | undefined) => {
  if (step?._tag !== "Done") throw new Error(`not Done: ${step?._tag}`)
  return step.value.entries
}

describe("pipeline (isolated)", () => {
  it("writes Parse, Bind, Describe(P), Execute, Sync for each query, in one buffer", () => {
    const { start } = replay(pipeline, isolated, [])
    assert.deepStrictEqual(kinds(start.frames), [
      ...["Parse", "Bind", "Describe", "Execute", "Sync"],
      ...["Parse", "Bind", "Describe", "Execute", "Sync"]
    ])
    assert.notStrictEqual(start.exclusive, true)
  })

  it("a Result at each ReadyForQuery but the last, which ends it with every entry", () => {
    const { steps, state } = replay(pipeline, isolated, [...first, ready(), ...second, ready()])
    assert.deepStrictEqual(stepTags(steps), [
      ...["Continue", "Continue", "Continue", "Continue", "Continue", "Result"],
      ...["Continue", "Continue", "Continue", "Continue", "Done"]
    ])
    const progress = steps[5]!
    assert.strictEqual(progress._tag === "Result" && progress.result.index, 0)
    const entries = doneOf(steps.at(-1))
    assert.strictEqual(entries.length, 2)
    assert.deepStrictEqual(entries[0]!._tag === "Success" && entries[0]!.rows, [["1"]])
    assert.deepStrictEqual(entries[1]!._tag === "Success" && entries[1]!.command.tag, "INSERT 0 1")
    assert.deepStrictEqual(pipeline.tags(state), ["SELECT 1", "INSERT 0 1"])
  })

  it("a failing query fails alone; the next one runs", () => {
    const { steps } = replay(pipeline, isolated, [error("42P01"), ready(), ...second, ready()])
    const entries = doneOf(steps.at(-1))
    assert.strictEqual(entries[0]!._tag, "Failure")
    assert.strictEqual(entries[1]!._tag, "Success")
  })

  it("an error after CommandComplete (a deferred constraint at the Sync) fails that query", () => {
    const { steps } = replay(pipeline, isolated, [...first, error("23505"), ready(), ...second, ready()])
    const entries = doneOf(steps.at(-1))
    assert.strictEqual(entries[0]!._tag === "Failure" && entries[0]!.failure._tag, "ServerError")
  })

  it("rows come through the DataRow fast path as through the decoded one", () => {
    const { state } = replay(pipeline, isolated, [...parsed, msg("RowDescription")])
    assert.strictEqual(pipeline.onDataRow(state, dataRowBody(["7"]))._tag, "Continue")
    assert.deepStrictEqual(state.rows, [["7"]])
    assert.strictEqual(pipeline.onDataRow(state, dataRowBody(["7", "8"]))._tag, "Unexpected")
  })

  it("every message kind out of place is Unexpected", () => {
    const rowsAllowed = ["DataRow", "CommandComplete", "EmptyQueryResponse", "ErrorResponse"] as const
    assertTable(pipeline, isolated, [
      { name: "q0 parse", prefix: [], allowed: ["ParseComplete", "ErrorResponse"] },
      { name: "q0 bind", prefix: parsed.slice(0, 1), allowed: ["BindComplete", "ErrorResponse"] },
      { name: "q0 describe", prefix: parsed, allowed: ["RowDescription", "NoData", "ErrorResponse"] },
      { name: "q0 rows", prefix: [...parsed, msg("RowDescription")], allowed: rowsAllowed },
      {
        name: "q0 rows (no data)",
        prefix: [...parsed, msg("NoData")],
        allowed: ["CommandComplete", "EmptyQueryResponse", "ErrorResponse"]
      },
      { name: "q0 complete", prefix: first, allowed: ["ReadyForQuery", "ErrorResponse"] },
      { name: "q0 failed", prefix: [error()], allowed: ["ReadyForQuery"] },
      { name: "q1 parse", prefix: [...first, ready()], allowed: ["ParseComplete", "ErrorResponse"] },
      {
        name: "q1 complete",
        prefix: [...first, ready(), ...second],
        allowed: ["ReadyForQuery", "ErrorResponse"]
      }
    ])
  })
})

describe("pipeline (transaction)", () => {
  it("writes every query, then one Sync", () => {
    const { start } = replay(pipeline, transaction, [])
    assert.deepStrictEqual(kinds(start.frames), [
      ...["Parse", "Bind", "Describe", "Execute"],
      ...["Parse", "Bind", "Describe", "Execute", "Sync"]
    ])
  })

  it("a Result at each CommandComplete; one ReadyForQuery ends it with every entry", () => {
    const { steps } = replay(pipeline, transaction, [...first, ...second, ready()])
    assert.deepStrictEqual(stepTags(steps).slice(4), [
      ...["Result", "Continue", "Continue", "Continue", "Result", "Done"]
    ])
    const entries = doneOf(steps.at(-1))
    assert.deepStrictEqual(
      entries.map((e) => e._tag),
      ["Success", "Success"]
    )
  })

  it("an error fails the whole pipeline, naming the query index in the error's context", () => {
    const { steps } = replay(pipeline, transaction, [...first, msg("ParseComplete"), error("42P01"), ready()])
    const last = steps.at(-1)!
    assert.strictEqual(last._tag, "Fail")
    const failure = last._tag === "Fail" ? last.failure : undefined
    assert.strictEqual(failure?._tag === "ServerError" && failure.fields.code, "42P01")
    assert.strictEqual(
      failure?._tag === "ServerError" && failure.fields.where,
      "pipeline query index 1 (of 2 queries)"
    )
  })

  it("an error at the COMMIT (after every CommandComplete) says so, after the server's own context", () => {
    const deferred = {
      _tag: "ErrorResponse" as const,
      fields: { severity: "ERROR", code: "23505", message: "duplicate", where: "SQL statement" }
    }
    const { steps } = replay(pipeline, transaction, [...first, ...second, deferred, ready()])
    const last = steps.at(-1)!
    const failure = last._tag === "Fail" ? last.failure : undefined
    assert.strictEqual(
      failure?._tag === "ServerError" && failure.fields.where,
      "SQL statement\npipeline COMMIT (after all 2 queries)"
    )
  })

  it("every message kind out of place is Unexpected", () => {
    assertTable(pipeline, transaction, [
      { name: "q0 parse", prefix: [], allowed: ["ParseComplete", "ErrorResponse"] },
      { name: "q1 parse", prefix: first, allowed: ["ParseComplete", "ErrorResponse"] },
      {
        name: "q1 bind",
        prefix: [...first, msg("ParseComplete")],
        allowed: ["BindComplete", "ErrorResponse"]
      },
      { name: "all complete", prefix: [...first, ...second], allowed: ["ReadyForQuery", "ErrorResponse"] },
      { name: "failed", prefix: [...first, error()], allowed: ["ReadyForQuery"] }
    ])
  })
})

describe("pipeline refusals (nothing sent)", () => {
  it("no query", () => {
    const failure = refused(pipeline, { queries: [], mode: "isolated" })
    assert.deepStrictEqual(failure._tag === "Protocol" && [failure.reason, failure.mayHaveRun], [
      "InvalidValue",
      false
    ])
  })

  it("a COPY among the queries", () => {
    const failure = refused(pipeline, {
      queries: [{ sql: "select 1" }, { sql: " -- c\n copy t from stdin" }],
      mode: "transaction"
    })
    assert.deepStrictEqual(failure._tag === "Protocol" && [failure.reason, failure.mayHaveRun], [
      "CopyNotSupported",
      false
    ])
    assert.include(failure._tag === "Protocol" ? failure.message : "", "query 1")
  })

  it("a query that cannot be encoded names its index", () => {
    const failure = refused(pipeline, {
      queries: [{ sql: "select 1" }, { sql: "select '\0'" }],
      mode: "isolated"
    })
    assert.strictEqual(failure._tag === "Protocol" && failure.mayHaveRun, false)
    assert.include(failure._tag === "Protocol" ? failure.message : "", "query 1:")
  })
})
