/**
 * Test helpers for replication bytes: a big-endian builder with Int64 and TupleData, an
 * independent pgoutput encoder (written from the spec, not from src/replication, so the decoder is
 * not checked against itself), hex and text helpers, and a deterministic random source.
 */

import type { PgOutputMessage, TupleColumn, TupleData } from "../../../src/replication/PgOutputMessage.ts"
import type { PgOutputContext } from "../../../src/replication/pgoutput.ts"
import { Bytes } from "../../protocol/support/bytes.ts"
import { rngFrom } from "../../reliability/support.ts"

export { concat, fromHex, toHex, utf8 } from "../../protocol/support/bytes.ts"

/** Bytes with 64-bit fields and a finishing `build()`. */
export class Wire extends Bytes {
  u64(v: bigint): this {
    const u = BigInt.asUintN(64, v)
    return this.i32(Number(u >> 32n)).i32(Number(u & 0xffff_ffffn))
  }
  /** A TupleData: Int16 count, then per column its kind and, for 't'/'b', Int32 length + bytes. */
  tuple(columns: TupleData): this {
    this.i16(columns.length)
    for (const c of columns) {
      if (c.kind === "null") this.u8(0x6e)
      else if (c.kind === "unchanged") this.u8(0x75)
      else
        this.u8(c.kind === "text" ? 0x74 : 0x62)
          .i32(c.bytes.length)
          .raw(c.bytes)
    }
    return this
  }
  build(): Uint8Array {
    return Uint8Array.from(this.data)
  }
}

/** A message: type letter, then the fields written by `body`. */
export const pgoutput = (type: string, body: (w: Wire) => Wire = (w) => w): Uint8Array =>
  body(new Wire().u8(type.charCodeAt(0))).build()

export const textColumn = (s: string): TupleColumn => ({ kind: "text", bytes: new TextEncoder().encode(s) })
export const binaryColumn = (bytes: ReadonlyArray<number>): TupleColumn => ({
  kind: "binary",
  bytes: Uint8Array.from(bytes)
})
export const NULL: TupleColumn = { kind: "null" }
export const UNCHANGED: TupleColumn = { kind: "unchanged" }

/** A column as the test reads it: text, null, "<unchanged>" or "<binary hex>". */
export const show = (c: TupleColumn): string | null => {
  switch (c.kind) {
    case "null":
      return null
    case "unchanged":
      return "<unchanged>"
    case "text":
      return new TextDecoder().decode(c.bytes)
    case "binary":
      return `<binary ${Array.from(c.bytes, (b) => b.toString(16).padStart(2, "0")).join("")}>`
  }
}

const xidPrefix = (w: Wire, xid: number | undefined): Wire => (xid === undefined ? w : w.i32(xid))

/** Encodes a message from its decoded form, per the spec (the inverse of decodePgOutput). */
export const encodePgOutput = (m: PgOutputMessage, context: PgOutputContext): Uint8Array => {
  switch (m._tag) {
    case "Begin":
      return pgoutput("B", (w) => w.u64(m.finalLsn).u64(m.commitTime).i32(m.xid))
    case "Commit":
      return pgoutput("C", (w) => w.u8(m.flags).u64(m.commitLsn).u64(m.endLsn).u64(m.commitTime))
    case "Origin":
      return pgoutput("O", (w) => w.u64(m.originLsn).cstr(m.name))
    case "Relation":
      return pgoutput("R", (w) => {
        xidPrefix(w, m.xid).i32(m.relationOid).cstr(m.namespace).cstr(m.name)
        w.u8(m.replicaIdentity.charCodeAt(0)).i16(m.columns.length)
        for (const c of m.columns) w.u8(c.flags).cstr(c.name).i32(c.typeOid).i32(c.typeModifier)
        return w
      })
    case "Type":
      return pgoutput("Y", (w) => xidPrefix(w, m.xid).i32(m.typeOid).cstr(m.namespace).cstr(m.name))
    case "Insert":
      return pgoutput("I", (w) => xidPrefix(w, m.xid).i32(m.relationOid).u8(0x4e).tuple(m.row))
    case "Update":
      return pgoutput("U", (w) => {
        xidPrefix(w, m.xid).i32(m.relationOid)
        if (m.old !== undefined) w.u8(m.old.kind === "key" ? 0x4b : 0x4f).tuple(m.old.columns)
        return w.u8(0x4e).tuple(m.row)
      })
    case "Delete":
      return pgoutput("D", (w) =>
        xidPrefix(w, m.xid)
          .i32(m.relationOid)
          .u8(m.old.kind === "key" ? 0x4b : 0x4f)
          .tuple(m.old.columns)
      )
    case "Truncate":
      return pgoutput("T", (w) => {
        xidPrefix(w, m.xid).i32(m.relationOids.length).u8(m.options)
        for (const oid of m.relationOids) w.i32(oid)
        return w
      })
    case "Message":
      return pgoutput("M", (w) =>
        xidPrefix(w, m.xid).u8(m.flags).u64(m.lsn).cstr(m.prefix).i32(m.content.length).raw(m.content)
      )
    case "StreamStart":
      return pgoutput("S", (w) => w.i32(m.xid).u8(m.firstSegment ? 1 : 0))
    case "StreamStop":
      return pgoutput("E")
    case "StreamCommit":
      return pgoutput("c", (w) => w.i32(m.xid).u8(m.flags).u64(m.commitLsn).u64(m.endLsn).u64(m.commitTime))
    case "StreamAbort":
      return pgoutput("A", (w) => {
        w.i32(m.xid).i32(m.subXid)
        if (context.parallelStreaming === true) w.u64(m.abortLsn ?? 0n).u64(m.abortTime ?? 0n)
        return w
      })
    case "BeginPrepare":
      return pgoutput("b", (w) => w.u64(m.prepareLsn).u64(m.endLsn).u64(m.prepareTime).i32(m.xid).cstr(m.gid))
    case "Prepare":
    case "StreamPrepare":
      return pgoutput(m._tag === "Prepare" ? "P" : "p", (w) =>
        w.u8(m.flags).u64(m.prepareLsn).u64(m.endLsn).u64(m.prepareTime).i32(m.xid).cstr(m.gid)
      )
    case "CommitPrepared":
      return pgoutput("K", (w) =>
        w.u8(m.flags).u64(m.commitLsn).u64(m.endLsn).u64(m.commitTime).i32(m.xid).cstr(m.gid)
      )
    case "RollbackPrepared":
      return pgoutput("r", (w) =>
        w
          .u8(m.flags)
          .u64(m.prepareEndLsn)
          .u64(m.rollbackEndLsn)
          .u64(m.prepareTime)
          .u64(m.rollbackTime)
          .i32(m.xid)
          .cstr(m.gid)
      )
  }
}

/** A deterministic random source over the reliability suites' seeded PRNG. */
export const rng = (seed: number) => {
  const next = rngFrom(seed)
  const int = (n: number) => Math.floor(next() * n)
  return {
    int,
    pick: <T>(xs: ReadonlyArray<T>): T => xs[int(xs.length)]!,
    bytes: (n: number) => Uint8Array.from({ length: n }, () => int(256))
  }
}
