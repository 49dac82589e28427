/**
 * Introspection of user-defined types (issue 12 item 3, decision 023): enums, composites, domains,
 * ranges and multiranges over them, and the arrays of each, looked up in the server's catalog
 * the first time their OIDs appear, kept per pool, dropped when a type changes.
 *
 * Does:
 * - `CATALOG_SQL`: one query that, for a set of OIDs, returns each type with everything its codec
 *   needs (pg_type, pg_namespace, pg_range, pg_attribute in attnum order without dropped
 *   attributes, pg_enum in sort order), and — by a recursive CTE, in the same round trip — the
 *   user types those refer to (a composite holding a domain over an enum…), until closed.
 * - `TypeCatalog`: what a pool (or a lone connection) knows: the entries found, the OIDs asked
 *   for that have no entry (not asked again), a `version` that changes whenever either changes,
 *   `registryFor(base)` (the base registry with a codec per entry, types/catalog.ts, made once per
 *   version), `observe(tag)` (CREATE/ALTER/DROP TYPE or DOMAIN, and the table and extension
 *   commands that change row types, drop everything known) and `lookups` (catalog queries run).
 * - `Introspector`: one per connection (`introspectorOf`): `lookup(oids, done)` queues the
 *   catalog query on that connection (never another: no connection waits for another's), sharing
 *   a lookup already in flight on it for the same OIDs; `ensure(oids)` is the same as an Effect
 *   whose interruption stops only the waiting (the lookup goes on for others).
 * - `redecode`: a buffered result's columns that were read as text because their type was not
 *   known yet, decoded again from that text once it is.
 * Does NOT: decide when to look up (the operations do: queries.ts, streams.ts, prepared.ts), or
 * build codecs (types/composite.ts, types/catalog.ts). Text results (`TypeRegistry.text()`) never
 * reach here.
 *
 * OIDs below 16384 (FirstNormalObjectId) are the server's own types: never looked up.
 */
import { Context, Effect } from "effect"
import { PgProtocolError } from "../Errors.ts"
import type { Engine } from "../engine/Engine.ts"
import {
  DESCRIBE_UNNAMED_PORTAL,
  EXECUTE_UNNAMED,
  SYNC,
  writeBind,
  writeParse
} from "../protocol/Frontend.ts"
import { Writer } from "../protocol/Writer.ts"
import { type Column, columnKeys } from "../Result.ts"
import { parseArrayText } from "../types/array.ts"
import { identity } from "../types/Codec.ts"
import { type CatalogEntry, type TypeKind, withCatalog } from "../types/catalog.ts"
import type { Registry } from "../types/Registry.ts"
import { toValueError } from "../types/ValueError.ts"
import { ExtendedQuery } from "./requests.ts"

/** The first OID of objects made after initdb: below it, every type is the server's own. */
export const FIRST_USER_OID = 16384

/**
 * The catalog query: $1 is an oid[] of the types wanted. Columns: oid, typname, nspname, typtype,
 * typcategory, typdelim, typbasetype, typelem, typarray, rngsubtype, the multirange's range,
 * attribute names and type OIDs (attnum order, live ones), enum labels (sort order).
 */
export const CATALOG_SQL = `with recursive wanted(oid) as (
  select o from unnest($1::oid[]) as u(o)
  union
  select x.dep from wanted w
  join pg_catalog.pg_type t on t.oid = w.oid
  cross join lateral (
    select t.typbasetype union all select t.typelem
    union all select r.rngsubtype from pg_catalog.pg_range r where r.rngtypid = t.oid
    union all select r.rngtypid from pg_catalog.pg_range r where r.rngmultitypid = t.oid
    union all select a.atttypid from pg_catalog.pg_attribute a
      where t.typrelid <> 0 and a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
  ) as x(dep)
  where x.dep >= ${FIRST_USER_OID}::oid
)
select t.oid, t.typname::text, n.nspname::text, t.typtype, t.typcategory, t.typdelim, t.typbasetype,
  t.typelem, t.typarray, coalesce(r.rngsubtype, 0::oid), coalesce(m.rngtypid, 0::oid),
  array(select a.attname::text from pg_catalog.pg_attribute a
    where t.typrelid <> 0 and a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped order by a.attnum),
  array(select a.atttypid from pg_catalog.pg_attribute a
    where t.typrelid <> 0 and a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped order by a.attnum),
  array(select e.enumlabel::text from pg_catalog.pg_enum e where e.enumtypid = t.oid order by e.enumsortorder)
from wanted w
join pg_catalog.pg_type t on t.oid = w.oid
join pg_catalog.pg_namespace n on n.oid = t.typnamespace
left join pg_catalog.pg_range r on r.rngtypid = t.oid
left join pg_catalog.pg_range m on m.rngmultitypid = t.oid`

const texts = (s: string | null): Array<string> =>
  s === null ? [] : (parseArrayText("text[]", s, ",", identity) as Array<string>)

