/**
 * User-defined types as the server's catalog describes them, and the codecs they make.
 *
 * Does: define `CatalogEntry` (one row of pg_type with what pg_range, pg_attribute and pg_enum say
 * of it: what the connection's introspection query returns, connection/introspect.ts) and
 * `withCatalog(registry, entries)`, a new registry with a codec for each entry:
 * - an enum: its label as a string (composite.ts `enumCodec`);
 * - a composite: an object keyed by attribute name (composite.ts `compositeCodec`), its attributes
 *   read with the codecs of the registry being built, so a composite holding another composite,
 *   an enum, a domain or an array of them decodes all the way down (composites are added after
 *   what they hold);
 * - a domain: its base type's codec under the domain's OID and name (binary kept);
 * - a range or multirange over any type the registry then knows (user types included);
 * - a base type no codec knows (an extension's): its text, with arrays over it;
 * - the array type of each (`typarray`), and an array type asked for directly (typcategory 'A').
 * A pseudo type (or anything else) gets nothing: it stays text. An OID the registry already has a
 * codec for is left as it is: a codec the user registered wins over what the catalog says.
 * Does NOT: query the server, cache, or decide when to look up (connection/introspect.ts).
 */
import { textOnly } from "./Codec.ts"
import { type CompositeAttribute, compositeCodec, enumCodec } from "./composite.ts"
import type { Registry } from "./Registry.ts"

/** pg_type.typtype: base, composite, domain, enum, pseudo, range, multirange. */
export type TypeKind = "b" | "c" | "d" | "e" | "p" | "r" | "m"

/** One user-defined type (OID ≥ 16384, or any type the registry lacks) as the catalog holds it. */
export interface CatalogEntry {
  readonly oid: number
  /** pg_type.typname ("mood", "_mood" for its array). */
  readonly name: string
  /** The schema (pg_namespace.nspname). */
  readonly namespace: string
  readonly kind: TypeKind
  /** pg_type.typcategory ("A" for arrays, "E" enums, "C" composites, "U" user base types…). */
  readonly category: string
  /** pg_type.typdelim, the array element delimiter (",", ";" for box). */
  readonly delimiter: string
  /** A domain's base type (typbasetype); 0 otherwise. */
  readonly baseType: number
  /** An array's element type (typelem); 0 otherwise. */
  readonly element: number
  /** The array type over this one (typarray); 0 when there is none. */
  readonly arrayType: number
  /** A range's subtype (pg_range.rngsubtype); 0 otherwise. */
  readonly rangeSubtype: number
  /** A multirange's range type (pg_range.rngtypid); 0 otherwise. */
  readonly multirangeRange: number
  /** A composite's attributes in attnum order, dropped ones left out; empty otherwise. */
  readonly attributes: ReadonlyArray<CompositeAttribute>
  /** An enum's labels in sort order; empty otherwise. */
  readonly labels: ReadonlyArray<string>
}

export interface CatalogOptions {
  /** Told when a composite's values no longer match its attributes (composite.ts). */
  readonly onMismatch?: ((oid: number) => void) | undefined
}

const isArray = (e: CatalogEntry): boolean => e.category === "A" && e.element !== 0 && e.kind === "b"

const arrayOf = (e: CatalogEntry): number | undefined => (e.arrayType === 0 ? undefined : e.arrayType)

/** The OIDs an entry's codec is made of (its element, base type, subtype, range, attributes). */
export const dependencies = (e: CatalogEntry): ReadonlyArray<number> => {
  const out: number[] = []
  if (e.kind === "d" && e.baseType !== 0) out.push(e.baseType)
  if (isArray(e)) out.push(e.element)
  if (e.kind === "r" && e.rangeSubtype !== 0) out.push(e.rangeSubtype)
  if (e.kind === "m" && e.multirangeRange !== 0) out.push(e.multirangeRange)
  if (e.kind === "c") for (const a of e.attributes) out.push(a.typeOid)
  return out
}

/**
 * Composites in an order where each comes after every composite it holds (through attributes,
 * arrays, domains and ranges). The server forbids a composite holding itself; should the entries
 * say otherwise, the cycle is cut and the inner reference reads as text.
 */
const compositeOrder = (byOid: ReadonlyMap<number, CatalogEntry>): ReadonlyArray<CatalogEntry> => {
  const order: CatalogEntry[] = []
  const seen = new Set<number>()
  // An array type known only as some entry's typarray is made of that entry.
  const owners = new Map<number, number>()
  for (const e of byOid.values()) if (e.arrayType !== 0) owners.set(e.arrayType, e.oid)
  const visit = (oid: number): void => {
    if (seen.has(oid)) return
    seen.add(oid)
    const e = byOid.get(oid)
    if (e === undefined) {
      const owner = owners.get(oid)
      if (owner !== undefined) visit(owner)
      return
    }
    for (const dep of dependencies(e)) visit(dep)
    if (e.kind === "c") order.push(e)
  }
  for (const oid of byOid.keys()) visit(oid)
  return order
}

/** `registry` with a codec for each of `entries` (see the module header); `registry` is unchanged. */
export const withCatalog = (
  registry: Registry,
  entries: Iterable<CatalogEntry>,
  options: CatalogOptions = {}
): Registry => {
  const byOid = new Map<number, CatalogEntry>()
  for (const e of entries) if (!registry.has(e.oid)) byOid.set(e.oid, e)
  const plain = []
  let out = registry
  for (const e of byOid.values()) {
    if (isArray(e)) {
      out = out.withArray(e.oid, e.element, e.name)
      continue
    }
    switch (e.kind) {
      case "e":
        plain.push(enumCodec(e.oid, e.name, e.labels, arrayOf(e)))
        break
      case "b":
        plain.push(textOnly(e.oid, e.name, arrayOf(e), e.delimiter === "," ? undefined : e.delimiter))
        break
      case "d":
        if (e.baseType !== 0) out = out.withAlias(e.oid, e.name, e.baseType, arrayOf(e))
        break
      case "r":
        if (e.rangeSubtype !== 0) out = out.withRange(e.oid, e.name, e.rangeSubtype, arrayOf(e))
        break
      case "m":
        if (e.multirangeRange !== 0) out = out.withMultirange(e.oid, e.name, e.multirangeRange, arrayOf(e))
        break
      default:
        break
    }
  }
  if (plain.length > 0) out = out.with(...plain)
  // Each composite is made against the registry so far, which holds what it is made of.
  for (const e of compositeOrder(byOid)) {
    const codec = compositeCodec(e.oid, e.name, e.attributes, out, {
      arrayOid: arrayOf(e),
      onMismatch: options.onMismatch
    })
    out = out.with(codec)
  }
  return out
}
