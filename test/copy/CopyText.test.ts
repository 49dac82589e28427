/**
 * COPY text format, pure: escaping on the way in, parsing on the way out (chunks cut at every
 * byte offset, inside UTF-8 sequences and escapes), the octal/hex escapes COPY accepts, NUL
 * refused with its row and column, identifier and literal quoting.
 */
import { describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { assert } from "vitest"
import {
  CopyTextError,
  CopyTextParser,
  encodeRows,
  parseLine,
  quoteIdentifier,
  quoteLiteral
} from "../../src/copy/CopyText.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)

const parseChunks = (bytes: Uint8Array, cuts: ReadonlyArray<number>) => {
  const parser = new CopyTextParser()
  const rows: Array<Array<string | null>> = []
  let at = 0
  for (const cut of [...cuts, bytes.length]) {
    rows.push(...parser.push(bytes.subarray(at, cut)))
    at = cut
  }
  rows.push(...parser.end())
  return rows
}

describe("CopyText", () => {
  it("escapes backslash, tab, newline and CR; null is \\N and the string \\N is not", () => {
    const out = encodeRows([
      ["a\tb", "c\nd", "e\rf", "g\\h"],
      [null, "\\N", "", "日本"]
    ])
    assert.strictEqual(out, "a\\tb\tc\\nd\te\\rf\tg\\\\h\n\\N\t\\\\N\t\t日本\n")
  })

  it("refuses a NUL with its row (counted from firstRowNumber) and column", () => {
    const e = encodeRows([["ok"], ["x", "a\0b"]], 41)
    assert.instanceOf(e, CopyTextError)
    if (!(e instanceof CopyTextError)) return
    assert.strictEqual(e.row, 42)
    assert.strictEqual(e.column, 2)
    assert.match(e.message, /row 42, column 2: a NUL character/)
  })

  it("parses every escape COPY TO emits and the octal and hex forms COPY FROM accepts", () => {
    assert.deepStrictEqual(parseLine("\\b\\f\\n\\r\\t\\v\\\\\t\\N\t\\101\\x42\\x4a\\7"), [
      "\b\f\n\r\t\v\\",
      null,
      "ABJ\u0007"
    ])
    assert.deepStrictEqual(parseLine(""), [""])
    assert.deepStrictEqual(parseLine("\t"), ["", ""])
  })

  it("a row without its final newline is returned by end(); the end marker \\. is skipped", () => {
    assert.deepStrictEqual(parseChunks(utf8("1\ta\n2\tb"), []), [
      ["1", "a"],
      ["2", "b"]
    ])
    assert.deepStrictEqual(parseChunks(utf8("1\n\\.\n"), []), [["1"]])
  })

  it("parse(encode(rows)) is the identity, for chunks cut at every offset", () => {
    const rows = [
      ["é\t日本", null, "\\N", ""],
      ["🎉\r\n", "back\\slash", "x", "\\"]
    ]
    const text = encodeRows(rows)
    assert.isString(text)
    const bytes = utf8(text as string)
    for (let a = 0; a <= bytes.length; a++) {
      for (let b = a; b <= bytes.length; b += 3) {
        assert.deepStrictEqual(parseChunks(bytes, [a, b]), rows, `cuts ${a}, ${b}`)
      }
    }
  })

  it("parse(encode(rows)) is the identity for random rows (property)", () => {
    const value = fc.option(
      fc.string({ unit: "binary" }).map((s) => s.replace(/\0/g, "")),
      { nil: null }
    )
    const rows = fc.array(fc.array(value, { minLength: 1, maxLength: 4 }), { maxLength: 8 })
    fc.assert(
      fc.property(rows, fc.array(fc.nat(), { maxLength: 5 }), (rs, rawCuts) => {
        const text = encodeRows(rs)
        if (text instanceof CopyTextError) return false
        const bytes = utf8(text)
        const cuts = rawCuts.map((c) => c % (bytes.length + 1)).sort((x, y) => x - y)
        // A row of one empty string encodes as an empty line; parse gives it back as [""].
        assert.deepStrictEqual(parseChunks(bytes, cuts), rs)
        return true
      })
    )
  })

  it("quotes identifiers and literals, and refuses NUL in them", () => {
    assert.strictEqual(quoteIdentifier('my "table"'), '"my ""table"""')
    assert.strictEqual(quoteIdentifier(""), '""')
    assert.strictEqual(quoteLiteral("it's"), "'it''s'")
    assert.throws(() => quoteIdentifier("a\0"), /NUL/)
    assert.throws(() => quoteLiteral("a\0"), /NUL/)
  })
})
