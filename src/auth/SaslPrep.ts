/**
 * SASLprep (RFC 4013, a profile of RFC 3454 stringprep) and the password bytes PostgreSQL's SCRAM
 * actually hashes.
 *
 * Does:
 * - {@link saslPrep}: RFC 4013 for stored strings. Map C.1.2 (non-ASCII spaces) to U+0020 and
 *   B.1 to nothing, normalise with NFKC, then refuse C.1.2, C.2.1, C.2.2, C.3-C.9, A.1 (unassigned
 *   in Unicode 3.2) and strings that break the RFC 3454 section 6 bidi rules (D.1 RandALCat,
 *   D.2 LCat).
 * - {@link scramPasswordBytes}: what PostgreSQL's `pg_saslprep` + fallback produce, on both the
 *   server (when a SCRAM secret is built) and libpq (when the proof is computed). A password that is
 *   not valid UTF-8, or that SASLprep refuses, is used as its raw bytes, so any password the server
 *   accepted can log in. PostgreSQL deviates from the RFC in three ways and this reproduces them:
 *   1. a pure-ASCII password is used as is, with no check at all (so ASCII controls pass);
 *   2. a password that maps to the empty string is refused (then used raw);
 *   3. the prohibition, unassigned and bidi checks run on the *mapped* string, before NFKC, while the
 *      output is the NFKC form. "a\u0340" is refused (U+0340 is in C.8) although its NFKC form "à"
 *      is clean; "\u05D0\uFB1D" passes although its NFKC form ends with a non-RandALCat mark.
 * Does NOT: implement the query profile (unassigned allowed), other stringprep profiles, or
 * case folding (B.2/B.3 are not part of SASLprep).
 *
 * Invariants: the tables are RFC 3454's (Unicode 3.2; SaslPrepTables.ts is generated, never edited);
 * NFKC is the runtime's (ICU, current Unicode), like PostgreSQL's own (current Unicode tables);
 * code points unassigned in 3.2 are refused before NFKC can touch them, so only 3.2 characters are
 * normalised, and Unicode keeps their decompositions stable; C.1.2 wins over B.1 for U+200B
 * (mapped to a space), as in PostgreSQL; nothing here throws.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4013 SASLprep
 * @see https://www.rfc-editor.org/rfc/rfc3454 stringprep (tables in the appendices)
 */
import { Buffer } from "node:buffer"
import { AuthMathError } from "./AuthMathError.ts"
import { hasLoneSurrogate, secretBytes } from "./Bytes.ts"
import * as Tables from "./SaslPrepTables.ts"

/** A sorted, flat list of inclusive ranges: [start0, end0, start1, end1, ...]. */
type RangeTable = Uint32Array

const parseTable = (text: string): RangeTable => {
  const items = text.trim().split(/\s+/)
  const out = new Uint32Array(items.length * 2)
  items.forEach((item, i) => {
    const [start, end = start] = item.split("-") as [string, string?]
    out[2 * i] = Number.parseInt(start, 16)
    out[2 * i + 1] = Number.parseInt(end, 16)
  })
  return out
}

const mappedToSpace = parseTable(Tables.mappedToSpace)
const mappedToNothing = parseTable(Tables.mappedToNothing)
const prohibited = parseTable(Tables.prohibited)
const unassigned = parseTable(Tables.unassigned)
const randAlCat = parseTable(Tables.randAlCat)
const lCat = parseTable(Tables.lCat)

const inTable = (table: RangeTable, cp: number): boolean => {
  let low = 0
  let high = table.length / 2 - 1
  while (low <= high) {
    const mid = (low + high) >>> 1
    if (cp < table[2 * mid]!) high = mid - 1
    else if (cp > table[2 * mid + 1]!) low = mid + 1
    else return true
  }
  return false
}

const codePoints = (s: string): Array<number> => Array.from(s, (ch) => ch.codePointAt(0)!)

// Not String.fromCodePoint(...cps): spreading a long password would overflow the argument limit.
const fromCodePoints = (cps: ReadonlyArray<number>): string =>
  cps.map((cp) => String.fromCodePoint(cp)).join("")

