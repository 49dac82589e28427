/**
 * CSV and JSON output (src/cli/formats.ts), pure: exact text for NULL, the empty string, commas,
 * quotes, line breaks, `\.` and non-ASCII; the CSV read back by a strict RFC 4180 reader gives the
 * values again; JSON keys for repeated column names.
 */
import { describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { assert } from "vitest"
import { csvField, jsonKeys, renderCsv, renderJson } from "../../src/cli/formats.ts"
import type { Column } from "../../src/Result.ts"

const column = (name: string): Column => ({
  name,
  typeOid: 25,
  tableOid: 0,
  columnAttr: 0,
  typeSize: -1,
  typeModifier: -1,
  format: 0
})

/** A strict RFC 4180 reader: records end in CRLF; "" inside quotes is a quote; unquoted empty is null. */
const readCsv = (text: string): Array<Array<string | null>> => {
  const records: Array<Array<string | null>> = []
  let record: Array<string | null> = []
  let i = 0
  while (i < text.length) {
    let value: string | null
    if (text[i] === '"') {
      let j = i + 1
      let v = ""
      for (;;) {
        if (j >= text.length) throw new Error("unterminated quote")
        if (text[j] === '"' && text[j + 1] === '"') {
          v += '"'
          j += 2
        } else if (text[j] === '"') break
        else v += text[j++]
      }
      value = v
      i = j + 1
    } else {
      let j = i
      while (j < text.length && text[j] !== "," && text[j] !== "\r") {
        if (text[j] === '"' || text[j] === "\n") throw new Error(`bare ${JSON.stringify(text[j])} at ${j}`)
        j++
      }
      value = j === i ? null : text.slice(i, j)
      i = j
    }
    record.push(value)
    if (text[i] === ",") i++
    else if (text.startsWith("\r\n", i)) {
      records.push(record)
      record = []
      i += 2
    } else throw new Error(`expected , or CRLF at ${i}`)
  }
  return records
}

describe("CSV", () => {
  it("exact output", () => {
    const text = renderCsv(
      [column("id"), column("text"), column("note")],
      [
        ["1", "plain", null],
        ["2", "a,b", ""],
        ["3", 'say "hi"', "line\nbreak"],
        ["4", "\\.", "crlf\r\nend"],
        ["5", "日本語 🎉", " spaced "]
      ]
    )
    assert.strictEqual(
      text,
      'id,text,note\r\n1,plain,\r\n2,"a,b",""\r\n3,"say ""hi""","line\nbreak"\r\n4,"\\.","crlf\r\nend"\r\n5,日本語 🎉, spaced \r\n'
    )
  })

  it("a header only for no rows; header names are quoted like values", () => {
    assert.strictEqual(renderCsv([column("a,b"), column('q"')], []), '"a,b","q"""\r\n')
  })

  it("NULL and the empty string stay apart", () => {
    assert.strictEqual(csvField(null), "")
    assert.strictEqual(csvField(""), '""')
  })

  it("reads back to the same values (property)", () => {
    const value = fc.oneof(
      fc.constant(null),
      fc.string({ unit: "grapheme" }),
      fc.constantFrom('"', ",", "\r\n", "\n", "\\.")
    )
    fc.assert(
      fc.property(fc.array(fc.array(value, { minLength: 2, maxLength: 2 }), { maxLength: 5 }), (rows) => {
        const parsed = readCsv(renderCsv([column("a"), column("b")], rows))
        assert.deepStrictEqual(parsed, [["a", "b"], ...rows])
      })
    )
  })
})

describe("JSON", () => {
  it("exact output: one array of objects, NULL as null, values as strings", () => {
    assert.strictEqual(
      renderJson(
        [column("id"), column("name"), column("note")],
        [
          ["1", "one", null],
          ["2", 'q"\n日本', "x"]
        ]
      ),
      '[{"id":"1","name":"one","note":null},{"id":"2","name":"q\\"\\n日本","note":"x"}]'
    )
    assert.strictEqual(renderJson([column("a")], []), "[]")
  })

  it("repeated column names get a suffix; __proto__ is an ordinary key", () => {
    assert.deepStrictEqual(jsonKeys(["a", "a", "a_2", "a"]), ["a", "a_2", "a_2_2", "a_3"])
    const parsed = JSON.parse(renderJson([column("__proto__"), column("a"), column("a")], [["x", "1", "2"]]))
    assert.deepStrictEqual(Object.keys(parsed[0]), ["__proto__", "a", "a_2"])
    assert.strictEqual(Object.getOwnPropertyDescriptor(parsed[0], "__proto__")?.value, "x")
  })
})
