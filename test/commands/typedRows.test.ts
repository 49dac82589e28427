/**
 * The extended-query command with the statement described (`describeStatement`: Describe(S)
 * after the Parse, decision 021) and with typed rows (commands/rows.ts RowReader): the parameter
 * types come back with the result, values are decoded on the frame path, a value that fails to
 * decode fails the query at its ReadyForQuery (the rest drained) and a row of the wrong width is
 * still a protocol violation.
 */
import { describe, expect, it } from "vitest"
import type { Step } from "../../src/commands/Command.ts"
import { type ExtendedArgs, extendedQuery } from "../../src/commands/extended.ts"
import { RowReader } from "../../src/commands/rows.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { defaultRegistry } from "../../src/types/index.ts"
import { commandComplete, field, ready } from "./samples.ts"

const FRAMES = new Uint8Array([0x53, 0, 0, 0, 4])
const started = (over: Partial<ExtendedArgs>) =>
  extendedQuery.start({ frames: FRAMES, parse: true, ...over }).state

/** A text-format DataRow body. */
const body = (...values: ReadonlyArray<string | null>): Uint8Array => {
  const parts: Array<number> = [0, values.length]
  for (const v of values) {
    if (v === null) parts.push(0xff, 0xff, 0xff, 0xff)
    else {
      const b = new TextEncoder().encode(v)
      parts.push(0, 0, 0, b.length, ...b)
    }
  }
  return new Uint8Array(parts)
}

const int4 = (name: string) => field(name, 23)
const header: ReadonlyArray<BackendMessage> = [
  { _tag: "ParseComplete" },
  { _tag: "ParameterDescription", oids: [23] },
  { _tag: "RowDescription", fields: [int4("n")] },
  { _tag: "BindComplete" }
]

describe("extended query: Describe(S) and typed rows", () => {
  it("describeStatement: parameter types and columns before BindComplete, kept in the result", () => {
    const state = started({ describeStatement: true })
    const steps = header.map((m) => extendedQuery.onMessage(state, m))
    expect(steps.map((s) => s._tag)).toEqual(["Continue", "Continue", "Continue", "Result"])
    expect(extendedQuery.onDataRow(state, body("7"))).toEqual({ _tag: "Row", row: ["7"] })
    extendedQuery.onMessage(state, commandComplete("SELECT 1"))
    const done = extendedQuery.onMessage(state, ready()) as Step<{ paramTypes: ReadonlyArray<number> }, never>
    expect(done).toMatchObject({ _tag: "Done", value: { paramTypes: [23] } })
  })

  it("describeStatement with NoData: no rows allowed, no columns", () => {
    const state = started({ describeStatement: true })
    for (const m of [
      { _tag: "ParseComplete" },
      { _tag: "ParameterDescription", oids: [] },
      { _tag: "NoData" }
    ] as ReadonlyArray<BackendMessage>)
      extendedQuery.onMessage(state, m)
    expect(extendedQuery.onMessage(state, { _tag: "BindComplete" })).toEqual({ _tag: "Result", result: [] })
    expect(extendedQuery.onDataRow(state, body())._tag).toBe("Unexpected")
  })

  it("typed rows decode on the frame path; a failing value fails the query after the rest drained", () => {
    const failing = defaultRegistry.with({
      ...defaultRegistry.codecFor(23),
      text: {
        decode: (s: string) => {
          if (s === "13") throw new Error("unlucky")
          return Number(s)
        },
        encode: String
      }
    })
    const state = started({ describeStatement: true, reader: new RowReader({ registry: failing }) })
    for (const m of header) extendedQuery.onMessage(state, m)
    expect(extendedQuery.onDataRow(state, body("12"))).toEqual({ _tag: "Row", row: [12] })
    expect(extendedQuery.onDataRow(state, body(null))).toEqual({ _tag: "Row", row: [null] })
    expect(extendedQuery.onDataRow(state, body("13"))._tag).toBe("Continue")
    expect(extendedQuery.onDataRow(state, body("14"))._tag).toBe("Continue")
    expect(extendedQuery.onDataRow(state, body("1", "2"))._tag).toBe("Unexpected")
    extendedQuery.onMessage(state, commandComplete("SELECT 4"))
    const end = extendedQuery.onMessage(state, ready())
    expect(end).toMatchObject({
      _tag: "Fail",
      failure: { _tag: "Protocol", reason: "UndecodableValue", mayHaveRun: true }
    })
    const message = (end as { failure: { message: string } }).failure.message
    expect(message).toMatch(/^row 3, column 1 "n" \(int4\): int4: the codec failed: unlucky$/)
  })
})
