/**
 * What the CLI runs and prints: the plan's inputs turned into steps, then the steps run in order
 * on one connection.
 *
 * Does: reads every SQL input before anything runs (files, stdin; a UTF-8 BOM is dropped) and
 * splits it into statements (split.ts), so a missing file or a psql meta-command fails with
 * nothing run; runs each statement on its own through the simple protocol (autocommit, as psql
 * runs a file), or all of them between BEGIN and COMMIT with --single-transaction; prints each
 * result to stdout in the chosen format (tables with command tags, CSV, or JSON lines) and the
 * server's notices to stderr as psql does ("NOTICE:  …"), and simpleQuery's warnings (a COPY TO
 * STDOUT whose output was discarded) the same way; stops at the first failing statement —
 * psql's ON_ERROR_STOP — printing the PgError message with where the statement came from
 * ("effect-pg: file.sql:3: ERROR: …"), unless --continue-on-error (a lost connection always stops).
 * Does NOT: choose or open the connection (main.ts), or exit the process: it returns the status.
 */
import * as fs from "node:fs/promises"
import { Effect } from "effect"
import type { NormalConnection } from "../Connection.ts"
import type { PgError } from "../Errors.ts"
import type { Notice, StatementResult } from "../Result.ts"
import type { CopyData, OutputFormat, Plan } from "./args.ts"
import { copyIn, copyOut } from "./copy.ts"
import { CliError, describe } from "./errors.ts"
import { renderCsv, renderJson } from "./formats.ts"
import { splitStatements } from "./split.ts"
import { renderResult } from "./table.ts"

export type Step =
  | { readonly _tag: "Statement"; readonly sql: string; readonly where: string }
  | {
      readonly _tag: "CopyIn" | "CopyOut"
      readonly sql: string
      readonly file: string
      readonly data: CopyData
      readonly where: string
    }

/** Where the CLI writes; `stdout` only ever gets results. */
export interface Terminal {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
}

/** All of stdin as text. */
export const readStdin = (): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    process.stdin.on("data", (chunk: Buffer) => chunks.push(chunk))
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    process.stdin.on("error", reject)
  })

const statementsOf = (text: string, source: string): Effect.Effect<Array<Step>, CliError> => {
  const split = splitStatements(text.replace(/^\uFEFF/, ""))
  if (!Array.isArray(split)) {
    return Effect.fail(
      new CliError({
        message: `${source}:${split.line}: psql meta-commands such as ${split.command} are not supported; nothing was run`
      })
    )
  }
  return Effect.succeed(split.map((s) => ({ _tag: "Statement", sql: s.sql, where: `${source}:${s.line}` })))
}

/** The steps of `plan`, every SQL input read and split. */
export const loadSteps = (plan: Plan): Effect.Effect<Array<Step>, CliError> =>
  Effect.map(
    Effect.forEach(plan.inputs, (input): Effect.Effect<Array<Step>, CliError> => {
      switch (input._tag) {
        case "Sql":
          return statementsOf(input.text, `<argument ${input.ordinal}>`)
        case "File": {
          const stdin = input.path === "-"
          return Effect.flatMap(
            Effect.tryPromise({
              try: () => (stdin ? readStdin() : fs.readFile(input.path, "utf8")),
              catch: (cause) =>
                new CliError({ message: `cannot read ${stdin ? "stdin" : input.path}: ${describe(cause)}` })
            }),
            (text) => statementsOf(text, stdin ? "<stdin>" : input.path)
          )
        }
        case "CopyIn":
          return Effect.as(
            input.file === "-"
              ? Effect.void
              : Effect.tryPromise({
                  try: () => fs.access(input.file, fs.constants.R_OK),
                  catch: (cause) => new CliError({ message: `cannot read ${input.file}: ${describe(cause)}` })
                }),
            [{ ...input, where: `--copy-in ${input.file}` }]
          )
        case "CopyOut":
          return Effect.succeed([{ ...input, where: `--copy-out ${input.file}` }])
      }
    }),
    (lists) => lists.flat()
  )

