/**
 * Offline micro-benchmark of the pure protocol codec (no sockets, no server, no Effect).
 *
 * Run: `npm run bench:codec` (or `node bench/codec.bench.ts` with Node 24).
 *
 * Measures:
 * - DataRow decoding: a stream of text-format rows shaped like
 *   `SELECT g, g::text, now(), random()::float8, md5(g::text) FROM generate_series(1, N) g`
 *   (≈ 100 bytes per row), pushed through the Framer in 64 KiB chunks: with `pushMessages`
 *   (a message object and 5 column views per row), with `feed`/`next` + `decodeBackend`, with
 *   `feed`/`next` + `DataRowScanner` (no per-column allocation), and the scanner plus UTF-8 decoding
 *   of all 5 columns to strings.
 * - Bind encoding: 1 text parameter, and 5 mixed parameters (binary int4, text, NULL, binary
 *   float8, text), both as `encodeBind` (a fresh Uint8Array each) and into a reused Writer; and a
 *   whole Parse + Bind + Describe + Execute + Sync request into one buffer.
 *
 * Method: each case runs for about 1 s after a warm-up, 3 times; the table shows the best run.
 * Not measured: sockets, TLS, the Effect layers, type parsing beyond UTF-8.
 */
import {
  DataRowScanner,
  decodeBackend,
  encodeBind,
  Framer,
  ProtocolError,
  SYNC,
  Writer,
  writeBind,
  writeDescribe,
  writeExecute,
  writeParse
} from "../src/protocol/index.ts"

const encoder = new TextEncoder()

/** Builds `rows` DataRow frames, concatenated. */
const buildRows = (rows: number): Uint8Array => {
  const w = new Writer(rows * 110)
  for (let g = 1; g <= rows; g++) {
    const columns = [
      String(g),
      String(g),
      "2026-11-21 06:42:17.123456+00",
      String(Math.sin(g) * 1000),
      Array.from({ length: 32 }, (_, i) => "0123456789abcdef"[(g * 7 + i * 13) % 16]).join("")
    ]
    w.begin(0x44)
    w.int16(columns.length)
    for (const c of columns) {
      const b = encoder.encode(c)
      w.int32(b.length)
      w.bytes(b)
    }
    w.end()
  }
  return w.finish()
}

const chunked = (stream: Uint8Array, size: number): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  for (let i = 0; i < stream.length; i += size) chunks.push(stream.slice(i, i + size))
  return chunks
}

interface Result {
  readonly name: string
  readonly opsPerSecond: number
  readonly unit: string
}

/** Runs `once` (which performs `opsPerCall` operations) repeatedly for ~1 s, 3 times; best rate wins. */
const measure = (name: string, unit: string, opsPerCall: number, once: () => number): Result => {
  let sink = 0
  const warmEnd = performance.now() + 300
  while (performance.now() < warmEnd) sink += once()
  let best = 0
  for (let run = 0; run < 3; run++) {
    let calls = 0
    const start = performance.now()
    let elapsed = 0
    do {
      sink += once()
      calls++
      elapsed = performance.now() - start
    } while (elapsed < 1000)
    best = Math.max(best, (calls * opsPerCall) / (elapsed / 1000))
  }
  if (sink === -1) console.log("unreachable")
  return { name, opsPerSecond: best, unit }
}

const ROWS = 50_000
const stream = buildRows(ROWS)
const chunks = chunked(stream, 64 * 1024)

const results: Array<Result> = []

results.push(
  measure("DataRow: Framer.pushMessages (message + 5 column views)", "rows/s", ROWS, () => {
    const framer = new Framer()
    let n = 0
    for (const chunk of chunks) n += framer.pushMessages(chunk).messages.length
    if (n !== ROWS) throw new Error(`decoded ${n} rows`)
    return n
  })
)

results.push(
  measure("DataRow: feed/next + decodeBackend", "rows/s", ROWS, () => {
    const framer = new Framer()
    let n = 0
    for (const chunk of chunks) {
      framer.feed(chunk)
      while (framer.next()) {
        const m = decodeBackend(framer.type, framer.body)
        if (m instanceof ProtocolError) throw new Error(m.message)
        n++
      }
    }
    return n
  })
)

const scanner = new DataRowScanner()
results.push(
  measure("DataRow: feed/next + DataRowScanner (no per-column views)", "rows/s", ROWS, () => {
    const framer = new Framer()
    let n = 0
    for (const chunk of chunks) {
      framer.feed(chunk)
      while (framer.next()) {
        if (scanner.scan(framer.body) !== undefined) throw new Error("scan failed")
        n += scanner.count
      }
    }
    return n
  })
)

results.push(
  measure("DataRow: scanner + UTF-8 decode of all 5 columns", "rows/s", ROWS, () => {
    const framer = new Framer()
    let n = 0
    for (const chunk of chunks) {
      framer.feed(chunk)
      while (framer.next()) {
        scanner.scan(framer.body)
        for (let i = 0; i < scanner.count; i++) n += scanner.text(i)!.length
      }
    }
    return n
  })
)

const BATCH = 10_000
const int4 = new Uint8Array([0, 0, 0, 42])
const float8 = new Uint8Array([0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18])
const mixed = [int4, "some text value", null, float8, "2026-11-21"]
const mixedFormats = [1, 0, 0, 1, 0] as const
const reused = new Writer(4096)

results.push(
  measure("Bind, 1 text param: encodeBind (one Uint8Array per frame)", "frames/s", BATCH, () => {
    let n = 0
    for (let i = 0; i < BATCH; i++) n += (encodeBind("", "", ["hello world"]) as Uint8Array).length
    return n
  })
)
results.push(
  measure("Bind, 1 text param: into a reused Writer", "frames/s", BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      writeBind(reused, "", "", ["hello world"])
      if (reused.length > 3000) reused.reset()
    }
    reused.reset()
    return 1
  })
)
results.push(
  measure("Bind, 5 mixed params: encodeBind (one Uint8Array per frame)", "frames/s", BATCH, () => {
    let n = 0
    for (let i = 0; i < BATCH; i++) n += (encodeBind("", "", mixed, mixedFormats, [1]) as Uint8Array).length
    return n
  })
)
results.push(
  measure("Bind, 5 mixed params: into a reused Writer", "frames/s", BATCH, () => {
    for (let i = 0; i < BATCH; i++) {
      writeBind(reused, "", "", mixed, mixedFormats, [1])
      if (reused.length > 3000) reused.reset()
    }
    reused.reset()
    return 1
  })
)
const sql = "SELECT id, name, created_at FROM users WHERE id = $1 AND status = $2"
results.push(
  measure("Parse+Bind+Describe+Execute+Sync as one Uint8Array", "requests/s", BATCH, () => {
    let n = 0
    for (let i = 0; i < BATCH; i++) {
      writeParse(reused, "", sql, [])
      writeBind(reused, "", "", [String(i), "active"])
      writeDescribe(reused, "P", "")
      writeExecute(reused, "", 0)
      reused.bytes(SYNC)
      n += reused.finish().length
    }
    return n
  })
)

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`)
const width = Math.max(...results.map((r) => r.name.length))
console.log(
  `effect-pg codec micro-benchmark — Node ${process.version}, ${stream.length} bytes of DataRows in ${chunks.length} chunks of 64 KiB`
)
console.log(`${"case".padEnd(width)}  rate`)
for (const r of results) console.log(`${r.name.padEnd(width)}  ${fmt(r.opsPerSecond).padStart(8)} ${r.unit}`)
