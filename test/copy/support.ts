/**
 * Shared helpers of the COPY integration tests (test/copy/*.integration.test.ts).
 *
 * Does: connects to the suite's test server; lists the "nasty" values every round trip must
 * carry unchanged; builds a COPY binary payload by hand (header, flags, extension, tuples,
 * trailer), so binary pass-through is checked against bytes the test wrote, not bytes a client made;
 * cuts a byte array into chunks of a given size; reads the server log lines of one backend.
 * Does NOT: assert, or start servers (each test file starts its own through effect-pg/testing).
 * Invariants: every value in `nastyValues` is a valid PostgreSQL text value (no NUL).
 */
import { Duration, Effect, Stream } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer, type PgTestServerInfo } from "../../src/testing/index.ts"
import { concat } from "../support/FakeMessages.ts"

export const connect = Effect.gen(function* () {
  const server = yield* PgTestServer.PgTestServer
  return yield* Expert.connect(server.url)
})

/** Fails (as a defect) when `effect` takes longer than `seconds`: no test may hang. */
export const bounded = <A, E, R>(what: string, seconds: number, effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(effect, {
    duration: Duration.seconds(seconds),
    orElse: () => Effect.die(new Error(`${what}: still waiting after ${seconds} s`))
  })

/**
 * The server log lines of backend `pid` (the harness logs with prefix "%m [%p] "). The backend
 * writes them itself, so they may lag the client: wait (bounded) until `until` holds.
 */
export const backendLog = (
  server: PgTestServerInfo,
  pid: number,
  until: (lines: string) => boolean
): Effect.Effect<string> =>
  bounded(
    `log of backend ${pid}`,
    15,
    Effect.gen(function* () {
      if (server.readLog === undefined) return yield* Effect.die(new Error("needs a local test server"))
      for (;;) {
        const lines = (yield* Effect.orDie(server.readLog))
          .split("\n")
          .filter((line) => line.includes(` [${pid}] `))
          .join("\n")
        if (until(lines)) return lines
        yield* Effect.sleep("25 millis")
      }
    })
  )

/** Values that COPY text format must escape, or that look like its syntax. */
export const nastyValues: ReadonlyArray<string | null> = [
  "plain",
  "tab\there",
  "new\nline",
  "carriage\rreturn",
  "crlf\r\nend",
  "back\\slash",
  "\\N",
  "\\.",
  "\\",
  "trailing backslash\\",
  "",
  null,
  "é ü 日本語 🎉",
  "\u0001\u0008\u000b\u000c\u007f",
  "quote ' and \" and ;",
  " leading and trailing spaces ",
  "\\t not a tab",
  "x".repeat(70_000)
]

/** Cuts `bytes` into chunks of `size` bytes (the last one may be shorter). */
export const chunksOf = (bytes: Uint8Array, size: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, Math.min(bytes.length, i + size)))
  return out
}

export const bytesStream = (chunks: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  Stream.fromIterable(chunks)

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/**
 * A COPY BINARY payload for rows of (int4, text), built by hand (sql-copy.html, "Binary Format"):
 * the 11-byte signature `PGCOPY\n\377\r\n\0`, int32 flags 0, int32 header extension length, the
 * extension bytes, then per tuple an int16 field count and per field an int32 length (-1 = null)
 * and the bytes, then the int16 trailer -1.
 */
export const binaryCopy = (
  rows: ReadonlyArray<readonly [number | null, string | null]>,
  extension: Uint8Array = new Uint8Array(0)
): Uint8Array => {
  const parts: Array<number> = []
  const int16 = (n: number) => parts.push((n >> 8) & 0xff, n & 0xff)
  const int32 = (n: number) => parts.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
  parts.push(0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00)
  int32(0)
  int32(extension.length)
  parts.push(...extension)
  for (const [n, s] of rows) {
    int16(2)
    if (n === null) int32(-1)
    else {
      int32(4)
      int32(n)
    }
    if (s === null) int32(-1)
    else {
      const b = utf8(s)
      int32(b.length)
      for (const x of b) parts.push(x)
    }
  }
  int16(-1)
  return Uint8Array.from(parts)
}

/** Collects a byte stream into one array. */
export const collectBytes = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Effect.map(Stream.runCollect(stream), concat)