/** One row of CATALOG_SQL (text format) as a catalog entry. Throws a ValueError on a malformed row. */
export const catalogEntry = (row: ReadonlyArray<string | null>): CatalogEntry => {
  const num = (i: number): number => Number(row[i] ?? 0)
  const names = texts(row[11] ?? null)
  const types = texts(row[12] ?? null).map(Number)
  return {
    oid: num(0),
    name: row[1] ?? "",
    namespace: row[2] ?? "",
    kind: (row[3] ?? "p") as TypeKind,
    category: row[4] ?? "",
    delimiter: row[5] ?? ",",
    baseType: num(6),
    element: num(7),
    arrayType: num(8),
    rangeSubtype: num(9),
    multirangeRange: num(10),
    attributes: names.map((name, i) => ({ name, typeOid: types[i] ?? 0 })),
    labels: texts(row[13] ?? null)
  }
}

/** Command tags after which what the catalog knew may be wrong (a type's shape changed). */
const REFRESH_TAGS = new Set([
  "CREATE TYPE",
  "ALTER TYPE",
  "DROP TYPE",
  "CREATE DOMAIN",
  "ALTER DOMAIN",
  "DROP DOMAIN",
  "ALTER TABLE",
  "DROP TABLE",
  "CREATE EXTENSION",
  "ALTER EXTENSION",
  "DROP EXTENSION",
  "DROP SCHEMA",
  "DROP OWNED"
])

/** What a pool (or a lone connection) knows of user-defined types (see the module header). */
export class TypeCatalog {
  private readonly types = new Map<number, CatalogEntry>()
  private readonly absent = new Set<number>()
  private current = 0
  /** Bumped by every clear: a lookup that began before it does not add what it found. */
  private generationCount = 0
  private readonly built = new WeakMap<Registry, { readonly version: number; readonly registry: Registry }>()
  /** Catalog queries run so far (all connections of the pool). */
  lookups = 0

  /** Changes whenever an entry is added or dropped: plans made at another version are remade. */
  get version(): number {
    return this.current
  }

  get generation(): number {
    return this.generationCount
  }

  /** The entries known, by OID. */
  get entries(): ReadonlyMap<number, CatalogEntry> {
    return this.types
  }

  /** Whether `oid` was looked up already (found, or found to have no entry). */
  knows(oid: number): boolean {
    return this.types.has(oid) || this.absent.has(oid)
  }

  /** The OIDs among `oids` to look up: user OIDs that neither `registry` nor the catalog knows. */
  unknown(registry: Registry, oids: Iterable<number>): Array<number> {
    let out: Array<number> | undefined
    for (const oid of oids) {
      if (oid < FIRST_USER_OID || registry.has(oid) || this.knows(oid)) continue
      out ??= []
      if (!out.includes(oid)) out.push(oid)
    }
    return out ?? []
  }

  /** `base` with a codec for every entry (made once per version and base registry). */
  registryFor(base: Registry): Registry {
    if (this.types.size === 0) return base
    const cached = this.built.get(base)
    if (cached !== undefined && cached.version === this.current) return cached.registry
    const registry = withCatalog(base, this.types.values(), { onMismatch: () => this.clear() })
    this.built.set(base, { version: this.current, registry })
    return registry
  }

  /** What one lookup found for `asked` (begun at `generation`); asked OIDs not found have no entry. */
  add(asked: ReadonlyArray<number>, found: ReadonlyArray<CatalogEntry>, generation: number): void {
    this.lookups++
    if (generation !== this.generationCount) return
    for (const e of found) this.types.set(e.oid, e)
    for (const oid of asked) if (!this.types.has(oid)) this.absent.add(oid)
    this.current++
  }

  /** A command tag went by: a type may have changed, so everything known is dropped. */
  observe(tag: string): void {
    if (REFRESH_TAGS.has(tag)) this.clear()
  }

  /** Forgets every entry (a type changed; what depends on it is looked up again with it). */
  clear(): void {
    if (this.types.size === 0 && this.absent.size === 0) return
    this.types.clear()
    this.absent.clear()
    this.generationCount++
    this.current++
  }
}

/**
 * The catalog of the pool a connection is made for. A pool provides one around its connector
 * (pool/machine.ts); a lone connection, with none here, makes its own (connect.ts).
 */
export const TypeCatalogRef: Context.Reference<TypeCatalog | undefined> = Context.Reference<
  TypeCatalog | undefined
>("effect-pg/TypeCatalog", { defaultValue: () => undefined })

/** What the introspector needs of the connection's values (connection/values.ts). */
export interface CatalogUser {
  readonly typed: boolean
  readonly catalog: TypeCatalog | undefined
  /** The registry without the catalog's codecs. */
  readonly base: Registry
}

interface Lookup {
  readonly waiters: Array<() => void>
}

/** One connection's lookups: queued on it, shared while in flight (see the module header). */
export class Introspector {
  private readonly core: Engine
  readonly catalog: TypeCatalog
  private readonly base: Registry
  private readonly inflight = new Map<number, Lookup>()
  private readonly writer = new Writer(1024)

  constructor(core: Engine, catalog: TypeCatalog, base: Registry) {
    this.core = core
    this.catalog = catalog
    this.base = base
  }

