/**
 * The COPY progress and summary lines (src/cli/progress.ts), pure with a fake clock: rows counted
 * across chunk boundaries (text, CSV with quoted newlines and a header, binary not at all), the
 * status line drawn only on a terminal and at most every 100 ms, erased before the summary.
 */
import { describe, it } from "@effect/vitest"
import { assert } from "vitest"
import type { CopyData } from "../../src/cli/args.ts"
import { formatBytes, Progress, RowCounter, summaryLine } from "../../src/cli/progress.ts"

const bytes = (s: string) => new TextEncoder().encode(s)
const text: CopyData = { format: "text", header: false }

const count = (data: CopyData, chunks: ReadonlyArray<string>) => {
  const counter = new RowCounter(data)
  for (const c of chunks) counter.push(bytes(c))
  return counter.rows
}

describe("RowCounter", () => {
  it("counts text rows across chunks, and a last line without a newline", () => {
    assert.strictEqual(count(text, ["1\ta\n2", "\tb\n", "3\tc"]), 3)
    assert.strictEqual(count(text, ["1\n2\n"]), 2)
    assert.strictEqual(count(text, []), 0)
  })

  it("counts CSV records, not the newlines inside quotes, and not the header", () => {
    const csv: CopyData = { format: "csv", header: true }
    assert.strictEqual(count(csv, ['id,t\n1,"a\n', 'b"\n2,', '"x""\ny"\n']), 2)
    assert.strictEqual(count({ format: "csv", header: false }, ["a\r\nb\r\n"]), 2)
  })

  it("does not count binary rows", () => {
    assert.strictEqual(count({ format: "binary", header: false }, ["PGCOPY\n\xff\r\n\0"]), undefined)
  })
})

describe("Progress", () => {
  const setup = (tty: boolean) => {
    let now = 1000
    const written: Array<string> = []
    const progress = new Progress({
      direction: "in",
      data: text,
      tty,
      write: (t) => written.push(t),
      now: () => now
    })
    return { progress, written, advance: (ms: number) => (now += ms) }
  }

  it("draws at most every 100 ms on a terminal, then erases the line before the summary", () => {
    const { progress, written, advance } = setup(true)
    progress.add(bytes("1\n2\n"))
    assert.deepStrictEqual(written, [])
    advance(50)
    progress.add(bytes("3\n"))
    assert.deepStrictEqual(written, [])
    advance(50)
    progress.add(bytes("4\n"))
    assert.deepStrictEqual(written, ["\rCOPY in: 4 rows, 8 B, 80 B/s, 40 rows/s\x1b[K"])
    advance(99)
    progress.add(bytes("5\n"))
    assert.strictEqual(written.length, 1)
    advance(1)
    progress.add(bytes("6\n"))
    assert.strictEqual(written.length, 2)
    advance(1800)
    assert.strictEqual(progress.finish(6), "COPY 6 (12 B in 2.0 s)")
    assert.strictEqual(written[2], "\r\x1b[K")
  })

  it("draws nothing when stderr is not a terminal, and still returns the summary", () => {
    const { progress, written, advance } = setup(false)
    for (let i = 0; i < 50; i++) {
      progress.add(bytes("row\n"))
      advance(100)
    }
    assert.deepStrictEqual(written, [])
    assert.strictEqual(progress.finish(), "COPY 50 (200 B in 5.0 s)")
  })
})

describe("summary", () => {
  it("formats sizes and durations", () => {
    assert.strictEqual(summaryLine(1_000_000, 48_123_456, 2_100), "COPY 1000000 (48 MB in 2.1 s)")
    assert.strictEqual(summaryLine(undefined, 4_800, 40), "COPY (4.8 kB in 0.04 s)")
    assert.strictEqual(formatBytes(999), "999 B")
    assert.strictEqual(formatBytes(1_500_000_000), "1.5 GB")
  })
})
