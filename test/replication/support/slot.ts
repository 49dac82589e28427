/**
 * Reading a real logical slot through SQL for the integration tests: peek its pgoutput messages
 * (`pg_logical_slot_peek_binary_changes`; its bytea column decodes to a Uint8Array), decode them
 * all, and summarize them as plain data (relation names instead of OIDs, column values as text)
 * so a test can assert a whole change stream with one `toEqual`.
 */
import { Effect } from "effect"
import type { ExpertConnection } from "../../../src/connection/operations.ts"
import { ProtocolError } from "../../../src/protocol/ProtocolError.ts"
import { formatLsn, pgTimestampToDate } from "../../../src/replication/Lsn.ts"
import type { PgOutputMessage, PgOutputVersion, TupleData } from "../../../src/replication/PgOutputMessage.ts"
import { PgOutputDecoder } from "../../../src/replication/pgoutput.ts"
import { show } from "./wire.ts"

/**
 * Server settings for the slot suites. synchronous_commit on: the peek functions read up to the
 * flushed WAL, and the harness turns it off. 64kB (the minimum) makes large transactions stream.
 */
export const slotSettings = {
  wal_level: "logical",
  logical_decoding_work_mem: "64kB",
  max_prepared_transactions: 10,
  synchronous_commit: true
}

/** Runs statements one after the other. */
export const run = (conn: ExpertConnection, ...statements: ReadonlyArray<string>) =>
  Effect.forEach(statements, (sql) => conn.query(sql), { discard: true })

/** Fails the test unless `time` (a replication timestamp) is within minutes of now. */
export const assertRecent = (time: bigint): void => {
  const age = Date.now() - pgTimestampToDate(time).getTime()
  if (!(age >= -60_000 && age < 600_000)) throw new Error(`timestamp ${age} ms ago`)
}

/** One row of the peek function: the change's LSN and xid as text, the message bytes. */
export interface Change {
  readonly lsn: string
  readonly xid: string
  readonly data: Uint8Array
}

/** The decoded message next to its row. */
export interface Decoded extends Change {
  readonly message: PgOutputMessage
}

export interface PeekOptions {
  readonly protocolVersion: PgOutputVersion
  /** "on", "parallel" (protocol 4) or off when absent. */
  readonly streaming?: "on" | "parallel"
  readonly binary?: boolean
  readonly twoPhase?: boolean
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`

/** Peeks every pending message of `slot` (publication `pub`, with logical decoding messages). */
export const peek = (conn: ExpertConnection, slot: string, options: PeekOptions) => {
  const args = [
    "proto_version",
    String(options.protocolVersion),
    "publication_names",
    "pub",
    "messages",
    "true"
  ]
  if (options.streaming !== undefined) args.push("streaming", options.streaming)
  if (options.binary === true) args.push("binary", "true")
  if (options.twoPhase === true) args.push("two_phase", "on")
  const sql =
    `select lsn::text, xid::text, data from pg_logical_slot_peek_binary_changes(${literal(slot)}, NULL, NULL, ` +
    `${args.map(literal).join(", ")})`
  return Effect.map(conn.query(sql), (result) =>
    result.rows.map(
      ({ lsn, xid, data }): Change => ({
        lsn: lsn as string,
        xid: xid as string,
        data: data as Uint8Array
      })
    )
  )
}

/** Decodes a slot's messages in order (tracking stream blocks); a decoding error fails the test. */
export const decodeAll = (changes: ReadonlyArray<Change>, options: PeekOptions): Array<Decoded> => {
  const decoder = new PgOutputDecoder({
    protocolVersion: options.protocolVersion,
    parallelStreaming: options.streaming === "parallel"
  })
  return changes.map((change, i) => {
    const message = decoder.decode(change.data)
    if (message instanceof ProtocolError)
      throw new Error(`message ${i}: ${message.reason}: ${message.message}`)
    return { ...change, message }
  })
}

export const peekDecoded = (conn: ExpertConnection, slot: string, options: PeekOptions) =>
  Effect.map(peek(conn, slot, options), (changes) => decodeAll(changes, options))

const rowText = (row: TupleData) => row.map(show)

/** Plain data for a message: relation names for OIDs (from earlier Relation messages), values as text. */
export const summarize = (messages: ReadonlyArray<PgOutputMessage>): Array<unknown> => {
  const names = new Map<number, string>()
  const nameOf = (oid: number) => names.get(oid) ?? `?${oid}`
  return messages.map((m) => {
    switch (m._tag) {
      case "Relation":
        names.set(m.relationOid, m.name)
        return {
          Relation: `${m.namespace}.${m.name}`,
          identity: m.replicaIdentity,
          columns: m.columns.map((c) => `${c.isKey ? "*" : ""}${c.name} ${c.typeOid} ${c.typeModifier}`)
        }
      case "Type":
        return { Type: `${m.namespace}.${m.name}` }
      case "Insert":
        return { Insert: nameOf(m.relationOid), row: rowText(m.row) }
      case "Update":
        return {
          Update: nameOf(m.relationOid),
          ...(m.old === undefined ? {} : { [m.old.kind]: rowText(m.old.columns) }),
          row: rowText(m.row)
        }
      case "Delete":
        return { Delete: nameOf(m.relationOid), [m.old.kind]: rowText(m.old.columns) }
      case "Truncate":
        return {
          Truncate: m.relationOids.map(nameOf),
          cascade: m.cascade,
          restartIdentity: m.restartIdentity
        }
      case "Message":
        return {
          Message: m.prefix,
          transactional: m.transactional,
          content: Array.from(m.content, (b) => b.toString(16).padStart(2, "0")).join("")
        }
      case "Origin":
        return { Origin: m.name, lsn: formatLsn(m.originLsn) }
      case "BeginPrepare":
      case "Prepare":
      case "CommitPrepared":
      case "RollbackPrepared":
      case "StreamPrepare":
        return { [m._tag]: m.gid }
      default:
        return m._tag
    }
  })
}