  /** The OIDs among `oids` that are not known yet (neither by the registry nor the catalog). */
  unknown(oids: Iterable<number>): Array<number> {
    return this.catalog.unknown(this.base, oids)
  }

  /**
   * Looks up what of `oids` is not known yet, on this connection; `done` is called once every
   * lookup they need has ended (found or not, or failed: the types then stay text). Returns false
   * when nothing needs looking up (`done` is then not called).
   */
  lookup(oids: Iterable<number>, done: () => void = () => {}): boolean {
    const needed = this.unknown(oids)
    if (needed.length === 0) return false
    const lookups = new Set<Lookup>()
    const fresh: number[] = []
    for (const oid of needed) {
      const running = this.inflight.get(oid)
      if (running === undefined) fresh.push(oid)
      else lookups.add(running)
    }
    if (fresh.length > 0) {
      const started = this.start(fresh)
      if (started === undefined) return false
      lookups.add(started)
    }
    let left = lookups.size
    for (const l of lookups) l.waiters.push(() => (--left === 0 ? done() : undefined))
    return true
  }

  /** `lookup` as an Effect: done when the lookups end; interrupting it stops only the wait. */
  ensure(oids: ReadonlyArray<number>): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      if (!this.lookup(oids, () => resume(Effect.void))) resume(Effect.void)
    })
  }

  private start(oids: ReadonlyArray<number>): Lookup | undefined {
    const w = this.writer
    w.reset()
    const problem =
      writeParse(w, "", CATALOG_SQL, []) ??
      writeBind(w, "", "", [`{${oids.join(",")}}`], undefined, undefined)
    if (problem !== undefined) return undefined
    w.bytes(DESCRIBE_UNNAMED_PORTAL)
    w.bytes(EXECUTE_UNNAMED)
    w.bytes(SYNC)
    const frames = w.finish().slice()
    const lookup: Lookup = { waiters: [] }
    const generation = this.catalog.generation
    const rows: Array<ReadonlyArray<unknown>> = []
    const request = new ExtendedQuery(
      { frames, parse: true, preset: undefined },
      {
        onRows: (batch) => {
          for (const row of batch) rows.push(row as ReadonlyArray<unknown>)
        },
        onDone: (outcome) => {
          for (const oid of oids) if (this.inflight.get(oid) === lookup) this.inflight.delete(oid)
          if (!("_tag" in outcome)) {
            try {
              const found = rows.map((row) => catalogEntry(row as ReadonlyArray<string | null>))
              this.catalog.add(oids, found, generation)
            } catch {
              // A row this client cannot read (a server it does not know): the types stay text.
            }
          }
          for (const waiter of lookup.waiters) waiter()
        }
      }
    )
    for (const oid of oids) this.inflight.set(oid, lookup)
    this.core.submit(request)
    return lookup
  }
}

const introspectors = new WeakMap<Engine, Introspector>()

/** The connection's introspector; `undefined` with text results or without a catalog. */
export const introspectorOf = (core: Engine, values: CatalogUser): Introspector | undefined => {
  if (!values.typed || values.catalog === undefined) return undefined
  let found = introspectors.get(core)
  if (found === undefined) {
    found = new Introspector(core, values.catalog, values.base)
    introspectors.set(core, found)
  }
  return found
}

/** The columns of a result read as text because `decodedWith` had no codec for their type. */
export const textColumns = (columns: ReadonlyArray<Column>, decodedWith: Registry): ReadonlyArray<number> => {
  let out: number[] | undefined
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!
    if (c.typeOid < FIRST_USER_OID || c.format !== 0 || decodedWith.has(c.typeOid)) continue
    out ??= []
    out.push(i)
  }
  return out ?? NONE
}

const NONE: ReadonlyArray<number> = []

/**
 * Decodes again, in place, the columns `indexes` of `rows` (arrays, or objects keyed as
 * `columnKeys` keys them) from their text with `registry`'s codecs, where it has one now.
 * Returns the query's error for a value that does not decode (row, column and type named).
 */
export const redecode = (
  rows: ReadonlyArray<unknown>,
  columns: ReadonlyArray<Column>,
  indexes: ReadonlyArray<number>,
  registry: Registry
): PgProtocolError | undefined => {
  const todo = indexes.flatMap((i) => {
    const codec = registry.get(columns[i]!.typeOid)
    return codec === undefined || codec.text.decode === identity ? [] : [{ i, codec }]
  })
  if (todo.length === 0 || rows.length === 0) return undefined
  const keys = Array.isArray(rows[0]) ? undefined : columnKeys(columns.map((c) => c.name))
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as Record<string | number, unknown>
    for (const { i, codec } of todo) {
      const key = keys === undefined ? i : keys[i]!
      const text = row[key]
      if (typeof text !== "string") continue
      try {
        row[key] = codec.text.decode(text)
      } catch (thrown) {
        const error = toValueError(codec.name, thrown)
        return new PgProtocolError({
          reason: "UndecodableValue",
          message: `row ${r + 1}, column ${i + 1} ${JSON.stringify(columns[i]!.name)} (${error.type}): ${error.message}`,
          mayHaveRun: true
        })
      }
    }
  }
  return undefined
}
