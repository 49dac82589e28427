/**
 * pgoutput decoding: the context (validated, and deciding the layout), malformed bodies giving a
 * ProtocolError that names the message and the field, the stream-tracking PgOutputDecoder, and
 * the test encoder agreeing with the decoder.
 */
import { describe, expect, it } from "vitest"
import { ProtocolError } from "../../src/protocol/ProtocolError.ts"
import {
  decodePgOutput,
  type PgOutputContext,
  PgOutputDecoder,
  type PgOutputMessage
} from "../../src/replication/pgoutput.ts"
import { END, fails, LSN, ok, TIME, v1, v2, v2stream, v4parallel, XID } from "./support/decode.ts"
import { binaryColumn, encodePgOutput, NULL, pgoutput, textColumn, UNCHANGED } from "./support/wire.ts"

describe("the context", () => {
  it("is validated: version 1..4, stream blocks from 2, parallel streaming only with 4", () => {
    const begin = pgoutput("B", (w) => w.u64(1n).u64(2n).i32(3))
    const bad = [
      { protocolVersion: 5, inStream: false },
      { protocolVersion: 0, inStream: false },
      { protocolVersion: 1, inStream: true },
      { protocolVersion: 3, inStream: false, parallelStreaming: true }
    ] as unknown as ReadonlyArray<PgOutputContext>
    for (const context of bad) expect(fails(begin, context).reason).toBe("InvalidValue")
  })

  it("decides the layout: a streamed Insert read outside a stream block is an error", () => {
    const streamed = pgoutput("I", (w) => w.i32(42).i32(5).u8(0x4e).i16(0))
    expect(ok(streamed, v2stream)).toMatchObject({ xid: 42, relationOid: 5, row: [] })
    expect(fails(streamed, v2)).toMatchObject({
      reason: "InvalidValue",
      message: "pgoutput Insert ('I' (0x49)): tuple marker 0x00 is not 'N'"
    })
  })
})

describe("malformed messages", () => {
  const cases: ReadonlyArray<readonly [string, Uint8Array, string, string]> = [
    ["empty", new Uint8Array(0), "Truncated", "pgoutput: empty message"],
    ["unknown type", pgoutput("Z"), "UnknownMessage", "pgoutput: unknown message type 'Z' (0x5a)"],
    [
      "truncated Begin",
      pgoutput("B", (w) => w.u64(1n).i32(0)),
      "Truncated",
      "pgoutput Begin ('B' (0x42)): body ends before the commit timestamp"
    ],
    [
      "Relation name without NUL",
      pgoutput("R", (w) => w.i32(1).cstr("public").raw(Uint8Array.of(0x61))),
      "MissingNul",
      "pgoutput Relation ('R' (0x52)): the relation name has no terminating NUL"
    ],
    [
      "bad replica identity",
      pgoutput("R", (w) => w.i32(1).cstr("").cstr("r").u8(0x78).i16(0)),
      "InvalidValue",
      "pgoutput Relation ('R' (0x52)): replica identity 'x' (0x78) is not 'd', 'n', 'f' or 'i'"
    ],
    [
      "Relation column count past the body",
      pgoutput("R", (w) => w.i32(1).cstr("").cstr("r").u8(0x64).i16(3).u8(0).cstr("a").i32(23).i32(-1)),
      "InvalidLength",
      "pgoutput Relation ('R' (0x52)): the column count 3 does not fit in the 11 bytes left"
    ],
    [
      "bad column kind",
      pgoutput("I", (w) => w.i32(1).u8(0x4e).i16(1).u8(0x78)),
      "InvalidValue",
      "pgoutput Insert ('I' (0x49)): column 1 of the new row has kind 'x' (0x78), not 'n', 'u', 't' or 'b'"
    ],
    [
      "negative column length",
      pgoutput("I", (w) => w.i32(1).u8(0x4e).i16(1).u8(0x74).i32(-1)),
      "InvalidLength",
      "pgoutput Insert ('I' (0x49)): column 1 of the new row has negative length -1"
    ],
    [
      "column value cut short",
      pgoutput("I", (w) => w.i32(1).u8(0x4e).i16(1).u8(0x62).i32(4).u8(1)),
      "Truncated",
      "pgoutput Insert ('I' (0x49)): body ends before column 1 of the new row"
    ],
    [
      "tuple column count past the body",
      pgoutput("I", (w) => w.i32(1).u8(0x4e).i16(0xffff)),
      "InvalidLength",
      "pgoutput Insert ('I' (0x49)): the column count of the new row 65535 does not fit in the 0 bytes left"
    ],
    [
      "Insert with an old key",
      pgoutput("I", (w) => w.i32(1).u8(0x4b).i16(0)),
      "InvalidValue",
      "pgoutput Insert ('I' (0x49)): tuple marker 'K' (0x4b) is not 'N'"
    ],
    [
      "Delete without an old row",
      pgoutput("D", (w) => w.i32(1).u8(0x4e).i16(0)),
      "InvalidValue",
      "pgoutput Delete ('D' (0x44)): tuple marker 'N' (0x4e) is not 'K' or 'O'"
    ],
    [
      "Update with a second old row",
      pgoutput("U", (w) => w.i32(1).u8(0x4b).i16(0).u8(0x4f).i16(0)),
      "InvalidValue",
      "pgoutput Update ('U' (0x55)): tuple marker 'O' (0x4f) is not 'N'"
    ],
    [
      "Update with an unknown marker",
      pgoutput("U", (w) => w.i32(1).u8(0x41).i16(0)),
      "InvalidValue",
      "pgoutput Update ('U' (0x55)): tuple marker 'A' (0x41) is not 'K', 'O' or 'N'"
    ],
    [
      "negative Truncate count",
      pgoutput("T", (w) => w.i32(-1).u8(0)),
      "InvalidLength",
      "pgoutput Truncate ('T' (0x54)): relation count -1 is negative"
    ],
    [
      "Truncate count past the body",
      pgoutput("T", (w) => w.i32(0x10000000).u8(0).i32(1)),
      "InvalidLength",
      "pgoutput Truncate ('T' (0x54)): the relation count 268435456 does not fit in the 4 bytes left"
    ],
    [
      "negative Message length",
      pgoutput("M", (w) => w.u8(0).u64(1n).cstr("p").i32(-2)),
      "InvalidLength",
      "pgoutput Message ('M' (0x4d)): content length -2 is negative"
    ],
    [
      "trailing bytes",
      pgoutput("O", (w) => w.u64(1n).cstr("o").u8(0)),
      "TrailingBytes",
      "pgoutput Origin ('O' (0x4f)): 1 unexpected bytes after the last field"
    ],
    [
      "Stream Stop with a body",
      pgoutput("E", (w) => w.u8(0)),
      "TrailingBytes",
      "pgoutput Stream Stop ('E' (0x45)): 1 unexpected bytes after the last field"
    ]
  ]
  for (const [name, data, reason, message] of cases) {
    it(name, () => {
      const e = fails(data, v2)
      expect({ reason: e.reason, message: e.message }).toEqual({ reason, message })
      if (data.length > 0) expect(e.messageType).toBe(data[0])
    })
  }
})

