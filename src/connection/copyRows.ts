/**
 * The typed-rows half of COPY (issue 12 item 9, decision 024), for copyOps.ts: the COPY and
 * SELECT texts of a table target, JS values as COPY text (by the registry, as params.ts writes
 * parameters of unknown type), the columns of a target or of a list of types, and the decoders
 * that turn a COPY TO STDOUT's chunks into rows (text, typed text, binary, or either one told
 * apart by the data's first bytes).
 *
 * Does: build SQL from names (quoted here, NUL refused), never from the caller's SQL; return
 * every refusal as a PgProtocolError (InvalidValue, `mayHaveRun: false`, before anything is
 * sent) and every undecodable COPY datum as one (UndecodableValue: the COPY ran, the session is
 * in step), naming row, column and type, never the value.
 * Does NOT: run anything (copyOps.ts does), describe tables (it is handed the columns), or read
 * CSV (its rows are not parsed: use copyOut).
 */
import {
  COPY_BINARY_SIGNATURE,
  type CopyBinaryEncoder,
  CopyBinaryError,
  CopyBinaryParser,
  type CopyColumn
} from "../copy/CopyBinary.ts"
import {
  CopyTextError,
  CopyTextParser,
  decodeTextRows,
  encodeRows,
  quoteIdentifier
} from "../copy/CopyText.ts"
import { PgProtocolError } from "../Errors.ts"
import type { Column } from "../Result.ts"
import type { Registry } from "../types/Registry.ts"
import { allText, type Param, textParams } from "./params.ts"

/** The format of a COPY's data: COPY's text format, or `FORMAT binary`. */
export type CopyFormat = "text" | "binary"

/**
 * A table (or, for copyOutTyped, a view) and its columns. Names are quoted here: pass names, not
 * SQL. No columns (or none given): all of them, in table order.
 */
export interface CopyTarget {
  readonly schema?: string | undefined
  readonly table: string
  readonly columns?: ReadonlyArray<string> | undefined
}

/** A client-side refusal, never sent. */
export const refused = (message: string): PgProtocolError =>
  PgProtocolError.notSent({ reason: "InvalidValue", message })

/** COPY data the typed form cannot read (the COPY ran; the session stays in step). */
export const undecodable = (message: string): PgProtocolError =>
  new PgProtocolError({ reason: "UndecodableValue", message, mayHaveRun: true })

/** The target's names, checked: a NUL cannot be quoted. */
export const checkNames = (target: CopyTarget): PgProtocolError | undefined => {
  const names = [target.schema, target.table, ...(target.columns ?? [])]
  return names.some((n) => n?.includes("\0") === true)
    ? refused("a table or column name contains a NUL character")
    : undefined
}

const tableOf = (target: CopyTarget): string =>
  target.schema === undefined
    ? quoteIdentifier(target.table)
    : `${quoteIdentifier(target.schema)}.${quoteIdentifier(target.table)}`

const namesOf = (target: CopyTarget): ReadonlyArray<string> => target.columns ?? []

/** `COPY "s"."t" ("a", "b") FROM STDIN`, with `(FORMAT binary)` for binary. */
export const copyFromSql = (target: CopyTarget, format: CopyFormat): string => {
  const names = namesOf(target)
  const columns = names.length === 0 ? "" : ` (${names.map(quoteIdentifier).join(", ")})`
  return `COPY ${tableOf(target)}${columns} FROM STDIN${format === "binary" ? " (FORMAT binary)" : ""}`
}

/** `select "a", "b" from "s"."t"` (`select *` without columns): what is described for the types. */
export const selectSql = (target: CopyTarget): string => {
  const names = namesOf(target)
  return `select ${names.length === 0 ? "*" : names.map(quoteIdentifier).join(", ")} from ${tableOf(target)}`
}

/** `COPY (select …) TO STDOUT`: the described select itself, so tables and views both work. */
export const copyToSql = (target: CopyTarget, format: CopyFormat): string =>
  `COPY (${selectSql(target)}) TO STDOUT${format === "binary" ? " (FORMAT binary)" : ""}`

/** The described columns with their codecs. */
export const describedColumns = (registry: Registry, columns: ReadonlyArray<Column>): Array<CopyColumn> =>
  columns.map((c) => ({ name: c.name, codec: registry.codecFor(c.typeOid) }))

/** The columns of a list of types (OIDs, or names the registry knows); unknown names refused. */
export const typedColumns = (
  registry: Registry,
  types: ReadonlyArray<number | string>
): Array<CopyColumn> | PgProtocolError => {
  const out: Array<CopyColumn> = []
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!
    const codec = typeof t === "number" ? registry.codecFor(t) : registry.named(t)
    if (codec === undefined)
      return refused(`copyOutTyped: types[${i}]: the registry has no type named "${t}"`)
    out.push({ name: "", codec })
  }
  return out
}

/** One value as COPY text: a refusal's message without textParams' "parameter $1 " prefix. */
const valueText = (registry: Registry, value: Param): string | null | string[] => {
  const text = textParams(registry, [value])
  if (text instanceof PgProtocolError) return [text.message.replace(/^parameter \$1 /, "")]
  return text[0]!
}

