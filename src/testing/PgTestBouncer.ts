/**
 * `PgTestBouncer`: a throwaway PgBouncer in front of test servers, in session, transaction or
 * statement pooling mode.
 *
 * Does: finds the `pgbouncer` binary (the `binary` option, `PGBOUNCER_BIN`, PATH, `/usr/sbin`;
 * Debian: `apt-get install pgbouncer`), writes its configuration (BouncerConfig.ts) into a
 * directory of the Scope, runs it in the foreground as the unprivileged run-as user when the
 * process is root (PgBouncer refuses root), under the same parent-death signal as the servers,
 * on a free port (another one when the port was taken meanwhile), waits until it accepts
 * connections, and offers its admin console (`SHOW POOLS`...), its log and stop/restart.
 * Authentication mirrors the servers' roles: `auth_user = postgres` fetches each role's secret
 * with PgBouncer's default `auth_query`, so SCRAM and MD5 pass through, roles a test creates
 * work too, and `pw_user` (cleartext on the server) is in the auth file with its password.
 * Does NOT: start PostgreSQL (pass servers of PgTestServer or PgTestReplication), offer TLS
 * between client and PgBouncer, or use Effect's Clock (real timers, as the rest of the harness).
 * Invariants: the process is stopped (SIGTERM: immediate shutdown, then SIGKILL) and the directory
 * removed when the Scope closes, on success, failure and interruption; it is spawned in the same
 * synchronous step that registers it for that.
 */
import { execFile } from "node:child_process"
import { closeSync, fstatSync, openSync } from "node:fs"
import { readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { resolve } from "node:path"
import { Context, Duration, Effect, Layer, Option, type Scope, Semaphore } from "effect"
import { connect, type NormalConnection } from "../Connection.ts"
import type { StatementResult } from "../Result.ts"
import {
  type BouncerDatabase,
  type BouncerPoolMode,
  bouncerHba,
  bouncerIni,
  bouncerUsers,
  validateBouncerOptions
} from "./BouncerConfig.ts"
import { checkTraversable, freePort, readLogFrom, StartFailure, tcpConnects } from "./Cluster.ts"
import type { SettingValue } from "./ClusterConfig.ts"
import type { Env } from "./External.ts"
import { clusterDir } from "./LocalServer.ts"
import { fromUnknown, PgTestServerError } from "./PgTestServerError.ts"
import { type ChildHandle, type RunAs, resolveRunAs, spawnChild, stopChild } from "./Process.ts"

export type { BouncerDatabase as PgTestBouncerDatabase, BouncerPoolMode as PgTestBouncerPoolMode }

export interface PgTestBouncerOptions {
  /** The server every database name goes to (`* = host=… port=…`), unless `databases` names it. */
  readonly server?: { readonly host: string; readonly port: number }
  /** Named entries, e.g. `{ primary: rep.primary, standby: { server: rep.standby, poolSize: 1 } }`. */
  readonly databases?: Readonly<
    Record<string, { readonly host: string; readonly port: number } | BouncerDatabase>
  >
  /** `pool_mode` (default "transaction"). */
  readonly poolMode?: BouncerPoolMode
  /** `default_pool_size` (default 5): server connections per database and user. */
  readonly poolSize?: number
  /** Extra `[pgbouncer]` settings; they win over the defaults. */
  readonly settings?: Readonly<Record<string, SettingValue>>
  /** The `pgbouncer` executable; wins over `PGBOUNCER_BIN` and the PATH lookup. */
  readonly binary?: string
  /** Where PGBOUNCER_BIN and PATH are read from (default `process.env`). */
  readonly env?: Env
  /** When the process is root, the user that runs PgBouncer (default "pgtest", created if missing). */
  readonly runAs?: string
  readonly tmpDir?: string
  /** How long to wait for PgBouncer to accept connections (default 30 s); also how long a stop may take. */
  readonly startTimeout?: Duration.Input
}

export interface PgTestBouncerInfo {
  readonly host: "127.0.0.1"
  readonly port: number
  readonly socketDir: string
  readonly poolMode: BouncerPoolMode
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (add `?max_protocol_version=3.0` below 1.22: see docs/ha.md). */
  readonly url: string
  /** As `pgbouncer --version` prints it, e.g. "1.18.0". */
  readonly version: string
  readonly configFile: string
  readonly logFile: string
  readonly readLog: Effect.Effect<string, PgTestServerError>
  /** One admin-console command (`SHOW POOLS`, `RELOAD`, `PAUSE`...) as `postgres` on the `pgbouncer` database. */
  readonly admin: (command: string) => Effect.Effect<StatementResult, PgTestServerError>
  /** Stops PgBouncer (clients are disconnected); `restart` starts it again on the same port. */
  readonly stop: Effect.Effect<void>
  readonly restart: Effect.Effect<void, PgTestServerError>
}

const bouncerError = (message: string, cause?: unknown) =>
  new PgTestServerError({ reason: "Bouncer", message, ...(cause === undefined ? {} : { cause }) })

const execText = (file: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    execFile(file, args, { timeout: 30_000 }, (error, stdout, stderr) =>
      error === null
        ? resolvePromise(String(stdout))
        : reject(new Error(String(stderr).trim() || error.message))
    )
  })

