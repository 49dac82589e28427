/**
 * The pgoutput decoder: one logical replication message (protocol versions 1–4) → `PgOutputMessage`
 * (types in PgOutputMessage.ts, re-exported here).
 *
 * Does: decode every message of the spec (Begin, Commit, Origin, Relation, Type, Insert, Update,
 * Delete, Truncate, Message, the streaming messages of protocol 2+, the two-phase messages, and
 * Stream Abort's abort LSN and time of protocol 4 with parallel streaming), checking every length,
 * count, NUL terminator, enumeration and that no bytes are left over. The version, whether the
 * message is inside a stream block (the xid prefix of streamed row messages) and whether
 * streaming is 'parallel' are explicit inputs; {@link PgOutputDecoder} tracks the stream
 * block from Stream Start / Stream Stop for callers that decode a whole sequence.
 * Does NOT: frame CopyData (CopyData.ts unwraps XLogData), check the order of messages, interpret
 * column values (raw bytes; the Relation message gives their type OIDs and modifiers), or throw.
 *
 * Invariants: `decodePgOutput` returns either a message or a ProtocolError naming the message and
 * the field, never reads outside its input; byte fields (column values, Message content) are views
 * of the input. The streaming messages are "UnknownMessage" at protocol 1 (the server refuses
 * `streaming` below 2); the two-phase ones are accepted at every version (see KINDS).
 *
 * @see https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 * @see https://www.postgresql.org/docs/current/protocol-logical-replication.html
 */
export type * from "./PgOutputMessage.ts"

import { describeType, ProtocolError } from "../protocol/ProtocolError.ts"
import type { Oid } from "../protocol/Types.ts"
import type {
  OldTuple,
  PgOutputMessage,
  PgOutputVersion,
  PreparedTransaction,
  RelationColumn,
  ReplicaIdentity,
  StreamStop,
  TupleColumn,
  TupleData,
  Xid
} from "./PgOutputMessage.ts"
import { ReplicationReader } from "./ReplicationReader.ts"

/** What a message's layout depends on besides its bytes. */
export interface PgOutputContext {
  /** The `proto_version` the slot was started with. */
  readonly protocolVersion: PgOutputVersion
  /** Between Stream Start and Stream Stop: row messages carry the transaction's xid first. */
  readonly inStream: boolean
  /** `streaming` 'parallel' (protocol 4): Stream Abort carries the abort LSN and time. */
  readonly parallelStreaming?: boolean
}

/** Message type letters → name and the first protocol version that has the message. */
const KINDS: Readonly<Record<string, readonly [name: string, since: PgOutputVersion]>> = {
  B: ["Begin", 1],
  C: ["Commit", 1],
  O: ["Origin", 1],
  R: ["Relation", 1],
  Y: ["Type", 1],
  I: ["Insert", 1],
  U: ["Update", 1],
  D: ["Delete", 1],
  T: ["Truncate", 1],
  M: ["Message", 1],
  S: ["Stream Start", 2],
  E: ["Stream Stop", 2],
  c: ["Stream Commit", 2],
  A: ["Stream Abort", 2],
  // Two-phase messages: protocol 3 is needed to ask for them (`two_phase`), but a slot created with
  // two_phase sends them at every version (seen on PG15 and PG18 through the SQL functions).
  b: ["Begin Prepare", 1],
  P: ["Prepare", 1],
  K: ["Commit Prepared", 1],
  r: ["Rollback Prepared", 1],
  p: ["Stream Prepare", 2]
}

const TUPLE_NEW = 0x4e // N
const TUPLE_KEY = 0x4b // K
const TUPLE_OLD = 0x4f // O

const NULL_COLUMN: TupleColumn = Object.freeze({ kind: "null" })
const UNCHANGED_COLUMN: TupleColumn = Object.freeze({ kind: "unchanged" })
const STREAM_STOP: StreamStop = Object.freeze({ _tag: "StreamStop" })

/** One reader for all decoding: decoding is synchronous and never re-entered. */
const r = new ReplicationReader()

const finish = (message: PgOutputMessage): PgOutputMessage | ProtocolError => r.done() ?? message

/** The xid prefix of row-level messages inside a stream block. */
const streamXid = (context: PgOutputContext): Xid | undefined =>
  context.inStream ? r.uint32("the transaction ID of the streamed transaction") : undefined

