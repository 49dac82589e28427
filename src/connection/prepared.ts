/**
 * Prepared statements as operations (`makePreparedOps`): `prepare` (scoped: the statement is
 * closed when the scope ends), `execute`, `closeStatement` and `describe` (the unnamed statement:
 * parameter types and columns, nothing executed); plus `runCommand`, how every operation of this
 * kind runs one pure command through `timed` (timeouts cancel on the server, interruption
 * abandons), used by pipeline.ts too.
 *
 * Names: a generated name is `epp<N>` (per connection), never the statement cache's `ep<N>`.
 * A name the caller gives must be 1 to 63 bytes of UTF-8 without NUL (the server keys prepared
 * statements by NAMEDATALEN-1 bytes: a longer name would be cut, and two such names would clash)
 * and not of the reserved forms `ep<digits>` / `epp<digits>`; otherwise the call fails with
 * PgProtocolError reason "InvalidValue", `mayHaveRun: false`, and nothing is sent.
 *
 * A statement whose prepare was abandoned (interrupted, timed out) after the server created it
 * is closed in the background, so no name is left behind; a scope ending closes only the
 * statement it prepared (not one prepared again under the same name after a manual close), and
 * never fails: a statement already gone, or a closed connection, is not an error.
 *
 * It does NOT cache statements by SQL (statements.ts does that for `query`).
 */
