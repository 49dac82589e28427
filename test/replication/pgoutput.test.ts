/**
 * pgoutput decoding with hand-built messages, field by field from the spec: every message kind,
 * and the version and stream-block differences (xid prefixes, streaming messages from protocol 2,
 * Stream Abort's abort LSN and time with protocol 4 parallel streaming, two-phase messages at
 * every version). pgoutput-context.test.ts has the context, the errors and the decoder class.
 */
import { describe, expect, it } from "vitest"
import { END, fails, LSN, ok, TIME, v1, v2, v2stream, v4parallel, XID } from "./support/decode.ts"
import { binaryColumn, NULL, pgoutput, textColumn, UNCHANGED } from "./support/wire.ts"

describe("transaction messages", () => {
  it("Begin: final LSN, commit time, xid", () => {
    expect(ok(pgoutput("B", (w) => w.u64(LSN).u64(TIME).i32(XID)))).toEqual({
      _tag: "Begin",
      finalLsn: LSN,
      commitTime: TIME,
      xid: XID
    })
  })

  it("Commit: flags, commit LSN, end LSN, commit time", () => {
    expect(ok(pgoutput("C", (w) => w.u8(0).u64(LSN).u64(END).u64(TIME)))).toEqual({
      _tag: "Commit",
      flags: 0,
      commitLsn: LSN,
      endLsn: END,
      commitTime: TIME
    })
  })

  it("Origin: origin LSN and name", () => {
    expect(ok(pgoutput("O", (w) => w.u64(LSN).cstr("upstream")))).toEqual({
      _tag: "Origin",
      originLsn: LSN,
      name: "upstream"
    })
  })

  it("a negative timestamp (before 2000) stays signed, an LSN above 2^63 unsigned", () => {
    const big = 0xffff_fffe_0000_0001n
    const m = ok(pgoutput("B", (w) => w.u64(big).u64(-5n).i32(1)))
    expect(m).toEqual({ _tag: "Begin", finalLsn: big, commitTime: -5n, xid: 1 })
  })
})

describe("Relation and Type", () => {
  const relation = (xid?: number) =>
    pgoutput("R", (w) => {
      if (xid !== undefined) w.i32(xid)
      return w
        .i32(16384)
        .cstr("public")
        .cstr("accounts")
        .u8(0x66) // 'f'
        .i16(2)
        .u8(1)
        .cstr("id")
        .i32(23)
        .i32(-1)
        .u8(0)
        .cstr("amount")
        .i32(1700)
        .i32(655366)
    })
  const expected = {
    _tag: "Relation",
    relationOid: 16384,
    namespace: "public",
    name: "accounts",
    replicaIdentity: "f",
    columns: [
      { flags: 1, isKey: true, name: "id", typeOid: 23, typeModifier: -1 },
      { flags: 0, isKey: false, name: "amount", typeOid: 1700, typeModifier: 655366 }
    ]
  }

  it("Relation: OID, namespace, name, replica identity, columns with type OIDs and modifiers", () => {
    expect(ok(relation())).toEqual({ ...expected, xid: undefined })
  })

  it("Relation inside a stream block carries the xid first", () => {
    expect(ok(relation(77), v2stream)).toEqual({ ...expected, xid: 77 })
  })

  it("every replica identity; an empty namespace for pg_catalog; no columns", () => {
    for (const c of "dnfi") {
      const m = ok(pgoutput("R", (w) => w.i32(1).cstr("").cstr("r").u8(c.charCodeAt(0)).i16(0)))
      expect(m).toMatchObject({ replicaIdentity: c, namespace: "", columns: [] })
    }
  })

  it("Type: OID, namespace, name (and the xid in a stream)", () => {
    expect(ok(pgoutput("Y", (w) => w.i32(16390).cstr("public").cstr("mood")))).toEqual({
      _tag: "Type",
      xid: undefined,
      typeOid: 16390,
      namespace: "public",
      name: "mood"
    })
    expect(
      ok(
        pgoutput("Y", (w) => w.i32(9).i32(16390).cstr("s").cstr("m")),
        v2stream
      )
    ).toMatchObject({
      xid: 9,
      typeOid: 16390
    })
  })
})