/** A count of items of at least `minBytes` each: must fit in what is left of the body. */
const checkCount = (n: number, minBytes: number, what: string): void => {
  if (r.error === undefined && n * minBytes > r.remaining)
    r.fail("InvalidLength", `${what} ${n} does not fit in the ${r.remaining} bytes left`)
}

const readTuple = (what: string): TupleData => {
  const n = r.uint16(`the column count of ${what}`)
  checkCount(n, 1, `the column count of ${what}`)
  const columns: Array<TupleColumn> = []
  for (let i = 0; i < n && r.error === undefined; i++) {
    const kind = r.uint8(`the kind of column ${i + 1} of ${what}`)
    if (kind === 0x6e) columns.push(NULL_COLUMN)
    else if (kind === 0x75) columns.push(UNCHANGED_COLUMN)
    else if (kind === 0x74 || kind === 0x62) {
      const length = r.int32(`the length of column ${i + 1} of ${what}`)
      if (length < 0) r.fail("InvalidLength", `column ${i + 1} of ${what} has negative length ${length}`)
      const bytes = r.bytes(length, `column ${i + 1} of ${what}`)
      columns.push(kind === 0x74 ? { kind: "text", bytes } : { kind: "binary", bytes })
    } else if (r.error === undefined) {
      r.fail(
        "InvalidValue",
        `column ${i + 1} of ${what} has kind ${describeType(kind)}, not 'n', 'u', 't' or 'b'`
      )
    }
  }
  return columns
}

const readOld = (marker: number): OldTuple => ({
  kind: marker === TUPLE_KEY ? "key" : "full",
  columns: readTuple(marker === TUPLE_KEY ? "the old key" : "the old row")
})

const expectMarker = (marker: number, allowed: string, ok: boolean): void => {
  if (!ok && r.error === undefined)
    r.fail("InvalidValue", `tuple marker ${describeType(marker)} is not ${allowed}`)
}

const REPLICA_IDENTITIES = "dnfi"

const decodeRelation = (context: PgOutputContext): PgOutputMessage | ProtocolError => {
  const xid = streamXid(context)
  const relationOid = r.uint32("the relation OID")
  const namespace = r.cstring("the namespace")
  const name = r.cstring("the relation name")
  const identity = r.uint8("the replica identity")
  if (r.error === undefined && !REPLICA_IDENTITIES.includes(String.fromCharCode(identity)))
    r.fail("InvalidValue", `replica identity ${describeType(identity)} is not 'd', 'n', 'f' or 'i'`)
  const n = r.uint16("the column count")
  checkCount(n, 10, "the column count")
  const columns: Array<RelationColumn> = []
  for (let i = 0; i < n && r.error === undefined; i++) {
    const flags = r.uint8(`the flags of column ${i + 1}`)
    const columnName = r.cstring(`the name of column ${i + 1}`)
    const typeOid = r.uint32(`the type OID of column ${i + 1}`)
    const typeModifier = r.int32(`the type modifier of column ${i + 1}`)
    columns.push({ flags, isKey: (flags & 1) !== 0, name: columnName, typeOid, typeModifier })
  }
  const replicaIdentity = String.fromCharCode(identity) as ReplicaIdentity
  return finish({ _tag: "Relation", xid, relationOid, namespace, name, replicaIdentity, columns })
}

const decodeChange = (type: number, context: PgOutputContext): PgOutputMessage | ProtocolError => {
  const xid = streamXid(context)
  const relationOid = r.uint32("the relation OID")
  const marker = r.uint8("the tuple marker")
  if (type === 0x49) {
    expectMarker(marker, "'N'", marker === TUPLE_NEW)
    return finish({ _tag: "Insert", xid, relationOid, row: readTuple("the new row") })
  }
  const hasOld = marker === TUPLE_KEY || marker === TUPLE_OLD
  if (type === 0x44) {
    expectMarker(marker, "'K' or 'O'", hasOld)
    return finish({ _tag: "Delete", xid, relationOid, old: readOld(marker) })
  }
  const old = hasOld ? readOld(marker) : undefined
  const next = hasOld ? r.uint8("the new tuple marker") : marker
  expectMarker(next, hasOld ? "'N'" : "'K', 'O' or 'N'", next === TUPLE_NEW)
  return finish({ _tag: "Update", xid, relationOid, old, row: readTuple("the new row") })
}

