/**
 * The leading-keyword lexer against scan.l's rules: whitespace (with \v, without Unicode spaces),
 * `--` comments ended by \n or \r, nested block comments, empty statements, ASCII-only keywords,
 * the tokens that end the list, and the agreement of the four exports; plus properties over
 * generated prefixes and random text.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { firstKeyword, isCopy, leadingKeywords, opensTransaction } from "../../src/lexer/Leading.ts"
import {
  keyword,
  pgSpaces,
  prefix,
  separator,
  trivia,
  unicodeSpace,
  unicodeSpaces
} from "./support/arbitraries.ts"

const cases: ReadonlyArray<readonly [string, string | undefined]> = [
  ["begin", "BEGIN"],
  ["BeGiN", "BEGIN"],
  [";begin", "BEGIN"],
  [";;BEGIN", "BEGIN"],
  ["; ;\n; begin", "BEGIN"],
  ["-- c\rbegin", "BEGIN"],
  ["-- c\nbegin", "BEGIN"],
  ["-- c\r\nbegin", "BEGIN"],
  ["---\nbegin", "BEGIN"],
  ["--x", undefined],
  ["-- c begin", undefined],
  ["/* a /* b */ c */ begin", "BEGIN"],
  ["/**/begin", "BEGIN"],
  ["/* a **/begin", "BEGIN"],
  ["/*/ begin */ select", "SELECT"],
  ["/* unterminated begin", undefined],
  ["/* a /* b */ begin", undefined],
  ["/* a */* begin", undefined],
  ["\vbegin", "BEGIN"],
  [" \t\n\r\f\vbegin", "BEGIN"],
  ["\u00a0begin", undefined],
  ["\u2003begin", undefined],
  ["\u3000begin", undefined],
  ["\ufeffbegin", undefined],
  ["begin\u00a0", undefined],
  ["beg\u0131n", undefined],
  ["\u0130nsert", undefined],
  ['"begin"', undefined],
  ["_begin", undefined],
  ["begin1", undefined],
  ["begin$", undefined],
  ["begin_x", undefined],
  ["1 begin", undefined],
  ["(begin", undefined],
  ["$1 begin", undefined],
  ["'begin'", undefined],
  ["- -begin", undefined],
  ["/begin", undefined],
  ["x'ff'", undefined],
  ["B'01'", undefined],
  ["e'x'", undefined],
  ["N'x'", undefined],
  ["u&'x'", undefined],
  ['U&"x"', undefined],
  ["u&x", "U"],
  ["x 'ff'", "X"],
  ["begin;", "BEGIN"],
  ["begin(", "BEGIN"],
  ["select*from t", "SELECT"],
  ["", undefined],
  [";", undefined],
  ["   ", undefined],
  ["\0begin", undefined]
]

/** One test per row: `f(sql)` is the row's expected value. */
const each = <A>(f: (sql: string) => A, rows: ReadonlyArray<readonly [string, A]>): void => {
  for (const [sql, expected] of rows) {
    it(`${JSON.stringify(sql)} → ${String(expected)}`, () => {
      expect(f(sql)).toBe(expected)
    })
  }
}

describe("firstKeyword", () => {
  each(firstKeyword, cases)
})

describe("leadingKeywords", () => {
  it("returns two keywords by default, and at most `max`", () => {
    expect(leadingKeywords("start transaction isolation level")).toEqual(["START", "TRANSACTION"])
    expect(leadingKeywords("a b c d", 3)).toEqual(["A", "B", "C"])
    expect(leadingKeywords("a b c d", 10)).toEqual(["A", "B", "C", "D"])
    expect(leadingKeywords("a b", 1)).toEqual(["A"])
    expect(leadingKeywords("a b", 0)).toEqual([])
  })

  it("skips comments between keywords", () => {
    expect(leadingKeywords("start/**/transaction")).toEqual(["START", "TRANSACTION"])
    expect(leadingKeywords("start -- c\r transaction")).toEqual(["START", "TRANSACTION"])
    expect(leadingKeywords("start /* a /* b */ */\vtransaction")).toEqual(["START", "TRANSACTION"])
  })

  it("stops at a `;` after a keyword: the statement ended", () => {
    expect(leadingKeywords("begin;commit")).toEqual(["BEGIN"])
    expect(leadingKeywords(";;start ; transaction")).toEqual(["START"])
  })

  it("stops at the first token that is not a keyword", () => {
    expect(leadingKeywords("select 1 from")).toEqual(["SELECT"])
    expect(leadingKeywords('select "from"')).toEqual(["SELECT"])
    expect(leadingKeywords("select\u00a0from")).toEqual([])
    expect(leadingKeywords("copy t(a) from stdin")).toEqual(["COPY", "T"])
    expect(leadingKeywords("copy t_1 from stdin")).toEqual(["COPY"])
  })
})

