/**
 * Query parameters as JS values (`Param`), encoded for Bind (issue 12, decision 021).
 *
 * Does: encode each parameter in one of two ways.
 * - `textParams`, when the parameter types are not known (a first execution of query/stream, and
 *   pipeline, cursor: the statement is parsed in the same write, with no types declared): every value is sent as text
 *   with OID 0, so the server infers the type from the statement and reads the text with that
 *   type's input function — what a string parameter always was. A string passes through; any
 *   other value is written by the codec its JS kind names (number → float8's text, bigint →
 *   int8, boolean → bool, Date, an Effect DateTime and PgTimestamp → timestamptz, PgDate → date, Uint8Array → bytea's
 *   hex, PgTime/PgTimeTz/PgInterval → their types, PgRange → a range over its bounds' kind, a JS
 *   array → an array literal over its first non-null leaf's kind, any other object → JSON). A
 *   value the server then cannot read for its parameter's type is the server's error (22P02…).
 * - `typedParams`, when the types are known (the ParameterDescription of a prepared or cached
 *   statement): each
 *   value is encoded by its parameter type's codec, in binary unless the codec has none
 *   (types/RowDecoder.ts `parameterFormat`). A string is sent as it is, as text, for every type
 *   (json/jsonb included: a string parameter is JSON text, as it always was — the pure layer's
 *   json codec would make it a JSON string). A value the codec refuses fails before anything is
 *   sent.
 * A value that cannot be encoded is PgProtocolError "InvalidValue", `mayHaveRun: false`, naming
 * the parameter (`$2`) and its type, never the value (it may be a secret).
 * Does NOT: send anything, or know which operation calls it.
 */
import { DateTime } from "effect"
import { PgProtocolError } from "../Errors.ts"
import type { BindParam } from "../protocol/Frontend.ts"
import type { FormatCode } from "../protocol/Types.ts"
import type { AnyCodec } from "../types/Codec.ts"
import { PgInterval } from "../types/interval.ts"
import type { Registry } from "../types/Registry.ts"
import { encodeParameter, parameterFormat } from "../types/RowDecoder.ts"
import { PgRange } from "../types/range.ts"
import { isValueError, notEncodable, type ValueError } from "../types/ValueError.ts"
import { PgDate, PgTime, PgTimestamp, PgTimeTz } from "../types/values.ts"

/** A JSON object parameter (json/jsonb). */
export interface JsonObject {
  readonly [key: string]: unknown
}

/**
 * A query parameter; `null` (or `undefined`) is SQL NULL. Strings are sent as text, read by the
 * server as it would a literal; other values are encoded by type (docs/types.md "Parameters").
 */
export type Param =
  | string
  | number
  | bigint
  | boolean
  | Date
  | DateTime.DateTime
  | Uint8Array
  | PgDate
  | PgTime
  | PgTimeTz
  | PgTimestamp
  | PgInterval
  | PgRange<unknown>
  | JsonObject
  | ReadonlyArray<Param>
  | null
  | undefined

const refused = (index: number, error: ValueError): PgProtocolError =>
  PgProtocolError.notSent({
    reason: "InvalidValue",
    message: `parameter $${index + 1} (${error.type}): ${error.message}`
  })

/** The type name whose codec writes a value of this JS kind (no declared type). */
const kindName = (value: unknown): string => {
  switch (typeof value) {
    case "number":
      return "float8"
    case "bigint":
      return "int8"
    case "boolean":
      return "bool"
    case "object":
      if (value instanceof Date || value instanceof PgTimestamp) return "timestamptz"
      if (value instanceof Uint8Array) return "bytea"
      if (value instanceof PgDate) return "date"
      if (value instanceof PgTime) return "time"
      if (value instanceof PgTimeTz) return "timetz"
      if (value instanceof PgRange) return rangeName(value.lower ?? value.upper)
      if (value instanceof PgInterval) return "interval"
      if (Array.isArray(value)) return `${kindName(firstLeaf(value) ?? "")}[]`
      return "jsonb"
    default:
      return "text"
  }
}

