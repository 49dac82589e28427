/**
 * A local throwaway cluster as a scoped Effect resource.
 *
 * Does: ties every step of Cluster.ts to the caller's Scope: the directory is removed, and every
 * process (initdb, single-user setup, postmaster) is stopped, when the Scope closes, whether by
 * success, failure or interruption (also while starting). Provides stop, restart (same port),
 * backend signals and log reading on top. A cluster can be prepared (made, not started), copied
 * while it is shut down cleanly (the base of a streaming standby, Replication.ts), and started.
 * Does NOT: use Effect's Clock: all waiting is done with real timers, because @effect/vitest
 * provides a TestClock (also to layers) under which a Clock-based wait would never end.
 * Invariants: a process is spawned inside `Effect.try`/`Effect.sync` (atomic), after the finalizer
 * that stops it is registered, so no interruption point lies between spawning and being tracked;
 * the directory finalizer is registered before anything is written into it and runs after the
 * server finalizer (Scope finalizers run in reverse order).
 */
import { readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Effect, type Scope, Semaphore } from "effect"
import type { PgBinaries } from "./Binaries.ts"
import {
  type ClusterPaths,
  checkTraversable,
  DIR_PREFIX,
  freePort,
  launchPostgres,
  makeClusterDir,
  runTool,
  StartFailure,
  spawnInitdb,
  spawnSingleUser,
  sweepStale,
  waitReady,
  writeDataFile
} from "./Cluster.ts"
import { hbaConf, postgresqlConf, roles, rolesSql, type SettingValue } from "./ClusterConfig.ts"
import { fromUnknown, PgTestServerError } from "./PgTestServerError.ts"
import {
  type ChildHandle,
  type RunAs,
  resolveRunAs,
  spawnChild,
  stopChild,
  unregisterDir
} from "./Process.ts"
import type { PgTestLocalServer, PgTestRestartMode } from "./ServerInfo.ts"
import { type PgTestTls, type TlsKeyType, tlsPems, writeTlsFiles } from "./Tls.ts"

export interface LocalServerOptions {
  readonly bins: PgBinaries
  readonly runAsName: string
  readonly tmpRoot: string | undefined
  readonly tls: TlsKeyType | undefined
  readonly settings: Readonly<Record<string, SettingValue>>
  readonly hba: ReadonlyArray<string>
  readonly startTimeoutMs: number
  readonly stopTimeoutMs: number
}

const PORT_ATTEMPTS = 6
const swept = new Set<string>()

/** Runs a short-lived tool; its process is killed if the Scope closes first. */
const runScopedTool = (
  spawnIt: () => ChildHandle,
  reason: "Initdb" | "Setup",
  what: string,
  stdin?: string
): Effect.Effect<string, PgTestServerError> =>
  Effect.scoped(
    Effect.flatMap(
      Effect.acquireRelease(Effect.sync(spawnIt), (handle) =>
        Effect.promise(() => stopChild(handle, [["SIGQUIT", 2_000]]))
      ),
      (handle) =>
        Effect.tryPromise({
          try: () => runTool(handle, reason, what, stdin),
          catch: fromUnknown(reason, what)
        })
    )
  )

/** A cluster directory (Cluster.ts) that is removed when the current Scope closes. */
export const clusterDir = (tmpRoot: string, runAs: RunAs | undefined) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => makeClusterDir(tmpRoot, runAs),
      catch: fromUnknown("Filesystem", `creating a cluster directory under ${tmpRoot}`)
    }),
    (paths) =>
      Effect.promise(async () => {
        await rm(paths.root, { recursive: true, force: true, maxRetries: 3 })
        unregisterDir(paths.root)
      })
  )

interface Slot {
  handle: ChildHandle | undefined
  port: number
  /** Set by the Scope's finalizer: no (re)start may launch a postmaster afterwards. */
  closed: boolean
}

const stopLadder = (
  mode: PgTestRestartMode,
  timeoutMs: number
): ReadonlyArray<readonly [NodeJS.Signals, number]> =>
  mode === "fast"
    ? [
        ["SIGINT", timeoutMs],
        ["SIGQUIT", 5_000]
      ]
    : [["SIGQUIT", timeoutMs]]

const stopSlot = (slot: Slot, mode: PgTestRestartMode, timeoutMs: number) =>
  Effect.promise(async () => {
    const handle = slot.handle
    if (handle !== undefined) await stopChild(handle, stopLadder(mode, timeoutMs))
    slot.handle = undefined
  })

/** Launches the postmaster on `port` and waits until it is ready; on failure it is stopped again. */
const startOn = (
  slot: Slot,
  port: number,
  bins: PgBinaries,
  runAs: RunAs | undefined,
  paths: ClusterPaths,
  options: LocalServerOptions
): Effect.Effect<void, StartFailure | PgTestServerError> =>
  Effect.gen(function* () {
    const launched = yield* Effect.try({
      try: () => {
        if (slot.closed) throw new Error("the server's scope is closed")
        const result = launchPostgres(bins, runAs, paths, port)
        slot.handle = result.handle
        slot.port = port
        return result
      },
      catch: fromUnknown("Start", "launching postgres")
    })
    yield* Effect.tryPromise({
      try: (signal) =>
        waitReady(launched.handle, paths.logFile, launched.logOffset, port, options.startTimeoutMs, signal),
      catch: (error) =>
        error instanceof StartFailure ? error : fromUnknown("Start", "waiting for postgres")(error)
    }).pipe(Effect.tapError(() => stopSlot(slot, "immediate", 2_000)))
  })