describe("opensTransaction", () => {
  const table: ReadonlyArray<readonly [string, boolean]> = [
    ["begin", true],
    [";begin", true],
    [";;BEGIN", true],
    ["-- c\rbegin", true],
    [";start transaction", true],
    ["START /* x */ TRANSACTION READ ONLY", true],
    ["begin isolation level serializable", true],
    ["/* a /* b */ c */ begin", true],
    ["\vbegin", true],
    ["start", false],
    ["start;transaction", false],
    ['start "transaction"', false],
    ["starttransaction", false],
    ["start transactions", false],
    ["\u00a0begin", false],
    ['"begin"', false],
    ["beg\u0131n", false],
    ["--x", false],
    ["/* unterminated begin", false],
    ["select 1", false],
    ["commit", false],
    ["beginning", false],
    ["begi", false]
  ]
  each(opensTransaction, table)
})

describe("isCopy", () => {
  const table: ReadonlyArray<readonly [string, boolean]> = [
    ["copy t from stdin", true],
    ["COPY(select 1) to stdout", true],
    [";/* c */ -- d\rCoPy t to stdout", true],
    ["copying", false],
    ["cop", false],
    ['"copy" t', false],
    ["\u00a0copy t", false],
    ["select 'copy'", false],
    ["", false]
  ]
  each(isCopy, table)
})

/** Text that ends a keyword without being part of it. */
const suffix = fc.constantFrom("", " x", "(", ";", " 'a'", "\t1", "*", "-- c", "/* c */")

describe("properties", () => {
  it("a generated prefix of whitespace, comments and `;` before a keyword yields that keyword", () => {
    fc.assert(
      fc.property(prefix, keyword, suffix, (p, word, s) => {
        const sql = p + word + s
        const upper = word.toUpperCase()
        expect(firstKeyword(sql)).toBe(upper)
        expect(leadingKeywords(sql, 1)).toEqual([upper])
        expect(opensTransaction(sql)).toBe(upper === "BEGIN")
        expect(isCopy(sql)).toBe(upper === "COPY")
      }),
      { numRuns: 2_000 }
    )
  })

  it("keywords separated by trivia other than `;` are all read, up to `max`", () => {
    const separators = fc.array(separator, { minLength: 1, maxLength: 3 }).map((ts) => ts.join(""))
    fc.assert(
      fc.property(prefix, keyword, separators, keyword, (p, a, sep, b) => {
        const sql = p + a + sep + b
        expect(leadingKeywords(sql)).toEqual([a.toUpperCase(), b.toUpperCase()])
        expect(leadingKeywords(sql, 1)).toEqual([a.toUpperCase()])
        expect(opensTransaction(sql)).toBe(
          a.toUpperCase() === "BEGIN" || (a.toUpperCase() === "START" && b.toUpperCase() === "TRANSACTION")
        )
      }),
      { numRuns: 1_000 }
    )
  })

  it("a Unicode space directly before the keyword never yields the keyword", () => {
    fc.assert(
      fc.property(prefix, unicodeSpace, keyword, suffix, (p, space, word, s) => {
        const sql = p + space + word + s
        expect(firstKeyword(sql)).toBeUndefined()
        expect(leadingKeywords(sql, 5)).toEqual([])
        expect(opensTransaction(sql)).toBe(false)
        expect(isCopy(sql)).toBe(false)
      }),
      { numRuns: 1_000 }
    )
  })

  it("a Unicode space anywhere in the prefix outside comments yields no keyword", () => {
    fc.assert(
      fc.property(prefix, unicodeSpace, prefix, keyword, (p, space, q, word) => {
        expect(firstKeyword(p + space + q + word)).toBeUndefined()
      }),
      { numRuns: 500 }
    )
  })

  it("random strings never throw, and the four exports agree", () => {
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc
        .array(fc.oneof(trivia, keyword, fc.constantFrom(";", "*", "/", "-", '"', ...unicodeSpaces)), {
          maxLength: 8
        })
        .map((ps) => ps.join(""))
    )
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 4 }), (sql, max) => {
        const all = leadingKeywords(sql, 4)
        const some = leadingKeywords(sql, max)
        expect(some).toEqual(all.slice(0, max))
        for (const word of all) expect(word).toMatch(/^[A-Z]+$/)
        expect(firstKeyword(sql)).toBe(all[0])
        expect(isCopy(sql)).toBe(all[0] === "COPY")
        expect(opensTransaction(sql)).toBe(
          all[0] === "BEGIN" || (all[0] === "START" && all[1] === "TRANSACTION")
        )
      }),
      { numRuns: 5_000 }
    )
  })

  it("treats exactly the PostgreSQL whitespace characters as whitespace", () => {
    for (let code = 0; code < 0x10000; code++) {
      const c = String.fromCharCode(code)
      const skipped = pgSpaces.includes(c) || c === ";"
      if ((firstKeyword(c + "begin") === "BEGIN") !== skipped) expect.fail(`U+${code.toString(16)}`)
    }
  })
})
