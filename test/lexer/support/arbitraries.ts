/**
 * fast-check arbitraries for the leading-keyword lexer: what PostgreSQL skips before a statement's
 * first keyword (its whitespace, `--` and nested block comments, the `;` of empty statements),
 * keywords in random case, characters PostgreSQL does NOT take as whitespace, and mixed prefixes
 * of both for comparing the lexer with a real server. Every string is valid Unicode without NUL
 * (the protocol forbids NUL), so the same values can be sent to a server.
 */
import fc from "fast-check"

/** scan.l's `space` (\v since PostgreSQL 16). */
export const pgSpaces: ReadonlyArray<string> = [" ", "\t", "\n", "\r", "\f", "\v"]

/** Whitespace for Unicode or JavaScript (`\s`) but identifier characters for PostgreSQL. */
export const unicodeSpaces: ReadonlyArray<string> = [
  "\u00a0",
  "\u2003",
  "\u3000",
  "\ufeff",
  "\u0085",
  "\u1680",
  "\u2000",
  "\u200a",
  "\u2028",
  "\u2029",
  "\u202f",
  "\u205f"
]

/** One character: often one that means something to the scanner, else any code point but NUL. */
const char: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("*", "/", "-", ";", "'", '"', "$", "\\", "\n", "\r", "\v", ...unicodeSpaces),
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => c !== "\0")
)

export const whitespace: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(...pgSpaces), { minLength: 1, maxLength: 3 })
  .map((cs) => cs.join(""))

/** `--` up to a \n, \r or \r\n ending; the body has neither. */
export const lineComment: fc.Arbitrary<string> = fc
  .tuple(
    fc.string({ unit: char.filter((c) => c !== "\n" && c !== "\r"), maxLength: 12 }),
    fc.constantFrom("\n", "\r", "\r\n")
  )
  .map(([body, end]) => `--${body}${end}`)

/** Text inside a block comment that neither opens nor closes one, even next to `/*` or `*\/`. */
const blockText: fc.Arbitrary<string> = fc
  .string({ unit: char, minLength: 1, maxLength: 10 })
  .filter(
    (s) => !s.includes("/*") && !s.includes("*/") && !"*/".includes(s[0]!) && !"*/".includes(s[s.length - 1]!)
  )

/** A block comment, possibly holding nested ones. */
export const blockComment: fc.Arbitrary<string> = fc.letrec<{ comment: string }>((tie) => ({
  comment: fc
    .array(fc.oneof({ depthSize: "small", maxDepth: 3 }, blockText, tie("comment")), { maxLength: 4 })
    .map((parts) => `/*${parts.join("")}*/`)
})).comment

/** What PostgreSQL skips between tokens: whitespace and comments. */
export const separator: fc.Arbitrary<string> = fc.oneof(whitespace, lineComment, blockComment)

/** What PostgreSQL skips before a statement's first keyword: also the `;` of empty statements. */
export const trivia: fc.Arbitrary<string> = fc.oneof(separator, fc.constant(";"))

/** A sequence of `trivia`. */
export const prefix: fc.Arbitrary<string> = fc.array(trivia, { maxLength: 6 }).map((ps) => ps.join(""))

export const keywords: ReadonlyArray<string> = [
  "begin",
  "start",
  "copy",
  "select",
  "with",
  "insert",
  "update",
  "delete",
  "values",
  "table",
  "commit",
  "rollback",
  "transaction",
  "set",
  "explain"
]

/** `word` with each letter's case chosen at random. */
export const randomCase = (word: string): fc.Arbitrary<string> =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => Array.from(word, (c, i) => (upper[i] ? c.toUpperCase() : c)).join(""))

/** One of `keywords` in random case. */
export const keyword: fc.Arbitrary<string> = fc.constantFrom(...keywords).chain(randomCase)

export const unicodeSpace: fc.Arbitrary<string> = fc.constantFrom(...unicodeSpaces)

/**
 * A prefix that PostgreSQL may or may not skip: `trivia` mixed with tokens and fragments that end
 * or swallow the keyword list (Unicode spaces, operators, quotes, an unterminated comment, ...).
 */
export const mixedPrefix: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: trivia },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          ...unicodeSpaces,
          "-",
          "/",
          "*",
          "*/",
          "/*",
          "--",
          "(",
          "'",
          '"',
          "$",
          "$$",
          "1",
          "_",
          "x",
          "u&",
          "\u0131",
          "é"
        )
      }
    ),
    { maxLength: 5 }
  )
  .map((ps) => ps.join(""))