const decodeTruncate = (context: PgOutputContext): PgOutputMessage | ProtocolError => {
  const xid = streamXid(context)
  const n = r.int32("the relation count")
  if (n < 0) r.fail("InvalidLength", `relation count ${n} is negative`)
  const options = r.uint8("the options")
  checkCount(n, 4, "the relation count")
  const relationOids: Array<Oid> = []
  for (let i = 0; i < n && r.error === undefined; i++) relationOids.push(r.uint32("a relation OID"))
  const cascade = (options & 1) !== 0
  const restartIdentity = (options & 2) !== 0
  return finish({ _tag: "Truncate", xid, options, cascade, restartIdentity, relationOids })
}

const decodeMessage = (context: PgOutputContext): PgOutputMessage | ProtocolError => {
  const xid = streamXid(context)
  const flags = r.uint8("the flags")
  const lsn = r.uint64("the LSN")
  const prefix = r.cstring("the prefix")
  const length = r.int32("the content length")
  if (length < 0) r.fail("InvalidLength", `content length ${length} is negative`)
  const content = r.bytes(length, "the content")
  return finish({ _tag: "Message", xid, flags, transactional: (flags & 1) !== 0, lsn, prefix, content })
}

const decodeStreamAbort = (context: PgOutputContext): PgOutputMessage | ProtocolError => {
  const xid = r.uint32("the transaction ID")
  const subXid = r.uint32("the subtransaction ID")
  const parallel = context.parallelStreaming === true
  const abortLsn = parallel ? r.uint64("the abort LSN") : undefined
  const abortTime = parallel ? r.int64("the abort timestamp") : undefined
  return finish({ _tag: "StreamAbort", xid, subXid, abortLsn, abortTime })
}

/** LSN, end LSN, time, xid and GID: Begin Prepare, Prepare, Stream Prepare, Commit Prepared. */
const readPrepared = (what: "prepare" | "commit"): PreparedTransaction => {
  const prepareLsn = r.uint64(`the ${what} LSN`)
  const endLsn = r.uint64("the end LSN")
  const prepareTime = r.int64(`the ${what} timestamp`)
  const xid = r.uint32("the transaction ID")
  return { prepareLsn, endLsn, prepareTime, xid, gid: r.cstring("the GID") }
}

const decodeTwoPhase = (type: number): PgOutputMessage | ProtocolError => {
  if (type === 0x62) return finish({ _tag: "BeginPrepare", ...readPrepared("prepare") })
  const flags = r.uint8("the flags")
  switch (type) {
    case 0x50:
      return finish({ _tag: "Prepare", flags, ...readPrepared("prepare") })
    case 0x70:
      return finish({ _tag: "StreamPrepare", flags, ...readPrepared("prepare") })
    case 0x4b: {
      const { prepareLsn: commitLsn, endLsn, prepareTime: commitTime, xid, gid } = readPrepared("commit")
      return finish({ _tag: "CommitPrepared", flags, commitLsn, endLsn, commitTime, xid, gid })
    }
    default: {
      const prepareEndLsn = r.uint64("the prepare end LSN")
      const rollbackEndLsn = r.uint64("the rollback end LSN")
      const prepareTime = r.int64("the prepare timestamp")
      const rollbackTime = r.int64("the rollback timestamp")
      const xid = r.uint32("the transaction ID")
      const gid = r.cstring("the GID")
      return finish({
        _tag: "RollbackPrepared",
        flags,
        prepareEndLsn,
        rollbackEndLsn,
        prepareTime,
        rollbackTime,
        xid,
        gid
      })
    }
  }
}

