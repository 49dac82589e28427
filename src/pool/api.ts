/**
 * What a pool offers, defined once and generic in the error type and the connection view
 * (`PoolApi<E, C>`), like `ConnectionApi<E>`: the Expert pool hands out Expert connections and
 * fails with `PgPoolExpertError`; the normal pool hands out normal connections and fails with
 * `PgError` (plus the pool's own errors).
 *
 * - Borrowing: `withConnection(use)` (the connection comes back when `use` ends), `connection`
 *   (scoped: back when the scope closes), and the operations that hold a connection (`stream`,
 *   `copyIn`, `copyOut`, `listen`, ...). A stream holds its connection until it ends, fails or is
 *   interrupted.
 * - One-shot statements: `query`, `queryExpectNoData`, `simpleQuery`, `notify` run on a shared
 *   connection (machine.oneShot), except a statement that may open a transaction (first keyword
 *   BEGIN or START; any such word in a simple query), which borrows one so that no other
 *   statement is pipelined into its transaction.
 * - Transactions: `withTransaction(use, options)`; inside `use`, every operation through the same
 *   pool (one-shot statements included) uses the transaction's connection, and a nested call is a
 *   SAVEPOINT.
 * - Tracing: a span per operation (`pg.query`, `pg.stream`, `pg.copyIn`, `pg.transaction`, ...) and
 *   a `pg.pool.acquire` span around getting a connection, annotated with the wait; the spans of
 *   statements and of acquisitions only when a tracer can see them (pool/tracing.ts).
 *
 * It does NOT manage connections (pool/machine.ts) nor define the services (Pool.ts).
 *
 * Invariants: only errors that come from the pool or from statements it runs (BEGIN, COMMIT,
 * SAVEPOINT, the conveniences' statements) are mapped to the view's error type; the errors of a
 * user's `use` pass through unchanged; a borrowed connection is released exactly once, and a
 * one-shot statement's room on a shared connection is given back exactly once.
 */
import { Duration, Effect, Scope, Stream } from "effect"
import type { QueryOptions } from "../connection/api.ts"
import { type Lift, makeApi, type OpContext } from "../connection/api.ts"
import type { CopyOutTypedOptions, CopyTarget } from "../connection/copyOps.ts"
import type { ConnectionApi, ExpertConnection, OperationOptions, Param } from "../connection/operations.ts"
import type { PgExpertError } from "../Errors.ts"
import type { AnyRow, QueryResult, RowModeOption } from "../Result.ts"
import type { PgPoolExpertError } from "./errors.ts"
import { boundedBy, isBegin, mayBegin, queryOpens, rowCount, simpleOpens } from "./routing.ts"
import {
  collection,
  leaf,
  type TraceSettings,
  traced,
  tracedStream,
  traceLift,
  tracingActive
} from "./tracing.ts"
import {
  makeTransactionReference,
  runSavepoint,
  runTransaction,
  type TransactionOptions,
  type TransactionState
} from "./transaction.ts"
import type { AroundWait, PoolMachine, PoolStats, Restore, Slot } from "./types.ts"

/** The one-statement operations a pool offers, with the same signatures as a connection's. */
type PoolOperations<E> = Pick<
  ConnectionApi<E>,
  | "query"
  | "queryExpectNoData"
  | "simpleQuery"
  | "stream"
  | "streamWithColumns"
  | "copyIn"
  | "copyInFeed"
  | "copyInRows"
  | "copyOut"
  | "copyOutRows"
  | "copyOutTyped"
  | "listen"
  | "notify"
>

/**
 * The pool's operations; `E` is the error type, `C` the connection handed to `use`. Outside a
 * transaction, one-shot statements (query, queryExpectNoData, simpleQuery, notify) share the
 * pool's connections; stream, streamWithColumns, COPY and LISTEN hold a connection of their own
 * until the stream ends or the scope closes. Inside `withTransaction`, everything runs on the
 * transaction's connection.
 */
