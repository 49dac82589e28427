/**
 * COPY binary framing, pure: header and trailer bytes, tuples encoded by codecs and parsed back
 * with chunks cut at every offset, raw fields without columns, a refused value (row and column
 * named, nothing of the batch returned), and every malformed stream: short header, bad
 * signature, OID flag, unknown critical flags, negative extension, field count mismatch,
 * negative field length, truncated tuple, missing trailer, bytes after the trailer; the text
 * side's typed decoding (width and codec failures named).
 */
import { describe, it } from "@effect/vitest"
import { assert } from "vitest"
import {
  CopyBinaryEncoder,
  CopyBinaryError,
  CopyBinaryParser,
  type CopyColumn,
  copyBinaryHeader,
  copyBinaryTrailer,
  missingBinary,
  startsWithSignature
} from "../../src/copy/CopyBinary.ts"
import { CopyTextError, decodeTextRows } from "../../src/copy/CopyText.ts"
import { defaultRegistry, PgTimestamp } from "../../src/types/index.ts"

const col = (name: string, type: string): CopyColumn => ({ name, codec: defaultRegistry.named(type)! })
const COLUMNS = [
  col("id", "int8"),
  col("name", "text"),
  col("doc", "jsonb"),
  col("ts", "timestamptz"),
  col("arr", "int4[]")
]
const ROWS: ReadonlyArray<ReadonlyArray<unknown>> = [
  [9223372036854775807n, "tab\there\\ é", { a: [1, "x"] }, new PgTimestamp(1704164645, 123456), [1, null, 3]],
  [null, null, null, null, null],
  [-9223372036854775808n, "", [1, 2], new PgTimestamp(0, 0), []]
]

