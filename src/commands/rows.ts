/**
 * Typed rows for the row-returning commands (extended query, pipeline, cursor): a `RowReader`
 * decodes each DataRow body with the statement's RowDecoder (src/types/), made once when the
 * columns are known (or handed in by the statement cache, built with the formats its Bind asked
 * for), and counts rows so a value that fails to decode is named by row, column and type.
 *
 * A value that fails to decode is a `Failure` (PgProtocolError reason "UndecodableValue",
 * `mayHaveRun: true`): the command records the first one, drops that row and every later one,
 * and ends at its ReadyForQuery with it, so the query fails and the connection stays in step.
 * A malformed frame or a row of the wrong width is the scanner's ProtocolError, as for text rows.
 *
 * Shapes (decision 022): a reader makes arrays, or objects keyed by column name (`keys`, worked
 * out once per result from the columns by `columnKeys`, or handed in with a cached plan). With
 * text results a reader that makes objects keeps every value as the server's text (`text`).
 *
 * It does NOT choose result formats (the statement cache does) or decode DataRow *messages*
 * (the frame path `onDataRow` is the one the engine uses; the message path stays text).
 */
import { ProtocolError } from "../protocol/ProtocolError.ts"
import { scanTextRow, type TextRow } from "../protocol/TextRow.ts"
import {
  type AnyRow,
  type Column,
  columnKeys,
  type RowMode,
  type RowShape,
  rowShape,
  rowToObject
} from "../Result.ts"
import type { Registry } from "../types/Registry.ts"
import { RowDecoder } from "../types/RowDecoder.ts"
import { ValueError } from "../types/ValueError.ts"
import { type Failure, protocol } from "./Command.ts"

/** What a row-returning command is told about its rows. */
export interface RowTyping {
  /**
   * The codecs; a function is asked when the columns arrive (a registry that grows while the
   * request waits in the queue: types looked up by a request ahead of it).
   */
  readonly registry: Registry | (() => Registry)
  /** The plan for preset columns (a cached statement, with the formats its Bind asked for). */
  readonly decoder?: RowDecoder | undefined
  /** Objects or arrays (default "array"). */
  readonly mode?: RowMode | undefined
  /** The object shape of the preset columns (made with the plan), for mode "object". */
  readonly shape?: RowShape | undefined
  /** Keep text columns as the server's text (a connection with text results). */
  readonly text?: boolean | undefined
}

/** A decoded row, or why there is none. */
export type ReadRow = TextRow | AnyRow | ProtocolError | DecodeFailure

/** A value that did not decode: the query fails with it, the connection does not. */
export class DecodeFailure {
  readonly _tag = "Decode"
  readonly failure: Failure
  constructor(failure: Failure) {
    this.failure = failure
  }
}

/** An `instanceof` check: one prototype test per row on the hot path. */
export const isDecodeFailure = (u: unknown): u is DecodeFailure => u instanceof DecodeFailure

/**
 * Row shapes of results whose columns are known only at RowDescription (first executions,
 * pipelines, cursors), by key list: a shape's constructor is generated once, not per result.
 * Bounded: the oldest key lists go first.
 */
const shapes = new Map<string, RowShape>()
const SHAPES_KEPT = 512

/** The shape for `keys`, from the cache. A NUL cannot be in a column name: it joins the keys. */
export const shapeOf = (keys: ReadonlyArray<string>): RowShape => {
  const id = keys.join("\u0000")
  let shape = shapes.get(id)
  if (shape === undefined) {
    shape = rowShape(keys)
    if (shapes.size >= SHAPES_KEPT) shapes.delete(shapes.keys().next().value!)
    shapes.set(id, shape)
  }
  return shape
}

/**
 * The shape for rows keyed by `keys`, or `undefined` when a column is named `__proto__` (such
 * rows are made by `rowToObject`, which defines it as an own property).
 */
export const objectShape = (keys: ReadonlyArray<string>): RowShape | undefined =>
  keys.includes("__proto__") ? undefined : shapeOf(keys)

export class RowReader {
  private readonly registry: Registry | (() => Registry)
  private readonly preset: RowDecoder | undefined
  private readonly presetShape: RowShape | undefined
  private readonly objects: boolean
  private readonly text: boolean
  private decoder: RowDecoder | undefined
  /** Mode "object": this result's row shape; `undefined` for arrays. */
  private shape: RowShape | undefined
  /** A column is named `__proto__`: objects are made from arrays, with own properties. */
  private toObject: ((row: ReadonlyArray<unknown>) => Record<string, unknown>) | undefined
  private columns: ReadonlyArray<Column> = []
  /** Rows read so far in the current result (0-based index of the next one). */
  private row = 0

  constructor(typing: RowTyping) {
    this.registry = typing.registry
    this.preset = typing.decoder
    this.presetShape = typing.shape
    this.objects = typing.mode === "object"
    this.text = typing.text === true
    this.decoder = typing.decoder
  }

  /** The columns are known (RowDescription, or a cached statement's): plan them once. */
  plan(columns: ReadonlyArray<Column>): void {
    this.columns = columns
    this.row = 0
    const registry = typeof this.registry === "function" ? this.registry() : this.registry
    this.decoder = this.preset ?? new RowDecoder(registry, columns, this.text)
    this.toObject = undefined
    this.shape = undefined
    if (!this.objects) return
    if (this.preset !== undefined && this.presetShape !== undefined) {
      this.shape = this.presetShape
      return
    }
    this.shape = objectShape(columnKeys(columns.map((c) => c.name)))
    if (this.shape === undefined) this.toObject = rowToObject(columns)
  }

  /** A new result starts (a pipeline's next query): its own columns and plan. */
  reset(): void {
    this.decoder = undefined
    this.shape = undefined
    this.toObject = undefined
    this.row = 0
  }

  read(body: Uint8Array): AnyRow | ProtocolError | DecodeFailure {
    const decoder = this.decoder
    if (decoder === undefined) return new ProtocolError("InvalidValue", "a DataRow before its columns", 0x44)
    const shape = this.shape
    const value = shape !== undefined ? decoder.decodeObject(body, shape) : decoder.decode(body)
    const index = this.row++
    if (!(value instanceof ValueError)) {
      const toObject = this.toObject
      return toObject !== undefined && Array.isArray(value) ? toObject(value) : value
    }
    // The row's width differs from its columns: its text row, which the command refuses as it
    // refuses any row of the wrong width (a protocol violation, 08P01).
    if (value.index === undefined) return scanTextRow(body)
    const column = this.columns[value.index]
    const name = column === undefined ? "" : ` ${JSON.stringify(column.name)}`
    return new DecodeFailure(
      protocol(
        "UndecodableValue",
        `row ${index + 1}, column ${value.index + 1}${name} (${value.type}): ${value.message}`,
        { mayHaveRun: true }
      )
    )
  }
}

/** One DataRow body: text without a reader, decoded with one. */
export const readRow = (reader: RowReader | undefined, body: Uint8Array): ReadRow =>
  reader === undefined ? scanTextRow(body) : reader.read(body)