export interface PoolApi<E, C> extends PoolOperations<E> {
  /** Borrows a connection for `use`; it comes back (checked, reset) when `use` ends, however it ends. */
  readonly withConnection: <A, E2, R>(
    use: (connection: C) => Effect.Effect<A, E2, R>
  ) => Effect.Effect<A, E | E2, R>
  /** Borrows a connection until the current scope closes. */
  readonly connection: Effect.Effect<C, E, Scope.Scope>
  /**
   * Runs `use` in a transaction (BEGIN … COMMIT, ROLLBACK when `use` fails or is interrupted).
   * Inside `use`, this pool's operations run on the transaction's connection, and a nested
   * `withTransaction` is a SAVEPOINT (options are only allowed on the outermost call).
   */
  readonly withTransaction: <A, E2, R>(
    use: (connection: C) => Effect.Effect<A, E2, R>,
    options?: TransactionOptions
  ) => Effect.Effect<A, E | E2, R>
  /** Whether the current fiber runs inside a `withTransaction` of this pool. */
  readonly inTransaction: Effect.Effect<boolean>
  /** The pool's counts now. */
  readonly stats: Effect.Effect<PoolStats>
}

/**
 * How a view presents connections and errors, as two `Lift`s (connection/api.ts): `lift` maps
 * the pool's errors (and only those) to the view's, `connection` makes the connections it lends
 * (from the traced Expert connection, through `makeApi`).
 */
export interface PoolView<E, CE> {
  readonly lift: Lift<E, PgPoolExpertError>
  readonly connection: Lift<CE>
}

/** What the views of one pool share: the state machine and the current-transaction reference. */
export interface PoolShared {
  readonly machine: PoolMachine
  readonly current: ReturnType<typeof makeTransactionReference>
  readonly trace: TraceSettings
}

export const makeShared = (machine: PoolMachine): PoolShared => ({
  machine,
  current: makeTransactionReference(),
  trace: {
    poolName: machine.settings.name,
    database: machine.config.database,
    serverAddress: machine.config.hosts[0]?.host || machine.config.hosts[0]?.hostaddr || "localhost",
    serverPort: machine.config.hosts[0]?.port ?? 5432,
    statementMaxLength: machine.settings.statementMaxLength,
    traceParameters: machine.settings.traceParameters
  }
})

