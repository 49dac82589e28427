/**
 * In-process fake connections for the pool's state machine (src/pool/machine.ts), through the
 * replaceable connection factory (src/pool/connector.ts): a `FakeServer` whose `connector` opens
 * `FakeConnection`s, each implementing `PoolConnection` (what the pool uses of a connection) plus
 * `query`, the statement the tests' one-shot runs send, and knobs to fail it.
 *
 * - Openings: `server.opening(n)` decides the n-th (1-based): succeed (default), sleep, fail.
 * - Statements: `server.answer(connection, sql)` decides each one (default: answered at once).
 *   BEGIN leaves the connection in a transaction ("T"), COMMIT and ROLLBACK end it; a statement
 *   on a connection that is not Open fails with PgClosedError; closing or failing a connection
 *   ends the statements still running on it.
 * - A connection closes when the pool closes its scope (`closedByPool`), or when the pool calls
 *   `closeWith` (`cancelledOnClose` when it asked to cancel what runs).
 * - Reported parameters (`in_hot_standby`...): whatever the test puts in `reported`.
 *
 * It does NOT speak the wire protocol or run SQL: answers are whatever the test says.
 */
import { Deferred, Effect, Exit, Scope } from "effect"
import { PgClosedError, PgConnectionError, type PgExpertError } from "../../src/Errors.ts"
import type { Status } from "../../src/engine/state.ts"
import type { PoolConnection, PoolConnectorService } from "../../src/pool/connector.ts"
import { makeMachine } from "../../src/pool/machine.ts"
import { type PoolOptions, resolveOptions } from "../../src/pool/options.ts"
import type { PoolMachine } from "../../src/pool/types.ts"
import { parseCommandTag, type SimpleQueryResult } from "../../src/Result.ts"

export interface FakeConnection extends PoolConnection {
  /** 1, 2, … in opening order. */
  readonly id: number
  /** Every statement sent on it (the pool's checks included), in order. */
  readonly sent: Array<string>
  /** The last position of the transaction-guard switch the pool set. */
  shared: boolean
  /** The pool closed it with `closeWith({ cancelRunning: true })`. */
  cancelledOnClose: boolean
  /** Closed by the pool (its scope closed, or closeWith). */
  closedByPool: boolean
  /** A statement as the tests' one-shot runs send it: answers the command tag. */
  readonly query: (sql: string) => Effect.Effect<string, PgExpertError>
  /** Ends the connection as the server would (FATAL, lost socket): status Failed, closeFinished fails. */
  readonly fail: (error?: PgConnectionError) => void
  readonly currentStatus: () => Status
  /** Statements running now. */
  readonly running: () => number
  /** The run-time parameters it reports (`parameter`): empty, as a server that reports none. */
  readonly reported: Map<string, string>
}

export interface FakeServer {
  readonly connector: PoolConnectorService<FakeConnection>
  /** Every connection opened, in order. */
  readonly connections: Array<FakeConnection>
  /** How many openings were attempted. */
  readonly attempts: () => number
  /** Decides the n-th opening (1-based); a failure fails it. Default: opens at once. */
  opening: (n: number) => Effect.Effect<void, PgExpertError>
  /** Decides each statement; a failure fails it. Default: answered at once. */
  answer: (connection: FakeConnection, sql: string) => Effect.Effect<void, PgExpertError>
}

export const lostConnection = (message = "read ECONNRESET") =>
  new PgConnectionError({ phase: "io", mayHaveReachedServer: true, message })

export const refused = (message = "connect ECONNREFUSED") =>
  new PgConnectionError({ phase: "connect", mayHaveReachedServer: false, message })

const tagOf = (sql: string): string => {
  const word = sql.trim().split(/\s+/)[0]?.toUpperCase() ?? ""
  return word === "SELECT" ? "SELECT 1" : word
}

