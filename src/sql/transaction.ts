/**
 * effect/sql's `withTransaction` and `afterCommit` mapped onto effect-pg's Pool transactions:
 * one transaction mechanism, not two. `withTransaction(effect)` runs
 * `pool.withTransaction((connection) => effect)`, with the client's `transactionService` set to
 * `[the connection as a SqlConnection, depth]`, so effect/sql statements, `reserve` and the
 * Pool's own operations (pool.query, COPY, cursors) all run on the transaction's connection, and
 * a nested call is the Pool's SAVEPOINT.
 *
 * Also kept from effect/sql's own `makeWithTransaction`: `afterCommit` callbacks run once the
 * outermost transaction committed (dropped on rollback, a rolled-back savepoint drops its own);
 * `Reactivity` invalidations inside a transaction are deferred to the commit; SqlResolver sees the
 * transaction (effect's `CurrentTransactionService` reference); `BeginTransaction` is honoured
 * when it is a BEGIN / START TRANSACTION with modes (parsed into the Pool's TransactionOptions;
 * anything else is refused); nested transactions of one level run one at a time; a
 * `sql.transaction` span with the client's attributes.
 *
 * Errors: the user's own failures are boxed before the Pool sees them and unboxed after, so the
 * Pool's BEGIN / COMMIT / SAVEPOINT failures (and a COMMIT answered ROLLBACK) alone become
 * SqlError.
 *
 * It does NOT run BEGIN or COMMIT itself (pool/transaction.ts does).
 */
import { Context, Effect, Exit, Semaphore } from "effect"
import { Reactivity } from "effect/reactivity/Reactivity"
import { BeginTransaction, type TransactionConnection } from "effect/sql/SqlClient"
import type { Connection } from "effect/sql/SqlConnection"
import { SqlError, UnknownError } from "effect/sql/SqlError"
import type { NormalConnection } from "../Connection.ts"
import type { IsolationLevel, NormalPool, TransactionOptions } from "../Pool.ts"
import { toSqlError } from "./errors.ts"

/**
 * effect/sql's own reference to the innermost transaction's service (effect/internal/sql.ts, not
 * exported): the same key, so SqlResolver finds transactions started here.
 */
const CurrentTransactionService = Context.Reference<Context.Key<unknown, object> | undefined>(
  "effect/sql/CurrentTransactionService",
  { defaultValue: () => undefined }
)

type Level = TransactionConnection.Service

interface Buffer {
  readonly callbacks: Array<Effect.Effect<void>>
  readonly parent: Buffer | undefined
  open: boolean
}

/** A user's failure on its way through the Pool's transaction. */
class UserFailure<E> {
  readonly error: E
  constructor(error: E) {
    this.error = error
  }
}

const refuse = (message: string): SqlError =>
  new SqlError({
    reason: new UnknownError({ cause: new Error(message), message, operation: "beginTransaction" })
  })

const levels: ReadonlyArray<IsolationLevel> = [
  "read uncommitted",
  "read committed",
  "repeatable read",
  "serializable"
]

/** `BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY` → the Pool's options; else a refusal. */
export const parseBegin = (statement: string): TransactionOptions | SqlError => {
  const match = /^\s*(?:begin(?:\s+(?:work|transaction))?|start\s+transaction)\b(.*?);?\s*$/is.exec(statement)
  if (match === null) {
    return refuse(
      `BeginTransaction must be BEGIN or START TRANSACTION with modes; got ${JSON.stringify(statement)}`
    )
  }
  let rest = match[1]!.toLowerCase().replace(/,/g, " ").replace(/\s+/g, " ").trim()
  let isolationLevel: IsolationLevel | undefined
  let readOnly: boolean | undefined
  let deferrable: boolean | undefined
  while (rest !== "") {
    const level = levels.find((l) => rest.startsWith(`isolation level ${l}`))
    if (level !== undefined) {
      isolationLevel = level
      rest = rest.slice(`isolation level ${level}`.length).trim()
    } else if (rest.startsWith("read only") || rest.startsWith("read write")) {
      readOnly = rest.startsWith("read only")
      rest = rest.slice(10).trim()
    } else if (rest.startsWith("not deferrable")) {
      deferrable = false
      rest = rest.slice(14).trim()
    } else if (rest.startsWith("deferrable")) {
      deferrable = true
      rest = rest.slice(10).trim()
    } else {
      return refuse(`BeginTransaction: unsupported transaction mode in ${JSON.stringify(statement)}`)
    }
  }
  return { isolationLevel, readOnly, deferrable }
}