/** How the pool's operations run: borrowed, scoped, one-shot, streamed; with spans and the view's errors. */
const makeRunners = <E, CE>(shared: PoolShared, view: PoolView<E, CE>) => {
  const { machine, current, trace } = shared
  const views = new WeakMap<ExpertConnection, ConnectionApi<CE>>()
  const tracing = traceLift(trace)
  const viewOf = (connection: ExpertConnection): ConnectionApi<CE> => {
    let seen = views.get(connection)
    if (seen === undefined) {
      seen = makeApi(makeApi(connection, tracing), view.connection)
      views.set(connection, seen)
    }
    return seen
  }

  /** The `pg.pool.acquire` span around a wait, annotated with the wait and the connection. */
  const acquireSpan = (
    wait: Effect.Effect<Slot, PgPoolExpertError>
  ): Effect.Effect<Slot, PgPoolExpertError> =>
    traced(
      trace,
      "pg.pool.acquire",
      Effect.tap(Effect.timed(wait), ([waited, slot]) =>
        Effect.annotateCurrentSpan({
          "db.client.connection.wait_time_ms": Duration.toMillis(waited),
          "effect_pg.pool.connection.id": slot.id
        })
      ).pipe(Effect.map(([, slot]) => slot))
    )

  /** Waits for a connection (`around` wraps the wait: a statement's timeout). */
  const acquire = (restore: Restore, around?: AroundWait): Effect.Effect<Slot, PgPoolExpertError> =>
    Effect.withFiber((fiber) => {
      const wait = around === undefined ? machine.acquire(restore) : around(machine.acquire(restore))
      return tracingActive(fiber) ? acquireSpan(wait) : wait
    })

  /** Runs `f` on the current transaction's connection, or on a borrowed one. */
  const borrow = <A, E2, R>(
    f: (connection: ExpertConnection) => Effect.Effect<A, E2, R>,
    around?: AroundWait
  ): Effect.Effect<A, E2 | PgPoolExpertError, R> =>
    Effect.flatMap(Effect.service(current), (tx) =>
      tx !== undefined
        ? f(tx.connection)
        : Effect.uninterruptibleMask((restore) =>
            Effect.flatMap(acquire(restore, around), (slot) =>
              Effect.onExit(restore(f(slot.connection)), (exit) => machine.release(slot, exit))
            )
          )
    )

  /** Borrows until the current scope closes. */
  const scoped: Effect.Effect<ExpertConnection, PgPoolExpertError, Scope.Scope> = Effect.flatMap(
    Effect.service(current),
    (tx) =>
      tx !== undefined
        ? Effect.succeed(tx.connection)
        : Effect.uninterruptibleMask((restore) =>
            Effect.gen(function* () {
              const scope = yield* Effect.scope
              const slot = yield* acquire(restore)
              yield* Scope.addFinalizerExit(scope, (exit) => machine.release(slot, exit))
              return slot.connection
            })
          )
  )

  const mapped = <A, E2, R>(
    effect: Effect.Effect<A, E2, R>,
    sql?: string,
    params?: ReadonlyArray<Param>
  ): Effect.Effect<A, E | Exclude<E2, PgPoolExpertError>, R> =>
    view.lift.effect(effect as Effect.Effect<A, E2 | PgPoolExpertError, R>, {
      operation: "pool",
      sql,
      params
    })

  /**
   * One statement: on the current transaction's connection, else on a shared connection
   * (machine.oneShot). Its span is a leaf, made only when a tracer can see it. `options.timeout`
   * covers the wait for a connection too (`boundedBy`).
   */
  const statement = <A>(
    name: string,
    sql: string,
    params: ReadonlyArray<Param> | undefined,
    f: (connection: ExpertConnection, options?: OperationOptions) => Effect.Effect<A, PgExpertError>,
    opens?: (result: A) => boolean,
    rows?: (result: A) => number,
    options?: OperationOptions
  ): Effect.Effect<A, E> =>
    Effect.withFiber((fiber) => {
      const tx = fiber.getRef(current)
      if (tx !== undefined) {
        return leaf(fiber, trace, name, mapped(f(tx.connection, options), sql, params), sql, params, rows)
      }
      const bound = boundedBy(options)
      // The options go on (rowMode); with a timeout, only what is left of it after the wait.
      const run =
        bound === undefined
          ? (c: ExpertConnection) => f(c, options)
          : (c: ExpertConnection) => f(c, bound.rest())
      if (!tracingActive(fiber)) return mapped(machine.oneShot(run, bound?.wait, opens), sql, params)
      const around: AroundWait = bound === undefined ? acquireSpan : (wait) => acquireSpan(bound.wait(wait))
      return leaf(
        fiber,
        trace,
        name,
        mapped(machine.oneShot(run, around, opens), sql, params),
        sql,
        params,
        rows
      )
    }) as Effect.Effect<A, E>

  /** One operation on a borrowed connection (COPY IN: it runs the caller's source). */
  const one = <A, E2, R>(
    name: string,
    sql: string,
    params: ReadonlyArray<Param> | undefined,
    f: (connection: ExpertConnection, options?: OperationOptions) => Effect.Effect<A, E2, R>,
    options?: OperationOptions
  ): Effect.Effect<A, E | Exclude<E2, PgPoolExpertError>, R> =>
    Effect.suspend(() => {
      const bound = boundedBy(options)
      const run = borrow((c) => f(c, bound === undefined ? options : bound.rest()), bound?.wait)
      return traced(trace, name, mapped(run, sql, params), sql, params)
    })

  const held = <A, E2>(
    name: string,
    sql: string,
    params: ReadonlyArray<Param> | undefined,
    f: (connection: ExpertConnection) => Stream.Stream<A, E2>
  ): Stream.Stream<A, E | Exclude<E2, PgPoolExpertError>> =>
    tracedStream(
      trace,
      name,
      view.lift.stream(Stream.unwrap(Effect.map(scoped, f)), { operation: name, sql, params }),
      sql,
      params
    )

  return { viewOf, borrow, scoped, statement, one, held }
}

