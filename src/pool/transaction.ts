/**
 * Transactions on one borrowed connection: BEGIN with the asked options, the body, then COMMIT
 * (or ROLLBACK when the body fails or is interrupted); nested calls become SAVEPOINTs.
 *
 * The current transaction travels in a `Context.Reference` (one per pool), so everything that runs
 * inside the body through the same pool — `pool.query`, `pool.withConnection`, a nested
 * `pool.withTransaction` — uses the transaction's connection instead of borrowing another.
 *
 * A COMMIT that the server answers with the command tag ROLLBACK (the transaction had failed: a
 * statement errored and the body caught the error) fails with `PgTransactionError`
 * (CommitRolledBack): the body "succeeded" but nothing was kept.
 *
 * It does NOT borrow or give back the connection (pool/api.ts does, and the release rolls back any
 * transaction left open), nor retry serialization failures (that is the caller's policy).
 *
 * Invariants: every BEGIN is followed by exactly one COMMIT or ROLLBACK; every SAVEPOINT by a
 * RELEASE or a ROLLBACK TO + RELEASE; savepoint names are unique within a transaction; nested
 * calls must run one after another (a connection runs one statement at a time, and concurrent
 * savepoints on it would interleave).
 */
import { Context, Effect, Exit } from "effect"
import type { ExpertConnection } from "../connection/operations.ts"
import { type PgPoolExpertError, PgTransactionError } from "./errors.ts"

export type IsolationLevel = "read uncommitted" | "read committed" | "repeatable read" | "serializable"

const isolationLevels: ReadonlyArray<IsolationLevel> = [
  "read uncommitted",
  "read committed",
  "repeatable read",
  "serializable"
]

/** Options of the outermost transaction (BEGIN ISOLATION LEVEL … READ ONLY … DEFERRABLE). */
export interface TransactionOptions {
  readonly isolationLevel?: IsolationLevel | undefined
  /** READ ONLY when true, READ WRITE when false, the session default when absent. */
  readonly readOnly?: boolean | undefined
  /** DEFERRABLE when true (only matters for serializable read-only), NOT DEFERRABLE when false. */
  readonly deferrable?: boolean | undefined
}

/** The transaction running in the current fiber for one pool. */
export interface TransactionState {
  readonly connection: ExpertConnection
  readonly depth: number
  /** Savepoint counter shared by the whole transaction. */
  readonly savepoints: { n: number }
}

let nextReference = 0

/** A fresh reference for one pool's current transaction. */
export const makeTransactionReference = (): Context.Reference<TransactionState | undefined> =>
  Context.Reference<TransactionState | undefined>(`effect-pg/Pool/CurrentTransaction/${nextReference++}`, {
    defaultValue: () => undefined
  })

const hasOptions = (options: TransactionOptions | undefined): boolean =>
  options !== undefined &&
  (options.isolationLevel !== undefined || options.readOnly !== undefined || options.deferrable !== undefined)

/** The BEGIN statement for `options`, or the error for an unknown isolation level. */
export const beginStatement = (options?: TransactionOptions): string | PgTransactionError => {
  const parts = ["BEGIN"]
  const level = options?.isolationLevel
  if (level !== undefined) {
    if (!isolationLevels.includes(level)) {
      return new PgTransactionError({
        reason: "InvalidOptions",
        message: `unknown isolation level ${JSON.stringify(level)}; expected one of ${isolationLevels.join(", ")}`
      })
    }
    parts.push(`ISOLATION LEVEL ${level.toUpperCase()}`)
  }
  if (options?.readOnly !== undefined) parts.push(options.readOnly ? "READ ONLY" : "READ WRITE")
  if (options?.deferrable !== undefined) parts.push(options.deferrable ? "DEFERRABLE" : "NOT DEFERRABLE")
  return parts.join(" ")
}

type Check = (effect: Effect.Effect<unknown, unknown>) => Effect.Effect<boolean>

/**
 * Runs `body` between BEGIN and COMMIT on `connection`. `body` receives the new transaction state
 * (to provide to the Reference). A failed or interrupted body is rolled back (bounded by `check`).
 */
export const runTransaction = <A, E, R>(
  connection: ExpertConnection,
  options: TransactionOptions | undefined,
  body: (state: TransactionState) => Effect.Effect<A, E, R>,
  check: Check
): Effect.Effect<A, E | PgPoolExpertError, R> => {
  const begin = beginStatement(options)
  if (typeof begin !== "string") return Effect.fail(begin)
  return Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      yield* restore(connection.simpleQuery(begin))
      const state: TransactionState = { connection, depth: 1, savepoints: { n: 0 } }
      const exit = yield* Effect.exit(restore(body(state)))
      if (Exit.isFailure(exit)) {
        yield* check(connection.simpleQuery("ROLLBACK"))
        return yield* Effect.failCause(exit.cause)
      }
      const commit = yield* restore(connection.query("COMMIT"))
      if (commit.command.tag === "ROLLBACK") {
        return yield* new PgTransactionError({
          reason: "CommitRolledBack",
          message:
            "COMMIT was answered with ROLLBACK: a statement in the transaction failed (and its error was caught), so nothing was committed"
        })
      }
      return exit.value
    })
  )
}

/** Runs `body` inside a SAVEPOINT of the transaction `outer`. */
export const runSavepoint = <A, E, R>(
  outer: TransactionState,
  options: TransactionOptions | undefined,
  body: (state: TransactionState) => Effect.Effect<A, E, R>,
  check: Check
): Effect.Effect<A, E | PgPoolExpertError, R> => {
  if (hasOptions(options)) {
    return Effect.fail(
      new PgTransactionError({
        reason: "NestedOptions",
        message:
          "a nested transaction (a SAVEPOINT) cannot set the isolation level, read-only or deferrable mode; set them on the outermost withTransaction"
      })
    )
  }
  const connection = outer.connection
  const name = `effect_pg_savepoint_${++outer.savepoints.n}`
  return Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      yield* restore(connection.simpleQuery(`SAVEPOINT ${name}`))
      const state: TransactionState = { connection, depth: outer.depth + 1, savepoints: outer.savepoints }
      const exit = yield* Effect.exit(restore(body(state)))
      if (Exit.isFailure(exit)) {
        yield* check(connection.simpleQuery(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`))
        return yield* Effect.failCause(exit.cause)
      }
      yield* restore(connection.simpleQuery(`RELEASE SAVEPOINT ${name}`))
      return exit.value
    })
  )
}