const startFirst = (
  slot: Slot,
  bins: PgBinaries,
  runAs: RunAs | undefined,
  paths: ClusterPaths,
  options: LocalServerOptions
) =>
  Effect.gen(function* () {
    for (let attempt = 1; ; attempt++) {
      const port = yield* Effect.tryPromise({
        try: freePort,
        catch: fromUnknown("Start", "finding a free port")
      })
      const result = yield* Effect.result(startOn(slot, port, bins, runAs, paths, options))
      if (result._tag === "Success") return
      const error = result.failure
      // Another process took the port between our probe and the server's bind: pick another.
      if (error instanceof StartFailure && error.portInUse && attempt < PORT_ATTEMPTS) continue
      return yield* new PgTestServerError({
        reason: "Start",
        message: error.message,
        cause: error
      })
    }
  })

const procPpid = async (pid: number): Promise<number | undefined> => {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8")
    const match = /^PPid:\s+(\d+)/m.exec(status)
    return match === null ? undefined : Number(match[1])
  } catch {
    return undefined
  }
}

const signalBackend = (slot: Slot, backendPid: number, name: NodeJS.Signals, what: string) =>
  Effect.tryPromise({
    try: async () => {
      const postmaster = slot.handle?.pid
      if (!Number.isInteger(backendPid) || backendPid <= 0) throw new Error(`invalid pid ${backendPid}`)
      if (postmaster === undefined) throw new Error("the server is not running")
      // Never signal an unrelated process: a backend is a direct child of the postmaster.
      if ((await procPpid(backendPid)) !== postmaster) {
        throw new Error(`pid ${backendPid} is not a backend of this server (postmaster ${postmaster})`)
      }
      process.kill(backendPid, name)
    },
    catch: fromUnknown("Signal", what)
  })

/** A cluster made and configured but not started yet (its data directory is shut down cleanly). */
export interface PreparedCluster {
  readonly options: LocalServerOptions
  readonly runAs: RunAs | undefined
  readonly tmpRoot: string
  readonly paths: ClusterPaths
  readonly tls: PgTestTls | undefined
}

/** Checks the temp directory and the run-as user; sweeps directories of dead test processes once. */
const checkPlace = (options: LocalServerOptions) =>
  Effect.gen(function* () {
    const tmpRoot = resolve(options.tmpRoot ?? tmpdir())
    // sockaddr_un.sun_path holds 107 bytes plus NUL; PostgreSQL refuses longer socket paths.
    const socketPathLength = join(tmpRoot, `${DIR_PREFIX}XXXXXX`, "run", ".s.PGSQL.65535").length
    if (socketPathLength > 107) {
      return yield* new PgTestServerError({
        reason: "InvalidOptions",
        message: `the socket path under ${tmpRoot} would be ${socketPathLength} bytes (max 107): pass a shorter tmpDir`
      })
    }
    const runAs = yield* Effect.tryPromise({
      try: () => resolveRunAs(options.runAsName),
      catch: fromUnknown("UserSetup", "resolving the run-as user")
    })
    yield* Effect.tryPromise({
      try: async () => {
        await checkTraversable(options.bins.binDir, runAs, "install the binaries elsewhere and set PG_BIN")
        await checkTraversable(tmpRoot, runAs, "pass another tmpDir")
      },
      catch: fromUnknown("Filesystem", "checking directory permissions")
    })
    if (!swept.has(tmpRoot)) {
      swept.add(tmpRoot)
      yield* Effect.promise(() => sweepStale(tmpRoot))
    }
    return { tmpRoot, runAs }
  })

/**
 * Makes a cluster in a directory of the current Scope: initdb (with the TLS material generated
 * meanwhile), the roles in single-user mode, postgresql.conf and pg_hba.conf. Nothing runs afterwards.
 */
