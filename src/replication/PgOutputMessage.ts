/**
 * The pgoutput (logical replication protocol 1–4) message types: one interface per message and the
 * `PgOutputMessage` union, discriminated by `_tag` (the spec's message name without spaces).
 *
 * Does: describe decoded messages; pgoutput.ts decodes bytes into them.
 * Does NOT: decode, validate, or interpret column values (they stay raw bytes: a later layer
 * decodes them with the codec registry, using the Relation message's type OIDs and modifiers).
 *
 * Invariants: LSNs are unsigned `bigint`, timestamps signed `bigint` microseconds since
 * 2000-01-01 (Lsn.ts converts both); transaction IDs and OIDs are unsigned 32-bit numbers; byte
 * fields are views of the decoded input (copy what must outlive it); `xid` on the row-level
 * messages is set exactly when the message was decoded inside a stream block (protocol 2+).
 *
 * @see https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 */
import type { Oid } from "../protocol/Types.ts"
import type { Lsn, PgTimestamp } from "./Lsn.ts"

/** A transaction ID (unsigned 32-bit). */
export type Xid = number

/**
 * The protocol versions pgoutput speaks: 1; 2 streaming (PG14); 3 two-phase (PG15); 4 parallel
 * streaming (PG16). A slot created with two_phase sends the two-phase messages at every version.
 */
export type PgOutputVersion = 1 | 2 | 3 | 4

/** One column of a TupleData. */
export type TupleColumn = NullColumn | UnchangedToastColumn | TextColumn | BinaryColumn

/** 'n': the value is NULL. */
export interface NullColumn {
  readonly kind: "null"
}
/** 'u': an unchanged TOASTed value; the actual value is not sent (it is not NULL). */
export interface UnchangedToastColumn {
  readonly kind: "unchanged"
}
/** 't': the value in text format (UTF-8 bytes, a view). */
export interface TextColumn {
  readonly kind: "text"
  readonly bytes: Uint8Array
}
/** 'b': the value in binary format (the type's send format, a view); only with the `binary` option. */
export interface BinaryColumn {
  readonly kind: "binary"
  readonly bytes: Uint8Array
}

/** The columns of one row, in the Relation message's column order. */
export type TupleData = ReadonlyArray<TupleColumn>

/**
 * The old row of an Update or Delete: `key` ('K') holds the replica identity columns only (the
 * others are 'n'), `full` ('O') the whole old row (REPLICA IDENTITY FULL).
 */
export interface OldTuple {
  readonly kind: "key" | "full"
  readonly columns: TupleData
}

/** relreplident: 'd' default (primary key), 'n' nothing, 'f' full, 'i' index. */
export type ReplicaIdentity = "d" | "n" | "f" | "i"

/** One column of a Relation message (generated columns are absent unless published). */
export interface RelationColumn {
  /** Raw flags; bit 1 marks a replica identity (key) column. */
  readonly flags: number
  readonly isKey: boolean
  readonly name: string
  readonly typeOid: Oid
  /** atttypmod (-1 when the type has none). */
  readonly typeModifier: number
}

