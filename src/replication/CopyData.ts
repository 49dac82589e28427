/**
 * The streaming replication protocol's messages inside CopyData (after START_REPLICATION's
 * CopyBothResponse), both directions.
 *
 * Does: decode the server's XLogData ('w': WAL start, WAL end, send time, data) and Primary
 * keepalive ('k': WAL end, send time, reply requested); encode the client's Standby status update
 * ('r': written / flushed / applied LSNs, clock, reply requested) and Hot standby feedback ('h':
 * clock, xmin and catalog xmin with their epochs), as CopyData payloads or as whole CopyData
 * frames into a protocol Writer; decode those two as well (for fake servers and tests).
 * Does NOT: decode the XLogData payload (pgoutput.ts does, for logical slots), frame CopyData
 * (the protocol Framer and Backend decoder give the CopyData body), decide when to reply, or throw.
 *
 * Invariants: decoders return a message or a ProtocolError and read only their input; XLogData's
 * `data` is a view of the input; encoders validate every field (LSNs unsigned 64-bit, clocks
 * signed 64-bit, xids unsigned 32-bit) and return a ProtocolError instead of writing a bad value.
 *
 * @see https://www.postgresql.org/docs/current/protocol-replication.html
 */
import { isUint32 } from "../protocol/EncodeSupport.ts"
import { describeType, ProtocolError } from "../protocol/ProtocolError.ts"
import { FrontendType } from "../protocol/Types.ts"
import type { Writer } from "../protocol/Writer.ts"
import { isLsn, type Lsn, type PgTimestamp } from "./Lsn.ts"
import { ReplicationReader } from "./ReplicationReader.ts"

/** 'w': WAL data; for a logical slot `data` is one output plugin message (e.g. pgoutput). */
export interface XLogData {
  readonly _tag: "XLogData"
  /** Where `data` starts in the WAL. */
  readonly walStart: Lsn
  /** The current end of WAL on the server. */
  readonly walEnd: Lsn
  readonly sendTime: PgTimestamp
  readonly data: Uint8Array
}

/** 'k': a keepalive; when `replyRequested`, answer with a Standby status update at once. */
export interface PrimaryKeepalive {
  readonly _tag: "PrimaryKeepalive"
  readonly walEnd: Lsn
  readonly sendTime: PgTimestamp
  readonly replyRequested: boolean
}

/** What the server sends inside CopyData during replication. */
export type ReplicationServerMessage = XLogData | PrimaryKeepalive

/**
 * 'r': the client's progress. Each LSN is the last WAL byte + 1 written, flushed and applied
 * (for a logical slot, `flushed` is what the slot may forget: the acknowledgement); `0n` means
 * unknown. `clock` is the client's time (Lsn.ts builds it from `Date.now()`).
 */
export interface StandbyStatusUpdate {
  readonly _tag: "StandbyStatusUpdate"
  readonly written: Lsn
  readonly flushed: Lsn
  readonly applied: Lsn
  readonly clock: PgTimestamp
  readonly replyRequested: boolean
}

/** 'h': hot standby feedback; all-zero xmin fields turn the feedback off. */
export interface HotStandbyFeedback {
  readonly _tag: "HotStandbyFeedback"
  readonly clock: PgTimestamp
  readonly xmin: number
  readonly xminEpoch: number
  readonly catalogXmin: number
  readonly catalogXminEpoch: number
}

/** What the client sends inside CopyData during replication. */
export type ReplicationClientMessage = StandbyStatusUpdate | HotStandbyFeedback

const XLOG_DATA = 0x77 // w
const KEEPALIVE = 0x6b // k
const STATUS_UPDATE = 0x72 // r
const FEEDBACK = 0x68 // h

/** One reader for all decoding: decoding is synchronous and never re-entered. */
const r = new ReplicationReader()

const readBoolean = (what: string): boolean => {
  const b = r.uint8(what)
  if (b > 1) r.fail("InvalidValue", `${what} ${b} is not 0 or 1`)
  return b === 1
}

const unknown = (type: number | undefined, side: string): ProtocolError =>
  type === undefined
    ? new ProtocolError("Truncated", `replication ${side} message: empty CopyData`)
    : new ProtocolError(
        "UnknownMessage",
        `replication ${side} message: unknown type ${describeType(type)}`,
        type
      )

/** Decodes the body of a CopyData the server sent during replication. */
export const decodeReplicationServerMessage = (
  data: Uint8Array
): ReplicationServerMessage | ProtocolError => {
  const type = data[0]
  if (type === XLOG_DATA) {
    r.start(data.subarray(1), type, `replication XLogData (${describeType(type)})`)
    const walStart = r.uint64("the WAL start")
    const walEnd = r.uint64("the WAL end")
    const sendTime = r.int64("the send time")
    const message: XLogData = { _tag: "XLogData", walStart, walEnd, sendTime, data: r.rest() }
    return r.error ?? message
  }
  if (type === KEEPALIVE) {
    r.start(data.subarray(1), type, `replication Primary keepalive (${describeType(type)})`)
    const walEnd = r.uint64("the WAL end")
    const sendTime = r.int64("the send time")
    const replyRequested = readBoolean("the reply-requested flag")
    return r.done() ?? { _tag: "PrimaryKeepalive", walEnd, sendTime, replyRequested }
  }
  return unknown(type, "server")
}