/** The executable and its version; the error names every place tried and the install command. */
export const findBouncer = async (
  binary: string | undefined,
  env: Env
): Promise<{ readonly path: string; readonly version: string }> => {
  const path = env.PATH ?? ""
  const candidates = [
    binary,
    env.PGBOUNCER_BIN,
    ...path.split(":").map((dir) => (dir === "" ? undefined : `${dir}/pgbouncer`)),
    "/usr/sbin/pgbouncer",
    "/usr/bin/pgbouncer"
  ].filter((candidate): candidate is string => candidate !== undefined && candidate !== "")
  const tried: Array<string> = []
  for (const candidate of new Set(candidates)) {
    try {
      const output = await execText(candidate, ["--version"])
      const match = /PgBouncer (\d+\.\d+(?:\.\d+)?)/.exec(output)
      if (match !== null) return { path: candidate, version: match[1]! }
      tried.push(`${candidate}: unrecognised version output`)
    } catch (error) {
      tried.push(`${candidate}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`)
    }
    // An explicit binary that does not work is an error, not a reason to look elsewhere.
    if (candidate === binary || candidate === env.PGBOUNCER_BIN) break
  }
  throw bouncerError(
    `no working pgbouncer found. Tried:\n  ${tried.join("\n  ")}\n` +
      "Install it (Debian: apt-get install pgbouncer), or pass binary / set PGBOUNCER_BIN."
  )
}

const portTaken = /Address already in use|bind\(\) failed|could not bind/i

/** Waits until PgBouncer accepts TCP connections; rejects with StartFailure when it exits first. */
const waitListening = async (
  handle: ChildHandle,
  logFile: string,
  offset: number,
  port: number,
  timeoutMs: number
) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const exit = handle.exitInfo()
    if (exit !== undefined) {
      const log = await readLogFrom(logFile, offset)
      throw new StartFailure(
        `pgbouncer exited during start (exit ${exit.code ?? exit.signal}):\n${log.trim()}`,
        portTaken.test(log)
      )
    }
    if (await tcpConnects(port)) return
    if (Date.now() > deadline) {
      throw new StartFailure(
        `pgbouncer was not listening after ${timeoutMs} ms:\n${(await readLogFrom(logFile, offset)).trim()}`,
        false
      )
    }
    await new Promise((r) => setTimeout(r, 10))
  }
}

interface Process {
  handle: ChildHandle | undefined
  closed: boolean
}

const stopProcess = (proc: Process, timeoutMs: number) =>
  Effect.promise(async () => {
    const handle = proc.handle
    if (handle !== undefined) await stopChild(handle, [["SIGTERM", timeoutMs]])
    proc.handle = undefined
  })

/** Writes the configuration for `port`, launches PgBouncer and waits for it. */
const launch = (
  proc: Process,
  bin: string,
  runAs: RunAs | undefined,
  files: { readonly root: string; readonly logFile: string; readonly configFile: string },
  ini: (port: number) => string,
  port: number,
  timeoutMs: number
) =>
  Effect.tryPromise({
    try: async () => {
      await writeFile(files.configFile, ini(port), { mode: 0o644 })
      if (proc.closed) throw new Error("the scope is closed")
      const fd = openSync(files.logFile, "a")
      let offset: number
      try {
        offset = fstatSync(fd).size
        proc.handle = spawnChild(runAs, bin, [files.configFile], {
          stdio: ["ignore", fd, fd],
          cwd: files.root
        })
      } finally {
        closeSync(fd)
      }
      await waitListening(proc.handle, files.logFile, offset, port, timeoutMs)
    },
    catch: (error) =>
      error instanceof StartFailure ? error : fromUnknown("Bouncer", "starting pgbouncer")(error)
  }).pipe(Effect.tapError(() => stopProcess(proc, 2_000)))

