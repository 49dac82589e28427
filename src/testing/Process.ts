/**
 * Child processes of the test harness: spawning as the run-as user, waiting, signalling, and the
 * last-resort cleanup when the test process exits.
 *
 * Does: resolves the unprivileged user to run PostgreSQL as when the process is root (creating
 * `pgtest` with `useradd` when missing, tolerating a concurrent creation); spawns through
 * `setpriv --pdeathsig SIGQUIT` when available, so the kernel sends an immediate-shutdown signal
 * to the server if the test process dies (measured: the signal survives setpriv's uid change, and
 * the server is gone 11-22 ms after a SIGKILL of the parent); keeps a registry of live children and
 * temp dirs that a synchronous `process.on("exit")` handler stops and removes.
 * Does NOT: know about PostgreSQL (Cluster.ts does), or install signal handlers of its own (SIGINT
 * of the test runner reaches the server through the shared process group; SIGKILL through pdeathsig).
 * Invariants: a child is registered in the same synchronous step that spawns it; `exited` always
 * settles (spawn errors resolve it too); SIGQUIT is preferred over SIGKILL because a SIGKILLed
 * postmaster leaks its SysV shared-memory segment (measured with `ipcs -m`).
 */
import { type ChildProcess, execFile, type SpawnOptions, spawn } from "node:child_process"
import { accessSync, constants, readFileSync, rmSync } from "node:fs"
import { delimiter, join } from "node:path"
import { PgTestServerError } from "./PgTestServerError.ts"

/** The user a server runs as when the test process is root. */
export interface RunAs {
  readonly name: string
  readonly uid: number
  readonly gid: number
}

export interface ExitInfo {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly error?: Error
}

export interface ChildHandle {
  readonly child: ChildProcess
  readonly pid: number | undefined
  /** Settles when the process has exited (or failed to spawn). */
  readonly exited: Promise<ExitInfo>
  /** Settles when its stdio streams are closed as well. */
  readonly closed: Promise<ExitInfo>
  readonly exitInfo: () => ExitInfo | undefined
}

export const isRoot = (): boolean => typeof process.getuid === "function" && process.getuid() === 0

const execText = (file: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000 }, (error, stdout, stderr) =>
      error === null ? resolve(String(stdout)) : reject(new Error(String(stderr).trim() || error.message))
    )
  })

const lookupUser = async (name: string): Promise<RunAs | undefined> => {
  try {
    const uid = Number((await execText("id", ["-u", name])).trim())
    const gid = Number((await execText("id", ["-g", name])).trim())
    return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : undefined
  } catch {
    return undefined
  }
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * The run-as user (created when missing), or undefined when the process is not root and runs the
 * server as itself.
 */
export const resolveRunAs = async (name: string): Promise<RunAs | undefined> => {
  if (!isRoot()) return undefined
  if (name === "root") {
    throw new PgTestServerError({ reason: "UserSetup", message: "PostgreSQL refuses to run as root" })
  }
  let lastError = ""
  // Another process may be creating the same user: useradd then fails (name taken, or
  // /etc/passwd locked), and a later lookup finds the user.
  for (let attempt = 0; attempt < 6; attempt++) {
    const found = await lookupUser(name)
    if (found !== undefined) return found
    try {
      await execText("useradd", [
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        name
      ])
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error)
      await pause(50 * (attempt + 1))
    }
  }
  throw new PgTestServerError({
    reason: "UserSetup",
    message: `running as root, and the user ${JSON.stringify(name)} to run PostgreSQL as could not be created: ${lastError}`
  })
}

let setprivPath: string | null | undefined

const findSetpriv = (): string | null => {
  if (setprivPath !== undefined) return setprivPath
  const dirs = (process.env.PATH ?? "").split(delimiter).concat(["/usr/bin", "/bin", "/usr/sbin"])
  setprivPath = null
  for (const dir of dirs) {
    if (dir === "") continue
    try {
      accessSync(join(dir, "setpriv"), constants.X_OK)
      setprivPath = join(dir, "setpriv")
      break
    } catch {
      // not here
    }
  }
  return setprivPath
}

/** True when children get a parent-death signal (util-linux `setpriv` is installed). */
export const hasParentDeathSignal = (): boolean => findSetpriv() !== null

/** The environment for PostgreSQL tools: no PG* variables (PGDATA, PGPORT... would leak in), C messages. */
export const childEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("PG") || key.startsWith("LC_") || key === "LANG" || key === "LANGUAGE") continue
    env[key] = value
  }
  env.LC_MESSAGES = "C"
  return env
}

