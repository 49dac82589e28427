/**
 * Parameters as JS values (connection/params.ts): the text written for each JS kind when the
 * parameter types are unknown, the typed encoding (binary where the codec has it, strings as
 * they are), and refusals naming the parameter and its type, never the value.
 */
import { assert, describe, it } from "vitest"
import { allText, textParams, typedParams } from "../../src/connection/params.ts"
import { PgProtocolError } from "../../src/Errors.ts"
import { defaultRegistry, PgDate, PgInterval, PgRange, PgTimestamp } from "../../src/types/index.ts"

describe("textParams (types unknown)", () => {
  it("writes each JS kind as the text its type's input function reads", () => {
    const out = textParams(defaultRegistry, [
      "as is",
      null,
      undefined,
      42,
      1.5,
      -7n,
      true,
      new Uint8Array([0, 255]),
      new Date("2024-01-02T03:04:05.678Z"),
      new PgTimestamp(0, 1),
      new PgDate(0),
      new PgInterval(1, 2, 3n),
      PgRange.of(1, 5),
      { a: [1, "x"] },
      [1, null, 3],
      [["a", 'b"c']]
    ])
    assert.notInstanceOf(out, PgProtocolError)
    const [s, n, u, i, f, b, t, bytes, date, ts, d, iv, range, json, arr, nested] = out as Array<
      string | null
    >
    assert.deepStrictEqual([s, n, u, i, f, b, t], ["as is", null, null, "42", "1.5", "-7", "t"])
    assert.strictEqual(bytes, "\\x00ff")
    assert.match(date!, /^2024-01-02[ T]03:04:05\.678/)
    assert.match(ts!, /^1970-01-01[ T]00:00:00\.000001/)
    assert.strictEqual(d, "1970-01-01")
    assert.match(iv!, /1 mon/)
    assert.strictEqual(range, "[1,5)")
    assert.strictEqual(json, '{"a":[1,"x"]}')
    assert.strictEqual(arr, "{1,NULL,3}")
    assert.strictEqual(nested, '{{a,"b\\"c"}}')
  })

  it("refuses what no codec takes, naming the parameter", () => {
    const out = textParams(defaultRegistry, ["ok", Symbol("x") as never])
    assert.instanceOf(out, PgProtocolError)
    assert.match((out as PgProtocolError).message, /^parameter \$2 /)
    assert.strictEqual((out as PgProtocolError).mayHaveRun, false)
  })

  it("allText is true for strings and NULLs only", () => {
    assert.isTrue(allText(["a", null]))
    assert.isFalse(allText(["a", 1]))
  })
})

describe("typedParams (types known)", () => {
  it("binary for non-strings, strings as they are (json too), NULL", () => {
    const out = typedParams(defaultRegistry, [5, "6", '{"a":1}', null], [23, 23, 3802, 23])
    assert.notInstanceOf(out, PgProtocolError)
    const { values, formats } = out as Exclude<typeof out, PgProtocolError>
    assert.deepStrictEqual(formats, [1, 0, 0, 1])
    assert.deepStrictEqual(values, [new Uint8Array([0, 0, 0, 5]), "6", '{"a":1}', null])
  })

  it("a value the type refuses names $n and the type, never the value", () => {
    const wrong = typedParams(defaultRegistry, [1, { secret: "hunter2" }], [23, 16]) as PgProtocolError
    assert.instanceOf(wrong, PgProtocolError)
    assert.match(wrong.message, /^parameter \$2 \(bool\): /)
    assert.notInclude(wrong.message, "hunter2")
    const big = typedParams(defaultRegistry, [2 ** 31], [23]) as PgProtocolError
    assert.match(big.message, /^parameter \$1 \(int4\): /)
  })
})