const concat = (...parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const stream = (rows = ROWS, columns = COLUMNS) => {
  const body = new CopyBinaryEncoder(columns).encode(rows)
  if (body instanceof CopyBinaryError) throw new Error(body.message)
  return concat(copyBinaryHeader(), body, copyBinaryTrailer())
}

/** Parses `bytes` cut at `cuts`; the rows, or the first error. */
const parse = (
  bytes: Uint8Array,
  cuts: ReadonlyArray<number> = [],
  columns: ReadonlyArray<CopyColumn> | null = COLUMNS
): unknown => {
  const parser = new CopyBinaryParser(columns ?? undefined)
  const rows: Array<Array<unknown>> = []
  let at = 0
  for (const cut of [...cuts, bytes.length]) {
    const out = parser.push(bytes.subarray(at, cut))
    if (out instanceof CopyBinaryError) return out
    rows.push(...out)
    at = cut
  }
  return parser.end() ?? rows
}

const errorOf = (result: unknown): CopyBinaryError => {
  assert.instanceOf(result, CopyBinaryError)
  return result as CopyBinaryError
}

describe("CopyBinary", () => {
  it("writes the 19-byte header and the trailer", () => {
    assert.deepStrictEqual(
      Array.from(copyBinaryHeader()),
      [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
    )
    assert.deepStrictEqual(Array.from(copyBinaryTrailer()), [0xff, 0xff])
    assert.isTrue(startsWithSignature(copyBinaryHeader()))
    assert.isFalse(startsWithSignature(new TextEncoder().encode("PGCOPY\n\\377")))
  })

  it("encodes a tuple as Int16 count, Int32 lengths (-1 for NULL) and the values' bytes", () => {
    const out = new CopyBinaryEncoder([col("a", "int4"), col("b", "text")]).encode([[7, null]])
    assert.deepStrictEqual(
      Array.from(out as Uint8Array),
      [0, 2, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff]
    )
  })

  it("round-trips rows through the codecs, with chunks cut at every offset", () => {
    const bytes = stream()
    assert.deepStrictEqual(parse(bytes), ROWS)
    for (let cut = 0; cut <= bytes.length; cut++)
      assert.deepStrictEqual(parse(bytes, [cut]), ROWS, `cut at ${cut}`)
    const everyByte = Array.from({ length: bytes.length }, (_, i) => i)
    assert.deepStrictEqual(parse(bytes, everyByte), ROWS)
  })

  it("a field larger than many chunks is joined once it can be complete", () => {
    const big = new Uint8Array(1 << 20).map((_, i) => i % 251)
    const columns = [col("raw", "bytea"), col("n", "int4")]
    const bytes = stream(
      [
        [big, 1],
        [new Uint8Array(0), 2]
      ],
      columns
    )
    const cuts = Array.from({ length: 1024 }, (_, i) => 7 + i * 1024)
    assert.deepStrictEqual(parse(bytes, cuts, columns), [
      [big, 1],
      [new Uint8Array(0), 2]
    ])
  })

  it("a JSON string is JSON text, as for parameters", () => {
    const bytes = stream([['{"k": true}']], [col("doc", "jsonb")])
    assert.deepStrictEqual(parse(bytes, [], [col("doc", "jsonb")]), [[{ k: true }]])
  })

  it("hands out raw field bytes (copies) without columns, any field count", () => {
    const bytes = stream([[1, "ab"]], [col("a", "int2"), col("b", "text")])
    const rows = parse(bytes, [], null) as Array<Array<unknown>>
    assert.deepStrictEqual(rows, [[new Uint8Array([0, 1]), new Uint8Array([0x61, 0x62])]])
    assert.notStrictEqual((rows[0]![0] as Uint8Array).buffer, bytes.buffer)
  })

  it("reads and skips a header extension", () => {
    const header = copyBinaryHeader()
    header[18] = 3
    const bytes = concat(header, new Uint8Array([9, 9, 9]), stream().subarray(19))
    assert.deepStrictEqual(parse(bytes, [20]), ROWS)
  })

  it("refuses a value its column type does not take, naming row, column and type, returning nothing", () => {
    const encoder = new CopyBinaryEncoder([col("n", "int4"), col("flag", "bool")])
    const error = errorOf(
      encoder.encode(
        [
          [1, true],
          [2, "maybe"]
        ],
        10
      )
    )
    assert.strictEqual(error.row, 11)
    assert.strictEqual(error.column, 2)
    assert.match(error.message, /^row 11, column 2 "flag" \(bool\): bool: /)
    assert.notInclude(error.message, "maybe")
    const range = errorOf(encoder.encode([[2 ** 31, true]]))
    assert.match(range.message, /row 1, column 1 "n" \(int4\)/)
    // The encoder is still usable, and the refused batch left nothing behind.
    assert.deepStrictEqual(
      Array.from(encoder.encode([[1, false]]) as Uint8Array),
      [0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    )
    assert.match(errorOf(encoder.encode([[1]])).message, /row 1 has 1 values, the COPY has 2 columns/)
  })

  it("names a column whose type has no binary codec", () => {
    const error = missingBinary([col("a", "int4"), { name: "v", codec: defaultRegistry.codecFor(99999) }])
    assert.match(
      error!.message,
      /column 2 "v" \(99999\): the type has no binary codec here; use the text format/
    )
    assert.isUndefined(missingBinary(COLUMNS))
  })

  describe("malformed streams are errors, never a crash", () => {
    const good = stream()
    const cases: ReadonlyArray<readonly [string, Uint8Array, RegExp]> = [
      ["empty", new Uint8Array(0), /short header \(0 of at least 19 bytes\)/],
      ["short header", good.subarray(0, 15), /short header \(15 of at least 19 bytes\)/],
      ["bad signature", concat(new TextEncoder().encode("PGCOPY\n\xfe"), good.subarray(8)), /bad signature/],
      ["text data", new TextEncoder().encode("1\tone\n"), /bad signature/],
      [
        "OID flag",
        (() => {
          const b = good.slice()
          b[12] = 1
          return b
        })(),
        /carry OIDs/
      ],
      [
        "critical flag",
        (() => {
          const b = good.slice()
          b[14] = 2
          return b
        })(),
        /unknown critical header flags 0x2/
      ],
      [
        "negative extension",
        (() => {
          const b = good.slice()
          b[15] = 0xff
          return b
        })(),
        /negative header extension/
      ],
      ["field count mismatch", stream([[1]], [col("a", "int4")]), /tuple 1 has 1 fields, expected 5/],
      ["negative count", concat(copyBinaryHeader(), new Uint8Array([0xff, 0xfe])), /field count of -2/],
      [
        "negative field length",
        concat(copyBinaryHeader(), new Uint8Array([0, 1, 0xff, 0xff, 0xff, 0xfe])),
        /field 1 has a length of -2/
      ],
      ["truncated tuple", good.subarray(0, good.length - 5), /tuple 3 is truncated/],
      ["missing trailer", good.subarray(0, good.length - 2), /missing trailer/],
      ["half a trailer", good.subarray(0, good.length - 1), /tuple 4 is truncated/],
      ["bytes after the trailer", concat(good, new Uint8Array([0])), /bytes after the trailer/]
    ]
    for (const [name, bytes, message] of cases) {
      it(name, () => {
        const columns =
          name === "negative field length" || name === "negative count" ? [col("a", "int4")] : COLUMNS
        for (const cuts of [
          [],
          [Math.floor(bytes.length / 2)],
          Array.from({ length: bytes.length }, (_, i) => i)
        ]) {
          const error = errorOf(parse(bytes, cuts, columns))
          assert.match(error.message, message, `${name}, cuts ${cuts.length}`)
        }
      })
    }

    it("a field its codec cannot decode names tuple, column and type", () => {
      const bytes = stream(
        [[1, "x", null, null, null]],
        [col("a", "int8"), col("b", "text"), col("c", "jsonb"), col("d", "timestamptz"), col("e", "int4[]")]
      )
      // int8 needs 8 bytes; read the int8 column as int4.
      const error = errorOf(parse(bytes, [], [col("a", "int4"), ...COLUMNS.slice(1)]))
      assert.match(error.message, /^row 1, column 1 "a" \(int4\): int4: expected 4 bytes, got 8/)
      assert.strictEqual(error.row, 1)
      assert.strictEqual(error.column, 1)
    })

    it("after an error every call returns it again", () => {
      const parser = new CopyBinaryParser(COLUMNS)
      const error = errorOf(parser.push(new TextEncoder().encode("nope")))
      assert.strictEqual(parser.push(good), error)
      assert.strictEqual(parser.end(), error)
    })
  })

  it("text rows decode by column, checking the width and naming failures", () => {
    const columns = [col("n", "int4"), col("big", "int8"), col("arr", "int4[]")]
    assert.deepStrictEqual(
      decodeTextRows(
        [
          ["1", "9007199254740993", "{1,NULL}"],
          [null, null, null]
        ],
        columns
      ),
      [
        [1, 9007199254740993n, [1, null]],
        [null, null, null]
      ]
    )
    const width = decodeTextRows([["1", "2"]], columns, 5)
    assert.instanceOf(width, CopyTextError)
    assert.match((width as CopyTextError).message, /row 5 has 2 fields, expected 3/)
    const bad = decodeTextRows([["1", "x", "{}"]], columns)
    assert.match((bad as CopyTextError).message, /^row 1, column 2 "big" \(int8\): int8: /)
  })
})
