import { assert, describe, it } from "vitest"
import { AuthMathError } from "../../src/auth/AuthMathError.ts"
import { saslPrep, scramPasswordBytes } from "../../src/auth/SaslPrep.ts"

const hex = (u: unknown) => (u instanceof Uint8Array ? Buffer.from(u).toString("hex") : `error: ${String(u)}`)
const utf8Hex = (s: string) => Buffer.from(s, "utf8").toString("hex")
const failure = (u: unknown) => (u instanceof AuthMathError ? u.message : `no error: ${JSON.stringify(u)}`)

describe("saslPrep (strict RFC 4013, stored strings)", () => {
  it("gives the RFC 4013 section 3 results", () => {
    assert.strictEqual(saslPrep("I\u00ADX"), "IX") // SOFT HYPHEN mapped to nothing
    assert.strictEqual(saslPrep("user"), "user") // no transformation
    assert.strictEqual(saslPrep("USER"), "USER") // case preserved
    assert.strictEqual(saslPrep("\u00AA"), "a") // output is NFKC
    assert.strictEqual(saslPrep("\u2168"), "IX") // output is NFKC
    assert.strictEqual(failure(saslPrep("\u0007")), "SASLprep: prohibited character U+0007")
    assert.strictEqual(
      failure(saslPrep("\u0627\u0031")),
      "SASLprep: right-to-left string must start and end with a right-to-left character"
    )
  })

  it("maps every C.1.2 space to U+0020 and every B.1 character to nothing", () => {
    const spaces = [0xa0, 0x1680, 0x2000, 0x2005, 0x200a, 0x200b, 0x202f, 0x205f, 0x3000]
    for (const cp of spaces)
      assert.strictEqual(saslPrep(`a${String.fromCodePoint(cp)}b`), "a b", cp.toString(16))
    const nothing = [0xad, 0x34f, 0x1806, 0x180b, 0x200c, 0x200d, 0x2060, 0xfe00, 0xfe0f, 0xfeff]
    for (const cp of nothing)
      assert.strictEqual(saslPrep(`a${String.fromCodePoint(cp)}b`), "ab", cp.toString(16))
  })

  it("refuses one character of each prohibited table", () => {
    const prohibited = {
      "C.2.1": 0x1f,
      "C.2.2": 0x85,
      "C.2.2 (U+06DD)": 0x6dd,
      "C.3": 0xe000,
      "C.3 (plane 15)": 0xf0000,
      "C.4": 0xfdd0,
      "C.4 (plane 1)": 0x1fffe,
      "C.6": 0xfff9,
      "C.7": 0x2ff0,
      "C.8": 0x200e,
      "C.9": 0xe0001
    }
    for (const [table, cp] of Object.entries(prohibited)) {
      assert.match(
        failure(saslPrep(`a${String.fromCodePoint(cp)}`)),
        /^SASLprep: prohibited character U\+/,
        table
      )
    }
  })

  it("refuses code points unassigned in Unicode 3.2, even those newer NFKC would decompose", () => {
    assert.strictEqual(
      failure(saslPrep("a\u0221")),
      "SASLprep: code point U+0221 is unassigned in Unicode 3.2"
    )
    assert.strictEqual(
      failure(saslPrep("\u{1F600}")),
      "SASLprep: code point U+1F600 is unassigned in Unicode 3.2"
    )
    // U+1F100 (Unicode 5.2) NFKC-decomposes to "0." today; in Unicode 3.2 it is unassigned.
    assert.strictEqual(
      failure(saslPrep("\u{1F100}")),
      "SASLprep: code point U+1F100 is unassigned in Unicode 3.2"
    )
  })

  it("applies the RFC 3454 section 6 bidi rules", () => {
    assert.strictEqual(saslPrep("\u0627\u0031\u0628"), "\u0627\u0031\u0628") // RTL first and last
    assert.strictEqual(saslPrep("\u05D0\u05D1"), "\u05D0\u05D1")
    assert.strictEqual(
      failure(saslPrep("\u0627a\u0628")),
      "SASLprep: mixes right-to-left and left-to-right characters"
    )
    assert.match(failure(saslPrep("1\u0627")), /must start and end/)
  })

  it("normalises with NFKC after mapping", () => {
    assert.strictEqual(saslPrep("\uFB01"), "fi")
    assert.strictEqual(saslPrep("\u212B"), "\u00C5")
    assert.strictEqual(saslPrep("pa\u0308sswo\u0308rd"), "pässwörd")
    assert.strictEqual(saslPrep("a\u0340"), "\u00E0") // U+0340 → U+0300 before the check, per the RFC
  })

  it("refuses lone surrogates", () => {
    assert.strictEqual((saslPrep("a\uDC00") as AuthMathError).reason, "InvalidInput")
  })
})