const decodeTransaction = (type: number): PgOutputMessage | ProtocolError => {
  switch (type) {
    case 0x42: {
      const finalLsn = r.uint64("the final LSN")
      const commitTime = r.int64("the commit timestamp")
      return finish({ _tag: "Begin", finalLsn, commitTime, xid: r.uint32("the transaction ID") })
    }
    case 0x43: {
      const flags = r.uint8("the flags")
      const commitLsn = r.uint64("the commit LSN")
      const endLsn = r.uint64("the end LSN")
      return finish({ _tag: "Commit", flags, commitLsn, endLsn, commitTime: r.int64("the commit timestamp") })
    }
    case 0x4f: {
      const originLsn = r.uint64("the origin commit LSN")
      return finish({ _tag: "Origin", originLsn, name: r.cstring("the origin name") })
    }
    case 0x53: {
      const xid = r.uint32("the transaction ID")
      const first = r.uint8("the first-segment flag")
      if (first > 1) r.fail("InvalidValue", `the first-segment flag ${first} is not 0 or 1`)
      return finish({ _tag: "StreamStart", xid, firstSegment: first === 1 })
    }
    case 0x45:
      return finish(STREAM_STOP)
    default: {
      const xid = r.uint32("the transaction ID")
      const flags = r.uint8("the flags")
      const commitLsn = r.uint64("the commit LSN")
      const endLsn = r.uint64("the end LSN")
      const commitTime = r.int64("the commit timestamp")
      return finish({ _tag: "StreamCommit", xid, flags, commitLsn, endLsn, commitTime })
    }
  }
}

const contextError = (context: PgOutputContext): ProtocolError | undefined => {
  const v = context.protocolVersion
  if (v !== 1 && v !== 2 && v !== 3 && v !== 4)
    return new ProtocolError("InvalidValue", `pgoutput: protocol version ${String(v)} is not 1, 2, 3 or 4`)
  if (context.inStream && v < 2)
    return new ProtocolError("InvalidValue", "pgoutput: stream blocks need protocol version 2 or later")
  if (context.parallelStreaming === true && v < 4)
    return new ProtocolError("InvalidValue", "pgoutput: parallel streaming needs protocol version 4")
  return undefined
}

/**
 * Decodes one pgoutput message: `data` is the whole message, type byte first (the payload of an
 * XLogData, or one `data` value of `pg_logical_slot_peek_binary_changes`).
 */
export const decodePgOutput = (
  data: Uint8Array,
  context: PgOutputContext
): PgOutputMessage | ProtocolError => {
  const invalid = contextError(context)
  if (invalid !== undefined) return invalid
  if (data.length === 0) return new ProtocolError("Truncated", "pgoutput: empty message")
  const type = data[0]!
  const kind = KINDS[String.fromCharCode(type)] // single letters: no Object.prototype key matches
  if (kind === undefined)
    return new ProtocolError("UnknownMessage", `pgoutput: unknown message type ${describeType(type)}`, type)
  const [name, since] = kind
  const subject = `pgoutput ${name} (${describeType(type)})`
  if (context.protocolVersion < since) {
    const needs = `needs protocol version ${since}, not ${context.protocolVersion}`
    return new ProtocolError("UnknownMessage", `${subject}: ${needs}`, type)
  }
  r.start(data.subarray(1), type, subject)
  switch (type) {
    case 0x52:
      return decodeRelation(context)
    case 0x59: {
      const xid = streamXid(context)
      const typeOid = r.uint32("the type OID")
      const namespace = r.cstring("the namespace")
      return finish({ _tag: "Type", xid, typeOid, namespace, name: r.cstring("the type name") })
    }
    case 0x49:
    case 0x55:
    case 0x44:
      return decodeChange(type, context)
    case 0x54:
      return decodeTruncate(context)
    case 0x4d:
      return decodeMessage(context)
    case 0x41:
      return decodeStreamAbort(context)
    case 0x62:
    case 0x50:
    case 0x4b:
    case 0x72:
    case 0x70:
      return decodeTwoPhase(type)
    default:
      return decodeTransaction(type)
  }
}

/**
 * Decodes a sequence of messages of one slot, tracking the stream block: a message after Stream
 * Start and before Stream Stop is decoded with `inStream` (an error leaves the state unchanged).
 */
export class PgOutputDecoder {
  readonly protocolVersion: PgOutputVersion
  readonly parallelStreaming: boolean
  /** Inside a stream block (after Stream Start, before Stream Stop). */
  inStream = false

  constructor(options: { readonly protocolVersion: PgOutputVersion; readonly parallelStreaming?: boolean }) {
    this.protocolVersion = options.protocolVersion
    this.parallelStreaming = options.parallelStreaming ?? false
  }

  decode(data: Uint8Array): PgOutputMessage | ProtocolError {
    const message = decodePgOutput(data, this)
    if (message instanceof ProtocolError) return message
    if (message._tag === "StreamStart") this.inStream = true
    else if (message._tag === "StreamStop") this.inStream = false
    return message
  }
}