export const prepareLocal = (
  options: LocalServerOptions
): Effect.Effect<PreparedCluster, PgTestServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const { bins } = options
    const { tmpRoot, runAs } = yield* checkPlace(options)
    const paths = yield* clusterDir(tmpRoot, runAs)
    const tlsKeyType = options.tls
    const [, pems] = yield* Effect.all(
      [
        runScopedTool(() => spawnInitdb(bins, runAs, paths.dataDir), "Initdb", "initdb"),
        tlsKeyType === undefined
          ? Effect.void
          : Effect.tryPromise({
              try: () => tlsPems(tlsKeyType),
              catch: fromUnknown("Tls", "generating TLS material")
            })
      ],
      { concurrency: 2 }
    )
    // Roles first, with initdb's own configuration: a bad user setting then fails the start
    // (with the server's message), not the setup.
    yield* runScopedTool(
      () => spawnSingleUser(bins, runAs, paths.dataDir),
      "Setup",
      "creating roles",
      rolesSql()
    )
    const tls: PgTestTls | undefined = yield* Effect.tryPromise({
      try: async () => {
        const conf = postgresqlConf({
          socketDir: paths.socketDir,
          tls: pems !== undefined,
          settings: options.settings
        })
        await writeDataFile(`${paths.dataDir}/postgresql.conf`, conf, runAs, true)
        const hba = hbaConf({ tls: pems !== undefined, extra: options.hba })
        await writeDataFile(`${paths.dataDir}/pg_hba.conf`, hba, runAs, false)
        return pems === undefined ? undefined : writeTlsFiles(pems, paths.dataDir, paths.root, runAs)
      },
      catch: fromUnknown("Filesystem", "writing the cluster configuration")
    })
    return { options, runAs, tmpRoot, paths, tls }
  })

/**
 * A copy of a prepared (not yet started) cluster in a new directory of the current Scope: the
 * same system identifier and checkpoint, so it can stream from the original as a standby. The
 * copy's socket directory is its own.
 */
export const copyPrepared = (
  source: PreparedCluster
): Effect.Effect<PreparedCluster, PgTestServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const paths = yield* clusterDir(source.tmpRoot, source.runAs)
    yield* runScopedTool(
      () =>
        spawnChild(source.runAs, "cp", ["-a", `${source.paths.dataDir}/.`, `${paths.dataDir}/`], {
          stdio: ["ignore", "pipe", "pipe"],
          cwd: paths.root
        }),
      "Setup",
      "copying the data directory"
    )
    yield* Effect.tryPromise({
      try: () => {
        const conf = `\n# added by effect-pg/testing (copy)\nunix_socket_directories = '${paths.socketDir}'\n`
        return writeDataFile(`${paths.dataDir}/postgresql.conf`, conf, source.runAs, true)
      },
      catch: fromUnknown("Filesystem", "configuring the copied cluster")
    })
    // The server's TLS files came with the data directory; the client's are the original's.
    return { ...source, paths }
  })

/** Starts a prepared cluster on a free port; it is stopped when the current Scope closes. */
export const runPrepared = (
  prepared: PreparedCluster
): Effect.Effect<PgTestLocalServer, PgTestServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const { options, runAs, paths, tls } = prepared
    const { bins } = options
    const slot: Slot = { handle: undefined, port: 0, closed: false }
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        slot.closed = true
        return stopSlot(slot, "fast", options.stopTimeoutMs)
      })
    )
    yield* startFirst(slot, bins, runAs, paths, options)

    const lock = yield* Semaphore.make(1)
    const stop = (stopOptions?: { readonly mode?: PgTestRestartMode }) =>
      lock.withPermit(stopSlot(slot, stopOptions?.mode ?? "fast", options.stopTimeoutMs))
    const restart = (restartOptions?: { readonly mode?: PgTestRestartMode }) =>
      lock.withPermit(
        Effect.gen(function* () {
          yield* stopSlot(slot, restartOptions?.mode ?? "fast", options.stopTimeoutMs)
          yield* startOn(slot, slot.port, bins, runAs, paths, options).pipe(
            Effect.mapError((error) =>
              error instanceof StartFailure
                ? new PgTestServerError({
                    reason: "Start",
                    message: `restart: ${error.message}`,
                    cause: error
                  })
                : error
            )
          )
        })
      )
    const url = `postgres://postgres@127.0.0.1:${slot.port}/postgres`
    const server: PgTestLocalServer = {
      source: "local",
      version: bins.version,
      versionString: bins.versionString,
      host: "127.0.0.1",
      port: slot.port,
      database: "postgres",
      user: "postgres",
      url,
      socketDir: paths.socketDir,
      roles,
      ...(tls === undefined ? {} : { tls }),
      binDir: bins.binDir,
      dataDir: paths.dataDir,
      logFile: paths.logFile,
      readLog: Effect.tryPromise({
        try: () => readFile(paths.logFile, "utf8"),
        catch: fromUnknown("Filesystem", "reading the server log")
      }),
      pid: Effect.suspend(() => {
        const pid = slot.handle?.pid
        return pid === undefined
          ? Effect.fail(new PgTestServerError({ reason: "Signal", message: "the server is not running" }))
          : Effect.succeed(pid)
      }),
      terminateBackend: (backendPid) => signalBackend(slot, backendPid, "SIGTERM", "terminateBackend"),
      cancelBackend: (backendPid) => signalBackend(slot, backendPid, "SIGINT", "cancelBackend"),
      stop,
      restart
    }
    return server
  })

/** Starts a local cluster whose lifetime is the current Scope. */
export const startLocal = (
  options: LocalServerOptions
): Effect.Effect<PgTestLocalServer, PgTestServerError, Scope.Scope> =>
  Effect.flatMap(prepareLocal(options), runPrepared)