/** 'B': a transaction starts (not sent for streamed transactions). */
export interface Begin {
  readonly _tag: "Begin"
  readonly finalLsn: Lsn
  readonly commitTime: PgTimestamp
  readonly xid: Xid
}
/** 'C': the transaction started by the last Begin committed. */
export interface Commit {
  readonly _tag: "Commit"
  /** Currently unused (0). */
  readonly flags: number
  readonly commitLsn: Lsn
  readonly endLsn: Lsn
  readonly commitTime: PgTimestamp
}
/** 'O': the transaction came from another origin (several may appear in one transaction). */
export interface Origin {
  readonly _tag: "Origin"
  /** The commit LSN on the origin server. */
  readonly originLsn: Lsn
  readonly name: string
}
/** 'R': a table's shape; sent before the first change of a relation and after it changed. */
export interface Relation {
  readonly _tag: "Relation"
  readonly xid: Xid | undefined
  readonly relationOid: Oid
  /** Empty for pg_catalog. */
  readonly namespace: string
  readonly name: string
  readonly replicaIdentity: ReplicaIdentity
  readonly columns: ReadonlyArray<RelationColumn>
}
/** 'Y': a non-built-in type used by a following Relation message. */
export interface Type {
  readonly _tag: "Type"
  readonly xid: Xid | undefined
  readonly typeOid: Oid
  /** Empty for pg_catalog. */
  readonly namespace: string
  readonly name: string
}
/** 'I': a row was inserted. */
export interface Insert {
  readonly _tag: "Insert"
  readonly xid: Xid | undefined
  readonly relationOid: Oid
  readonly row: TupleData
}
/** 'U': a row was updated; `old` is present when the key changed (`key`) or with REPLICA IDENTITY FULL (`full`). */
export interface Update {
  readonly _tag: "Update"
  readonly xid: Xid | undefined
  readonly relationOid: Oid
  readonly old: OldTuple | undefined
  readonly row: TupleData
}
/** 'D': a row was deleted; `old` holds its key (`key`) or, with REPLICA IDENTITY FULL, the whole row (`full`). */
export interface Delete {
  readonly _tag: "Delete"
  readonly xid: Xid | undefined
  readonly relationOid: Oid
  readonly old: OldTuple
}
/** 'T': tables were truncated in one statement. */
export interface Truncate {
  readonly _tag: "Truncate"
  readonly xid: Xid | undefined
  /** Raw option bits: 1 CASCADE, 2 RESTART IDENTITY. */
  readonly options: number
  readonly cascade: boolean
  readonly restartIdentity: boolean
  readonly relationOids: ReadonlyArray<Oid>
}
/** 'M': a logical decoding message (`pg_logical_emit_message`); needs the `messages` option. */
export interface Message {
  readonly _tag: "Message"
  readonly xid: Xid | undefined
  /** Raw flags: 1 transactional. */
  readonly flags: number
  readonly transactional: boolean
  readonly lsn: Lsn
  readonly prefix: string
  readonly content: Uint8Array
}
/** 'S' (protocol 2+): a block of a streamed (in-progress) transaction starts. */
export interface StreamStart {
  readonly _tag: "StreamStart"
  readonly xid: Xid
  /** The first block of this transaction. */
  readonly firstSegment: boolean
}
/** 'E' (protocol 2+): the current stream block ends. */
export interface StreamStop {
  readonly _tag: "StreamStop"
}
/** 'c' (protocol 2+): a streamed transaction committed. */
export interface StreamCommit {
  readonly _tag: "StreamCommit"
  readonly xid: Xid
  /** Currently unused (0). */
  readonly flags: number
  readonly commitLsn: Lsn
  readonly endLsn: Lsn
  readonly commitTime: PgTimestamp
}
/**
 * 'A' (protocol 2+): a streamed (sub)transaction aborted; `subXid` equals `xid` for the top level.
 * `abortLsn` and `abortTime` are present only with protocol 4 and `streaming` 'parallel'.
 */
export interface StreamAbort {
  readonly _tag: "StreamAbort"
  readonly xid: Xid
  readonly subXid: Xid
  readonly abortLsn: Lsn | undefined
  readonly abortTime: PgTimestamp | undefined
}
/** The fields Begin Prepare, Prepare and Stream Prepare share. */
export interface PreparedTransaction {
  readonly prepareLsn: Lsn
  readonly endLsn: Lsn
  readonly prepareTime: PgTimestamp
  readonly xid: Xid
  readonly gid: string
}
/** 'b' (two-phase): a transaction prepared for two-phase commit starts. */
export interface BeginPrepare extends PreparedTransaction {
  readonly _tag: "BeginPrepare"
}
/** 'P' (two-phase): the transaction was prepared (PREPARE TRANSACTION gid). */
export interface Prepare extends PreparedTransaction {
  readonly _tag: "Prepare"
  /** Currently unused (0). */
  readonly flags: number
}
/** 'K' (two-phase): COMMIT PREPARED. */
export interface CommitPrepared {
  readonly _tag: "CommitPrepared"
  readonly flags: number
  readonly commitLsn: Lsn
  readonly endLsn: Lsn
  readonly commitTime: PgTimestamp
  readonly xid: Xid
  readonly gid: string
}
/** 'r' (two-phase): ROLLBACK PREPARED. */
export interface RollbackPrepared {
  readonly _tag: "RollbackPrepared"
  readonly flags: number
  readonly prepareEndLsn: Lsn
  readonly rollbackEndLsn: Lsn
  readonly prepareTime: PgTimestamp
  readonly rollbackTime: PgTimestamp
  readonly xid: Xid
  readonly gid: string
}
/** 'p' (two-phase, protocol 2+ streaming): a streamed transaction was prepared. */
export interface StreamPrepare extends PreparedTransaction {
  readonly _tag: "StreamPrepare"
  /** Currently unused (0). */
  readonly flags: number
}

/** Every pgoutput message. */
export type PgOutputMessage =
  | Begin
  | Commit
  | Origin
  | Relation
  | Type
  | Insert
  | Update
  | Delete
  | Truncate
  | Message
  | StreamStart
  | StreamStop
  | StreamCommit
  | StreamAbort
  | BeginPrepare
  | Prepare
  | CommitPrepared
  | RollbackPrepared
  | StreamPrepare
