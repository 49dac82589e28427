/**
 * Rows as objects (Result.ts `rowToObject`, `objects`, `columnKeys`): keys by column name,
 * duplicates renamed `name_2`, `name_3`… in column order (deterministic, also past a real column
 * of that name), a column named `__proto__` an own property.
 */
import { assert, describe, it } from "vitest"
import { columnKeys, objects, rowToObject } from "../../src/Result.ts"
import { field } from "../commands/samples.ts"

const column = (name: string) => field(name, 23)

describe("object rows", () => {
  it("keys by column name; duplicates get _2, _3 in column order", () => {
    assert.deepStrictEqual(columnKeys(["a", "b", "a", "a_2", "a"]), ["a", "b", "a_2", "a_2_2", "a_3"])
    const columns = ["id", "id", "name"].map(column)
    assert.deepStrictEqual(
      objects({
        columns,
        rows: [
          [1, 2, "x"],
          [3, null, null]
        ]
      }),
      [
        { id: 1, id_2: 2, name: "x" },
        { id: 3, id_2: null, name: null }
      ]
    )
  })

  it("a column named __proto__ is an own property, not the prototype", () => {
    const toObject = rowToObject([column("__proto__"), column("x")])
    const object = toObject([{ polluted: true }, 1])
    assert.strictEqual(Object.getPrototypeOf(object), Object.prototype)
    assert.deepStrictEqual(Object.keys(object), ["__proto__", "x"])
    assert.strictEqual((object as { polluted?: unknown }).polluted, undefined)
  })
})
