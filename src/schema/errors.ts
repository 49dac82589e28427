/**
 * The errors of Schema-decoded results (src/Rows.ts, decision 025): a row that its Schema refused
 * (`PgRowDecodeError`), and a row count that `decodeOne`/`decodeOption` refused
 * (`PgNoRowsError`, `PgTooManyRowsError`). Also the function that turns a Schema issue on a row
 * into a `PgRowDecodeError`: which row, which column (name, index, PostgreSQL type), which path
 * inside the value, the JS type found there, and the issue's message.
 *
 * Does NOT: decode (Rows.ts does), or quote the rejected value: a value may be a secret, so the
 * message names its JS type only (the issue itself, in `cause`, keeps whatever the Schema's own
 * parse options reported). These errors are not `PgExpertError`s and the normal API does not wrap
 * them in `PgError`: they say nothing about the connection, which is untouched by them.
 */
import { Schema, SchemaIssue } from "effect"
import { type Column, columnKeys } from "../Result.ts"
import type { Registry } from "../types/Registry.ts"

/**
 * A row that the Schema did not accept. `row` is 1-based (the first row of the result or stream is
 * 1). `column` and `columnIndex` (0-based) are set when the issue is under a column: the key of an
 * object row, or the position in an array row (its name when the columns are known). `path` is
 * the whole path of the issue inside the row (`["tags", 2]`: the third element of column `tags`).
 * `jsType` is the JS type of the value at that path (`"string"`, `"bigint"`, `"null"`,
 * `"undefined"` for a missing column, `"PgTimestamp"`, `"Array"`, …) and `pgType` the column's
 * PostgreSQL type name when the columns are known (`"int8"`, `"_int4"` for int4[], `"oid 16394"`
 * for a type the registry does not know). `cause` is the Schema issue.
 */
export class PgRowDecodeError extends Schema.TaggedError<PgRowDecodeError>()("PgRowDecodeError", {
  message: Schema.String,
  row: Schema.Number,
  column: Schema.optional(Schema.String),
  columnIndex: Schema.optional(Schema.Number),
  path: Schema.Array(Schema.Union([Schema.String, Schema.Number])),
  jsType: Schema.String,
  pgType: Schema.optional(Schema.String),
  /** The `SchemaIssue.Issue`, kept as a defect. */
  cause: Schema.Defect()
}) {}

/** `decodeOne` found no row. */
export class PgNoRowsError extends Schema.TaggedError<PgNoRowsError>()("PgNoRowsError", {
  message: Schema.String
}) {}

/** `decodeOne` or `decodeOption` found more than one row; `rows` is how many. */
export class PgTooManyRowsError extends Schema.TaggedError<PgTooManyRowsError>()("PgTooManyRowsError", {
  message: Schema.String,
  rows: Schema.Number
}) {}

/** The JS type of a value, as the error names it: a class name for class instances. */
export const jsTypeOf = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "Array"
  if (typeof value !== "object") return typeof value
  const name: unknown = Object.getPrototypeOf(value)?.constructor?.name
  return typeof name === "string" && name !== "" && name !== "Object" ? name : "object"
}

/** The PostgreSQL type name of a column: the registry's codec name, or "oid N" for an unknown OID. */
export const pgTypeName = (registry: Registry, column: Column): string =>
  registry.get(column.typeOid)?.name ?? `oid ${column.typeOid}`

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** The first failure of an issue tree: its path and its message. */
const firstFailure = (
  issue: SchemaIssue.Issue
): { readonly path: ReadonlyArray<PropertyKey>; readonly message: string } => {
  const first = formatter(issue).issues[0]
  if (first === undefined) return { path: [], message: String(issue) }
  return { path: (first.path ?? []).map((p) => (typeof p === "object" ? p.key : p)), message: first.message }
}