const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`

/** RFC 4013 section 2.1: C.1.2 to SPACE, B.1 to nothing. */
const map = (input: ReadonlyArray<number>): Array<number> => {
  const out: Array<number> = []
  for (const cp of input) {
    if (inTable(mappedToSpace, cp)) out.push(0x20)
    else if (!inTable(mappedToNothing, cp)) out.push(cp)
  }
  return out
}

const nfkc = (input: ReadonlyArray<number>): Array<number> =>
  codePoints(fromCodePoints(input).normalize("NFKC"))

/**
 * RFC 4013 sections 2.3-2.5 and RFC 3454 section 6. Returns why `cps` is refused, or `undefined`.
 * The reason names code points only (U+XXXX), which is acceptable for user names but is still
 * dropped by {@link scramPasswordBytes}.
 */
const violation = (cps: ReadonlyArray<number>): string | undefined => {
  for (const cp of cps) {
    if (inTable(prohibited, cp)) return `prohibited character ${hex(cp)}`
    if (inTable(unassigned, cp)) return `code point ${hex(cp)} is unassigned in Unicode 3.2`
  }
  if (cps.some((cp) => inTable(randAlCat, cp))) {
    if (cps.some((cp) => inTable(lCat, cp))) return "mixes right-to-left and left-to-right characters"
    if (!inTable(randAlCat, cps[0]!) || !inTable(randAlCat, cps[cps.length - 1]!)) {
      return "right-to-left string must start and end with a right-to-left character"
    }
  }
  return undefined
}

/**
 * RFC 4013 SASLprep for stored strings (unassigned code points refused).
 * Returns the prepared string, or `AuthMathError("SaslPrepFailed")` naming the offending code point.
 * Use it for user names; passwords go through {@link scramPasswordBytes}.
 */
export const saslPrep = (input: string): string | AuthMathError => {
  if (hasLoneSurrogate(input)) {
    return new AuthMathError("InvalidInput", "string is not well-formed Unicode (lone surrogate)")
  }
  const mapped = map(codePoints(input))
  // Unicode 3.2 NFKC leaves unassigned code points alone, so refusing them before the runtime's
  // newer NFKC (which may decompose them) gives the RFC's answer.
  for (const cp of mapped) {
    if (inTable(unassigned, cp)) {
      return new AuthMathError(
        "SaslPrepFailed",
        `SASLprep: code point ${hex(cp)} is unassigned in Unicode 3.2`
      )
    }
  }
  const normalized = nfkc(mapped)
  const why = violation(normalized)
  if (why !== undefined) return new AuthMathError("SaslPrepFailed", `SASLprep: ${why}`)
  return fromCodePoints(normalized)
}

/**
 * PostgreSQL's `pg_saslprep` on a decoded string: the prepared string, or `undefined` when
 * PostgreSQL would refuse it (and fall back to the raw bytes). See the module header for the three
 * deviations from RFC 4013 it keeps.
 */
const postgresSaslPrep = (input: string): string | undefined => {
  const cps = codePoints(input)
  if (cps.every((cp) => cp < 0x80)) return input
  const mapped = map(cps)
  if (mapped.length === 0) return undefined
  if (violation(mapped) !== undefined) return undefined
  return fromCodePoints(nfkc(mapped))
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * The bytes SCRAM-SHA-256 hashes for `password`, exactly as PostgreSQL computes them: SASLprep when
 * the password is valid UTF-8 and SASLprep accepts it, the raw bytes otherwise.
 *
 * A string is taken as UTF-8; a byte array as the exact bytes (possibly not UTF-8, e.g. a password
 * set from a LATIN1 client). Errors only for input no PostgreSQL password can have: empty, a NUL,
 * or a lone surrogate. The error never contains the password.
 */
export const scramPasswordBytes = (password: string | Uint8Array): Uint8Array | AuthMathError => {
  const raw = secretBytes(password, "password")
  if (raw instanceof AuthMathError) return raw
  if (raw.length === 0) return new AuthMathError("InvalidInput", "no password supplied (empty)")
  let decoded: string
  try {
    decoded = utf8.decode(raw)
  } catch {
    return raw // not UTF-8: PostgreSQL hashes the bytes as they are
  }
  const prepared = postgresSaslPrep(decoded)
  return prepared === undefined ? raw : new Uint8Array(Buffer.from(prepared, "utf8"))
}
