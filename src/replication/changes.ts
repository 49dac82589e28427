/**
 * Typed changes from pgoutput messages: rows of Insert, Update and Delete decoded through the
 * codec registry into objects keyed by column name, using the columns of the relation's last
 * Relation message (pgoutput sends one before a relation's first change in a session, and again
 * after its definition changed).
 *
 * Does: remember relations; decode each column by its type OID, text or binary as the message
 * carries it (`binary` option), NULL as `null`, an unchanged TOAST value as `UNCHANGED_TOAST`;
 * name the relation of each change (and of each Truncate); pass every other message through.
 * Does NOT: import Effect, do I/O, or throw: a value that does not decode, or a change of a
 * relation never described, is a `ChangeDecodeError` (the stream fails with it; the slot keeps the
 * change, so nothing is lost).
 */
import { columnKeys } from "../Result.ts"
import { utf8 } from "../types/bytes.ts"
import type { AnyCodec } from "../types/Codec.ts"
import type { Registry } from "../types/Registry.ts"
import type {
  Delete,
  Insert,
  PgOutputMessage,
  Relation,
  Truncate,
  TupleData,
  Update
} from "./PgOutputMessage.ts"

/** The value of a TOASTed column an Update or Delete did not send because it did not change. */
export const UNCHANGED_TOAST: unique symbol = Symbol.for("effect-pg/UnchangedToast")
export type UnchangedToast = typeof UNCHANGED_TOAST

/** A decoded row: a property per column, in the relation's column order. */
export type ChangeRow = Readonly<Record<string, unknown>>

/** The relation a change belongs to. */
export interface ChangeRelation {
  readonly oid: number
  readonly namespace: string
  readonly name: string
  /** The replica identity columns (the key an Update's or Delete's `old` carries). */
  readonly keyColumns: ReadonlyArray<string>
}

export interface InsertChange {
  readonly _tag: "InsertChange"
  readonly relation: ChangeRelation
  readonly row: ChangeRow
}

export interface UpdateChange {
  readonly _tag: "UpdateChange"
  readonly relation: ChangeRelation
  readonly row: ChangeRow
  /**
   * The old row: its key columns (`oldKind` "key", the other columns `null`) or all of it
   * ("full", REPLICA IDENTITY FULL); absent when the key did not change.
   */
  readonly old: ChangeRow | undefined
  readonly oldKind: "key" | "full" | undefined
}

export interface DeleteChange {
  readonly _tag: "DeleteChange"
  readonly relation: ChangeRelation
  /** The deleted row's key columns ("key", others `null`) or all of it ("full"). */
  readonly old: ChangeRow
  readonly oldKind: "key" | "full"
}

export interface TruncateChange {
  readonly _tag: "TruncateChange"
  readonly relations: ReadonlyArray<ChangeRelation>
  readonly cascade: boolean
  readonly restartIdentity: boolean
}

/** A typed change, or any other pgoutput message as it came (Begin, Commit, Relation, …). */
export type Change =
  | InsertChange
  | UpdateChange
  | DeleteChange
  | TruncateChange
  | Exclude<PgOutputMessage, Insert | Update | Delete | Truncate>

/** A change that could not be typed: a value its codec refused, or an undescribed relation. */
export class ChangeDecodeError {
  readonly _tag = "ChangeDecodeError"
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

interface Known {
  readonly relation: ChangeRelation
  readonly keys: ReadonlyArray<string>
  readonly codecs: ReadonlyArray<AnyCodec>
}

/** Turns pgoutput messages into typed changes; one per stream (it remembers the relations). */
export class ChangeDecoder {
  private readonly registry: Registry
  private readonly relations = new Map<number, Known>()

  constructor(registry: Registry) {
    this.registry = registry
  }

  decode(message: PgOutputMessage): Change | ChangeDecodeError {
    switch (message._tag) {
      case "Relation":
        this.remember(message)
        return message
      case "Insert": {
        const known = this.known(message.relationOid)
        if (known instanceof ChangeDecodeError) return known
        const row = this.row(known, message.row)
        return row instanceof ChangeDecodeError
          ? row
          : { _tag: "InsertChange", relation: known.relation, row }
      }
      case "Update": {
        const known = this.known(message.relationOid)
        if (known instanceof ChangeDecodeError) return known
        const row = this.row(known, message.row)
        if (row instanceof ChangeDecodeError) return row
        const old = message.old === undefined ? undefined : this.row(known, message.old.columns)
        if (old instanceof ChangeDecodeError) return old
        return { _tag: "UpdateChange", relation: known.relation, row, old, oldKind: message.old?.kind }
      }
      case "Delete": {
        const known = this.known(message.relationOid)
        if (known instanceof ChangeDecodeError) return known
        const old = this.row(known, message.old.columns)
        if (old instanceof ChangeDecodeError) return old
        return { _tag: "DeleteChange", relation: known.relation, old, oldKind: message.old.kind }
      }
      case "Truncate": {
        const relations: Array<ChangeRelation> = []
        for (const oid of message.relationOids) {
          const known = this.known(oid)
          if (known instanceof ChangeDecodeError) return known
          relations.push(known.relation)
        }
        return {
          _tag: "TruncateChange",
          relations,
          cascade: message.cascade,
          restartIdentity: message.restartIdentity
        }
      }
      default:
        return message
    }
  }

  private remember(message: Relation): void {
    this.relations.set(message.relationOid, {
      relation: {
        oid: message.relationOid,
        namespace: message.namespace,
        name: message.name,
        keyColumns: message.columns.filter((c) => c.isKey).map((c) => c.name)
      },
      keys: columnKeys(message.columns.map((c) => c.name)),
      codecs: message.columns.map((c) => this.registry.codecFor(c.typeOid))
    })
  }

  private known(oid: number): Known | ChangeDecodeError {
    return (
      this.relations.get(oid) ??
      new ChangeDecodeError(`a change of relation ${oid}, which no Relation message described`)
    )
  }

  private row(known: Known, tuple: TupleData): ChangeRow | ChangeDecodeError {
    const { keys, codecs } = known
    if (tuple.length !== keys.length) {
      return new ChangeDecodeError(
        `${qualified(known.relation)}: a row of ${tuple.length} columns, the relation has ${keys.length}`
      )
    }
    const row: Record<string, unknown> = {}
    for (let i = 0; i < tuple.length; i++) {
      const column = tuple[i]!
      const key = keys[i]!
      const codec = codecs[i]!
      try {
        const value =
          column.kind === "null"
            ? null
            : column.kind === "unchanged"
              ? UNCHANGED_TOAST
              : column.kind === "text"
                ? codec.text.decode(utf8(column.bytes, 0, column.bytes.length))
                : codec.binary !== undefined
                  ? codec.binary.decode(column.bytes, 0, column.bytes.length)
                  : column.bytes.slice()
        if (key === "__proto__")
          Object.defineProperty(row, key, { value, enumerable: true, writable: true, configurable: true })
        else row[key] = value
      } catch (thrown) {
        const why = thrown instanceof Error ? thrown.message : String(thrown)
        return new ChangeDecodeError(`${qualified(known.relation)}, column "${key}" (${codec.name}): ${why}`)
      }
    }
    return row
  }
}

const qualified = (relation: ChangeRelation): string => `${relation.namespace}.${relation.name}`
