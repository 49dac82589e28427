/**
 * The codec registry: which codec reads and writes each type OID. A plain immutable value —
 * `with…` returns a new registry and never changes the old one — so a connection can hold one
 * and a pool share it.
 *
 * Does: look codecs up by OID (`get`, or `codecFor`, which never fails: an unknown OID gets a
 * text passthrough codec, so a type nobody registered still reads as the server's text), and by
 * type name (`named`: typname, "_int4" for arrays, and the SQL spellings "integer", "timestamp
 * with time zone"…). Holds container types as recipes over their element OIDs — arrays, ranges,
 * multiranges, domains (`withAlias`) — built on first lookup and cached per registry, so
 * overriding an element codec (`with(timestamptzAsDate)`) changes its arrays, ranges and
 * multiranges too.
 * Does NOT: query the server (introspection of enums, composites and domains belongs to the
 * connection layer, which then calls `with…`), or choose formats per statement (RowDecoder.ts).
 */
import { arrayCodec } from "./array.ts"
import { type AnyCodec, type Codec, textOnly } from "./Codec.ts"
import { multirangeCodec, type PgRange, rangeCodec } from "./range.ts"

type Entry =
  | { readonly kind: "codec"; readonly codec: AnyCodec }
  | { readonly kind: "array"; readonly name: string; readonly element: number }
  | { readonly kind: "range"; readonly name: string; readonly subtype: number; readonly arrayOid?: number }
  | { readonly kind: "multirange"; readonly name: string; readonly range: number; readonly arrayOid?: number }
  | { readonly kind: "alias"; readonly name: string; readonly base: number; readonly arrayOid?: number }

/** SQL spellings of built-in type names (what format_type prints), to their typname. */
const SQL_NAMES: Readonly<Record<string, string>> = {
  boolean: "bool",
  smallint: "int2",
  integer: "int4",
  int: "int4",
  bigint: "int8",
  real: "float4",
  "double precision": "float8",
  decimal: "numeric",
  "character varying": "varchar",
  character: "bpchar",
  "timestamp without time zone": "timestamp",
  "timestamp with time zone": "timestamptz",
  "time without time zone": "time",
  "time with time zone": "timetz",
  "bit varying": "varbit",
  '"char"': "char"
}

const nameOf = (entry: Entry): string => (entry.kind === "codec" ? entry.codec.name : entry.name)

export class Registry {
  private readonly entries: ReadonlyMap<number, Entry>
  private readonly names: ReadonlyMap<string, number>
  private readonly built = new Map<number, AnyCodec>()

  private constructor(entries: ReadonlyMap<number, Entry>, names: ReadonlyMap<string, number>) {
    this.entries = entries
    this.names = names
  }

  /** A registry without any codec: every OID reads as text. */
  static readonly empty: Registry = new Registry(new Map(), new Map())

  /** Whether `oid` has a codec here (unknown OIDs still get a passthrough from `codecFor`). */
  has(oid: number): boolean {
    return this.entries.has(oid)
  }

  /** The codec of `oid`, or undefined when none is registered. */
  get(oid: number): AnyCodec | undefined {
    const cached = this.built.get(oid)
    if (cached !== undefined) return cached
    const entry = this.entries.get(oid)
    if (entry === undefined) return undefined
    const codec = this.build(oid, entry)
    if (codec !== undefined) this.built.set(oid, codec)
    return codec
  }

  /** The codec of `oid`; an unknown OID gets a text passthrough (its value is the server's text). */
  codecFor(oid: number): AnyCodec {
    return this.get(oid) ?? passthrough(oid)
  }

  /** The codec of a type name: typname ("int4", "_int4"), "int4[]", or its SQL spelling ("integer"). */
  named(name: string): AnyCodec | undefined {
    const trimmed = name.trim().toLowerCase()
    if (trimmed.endsWith("[]")) {
      const element = this.named(trimmed.slice(0, -2))
      return element?.arrayOid === undefined ? undefined : this.get(element.arrayOid)
    }
    const oid = this.names.get(trimmed) ?? this.names.get(SQL_NAMES[trimmed] ?? "")
    return oid === undefined ? undefined : this.get(oid)
  }

