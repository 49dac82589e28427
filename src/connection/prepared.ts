/**
 * Prepared statements as operations (`makePreparedOps`): `prepare` (scoped: the statement is
 * closed when the scope ends), `execute`, `closeStatement` and `describe` (the unnamed statement:
 * parameter types and columns, nothing executed).
 *
 * Names: a generated name is `epp<N>` (per connection), never the statement cache's `ep<N>`.
 * A name the caller gives must be 1 to 63 bytes of UTF-8 without NUL (the server keys prepared
 * statements by NAMEDATALEN-1 bytes: a longer name would be cut, and two such names would clash)
 * and not of the reserved forms `ep<digits>` / `epp<digits>`; otherwise the call fails with
 * PgProtocolError reason "InvalidValue", `mayHaveRun: false`, and nothing is sent.
 *
 * Handles (decision 015): a `PreparedStatement` belongs to the connection whose `prepare` made it,
 * and works only while that statement is open there. `execute` or `closeStatement` with a handle
 * of another connection (every pooled connection has its own `epp1`), with an object `prepare` did
 * not make, or `execute` with a handle whose statement is closed (`closeStatement`, its scope
 * ended, the server dropped every statement: DISCARD ALL / DEALLOCATE ALL seen as a command tag,
 * its connection went back to the pool) fails with PgProtocolError "InvalidValue", nothing sent,
 * the message saying why. `closeStatement` on a handle already closed succeeds without sending.
 * A statement dropped behind the client's back (`DEALLOCATE name` in SQL) is only known from the
 * server's 26000, after which its handle is closed too.
 *
 * A statement whose prepare was abandoned (interrupted, timed out) after the server created it
 * is closed in the background, so no name is left behind; a scope ending closes only the
 * statement it prepared (not one prepared again under the same name after a manual close), and
 * never fails: a statement already gone, or a closed connection, is not an error.
 *
 * `execute` encodes each parameter by the statement's parameter type (params.ts `typedParams`):
 * a value its type cannot take fails with PgProtocolError "InvalidValue" naming `$n` and the
 * type, nothing sent. With typed results, the statement's plan (result formats, decoder) is made
 * at its first execution and kept with the handle.
 *
 * User types (decision 023): `prepare` and `describe` start the lookup of the user types their
 * description holds; `execute` waits for it (if it is still running, or to be done) before its
 * Bind, so its parameters are encoded and its rows decoded with them from the first execution,
 * and its plan is made again when the pool's catalog changed.
 *
 * It does NOT cache statements by SQL (statements.ts does that for `query`).
 */
import { Effect, type Scope } from "effect"
import { isFailure } from "../commands/Command.ts"
import { closeStatement as closeCommand } from "../commands/closeStatement.ts"
import { encodeFrames, prepareStatement } from "../commands/prepare.ts"
import { isPgExpertError, type PgExpertError, PgProtocolError } from "../Errors.ts"
import { CommandRun, toExpertError } from "../engine/run.ts"
import { EXECUTE_UNNAMED, writeBind, writeSync } from "../protocol/Frontend.ts"
import type { AnyRow, Column, QueryResult, RowMode, RowModeOption } from "../Result.ts"
import * as Sqlstate from "../Sqlstate.ts"
import { collateralCancel } from "./cancel.ts"
import {
  closeNameProblem,
  Handles,
  invalid,
  type PreparedStatement,
  Retired,
  statementNameProblem
} from "./handles.ts"
import { FIRST_USER_OID, introspectorOf } from "./introspect.ts"
import type { Param } from "./params.ts"
import { ExtendedQuery, isCopyStatement, type Retry } from "./requests.ts"
import { type CommandDeps, notSent, runCommand } from "./runCommand.ts"
import type { OperationOptions } from "./timed.ts"
import { type Plan, Values } from "./values.ts"

export type { PreparedStatement } from "./handles.ts"
export type { CommandDeps } from "./runCommand.ts"

export interface StatementDescription {
  readonly paramTypes: ReadonlyArray<number>
  readonly columns: ReadonlyArray<Column>
}

export interface PrepareOptions extends OperationOptions {
  /** The statement's name; default a generated `epp<N>`. */
  readonly name?: string | undefined
}

