/**
 * The CLI's `--copy-in` and `--copy-out`: psql's `\copy`, through the library's copyIn/copyOut.
 *
 * Does: streams a file (or stdin) into `COPY … FROM STDIN` with backpressure, and `COPY … TO
 * STDOUT` into a file (or stdout), one write per batch the connection delivers; opens the file
 * first, so a missing or unwritable file fails before the COPY is sent; feeds the progress line
 * (progress.ts) and returns the summary: for COPY IN the row count is the server's command tag,
 * for COPY OUT the rows counted in the data (none for binary).
 * Does NOT: parse or convert the data (it passes through as bytes: text, CSV or binary as the
 * COPY options say), print anything but the progress line, or retry. An output file that was
 * created stays (possibly partial) when the COPY fails, as with psql.
 */
import * as fs from "node:fs/promises"
import { performance } from "node:perf_hooks"
import { Effect, Stream } from "effect"
import type { NormalConnection } from "../Connection.ts"
import type { PgError } from "../Errors.ts"
import type { CopyData } from "./args.ts"
import { CliError, describe } from "./errors.ts"
import { Progress } from "./progress.ts"

const ioError = (what: "read" | "write", file: string) => (cause: unknown) =>
  new CliError({
    message: `cannot ${what} ${file === "-" ? (what === "read" ? "stdin" : "stdout") : file}: ${describe(cause)}`
  })

const progressFor = (direction: string, data: CopyData) =>
  new Progress({
    direction,
    data,
    tty: process.stderr.isTTY === true,
    write: (text) => process.stderr.write(text),
    now: () => performance.now()
  })

const toBytes = (chunk: unknown): Uint8Array =>
  typeof chunk === "string" ? new TextEncoder().encode(chunk) : (chunk as Uint8Array)

/**
 * Runs `use` with `file` opened for reading or writing (undefined for "-": stdin or stdout), and
 * with the progress of the COPY; erases the progress line when `use` fails. Closes the file.
 */
const withFile = <A>(
  file: string,
  mode: "read" | "write",
  data: CopyData,
  use: (handle: fs.FileHandle | undefined, progress: Progress) => Effect.Effect<A, PgError | CliError>
): Effect.Effect<A, PgError | CliError> =>
  Effect.acquireUseRelease(
    file === "-"
      ? Effect.succeed(undefined)
      : Effect.tryPromise({
          try: () => fs.open(file, mode === "read" ? "r" : "w"),
          catch: ioError(mode, file)
        }),
    (handle) => {
      const progress = progressFor(mode === "read" ? "in" : "out", data)
      return Effect.onError(use(handle, progress), () => Effect.sync(() => progress.finish()))
    },
    (handle) =>
      handle === undefined ? Effect.void : Effect.promise(() => handle.close().catch(() => undefined))
  )

/** Runs `sql` (a COPY … FROM STDIN) with the bytes of `file`; the summary line. */
export const copyIn = (
  conn: NormalConnection,
  sql: string,
  file: string,
  data: CopyData
): Effect.Effect<string, PgError | CliError> =>
  withFile(file, "read", data, (handle, progress) => {
    const readable = handle === undefined ? process.stdin : handle.createReadStream({ autoClose: false })
    const source = Stream.fromAsyncIterable(readable as AsyncIterable<unknown>, ioError("read", file)).pipe(
      Stream.map((chunk) => {
        const bytes = toBytes(chunk)
        progress.add(bytes)
        return bytes
      })
    )
    return Effect.map(conn.copyIn(sql, source), (done) => progress.finish(done.rows))
  })

/** Runs `sql` (a COPY … TO STDOUT) into `file`; the summary line. */
export const copyOut = (
  conn: NormalConnection,
  sql: string,
  file: string,
  data: CopyData
): Effect.Effect<string, PgError | CliError> =>
  withFile(file, "write", data, (handle, progress) => {
    const write = (bytes: Uint8Array): Promise<unknown> =>
      handle === undefined
        ? new Promise<void>((resolve, reject) =>
            process.stdout.write(bytes, (error) => (error ? reject(error) : resolve()))
          )
        : handle.write(bytes)
    const copied = Stream.runForEachArray(conn.copyOut(sql), (chunks) => {
      for (const chunk of chunks) progress.add(chunk)
      const batch = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
      return Effect.tryPromise({ try: () => write(batch), catch: ioError("write", file) })
    })
    return Effect.map(copied, () => progress.finish())
  })
