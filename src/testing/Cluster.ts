/**
 * The steps that make a local cluster, as plain async functions (LocalServer.ts adds the Effect
 * scoping around them).
 *
 * Does: creates the cluster directory (`<tmp>/effect-pg-XXXXXX/{data,run,server.log}`), sweeps
 * directories left behind by dead processes, runs `initdb`, writes the configuration, runs setup
 * SQL in single-user mode, picks free ports, launches `postgres` in the foreground and waits until
 * it is ready ("ready to accept connections" in its log AND a TCP connect succeeds).
 * Does NOT: decide lifetimes (no finalizers here) or talk the PostgreSQL protocol.
 * Invariants: the top directory is owned by the current process (0755) and holds the log and client
 * files; `data` and `run` (the socket dir) belong to the run-as user; the server writes its log
 * straight into the file (no pipe to fill up while the test process is busy).
 */
import { closeSync, fstatSync, openSync, readFileSync, readlinkSync } from "node:fs"
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import { createConnection, createServer } from "node:net"
import { dirname, join } from "node:path"
import type { PgBinaries } from "./Binaries.ts"
import { PgTestServerError } from "./PgTestServerError.ts"
import {
  type ChildHandle,
  collectOutput,
  isRunning,
  type RunAs,
  registerDir,
  signal,
  spawnChild
} from "./Process.ts"

export const DIR_PREFIX = "effect-pg-"

export interface ClusterPaths {
  readonly root: string
  readonly dataDir: string
  readonly socketDir: string
  readonly logFile: string
}

/** Identity of the current process that survives pid reuse: pid, start time, pid namespace. */
const ownerStamp = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const startTime = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
    return `${pid} ${startTime} ${readlinkSync(`/proc/${pid}/ns/pid`)}`
  } catch {
    return undefined
  }
}

/**
 * Removes `effect-pg-*` directories whose owner process is gone (it was SIGKILLed: pdeathsig
 * stopped its servers but nothing removed the files). Only directories stamped by a process in the
 * same pid namespace are considered; a still-running postmaster in one is sent SIGQUIT first.
 */
export const sweepStale = async (tmpRoot: string): Promise<ReadonlyArray<string>> => {
  const self = ownerStamp(process.pid)
  if (self === undefined) return []
  const namespace = self.split(" ")[2]
  const removed: Array<string> = []
  let entries: Array<string>
  try {
    entries = await readdir(tmpRoot)
  } catch {
    return []
  }
  for (const entry of entries) {
    if (!entry.startsWith(DIR_PREFIX)) continue
    const dir = join(tmpRoot, entry)
    try {
      const stamp = (await readFile(join(dir, "owner"), "utf8")).trim()
      const [pid, , ns] = stamp.split(" ")
      if (ns !== namespace) continue
      if (ownerStamp(Number(pid)) === stamp) continue // owner alive
      const postmaster = Number(
        (await readFile(join(dir, "data", "postmaster.pid"), "utf8").catch(() => "")).split("\n")[0]
      )
      if (Number.isInteger(postmaster) && postmaster > 0 && isRunning(postmaster)) {
        const cmdline = await readFile(`/proc/${postmaster}/cmdline`, "utf8").catch(() => "")
        if (cmdline.includes(join(dir, "data"))) signal(postmaster, "SIGQUIT")
      }
      await rm(dir, { recursive: true, force: true })
      removed.push(dir)
    } catch {
      // not ours, or being created right now (no owner file yet): leave it
    }
  }
  return removed
}

export const makeClusterDir = async (tmpRoot: string, runAs: RunAs | undefined): Promise<ClusterPaths> => {
  const root = await mkdtemp(join(tmpRoot, DIR_PREFIX))
  registerDir(root)
  await chmod(root, 0o755)
  const stamp = ownerStamp(process.pid)
  if (stamp !== undefined) await writeFile(join(root, "owner"), stamp + "\n")
  const dataDir = join(root, "data")
  const socketDir = join(root, "run")
  for (const dir of [dataDir, socketDir]) {
    await mkdir(dir, { mode: 0o700 })
    if (runAs !== undefined) await chown(dir, runAs.uid, runAs.gid)
  }
  // 0755: clients connect through the socket dir; the data dir stays 0700 (initdb insists).
  await chmod(socketDir, 0o755)
  const logFile = join(root, "server.log")
  await writeFile(logFile, "", { mode: 0o644 })
  return { root, dataDir, socketDir, logFile }
}

/**
 * When running as another user, every directory above the binaries and above the cluster directory
 * must be searchable by it (a checkout or temp dir under a 0700 directory is not), or initdb fails
 * with a confusing "Permission denied".
 */
export const checkTraversable = async (
  path: string,
  runAs: RunAs | undefined,
  fix: string
): Promise<void> => {
  if (runAs === undefined) return
  let dir = path
  for (;;) {
    const info = await stat(dir)
    const searchable =
      (info.mode & 0o001) !== 0 ||
      (info.uid === runAs.uid && (info.mode & 0o100) !== 0) ||
      (info.gid === runAs.gid && (info.mode & 0o010) !== 0)
    if (!searchable) {
      throw new PgTestServerError({
        reason: "Filesystem",
        message:
          `${dir} (mode ${(info.mode & 0o777).toString(8)}) is not searchable by the user ${runAs.name}, ` +
          `which runs PostgreSQL with ${path}. Run chmod o+x on it, or ${fix}.`
      })
    }
    const parent = dirname(dir)
    if (parent === dir) return
    dir = parent
  }
}

