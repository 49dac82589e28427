/**
 * One property per built-in codec (seeded by fast-check, reproducible from the printed seed):
 * over random values of its JS type, encode then decode is the identity in text and in binary,
 * so the two formats agree. Types whose JS value is canonical server text (network addresses)
 * are generated from random binary values instead, and must come back to the same bytes.
 * Every codec with a binary format is in the table (checked).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type AnyCodec,
  builtinCodecs,
  defaultRegistry,
  PgDate,
  PgInterval,
  PgTime,
  PgTimestamp,
  PgTimeTz
} from "../../src/types/index.ts"
import { bin, fromBin } from "./support/codecs.ts"

const noNul = fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !s.includes("\0"))
const int = (min: number, max: number) => fc.integer({ min, max })
const uint32 = int(0, 4294967295)
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown)
const hex = (n: number) => n.toString(16).toUpperCase()
const canonicalNumeric = fc
  .tuple(
    fc.boolean(),
    fc.stringMatching(/^(0|[1-9][0-9]{0,30})$/),
    fc.option(fc.stringMatching(/^[0-9]{1,30}$/))
  )
  .map(([neg, i, f]) => {
    const s = f === null ? i : `${i}.${f}`
    return neg && /[1-9]/.test(s) ? `-${s}` : s
  })

/** Value arbitraries, by codec name. */
const values: Record<string, fc.Arbitrary<unknown>> = {
  bool: fc.boolean(),
  int2: int(-32768, 32767),
  int4: int(-2147483648, 2147483647),
  oid: uint32,
  xid: uint32,
  cid: uint32,
  int8: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  xid8: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  money: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  float4: fc.float(),
  float8: fc.double(),
  numeric: fc.oneof(canonicalNumeric, fc.constantFrom("NaN", "Infinity", "-Infinity")),
  text: noNul,
  varchar: noNul,
  bpchar: noNul,
  name: noNul,
  unknown: noNul,
  xml: noNul,
  refcursor: noNul,
  char: fc.oneof(
    fc.constantFrom("", "\\200", "\\377"),
    fc.integer({ min: 1, max: 127 }).map((c) => String.fromCharCode(c))
  ),
  bytea: fc.uint8Array({ maxLength: 64 }),
  uuid: fc.uuid(),
  json,
  jsonb: json,
  jsonpath: fc.constantFrom("$", "$.a[*]", 'strict $."x"'),
  date: int(-2451545 + 1, 2147483647 - 10957 - 1).map((d) => new PgDate(d)),
  time: int(0, 86400e6).map((us) => new PgTime(us)),
  timetz: fc.tuple(int(0, 86400e6), int(-57599, 57599)).map(([us, z]) => new PgTimeTz(us, z)),
  timestamp: fc
    .tuple(int(-210866803200, 9224318015999), int(0, 999999))
    .map(([s, us]) => new PgTimestamp(s, us)),
  timestamptz: fc.oneof(
    fc.tuple(int(-210866803200, 9224318015999), int(0, 999999)).map(([s, us]) => new PgTimestamp(s, us)),
    fc.constantFrom(PgTimestamp.infinity, PgTimestamp.negativeInfinity)
  ),
  interval: fc
    .tuple(
      int(-2147483648, 2147483647),
      int(-2147483648, 2147483647),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    )
    .map(([m, d, us]) => new PgInterval(m, d, us)),
  bit: fc.stringMatching(/^[01]{0,70}$/),
  varbit: fc.stringMatching(/^[01]{0,70}$/),
  pg_lsn: fc.tuple(uint32, uint32).map(([a, b]) => `${hex(a)}/${hex(b)}`),
  tid: fc.tuple(uint32, int(0, 65535)).map(([a, b]) => `(${a},${b})`),
  int2vector: fc.array(int(-32768, 32767), { minLength: 1, maxLength: 8 }),
  oidvector: fc.array(uint32, { minLength: 1, maxLength: 8 })
}

/** float8s big-endian (NaN as the canonical NaN, which is what an encoder writes). */
const float8s = (xs: ReadonlyArray<number>): Uint8Array => {
  const view = new DataView(new ArrayBuffer(8 * xs.length))
  for (let i = 0; i < xs.length; i++) view.setFloat64(8 * i, xs[i]!)
  return new Uint8Array(view.buffer)
}
/** An Int32 point count, then the points' float8s. */
const counted = (xs: ReadonlyArray<number>): Uint8Array =>
  Uint8Array.from([0, 0, 0, xs.length / 2, ...float8s(xs)])

/** Random binary values, by codec name, for the types whose JS value is their canonical text. */
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const binaries: Record<string, fc.Arbitrary<Uint8Array>> = {
  inet: fc.oneof(
    fc.tuple(int(0, 32), bytes(4)).map(([bits, a]) => Uint8Array.from([2, bits, 0, 4, ...a])),
    fc
      .tuple(int(0, 128), bytes(16), fc.integer({ min: 0, max: 15 }))
      .map(([bits, a, zeros]) => Uint8Array.from([3, bits, 0, 16, ...a.map((b, i) => (i < zeros ? 0 : b))]))
  ),
  cidr: fc.oneof(
    fc.tuple(int(0, 32), bytes(4)).map(([bits, a]) => Uint8Array.from([2, bits, 1, 4, ...a])),
    fc.tuple(int(0, 128), bytes(16)).map(([bits, a]) => Uint8Array.from([3, bits, 1, 16, ...a]))
  ),
  macaddr: bytes(6),
  macaddr8: bytes(8),
  ...Object.fromEntries(
    (
      [
        ["point", 2],
        ["line", 3],
        ["lseg", 4],
        ["box", 4],
        ["circle", 3]
      ] as const
    ).map(([name, n]) => [name, fc.array(fc.double(), { minLength: n, maxLength: n }).map(float8s)])
  ),
  path: fc
    .tuple(fc.boolean(), fc.array(fc.double(), { minLength: 1, maxLength: 6 }))
    .map(([closed, xs]) => Uint8Array.from([closed ? 1 : 0, ...counted([...xs, ...xs])])),
  polygon: fc.array(fc.double(), { minLength: 1, maxLength: 6 }).map((xs) => counted([...xs, ...xs]))
}

describe("every codec: encode ∘ decode is the identity, text and binary", () => {
  it.each(Object.keys(values))("%s", (name) => {
    const codec: AnyCodec = defaultRegistry.named(name)!
    fc.assert(
      fc.property(values[name]!, (v) => {
        expect(codec.text.decode(codec.text.encode(v))).toStrictEqual(v)
        if (codec.binary !== undefined) expect(fromBin(codec, bin(codec, v))).toStrictEqual(v)
      }),
      { numRuns: 500 }
    )
  })

  it.each(Object.keys(binaries))("%s: bytes → text → the same bytes, and text round-trips", (name) => {
    const codec: AnyCodec = defaultRegistry.named(name)!
    fc.assert(
      fc.property(binaries[name]!, (b) => {
        const text = fromBin(codec, b) as string
        expect(bin(codec, text)).toStrictEqual(b)
        expect(codec.text.decode(codec.text.encode(text))).toBe(text)
      }),
      { numRuns: 1000 }
    )
  })

  it("covers every built-in codec with a binary format", () => {
    const missing = builtinCodecs.filter(
      (c) => c.binary !== undefined && !(c.name in values) && !(c.name in binaries)
    )
    expect(missing.map((c) => c.name)).toStrictEqual([])
  })
})
