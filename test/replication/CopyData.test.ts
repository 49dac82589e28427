/**
 * The replication CopyData messages (XLogData, Primary keepalive, Standby status update, Hot
 * standby feedback) with hand-built bytes, their errors, and the LSN and timestamp helpers.
 */
import { describe, expect, it } from "vitest"
import { ProtocolError } from "../../src/protocol/ProtocolError.ts"
import { Writer } from "../../src/protocol/Writer.ts"
import {
  decodeReplicationClientMessage,
  decodeReplicationServerMessage,
  encodeReplicationClientMessage,
  type HotStandbyFeedback,
  type StandbyStatusUpdate,
  writeReplicationClientMessage
} from "../../src/replication/CopyData.ts"
import {
  formatLsn,
  MAX_LSN,
  parseLsn,
  pgTimestampFromDate,
  pgTimestampFromUnixMillis,
  pgTimestampToDate,
  pgTimestampToIso
} from "../../src/replication/Lsn.ts"
import { LSN, TIME } from "./support/decode.ts"
import { pgoutput, toHex } from "./support/wire.ts"

describe("XLogData and Primary keepalive", () => {
  it("XLogData: WAL start, WAL end, send time, and the data as a view of the input", () => {
    const input = pgoutput("w", (w) =>
      w
        .u64(LSN)
        .u64(LSN + 8n)
        .u64(TIME)
        .raw(Uint8Array.of(0x45))
    )
    const m = decodeReplicationServerMessage(input)
    expect(m).toEqual({
      _tag: "XLogData",
      walStart: LSN,
      walEnd: LSN + 8n,
      sendTime: TIME,
      data: Uint8Array.of(0x45)
    })
    if (m instanceof ProtocolError || m._tag !== "XLogData") throw new Error("not XLogData")
    expect(m.data.buffer).toBe(input.buffer)
    expect(decodeReplicationServerMessage(pgoutput("w", (w) => w.u64(0n).u64(0n).u64(0n)))).toMatchObject({
      data: new Uint8Array(0)
    })
  })

  it("Primary keepalive: WAL end, send time, reply requested", () => {
    for (const reply of [0, 1]) {
      expect(decodeReplicationServerMessage(pgoutput("k", (w) => w.u64(LSN).u64(TIME).u8(reply)))).toEqual({
        _tag: "PrimaryKeepalive",
        walEnd: LSN,
        sendTime: TIME,
        replyRequested: reply === 1
      })
    }
  })

  it("malformed server messages are ProtocolErrors naming the message", () => {
    const cases: ReadonlyArray<readonly [Uint8Array, string, string]> = [
      [new Uint8Array(0), "Truncated", "replication server message: empty CopyData"],
      [pgoutput("x"), "UnknownMessage", "replication server message: unknown type 'x' (0x78)"],
      [
        pgoutput("w", (w) => w.u64(1n).i32(0)),
        "Truncated",
        "replication XLogData ('w' (0x77)): body ends before the WAL end"
      ],
      [
        pgoutput("k", (w) => w.u64(1n).u64(2n).u8(2)),
        "InvalidValue",
        "replication Primary keepalive ('k' (0x6b)): the reply-requested flag 2 is not 0 or 1"
      ],
      [
        pgoutput("k", (w) => w.u64(1n).u64(2n).u8(0).u8(0)),
        "TrailingBytes",
        "replication Primary keepalive ('k' (0x6b)): 1 unexpected bytes after the last field"
      ],
      [
        pgoutput("r", (w) => w.u64(1n).u64(1n).u64(1n).u64(1n).u8(0)),
        "UnknownMessage",
        "replication server message: unknown type 'r' (0x72)"
      ]
    ]
    for (const [input, reason, message] of cases) {
      const e = decodeReplicationServerMessage(input)
      expect(e).toBeInstanceOf(ProtocolError)
      expect({ reason: (e as ProtocolError).reason, message: (e as ProtocolError).message }).toEqual({
        reason,
        message
      })
    }
  })
})

