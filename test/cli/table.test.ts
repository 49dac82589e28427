/**
 * The aligned table (src/cli/table.ts), pure: psql's layout (centred headers, right-aligned
 * numbers, footer, no padding at line ends), NULL as an empty cell, escaped line breaks, command
 * tags, and columns that line up by display width with CJK, emoji and combining marks.
 */
import { describe, it } from "@effect/vitest"
import { assert } from "vitest"
import { renderResult } from "../../src/cli/table.ts"
import { displayWidth } from "../../src/cli/width.ts"
import type { Column, StatementResult } from "../../src/Result.ts"

const column = (name: string, typeOid = 25): Column => ({
  name,
  typeOid,
  tableOid: 0,
  columnAttr: 0,
  typeSize: -1,
  typeModifier: -1,
  format: 0
})

const result = (
  columns: ReadonlyArray<Column>,
  rows: ReadonlyArray<ReadonlyArray<string | null>>
): StatementResult => ({
  columns,
  rows,
  command: { tag: `SELECT ${rows.length}`, command: "SELECT", rows: rows.length }
})

/** The display columns at which `|` stands in `line`. */
const bars = (line: string): Array<number> => {
  const out: Array<number> = []
  let at = 0
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(line)) {
    if (segment === "|" || segment === "+") out.push(at)
    at += displayWidth(segment)
  }
  return out
}

describe("renderResult", () => {
  it("lays a result out as psql does", () => {
    const text = renderResult(
      result(
        [column("id", 23), column("name"), column("note")],
        [
          ["1", "one", null],
          ["22", "twenty-two", "x"]
        ]
      )
    )
    assert.strictEqual(
      text,
      [
        " id |    name    | note",
        "----+------------+------",
        "  1 | one        | ",
        " 22 | twenty-two | x",
        "(2 rows)"
      ].join("\n")
    )
  })

  it("one row, and no rows", () => {
    assert.strictEqual(renderResult(result([column("n", 20)], [["7"]])), " n\n---\n 7\n(1 row)")
    assert.strictEqual(renderResult(result([column("a")], [])), " a\n---\n(0 rows)")
  })

  it("a statement without columns is its command tag", () => {
    assert.strictEqual(
      renderResult({ columns: [], rows: [], command: { tag: "INSERT 0 3", command: "INSERT", rows: 3 } }),
      "INSERT 0 3"
    )
  })

  it("line breaks and tabs inside values are escaped, one line per row", () => {
    const text = renderResult(result([column("v")], [["a\nb\tc\r"]]))
    assert.strictEqual(text, `     v\n${"-".repeat(11)}\n a\\nb\\tc\\r\n(1 row)`)
  })

  it("CJK, emoji and combining marks line up by display width", () => {
    const text = renderResult(
      result(
        [column("名前"), column("emoji"), column("n", 23)],
        [
          ["日本語", "👍🏽", "1"],
          ["abc", "🇯🇵🇫🇷", "22"],
          ["e\u0301te\u0301", "👨\u200d👩\u200d👧", "333"],
          ["ｱｲｳ", "❤\ufe0f", null],
          ["한국어 텍스트", "x", "4"]
        ]
      )
    )
    const lines = text.split("\n").slice(0, -1)
    const expected = bars(lines[1]!)
    assert.deepStrictEqual(expected, [15, 23])
    for (const line of lines) assert.deepStrictEqual(bars(line), expected, line)
    // The rows are 28 columns; the rule runs through the last margin; the header ends at its name.
    assert.deepStrictEqual(
      lines.map((l) => displayWidth(l)),
      [27, 29, 28, 28, 28, 28, 28]
    )
    assert.strictEqual(lines[0], "     名前      | emoji |  n")
    assert.strictEqual(lines[2], " 日本語        | 👍🏽    |   1")
    assert.strictEqual(lines[5], " ｱｲｳ           | ❤\ufe0f    |    ")
  })
})
