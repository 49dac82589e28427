/**
 * Display width of a string in a monospaced terminal, for aligning tables: how many columns the
 * text takes, not how many code points or UTF-16 units it has.
 *
 * Does: splits the text into grapheme clusters (Intl.Segmenter) and gives each one a width:
 *   - 2 for an emoji presentation: a cluster with an Emoji_Presentation pictograph, an emoji
 *     followed by VS16 (U+FE0F), a keycap, a ZWJ sequence, a skin-tone sequence, a flag (regional
 *     indicators), all counted once per cluster however many code points they join;
 *   - otherwise the sum of its code points: 2 for East Asian Wide and Fullwidth (the table below,
 *     Unicode 17.0 EastAsianWidth.txt W and F, as wcwidth 0.7 lists it), 0 for combining marks
 *     (\p{M}), format and default-ignorable characters (ZWJ, ZWNJ, ZWSP, word joiner, variation
 *     selectors; not the soft hyphen, which terminals show), controls (C0, DEL, C1) and Hangul
 *     medial and final jamo; 1 for anything else.
 * Does NOT: know the terminal's font or locale (East Asian Ambiguous counts 1, as in a non-CJK
 * locale), expand tabs, or interpret escape sequences. Pure; never throws.
 */

/** East Asian Wide (W) and Fullwidth (F) code points: "a" or "a-b", hexadecimal, sorted. */
const wideRanges =
  "1100-115f 231a-231b 2329-232a 23e9-23ec 23f0 23f3 25fd-25fe 2614-2615 2630-2637 2648-2653 267f " +
  "268a-268f 2693 26a1 26aa-26ab 26bd-26be 26c4-26c5 26ce 26d4 26ea 26f2-26f3 26f5 26fa 26fd 2705 " +
  "270a-270b 2728 274c 274e 2753-2755 2757 2795-2797 27b0 27bf 2b1b-2b1c 2b50 2b55 2e80-2e99 2e9b-2ef3 " +
  "2f00-2fd5 2ff0-3029 3030-303e 3041-3096 309b-30ff 3105-312f 3131-3163 3165-318e 3190-31e5 31ef-321e " +
  "3220-3247 3250-a48c a490-a4c6 a960-a97c ac00-d7a3 f900-faff fe10-fe19 fe30-fe52 fe54-fe66 fe68-fe6b " +
  "ff01-ff60 ffe0-ffe6 16fe0-16fe3 16ff2-16ff6 17000-18cd5 18cff-18d1e 18d80-18df2 1aff0-1aff3 " +
  "1aff5-1affb 1affd-1affe 1b000-1b122 1b132 1b150-1b152 1b155 1b164-1b167 1b170-1b2fb 1d300-1d356 " +
  "1d360-1d376 1f004 1f0cf 1f18e 1f191-1f19a 1f1e6-1f202 1f210-1f23b 1f240-1f248 1f250-1f251 " +
  "1f260-1f265 1f300-1f320 1f32d-1f335 1f337-1f37c 1f37e-1f393 1f3a0-1f3ca 1f3cf-1f3d3 1f3e0-1f3f0 " +
  "1f3f4 1f3f8-1f43e 1f440 1f442-1f4fc 1f4ff-1f53d 1f54b-1f54e 1f550-1f567 1f57a 1f595-1f596 1f5a4 " +
  "1f5fb-1f64f 1f680-1f6c5 1f6cc 1f6d0-1f6d2 1f6d5-1f6d8 1f6dc-1f6df 1f6eb-1f6ec 1f6f4-1f6fc " +
  "1f7e0-1f7eb 1f7f0 1f90c-1f93a 1f93c-1f945 1f947-1f9ff 1fa70-1fa7c 1fa80-1fa8a 1fa8e-1fac6 1fac8 " +
  "1facd-1fadc 1fadf-1faea 1faef-1faf8 20000-2fffd 30000-3fffd"

/** [start0, end0, start1, end1, …], inclusive. */
const wide: Uint32Array = (() => {
  const parts = wideRanges.split(" ")
  const out = new Uint32Array(parts.length * 2)
  parts.forEach((part, i) => {
    const [a, b] = part.split("-")
    out[2 * i] = Number.parseInt(a!, 16)
    out[2 * i + 1] = Number.parseInt(b ?? a!, 16)
  })
  return out
})()

const isWide = (cp: number): boolean => {
  let lo = 0
  let hi = wide.length / 2 - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (cp < wide[2 * mid]!) hi = mid - 1
    else if (cp > wide[2 * mid + 1]!) lo = mid + 1
    else return true
  }
  return false
}

const zeroWidth = /^[\p{M}\p{Cf}\p{Cc}\p{Default_Ignorable_Code_Point}\u1160-\u11ff\ud7b0-\ud7ff]$/u

/** The width of one code point on its own (no cluster context). */
export const codePointWidth = (cp: number): 0 | 1 | 2 => {
  if ((cp >= 0x20 && cp < 0x7f) || cp === 0xad) return 1 // terminals show the soft hyphen
  if (isWide(cp)) return 2 // before zero width: U+115F, the Hangul choseong filler, takes a cell pair
  return zeroWidth.test(String.fromCodePoint(cp)) ? 0 : 1
}

const emojiCluster = /\p{Emoji_Presentation}|\p{Regional_Indicator}|\p{Emoji}\ufe0f|\u20e3/u
const pictographic = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u

/** The width of one grapheme cluster. */
export const clusterWidth = (cluster: string): number => {
  if (cluster.length > 1 && emojiCluster.test(cluster) && pictographic.test(cluster)) return 2
  let n = 0
  for (const ch of cluster) n += codePointWidth(ch.codePointAt(0)!)
  return n
}

const printableAscii = /^[\x20-\x7e]*$/

let segmenter: Intl.Segmenter | undefined

/** The number of terminal columns `text` takes. */
export const displayWidth = (text: string): number => {
  if (printableAscii.test(text)) return text.length
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" })
  let n = 0
  for (const { segment } of segmenter.segment(text)) n += clusterWidth(segment)
  return n
}