describe("Standby status update and Hot standby feedback", () => {
  const update: StandbyStatusUpdate = {
    _tag: "StandbyStatusUpdate",
    written: 0x1_0000_0010n,
    flushed: 0x1_0000_0008n,
    applied: 0n,
    clock: TIME,
    replyRequested: true
  }
  const feedback: HotStandbyFeedback = {
    _tag: "HotStandbyFeedback",
    clock: -1n,
    xmin: 0xfffffffe,
    xminEpoch: 1,
    catalogXmin: 740,
    catalogXminEpoch: 0
  }

  it("'r': Byte1('r'), three Int64 LSNs, the Int64 clock, the reply byte (34 bytes)", () => {
    const bytes = encodeReplicationClientMessage(update)
    expect(toHex(bytes as Uint8Array)).toBe(
      "72" + "0000000100000010" + "0000000100000008" + "0000000000000000" + "0002cd987ed66240" + "01"
    )
    expect(decodeReplicationClientMessage(bytes as Uint8Array)).toEqual(update)
  })

  it("'h': Byte1('h'), the Int64 clock, xmin, its epoch, catalog xmin, its epoch (25 bytes)", () => {
    const bytes = encodeReplicationClientMessage(feedback)
    expect(toHex(bytes as Uint8Array)).toBe(
      "68" + "ffffffffffffffff" + "fffffffe" + "00000001" + "000002e4" + "00000000"
    )
    expect(decodeReplicationClientMessage(bytes as Uint8Array)).toEqual(feedback)
  })

  it("written into a Writer as one CopyData frame", () => {
    const w = new Writer()
    expect(writeReplicationClientMessage(w, update)).toBeUndefined()
    expect(writeReplicationClientMessage(w, feedback)).toBeUndefined()
    const out = w.finish()
    expect(toHex(out.subarray(0, 5))).toBe("6400000026") // 'd', length 4 + 34
    expect(out.subarray(5, 39)).toEqual(encodeReplicationClientMessage(update))
    expect(toHex(out.subarray(39, 44))).toBe("640000001d") // 'd', length 4 + 25
    expect(out.length).toBe(39 + 5 + 25)
  })

  it("refuses values that do not fit their fields, writing nothing", () => {
    const bad: ReadonlyArray<readonly [StandbyStatusUpdate | HotStandbyFeedback, string]> = [
      [{ ...update, written: -1n }, "replication Standby status update: the written LSN -1 is not 0..2^64-1"],
      [{ ...update, flushed: MAX_LSN + 1n }, "the flushed LSN 18446744073709551616 is not 0..2^64-1"],
      [{ ...update, clock: 2n ** 63n }, "the clock 9223372036854775808 is not an Int64"],
      [{ ...feedback, clock: -(2n ** 63n) - 1n }, "the clock -9223372036854775809 is not an Int64"],
      [{ ...feedback, xmin: -1 }, "replication Hot standby feedback: the xmin -1 is not 0..2^32-1"],
      [{ ...feedback, catalogXminEpoch: 1.5 }, "the catalog xmin epoch 1.5 is not 0..2^32-1"]
    ]
    const w = new Writer()
    for (const [message, text] of bad) {
      const e = encodeReplicationClientMessage(message)
      expect(e).toBeInstanceOf(ProtocolError)
      expect((e as ProtocolError).reason).toBe("InvalidValue")
      expect((e as ProtocolError).message).toContain(text)
      expect(writeReplicationClientMessage(w, message)).toBeInstanceOf(ProtocolError)
      expect(w.length).toBe(0)
    }
    expect(encodeReplicationClientMessage({ ...update, applied: MAX_LSN })).toBeInstanceOf(Uint8Array)
  })

  it("malformed client messages are ProtocolErrors", () => {
    expect(decodeReplicationClientMessage(new Uint8Array(0))).toMatchObject({ reason: "Truncated" })
    expect(decodeReplicationClientMessage(pgoutput("w"))).toMatchObject({ reason: "UnknownMessage" })
    expect(decodeReplicationClientMessage(pgoutput("h", (w) => w.u64(0n).i32(0)))).toMatchObject({
      reason: "Truncated",
      message: "replication Hot standby feedback ('h' (0x68)): body ends before the xmin epoch"
    })
  })
})

describe("LSNs", () => {
  it("format as %X/%X and parse both the short and the zero-padded form", () => {
    expect(formatLsn(LSN)).toBe("16/B374D848")
    expect(formatLsn(0n)).toBe("0/0")
    expect(formatLsn(0x1_0000_000an)).toBe("1/A")
    expect(formatLsn(MAX_LSN)).toBe("FFFFFFFF/FFFFFFFF")
    expect(parseLsn("16/B374D848")).toBe(LSN)
    expect(parseLsn("16/b374d848")).toBe(LSN)
    expect(parseLsn("0/016B3748")).toBe(0x16b3748n)
    expect(parseLsn("FFFFFFFF/FFFFFFFF")).toBe(MAX_LSN)
    for (const bad of ["", "0", "0/", "/0", "1/2/3", "G/0", "123456789/0", " 0/0", "-1/0"])
      expect(parseLsn(bad)).toBeInstanceOf(ProtocolError)
  })
})

describe("replication timestamps", () => {
  it("convert to ISO with microseconds and to a Date (floored to milliseconds)", () => {
    expect(pgTimestampToIso(TIME)).toBe("2025-01-01T00:00:00.123456Z")
    expect(pgTimestampToIso(0n)).toBe("2000-01-01T00:00:00.000000Z")
    expect(pgTimestampToIso(-1n)).toBe("1999-12-31T23:59:59.999999Z")
    expect(pgTimestampToDate(TIME).toISOString()).toBe("2025-01-01T00:00:00.123Z")
    expect(pgTimestampToDate(-1n).toISOString()).toBe("1999-12-31T23:59:59.999Z")
  })

  it("out of the Date range: an invalid Date, no ISO string", () => {
    expect(Number.isNaN(pgTimestampToDate(2n ** 63n - 1n).getTime())).toBe(true)
    expect(pgTimestampToIso(2n ** 63n - 1n)).toBeUndefined()
    expect(pgTimestampToIso(-(2n ** 63n))).toBeUndefined()
  })

  it("come from Dates and Unix milliseconds", () => {
    expect(pgTimestampFromDate(new Date("2025-01-01T00:00:00.123Z"))).toBe(789_004_800_123_000n)
    expect(pgTimestampFromUnixMillis(946_684_800_000)).toBe(0n)
    expect(pgTimestampFromUnixMillis(946_684_800_001.5)).toBe(1500n)
    expect(pgTimestampFromDate(new Date(Number.NaN))).toBeUndefined()
    expect(pgTimestampFromUnixMillis(Number.POSITIVE_INFINITY)).toBeUndefined()
    expect(pgTimestampFromUnixMillis(1e300)).toBeUndefined()
  })
})
