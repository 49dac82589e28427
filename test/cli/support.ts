/**
 * Helpers of the CLI's integration tests: run the CLI as a user does — a child process of
 * `node src/cli/main.ts` (or another entry file) with arguments, stdin and an environment — and
 * collect its exit status, stdout and stderr; a temporary directory per test file.
 * Does NOT: start servers (each test file starts its own through effect-pg/testing) or assert.
 * Invariants: a child that runs longer than its bound is killed (SIGKILL) and the result says so,
 * so no test hangs; the child's environment has no PG*, PG_URL or DATABASE_URL variable unless
 * the caller passes one.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url))
export const nodeBin = path.join(repoRoot, "node_modules/.bin/node")
export const mainTs = path.join(repoRoot, "src/cli/main.ts")

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly stdoutBytes: Buffer
}

export interface CliOptions {
  /** Written to stdin, which is then closed (closed at once when absent). */
  readonly stdin?: string | Uint8Array
  /** Added to the cleaned environment. */
  readonly env?: Readonly<Record<string, string>>
  /** The entry file and node flags (default: src/cli/main.ts). */
  readonly command?: ReadonlyArray<string>
  /** The program to start instead of node (then `command` are its first arguments). */
  readonly program?: string
  readonly cwd?: string
  readonly timeoutSeconds?: number
  /** Called with the child once it is started (to signal it). */
  readonly onSpawn?: (child: ChildProcess) => void
}

/** The environment without connection variables, so only --url can point the CLI at a server. */
const cleanEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^PG/.test(k) && k !== "DATABASE_URL") env[k] = v
  }
  return env
}

/** Runs the CLI with `args` and waits for it to exit. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}): Effect.Effect<CliResult> =>
  Effect.promise(
    () =>
      new Promise<CliResult>((resolve, reject) => {
        const child = spawn(
          options.program ?? nodeBin,
          [...(options.command ?? (options.program ? [] : [mainTs])), ...args],
          {
            cwd: options.cwd ?? repoRoot,
            env: { ...cleanEnv(), ...options.env },
            stdio: ["pipe", "pipe", "pipe"]
          }
        )
        const out: Array<Buffer> = []
        const err: Array<Buffer> = []
        child.stdout.on("data", (c: Buffer) => out.push(c))
        child.stderr.on("data", (c: Buffer) => err.push(c))
        child.stdin.on("error", () => {}) // the CLI may exit before reading all of it
        const seconds = options.timeoutSeconds ?? 45
        const timer = setTimeout(() => child.kill("SIGKILL"), seconds * 1000)
        child.on("error", reject)
        child.on("close", (code, signal) => {
          clearTimeout(timer)
          const stdoutBytes = Buffer.concat(out)
          const stderr = Buffer.concat(err).toString("utf8")
          resolve({
            code,
            signal,
            stdout: stdoutBytes.toString("utf8"),
            stdoutBytes,
            stderr: signal === "SIGKILL" ? `${stderr}\n[killed after ${seconds} s]` : stderr
          })
        })
        options.onSpawn?.(child)
        if (options.stdin !== undefined) child.stdin.end(options.stdin)
        else child.stdin.end()
      })
  )

/** A fresh temporary directory, removed when the process exits. */
export const tempDir = (prefix: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`))
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}
