import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import {
  caretLines,
  defaultMessageLimits,
  renderParam,
  renderParams,
  resolveLimits,
  truncate
} from "../../src/errors/format.ts"

describe("truncate", () => {
  it("keeps short text and cuts long text with a count of what was cut", () => {
    assert.strictEqual(truncate("abc", 3), "abc")
    assert.strictEqual(truncate("abcdef", 3), "abc…[3 more chars]")
    assert.strictEqual(truncate("abc", 0), "…[3 more chars]")
  })

  it("never splits a surrogate pair", () => {
    assert.strictEqual(truncate("ab😀c", 3), "ab…[3 more chars]")
    assert.strictEqual(truncate("ab😀c", 4), "ab😀…[1 more chars]")
  })
})

describe("resolveLimits", () => {
  it("documents and applies the defaults", () => {
    assert.deepStrictEqual(defaultMessageLimits, { maxSqlLength: 500, maxParams: 10, maxParamLength: 100 })
    assert.deepStrictEqual(resolveLimits(undefined), defaultMessageLimits)
    assert.deepStrictEqual(resolveLimits({ maxParams: 2 }), { ...defaultMessageLimits, maxParams: 2 })
  })

  it("clamps negative and fractional limits, and ignores NaN", () => {
    assert.deepStrictEqual(resolveLimits({ maxSqlLength: -5, maxParams: 2.7, maxParamLength: Number.NaN }), {
      maxSqlLength: 0,
      maxParams: 2,
      maxParamLength: 100
    })
  })
})

describe("renderParam", () => {
  it("renders each kind of value for display", () => {
    assert.strictEqual(renderParam("it's", 100), "'it''s'")
    assert.strictEqual(renderParam(null, 100), "NULL")
    assert.strictEqual(renderParam(undefined, 100), "NULL")
    assert.strictEqual(renderParam(42, 100), "42")
    assert.strictEqual(renderParam(12345678901234567890n, 100), "12345678901234567890")
    assert.strictEqual(renderParam(true, 100), "true")
    assert.strictEqual(renderParam(new Uint8Array([1, 2, 255]), 100), "'\\x0102ff' (3 bytes)")
    assert.strictEqual(
      renderParam(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), 100),
      "'2024-01-02T03:04:05.000Z'"
    )
    assert.strictEqual(renderParam(new Date(Number.NaN), 100), "'Invalid Date'")
    assert.strictEqual(renderParam({ a: [1, 2n] }, 100), '{"a":[1,"2"]}')
  })

  it("truncates long values to the limit", () => {
    assert.strictEqual(renderParam("x".repeat(150), 100), `'${"x".repeat(100)}…[50 more chars]'`)
    assert.strictEqual(renderParam(new Uint8Array(100).fill(1), 10), "'\\x01010101…' (100 bytes)")
    assert.strictEqual(renderParam({ long: "y".repeat(50) }, 10), '{"long":"y…[51 more chars]')
  })

  it("never shows a Redacted value", () => {
    assert.strictEqual(renderParam(Redacted.make("hunter2"), 100), "<redacted>")
  })

  it("survives values that cannot be rendered", () => {
    const circular: Record<string, unknown> = {}
    circular.self = circular
    assert.strictEqual(renderParam(circular, 100), "<unprintable object>")
    assert.strictEqual(renderParam(Symbol("s"), 100), "<symbol>")
    assert.strictEqual(
      renderParam(() => 1, 100),
      "<function>"
    )
  })
})

describe("renderParams", () => {
  it("numbers parameters from $1 and counts those beyond the limit", () => {
    const params = Array.from({ length: 12 }, (_, i) => i)
    assert.strictEqual(
      renderParams(params, defaultMessageLimits),
      "$1 = 0, $2 = 1, $3 = 2, $4 = 3, $5 = 4, $6 = 5, $7 = 6, $8 = 7, $9 = 8, $10 = 9, … (and 2 more)"
    )
    assert.strictEqual(
      renderParams(["a", null], { ...defaultMessageLimits, maxParams: 1 }),
      "$1 = 'a', … (and 1 more)"
    )
    assert.strictEqual(renderParams([], defaultMessageLimits), "")
  })
})

/** The column of the caret, and the character of the displayed line above it. */
const pointed = (lines: ReadonlyArray<string>): string => {
  assert.strictEqual(lines.length, 2)
  const column = lines[1]!.indexOf("^")
  assert.strictEqual(lines[1]!.trim(), "^")
  return Array.from(lines[0]!)[column] ?? "<end>"
}

describe("caretLines", () => {
  it("points at the character of a 1-based position, psql style", () => {
    assert.deepStrictEqual(caretLines("SELECT * FORM t", 10), [
      "LINE 1: SELECT * FORM t",
      `${" ".repeat(17)}^`
    ])
  })

  it("counts positions in characters, not UTF-16 units or bytes", () => {
    const sql = "SELECT 'é😀' FORM t"
    assert.deepStrictEqual(caretLines(sql, 13), [`LINE 1: ${sql}`, `${" ".repeat(20)}^`])
  })

  it("shows the line of the cursor in a multi-line query, with LF, CRLF and CR line ends", () => {
    for (const eol of ["\n", "\r\n", "\r"]) {
      const sql = ["SELECT *", "FROM t", "WHERE id = = 1"].join(eol)
      const position = Array.from(sql).lastIndexOf("=") + 1
      const lines = caretLines(sql, position)
      assert.strictEqual(lines[0], "LINE 3: WHERE id = = 1")
      assert.strictEqual(lines[1], `${" ".repeat(19)}^`)
    }
  })

  it("points at the right character for every position of every line (tabs shown as spaces)", () => {
    const sql = "SELECT a,\n\tb + c\nFROM t\n\nWHERE x = 'q'"
    const chars = Array.from(sql)
    for (let index = 0; index < chars.length; index++) {
      const expected = chars[index] === "\t" ? " " : chars[index] === "\n" ? "<end>" : chars[index]
      assert.strictEqual(pointed(caretLines(sql, index + 1)), expected, `position ${index + 1}`)
    }
  })

  it("cuts long lines to a window around the cursor", () => {
    const line = Array.from({ length: 200 }, (_, i) => String.fromCharCode(0x41 + (i % 26))).join("")
    for (const position of [1, 30, 41, 100, 150, 199, 200]) {
      const lines = caretLines(line, position)
      assert.strictEqual(pointed(lines), line[position - 1], `position ${position}`)
      assert.isAtMost(lines[0]!.length, "LINE 1: ...".length + 80 + 3)
    }
    assert.isTrue(caretLines(line, 150)[0]!.startsWith("LINE 1: ..."))
    assert.isTrue(caretLines(line, 150)[0]!.endsWith("..."))
    assert.isFalse(caretLines(line, 1)[0]!.startsWith("LINE 1: ..."))
    assert.isFalse(caretLines(line, 200)[0]!.endsWith("..."))
  })

  it("accepts the position just past the end (syntax error at end of input) and nothing further", () => {
    assert.deepStrictEqual(caretLines("SELECT (", 9), ["LINE 1: SELECT (", `${" ".repeat(16)}^`])
    assert.deepStrictEqual(caretLines("SELECT (", 10), [])
    assert.deepStrictEqual(caretLines("SELECT (", 0), [])
    assert.deepStrictEqual(caretLines("SELECT (", 1.5), [])
  })

  it("takes a label for internal queries", () => {
    assert.strictEqual(caretLines("SELECT x", 8, "QUERY LINE")[0], "QUERY LINE 1: SELECT x")
  })
})
