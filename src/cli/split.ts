/**
 * Splits SQL text into statements the way psql does before it sends them (psqlscan.l), so that
 * each statement runs on its own and the CLI can stop at, and point to, the one that failed.
 *
 * Does: ends a statement at a `;` outside quotes, comments, parentheses and the BEGIN … END body
 * of `CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN ATOMIC` (psql's heuristic: after such a
 * start, BEGIN and — inside a body — CASE open a level, END closes one). Knows '…' strings
 * (standard_conforming_strings on: `''` is the only escape), E'…' strings (backslash escapes),
 * "…" identifiers, $tag$ … $tag$ bodies, `--` comments and nested block comments. Drops pieces
 * that hold only whitespace and comments. Reports the 1-based line of each statement's first token.
 * A psql meta-command (a backslash outside quotes and comments, e.g. `\set`) is an error: nothing
 * here can run it, and sending it would only give a syntax error after earlier statements ran.
 * Does NOT: parse or validate SQL (an unterminated quote runs to the end, and the server reports
 * it), interpolate psql variables, or handle `COPY … FROM STDIN` data inline.
 * Invariants: pure and total; the statements, joined in order, cover every token of the input.
 */

export interface Statement {
  /** The statement's text, trimmed, with its `;` when it had one. */
  readonly sql: string
  /** 1-based line of its first token in the input. */
  readonly line: number
}

export interface MetaCommandError {
  readonly _tag: "MetaCommand"
  readonly line: number
  /** The meta-command as written, e.g. `\set`. */
  readonly command: string
}

const isIdentStart = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128
const isIdentCont = (c: number): boolean => isIdentStart(c) || (c >= 48 && c <= 57) || c === 36
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13)

/** The statements of `text`, or the first psql meta-command found in it. */
export const splitStatements = (text: string): Array<Statement> | MetaCommandError => {
  const out: Array<Statement> = []
  let start = 0 // where the current piece begins
  let first = -1 // offset of its first token, -1 while it has none
  let parens = 0
  let begins = 0
  let words: Array<string> = [] // its leading words, while they may still make CREATE FUNCTION
  const n = text.length
  let counted = 0 // lines are counted up to here (offsets only grow, so the count is linear)
  let line = 1
  const lineAt = (at: number) => {
    for (; counted < at; counted++) {
      const c = text.charCodeAt(counted)
      if (c === 10 || (c === 13 && text.charCodeAt(counted + 1) !== 10)) line++
    }
    return line
  }
  const token = (at: number) => {
    if (first < 0) first = at
  }
  const finish = (end: number) => {
    if (first >= 0) out.push({ sql: text.slice(start, end).trim(), line: lineAt(first) })
    start = end
    first = -1
    parens = 0
    begins = 0
    words = []
  }
  const inRoutine = () =>
    words[0] === "create" &&
    (words[1] === "function" ||
      words[1] === "procedure" ||
      (words[1] === "or" && words[2] === "replace" && (words[3] === "function" || words[3] === "procedure")))
  let i = 0
  while (i < n) {
    const c = text.charCodeAt(i)
    if (isSpace(c)) {
      i++
    } else if (c === 45 && text.charCodeAt(i + 1) === 45) {
      while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      let depth = 1
      i += 2
      while (i < n && depth > 0) {
        if (text.charCodeAt(i) === 47 && text.charCodeAt(i + 1) === 42) {
          depth++
          i += 2
        } else if (text.charCodeAt(i) === 42 && text.charCodeAt(i + 1) === 47) {
          depth--
          i += 2
        } else i++
      }
    } else if (c === 39) {
      token(i)
      const prev = i > 0 ? text.charCodeAt(i - 1) : 0
      const escapes = (prev === 69 || prev === 101) && !(i > 1 && isIdentCont(text.charCodeAt(i - 2)))
      i = skipQuoted(text, i + 1, 39, escapes)
    } else if (c === 34) {
      token(i)
      i = skipQuoted(text, i + 1, 34, false)
    } else if (c === 36 && !(i > 0 && isIdentCont(text.charCodeAt(i - 1)))) {
      token(i)
      const tag = dollarTag(text, i)
      if (tag === undefined) i++
      else {
        const close = text.indexOf(tag, i + tag.length)
        i = close < 0 ? n : close + tag.length
      }
    } else if (isIdentStart(c)) {
      token(i)
      let j = i + 1
      while (j < n && isIdentCont(text.charCodeAt(j))) j++
      const word = text.slice(i, j).toLowerCase()
      if (words.length < 4) words.push(word)
      if (parens === 0 && inRoutine()) {
        if (word === "begin") begins++
        else if (word === "case" && begins > 0) begins++
        else if (word === "end" && begins > 0) begins--
      }
      i = j
    } else if (c === 92) {
      let j = i + 1
      while (j < n && !isSpace(text.charCodeAt(j))) j++
      return { _tag: "MetaCommand", line: lineAt(i), command: text.slice(i, j) }
    } else {
      if (c === 59 && parens === 0 && begins === 0) {
        finish(i + 1)
      } else {
        token(i)
        if (c === 40) parens++
        else if (c === 41 && parens > 0) parens--
      }
      i++
    }
  }
  finish(n)
  return out
}

/** The offset after the closing `quote` of a quoted text whose body starts at `i`. */
const skipQuoted = (text: string, i: number, quote: number, backslashEscapes: boolean): number => {
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (backslashEscapes && c === 92) i += 2
    else if (c === quote) {
      if (text.charCodeAt(i + 1) !== quote) return i + 1
      i += 2
    } else i++
  }
  return n
}

/** The `$tag$` delimiter starting at `i`, or undefined when `$` starts no dollar quote there. */
const dollarTag = (text: string, i: number): string | undefined => {
  let j = i + 1
  if (j < text.length && text.charCodeAt(j) !== 36) {
    if (!isIdentStart(text.charCodeAt(j))) return undefined
    while (j < text.length && isIdentCont(text.charCodeAt(j)) && text.charCodeAt(j) !== 36) j++
  }
  return text.charCodeAt(j) === 36 ? text.slice(i, j + 1) : undefined
}