describe("scramPasswordBytes (PostgreSQL's pg_saslprep with raw-bytes fallback)", () => {
  it("prepares passwords SASLprep accepts", () => {
    assert.strictEqual(hex(scramPasswordBytes("pässwörd")), utf8Hex("pässwörd"))
    assert.strictEqual(hex(scramPasswordBytes("pa\u0308sswo\u0308rd")), utf8Hex("pässwörd"))
    assert.strictEqual(hex(scramPasswordBytes("pass\u00A0word")), utf8Hex("pass word"))
    assert.strictEqual(hex(scramPasswordBytes("I\u00ADX")), utf8Hex("IX"))
    assert.strictEqual(hex(scramPasswordBytes("\u2168")), utf8Hex("IX"))
  })

  it("uses pure ASCII as is, control characters included (PostgreSQL skips all checks)", () => {
    assert.strictEqual(hex(scramPasswordBytes("a\u0007b")), "610762")
    assert.strictEqual(hex(scramPasswordBytes("pencil")), utf8Hex("pencil"))
  })

  it("falls back to the raw bytes when SASLprep refuses", () => {
    assert.strictEqual(hex(scramPasswordBytes("caf\u00E9\u0007")), utf8Hex("caf\u00E9\u0007"))
    assert.strictEqual(hex(scramPasswordBytes("\u0627\u0031")), utf8Hex("\u0627\u0031"))
    assert.strictEqual(hex(scramPasswordBytes("\u{1F600}")), utf8Hex("\u{1F600}"))
    assert.strictEqual(hex(scramPasswordBytes("\u00AD")), "c2ad") // maps to "": refused, raw bytes
  })

  it("checks before NFKC, as PostgreSQL does (differs from strict RFC 4013)", () => {
    // U+0340 is prohibited (C.8) before NFKC; strict RFC 4013 would check "à" and accept it.
    assert.strictEqual(hex(scramPasswordBytes("a\u0340")), utf8Hex("a\u0340"))
    // Before NFKC it ends with U+FB1D (RandALCat): accepted, and the output is the NFKC form,
    // which ends with U+05B4 (not RandALCat): strict RFC 4013 would refuse it.
    assert.strictEqual(hex(scramPasswordBytes("\u05D0\uFB1D")), "d790d799d6b4")
    assert.instanceOf(saslPrep("\u05D0\uFB1D"), AuthMathError)
  })

  it("uses bytes that are not UTF-8 as they are, and keeps a leading BOM for the checks", () => {
    const latin1 = Uint8Array.from("pässwörd", (c) => c.charCodeAt(0))
    assert.strictEqual(hex(scramPasswordBytes(latin1)), Buffer.from(latin1).toString("hex"))
    assert.strictEqual(hex(scramPasswordBytes(new Uint8Array([0xed, 0xa0, 0x80]))), "eda080") // surrogate
    assert.strictEqual(hex(scramPasswordBytes(new Uint8Array([0xc0, 0xaf]))), "c0af") // overlong
    // U+FEFF alone maps to nothing → refused → raw. A decoder that strips the BOM would give "".
    assert.strictEqual(hex(scramPasswordBytes(new Uint8Array([0xef, 0xbb, 0xbf]))), "efbbbf")
    assert.strictEqual(hex(scramPasswordBytes(new TextEncoder().encode("p\u00E4ss"))), utf8Hex("p\u00E4ss"))
  })

  it("refuses what no PostgreSQL password can be, without echoing it", () => {
    for (const [input, message] of [
      ["", "no password supplied (empty)"],
      ["hunter\u0000", "password contains a NUL character, which PostgreSQL cannot store"],
      ["hunter\uD800", "password is not well-formed Unicode (lone surrogate)"]
    ] as const) {
      const result = scramPasswordBytes(input)
      assert.deepStrictEqual(
        [(result as AuthMathError).reason, (result as AuthMathError).message],
        ["InvalidInput", message]
      )
    }
  })

  it("handles long passwords", () => {
    const long = "\u00E9".repeat(200_000)
    assert.strictEqual((scramPasswordBytes(long) as Uint8Array).length, 400_000)
  })
})
