/**
 * The pool's state machine, assembled: who holds which connection, which connections carry
 * one-shot statements, who waits, and when connections are opened, checked and closed.
 * Everything user-facing (spans, error views, transactions, conveniences) is built on its
 * `acquire`/`release`/`oneShot` in pool/api.ts.
 *
 *   creating ──ok──► busy ◄──takeIdle / hand-over── idle ◄──(nobody waits)── busy
 *                    │  ▲                                                    ▲
 *                    │  └──last statement done, checks── shared ◄──statement─┘ (idle or offered)
 *                    └───────────────────── retire ──────────────────────────► retired (closing, then gone)
 *
 * - Two kinds of use. A borrower (`acquire`: withConnection, transactions, streams, COPY, LISTEN)
 *   holds a connection alone. A one-shot statement (`oneShot`, room.ts) is sent on a `shared`
 *   connection next to others, at most `maxInFlightPerConnection` in flight on one.
 * - Throttle: at most `max` connections exist (opening, open or still closing); the pool opens
 *   them as demand asks (opening.ts).
 * - Two FIFO lines, borrowers and statements, and the hand-over between them (lines.ts). A
 *   borrower that waits while `max` connections exist reserves the least loaded shared
 *   connection, so it waits for at most one connection's pipeline.
 * - Checks before a borrow and after it (checks.ts, retire.ts, lines.ts `settle`); maintenance
 *   and shutdown (upkeep.ts).
 *
 * The modules share one mutable record (state.ts, where the invariants are written); this one
 * makes it, binds `fill` (opening a connection ends in a hand-over, which covers demand again, so
 * the call goes through the record instead of an import cycle), starts the maintenance fiber and
 * the `min` connections, and registers the shutdown with the scope. The pool's
 * `targetSessionAttrs` option replaces the connection's here, for every connection it opens, and
 * `pooler: "transaction"` turns the statement cache off.
 *
 * It does NOT trace, map errors, or know about transactions (pool/api.ts, pool/transaction.ts),
 * nor dial: connections come from the connector it is given (connector.ts `PoolConnector`).
 * It runs on real timers (deadline.ts `after`, any length), the Clock for timestamps and maintenance.
 */
import { Effect, type Scope } from "effect"
import type { PgConfigError } from "../config/ConfigError.ts"
import { resolve } from "../config/Resolve.ts"
import { TypeCatalog, TypeCatalogRef } from "../connection/introspect.ts"
import type { PoolConnection, PoolConnectorService } from "./connector.ts"
import { acquire, release } from "./lines.ts"
import { fill, fillToMin } from "./opening.ts"
import type { PoolSettings } from "./options.ts"
import { oneShot } from "./room.ts"
import { makeState, waiting } from "./state.ts"
import type { PoolMachine } from "./types.ts"
import { maintain, shutdown } from "./upkeep.ts"

/** A pool that lives as long as the scope, opening its connections with `connector`. */
export const makeMachine = <C extends PoolConnection>(
  options: PoolSettings<C>,
  connector: PoolConnectorService<C>
): Effect.Effect<PoolMachine<C>, PgConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const resolved = yield* resolve(options.connect)
    // The pool's targetSessionAttrs replaces the connection's: one host list, a pool per role.
    const targetSessionAttrs = options.targetSessionAttrs ?? resolved.targetSessionAttrs
    // Behind a transaction pooler a named statement may meet another client's backend (pooler.ts).
    const statementCacheSize = options.pooler === "transaction" ? 0 : resolved.statementCacheSize
    const config = { ...resolved, targetSessionAttrs, statementCacheSize }
    const settings = {
      ...options,
      targetSessionAttrs,
      monitorReplication: options.monitorReplication ?? targetSessionAttrs !== "any"
    }
    // One catalog of user types for the pool's connections (decision 023); one given is shared.
    const catalog = (yield* TypeCatalogRef) ?? new TypeCatalog()
    const open = (c: typeof config) => Effect.provideService(connector.open(c), TypeCatalogRef, catalog)
    const s = yield* makeState(settings, config, open)
    s.fill = () => fill(s)
    s.runWork(Effect.forever(Effect.andThen(Effect.sleep(settings.maintenanceIntervalMillis), maintain(s))))
    fillToMin(s)
    yield* Effect.addFinalizer(() => shutdown(s))
    return {
      settings,
      config,
      acquire: (restore) => acquire(s, restore),
      release: (slot, exit) => release(s, slot, exit),
      oneShot: (run, aroundWait, opensTransaction) => oneShot(s, run, aroundWait, opensTransaction),
      check: s.check,
      stats: Effect.sync(() => ({
        total: s.total,
        idle: s.idle.length,
        inUse: s.inUse,
        inFlight: s.inFlight,
        waiting: waiting(s),
        creating: s.creating,
        closing: s.closing,
        min: settings.min,
        max: settings.max,
        ...(s.replication === undefined ? {} : { replication: s.replication })
      }))
    }
  })