const runCallback = (effect: Effect.Effect<void>): Effect.Effect<void> =>
  Effect.ignoreCause(effect, {
    log: "Unhandled",
    message: "Unhandled error in SqlClient.afterCommit callback"
  })

export interface Transactions {
  readonly withTransaction: (
    options?: TransactionOptions
  ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  readonly afterCommit: <R>(effect: Effect.Effect<void, never, R>) => Effect.Effect<void, never, R>
}

export const makeTransactions = (deps: {
  readonly pool: NormalPool
  readonly transactionService: Context.Service<TransactionConnection, TransactionConnection.Service>
  readonly spanAttributes: ReadonlyArray<readonly [string, unknown]>
  readonly wrap: (connection: NormalConnection) => Connection
}): Transactions => {
  const { pool, transactionService } = deps
  const buffers = new WeakMap<Level, Buffer>()
  const semaphores = new WeakMap<Level, Semaphore.Semaphore>()
  const attributes = Object.fromEntries(deps.spanAttributes)

  const afterCommit = <R>(effect: Effect.Effect<void, never, R>): Effect.Effect<void, never, R> =>
    Effect.withFiber((fiber) => {
      const level = Context.getOrUndefined(fiber.context, transactionService)
      const buffer = level === undefined ? undefined : buffers.get(level)
      if (buffer === undefined) return runCallback(effect as Effect.Effect<void>)
      for (let b: Buffer | undefined = buffer; b !== undefined; b = b.parent) {
        if (!b.open) return Effect.die(new Error("SqlClient.afterCommit: the transaction has already ended"))
      }
      buffer.callbacks.push(
        Effect.provideContext(effect, Context.omit(transactionService)(fiber.context) as Context.Context<R>)
      )
      return Effect.void
    })

  const deferred = (reactivity: Reactivity): Reactivity => {
    const invalidate = (keys: Parameters<Reactivity["invalidate"]>[0]) =>
      afterCommit(Effect.sync(() => reactivity.invalidateUnsafe(keys)))
    return { ...reactivity, invalidate, mutation: (keys, effect) => Effect.tap(effect, invalidate(keys)) }
  }

  const withTransaction =
    (options?: TransactionOptions) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
      Effect.withFiber((fiber) => {
        const outer = Context.getOrUndefined(fiber.context, transactionService)
        const depth = outer === undefined ? 0 : outer[1] + 1
        const begin = fiber.getRef(BeginTransaction)
        const asked = depth === 0 && begin !== undefined ? parseBegin(begin) : options
        if (asked instanceof SqlError) return Effect.fail(asked)
        const reactivity = Context.getOrUndefined(fiber.context, Reactivity)
        const buffer: Buffer = {
          callbacks: [],
          parent: outer === undefined ? undefined : buffers.get(outer),
          open: true
        }
        let committed = false
        const body = (connection: NormalConnection) => {
          const level: Level = [deps.wrap(connection), depth]
          buffers.set(level, buffer)
          let inner = Effect.mapError(effect, (error) => new UserFailure(error)).pipe(
            Effect.provideService(transactionService, level),
            Effect.provideService(CurrentTransactionService, transactionService)
          )
          if (reactivity !== undefined) inner = Effect.provideService(inner, Reactivity, deferred(reactivity))
          return inner
        }
        const run = pool.withTransaction(body, depth === 0 ? asked : undefined).pipe(
          Effect.tap(() =>
            Effect.sync(() => {
              committed = true
            })
          ),
          Effect.catch(
            (error): Effect.Effect<never, E | SqlError> =>
              Effect.fail(
                error instanceof UserFailure ? (error.error as E) : toSqlError(error, "transaction")
              )
          )
        )
        const settled = Effect.onExit(run, (exit) => {
          buffer.open = false
          if (!committed || !Exit.isSuccess(exit) || buffer.callbacks.length === 0) return Effect.void
          if (buffer.parent !== undefined) {
            buffer.parent.callbacks.push(...buffer.callbacks)
            return Effect.void
          }
          return Effect.forEach(buffer.callbacks, (callback) => runCallback(callback), { discard: true })
        })
        const spanned = Effect.withSpan(settled, "sql.transaction", { kind: "internal", attributes })
        if (outer === undefined) return spanned
        let semaphore = semaphores.get(outer)
        if (semaphore === undefined) {
          semaphore = Semaphore.makeUnsafe(1)
          semaphores.set(outer, semaphore)
        }
        return semaphore.withPermit(spanned)
      }) as Effect.Effect<A, E | SqlError, R>

  return { withTransaction, afterCommit }
}