const isResendable = (run: { readonly state: { readonly parsed?: boolean } }) => run.state.parsed !== true

/**
 * Queues Bind(statement) + Execute + Sync with the statement's columns preset; `complete` gets the
 * result. As query: sent again once after a 57014 meant for the statement before it (outside a
 * transaction block, so it had no effect). `onMissing`: the server does not know the statement.
 */
const submitExecute = (
  deps: CommandDeps,
  statement: PreparedStatement,
  params: ReadonlyArray<Param>,
  complete: (outcome: QueryResult<AnyRow> | PgExpertError) => void,
  retry: Retry,
  mayResend: boolean,
  onMissing: () => void,
  rowMode: RowMode
): ExtendedQuery | PgExpertError => {
  const values = deps.values ?? defaultValues
  // The statement's parameter types are known: each value is encoded by its type's codec.
  const bound = values.bind(params, statement.paramTypes)
  if (bound instanceof PgProtocolError) return bound
  const plan = planOf(values, statement)
  const frames = encodeFrames((w) => {
    const problem = writeBind(w, "", statement.name, bound.values, bound.formats, plan?.formats)
    if (problem !== undefined) return problem
    w.bytes(EXECUTE_UNNAMED)
    return writeSync(w)
  }, deps.writer)
  if (isFailure(frames)) return notSent(toExpertError(frames))
  let rows: Array<AnyRow> | undefined
  const request: ExtendedQuery = new ExtendedQuery(
    {
      frames,
      parse: false,
      preset: plan?.columns ?? statement.columns,
      exclusive: isCopyStatement(statement.sql),
      reader: values.reader(plan, rowMode)
    },
    {
      onRows: (batch) => {
        if (rows === undefined) rows = batch
        else for (const row of batch) rows.push(row)
      },
      onDone: (outcome) => {
        if (isPgExpertError(outcome)) {
          if (outcome._tag === "PgServerError" && outcome.code === Sqlstate.INVALID_SQL_STATEMENT_NAME) {
            onMissing()
          }
          if (!mayResend || !collateralCancel(deps.core, request, outcome) || !retry.allowed()) {
            return complete(outcome)
          }
          const next = submitExecute(deps, statement, params, complete, retry, false, onMissing, rowMode)
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

const defaultValues = new Values()

/** Each statement's typed-results plan, made at its first execution. */
const plans = new WeakMap<PreparedStatement, Plan | undefined>()

const planOf = (values: Values, statement: PreparedStatement): Plan | undefined => {
  if (!values.typed) return undefined
  let plan = plans.get(statement)
  if (plan === undefined || plan.version !== values.version) {
    plan = values.plan(statement.columns)
    plans.set(statement, plan)
  }
  return plan
}

/** The user-type OIDs of a description (its parameters' and columns'). */
const userTypes = (description: StatementDescription): Array<number> =>
  [...description.paramTypes, ...description.columns.map((c) => c.typeOid)].filter(
    (oid) => oid >= FIRST_USER_OID
  )

/** Closes `name` without a caller (an abandoned prepare): it only has to reach the server. */
const closeInBackground = (deps: CommandDeps, name: string): void => {
  const started = closeCommand.start({ name, writer: deps.writer })
  if (isFailure(started)) return
  deps.core.submit(new CommandRun(closeCommand, started, { onDone: () => {} }))
}

/** Close(S, name) + Sync; `onSent` runs once the Close was written (not for a withdrawn one). */
const closeNamed = (deps: CommandDeps, name: string, options?: OperationOptions, onSent?: () => void) =>
  runCommand(
    deps,
    options,
    "the statement close",
    closeCommand,
    { name, writer: deps.writer },
    {
      map: () => undefined,
      // The command's result is void: only its phase tells a run that ended from one withdrawn.
      onSettle:
        onSent === undefined
          ? undefined
          : (outcome, run) => (outcome === undefined && run.state.phase === "close" ? undefined : onSent()),
      resend: () => true
    }
  )

/** The parameter types and columns of `sql` through the unnamed statement; nothing executed. */
const describeStatement = (
  deps: CommandDeps,
  sql: string,
  options?: OperationOptions
): Effect.Effect<StatementDescription, PgExpertError> =>
  runCommand(
    deps,
    options,
    "the describe",
    prepareStatement,
    { name: "", sql, writer: deps.writer },
    {
      map: (value) => {
        const description = { paramTypes: value.paramTypes, columns: value.columns }
        introspectorOf(deps.core, deps.values ?? defaultValues)?.lookup(userTypes(description))
        return description
      },
      resend: () => true
    }
  )

/** The prepared-statement operations of one connection (`processId` names it in errors). */
export const makePreparedOps = (deps: CommandDeps, processId?: number) => {
  const { writer } = deps
  const handles = new Handles(processId)
  const close = (name: string, options?: OperationOptions, onSent?: () => void) =>
    closeNamed(deps, name, options, onSent)

  let counter = 0
  const introspector = introspectorOf(deps.core, deps.values ?? defaultValues)

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
          handles.add(statement)
          introspector?.lookup(userTypes(statement))
          return statement
        },
        // The caller went away after the server created the statement: nobody will close it.
        onSettle: (_, run) => {
          if (run.abandoned && run.state.parsed) closeInBackground(deps, name)
        },
        resend: isResendable
      }
    )

  /** Closes the statement unless it is gone already or was closed and prepared again since. */
  const release = (statement: PreparedStatement) =>
    Effect.suspend(() => {
      if (!handles.isOpen(statement)) return Effect.void
      handles.retire(statement, Retired.scope)
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
    params: ReadonlyArray<Param> = [],
    options?: OperationOptions & RowModeOption
  ): Effect.Effect<QueryResult<AnyRow>, PgExpertError> =>
    Effect.suspend(() => {
      const refused = handles.unusable(statement, "execute")
      if (refused !== undefined) return Effect.fail(refused)
      if (params.length !== statement.paramTypes.length) {
        return Effect.fail(
          invalid(
            `execute: the statement ${statement.name} takes ${statement.paramTypes.length} parameter(s), got ${params.length}`
          )
        )
      }
      const onMissing = () => handles.retire(statement, Retired.missing)
      const run = deps.timed<QueryResult<AnyRow>>(options, "the prepared statement", (complete, retry) =>
        submitExecute(deps, statement, params, complete, retry, true, onMissing, options?.rowMode ?? "object")
      )
      const types = introspector === undefined ? [] : userTypes(statement)
      return types.length === 0 ? run : Effect.andThen(introspector!.ensure(types), run)
    })

  const closeStatement = (
    statement: PreparedStatement | string,
    options?: OperationOptions
  ): Effect.Effect<void, PgExpertError> =>
    Effect.suspend(() => {
      if (typeof statement !== "string") {
        const refused = handles.foreign(statement, "closeStatement")
        if (refused !== undefined) return Effect.fail(refused)
        // Closed already (or prepared again under its name since): nothing of it is left to close.
        if (!handles.isOpen(statement)) return Effect.void
        return close(statement.name, options, () => handles.retire(statement, Retired.closed))
      }
      const problem = closeNameProblem(statement)
      if (problem !== undefined) return Effect.fail(invalid(`closeStatement: ${problem}`))
      return close(statement, options, () => {
        const handle = handles.named(statement)
        if (handle !== undefined) handles.retire(handle, Retired.closed)
      })
    })

  /** The server dropped every prepared statement (DISCARD ALL, DEALLOCATE ALL): no handle works. */
  const forgetAll = (): void => {
    handles.retireAll(Retired.discarded)
  }

  /**
   * Closes every statement still open (the pool, before a borrowed connection goes back): its
   * handles stop working at once. `undefined` when there is none (nothing to wait for).
   */
  const closeAll = (): Effect.Effect<void, PgExpertError> | undefined => {
    if (handles.size === 0) return undefined
    const names = handles.retireAll(Retired.released)
    return Effect.all(
      names.map((name) => close(name)),
      { concurrency: "unbounded", discard: true }
    )
  }

  const describe = (sql: string, options?: OperationOptions) => describeStatement(deps, sql, options)

  return { prepare, execute, closeStatement, describe, forgetAll, closeAll }
}
