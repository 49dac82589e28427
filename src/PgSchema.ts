/**
 * Effect Schemas for the values effect-pg decodes where Schema has none, and the conversions
 * from them to what an application holds (decision 025; docs/types.md "Schema"): use them as
 * fields of the `Schema.Struct` (object rows) or `Schema.Tuple` (array rows) that `Rows.decode`
 * and friends decode rows with.
 *
 * - the value classes: `Timestamp` (PgTimestamp: timestamp, timestamptz), `Date` (PgDate),
 *   `Time` (PgTime), `TimeTz` (PgTimeTz), `Interval` (PgInterval), `Range(of)` (PgRange);
 * - conversions that refuse what their target cannot hold: `DateFromTimestamp`,
 *   `DateTimeUtcFromTimestamp`, `DateFromPgDate`, `DurationFromInterval`, `NumberFromNumeric`,
 *   `BigIntFromNumeric`, `NumberFromBigInt`.
 *
 * Does NOT: cover values Schema already has: `Schema.Number` (int2, int4, float), `Schema.BigInt`
 * (int8), `Schema.String` (text, numeric's text, uuid, inet, …), `Schema.Boolean`,
 * `Schema.Uint8Array` (bytea), `Schema.Array(of)` (arrays), any Schema for json/jsonb's parsed
 * value, `Schema.NullOr(of)` for a nullable column.
 */
export {
  BigIntFromNumeric,
  NumberFromBigInt,
  NumberFromNumeric
} from "./schema/numeric.ts"
export {
  Date,
  DateFromPgDate,
  DateFromTimestamp,
  DateTimeUtcFromTimestamp,
  DurationFromInterval,
  Interval,
  Range,
  Time,
  Timestamp,
  TimeTz
} from "./schema/temporal.ts"