describe("row changes", () => {
  it("Insert: every column kind — null, unchanged TOAST (not null), text, binary", () => {
    const m = ok(
      pgoutput("I", (w) =>
        w.i32(16384).u8(0x4e).i16(4).u8(0x6e).u8(0x75).u8(0x74).i32(2).cstr("h").u8(0x62).i32(0)
      )
    )
    // "h\0" is the 2-byte text value: lengths, not NULs, delimit values.
    expect(m).toEqual({
      _tag: "Insert",
      xid: undefined,
      relationOid: 16384,
      row: [NULL, UNCHANGED, { kind: "text", bytes: Uint8Array.of(0x68, 0) }, binaryColumn([])]
    })
  })

  it("Update without an old row, with the old key ('K') and with the full old row ('O')", () => {
    const row = [textColumn("1"), textColumn("new")]
    expect(ok(pgoutput("U", (w) => w.i32(5).u8(0x4e).tuple(row)))).toEqual({
      _tag: "Update",
      xid: undefined,
      relationOid: 5,
      old: undefined,
      row
    })
    const key = [textColumn("0"), NULL]
    expect(ok(pgoutput("U", (w) => w.i32(5).u8(0x4b).tuple(key).u8(0x4e).tuple(row)))).toEqual({
      _tag: "Update",
      xid: undefined,
      relationOid: 5,
      old: { kind: "key", columns: key },
      row
    })
    const full = [textColumn("1"), textColumn("old")]
    expect(ok(pgoutput("U", (w) => w.i32(5).u8(0x4f).tuple(full).u8(0x4e).tuple(row)))).toMatchObject({
      old: { kind: "full", columns: full },
      row
    })
  })

  it("Delete with the old key and with the full old row", () => {
    const key = [textColumn("7"), NULL]
    expect(ok(pgoutput("D", (w) => w.i32(5).u8(0x4b).tuple(key)))).toEqual({
      _tag: "Delete",
      xid: undefined,
      relationOid: 5,
      old: { kind: "key", columns: key }
    })
    const full = [textColumn("7"), textColumn("x")]
    expect(ok(pgoutput("D", (w) => w.i32(5).u8(0x4f).tuple(full)))).toMatchObject({
      old: { kind: "full", columns: full }
    })
  })

  it("row changes inside a stream block carry the xid first", () => {
    const row = [textColumn("1")]
    expect(
      ok(
        pgoutput("I", (w) => w.i32(42).i32(5).u8(0x4e).tuple(row)),
        v2stream
      )
    ).toMatchObject({
      xid: 42,
      relationOid: 5
    })
    expect(
      ok(
        pgoutput("U", (w) => w.i32(42).i32(5).u8(0x4e).tuple(row)),
        v2stream
      )
    ).toMatchObject({ xid: 42 })
    expect(
      ok(
        pgoutput("D", (w) => w.i32(42).i32(5).u8(0x4b).tuple(row)),
        v2stream
      )
    ).toMatchObject({ xid: 42 })
  })

  it("Truncate: relation OIDs and the CASCADE / RESTART IDENTITY flags", () => {
    const options = [
      [0, false, false],
      [1, true, false],
      [2, false, true],
      [3, true, true]
    ] as const
    for (const [bits, cascade, restartIdentity] of options) {
      expect(ok(pgoutput("T", (w) => w.i32(2).u8(bits).i32(16384).i32(0xfffffffe)))).toEqual({
        _tag: "Truncate",
        xid: undefined,
        options: bits,
        cascade,
        restartIdentity,
        relationOids: [16384, 0xfffffffe]
      })
    }
    expect(
      ok(
        pgoutput("T", (w) => w.i32(3).i32(1).u8(0).i32(9)),
        v2stream
      )
    ).toMatchObject({
      xid: 3,
      relationOids: [9]
    })
  })
})

describe("logical decoding messages", () => {
  it("Message: transactional flag, LSN, prefix, content bytes", () => {
    const content = Uint8Array.of(0, 0xff, 0x41)
    expect(ok(pgoutput("M", (w) => w.u8(1).u64(LSN).cstr("app").i32(3).raw(content)))).toEqual({
      _tag: "Message",
      xid: undefined,
      flags: 1,
      transactional: true,
      lsn: LSN,
      prefix: "app",
      content
    })
    expect(ok(pgoutput("M", (w) => w.u8(0).u64(LSN).cstr("").i32(0)))).toMatchObject({
      transactional: false,
      prefix: "",
      content: new Uint8Array(0)
    })
  })

  it("Message inside a stream block (protocol 2+) carries the xid first", () => {
    expect(
      ok(
        pgoutput("M", (w) => w.i32(11).u8(1).u64(LSN).cstr("p").i32(0)),
        v2stream
      )
    ).toMatchObject({
      xid: 11,
      transactional: true
    })
  })
})