describe("PgOutputDecoder", () => {
  it("tracks the stream block from Stream Start to Stream Stop; an error changes nothing", () => {
    const decoder = new PgOutputDecoder({ protocolVersion: 2 })
    const insert = pgoutput("I", (w) => w.i32(42).i32(5).u8(0x4e).i16(0))
    expect(decoder.decode(pgoutput("S", (w) => w.i32(42).u8(1)))).toMatchObject({ _tag: "StreamStart" })
    expect(decoder.inStream).toBe(true)
    expect(decoder.decode(insert)).toMatchObject({ _tag: "Insert", xid: 42 })
    expect(decoder.decode(pgoutput("Z"))).toBeInstanceOf(ProtocolError)
    expect(decoder.inStream).toBe(true)
    expect(decoder.decode(pgoutput("E"))).toEqual({ _tag: "StreamStop" })
    expect(decoder.inStream).toBe(false)
    expect(decoder.decode(insert)).toBeInstanceOf(ProtocolError)
    expect(decoder.decode(pgoutput("A", (w) => w.i32(42).i32(42)))).toMatchObject({ _tag: "StreamAbort" })
    const parallel = new PgOutputDecoder({ protocolVersion: 4, parallelStreaming: true })
    expect(parallel.decode(pgoutput("A", (w) => w.i32(1).i32(2).u64(3n).u64(4n)))).toMatchObject({
      abortLsn: 3n,
      abortTime: 4n
    })
  })
})

describe("the test encoder", () => {
  it("agrees with the decoder on one message of every kind, in and out of stream blocks", () => {
    const row = [NULL, UNCHANGED, textColumn("é"), binaryColumn([1, 2])]
    const messages: ReadonlyArray<readonly [PgOutputMessage, PgOutputContext]> = [
      [{ _tag: "Begin", finalLsn: LSN, commitTime: TIME, xid: XID }, v1],
      [{ _tag: "Commit", flags: 0, commitLsn: LSN, endLsn: END, commitTime: TIME }, v1],
      [{ _tag: "Origin", originLsn: LSN, name: "o" }, v1],
      [{ _tag: "Insert", xid: 3, relationOid: 9, row }, v2stream],
      [{ _tag: "Update", xid: undefined, relationOid: 9, old: { kind: "full", columns: row }, row }, v1],
      [{ _tag: "Delete", xid: 3, relationOid: 9, old: { kind: "key", columns: row } }, v2stream],
      [{ _tag: "StreamAbort", xid: 1, subXid: 2, abortLsn: LSN, abortTime: TIME }, v4parallel],
      [
        {
          _tag: "StreamPrepare",
          flags: 0,
          prepareLsn: LSN,
          endLsn: END,
          prepareTime: TIME,
          xid: 1,
          gid: "g"
        },
        v2
      ]
    ]
    for (const [message, context] of messages)
      expect(decodePgOutput(encodePgOutput(message, context), context)).toEqual(message)
  })
})
