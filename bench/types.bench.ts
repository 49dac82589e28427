/**
 * Offline micro-benchmark of the value codecs (src/types/): whole rows and single columns decoded
 * by a per-statement RowDecoder, against @effect/sql-pg's binary field reader.
 *
 * Run: `node bench/types.bench.ts` (Node 24). No server, no sockets, no Effect runtime.
 *
 * Measures, over 20,000 DataRow bodies of 8 columns (int4, int8, float8, text of 24–32 bytes,
 * timestamptz, bool, uuid, numeric) built with the codecs' own encoders:
 * - effect-pg RowDecoder, binary columns, default (lossless) codecs and with the Date codecs;
 * - effect-pg RowDecoder, the same values as text columns, typed (parsed);
 * - effect-pg text strings as `query` returns them today (scanTextRow);
 * - @effect/sql-pg 4 `makeFieldReader` over the same binary rows (scanned by DataRowScanner, one
 *   array per row, as a row decoder would build it);
 * then each column type alone, both decoders.
 *
 * Method: a warm-up, then 15 interleaved rounds of every case; the table shows each case's median
 * rows per second. Interleaving keeps a noisy machine fair between cases; absolute numbers are only
 * comparable within one run. Not measured: the socket, framing, Effect, what is done with rows.
 */
import * as PgTypes from "@effect/sql-pg/PgTypes"
import { Result } from "effect"
import { DataRowScanner } from "../src/protocol/DataRowScanner.ts"
import { scanTextRow } from "../src/protocol/TextRow.ts"
import { Writer } from "../src/protocol/Writer.ts"
import { dateCodecs, defaultRegistry, encodeParameter, RowDecoder } from "../src/types/index.ts"

const OIDS = [23, 20, 701, 25, 1184, 16, 2950, 1700]
const NAMES = ["int4", "int8", "float8", "text", "timestamptz", "bool", "uuid", "numeric"]
const N = 20_000
const encoder = new TextEncoder()

const valuesOf = (g: number): ReadonlyArray<unknown> => [
  g,
  BigInt(g) * 1000003n,
  Math.sin(g) * 1000,
  "0123456789abcdef".repeat(2).slice(g % 8),
  new Date(1_700_000_000_000 + g * 1000),
  g % 2 === 0,
  "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
  `${g * 13}.25`
]

/** One DataRow body per row, in `format`. */
const buildRows = (format: 0 | 1, columns: ReadonlyArray<number>): Array<Uint8Array> =>
  Array.from({ length: N }, (_, g) => {
    const w = new Writer(256)
    const values = valuesOf(g)
    w.int16(columns.length)
    for (const c of columns) {
      const encoded = encodeParameter(defaultRegistry.codecFor(OIDS[c]!), values[c], format)
      const bytes = typeof encoded === "string" ? encoder.encode(encoded) : (encoded as Uint8Array)
      w.int32(bytes.length)
      w.bytes(bytes)
    }
    return w.finish().slice()
  })

let sink: unknown
const cases: Array<[string, () => void]> = []
const add = (name: string, rows: ReadonlyArray<Uint8Array>, decode: (row: Uint8Array) => unknown) =>
  cases.push([
    name,
    () => {
      for (const row of rows) sink = decode(row)
    }
  ])

const run = (): void => {
  const times = cases.map(() => [] as Array<number>)
  for (const [, f] of cases) for (let i = 0; i < 3; i++) f()
  for (let round = 0; round < 15; round++)
    cases.forEach(([, f], k) => {
      const t = performance.now()
      f()
      times[k]!.push(performance.now() - t)
    })
  cases.forEach(([name], k) => {
    const median = times[k]!.sort((a, b) => a - b)[7]!
    console.log(`${name.padEnd(44)} ${(((N / median) * 1000) / 1e6).toFixed(2)} M rows/s`)
  })
  cases.length = 0
}

const scanner = new DataRowScanner()
const sqlPg = (columns: ReadonlyArray<number>) => {
  const read = Result.getOrThrow(
    PgTypes.makeFieldReader(columns.map((c) => ({ dataTypeOid: OIDS[c]!, format: 1 })))
  )
  return (body: Uint8Array) => {
    scanner.scan(body)
    const row = new Array<unknown>(scanner.count)
    for (let i = 0; i < scanner.count; i++) {
      const length = scanner.length(i)
      row[i] = length < 0 ? null : read(body, scanner.start(i), length, i)
    }
    return row
  }
}
const plan = (columns: ReadonlyArray<number>, format: 0 | 1, registry = defaultRegistry) => {
  const decoder = new RowDecoder(
    registry,
    columns.map((c) => ({ typeOid: OIDS[c]!, format }))
  )
  return (body: Uint8Array) => decoder.decode(body)
}

const all = OIDS.map((_, i) => i)
const binary = buildRows(1, all)
const text = buildRows(0, all)
console.log(`${N} rows of ${NAMES.join(", ")}`)
add("effect-pg RowDecoder, binary", binary, plan(all, 1))
add("effect-pg RowDecoder, binary, Date codecs", binary, plan(all, 1, defaultRegistry.with(...dateCodecs)))
add("effect-pg RowDecoder, text, typed", text, plan(all, 0))
add("effect-pg text strings (query today)", text, scanTextRow)
add("@effect/sql-pg makeFieldReader, binary", binary, sqlPg(all))
run()

for (const c of all) {
  const rows = buildRows(1, [c])
  add(`  ${NAMES[c]}: effect-pg`, rows, plan([c], 1))
  add(`  ${NAMES[c]}: @effect/sql-pg`, rows, sqlPg([c]))
  run()
}
void sink