export const makePoolApi = <E, CE>(
  shared: PoolShared,
  view: PoolView<E, CE>
): PoolApi<E, ConnectionApi<CE>> => {
  const { machine, current, trace } = shared
  const { viewOf, borrow, scoped, statement, one, held } = makeRunners(shared, view)
  const lift = view.lift
  const pool: OpContext = { operation: "pool" }
  type C = ConnectionApi<CE>

  const withTransaction = <A, E2, R>(
    use: (connection: C) => Effect.Effect<A, E2, R>,
    options?: TransactionOptions
  ): Effect.Effect<A, E | E2, R> =>
    Effect.flatMap(Effect.service(current), (tx) => {
      const body = (state: TransactionState) =>
        Effect.provideService(use(viewOf(state.connection)), current, state)
      const run =
        tx !== undefined
          ? runSavepoint(tx, options, body, machine.check)
          : borrow((connection) => runTransaction(connection, options, body, machine.check))
      return traced(trace, tx !== undefined ? "pg.savepoint" : "pg.transaction", lift.effect(run, pool))
    })

  return {
    withConnection: (use) =>
      lift.effect(
        borrow((connection) => use(viewOf(connection))),
        pool
      ),
    connection: lift.effect(Effect.map(scoped, viewOf), pool),
    withTransaction,
    inTransaction: Effect.map(Effect.service(current), (tx) => tx !== undefined),
    query: ((sql: string, params?: ReadonlyArray<Param>, options?: QueryOptions) => {
      // `rest` is `options` with what is left of its timeout: the rowMode goes with it.
      const run = (c: ExpertConnection, rest?: QueryOptions) =>
        c.query(sql, params, rest) as Effect.Effect<QueryResult<AnyRow>, PgExpertError>
      return mayBegin(sql, false)
        ? one("pg.query", sql, params, run, options)
        : statement("pg.query", sql, params, run, queryOpens, rowCount, options)
    }) as PoolOperations<E>["query"],
    queryExpectNoData: (sql, params, options) => {
      const run = (c: ExpertConnection, rest?: OperationOptions) => c.queryExpectNoData(sql, params, rest)
      return mayBegin(sql, false)
        ? one("pg.query", sql, params, run, options)
        : statement("pg.query", sql, params, run, isBegin, undefined, options)
    },
    simpleQuery: (sql, options) => {
      const run = (c: ExpertConnection, rest?: OperationOptions) => c.simpleQuery(sql, rest)
      return mayBegin(sql, true)
        ? one("pg.simpleQuery", sql, undefined, run, options)
        : statement("pg.simpleQuery", sql, undefined, run, simpleOpens, undefined, options)
    },
    stream: ((sql: string, params?: ReadonlyArray<Param>, options?: RowModeOption) =>
      held("pg.stream", sql, params, (c) => c.stream(sql, params, options))) as PoolOperations<E>["stream"],
    streamWithColumns: (sql, params, options) => {
      const context: OpContext = { operation: "streamWithColumns", sql, params }
      return traced(
        trace,
        "pg.stream",
        lift
          .effect(
            Effect.flatMap(scoped, (c) => c.streamWithColumns(sql, params, options)),
            context
          )
          .pipe(
            Effect.map(({ columns, rows, command }) => ({
              columns,
              rows: lift.stream(rows, context),
              command: lift.effect(command, context)
            }))
          ),
        sql,
        params
      )
    },
    copyIn: (sql, source) => one("pg.copyIn", sql, undefined, (c) => c.copyIn(sql, source)),
    copyInFeed: (sql, feed) => one("pg.copyIn", sql, undefined, (c) => c.copyInFeed(sql, feed)),
    copyInRows: (target, rows, options) =>
      one("pg.copyIn", `COPY ${target.table} FROM STDIN`, undefined, (c) =>
        Effect.andThen(collection(target.table), c.copyInRows(target, rows, options))
      ),
    copyOut: (sql) => held("pg.copyOut", sql, undefined, (c) => c.copyOut(sql)),
    copyOutRows: (sql) => held("pg.copyOut", sql, undefined, (c) => c.copyOutRows(sql)),
    copyOutTyped: ((source: string | CopyTarget, options?: CopyOutTypedOptions) =>
      held(
        "pg.copyOut",
        typeof source === "string" ? source : `COPY ${source.table} TO STDOUT`,
        undefined,
        (c) =>
          (
            c.copyOutTyped as (
              s: string | CopyTarget,
              o?: CopyOutTypedOptions
            ) => Stream.Stream<ReadonlyArray<unknown>, PgExpertError>
          )(source, options)
      )) as PoolOperations<E>["copyOutTyped"],
    listen: (channel) => {
      const context: OpContext = { operation: "listen", sql: `LISTEN ${channel}` }
      return lift.effect(
        Effect.flatMap(scoped, (c) =>
          Effect.map(c.listen(channel), (stream) => lift.stream(stream, context))
        ),
        context
      )
    },
    notify: (channel, payload) =>
      statement("pg.notify", "NOTIFY", [channel, payload ?? ""], (c) => c.notify(channel, payload)),
    stats: machine.stats
  }
}
