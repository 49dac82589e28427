/**
 * Backend decoding: every frame captured from PostgreSQL 18 and 15 decodes and re-encodes to the
 * same bytes; decoded values match what the captured sessions did; spec-built frames cover the
 * messages a stock server does not send here (Kerberos, SCM credentials, GSS, SSPI, undefined
 * authentication codes); malformed bodies give the right ProtocolError; random messages round-trip.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type BackendMessage, decodeBackend } from "../../src/protocol/Backend.ts"
import { ProtocolError } from "../../src/protocol/ProtocolError.ts"
import { decodeGssEncResponse, decodeSslResponse } from "../../src/protocol/SslResponse.ts"
import { backendMessage } from "./support/arbitraries.ts"
import { encodeBackend, fieldOrderOf } from "./support/BackendEncoder.ts"
import {
  allServerFrames,
  Bytes,
  capture,
  findServerFrame,
  fromHex,
  serverFrames,
  toHex
} from "./support/bytes.ts"

const decodeFrame = (frame: Uint8Array): BackendMessage | ProtocolError => {
  expect(((frame[1]! << 24) | (frame[2]! << 16) | (frame[3]! << 8) | frame[4]!) + 1).toBe(frame.length)
  return decodeBackend(frame[0]!, frame.subarray(5))
}

const ok = (frame: Uint8Array): BackendMessage => {
  const m = decodeFrame(frame)
  if (m instanceof ProtocolError) throw new Error(`unexpected ${m.reason}: ${m.message}`)
  return m
}

const text = (b: Uint8Array | null | undefined) => (b == null ? b : new TextDecoder().decode(b))

const messagesOf = (name: string) => serverFrames(name).map(ok)

const errorsOf = (name: string) =>
  messagesOf(name).flatMap((m) => (m._tag === "ErrorResponse" ? [m.fields] : []))

describe("captured server frames (PostgreSQL 18 and 15)", () => {
  const frames = allServerFrames()

  it("covers many frames and every backend message a stock server sends", () => {
    expect(frames.length).toBeGreaterThan(1500)
    const tags = new Set(frames.map(({ frame }) => ok(frame)._tag))
    for (const tag of [
      "AuthenticationOk",
      "AuthenticationCleartextPassword",
      "AuthenticationMD5Password",
      "AuthenticationSASL",
      "AuthenticationSASLContinue",
      "AuthenticationSASLFinal",
      "BackendKeyData",
      "BindComplete",
      "CloseComplete",
      "CommandComplete",
      "CopyInResponse",
      "CopyOutResponse",
      "CopyBothResponse",
      "CopyData",
      "CopyDone",
      "DataRow",
      "EmptyQueryResponse",
      "ErrorResponse",
      "NoticeResponse",
      "FunctionCallResponse",
      "NegotiateProtocolVersion",
      "NoData",
      "NotificationResponse",
      "ParameterDescription",
      "ParameterStatus",
      "ParseComplete",
      "PortalSuspended",
      "ReadyForQuery",
      "RowDescription"
    ])
      expect(tags, tag).toContain(tag)
  })

  it("decodes every frame and re-encodes it to identical bytes", () => {
    for (const { name, frame } of frames) {
      const m = ok(frame)
      const order =
        m._tag === "ErrorResponse" || m._tag === "NoticeResponse" ? fieldOrderOf(frame) : undefined
      expect(toHex(encodeBackend(m, order)), `${name}: ${m._tag}`).toBe(toHex(frame))
    }
  })
})

describe("decoded values of the captured sessions", () => {
  for (const v of ["18", "15"]) {
    it(`PostgreSQL ${v}: authentication requests`, () => {
      expect(messagesOf(`pg${v}_auth_password`)[0]).toEqual({ _tag: "AuthenticationCleartextPassword" })
      const md5 = messagesOf(`pg${v}_auth_md5`)[0]!
      expect(md5._tag === "AuthenticationMD5Password" && md5.salt.length).toBe(4)
      const [sasl, cont, final, authOk] = messagesOf(`pg${v}_auth_scram`)
      expect(sasl).toEqual({ _tag: "AuthenticationSASL", mechanisms: ["SCRAM-SHA-256"] })
      expect(cont?._tag === "AuthenticationSASLContinue" && text(cont.data)).toMatch(
        /^r=[^,]+,s=[^,]+,i=4096$/
      )
      expect(final?._tag === "AuthenticationSASLFinal" && text(final.data)).toMatch(/^v=/)
      expect(authOk).toEqual({ _tag: "AuthenticationOk" })
      expect(errorsOf(`pg${v}_auth_scram_wrong`)[0]).toMatchObject({ severity: "FATAL", code: "28P01" })
      expect(errorsOf(`pg${v}_startup_bad_database`)[0]).toMatchObject({ severity: "FATAL", code: "3D000" })
    })

    it(`PostgreSQL ${v}: startup parameters, key data, NegotiateProtocolVersion`, () => {
      const all = messagesOf(`pg${v}_simple`)
      const startup = all.slice(
        0,
        all.findIndex((m) => m._tag === "ReadyForQuery")
      )
      const params = Object.fromEntries(
        startup.flatMap((m) => (m._tag === "ParameterStatus" ? [[m.name, m.value]] : []))
      )
      expect(params.server_version).toMatch(new RegExp(`^${v}\\.`))
      expect(params).toMatchObject({
        client_encoding: "UTF8",
        application_name: "golden",
        integer_datetimes: "on"
      })
      const key = ok(findServerFrame(`pg${v}_simple`, "K"))
      expect(key._tag === "BackendKeyData" && key.secretKey.length).toBe(4)
      const negotiate = ok(findServerFrame(`pg${v}_startup_3_2`, "v"))
      expect(negotiate).toEqual({
        _tag: "NegotiateProtocolVersion",
        newestMajor: 3,
        newestMinor: v === "18" ? 2 : 0,
        unrecognizedOptions: ["_pq_.golden_option"]
      })
    })

    it(`PostgreSQL ${v}: simple query results, transaction status, notifications`, () => {
      const ms = messagesOf(`pg${v}_simple`)
      const row = ms.find((m) => m._tag === "RowDescription")
      expect(row).toEqual({
        _tag: "RowDescription",
        fields: [
          { name: "one", tableOid: 0, columnAttr: 0, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
          { name: "two", tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 },
          {
            name: "three",
            tableOid: 0,
            columnAttr: 0,
            typeOid: 23,
            typeSize: 4,
            typeModifier: -1,
            format: 0
          },
          { name: "utf8", tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 }
        ]
      })
      const data = ms.find((m) => m._tag === "DataRow")
      expect(data?._tag === "DataRow" && data.columns.map(text)).toEqual(["1", "two", null, "žluťoučký kůň"])
      const statuses = ms.flatMap((m) => (m._tag === "ReadyForQuery" ? [m.status] : []))
      expect(statuses.slice(0, 6)).toEqual(["I", "I", "I", "T", "E", "I"])
      const tags = ms.flatMap((m) => (m._tag === "CommandComplete" ? [m.tag] : []))
      expect(tags).toEqual(
        expect.arrayContaining(["SELECT 1", "BEGIN", "ROLLBACK", "INSERT 0 1", "COPY 3", "COPY 2", "LISTEN"])
      )
      expect(ms).toContainEqual({ _tag: "EmptyQueryResponse" })
      const pid = ms.find((m) => m._tag === "BackendKeyData")
      const notification = ms.find((m) => m._tag === "NotificationResponse")
      expect(notification).toEqual({
        _tag: "NotificationResponse",
        processId: pid?._tag === "BackendKeyData" ? pid.processId : -1,
        channel: "golden_channel",
        payload: "the payload"
      })
    })

    it(`PostgreSQL ${v}: every error and notice field`, () => {
      const [div, syntax, perform, notNull, check, unique, domain, copyFail, fn] = errorsOf(`pg${v}_simple`)
      expect(div).toMatchObject({
        severity: "ERROR",
        severityNonLocalized: "ERROR",
        code: "22012",
        message: "division by zero"
      })
      expect(div?.file).toMatch(/\.c$/)
      expect(div?.line).toMatch(/^\d+$/)
      expect(div?.routine).toBe("int4div")
      expect(syntax).toMatchObject({ code: "42601", position: "1" })
      expect(perform).toMatchObject({
        code: "42703",
        internalQuery: "SELECT no_such_column FROM pg_class",
        internalPosition: "8",
        where: "PL/pgSQL function inline_code_block line 1 at PERFORM"
      })
      expect(notNull).toMatchObject({
        code: "23502",
        table: "t",
        column: "v",
        detail: "Failing row contains (1, null)."
      })
      expect(notNull?.schema).toMatch(/^pg_temp_\d+$/)
      expect(check).toMatchObject({ code: "23514", table: "t", constraint: "t_v_check" })
      expect(unique).toMatchObject({
        code: "23505",
        constraint: "t_pkey",
        detail: "Key (id)=(1) already exists."
      })
      expect(domain).toMatchObject({ code: "23514", dataType: "posint", constraint: "posint_check" })
      expect(copyFail).toMatchObject({ code: "57014", message: "COPY from stdin failed: client gave up" })
      expect(fn).toBeUndefined()
      const notice = messagesOf(`pg${v}_simple`).find((m) => m._tag === "NoticeResponse")
      expect(notice?._tag === "NoticeResponse" && notice.fields).toMatchObject({
        severity: "NOTICE",
        severityNonLocalized: "NOTICE",
        code: "00000",
        message: "note 1",
        detail: "some detail",
        hint: "some hint",
        where: "PL/pgSQL function inline_code_block line 1 at RAISE"
      })
      expect(errorsOf(`pg${v}_cancel_3_0`)[0]).toMatchObject({
        code: "57014",
        message: "canceling statement due to user request"
      })
    })

    it(`PostgreSQL ${v}: COPY in/out/both and FunctionCallResponse`, () => {
      const ms = messagesOf(`pg${v}_simple`)
      const copyOut = ms.filter((m) => m._tag === "CopyOutResponse")
      expect(copyOut).toEqual([
        { _tag: "CopyOutResponse", format: 0, columnFormats: [0, 0] },
        { _tag: "CopyOutResponse", format: 1, columnFormats: [1] }
      ])
      const copyIn = ms.filter((m) => m._tag === "CopyInResponse")
      expect(copyIn).toEqual([
        { _tag: "CopyInResponse", format: 0, columnFormats: [0, 0] },
        { _tag: "CopyInResponse", format: 1, columnFormats: [1, 1] }
      ])
      const data = ms.flatMap((m) => (m._tag === "CopyData" ? [m.data] : []))
      expect(data.slice(0, 3).map(text)).toEqual(["1\t1x\n", "2\t2x\n", "3\t3x\n"])
      expect(toHex(data[3]!.subarray(0, 11))).toBe("5047434f50590aff0d0a00") // PGCOPY\n\377\r\n\0
      expect(ms.filter((m) => m._tag === "CopyDone")).toHaveLength(2)
      const calls = ms.filter((m) => m._tag === "FunctionCallResponse")
      expect(calls.map((m) => m._tag === "FunctionCallResponse" && text(m.value))).toEqual(["42", null])
      const repl = messagesOf(`pg${v}_replication`)
      expect(repl).toContainEqual({ _tag: "CopyBothResponse", format: 0, columnFormats: [] })
      const wal = repl.flatMap((m) => (m._tag === "CopyData" ? [m.data] : []))
      expect(["k", "w"]).toContain(String.fromCharCode(wal[0]![0]!)) // keepalive or XLogData
    })

    it(`PostgreSQL ${v}: extended query protocol`, () => {
      const tags = messagesOf(`pg${v}_extended`).map((m) => m._tag)
      expect(tags).toEqual(
        expect.arrayContaining([
          "ParseComplete",
          "BindComplete",
          "NoData",
          "PortalSuspended",
          "CloseComplete"
        ])
      )
      const ms = messagesOf(`pg${v}_extended`)
      expect(ms.find((m) => m._tag === "ParameterDescription")).toEqual({
        _tag: "ParameterDescription",
        oids: [23, 25]
      })
      const described = ms.filter((m) => m._tag === "RowDescription")
      expect(described[1]?._tag === "RowDescription" && described[1].fields.map((f) => f.format)).toEqual([
        1, 0
      ])
      const row = ms.find((m) => m._tag === "DataRow")
      expect(row?._tag === "DataRow" && [...row.columns[0]!]).toEqual([0, 0, 0, 42])
      expect(tags.filter((t) => t === "PortalSuspended")).toHaveLength(2)
    })
  }

  it("PostgreSQL 18 with protocol 3.2 sends a 32-byte cancel key (copied, not a view)", () => {
    const frame = findServerFrame("pg18_startup_3_2", "K")
    const key = ok(frame)
    expect(key._tag === "BackendKeyData" && key.secretKey.length).toBe(32)
    expect(key._tag === "BackendKeyData" && key.secretKey.buffer).not.toBe(frame.buffer)
  })

  it("the unframed answers to SSLRequest and GSSENCRequest", () => {
    const answers = (name: string) => capture(name).filter((l) => l.dir === "B" && l.bytes.length === 1)
    expect(decodeSslResponse(answers("pg18_ssl_refused")[0]!.bytes)).toBe("N")
    expect(decodeGssEncResponse(answers("pg18_gssenc")[0]!.bytes)).toBe("N")
    // Debian's PostgreSQL 15 is built with GSSAPI and accepts GSS encryption.
    expect(decodeGssEncResponse(answers("pg15_gssenc")[0]!.bytes)).toBe("G")
  })
})

describe("spec-built frames for messages the capture servers do not send", () => {
  // The last element says whether the test encoder reproduces the frame (not for omitted S/C/M).
  const cases: Array<[string, Uint8Array, BackendMessage, boolean?]> = [
    ["AuthenticationKerberosV5", Bytes.frame("R", new Bytes().i32(2)), { _tag: "AuthenticationKerberosV5" }],
    ["AuthenticationGSS", Bytes.frame("R", new Bytes().i32(7)), { _tag: "AuthenticationGSS" }],
    [
      "AuthenticationGSSContinue",
      Bytes.frame("R", new Bytes().i32(8).u8(1).u8(2)),
      { _tag: "AuthenticationGSSContinue", data: new Uint8Array([1, 2]) }
    ],
    ["AuthenticationSSPI", Bytes.frame("R", new Bytes().i32(9)), { _tag: "AuthenticationSSPI" }],
    [
      "AuthenticationSCMCredential",
      Bytes.frame("R", new Bytes().i32(6)),
      { _tag: "AuthenticationSCMCredential" }
    ],
    [
      "an authentication code the protocol does not define: kept with its code and bytes",
      Bytes.frame("R", new Bytes().i32(99).u8(1).u8(2)),
      { _tag: "AuthenticationUnknown", code: 99, data: Uint8Array.from([1, 2]) }
    ],
    [
      "AuthenticationSASL with PLUS",
      Bytes.frame("R", new Bytes().i32(10).cstr("SCRAM-SHA-256-PLUS").cstr("SCRAM-SHA-256").u8(0)),
      { _tag: "AuthenticationSASL", mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"] }
    ],
    [
      "ErrorResponse with an unknown field code",
      Bytes.frame(
        "E",
        new Bytes()
          .u8(0x53)
          .cstr("ERROR")
          .u8(0x43)
          .cstr("XX000")
          .u8(0x4d)
          .cstr("m")
          .u8(0x5a)
          .cstr("future")
          .u8(0)
      ),
      {
        _tag: "ErrorResponse",
        fields: { severity: "ERROR", code: "XX000", message: "m", unknown: [{ code: "Z", value: "future" }] }
      }
    ],
    [
      "ErrorResponse without S/C/M (non-conforming peer)",
      Bytes.frame("E", new Bytes().u8(0)),
      { _tag: "ErrorResponse", fields: { severity: "", code: "", message: "" } },
      false
    ],
    [
      "BackendKeyData with a 256-byte key",
      Bytes.frame("K", new Bytes().i32(-5).raw(new Uint8Array(256).fill(7))),
      { _tag: "BackendKeyData", processId: -5, secretKey: new Uint8Array(256).fill(7) }
    ],
    [
      "ParameterDescription with OID > 2^31",
      Bytes.frame("t", new Bytes().i16(1).i32(-1)),
      { _tag: "ParameterDescription", oids: [4294967295] }
    ],
    ["DataRow with zero columns", Bytes.frame("D", new Bytes().i16(0)), { _tag: "DataRow", columns: [] }],
    [
      "NegotiateProtocolVersion without options",
      fromHex("76 0000000c 00030000 00000000"),
      { _tag: "NegotiateProtocolVersion", newestMajor: 3, newestMinor: 0, unrecognizedOptions: [] }
    ]
  ]
  for (const [name, frame, expected, reencodes = true] of cases) {
    it(name, () => {
      expect(decodeFrame(frame)).toEqual(expected)
      if (reencodes) expect(toHex(encodeBackend(expected))).toBe(toHex(frame))
    })
  }
})

describe("malformed bodies", () => {
  const cases: Array<[string, string, Uint8Array, ProtocolError["reason"]]> = [
    ["unknown type", "x", new Uint8Array(0), "UnknownMessage"],
    ["AuthenticationSCMCredential with extra bytes", "R", Uint8Array.from([0, 0, 0, 6, 1]), "TrailingBytes"],
    ["AuthenticationOk with extra bytes", "R", Uint8Array.from([0, 0, 0, 0, 1]), "TrailingBytes"],
    ["short auth code", "R", Uint8Array.from([0, 0]), "Truncated"],
    ["MD5 salt cut short", "R", Uint8Array.from([0, 0, 0, 5, 1, 2]), "Truncated"],
    ["SASL list without terminator", "R", Uint8Array.from([0, 0, 0, 10, 0x41, 0]), "Truncated"],
    ["SASL mechanism without NUL", "R", Uint8Array.from([0, 0, 0, 10, 0x41]), "MissingNul"],
    ["BackendKeyData key of 3 bytes", "K", Uint8Array.from([0, 0, 0, 1, 1, 2, 3]), "InvalidLength"],
    ["BackendKeyData key of 257 bytes", "K", new Uint8Array(4 + 257), "InvalidLength"],
    ["CommandComplete without NUL", "C", Uint8Array.from([0x53]), "MissingNul"],
    ["CommandComplete with trailing bytes", "C", Uint8Array.from([0x53, 0, 0]), "TrailingBytes"],
    ["ReadyForQuery bad status", "Z", Uint8Array.from([0x58]), "InvalidValue"],
    ["ReadyForQuery empty", "Z", new Uint8Array(0), "Truncated"],
    ["ReadyForQuery two bytes", "Z", Uint8Array.from([0x49, 0x49]), "TrailingBytes"],
    ["ParseComplete with a body", "1", Uint8Array.from([0]), "TrailingBytes"],
    ["DataRow without count", "D", Uint8Array.from([0]), "Truncated"],
    ["DataRow column length -2", "D", Uint8Array.from([0, 1, 0xff, 0xff, 0xff, 0xfe]), "InvalidLength"],
    ["DataRow column past the end", "D", Uint8Array.from([0, 1, 0, 0, 0, 5, 1]), "Truncated"],
    ["DataRow fewer columns than counted", "D", Uint8Array.from([0, 2, 0xff, 0xff, 0xff, 0xff]), "Truncated"],
    ["DataRow trailing bytes", "D", Uint8Array.from([0, 0, 9]), "TrailingBytes"],
    ["RowDescription field cut short", "T", Uint8Array.from([0, 1, 0x61, 0, 0, 0]), "Truncated"],
    [
      "RowDescription bad format",
      "T",
      Uint8Array.from([
        0, 1, 0x61, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x19, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 2
      ]),
      "InvalidValue"
    ],
    ["CopyOutResponse bad overall format", "H", Uint8Array.from([2, 0, 0]), "InvalidValue"],
    ["CopyInResponse bad column format", "G", Uint8Array.from([0, 0, 1, 0, 7]), "InvalidValue"],
    ["CopyInResponse fewer formats than counted", "G", Uint8Array.from([0, 0, 2, 0, 0]), "Truncated"],
    ["ErrorResponse without final zero", "E", Uint8Array.from([0x53, 0x45, 0]), "Truncated"],
    ["ErrorResponse value without NUL", "E", Uint8Array.from([0x53, 0x45]), "MissingNul"],
    ["ErrorResponse bytes after the terminator", "E", Uint8Array.from([0, 0]), "TrailingBytes"],
    ["FunctionCallResponse length -2", "V", Uint8Array.from([0xff, 0xff, 0xff, 0xfe]), "InvalidLength"],
    ["FunctionCallResponse value cut short", "V", Uint8Array.from([0, 0, 0, 2, 1]), "Truncated"],
    [
      "NegotiateProtocolVersion negative count",
      "v",
      Uint8Array.from([0, 3, 0, 0, 0xff, 0xff, 0xff, 0xff]),
      "InvalidLength"
    ],
    [
      "NegotiateProtocolVersion huge count",
      "v",
      Uint8Array.from([0, 3, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0x61, 0]),
      "Truncated"
    ],
    ["NotificationResponse without payload", "A", Uint8Array.from([0, 0, 0, 1, 0x63, 0]), "Truncated"],
    ["ParameterStatus without value", "S", Uint8Array.from([0x61, 0]), "Truncated"],
    ["ParameterDescription cut short", "t", Uint8Array.from([0, 2, 0, 0, 0, 23]), "Truncated"]
  ]
  for (const [name, type, body, reason] of cases) {
    it(name, () => {
      const result = decodeBackend(type.charCodeAt(0), body)
      expect(result).toBeInstanceOf(ProtocolError)
      expect((result as ProtocolError).reason).toBe(reason)
      expect((result as ProtocolError).messageType).toBe(type.charCodeAt(0))
    })
  }
})

describe("round trip of random backend messages", () => {
  it("test-only encoder → decodeBackend gives the same message", () => {
    fc.assert(
      fc.property(backendMessage, (m) => {
        const frame = encodeBackend(m)
        expect(decodeFrame(frame)).toEqual(m)
      }),
      { numRuns: 3000 }
    )
  })
})
