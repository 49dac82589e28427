/**
 * The COPY progress line and summary line of the CLI.
 *
 * Does: counts the bytes of a COPY and, for the text and CSV formats, its rows (a row ends at a
 * newline — outside quotes in CSV — and a header row is not counted); on a terminal, redraws one
 * status line (`\r`, then the line, then erase-to-end) at most every 100 ms with rows, bytes and
 * the average rates; at the end erases that line and returns the summary, e.g.
 * `COPY 1000000 (48 MB in 2.1 s)`.
 * Does NOT: touch the process (the caller passes `write`, whether stderr is a terminal, and the
 * clock), or count binary-format rows (the summary then shows the bytes only, unless the caller
 * knows the count from the server's command tag). Sizes use decimal units (1 MB = 10^6 bytes).
 */
import type { CopyData } from "./args.ts"

/** Counts the rows in a COPY byte stream, chunk by chunk. */
export class RowCounter {
  private lines = 0
  private inQuotes = false
  private pending = false // bytes after the last newline
  private readonly data: CopyData
  constructor(data: CopyData) {
    this.data = data
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.data.format === "binary") return
    const csv = this.data.format === "csv"
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!
      if (b === 0x0a) {
        if (!this.inQuotes) this.lines++
      } else if (csv && b === 0x22) this.inQuotes = !this.inQuotes
    }
    this.pending = chunk[chunk.length - 1] !== 0x0a || this.inQuotes
  }

  /** Rows so far (a last line without its newline counts), or undefined for binary. */
  get rows(): number | undefined {
    if (this.data.format === "binary") return undefined
    const records = this.lines + (this.pending ? 1 : 0)
    return Math.max(0, records - (this.data.header ? 1 : 0))
  }
}

/** "512 B", "4.8 kB", "48 MB", "1.2 GB". */
export const formatBytes = (n: number): string => {
  const units = ["B", "kB", "MB", "GB", "TB"]
  let value = n
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  const shown = unit === 0 || value >= 10 ? String(Math.round(value)) : value.toFixed(1)
  return `${shown} ${units[unit]}`
}

/** "0.04 s", "2.1 s". */
export const formatSeconds = (millis: number): string => `${(millis / 1000).toFixed(millis < 1000 ? 2 : 1)} s`

/** The summary line: "COPY 1000000 (48 MB in 2.1 s)". */
export const summaryLine = (rows: number | undefined, bytes: number, millis: number): string =>
  `COPY ${rows === undefined ? "" : `${rows} `}(${formatBytes(bytes)} in ${formatSeconds(millis)})`

export interface ProgressOptions {
  /** "in" or "out". */
  readonly direction: string
  readonly data: CopyData
  /** Whether to draw the status line (stderr is a terminal). */
  readonly tty: boolean
  readonly write: (text: string) => void
  /** Milliseconds, monotonic. */
  readonly now: () => number
}

/** The progress of one COPY: feed it every chunk, then `finish`. */
export class Progress {
  static readonly intervalMillis = 100
  private readonly counter: RowCounter
  private readonly started: number
  private lastDraw: number
  private drawn = false
  private readonly options: ProgressOptions
  bytes = 0

  constructor(options: ProgressOptions) {
    this.options = options
    this.counter = new RowCounter(options.data)
    this.started = options.now()
    this.lastDraw = this.started
  }

  get rows(): number | undefined {
    return this.counter.rows
  }

  add(chunk: Uint8Array): void {
    this.bytes += chunk.length
    this.counter.push(chunk)
    if (!this.options.tty) return
    const now = this.options.now()
    if (now - this.lastDraw < Progress.intervalMillis) return
    this.lastDraw = now
    this.drawn = true
    this.options.write(`\r${this.line(now)}\x1b[K`)
  }

  /** The status line at `now`: "COPY in: 52000 rows, 2.5 MB, 12 MB/s, 250000 rows/s". */
  line(now: number): string {
    const seconds = Math.max(now - this.started, 1) / 1000
    const rows = this.counter.rows
    const bytes = `${formatBytes(this.bytes)}, ${formatBytes(this.bytes / seconds)}/s`
    if (rows === undefined) return `COPY ${this.options.direction}: ${bytes}`
    return `COPY ${this.options.direction}: ${rows} rows, ${bytes}, ${Math.round(rows / seconds)} rows/s`
  }

  /** Erases the status line and returns the summary (with `rows` when the server reported them). */
  finish(rows?: number): string {
    if (this.drawn) this.options.write("\r\x1b[K")
    this.drawn = false
    return summaryLine(rows ?? this.counter.rows, this.bytes, this.options.now() - this.started)
  }
}