/** Starts PgBouncer for the lifetime of the current Scope. */
export const start: (
  options: PgTestBouncerOptions
) => Effect.Effect<PgTestBouncerInfo, PgTestServerError, Scope.Scope> = Effect.fn("PgTestBouncer.start")(
  function* (options: PgTestBouncerOptions) {
    const invalid = validateBouncerOptions(options)
    if (invalid !== undefined)
      return yield* new PgTestServerError({ reason: "InvalidOptions", message: invalid })
    const timeout = options.startTimeout === undefined ? undefined : Duration.fromInput(options.startTimeout)
    if (timeout !== undefined && (Option.isNone(timeout) || Duration.toMillis(timeout.value) <= 0)) {
      return yield* new PgTestServerError({
        reason: "InvalidOptions",
        message: "startTimeout must be a positive duration"
      })
    }
    const timeoutMs = timeout === undefined ? 30_000 : Duration.toMillis(timeout.value)
    const env = options.env ?? process.env
    const found = yield* Effect.tryPromise({
      try: () => findBouncer(options.binary, env),
      catch: fromUnknown("Bouncer", "looking for pgbouncer")
    })
    const runAs = yield* Effect.tryPromise({
      try: () => resolveRunAs(options.runAs ?? "pgtest"),
      catch: fromUnknown("UserSetup", "resolving the run-as user")
    })
    const tmpRoot = resolve(options.tmpDir ?? tmpdir())
    yield* Effect.tryPromise({
      try: () => checkTraversable(tmpRoot, runAs, "pass another tmpDir"),
      catch: fromUnknown("Filesystem", "checking directory permissions")
    })
    const paths = yield* clusterDir(tmpRoot, runAs)
    const files = { root: paths.root, logFile: paths.logFile, configFile: `${paths.root}/pgbouncer.ini` }
    const poolMode = options.poolMode ?? "transaction"
    yield* Effect.tryPromise({
      try: async () => {
        await writeFile(`${paths.root}/hba.conf`, bouncerHba(), { mode: 0o644 })
        await writeFile(`${paths.root}/userlist.txt`, bouncerUsers(), { mode: 0o644 })
      },
      catch: fromUnknown("Filesystem", "writing the pgbouncer configuration")
    })
    const ini = (port: number) =>
      bouncerIni({ ...options, poolMode, port, root: paths.root, socketDir: paths.socketDir })
    const proc: Process = { handle: undefined, closed: false }
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        proc.closed = true
        return stopProcess(proc, timeoutMs)
      })
    )
    let port = 0
    for (let attempt = 1; ; attempt++) {
      port = yield* Effect.tryPromise({ try: freePort, catch: fromUnknown("Bouncer", "finding a free port") })
      const result = yield* Effect.result(launch(proc, found.path, runAs, files, ini, port, timeoutMs))
      if (result._tag === "Success") break
      const error = result.failure
      if (error instanceof StartFailure && error.portInUse && attempt < 6) continue
      return yield* error instanceof StartFailure ? bouncerError(error.message, error) : error
    }
    const lock = yield* Semaphore.make(1)
    const admin = (command: string) =>
      Effect.scoped(
        Effect.gen(function* () {
          const connection: NormalConnection = yield* connect({
            host: "127.0.0.1",
            port,
            database: "pgbouncer",
            user: "postgres",
            sslmode: "disable",
            maxProtocolVersion: "3.0"
          })
          const result = yield* connection.simpleQuery(command)
          return result.results[0] ?? { columns: [], rows: [], command: undefined }
        })
      ).pipe(Effect.mapError(fromUnknown("Bouncer", `pgbouncer admin: ${command}`)))
    const info: PgTestBouncerInfo = {
      host: "127.0.0.1",
      port,
      socketDir: paths.socketDir,
      poolMode,
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      version: found.version,
      configFile: files.configFile,
      logFile: files.logFile,
      readLog: Effect.tryPromise({
        try: () => readFile(files.logFile, "utf8"),
        catch: fromUnknown("Filesystem", "reading the pgbouncer log")
      }),
      admin,
      stop: lock.withPermit(stopProcess(proc, timeoutMs)),
      restart: lock.withPermit(
        Effect.gen(function* () {
          yield* stopProcess(proc, timeoutMs)
          yield* launch(proc, found.path, runAs, files, ini, port, timeoutMs).pipe(
            Effect.mapError((error) =>
              error instanceof StartFailure ? bouncerError(error.message, error) : error
            )
          )
        })
      )
    }
    return info
  }
)

/** A PgBouncer as a service, for layers that build it from a server (see docs/testing.md). */
export class PgTestBouncer extends Context.Service<PgTestBouncer, PgTestBouncerInfo>()(
  "effect-pg/testing/PgTestBouncer"
) {}

/** PgBouncer for the lifetime of the Layer; `options` may read other services (a server). */
export const layer = <E, R>(
  options: Effect.Effect<PgTestBouncerOptions, E, R>
): Layer.Layer<PgTestBouncer, PgTestServerError | E, R> =>
  Layer.effect(PgTestBouncer, Effect.flatMap(options, start))
