/**
 * Row shapes (Result.ts `rowShape`, commands/rows.ts `shapeOf`): objects made by the generated
 * constructor are plain objects (Object.prototype, own enumerable properties in column order,
 * JSON- and deepEqual-equal to literals), a key can never be read as code, and the shapes of one
 * key list are made once.
 */
import { assert, describe, it } from "@effect/vitest"
import { shapeOf } from "../../src/commands/rows.ts"
import { rowShape } from "../../src/Result.ts"

describe("rowShape", () => {
  it("makes plain objects with every key, in order, set to null", () => {
    const shape = rowShape(["id", "name", "1", "?column?"])
    const row = shape.make()
    assert.strictEqual(Object.getPrototypeOf(row), Object.prototype)
    assert.deepStrictEqual(Object.keys(row), ["1", "id", "name", "?column?"]) // integer-like keys first, as in any object
    assert.deepStrictEqual(row, { id: null, name: null, 1: null, "?column?": null })
    row.id = 5
    assert.strictEqual(JSON.stringify(row), '{"1":null,"id":5,"name":null,"?column?":null}')
    assert.notStrictEqual(shape.make(), row)
  })

  it("keys that look like code stay keys", () => {
    globalThis.__shapeProbe = undefined
    const hostile = [
      '"]; globalThis.__shapeProbe = 1; this["',
      "a\\",
      "b\nc",
      "\u2028",
      "`$" + "{x}`",
      "</script>"
    ]
    const row = rowShape(hostile).make()
    assert.deepStrictEqual(Object.keys(row), hostile)
    assert.strictEqual(globalThis.__shapeProbe, undefined)
  })

  it("shapeOf gives one shape per key list", () => {
    assert.strictEqual(shapeOf(["x", "y"]), shapeOf(["x", "y"]))
    assert.notStrictEqual(shapeOf(["x", "y"]), shapeOf(["y", "x"]))
    assert.notStrictEqual(shapeOf(["a\u0001b"]), shapeOf(["a", "b"]))
  })
})

declare global {
  var __shapeProbe: number | undefined
}