describe("streaming messages (protocol 2+)", () => {
  it("Stream Start (first segment or not), Stream Stop, Stream Commit", () => {
    expect(
      ok(
        pgoutput("S", (w) => w.i32(XID).u8(1)),
        v2
      )
    ).toEqual({
      _tag: "StreamStart",
      xid: XID,
      firstSegment: true
    })
    expect(
      ok(
        pgoutput("S", (w) => w.i32(1).u8(0)),
        v2
      )
    ).toMatchObject({ firstSegment: false })
    expect(ok(pgoutput("E"), v2stream)).toEqual({ _tag: "StreamStop" })
    expect(
      ok(
        pgoutput("c", (w) => w.i32(XID).u8(0).u64(LSN).u64(END).u64(TIME)),
        v2
      )
    ).toEqual({
      _tag: "StreamCommit",
      xid: XID,
      flags: 0,
      commitLsn: LSN,
      endLsn: END,
      commitTime: TIME
    })
  })

  it("Stream Abort: xid and subxid; the abort LSN and time only with protocol 4 parallel streaming", () => {
    const plain = pgoutput("A", (w) => w.i32(10).i32(12))
    const parallel = pgoutput("A", (w) => w.i32(10).i32(12).u64(LSN).u64(TIME))
    const withoutInfo = {
      _tag: "StreamAbort",
      xid: 10,
      subXid: 12,
      abortLsn: undefined,
      abortTime: undefined
    }
    expect(ok(plain, v2)).toEqual(withoutInfo)
    expect(ok(plain, { protocolVersion: 4, inStream: false })).toEqual(withoutInfo)
    expect(ok(parallel, v4parallel)).toEqual({ ...withoutInfo, abortLsn: LSN, abortTime: TIME })
    expect(fails(parallel, v2).reason).toBe("TrailingBytes")
    expect(fails(plain, v4parallel)).toMatchObject({
      reason: "Truncated",
      message: "pgoutput Stream Abort ('A' (0x41)): body ends before the abort LSN"
    })
  })

  it("streaming messages do not exist in protocol 1", () => {
    for (const type of "SEcAp") {
      const e = fails(
        pgoutput(type, (w) => w.i32(1).u8(0)),
        v1
      )
      expect(e.reason).toBe("UnknownMessage")
      expect(e.messageType).toBe(type.charCodeAt(0))
      expect(e.message).toMatch(/needs protocol version 2, not 1$/)
    }
  })
})

describe("two-phase messages", () => {
  const gid = "tx-1"
  it("Begin Prepare, Prepare, Commit Prepared, Rollback Prepared, Stream Prepare", () => {
    expect(ok(pgoutput("b", (w) => w.u64(LSN).u64(END).u64(TIME).i32(XID).cstr(gid)))).toEqual({
      _tag: "BeginPrepare",
      prepareLsn: LSN,
      endLsn: END,
      prepareTime: TIME,
      xid: XID,
      gid
    })
    const prepare = (type: string) =>
      pgoutput(type, (w) => w.u8(0).u64(LSN).u64(END).u64(TIME).i32(XID).cstr(gid))
    const prepared = { flags: 0, prepareLsn: LSN, endLsn: END, prepareTime: TIME, xid: XID, gid }
    expect(ok(prepare("P"))).toEqual({ _tag: "Prepare", ...prepared })
    expect(ok(prepare("p"), v2)).toEqual({ _tag: "StreamPrepare", ...prepared })
    expect(ok(pgoutput("K", (w) => w.u8(0).u64(LSN).u64(END).u64(TIME).i32(XID).cstr(gid)))).toEqual({
      _tag: "CommitPrepared",
      flags: 0,
      commitLsn: LSN,
      endLsn: END,
      commitTime: TIME,
      xid: XID,
      gid
    })
    const rollback = pgoutput("r", (w) =>
      w
        .u8(0)
        .u64(LSN)
        .u64(END)
        .u64(TIME)
        .u64(TIME + 1n)
        .i32(XID)
        .cstr(gid)
    )
    expect(ok(rollback)).toEqual({
      _tag: "RollbackPrepared",
      flags: 0,
      prepareEndLsn: LSN,
      rollbackEndLsn: END,
      prepareTime: TIME,
      rollbackTime: TIME + 1n,
      xid: XID,
      gid
    })
  })

  it("are decoded at protocol 1 too (a two_phase slot sends them whatever the version); Stream Prepare needs 2", () => {
    expect(
      ok(
        pgoutput("K", (w) => w.u8(0).u64(1n).u64(2n).u64(3n).i32(4).cstr("g")),
        v1
      )._tag
    ).toBe("CommitPrepared")
    expect(
      fails(
        pgoutput("p", (w) => w.u8(0)),
        v1
      ).reason
    ).toBe("UnknownMessage")
  })
})