/**
 * A batch of rows of JS values as COPY text (numbered from `firstRow`): strings as they are, the
 * other kinds written by the registry; a refused value or a NUL names its row and column.
 */
export const encodeTextBatch = (
  registry: Registry,
  rows: ReadonlyArray<ReadonlyArray<Param>>,
  firstRow: number,
  names: ReadonlyArray<string>
): string | PgProtocolError => {
  let texts: Array<ReadonlyArray<string | null>> | undefined
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    if (allText(row)) {
      texts?.push(row)
      continue
    }
    texts ??= rows.slice(0, r) as Array<ReadonlyArray<string | null>>
    const out = textParams(registry, row)
    if (out instanceof PgProtocolError) {
      // Find the value again, to name its column (the refusal path only).
      for (let c = 0; c < row.length; c++) {
        const text = valueText(registry, row[c] ?? null)
        if (!Array.isArray(text)) continue
        const name = names[c] === undefined ? "" : ` "${names[c]}"`
        return refused(`copyInRows: row ${firstRow + r}, column ${c + 1}${name} ${text[0]}`)
      }
      return refused(`copyInRows: row ${firstRow + r}: ${out.message}`)
    }
    texts.push(out)
  }
  const text = encodeRows(texts ?? (rows as ReadonlyArray<ReadonlyArray<string | null>>), firstRow)
  return text instanceof CopyTextError ? refused(`copyInRows: ${text.message}`) : text
}

/** A batch of rows of JS values as binary COPY tuples, or the refusal of its first bad value. */
export const encodeBinaryBatch = (
  encoder: CopyBinaryEncoder,
  rows: ReadonlyArray<ReadonlyArray<Param>>,
  firstRow: number
): Uint8Array | PgProtocolError => {
  const out = encoder.encode(rows, firstRow)
  return out instanceof CopyBinaryError ? refused(`copyInRows: ${out.message}`) : out
}

/** Turns a COPY TO STDOUT's chunks into rows. */
export interface RowsDecoder<A> {
  readonly push: (chunk: Uint8Array) => ReadonlyArray<A> | PgProtocolError
  readonly end: () => ReadonlyArray<A> | PgProtocolError
}

/** Text rows of strings (`null` for NULL), as copyOutRows has always given. */
export const textRows = (): RowsDecoder<ReadonlyArray<string | null>> => {
  const parser = new CopyTextParser()
  return { push: (chunk) => parser.push(chunk), end: () => parser.end() }
}

/** Text rows read by the columns' text codecs. */
export const typedTextRows = (columns: ReadonlyArray<CopyColumn>): RowsDecoder<ReadonlyArray<unknown>> => {
  const parser = new CopyTextParser()
  let next = 1
  const decode = (rows: Array<Array<string | null>>) => {
    const out = decodeTextRows(rows, columns, next)
    if (out instanceof CopyTextError) return undecodable(`copyOutTyped: ${out.message}`)
    next += rows.length
    return out
  }
  return { push: (chunk) => decode(parser.push(chunk)), end: () => decode(parser.end()) }
}

/** Binary COPY tuples read by the columns' binary codecs. */
export const binaryRows = (columns: ReadonlyArray<CopyColumn>): RowsDecoder<ReadonlyArray<unknown>> => {
  const parser = new CopyBinaryParser(columns)
  return {
    push: (chunk) => {
      const rows = parser.push(chunk)
      return rows instanceof CopyBinaryError ? undecodable(`copyOutTyped: ${rows.message}`) : rows
    },
    end: () => {
      const error = parser.end()
      return error === undefined ? [] : undecodable(`copyOutTyped: ${error.message}`)
    }
  }
}

/**
 * Text or binary, told apart by the data (a statement says its format itself): binary data
 * starts with the signature, whose NUL never occurs in text output. Bytes that may still be the
 * signature's start are held until they are not.
 */
export const detectedRows = (columns: ReadonlyArray<CopyColumn>): RowsDecoder<ReadonlyArray<unknown>> => {
  let held = new Uint8Array(0)
  let chosen: RowsDecoder<ReadonlyArray<unknown>> | undefined
  const signature = COPY_BINARY_SIGNATURE
  return {
    push: (chunk) => {
      if (chosen !== undefined) return chosen.push(chunk)
      const joined = new Uint8Array(held.length + chunk.length)
      joined.set(held)
      joined.set(chunk, held.length)
      const n = Math.min(joined.length, signature.length)
      let same = true
      for (let i = 0; i < n && same; i++) same = joined[i] === signature[i]
      if (same && n < signature.length) {
        held = joined
        return []
      }
      chosen = same ? binaryRows(columns) : typedTextRows(columns)
      return chosen.push(joined)
    },
    end: () => {
      if (chosen !== undefined) return chosen.end()
      if (held.length === 0) return []
      chosen = typedTextRows(columns)
      const rows = chosen.push(held)
      if (rows instanceof PgProtocolError) return rows
      const rest = chosen.end()
      return rest instanceof PgProtocolError ? rest : [...rows, ...rest]
    }
  }
}