const live = new Map<number, ChildHandle>()
const liveDirs = new Set<string>()
let exitHookInstalled = false

const processState = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
  } catch {
    return undefined
  }
}

/** True while the process exists and is not a zombie (a zombie has exited; only its reaping is pending). */
export const isRunning = (pid: number): boolean => {
  const state = processState(pid)
  if (state !== undefined) return state !== "Z" && state !== "X"
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** Runs at process exit (synchronously): immediate shutdown for live servers, then remove their dirs. */
const onProcessExit = () => {
  const pids = [...live.keys()]
  for (const pid of pids) signal(pid, "SIGQUIT")
  const deadline = Date.now() + 3_000
  while (pids.some(isRunning) && Date.now() < deadline) sleepSync(10)
  for (const pid of pids) if (isRunning(pid)) signal(pid, "SIGKILL")
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true })
    } catch {
      // best effort at exit
    }
  }
}

const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", onProcessExit)
}

/** Registers a temp dir to be removed if the process exits before its scope closes. */
export const registerDir = (dir: string): void => {
  installExitHook()
  liveDirs.add(dir)
}
export const unregisterDir = (dir: string): void => {
  liveDirs.delete(dir)
}

/** Sends a signal; false when the process is already gone. */
export const signal = (pid: number, name: NodeJS.Signals): boolean => {
  try {
    process.kill(pid, name)
    return true
  } catch {
    return false
  }
}

/**
 * Spawns `file args` as `runAs` (or the current user), under setpriv's parent-death signal when
 * available. Synchronous: the child is registered for exit cleanup before this returns.
 */
export const spawnChild = (
  runAs: RunAs | undefined,
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly stdio: SpawnOptions["stdio"]; readonly cwd?: string }
): ChildHandle => {
  installExitHook()
  const setpriv = findSetpriv()
  const spawnOptions: SpawnOptions = { stdio: options.stdio, env: childEnv() }
  if (options.cwd !== undefined) spawnOptions.cwd = options.cwd
  let child: ChildProcess
  if (setpriv !== null) {
    const ids = runAs === undefined ? [] : [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, "--clear-groups"]
    child = spawn(setpriv, [...ids, "--pdeathsig", "SIGQUIT", "--", file, ...args], spawnOptions)
  } else {
    if (runAs !== undefined) {
      spawnOptions.uid = runAs.uid
      spawnOptions.gid = runAs.gid
    }
    child = spawn(file, [...args], spawnOptions)
  }
  let info: ExitInfo | undefined
  const pid = child.pid
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, sig) => {
      info = { code, signal: sig }
      resolve(info)
    })
    child.once("error", (error) => {
      info = { code: null, signal: null, error }
      resolve(info)
    })
  })
  const closed = new Promise<ExitInfo>((resolve) => {
    child.once("close", (code, sig) => resolve(info ?? { code, signal: sig }))
    child.once("error", (error) => resolve({ code: null, signal: null, error }))
  })
  const handle: ChildHandle = { child, pid, exited, closed, exitInfo: () => info }
  if (pid !== undefined) {
    live.set(pid, handle)
    void exited.then(() => live.delete(pid))
  }
  return handle
}

const timeout = (ms: number) =>
  new Promise<"timeout">((resolve) => {
    const timer = setTimeout(() => resolve("timeout"), ms)
    timer.unref()
  })

/**
 * Stops a child: each step sends a signal and waits up to its time for the exit; SIGKILL and an
 * unbounded wait end the ladder. Resolves once the child has exited.
 */
export const stopChild = async (
  handle: ChildHandle,
  steps: ReadonlyArray<readonly [NodeJS.Signals, number]>
): Promise<ExitInfo> => {
  for (const [name, ms] of steps) {
    const done = handle.exitInfo()
    if (done !== undefined || handle.pid === undefined) return handle.exited
    signal(handle.pid, name)
    if ((await Promise.race([handle.exited, timeout(ms)])) !== "timeout") return handle.exited
  }
  if (handle.exitInfo() === undefined && handle.pid !== undefined) signal(handle.pid, "SIGKILL")
  return handle.exited
}

/** Output of a finished child, captured from piped stdout/stderr. */
export const collectOutput = (handle: ChildHandle): (() => string) => {
  const chunks: Array<Buffer> = []
  handle.child.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk))
  handle.child.stderr?.on("data", (chunk: Buffer) => chunks.push(chunk))
  return () => Buffer.concat(chunks).toString("utf8")
}