  /**
   * Adds or replaces codecs (by OID). A codec with an `arrayOid` also defines that array type
   * over itself, unless the registry already has an entry for it (which then picks the new
   * element codec up, being a recipe over the element OID).
   */
  with(...codecs: ReadonlyArray<AnyCodec>): Registry {
    const entries = new Map(this.entries)
    const names = new Map(this.names)
    for (const codec of codecs) {
      add(entries, names, codec.oid, { kind: "codec", codec })
      if (codec.arrayOid !== undefined && !entries.has(codec.arrayOid))
        add(entries, names, codec.arrayOid, { kind: "array", name: `_${codec.name}`, element: codec.oid })
    }
    return new Registry(entries, names)
  }

  /** Adds the array type `oid` over the element type `element`. */
  withArray(oid: number, element: number, name?: string): Registry {
    return this.extend(oid, { kind: "array", name: name ?? `_${this.entryName(element)}`, element })
  }

  /** Adds the range type `oid` over its subtype (and its array type, when given). */
  withRange(oid: number, name: string, subtype: number, arrayOid?: number): Registry {
    return this.extend(
      oid,
      { kind: "range", name, subtype, ...(arrayOid === undefined ? {} : { arrayOid }) },
      arrayOid
    )
  }

  /** Adds the multirange type `oid` over the range type `range` (and its array type, when given). */
  withMultirange(oid: number, name: string, range: number, arrayOid?: number): Registry {
    return this.extend(
      oid,
      { kind: "multirange", name, range, ...(arrayOid === undefined ? {} : { arrayOid }) },
      arrayOid
    )
  }

  /** Adds `oid` as another name for `base`'s codec (a domain over it; its array type too, when given). */
  withAlias(oid: number, name: string, base: number, arrayOid?: number): Registry {
    return this.extend(
      oid,
      { kind: "alias", name, base, ...(arrayOid === undefined ? {} : { arrayOid }) },
      arrayOid
    )
  }

  private entryName(oid: number): string {
    const entry = this.entries.get(oid)
    return entry === undefined ? String(oid) : nameOf(entry)
  }

  private extend(oid: number, entry: Entry, arrayOid?: number): Registry {
    const entries = new Map(this.entries)
    const names = new Map(this.names)
    add(entries, names, oid, entry)
    if (arrayOid !== undefined && !entries.has(arrayOid))
      add(entries, names, arrayOid, { kind: "array", name: `_${nameOf(entry)}`, element: oid })
    return new Registry(entries, names)
  }

  private build(oid: number, entry: Entry): AnyCodec | undefined {
    switch (entry.kind) {
      case "codec":
        return entry.codec
      case "array": {
        const element = this.get(entry.element)
        return element === undefined ? undefined : arrayCodec(element, oid, entry.name)
      }
      case "range": {
        const element = this.get(entry.subtype)
        return element === undefined ? undefined : rangeCodec(oid, entry.name, element, entry.arrayOid)
      }
      case "multirange": {
        const range = this.get(entry.range) as Codec<PgRange<unknown>, PgRange<unknown> | string> | undefined
        const rangeEntry = this.entries.get(entry.range)
        const element = rangeEntry?.kind === "range" ? this.get(rangeEntry.subtype) : undefined
        if (range === undefined || element === undefined) return undefined
        return multirangeCodec(oid, entry.name, range, element, entry.arrayOid)
      }
      case "alias": {
        const base = this.get(entry.base)
        if (base === undefined) return undefined
        const { arrayOid: _, ...rest } = base
        return {
          ...rest,
          oid,
          name: entry.name,
          ...(entry.arrayOid === undefined ? {} : { arrayOid: entry.arrayOid })
        }
      }
    }
  }
}

const add = (entries: Map<number, Entry>, names: Map<string, number>, oid: number, entry: Entry): void => {
  const old = entries.get(oid)
  if (old !== undefined && names.get(nameOf(old)) === oid) names.delete(nameOf(old))
  entries.set(oid, entry)
  names.set(nameOf(entry).toLowerCase(), oid)
}

const passthroughs = new Map<number, AnyCodec>()

/** The codec of a type no one registered: its text as a string, fetched as text. */
export const passthrough = (oid: number): AnyCodec => {
  let codec = passthroughs.get(oid)
  if (codec === undefined) {
    codec = textOnly(oid, String(oid))
    if (passthroughs.size < 10000) passthroughs.set(oid, codec)
  }
  return codec
}
