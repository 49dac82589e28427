/**
 * The `mixed` workload's data: a table of realistic rows (int8, numeric(12,2), timestamptz, text,
 * bool, jsonb, int4[]) with values computed from the row number, the SQL that fills it, and the
 * check every client's rows must pass before a run produces a number.
 *
 * Does: say what each column must decode to. Every client must return object rows keyed by column
 * name with real JS values: `active` a boolean, `attrs` a parsed object, `tags` an array of
 * numbers, `created_at` a Date (or effect-pg's lossless `PgTimestamp`), `email` and `amount`
 * strings (no JS client turns numeric into a float by default: it would lose digits). `id` is a
 * bigint, except for the clients whose documented default returns int8 as a decimal string
 * (pg and postgres.js, to keep 64-bit values exact): `int8AsString` names them.
 * Does NOT: talk to a server, or time anything.
 * Invariants: a client returning the server's text where a value is expected fails the check
 * (a `"t"` for a bool, a JSON string for jsonb, `"{1,2}"` for an array, a string timestamp).
 */
import { MIXED_TABLE, MIXED_TABLE_ROWS } from "./workloads.ts"

/** DDL + data, run once by server.ts. */
export const CREATE_MIXED_TABLE = [
  `drop table if exists ${MIXED_TABLE}`,
  `create table ${MIXED_TABLE} (
    id int8 primary key,
    amount numeric(12,2) not null,
    created_at timestamptz not null,
    email text not null,
    active bool not null,
    attrs jsonb not null,
    tags int4[] not null
  )`,
  `insert into ${MIXED_TABLE}
   select g,
          g * 1.25,
          timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',
          'customer-' || lpad(g::text, 6, '0') || '@example.com',
          g % 3 <> 0,
          jsonb_build_object('plan', case when g % 2 = 0 then 'pro' else 'free' end, 'seats', g % 10, 'beta', g % 5 = 0),
          array[g % 7, g % 11, g % 13, g]::int4[]
   from generate_series(1, ${MIXED_TABLE_ROWS}) g`,
  `analyze ${MIXED_TABLE}`
]

export interface MixedPolicy {
  /** The client's documented default returns int8 as a decimal string (pg, postgres.js). */
  readonly int8AsString: boolean
}

const EPOCH_2024 = Date.UTC(2024, 0, 1)

const expected = (i: number) => ({
  id: i,
  amount: `${Math.floor((i * 125) / 100)}.${String((i * 125) % 100).padStart(2, "0")}`,
  createdAt: EPOCH_2024 + i * 60_000,
  email: `customer-${String(i).padStart(6, "0")}@example.com`,
  active: i % 3 !== 0,
  attrs: { plan: i % 2 === 0 ? "pro" : "free", seats: i % 10, beta: i % 5 === 0 },
  tags: [i % 7, i % 11, i % 13, i]
})

/** Milliseconds since the epoch of a Date or of a value with `toDate()` (effect-pg's PgTimestamp). */
const instant = (value: unknown): number | undefined => {
  if (value instanceof Date) return value.getTime()
  if (typeof value === "object" && value !== null && "toDate" in value && typeof value.toDate === "function")
    return (value.toDate() as Date).getTime()
  return undefined
}

const fail = (row: number, column: string, what: string, value: unknown): never => {
  const shown = typeof value === "bigint" ? `${value}n` : JSON.stringify(value)
  throw new Error(`check failed: mixed row ${row}, column ${column}: ${what}, got ${typeof value} ${shown}`)
}

/** Checks one row (object keyed by column name) against the values of row number `i`. */
export const checkMixedRow = (row: unknown, i: number, policy: MixedPolicy): void => {
  if (typeof row !== "object" || row === null || Array.isArray(row))
    fail(i, "*", "expected an object row keyed by column name", row)
  const r = row as Record<string, unknown>
  const want = expected(i)
  const id = r.id
  if (policy.int8AsString) {
    if (id !== String(want.id)) fail(i, "id", `expected the string "${want.id}"`, id)
  } else if (id !== BigInt(want.id)) fail(i, "id", `expected ${want.id}n`, id)
  if (r.amount !== want.amount) fail(i, "amount", `expected the string "${want.amount}"`, r.amount)
  if (instant(r.created_at) !== want.createdAt)
    fail(i, "created_at", "expected a Date / PgTimestamp", r.created_at)
  if (r.email !== want.email) fail(i, "email", `expected "${want.email}"`, r.email)
  if (r.active !== want.active) fail(i, "active", `expected the boolean ${want.active}`, r.active)
  const attrs = r.attrs as Record<string, unknown> | null
  if (
    typeof attrs !== "object" ||
    attrs === null ||
    attrs.plan !== want.attrs.plan ||
    attrs.seats !== want.attrs.seats ||
    attrs.beta !== want.attrs.beta
  )
    fail(i, "attrs", `expected the object ${JSON.stringify(want.attrs)}`, attrs)
  const tags = r.tags
  if (!Array.isArray(tags) || tags.length !== want.tags.length || tags.some((t, k) => t !== want.tags[k]))
    fail(i, "tags", `expected the array ${JSON.stringify(want.tags)}`, tags)
}

/** Checks a whole result: its length, every row's values (run once, after the timed section). */
export const checkMixed = (rows: ReadonlyArray<unknown>, policy: MixedPolicy): void => {
  if (rows.length !== MIXED_TABLE_ROWS)
    throw new Error(`check failed: mixed: ${rows.length} rows, expected ${MIXED_TABLE_ROWS}`)
  for (let k = 0; k < rows.length; k++) checkMixedRow(rows[k], k + 1, policy)
}