/** The first leaf of an issue tree (the one the formatter reports first). */
const firstLeaf = (issue: SchemaIssue.Issue): SchemaIssue.Issue => {
  let node = issue
  for (;;) {
    if (node._tag === "Composite" || node._tag === "AnyOf") {
      const next = node.issues[0]
      if (next === undefined) return node
      node = next
    } else if (node._tag === "Pointer" || node._tag === "Filter" || node._tag === "Encoding")
      node = node.issue
    else return node
  }
}

/** The value at `path` inside `row`, as far as the path exists. */
const valueAt = (row: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let value = row
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined
    if (!Object.hasOwn(value, key)) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

/** What the rows of one result or stream look like, for naming columns in errors. */
export interface RowContext {
  readonly columns: ReadonlyArray<Column> | undefined
  /** The object keys of `columns` (columnKeys), made once. */
  readonly keys: ReadonlyArray<string> | undefined
  readonly registry: Registry
}

export const rowContext = (columns: ReadonlyArray<Column> | undefined, registry: Registry): RowContext => ({
  columns,
  keys: columns === undefined ? undefined : columnKeys(columns.map((c) => c.name)),
  registry
})

const describeColumn = (
  row: unknown,
  head: PropertyKey | undefined,
  context: RowContext
): { readonly column?: string; readonly columnIndex?: number; readonly pgType?: string } => {
  if (head === undefined) return {}
  const { columns, keys } = context
  if (Array.isArray(row) && typeof head === "number") {
    const c = columns?.[head]
    if (c === undefined) return { columnIndex: head }
    return { column: c.name, columnIndex: head, pgType: pgTypeName(context.registry, c) }
  }
  if (typeof head !== "string") return {}
  const index = keys === undefined ? -1 : keys.indexOf(head)
  const c = columns?.[index]
  if (c === undefined) return { column: head }
  return { column: head, columnIndex: index, pgType: pgTypeName(context.registry, c) }
}

const rest = (path: ReadonlyArray<string | number>): string =>
  path
    .slice(1)
    .map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`))
    .join("")

/** The shape hint for a row refused as a whole: object rows want a Struct, array rows a Tuple. */
const shapeHint = (row: unknown, issue: SchemaIssue.Issue): string => {
  if (issue._tag !== "InvalidType") return ""
  if (Array.isArray(row))
    return ` (the rows are arrays, as with rowMode "array": decode them with a Schema.Tuple)`
  if (row !== null && typeof row === "object")
    return " (the rows are objects keyed by column name: decode them with a Schema.Struct)"
  return ""
}

/** The error for `issue`, raised by the Schema on row number `row` (1-based). */
export const rowDecodeError = (
  issue: SchemaIssue.Issue,
  rowValue: unknown,
  row: number,
  context: RowContext
): PgRowDecodeError => {
  const failure = firstFailure(issue)
  const path = failure.path.map((p) => (typeof p === "symbol" ? String(p) : p))
  const at = describeColumn(rowValue, failure.path[0], context)
  const found = valueAt(rowValue, failure.path)
  const jsType = jsTypeOf(found)
  let where = ""
  if (at.column !== undefined) where = `, column ${JSON.stringify(at.column)}`
  else if (at.columnIndex !== undefined) where = `, column ${at.columnIndex + 1}`
  else if (path.length > 0) where = `, at ${JSON.stringify(path)}`
  if (at.pgType !== undefined) where += ` (${at.pgType})`
  if (at.columnIndex !== undefined || at.column !== undefined) where += rest(path)
  let message: string
  if (path.length === 1 && firstLeaf(issue)._tag === "MissingKey") {
    const names = context.keys === undefined ? "" : ` (the columns are: ${context.keys.join(", ")})`
    message = `row ${row}: no column ${JSON.stringify(String(path[0]))}${names}`
  } else {
    const hint = path.length === 0 ? shapeHint(rowValue, issue) : ""
    message = `row ${row}${where}, a value of JS type ${jsType}: ${failure.message}${hint}`
  }
  return new PgRowDecodeError({ message, row, ...at, path, jsType, cause: issue })
}