const rangeName = (bound: unknown): string => {
  const element = bound === null || bound === undefined ? "float8" : kindName(bound)
  return element === "int8"
    ? "int8range"
    : element === "timestamptz"
      ? "tstzrange"
      : element === "date"
        ? "daterange"
        : "numrange"
}

const firstLeaf = (values: ReadonlyArray<unknown>): unknown => {
  for (const v of values) {
    if (v === null || v === undefined) continue
    if (Array.isArray(v)) {
      const leaf = firstLeaf(v)
      if (leaf !== undefined) return leaf
      continue
    }
    return v
  }
  return undefined
}

/** A non-string value as text, by the codec of its JS kind. */
/**
 * An Effect `DateTime` (Utc or Zoned) as the `Date` of its instant (both hold milliseconds, so
 * nothing is lost; a Zoned's zone does not change the instant), also inside arrays; any other
 * value as it is.
 */
const fromEffect = (value: unknown): unknown => {
  // Strings, numbers, bigints, booleans and NULL (most parameters) leave at the first test.
  if (typeof value !== "object" || value === null) return value
  if (DateTime.isDateTime(value)) return new Date(DateTime.toEpochMillis(value))
  if (Array.isArray(value) && value.some((v) => DateTime.isDateTime(v) || Array.isArray(v))) {
    const mapped = value.map(fromEffect)
    const bounds = (value as { lowerBounds?: unknown }).lowerBounds
    if (bounds !== undefined) Object.assign(mapped, { lowerBounds: bounds })
    return mapped
  }
  return value
}

const kindText = (registry: Registry, value: unknown): string | ValueError => {
  const name = kindName(value)
  const codec = registry.named(name)
  if (codec === undefined) return notEncodable(name, value, "the registry has no codec for it")
  return encodeParameter(codec, value, 0) as string | ValueError
}

/** Parameters for statements whose parameter types are unknown: text, OID 0 (see the header). */
export const textParams = (
  registry: Registry,
  params: ReadonlyArray<Param>
): Array<string | null> | PgProtocolError => {
  const out = new Array<string | null>(params.length)
  for (let i = 0; i < params.length; i++) {
    const value = params[i]
    if (value === null || value === undefined) out[i] = null
    else if (typeof value === "string") out[i] = value
    else {
      const text = kindText(registry, fromEffect(value))
      if (isValueError(text)) return refused(i, text)
      out[i] = text
    }
  }
  return out
}

/** Whether every parameter is a string or NULL (the fast path: nothing to encode). */
export const allText = (params: ReadonlyArray<Param>): params is ReadonlyArray<string | null> => {
  for (let i = 0; i < params.length; i++) {
    const v = params[i]
    if (v !== null && typeof v !== "string") return false
  }
  return true
}

/** Parameters for a statement whose parameter types are known: each by its type's codec. */
export const typedParams = (
  registry: Registry,
  params: ReadonlyArray<Param>,
  types: ReadonlyArray<number>
): { readonly values: Array<BindParam>; readonly formats: Array<FormatCode> } | PgProtocolError => {
  const values = new Array<BindParam>(params.length)
  const formats = new Array<FormatCode>(params.length)
  for (let i = 0; i < params.length; i++) {
    const value = fromEffect(params[i])
    const oid = types[i] ?? 0
    const codec: AnyCodec = registry.codecFor(oid)
    const format = oid === 0 ? 0 : parameterFormat(codec, value)
    formats[i] = format
    if (value === null || value === undefined) {
      values[i] = null
      continue
    }
    // A string is the server's to parse, as a literal (json too: it is JSON text, not a JSON string).
    if (typeof value === "string") {
      values[i] = value
      continue
    }
    if (oid !== 0 && !codec.accepts(value))
      return refused(i, notEncodable(codec.name, value, "not a value of this type"))
    const encoded = oid === 0 ? kindText(registry, value) : encodeParameter(codec, value, format)
    if (isValueError(encoded)) return refused(i, encoded)
    values[i] = encoded
  }
  return { values, formats }
}