/** Decodes the body of a CopyData a client sent during replication. */
export const decodeReplicationClientMessage = (
  data: Uint8Array
): ReplicationClientMessage | ProtocolError => {
  const type = data[0]
  if (type === STATUS_UPDATE) {
    r.start(data.subarray(1), type, `replication Standby status update (${describeType(type)})`)
    const written = r.uint64("the written LSN")
    const flushed = r.uint64("the flushed LSN")
    const applied = r.uint64("the applied LSN")
    const clock = r.int64("the clock")
    const replyRequested = readBoolean("the reply-requested flag")
    return r.done() ?? { _tag: "StandbyStatusUpdate", written, flushed, applied, clock, replyRequested }
  }
  if (type === FEEDBACK) {
    r.start(data.subarray(1), type, `replication Hot standby feedback (${describeType(type)})`)
    const clock = r.int64("the clock")
    const xmin = r.uint32("the xmin")
    const xminEpoch = r.uint32("the xmin epoch")
    const catalogXmin = r.uint32("the catalog xmin")
    const catalogXminEpoch = r.uint32("the catalog xmin epoch")
    const message: HotStandbyFeedback = {
      _tag: "HotStandbyFeedback",
      clock,
      xmin,
      xminEpoch,
      catalogXmin,
      catalogXminEpoch
    }
    return r.done() ?? message
  }
  return unknown(type, "client")
}

const invalid = (type: number, what: string): ProtocolError =>
  new ProtocolError("InvalidValue", `replication ${what}`, type)

const isInt64 = (v: bigint): boolean => BigInt.asIntN(64, v) === v

const checkClient = (m: ReplicationClientMessage): ProtocolError | undefined => {
  if (m._tag === "StandbyStatusUpdate") {
    const u = m
    for (const [what, lsn] of [
      ["written", u.written],
      ["flushed", u.flushed],
      ["applied", u.applied]
    ] as const) {
      if (!isLsn(lsn))
        return invalid(STATUS_UPDATE, `Standby status update: the ${what} LSN ${lsn} is not 0..2^64-1`)
    }
    if (!isInt64(u.clock))
      return invalid(STATUS_UPDATE, `Standby status update: the clock ${u.clock} is not an Int64`)
    return undefined
  }
  const f = m
  if (!isInt64(f.clock))
    return invalid(FEEDBACK, `Hot standby feedback: the clock ${f.clock} is not an Int64`)
  for (const [what, xid] of [
    ["xmin", f.xmin],
    ["xmin epoch", f.xminEpoch],
    ["catalog xmin", f.catalogXmin],
    ["catalog xmin epoch", f.catalogXminEpoch]
  ] as const) {
    if (!isUint32(xid)) return invalid(FEEDBACK, `Hot standby feedback: the ${what} ${xid} is not 0..2^32-1`)
  }
  return undefined
}

const putInt64 = (view: DataView, at: number, v: bigint): void => view.setBigUint64(at, BigInt.asUintN(64, v))

/** The payload bytes of a client message (34 bytes for 'r', 25 for 'h'). */
const payload = (m: ReplicationClientMessage): Uint8Array => {
  if (m._tag === "StandbyStatusUpdate") {
    const out = new Uint8Array(34)
    const view = new DataView(out.buffer)
    out[0] = STATUS_UPDATE
    putInt64(view, 1, m.written)
    putInt64(view, 9, m.flushed)
    putInt64(view, 17, m.applied)
    putInt64(view, 25, m.clock)
    out[33] = m.replyRequested ? 1 : 0
    return out
  }
  const out = new Uint8Array(25)
  const view = new DataView(out.buffer)
  out[0] = FEEDBACK
  putInt64(view, 1, m.clock)
  view.setUint32(9, m.xmin)
  view.setUint32(13, m.xminEpoch)
  view.setUint32(17, m.catalogXmin)
  view.setUint32(21, m.catalogXminEpoch)
  return out
}

/** Encodes a Standby status update or Hot standby feedback as a CopyData payload. */
export const encodeReplicationClientMessage = (m: ReplicationClientMessage): Uint8Array | ProtocolError =>
  checkClient(m) ?? payload(m)

/** Writes a Standby status update or Hot standby feedback as one whole CopyData frame ('d'). */
export const writeReplicationClientMessage = (
  w: Writer,
  m: ReplicationClientMessage
): ProtocolError | undefined => {
  const error = checkClient(m)
  if (error !== undefined) return error
  w.begin(FrontendType.CopyData)
  w.bytes(payload(m))
  return w.end()
}
