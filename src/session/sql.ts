/**
 * The session store's building blocks that need no database: key generation, duration and name
 * checks, the error, and the SQL text for one table.
 *
 * Keys are 30 bytes from node:crypto's CSPRNG (240 bits), written in base64url: exactly 40
 * characters of [A-Za-z0-9_-], which fill the `char(40)` column with no padding.
 *
 * Bad input is returned as a PgSessionError, never thrown: durations are decoded safely (and a
 * NaN, or an object with a key that is no unit, is refused rather than read as zero), names are
 * checked before they are quoted.
 *
 * It does NOT run anything (SessionStore.ts does).
 *
 * Invariants: every statement names the table through `quoteIdentifier`, with a name that
 * `checkName` accepted; expiries go to the server as whole milliseconds (a bigint parameter times
 * `interval '1 millisecond'`), never as interpolated text; durations are finite, ≥ 0 and at most
 * Number.MAX_SAFE_INTEGER milliseconds.
 */
import { randomBytes } from "node:crypto"
import { Duration, Option, Schema } from "effect"
import { quoteIdentifier } from "../copy/CopyText.ts"

/** Bytes of randomness in a key: 30 bytes = 240 bits = 40 base64url characters. */
export const keyBytes = 30
export const keyLength = 40

/** A new session key: 240 random bits in 40 base64url characters. */
export const generateKey = (): string => randomBytes(keyBytes).toString("base64url")

/**
 * A bad argument to the session store; nothing was sent. `InvalidExpiry`: not a finite duration
 * ≥ 0; `InvalidOption`: a store option (table, schema, purgeInterval, purgeBatchSize, …);
 * `InvalidValue`: a value PostgreSQL's text cannot hold (a NUL character).
 */
export class PgSessionError extends Schema.TaggedError<PgSessionError>()("PgSessionError", {
  reason: Schema.Literals(["InvalidExpiry", "InvalidOption", "InvalidValue"]),
  message: Schema.String
}) {}

const units = new Set([
  "weeks",
  "days",
  "hours",
  "minutes",
  "seconds",
  "milliseconds",
  "microseconds",
  "nanoseconds"
])

/** Inputs Duration would read as zero although they name no duration: NaN, or an unknown key. */
const readAsZero = (input: unknown): boolean => {
  if (typeof input === "number") return Number.isNaN(input)
  if (Array.isArray(input)) return input.some((n) => Number.isNaN(n))
  if (typeof input === "object" && input !== null && !Duration.isDuration(input)) {
    return Object.entries(input).some(([key, n]) => !units.has(key) || Number.isNaN(n))
  }
  return false
}

/** `input` as a Duration, or undefined when it is none (never throws). */
export const decodeDuration = (input: unknown): Duration.Duration | undefined => {
  if (readAsZero(input)) return undefined
  return Option.getOrUndefined(Duration.fromInput(input as Duration.Input))
}

/** A finite, non-negative duration in whole milliseconds, or the error saying why not. */
export const expiryMillis = (what: string, input: Duration.Input): number | PgSessionError => {
  const decoded = decodeDuration(input)
  if (decoded === undefined) {
    return new PgSessionError({ reason: "InvalidExpiry", message: `${what} is not a duration` })
  }
  const millis = Math.round(Duration.toMillis(decoded))
  if (!Number.isFinite(millis) || millis < 0 || millis > Number.MAX_SAFE_INTEGER) {
    return new PgSessionError({
      reason: "InvalidExpiry",
      message: `${what} must be a finite duration ≥ 0 (at most ${Number.MAX_SAFE_INTEGER} ms)`
    })
  }
  return millis
}

/** Longest name PostgreSQL keeps (NAMEDATALEN − 1 bytes); a longer one is silently truncated. */
export const maxNameBytes = 63

/** Why `name` cannot name the table or schema (`what`), or undefined when it can. */
export const checkName = (what: string, name: unknown): PgSessionError | undefined => {
  const problem =
    typeof name !== "string"
      ? "must be a string"
      : name === ""
        ? "must not be empty"
        : name.includes("\0")
          ? "must not contain a NUL character"
          : Buffer.byteLength(name, "utf8") > maxNameBytes
            ? `must be at most ${maxNameBytes} bytes in UTF-8 (PostgreSQL would truncate it)`
            : undefined
  return problem === undefined
    ? undefined
    : new PgSessionError({ reason: "InvalidOption", message: `${what} ${problem}` })
}

/** The statements of a store over one table. */
export interface SessionSql {
  readonly createTable: string
  readonly createIndex: string
  readonly insert: string
  readonly select: string
  readonly update: string
  readonly delete: string
  readonly purge: string
}

/** SQL for the table `table` (in `schema` when given). */
export const sessionSql = (table: string, schema?: string): SessionSql => {
  const name =
    schema === undefined ? quoteIdentifier(table) : `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`
  const index = quoteIdentifier(`${table}_expire_date_idx`)
  const expiry = "now() + $2::int8 * interval '1 millisecond'"
  return {
    createTable: `CREATE TABLE IF NOT EXISTS ${name} (
  session_key  char(40) PRIMARY KEY,
  expire_date  timestamptz(2) NOT NULL,
  session_data text
)`,
    createIndex: `CREATE INDEX IF NOT EXISTS ${index} ON ${name} (expire_date)`,
    insert: `INSERT INTO ${name} (session_key, expire_date, session_data) VALUES ($1, ${expiry}, $3) ON CONFLICT (session_key) DO NOTHING`,
    select: `SELECT session_data, floor(extract(epoch FROM expire_date - now()) * 1000)::int8 FROM ${name} WHERE session_key = $1 AND expire_date > now()`,
    // An expired row is deleted, never revived; a live one gets the new value and expiry.
    update: `WITH expired AS (DELETE FROM ${name} WHERE session_key = $1 AND expire_date <= now()) UPDATE ${name} SET session_data = $3, expire_date = ${expiry} WHERE session_key = $1 AND expire_date > now()`,
    delete: `DELETE FROM ${name} WHERE session_key = $1`,
    purge: `DELETE FROM ${name} WHERE session_key IN (SELECT session_key FROM ${name} WHERE expire_date <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`
  }
}
