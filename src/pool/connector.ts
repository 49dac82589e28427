/**
 * Where the pool gets its connections: the `PoolConnector` service, and the least the pool needs
 * of a connection (`PoolConnection`, plus the shared switch of `PooledConnection`).
 *
 * - `PoolConnection` is the part of `ConnectionApi<PgExpertError>` the pool itself uses: `status`
 *   and `closeFinished` (retire what failed), `simpleQuery` (health check, settle check,
 *   ROLLBACK, DISCARD ALL), `pending` and `transactionStatus` (the return checks), `closeWith`
 *   (retire, cancelling what still runs), `parameter` (the role a server reports: standbys.ts).
 *   The pool's state machine is typed against it alone.
 * - `PooledConnection` pairs a connection with `setShared`, the switch of its transaction guard
 *   (engine/guard.ts): on while the connection carries one-shot statements of many callers, off
 *   while it is lent to one borrower. A pair, not an extra method, so the connection handed to
 *   borrowers is the connection the factory made (nothing wraps it, its identity is kept).
 * - `PoolConnector` is a `Context.Reference` (decision 003): the default dials real servers
 *   (`connectResolved`) and switches the real guard (`setShared`); a test replaces it with
 *   `Effect.provideService(PoolConnector, fake)` around `Pool.make` / `Pool.layer`, and the pool
 *   then runs on in-process fake connections (test/pool/fakes.ts). See decision 014.
 *
 * It does NOT pool, retry or check anything (pool/opening.ts opens, pool/retire.ts closes).
 *
 * Invariants: `open` runs in a scope that the pool closes when it retires the connection; the
 * connection it returns is not shared (`setShared(false)` is its starting state).
 */
import { Context, Effect, type Scope } from "effect"
import type { ConnectConfig } from "../config/ConnectConfig.ts"
import { connectResolved } from "../connection/connect.ts"
import { type ConnectionApi, type ExpertConnection, setShared } from "../connection/operations.ts"
import type { PgExpertError } from "../Errors.ts"

/** What the pool itself uses of a connection: a subset of `ConnectionApi<PgExpertError>`. */
export type PoolConnection = Pick<
  ConnectionApi<PgExpertError>,
  "status" | "closeFinished" | "closeWith" | "simpleQuery" | "pending" | "transactionStatus" | "parameter"
>

/** A connection as the pool holds it: the connection and the switch of its transaction guard. */
export interface PooledConnection<C extends PoolConnection = ExpertConnection> {
  readonly connection: C
  /** Turns the connection's transaction guard on (carrying one-shot statements) or off (lent). */
  readonly setShared: (shared: boolean) => void
}

/** The connection factory of a pool. */
export interface PoolConnectorService<C extends PoolConnection = ExpertConnection> {
  /** Opens one connection with `config`; it closes when the scope closes. */
  readonly open: (config: ConnectConfig) => Effect.Effect<PooledConnection<C>, PgExpertError, Scope.Scope>
}

/** The real factory: dials the server, authenticates, and switches the engine's guard. */
export const dialConnector: PoolConnectorService = {
  open: (config) =>
    Effect.map(connectResolved(config), (connection) => ({
      connection,
      setShared: (shared: boolean) => setShared(connection, shared)
    }))
}

/**
 * The service the pool opens its connections with, read when the pool is made. A
 * `Context.Reference`: the real factory is the default; provide another to run a pool on fakes.
 */
export const PoolConnector: Context.Reference<PoolConnectorService> = Context.Reference<PoolConnectorService>(
  "effect-pg/PoolConnector",
  { defaultValue: () => dialConnector }
)
