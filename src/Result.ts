/**
 * The values a query returns: column metadata, rows, the CommandComplete tag, the notices the
 * statement raised, and a simple query's warnings (a COPY TO STDOUT whose data it discarded).
 * Plain data, no behaviour beyond parsing the command tag.
 *
 * A row holds one value per column, `null` for SQL NULL: JS values decoded by the connection's
 * TypeRegistry (docs/types.md), or the server's text when its results are "text" (decisions 021,
 * 022). A row is an object keyed by column name (`ObjectRow`, the default) or, with
 * `rowMode: "array"`, an array in column order (`Row`). Nothing here interprets a value.
 */
import type { ErrorFields } from "./protocol/ErrorFields.ts"

/** A column as RowDescription describes it. */
export interface Column {
  readonly name: string
  /** OID of the table the column comes from, 0 if none. */
  readonly tableOid: number
  /** Attribute number in that table, 0 if none. */
  readonly columnAttr: number
  readonly typeOid: number
  readonly typeSize: number
  readonly typeModifier: number
  /** 0 text, 1 binary. */
  readonly format: number
}

/**
 * One row as an array (`rowMode: "array"`): a value per column in column order, `null` for SQL
 * NULL. A `string` per column with text results (`TextRow`), the codec's JS value with typed
 * results (docs/types.md).
 */
export type Row = ReadonlyArray<unknown>

/**
 * One row as an object (the default): a property per column, keyed by its name. Duplicate names
 * get `_2`, `_3`, … in column order (`columnKeys`); a column named `__proto__` is an own property.
 */
export type ObjectRow = Readonly<Record<string, unknown>>

/** The shape of the rows an operation returns: objects keyed by column name, or arrays. */
export type RowMode = "object" | "array"

/** The row type of a `RowMode`. */
export type RowOf<M extends RowMode> = M extends "array" ? Row : ObjectRow

/** The `rowMode` option of the row-returning operations (default "object"). */
export interface RowModeOption<M extends RowMode = RowMode> {
  readonly rowMode?: M | undefined
}

/** A row as requests carry it before an operation types it: either shape. */
export type AnyRow = Row | ObjectRow

/** A row of text results: the server's text per column. */
export type TextRow = ReadonlyArray<string | null>

/**
 * A NoticeResponse (or a WARNING/NOTICE/INFO): the same named fields as an ErrorResponse —
 * severity, code (SQLSTATE), message, detail, hint, where, position and the rest.
 */
export type Notice = ErrorFields

/** The CommandComplete tag, parsed: "INSERT 0 3" → { command: "INSERT", rows: 3, oid: 0 }. */
export interface CommandComplete {
  readonly tag: string
  readonly command: string
  /** Rows affected or returned, when the tag carries a count. */
  readonly rows: number | undefined
  /** INSERT's legacy OID field. */
  readonly oid?: number | undefined
}

/** One statement's result; `R` is the row shape (`ObjectRow` by default, `Row` with rowMode "array"). */
export interface QueryResult<R = ObjectRow> {
  readonly columns: ReadonlyArray<Column>
  readonly rows: ReadonlyArray<R>
  readonly command: CommandComplete
  readonly notices: ReadonlyArray<Notice>
}

/** One statement's result inside a simple (multi-statement) query. */
export interface StatementResult {
  readonly columns: ReadonlyArray<Column>
  /** Always text: the simple protocol has no binary results and is not decoded. */
  readonly rows: ReadonlyArray<TextRow>
  /** undefined for the empty query. */
  readonly command: CommandComplete | undefined
}

/**
 * Something a simple query noticed that is no error: a COPY TO STDOUT among its statements ran
 * and completed (its result is in `results`), and its data was discarded.
 */
export interface SimpleQueryWarning {
  /** The index in `results` of the statement it concerns. */
  readonly statement: number
  readonly message: string
}

export interface SimpleQueryResult {
  readonly results: ReadonlyArray<StatementResult>
  readonly notices: ReadonlyArray<Notice>
  /** Empty unless a statement was a COPY TO STDOUT (its data discarded; use copyOut). */
  readonly warnings: ReadonlyArray<SimpleQueryWarning>
}

/** Parses a CommandComplete tag. Tags with a count end in it; INSERT has an OID before it. */
export const parseCommandTag = (tag: string): CommandComplete => {
  const parts = tag.split(" ")
  const command = parts[0] ?? ""
  const last = parts.length > 1 ? parts[parts.length - 1] : undefined
  const rows = last !== undefined && /^\d+$/.test(last) ? Number(last) : undefined
  if (command === "INSERT" && parts.length === 3) {
    return { tag, command, rows, oid: Number(parts[1]) }
  }
  return { tag, command: rows === undefined ? tag : parts.slice(0, -1).join(" "), rows }
}

/**
 * The object keys of columns named `names`, in order: each name, with `_2`, `_3`, … added to a
 * name already taken (`select 1 as a, 2 as a` gives `a` and `a_2`), so every column has a key
 * and the choice depends only on the names' order.
 */
export const columnKeys = (names: ReadonlyArray<string>): Array<string> => {
  const taken = new Set<string>()
  return names.map((name) => {
    let key = name
    for (let n = 2; taken.has(key); n++) key = `${name}_${n}`
    taken.add(key)
    return key
  })
}

/**
 * How a row decoder makes the objects of one statement's rows: the keys, and `make`, which gives
 * an object with every key already present (`null`), so each row has the statement's shape from
 * its first property on (one hidden class, properties stored in the object, not in a separate
 * backing store). `make` comes from a constructor generated once per key list; where code
 * generation is not allowed it is a plain `{}`. Keys must be distinct and not `__proto__`
 * (`columnKeys` and `rowToObject` handle both).
 */
export interface RowShape {
  readonly keys: ReadonlyArray<string>
  readonly make: () => Record<string, unknown>
}

/** The shape of rows keyed by `keys` (see `RowShape`). */
export const rowShape = (keys: ReadonlyArray<string>): RowShape => {
  try {
    // Each key is written as a JSON string literal: no key can be read as code.
    const body = keys.map((key) => `this[${JSON.stringify(key)}] = null`).join(";\n")
    const Row = new Function(body) as unknown as new () => Record<string, unknown>
    // Rows are plain objects: their prototype is Object.prototype, as a literal's.
    Row.prototype = Object.prototype
    return { keys, make: () => new Row() }
  } catch {
    return { keys, make: () => ({}) }
  }
}

/**
 * A function from rows of `columns` to objects keyed by column name (duplicates renamed as
 * `columnKeys` does). The keys are worked out once; use it for every row of one result or stream
 * (`streamWithColumns` gives the columns first).
 */
export const rowToObject = (columns: ReadonlyArray<Column>): ((row: Row) => Record<string, unknown>) => {
  const keys = columnKeys(columns.map((c) => c.name))
  const n = keys.length
  // A column named __proto__ is an own property, never the object's prototype.
  if (keys.includes("__proto__")) {
    return (row) => {
      const object: Record<string, unknown> = {}
      for (let i = 0; i < n; i++)
        Object.defineProperty(object, keys[i]!, {
          value: row[i],
          enumerable: true,
          writable: true,
          configurable: true
        })
      return object
    }
  }
  return (row) => {
    const object: Record<string, unknown> = {}
    for (let i = 0; i < n; i++) object[keys[i]!] = row[i]
    return object
  }
}

/** A result's rows as objects keyed by column name (see `rowToObject`). */
export const objects = (result: {
  readonly columns: ReadonlyArray<Column>
  readonly rows: ReadonlyArray<Row>
}): Array<Record<string, unknown>> => result.rows.map(rowToObject(result.columns))