import { Effect, type Scope } from "effect"
import type { Command } from "../commands/Command.ts"
import { isFailure } from "../commands/Command.ts"
import { closeStatement as closeCommand } from "../commands/closeStatement.ts"
import { encodeFrames, prepareStatement } from "../commands/prepare.ts"
import { isPgExpertError, type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { Engine, Request } from "../engine/Engine.ts"
import { CommandRun, toExpertError } from "../engine/run.ts"
import { EXECUTE_UNNAMED, writeBind, writeSync } from "../protocol/Frontend.ts"
import { utf8Length, type Writer } from "../protocol/Writer.ts"
import type { Column, QueryResult, Row } from "../Result.ts"
import { collateralCancel } from "./cancel.ts"
import { ExtendedQuery, isCopyStatement, type Retry } from "./requests.ts"
import type { OperationOptions, Timed } from "./timed.ts"

/** What the command operations need of their connection. */
export interface CommandDeps {
  readonly core: Engine
  readonly writer: Writer
  readonly timed: Timed
  /** cancel.ts `interrupt`: withdraw, or cancel the only request in flight, or let it drain. */
  readonly interrupt: (request: Request & { abandoned: boolean }) => Effect.Effect<void>
  /** Told each command tag the server answered (the statement cache watches for DISCARD ALL). */
  readonly observe?: ((tag: string) => void) | undefined
}

export interface PreparedStatement {
  readonly name: string
  readonly sql: string
  /** The parameter type OIDs the server inferred (or was given). */
  readonly paramTypes: ReadonlyArray<number>
  /** The result columns; empty for a statement without rows. */
  readonly columns: ReadonlyArray<Column>
}

export interface StatementDescription {
  readonly paramTypes: ReadonlyArray<number>
  readonly columns: ReadonlyArray<Column>
}

export interface PrepareOptions extends OperationOptions {
  /** The statement's name; default a generated `epp<N>`. */
  readonly name?: string | undefined
}

/** How `runCommand` treats one run of a command. */
export interface RunHooks<A, S, R, P, I, Out> {
  /** The result the caller gets. */
  readonly map: (value: R, run: CommandRun<A, S, R, P, I>) => Out
  readonly onResult?: ((result: P, run: CommandRun<A, S, R, P, I>) => void) | undefined
  /** The run ended, even abandoned (`undefined`: withdrawn unsent). */
  readonly onSettle?:
    | ((outcome: R | PgExpertError | undefined, run: CommandRun<A, S, R, P, I>) => void)
    | undefined
  /** Whether a run hit by a cancel meant for another statement (it had no effect) may run again once. */
  readonly resend?: ((run: CommandRun<A, S, R, P, I>) => boolean) | undefined
}

const notSent = (error: PgExpertError): PgExpertError =>
  error instanceof PgProtocolError ? PgProtocolError.notSent(error) : error

/** Runs `command` once through `timed` (a Failure from `start`: nothing sent, the call fails). */
export const runCommand = <A, S, R, P, I, Out>(
  deps: CommandDeps,
  options: OperationOptions | undefined,
  what: string,
  command: Command<A, S, R, P, I>,
  args: A,
  hooks: RunHooks<A, S, R, P, I, Out>
): Effect.Effect<Out, PgExpertError> =>
  deps.timed<Out>(options, what, (complete, retry) => {
    const submit = (mayResend: boolean): CommandRun<A, S, R, P, I> | PgExpertError => {
      const started = command.start(args)
      if (isFailure(started)) return notSent(toExpertError(started))
      const run: CommandRun<A, S, R, P, I> = new CommandRun(command, started, {
        onResult: hooks.onResult === undefined ? undefined : (result) => hooks.onResult!(result, run),
        onDone: (outcome) => {
          if (!isPgExpertError(outcome)) return complete(hooks.map(outcome, run))
          const again =
            mayResend &&
            hooks.resend?.(run) === true &&
            collateralCancel(deps.core, run, outcome) &&
            retry.allowed()
          if (!again) return complete(outcome)
          const next = submit(false)
          return isPgExpertError(next) ? complete(next) : retry.swap(next)
        },
        onSettle: hooks.onSettle === undefined ? undefined : (outcome) => hooks.onSettle!(outcome, run)
      })
      deps.core.submit(run)
      return run
    }
    return submit(true)
  })

const MAX_NAME_BYTES = 63
const RESERVED = /^epp?\d+$/

/** Why a caller's statement name is refused, or `undefined`. */
export const statementNameProblem = (name: string): string | undefined => {
  if (name === "") return "a prepared statement name cannot be empty (the unnamed statement is describe's)"
  if (name.includes("\0")) return "a prepared statement name cannot contain a NUL character"
  if (utf8Length(name) > MAX_NAME_BYTES) {
    return `a prepared statement name is at most ${MAX_NAME_BYTES} bytes of UTF-8 (PostgreSQL's NAMEDATALEN - 1)`
  }
  if (RESERVED.test(name)) {
    return `the prepared statement name "${name}" is reserved (ep<N>: the statement cache; epp<N>: generated names)`
  }
  return undefined
}

const invalid = (message: string) => PgProtocolError.notSent({ reason: "InvalidValue", message })

const isResendable = (run: { readonly state: { readonly parsed?: boolean } }) => run.state.parsed !== true

/**
 * Queues Bind(statement) + Execute + Sync with the statement's columns preset; `complete` gets the
 * result. As query: sent again once after a 57014 meant for the statement before it (outside a
 * transaction block, so it had no effect).
 */
const submitExecute = (
  deps: CommandDeps,
  statement: PreparedStatement,
  params: ReadonlyArray<string | null>,
  complete: (outcome: QueryResult | PgExpertError) => void,
  retry: Retry,
  mayResend: boolean
): ExtendedQuery | PgExpertError => {
  const frames = encodeFrames((w) => {
    const problem = writeBind(w, "", statement.name, params)
    if (problem !== undefined) return problem
    w.bytes(EXECUTE_UNNAMED)
    return writeSync(w)
  }, deps.writer)
  if (isFailure(frames)) return notSent(toExpertError(frames))
  let rows: Array<Row> | undefined
  const request: ExtendedQuery = new ExtendedQuery(
    { frames, parse: false, preset: statement.columns, exclusive: isCopyStatement(statement.sql) },
    {
      onRows: (batch) => {
        if (rows === undefined) rows = batch
        else for (const row of batch) rows.push(row)
      },
      onDone: (outcome) => {
        if (isPgExpertError(outcome)) {
          if (!mayResend || !collateralCancel(deps.core, request, outcome) || !retry.allowed()) {
            return complete(outcome)
          }
          const next = submitExecute(deps, statement, params, complete, retry, false)
          return isPgExpertError(next) ? complete(next) : retry.swap(next)
        }
        deps.observe?.(outcome.command.tag)
        const { columns, command, notices } = outcome
        complete({ columns, rows: rows ?? [], command, notices })
      }
    }
  )
  deps.core.submit(request)
  return request
}

export const makePreparedOps = (deps: CommandDeps) => {
  const { core, writer } = deps
  /** The named statements this connection's `prepare` created and nobody closed yet. */
  const live = new Map<string, PreparedStatement>()
  let counter = 0

  /** Closes `name` without a caller (an abandoned prepare): it only has to reach the server. */
  const closeInBackground = (name: string): void => {
    const started = closeCommand.start({ name, writer })
    if (isFailure(started)) return
    core.submit(new CommandRun(closeCommand, started, { onDone: () => {} }))
  }

  const close = (name: string, options?: OperationOptions) =>
    runCommand(
      deps,
      options,
      "the statement close",
      closeCommand,
      { name, writer },
      {
        map: () => undefined,
        resend: () => true
      }
    )

  const prepareOnce = (name: string, sql: string, options: OperationOptions | undefined) =>
    runCommand(
      deps,
      options,
      "the prepare",
      prepareStatement,
      { name, sql, writer },
      {
        map: (value): PreparedStatement => {
          const statement = { name, sql, paramTypes: value.paramTypes, columns: value.columns }
          live.set(name, statement)
          return statement
        },
        // The caller went away after the server created the statement: nobody will close it.
        onSettle: (_, run) => {
          if (run.abandoned && run.state.parsed) closeInBackground(name)
        },
        resend: isResendable
      }
    )

  /** Closes the statement unless it is gone already or was closed and prepared again since. */
  const release = (statement: PreparedStatement) =>
    Effect.suspend(() => {
      if (live.get(statement.name) !== statement) return Effect.void
      live.delete(statement.name)
      return Effect.ignore(close(statement.name))
    })

  const prepare = (
    sql: string,
    options?: PrepareOptions
  ): Effect.Effect<PreparedStatement, PgExpertError, Scope.Scope> =>
    Effect.suspend(() => {
      const given = options?.name
      const problem = given === undefined ? undefined : statementNameProblem(given)
      if (problem !== undefined) return Effect.fail(invalid(`prepare: ${problem}`))
      const name = given ?? `epp${++counter}`
      let made: PreparedStatement | undefined
      const acquire = Effect.onInterrupt(
        Effect.tap(prepareOnce(name, sql, options), (statement) => Effect.sync(() => (made = statement))),
        // A result that arrived as the caller was interrupted: it never reaches the finalizer.
        () => (made === undefined ? Effect.void : release(made))
      )
      return Effect.acquireRelease(acquire, release, { interruptible: true })
    })

  const execute = (
    statement: PreparedStatement,
    params: ReadonlyArray<string | null> = [],
    options?: OperationOptions
  ): Effect.Effect<QueryResult, PgExpertError> =>
    Effect.suspend(() => {
      if (params.length !== statement.paramTypes.length) {
        return Effect.fail(
          invalid(
            `execute: the statement ${statement.name} takes ${statement.paramTypes.length} parameter(s), got ${params.length}`
          )
        )
      }
      return deps.timed<QueryResult>(options, "the prepared statement", (complete, retry) =>
        submitExecute(deps, statement, params, complete, retry, true)
      )
    })

  const closeStatement = (
    statement: PreparedStatement | string,
    options?: OperationOptions
  ): Effect.Effect<void, PgExpertError> =>
    Effect.suspend(() => {
      const name = typeof statement === "string" ? statement : statement.name
      if (/^ep\d+$/.test(name)) {
        return Effect.fail(invalid(`closeStatement: "${name}" belongs to the statement cache`))
      }
      if (typeof statement === "string" || live.get(name) === statement) live.delete(name)
      return close(name, options)
    })

  const describe = (
    sql: string,
    options?: OperationOptions
  ): Effect.Effect<StatementDescription, PgExpertError> =>
    runCommand(
      deps,
      options,
      "the describe",
      prepareStatement,
      { name: "", sql, writer },
      {
        map: (value) => ({ paramTypes: value.paramTypes, columns: value.columns }),
        resend: () => true
      }
    )

  return { prepare, execute, closeStatement, describe }
}