/** Runs a tool to completion, capturing its output; fails with `reason` when it exits non-zero. */
export const runTool = async (
  handle: ChildHandle,
  reason: "Initdb" | "Setup",
  what: string,
  stdin?: string
): Promise<string> => {
  const output = collectOutput(handle)
  if (stdin !== undefined) handle.child.stdin?.end(stdin)
  const info = await handle.closed
  if (info.code === 0) return output()
  throw new PgTestServerError({
    reason,
    message: `${what} failed (${info.error?.message ?? `exit ${info.code ?? info.signal}`}):\n${output().trim()}`
  })
}

export const spawnInitdb = (bins: PgBinaries, runAs: RunAs | undefined, dataDir: string): ChildHandle =>
  spawnChild(
    runAs,
    bins.initdb,
    [
      ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "--no-instructions"],
      ["-E", "UTF8", "--locale=C.UTF-8"]
    ].flat(),
    { stdio: ["ignore", "pipe", "pipe"], cwd: dirname(dataDir) }
  )

/** `postgres --single` with SQL on stdin; `exit_on_error` turns any ERROR into a non-zero exit. */
export const spawnSingleUser = (bins: PgBinaries, runAs: RunAs | undefined, dataDir: string): ChildHandle =>
  spawnChild(runAs, bins.postgres, ["--single", "-D", dataDir, "-c", "exit_on_error=on", "postgres"], {
    stdio: ["pipe", "pipe", "pipe"],
    cwd: dirname(dataDir)
  })

/** Writes a file into the data dir, owned by the run-as user. */
export const writeDataFile = async (
  path: string,
  content: string,
  runAs: RunAs | undefined,
  append: boolean
): Promise<void> => {
  await writeFile(path, content, { flag: append ? "a" : "w", mode: 0o600 })
  if (runAs !== undefined) await chown(path, runAs.uid, runAs.gid)
}

/** A port that was free a moment ago (another process can still take it: callers retry). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))))
    })
  })

/**
 * Spawns the postmaster in the foreground, its stdout and stderr appended to the log file.
 * Synchronous, so a caller can record the handle in the same step (no interruption point between).
 */
export const launchPostgres = (
  bins: PgBinaries,
  runAs: RunAs | undefined,
  paths: ClusterPaths,
  port: number
): { readonly handle: ChildHandle; readonly logOffset: number } => {
  const fd = openSync(paths.logFile, "a")
  try {
    const logOffset = fstatSync(fd).size
    const handle = spawnChild(runAs, bins.postgres, ["-D", paths.dataDir, "-p", String(port)], {
      stdio: ["ignore", fd, fd],
      cwd: paths.root
    })
    return { handle, logOffset }
  } finally {
    closeSync(fd)
  }
}

/** Whether a TCP connect to 127.0.0.1:`port` succeeds within a second. */
export const tcpConnects = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.setTimeout(1_000)
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
  })

export const readLogFrom = async (logFile: string, offset: number): Promise<string> => {
  const content = await readFile(logFile)
  return content.subarray(Math.min(offset, content.length)).toString("utf8")
}

/** What `waitReady` found when the server did not come up. */
export class StartFailure extends Error {
  readonly portInUse: boolean
  constructor(message: string, portInUse: boolean) {
    super(message)
    this.portInUse = portInUse
  }
}

const portInUsePattern =
  /could not bind IPv[46] address|Address already in use|could not create any TCP\/IP sockets/

/** A primary logs "ready to accept connections", a hot standby "ready to accept read-only connections". */
const readyLine = /ready to accept (?:read-only )?connections/

/**
 * Waits for "ready to accept connections" in the log (written after the listen sockets exist) and
 * then for a successful TCP connect. Rejects with StartFailure when the server exits first or the
 * deadline passes, or with an AbortError when `signal` aborts.
 */
export const waitReady = async (
  handle: ChildHandle,
  logFile: string,
  logOffset: number,
  port: number,
  timeoutMs: number,
  abort: AbortSignal
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  let sawReady = false
  while (!abort.aborted) {
    const exit = handle.exitInfo()
    if (exit !== undefined) {
      const log = await readLogFrom(logFile, logOffset)
      throw new StartFailure(
        `postgres exited during start (${exit.error?.message ?? `exit ${exit.code ?? exit.signal}`}):\n${log.trim()}`,
        portInUsePattern.test(log)
      )
    }
    if (!sawReady) sawReady = readyLine.test(await readLogFrom(logFile, logOffset))
    if (sawReady && (await tcpConnects(port))) return
    if (Date.now() > deadline) {
      const log = await readLogFrom(logFile, logOffset)
      throw new StartFailure(`postgres was not ready after ${timeoutMs} ms:\n${log.trim()}`, false)
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw abort.reason
}
