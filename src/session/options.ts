/**
 * The session store's options, checked once when the store (or `ensureSchema`) is built: table
 * and schema names (strings, not empty, no NUL, at most 63 bytes), the default period (a finite
 * duration ≥ 0), the purge interval (a positive duration, or "Infinity" for never) and the purge
 * batch size (a safe integer ≥ 1). Every bad option is a PgSessionError (reason `InvalidOption`,
 * or `InvalidExpiry` for the default period), returned, never thrown.
 *
 * It does NOT touch the database, nor check the per-call arguments (SessionStore.ts does).
 */
import { Duration } from "effect"
import {
  checkName,
  decodeDuration,
  expiryMillis,
  PgSessionError,
  type SessionSql,
  sessionSql
} from "./sql.ts"

export interface SessionStoreOptions {
  /** Table name (default "session"). */
  readonly table?: string | undefined
  /** Schema of the table (default: the search_path). */
  readonly schema?: string | undefined
  /** The expiry when none is given (default one week). */
  readonly defaultPeriod?: Duration.Input | undefined
  /** How often expired rows are deleted in the background (default 10 minutes; "Infinity" never). */
  readonly purgeInterval?: Duration.Input | undefined
  /** Rows deleted per purge statement (default 1,000). */
  readonly purgeBatchSize?: number | undefined
  /** Create the table and index when the store starts (default false). */
  readonly ensureSchema?: boolean | undefined
}

/** The options, checked and with their defaults. */
export interface StoreSettings {
  readonly sql: SessionSql
  /** Milliseconds. */
  readonly defaultPeriod: number
  /** Positive; infinite means no background purge. */
  readonly purgeInterval: Duration.Duration
  readonly purgeBatchSize: number
  readonly ensureSchema: boolean
}

const week = 7 * 24 * 60 * 60 * 1000

const invalid = (message: string) => new PgSessionError({ reason: "InvalidOption", message })

/** The statements for the table the options name, or why the names are not usable. */
export const resolveSql = (options?: SessionStoreOptions): SessionSql | PgSessionError => {
  const table = options?.table ?? "session"
  const schema = options?.schema
  const problem =
    checkName("table", table) ?? (schema === undefined ? undefined : checkName("schema", schema))
  return problem ?? sessionSql(table, schema)
}

/** Every option checked, with its default; the first bad one as a PgSessionError. */
export const resolveOptions = (options?: SessionStoreOptions): StoreSettings | PgSessionError => {
  const sql = resolveSql(options)
  if (sql instanceof PgSessionError) return sql
  const defaultPeriod = expiryMillis("defaultPeriod", options?.defaultPeriod ?? week)
  if (defaultPeriod instanceof PgSessionError) return defaultPeriod
  const batch = options?.purgeBatchSize ?? 1_000
  if (!Number.isSafeInteger(batch) || batch < 1) return invalid("purgeBatchSize must be an integer ≥ 1")
  const interval = decodeDuration(options?.purgeInterval ?? "10 minutes")
  if (interval === undefined || !(Duration.toMillis(interval) > 0)) {
    return invalid('purgeInterval must be a positive duration (or "Infinity")')
  }
  return {
    sql,
    defaultPeriod,
    purgeInterval: interval,
    purgeBatchSize: batch,
    ensureSchema: options?.ensureSchema === true
  }
}
