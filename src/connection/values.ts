/**
 * A connection's values (decision 021): its TypeRegistry, read once at connect, and what the
 * operations ask of it — Bind values for parameters (params.ts), result plans for statements
 * whose columns are known, and a RowReader per request (typed values, or text ones as objects).
 *
 * Does: make a statement's `Plan` (the result formats its codecs prefer, its columns with those
 * formats, the RowDecoder for them) for the caller to keep with the statement (statements.ts,
 * prepared.ts), so the plan is made once per statement, not per execution.
 * With typed results and a catalog (decision 023), `registry` is the TypeRegistry's registry with
 * a codec for each user type the pool's catalog knows (introspect.ts), and `version` changes
 * when the catalog does: a plan made at another version is made again. A parameter whose type
 * neither knows (not looked up yet) is sent as text by its JS kind, as when the types are unknown.
 * Does NOT: keep plans itself, or decode rows (commands/rows.ts and src/types/ do).
 */
import { objectShape, RowReader } from "../commands/rows.ts"
import type { PgProtocolError } from "../Errors.ts"
import type { BindParam } from "../protocol/Frontend.ts"
import type { FormatCode } from "../protocol/Types.ts"
import { type Column, columnKeys, type RowMode, type RowShape } from "../Result.ts"
import { defaultRegistry } from "../types/defaults.ts"
import type { Registry } from "../types/Registry.ts"
import { RowDecoder, resultFormats } from "../types/RowDecoder.ts"
import { FIRST_USER_OID, type TypeCatalog } from "./introspect.ts"
import { allText, type Param, textParams, typedParams } from "./params.ts"
import type { TypeRegistryService } from "./typeRegistry.ts"

/** The typed-results plan of a statement: formats at Bind, its columns in them, the decoder. */
export interface Plan {
  readonly formats: ReadonlyArray<FormatCode>
  readonly columns: ReadonlyArray<Column>
  readonly decoder: RowDecoder
  /**
   * The object shape of the columns' rows (rowMode "object"), made once with the plan; absent when
   * a column is named `__proto__` (the reader then makes own properties, rowToObject).
   */
  readonly shape: RowShape | undefined
  /** The catalog version the plan was made at (`Values.version`). */
  readonly version: number
}

/** A connection's TypeRegistry, and the catalog of user types it shares (decision 023). */
export type ValuesOptions = TypeRegistryService & { readonly catalog?: TypeCatalog | undefined }

export class Values {
  /** The TypeRegistry's registry, without the catalog's codecs. */
  readonly base: Registry
  /** Whether results are decoded (TypeRegistry "typed"). */
  readonly typed: boolean
  /** The user types of the pool (typed results only). */
  readonly catalog: TypeCatalog | undefined

  constructor(types?: ValuesOptions) {
    this.base = types?.registry ?? defaultRegistry
    this.typed = (types?.results ?? "typed") === "typed"
    this.catalog = this.typed ? types?.catalog : undefined
  }

  /** The codecs now: the base registry and the catalog's user types. */
  get registry(): Registry {
    const catalog = this.catalog
    return catalog === undefined ? this.base : catalog.registryFor(this.base)
  }

  /** The catalog's version (0 without one): plans of another version are stale. */
  get version(): number {
    return this.catalog?.version ?? 0
  }

  /** Bind values when the parameter types are unknown: strings as they are, others as text. */
  text(params: ReadonlyArray<Param>): ReadonlyArray<string | null> | PgProtocolError {
    return allText(params) ? params : textParams(this.registry, params)
  }

  /** Bind values and formats when the parameter types are known. */
  bind(
    params: ReadonlyArray<Param>,
    types: ReadonlyArray<number>
  ):
    | { readonly values: ReadonlyArray<BindParam>; readonly formats: ReadonlyArray<FormatCode> }
    | PgProtocolError {
    const registry = this.registry
    // A type not known yet (a user type not looked up): sent as text by the value's kind.
    const unknown = (t: number) => t >= FIRST_USER_OID && !registry.has(t)
    const known = types.some(unknown) ? types.map((t) => (unknown(t) ? 0 : t)) : types
    return typedParams(registry, params, known)
  }

  /** The typed plan for known columns (`undefined` with text results). */
  plan(columns: ReadonlyArray<Column>): Plan | undefined {
    if (!this.typed) return undefined
    const version = this.version
    const registry = this.registry
    const formats = resultFormats(
      registry,
      columns.map((c) => c.typeOid)
    )
    const planned = columns.map((c, i) => (c.format === formats[i] ? c : { ...c, format: formats[i]! }))
    return {
      formats,
      columns: planned,
      decoder: new RowDecoder(registry, planned),
      shape: objectShape(columnKeys(columns.map((c) => c.name))),
      version
    }
  }

  /**
   * One request's row reader; `plan` when its columns are preset. `undefined` only for arrays of
   * text (text results, rowMode "array"): the commands' fast path, no decoder at all.
   */
  reader(plan?: Plan, mode: RowMode = "object"): RowReader | undefined {
    // The registry as it is when the columns arrive: a lookup queued ahead may have grown it.
    if (this.typed)
      return new RowReader({
        registry: () => this.registry,
        decoder: plan?.decoder,
        shape: plan?.shape,
        mode
      })
    return mode === "array" ? undefined : new RowReader({ registry: this.registry, mode, text: true })
  }
}
