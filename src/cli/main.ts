#!/usr/bin/env node
/**
 * `effect-pg`, the command-line runner (package bin; `npm start -- …` in the repository): runs SQL
 * and COPYs against PostgreSQL and prints the results. Usage and behaviour: docs/cli.md.
 *
 * Does: parses the command line (args.ts); with no input and a stdin that is not a terminal,
 * reads the SQL from stdin; loads every input before connecting (run.ts); picks the connection —
 * `--url`, else PG_URL or DATABASE_URL, else the PG* variables, else an embedded throwaway
 * PostgreSQL from effect-pg/testing, announced on stderr; runs the steps and sets the exit status:
 * 0 success, 1 a query, connection or input error, 2 a usage error, 130 interrupted (SIGINT or
 * SIGTERM: the running statement is abandoned, the connection and any embedded server are
 * closed; a second signal exits at once).
 * Does NOT: import anything outside src/ (it runs from dist/ with only the package's
 * dependencies), connect when there is nothing to run, or write anything but results to stdout.
 */
import { readFileSync } from "node:fs"
import { Effect, Exit, Fiber } from "effect"
import * as Connection from "../Connection.ts"
import type { ConnectInput } from "../config/ConnectConfig.ts"
import type { PgError } from "../Errors.ts"
import * as Testing from "../testing/index.ts"
import { type Plan, parseCommand, usage, usageError } from "./args.ts"
import { CliError, describe } from "./errors.ts"
import { loadSteps, runSteps, type Step, type Terminal } from "./run.ts"

/** The version in the package.json two levels up: from src/cli/ and from dist/cli/ alike. */
export const packageVersion = (): string => {
  try {
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8")
    return String((JSON.parse(text) as { version?: unknown }).version ?? "unknown")
  } catch {
    return "unknown"
  }
}

/** Whether any PG* connection variable is set (PG_BIN only says where binaries are). */
const pgEnvironment = (env: NodeJS.ProcessEnv): boolean =>
  Object.keys(env).some((k) => /^PG[A-Z_]+$/.test(k) && k !== "PG_BIN" && env[k] !== "")

let stdoutClosed = false
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  // A reader that went away (`| head`) is not an error of the run: stop writing.
  if (error.code === "EPIPE") stdoutClosed = true
  else throw error
})

const terminal: Terminal = {
  stdout: (text) => {
    if (!stdoutClosed && text !== "") process.stdout.write(text)
  },
  stderr: (text) => {
    process.stderr.write(text)
  }
}

const run = (plan: Plan, steps: ReadonlyArray<Step>): Effect.Effect<number, PgError | CliError> => {
  const use = (input: ConnectInput) =>
    Connection.withConnection(input, (conn) => runSteps(conn, steps, plan, terminal))
  const url = plan.url ?? process.env.PG_URL ?? process.env.DATABASE_URL
  if (url !== undefined && url !== "") return use(url)
  if (pgEnvironment(process.env)) return use({})
  terminal.stderr(
    "effect-pg: no database configured (no --url, PG_URL, DATABASE_URL or PG* variables): starting an embedded PostgreSQL\n"
  )
  return Effect.scoped(
    Effect.gen(function* () {
      const server = yield* Effect.mapError(
        Testing.PgTestServer.start({ tls: false }),
        (error) => new CliError({ message: `cannot start an embedded PostgreSQL: ${describe(error)}` })
      )
      terminal.stderr(`effect-pg: embedded PostgreSQL ${server.versionString ?? ""} at ${server.url}\n`)
      return yield* use(server.url)
    })
  )
}

const main: Effect.Effect<number> = Effect.gen(function* () {
  const command = parseCommand(process.argv.slice(2))
  switch (command._tag) {
    case "Help":
      terminal.stdout(`${usage}\n`)
      return 0
    case "Version":
      terminal.stdout(`effect-pg ${packageVersion()}\n`)
      return 0
    case "Usage":
      terminal.stderr(`${usageError(command.message)}\n`)
      return 2
  }
  let plan = command
  if (plan.inputs.length === 0) {
    if (process.stdin.isTTY) {
      terminal.stderr(`${usageError("no SQL given (an argument, -c, -f, or SQL on stdin)")}\n`)
      return 2
    }
    plan = { ...plan, inputs: [{ _tag: "File", path: "-" }] }
  }
  const steps = yield* loadSteps(plan)
  if (steps.length === 0) return 0
  return yield* run(plan, steps)
}).pipe(
  Effect.catch((error: PgError | CliError) =>
    Effect.sync(() => {
      terminal.stderr(`effect-pg: ${error.message}\n`)
      return 1
    })
  )
)

const fiber = Effect.runFork(main)
let signalled = false
const onSignal = () => {
  if (signalled) process.exit(130)
  signalled = true
  terminal.stderr("effect-pg: interrupted, closing the connection (a second signal exits at once)\n")
  Effect.runFork(Fiber.interrupt(fiber))
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)
fiber.addObserver((exit) => {
  process.off("SIGINT", onSignal)
  process.off("SIGTERM", onSignal)
  if (Exit.isSuccess(exit)) process.exitCode = exit.value
  else if (signalled) process.exitCode = 130
  else {
    terminal.stderr(`effect-pg: internal error: ${String(exit.cause)}\n`)
    process.exitCode = 1
  }
  // stdin may still be open (nothing read it, or a COPY stopped early): it must not keep us alive.
  process.stdin.destroy()
})
