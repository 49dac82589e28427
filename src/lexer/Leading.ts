/**
 * The leading keywords of a SQL statement, seen as PostgreSQL's scanner (scan.l) sees them.
 *
 * Does: skips what the server skips before and between the first tokens — whitespace (space, \t,
 * \n, \r, \f and \v), `--` comments ended by \n or \r, nested block comments, and (before the first
 * keyword only) the `;` of empty statements, which the grammar drops — and reads the keywords that
 * follow: an identifier of plain ASCII letters, upper-cased by ASCII rules. Answers whether a single
 * statement opens a transaction block (BEGIN, START TRANSACTION) and whether it is a COPY.
 * Does NOT: parse, or tokenise past the keywords. Any other token ends the list: a quoted
 * identifier ("begin"), an identifier with digits, `_`, `$` or non-ASCII characters (PostgreSQL
 * counts every non-ASCII character as an identifier character, so U+00A0 or U+FEFF before `begin`
 * makes one identifier, not the keyword), a literal (including b'…', x'…', e'…', n'…', u&'…'), a
 * number, a parameter, an operator, punctuation, or a `;` after a keyword (the statement ended).
 * An unterminated block comment swallows the rest, so it yields no keyword, as on the server.
 * Treats \v as whitespace as PostgreSQL 16+ does; older servers reject it, so there the answer
 * can only be more conservative (a keyword where the server sees a syntax error).
 * Invariants: pure and total (never throws); one char-code pass without regular expressions that
 * stops after `max` keywords; allocates only the keywords it returns (opensTransaction and isCopy
 * allocate nothing).
 */

/** The span of the keyword found by `nextKeyword`, valid only right after it returned ≥ 0. */
let keywordStart = 0

/** \t \n \v \f \r (9–13) and space: scan.l's `space` (\v since PostgreSQL 16). */
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13)

/** A-Z or a-z. */
const isLetter = (c: number): boolean => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a

/** scan.l's ident_start: a letter, `_`, or any non-ASCII character. */
const isIdentStart = (c: number): boolean => isLetter(c) || c === 0x5f || c >= 0x80

/** scan.l's ident_cont: ident_start, a digit or `$`. */
const isIdentCont = (c: number): boolean => isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24

/**
 * Skips whitespace and comments from `i` (and `;` when `semicolons`); the index of the next token,
 * or `sql.length` at the end (an unterminated block comment runs to the end).
 */
const skipTrivia = (sql: string, i: number, semicolons: boolean): number => {
  const n = sql.length
  while (i < n) {
    const c = sql.charCodeAt(i)
    if (isSpace(c) || (semicolons && c === 0x3b)) {
      i++
    } else if (c === 0x2d /* - */ && sql.charCodeAt(i + 1) === 0x2d) {
      i += 2
      while (i < n) {
        const d = sql.charCodeAt(i)
        if (d === 0x0a || d === 0x0d) break
        i++
      }
    } else if (c === 0x2f /* / */ && sql.charCodeAt(i + 1) === 0x2a /* * */) {
      i += 2
      let depth = 1
      while (i < n) {
        const d = sql.charCodeAt(i)
        if (d === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
          depth++
          i += 2
        } else if (d === 0x2a && sql.charCodeAt(i + 1) === 0x2f) {
          i += 2
          if (--depth === 0) break
        } else i++
      }
    } else return i
  }
  return n
}

/**
 * From `i`: skips trivia, then reads one identifier. Its end when it is a keyword (its start in
 * `keywordStart`), or -1 when the end or any other token comes first.
 */
const nextKeyword = (sql: string, i: number, semicolons: boolean): number => {
  i = skipTrivia(sql, i, semicolons)
  const n = sql.length
  if (i >= n || !isIdentStart(sql.charCodeAt(i))) return -1
  const start = i
  let letters = true
  while (i < n) {
    const c = sql.charCodeAt(i)
    if (isLetter(c)) i++
    else if (isIdentCont(c)) {
      letters = false
      i++
    } else break
  }
  if (!letters) return -1
  if (i - start === 1) {
    // b'…', x'…', e'…', n'…' are literals, u&'…' and u&"…" a literal and an identifier (scan.l's
    // xbstart, xhstart, xestart, xnstart, xusstart, xuistart win over a one-letter identifier).
    const c = sql.charCodeAt(start) | 0x20
    const next = sql.charCodeAt(i)
    if (next === 0x27 && (c === 0x62 || c === 0x78 || c === 0x65 || c === 0x6e)) return -1
    if (c === 0x75 && next === 0x26) {
      const quote = sql.charCodeAt(i + 1)
      if (quote === 0x27 || quote === 0x22) return -1
    }
  }
  keywordStart = start
  return i
}

/** True when sql[start, end) equals `upper` (upper-case ASCII letters) ignoring ASCII case. */
const sameWord = (sql: string, start: number, end: number, upper: string): boolean => {
  if (end - start !== upper.length) return false
  for (let k = 0; k < upper.length; k++) {
    if ((sql.charCodeAt(start + k) & 0xdf) !== upper.charCodeAt(k)) return false
  }
  return true
}

/** sql[start, end) (ASCII letters) upper-cased. */
const upperWord = (sql: string, start: number, end: number): string => {
  for (let k = start; k < end; k++) {
    if (sql.charCodeAt(k) >= 0x61) return sql.slice(start, end).toUpperCase()
  }
  return sql.slice(start, end)
}

/** The first `max` (default 2) leading keywords of `sql`, upper-cased; fewer when a non-keyword token or the end comes first. */
export const leadingKeywords = (sql: string, max = 2): ReadonlyArray<string> => {
  const keywords: Array<string> = []
  let i = 0
  while (keywords.length < max) {
    const end = nextKeyword(sql, i, keywords.length === 0)
    if (end < 0) break
    keywords.push(upperWord(sql, keywordStart, end))
    i = end
  }
  return keywords
}

/** The first keyword, upper-cased, or undefined. */
export const firstKeyword = (sql: string): string | undefined => {
  const end = nextKeyword(sql, 0, true)
  return end < 0 ? undefined : upperWord(sql, keywordStart, end)
}

/** True when the (single) statement opens a transaction block: BEGIN or START (TRANSACTION). */
export const opensTransaction = (sql: string): boolean => {
  const end = nextKeyword(sql, 0, true)
  if (end < 0) return false
  if (sameWord(sql, keywordStart, end, "BEGIN")) return true
  if (!sameWord(sql, keywordStart, end, "START")) return false
  const second = nextKeyword(sql, end, false)
  return second >= 0 && sameWord(sql, keywordStart, second, "TRANSACTION")
}

/** True when the statement is a COPY. */
export const isCopy = (sql: string): boolean => {
  const end = nextKeyword(sql, 0, true)
  return end >= 0 && sameWord(sql, keywordStart, end, "COPY")
}

/**
 * For a simple (multi-statement) query: whether any COPY keyword appears at all. Conservative on
 * purpose (a COPY may be any of the statements, and a false positive only stops pipelining
 * behind the query).
 */
export const mayContainCopy = (sql: string): boolean => /\bcopy\b/i.test(sql)
