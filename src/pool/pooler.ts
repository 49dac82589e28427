/**
 * The pool behind a transaction pooler (PgBouncer `pool_mode=transaction`; pool option
 * `pooler: "transaction"`): each transaction may get another server backend, so what lives in a
 * session does not survive from one transaction to the next, and can land on another client's
 * backend. The pool then turns the statement cache off (machine.ts: `statementCacheSize` 0, so
 * only the unnamed statement is used) and refuses, before anything is sent, what needs a
 * session (`refusal`):
 *
 * - `prepare` (a named statement lives in one backend) and `listen` / `LISTEN`;
 * - `SET` without `LOCAL` (or `TRANSACTION`), `SET SESSION ...`, `PREPARE`: session settings and
 *   statements (use `SET LOCAL` inside `withTransaction`);
 * - session-level advisory locks (`pg_advisory_lock`, `pg_try_advisory_lock` and their
 *   `_shared` forms; the `_xact_` ones are fine in a transaction).
 *
 * The refusal is a `PgConfigError` (reason `UnsupportedOption`, key `pool.pooler`,
 * `mayHaveRun` false), mapped to the view's error like any other (`guardLift` wraps the view's
 * lifts, for the pool's own operations and for the connections it lends).
 *
 * It does NOT parse SQL beyond the leading keywords (lexer/) and a search for the lock
 * functions: a `SET` after the first statement of a simple query, a temporary table, a cursor
 * `WITH HOLD` or a pipeline's statements are not looked at. `pooler: "session"` (PgBouncer's
 * session mode: one backend per client) changes nothing.
 *
 * Invariants: a refused operation sends nothing; without `pooler: "transaction"` the lifts are
 * the view's own, unchanged.
 */
import { Effect, Stream } from "effect"
import { configError, type PgConfigError } from "../config/ConfigError.ts"
import type { Lift, OpContext } from "../connection/api.ts"
import { leadingKeywords } from "../lexer/Leading.ts"

/** What the pool's connections go through: nothing in between, or PgBouncer's two modes. */
export type PoolerMode = "none" | "session" | "transaction"

export const poolerModes = ["none", "session", "transaction"] as const

const sessionLock = /\bpg_(try_)?advisory_lock(_shared)?\s*\(/i

/** Why `context` needs a session a transaction pooler does not keep, or undefined. */
export const refusal = (context: OpContext): string | undefined => {
  if (context.operation === "prepare") return "prepare (a named statement lives in one server session)"
  if (context.operation === "listen") return "LISTEN (notifications go to one server session)"
  const sql = context.sql
  if (sql === undefined) return undefined
  const [first, second] = leadingKeywords(sql)
  if (first === "LISTEN") return "LISTEN (notifications go to one server session)"
  if (first === "PREPARE") return "PREPARE (a prepared statement lives in one server session)"
  if (first === "SET" && second !== "LOCAL" && second !== "TRANSACTION") {
    return "a session SET (use SET LOCAL inside a transaction)"
  }
  if (sessionLock.test(sql))
    return "a session-level advisory lock (use pg_advisory_xact_lock in a transaction)"
  return undefined
}

const refused = (why: string): PgConfigError =>
  configError(
    "UnsupportedOption",
    `${why} does not work behind a transaction pooler (pool option pooler: "transaction"); nothing was sent`,
    { key: "pool.pooler" }
  )

/**
 * `inner`, refusing first what a transaction pooler breaks (the refusal goes through `inner`,
 * so each view reports it with its own error type).
 */
export const guardLift = <E, X>(inner: Lift<E, X>, mode: PoolerMode): Lift<E, X> =>
  mode !== "transaction"
    ? inner
    : {
        effect: (self, context) => {
          const why = refusal(context)
          return inner.effect(
            why === undefined ? self : (Effect.fail(refused(why)) as unknown as typeof self),
            context
          )
        },
        stream: (self, context) => {
          const why = refusal(context)
          return inner.stream(
            why === undefined ? self : (Stream.fail(refused(why)) as unknown as typeof self),
            context
          )
        },
        error: inner.error
      }