const makeConnection = (server: FakeServer, id: number): FakeConnection => {
  let status: Status = { _tag: "Open" }
  let transaction: "I" | "T" | "E" = "I"
  let running = 0
  const ended = Deferred.makeUnsafe<void, PgExpertError>()
  const end = (next: Status, exit: Exit.Exit<void, PgExpertError>) => {
    if (status._tag !== "Open") return
    status = next
    Deferred.doneUnsafe(ended, exit)
  }
  const statement = (sql: string): Effect.Effect<string, PgExpertError> =>
    Effect.suspend(() => {
      if (status._tag !== "Open") return Effect.fail(PgClosedError.closed())
      connection.sent.push(sql)
      running++
      const gone = Effect.andThen(
        Effect.exit(Deferred.await(ended)),
        Effect.fail(PgClosedError.afterSend(undefined))
      )
      return Effect.raceFirst(server.answer(connection, sql), gone).pipe(
        Effect.map(() => {
          const tag = tagOf(sql)
          if (tag === "BEGIN" || tag === "START") transaction = "T"
          else if (tag === "COMMIT" || tag === "ROLLBACK") transaction = "I"
          return tag
        }),
        Effect.ensuring(Effect.sync(() => running--))
      )
    })
  const connection: FakeConnection = {
    id,
    sent: [],
    shared: false,
    cancelledOnClose: false,
    closedByPool: false,
    query: statement,
    simpleQuery: (sql) =>
      Effect.map(
        statement(sql),
        (tag): SimpleQueryResult => ({
          results: [{ columns: [], rows: [], command: sql === "" ? undefined : parseCommandTag(tag) }],
          notices: [],
          warnings: []
        })
      ),
    status: Effect.sync(() => status),
    closeFinished: Deferred.await(ended),
    closeWith: (options) =>
      Effect.sync(() => {
        connection.closedByPool = true
        if (options?.cancelRunning === true) connection.cancelledOnClose = true
        end({ _tag: "ClosedGracefully" }, Exit.void)
      }),
    pending: Effect.sync(() => running),
    parameter: (name) => Effect.sync(() => connection.reported.get(name)),
    transactionStatus: Effect.sync(() => transaction),
    fail: (error = lostConnection()) =>
      end({ _tag: "Failed", error, resourcesReleased: true }, Exit.fail(error)),
    currentStatus: () => status,
    running: () => running,
    reported: new Map()
  }
  return connection
}

export const makeFakeServer = (): FakeServer => {
  let attempts = 0
  const server: FakeServer = {
    connections: [],
    attempts: () => attempts,
    opening: () => Effect.void,
    answer: () => Effect.void,
    connector: {
      open: () =>
        Effect.gen(function* () {
          const n = ++attempts
          yield* server.opening(n)
          const connection = makeConnection(server, n)
          server.connections.push(connection)
          yield* Effect.addFinalizer(() => connection.closeWith())
          return {
            connection,
            setShared: (shared: boolean) => {
              connection.shared = shared
            }
          }
        })
    }
  }
  return server
}

/** A pool state machine on `server`'s fake connections, for the life of the current scope. */
export const fakePool = (
  server: FakeServer,
  options: Omit<PoolOptions, "connect" | "resetOnRelease">
): Effect.Effect<PoolMachine<FakeConnection>, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = yield* resolveOptions({ connect: fakeUrl, ...options })
    return yield* makeMachine({ ...settings, resetOnRelease: "none" }, server.connector)
  })

/** `fakePool` in a scope of its own, closed by the test (to see the shutdown). */
export const fakePoolIn = (
  server: FakeServer,
  options: Omit<PoolOptions, "connect" | "resetOnRelease">
): Effect.Effect<
  { readonly machine: PoolMachine<FakeConnection>; readonly scope: Scope.Closeable },
  unknown
> =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const machine = yield* Scope.provide(scope)(fakePool(server, options))
    return { machine, scope }
  })

/** The connection input of every fake pool (never dialled: the fake connector ignores it). */
export const fakeUrl = "postgres://fake@fake.invalid/fake"

/** Borrows a connection for `use`, as pool/api.ts does: released (checked) however `use` ends. */
export const borrow = <A, E>(
  machine: PoolMachine<FakeConnection>,
  use: (connection: FakeConnection) => Effect.Effect<A, E>
): Effect.Effect<A, unknown> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(machine.acquire(restore), (slot) =>
      Effect.onExit(restore(use(slot.connection)), (exit) => machine.release(slot, exit))
    )
  )

/** Polls `condition` every 5 ms until it holds; dies after `timeoutMillis`. */
export const until = (what: string, condition: () => boolean, timeoutMillis = 5_000): Effect.Effect<void> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMillis
    while (!condition()) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep("5 millis")
    }
  })