/** The stdout text of one result in `format` ("" for none). */
export const formatResult = (format: OutputFormat, result: StatementResult): string => {
  if (result.columns.length === 0) {
    // Only tables show command tags: CSV and JSON output stays parseable.
    return format === "table" && result.command !== undefined ? `${result.command.tag}\n` : ""
  }
  switch (format) {
    case "table":
      return `${renderResult(result)}\n\n`
    case "csv":
      return renderCsv(result.columns, result.rows)
    case "json":
      return `${renderJson(result.columns, result.rows)}\n`
  }
}

/** A notice as psql prints it: "NOTICE:  text", then DETAIL and HINT lines. */
export const formatNotice = (notice: Notice): string =>
  [
    `${notice.severity}:  ${notice.message}`,
    ...(notice.detail === undefined ? [] : [`DETAIL:  ${notice.detail}`]),
    ...(notice.hint === undefined ? [] : [`HINT:  ${notice.hint}`])
  ].join("\n") + "\n"

/** Runs one step; the failure is the step's. */
const runStep = (
  conn: NormalConnection,
  step: Step,
  format: OutputFormat,
  terminal: Terminal
): Effect.Effect<void, PgError | CliError> => {
  switch (step._tag) {
    case "Statement":
      return Effect.map(conn.simpleQuery(step.sql), ({ results, notices, warnings }) => {
        for (const notice of notices) terminal.stderr(formatNotice(notice))
        // A COPY TO STDOUT in the SQL ran, its output discarded: say so (--copy-out keeps it).
        for (const warning of warnings) terminal.stderr(`WARNING:  ${warning.message}\n`)
        for (const result of results) terminal.stdout(formatResult(format, result))
      })
    case "CopyIn":
    case "CopyOut":
      return Effect.map(
        (step._tag === "CopyIn" ? copyIn : copyOut)(conn, step.sql, step.file, step.data),
        (summary) => terminal.stderr(`${summary}\n`)
      )
  }
}

const lostConnection = (error: PgError | CliError): boolean =>
  error._tag === "PgError" &&
  (error.isConnectionError || error.isClosed || error.cause._tag === "PgProtocolError")

/** Runs `steps` on `conn`; the exit status (0, or 1 when a step failed). */
export const runSteps = (
  conn: NormalConnection,
  steps: ReadonlyArray<Step>,
  plan: Plan,
  terminal: Terminal
): Effect.Effect<0 | 1> =>
  Effect.gen(function* () {
    const report = (where: string, error: PgError | CliError) =>
      terminal.stderr(`effect-pg: ${where}: ${error.message}\n`)
    if (plan.singleTransaction) {
      const begun = yield* Effect.result(conn.simpleQuery("BEGIN"))
      if (begun._tag === "Failure") {
        report("BEGIN", begun.failure)
        return 1
      }
    }
    let status: 0 | 1 = 0
    for (const step of steps) {
      const outcome = yield* Effect.result(runStep(conn, step, plan.format, terminal))
      if (outcome._tag === "Success") continue
      report(step.where, outcome.failure)
      status = 1
      if (!plan.continueOnError || lostConnection(outcome.failure)) break
    }
    if (plan.singleTransaction) {
      // After a failure the transaction is aborted: roll it back (closing would do it too).
      const end = yield* Effect.result(conn.simpleQuery(status === 0 ? "COMMIT" : "ROLLBACK"))
      if (end._tag === "Failure" && status === 0) {
        report("COMMIT", end.failure)
        return 1
      }
      // COMMIT of a transaction that failed answers ROLLBACK: nothing was committed.
      if (end._tag === "Success" && end.success.results[0]?.command?.tag === "ROLLBACK" && status === 0) {
        terminal.stderr("effect-pg: COMMIT: the transaction was rolled back\n")
        return 1
      }
    }
    return status
  })
