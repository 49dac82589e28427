/**
 * Display width (src/cli/width.ts), pure: ASCII, East Asian Wide and Fullwidth, halfwidth forms,
 * combining marks and zero-width characters, emoji presentation (VS16, keycaps, skin tones, ZWJ
 * sequences, flags) against the widths wcwidth 0.7 (Unicode 17) gives, every code point of the
 * wide table, and the cluster rules that differ from summing code points.
 */
import { describe, it } from "@effect/vitest"
import { assert } from "vitest"
import { clusterWidth, codePointWidth, displayWidth } from "../../src/cli/width.ts"

describe("displayWidth", () => {
  const cases: ReadonlyArray<readonly [string, string, number]> = [
    ["empty", "", 0],
    ["ASCII", "hello, world", 12],
    ["Japanese", "日本語", 6],
    ["Korean syllables", "한국어", 6],
    ["Chinese with a fullwidth comma", "你好，世界", 10],
    ["halfwidth katakana", "ｱｲｳ", 3],
    ["fullwidth Latin", "ＡＢ", 4],
    ["ideographic space", "\u3000", 2],
    ["e + combining acute", "e\u0301", 1],
    ["precomposed ñ", "ñ", 1],
    ["Thai with a combining vowel", "ก\u0e31", 1],
    ["Hangul jamo L V T", "\u1100\u1161\u11a8", 2],
    ["emoji", "😀x", 3],
    ["newer emoji (Unicode 14)", "🫠", 2],
    ["thumbs up + skin tone", "👍🏽", 2],
    ["family ZWJ sequence", "👨\u200d👩\u200d👧", 2],
    ["technologist ZWJ sequence", "🧑\u200d💻", 2],
    ["flag (two regional indicators)", "🇯🇵", 2],
    ["heart with VS16", "❤\ufe0f", 2],
    ["heart without VS16 (text presentation)", "❤", 1],
    ["keycap", "1\ufe0f\u20e3", 2],
    ["lone ZWJ", "\u200d", 0],
    ["ZWSP and word joiner", "a\u200b\u2060b", 2],
    ["soft hyphen", "\u00ad", 1],
    ["roman numeral (ambiguous counts 1)", "Ⅻ", 1],
    ["C0 and C1 controls", "\u0001\u007f\u0085", 0],
    ["mixed", "a日b😀c\u0301", 7]
  ]
  for (const [name, text, width] of cases) {
    it(`${name}: ${width}`, () => assert.strictEqual(displayWidth(text), width))
  }

  it("a letter joined to the next by ZWJ still shows both letters", () => {
    assert.strictEqual(displayWidth("a\u200db"), 2)
  })

  it("the ends of the wide table are wide and their neighbours are not", () => {
    for (const [cp, width] of [
      [0x10ff, 1],
      [0x1100, 2],
      [0x115f, 2],
      [0x1160, 0],
      [0x3164, 0],
      [0x302a, 0],
      [0xac00, 2],
      [0xd7a3, 2],
      [0xd7b0, 0],
      [0xff01, 2],
      [0xff60, 2],
      [0xff61, 1],
      [0x1f300, 2],
      [0x20000, 2],
      [0x2fffd, 2],
      [0x2fffe, 1],
      [0x3fffd, 2]
    ] as const) {
      assert.strictEqual(codePointWidth(cp), width, `U+${cp.toString(16)}`)
    }
  })

  it("every CJK unified ideograph of the basic block is 2", () => {
    for (let cp = 0x4e00; cp <= 0x9fff; cp++) {
      if (codePointWidth(cp) !== 2) assert.fail(`U+${cp.toString(16)} is ${codePointWidth(cp)}`)
    }
  })

  it("printable ASCII is 1 per character, on the fast path and off it", () => {
    for (let cp = 0x20; cp < 0x7f; cp++) assert.strictEqual(codePointWidth(cp), 1)
    assert.strictEqual(displayWidth("abc日"), 5)
  })

  it("an emoji cluster counts once, not per code point", () => {
    assert.strictEqual(clusterWidth("👍🏽"), 2)
    assert.strictEqual(
      [..."👍🏽"].reduce((n, c) => n + codePointWidth(c.codePointAt(0)!), 0),
      4
    )
  })
})
