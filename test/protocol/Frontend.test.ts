/**
 * Frontend encoding: every client frame captured from libpq 15 / libpq 18 (psql, pgbench) and
 * from the scripted capture client is reproduced byte for byte by our encoders; spec-derived hex
 * for each message; validation errors; batching; random round trips through a test-only decoder.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as F from "../../src/protocol/Frontend.ts"
import { ProtocolError } from "../../src/protocol/ProtocolError.ts"
import { Writer } from "../../src/protocol/Writer.ts"
import { bindInput, bytes, cstring, format, nonEmptyCstring, uint32 } from "./support/arbitraries.ts"
import { capture, captureNames, concat, findServerFrame, toHex, utf8 } from "./support/bytes.ts"
import {
  asPassword,
  asSASLInitialResponse,
  decodeTyped,
  decodeUntyped,
  type FrontendMessage
} from "./support/FrontendDecoder.ts"

const must = (x: Uint8Array | ProtocolError): Uint8Array => {
  if (x instanceof ProtocolError) throw new Error(`${x.reason}: ${x.message}`)
  return x
}

/** Re-encodes a decoded client frame with our encoders; `authCode` disambiguates 'p'. */
const reencode = (m: FrontendMessage, authCode: number): { kind: string; bytes: Uint8Array } => {
  switch (m._tag) {
    case "StartupMessage":
      return { kind: `StartupMessage ${m.major}.${m.minor}`, bytes: must(F.encodeStartup(m)) }
    case "SSLRequest":
      return { kind: m._tag, bytes: F.encodeSSLRequest() }
    case "GSSENCRequest":
      return { kind: m._tag, bytes: F.encodeGSSENCRequest() }
    case "CancelRequest":
      return { kind: `CancelRequest/${m.secretKey.length}`, bytes: must(F.encodeCancelRequest(m)) }
    case "Query":
      return { kind: m._tag, bytes: must(F.encodeQuery(m.sql)) }
    case "Parse":
      return { kind: m._tag, bytes: must(F.encodeParse(m.name, m.sql, m.paramTypes)) }
    case "Bind":
      return {
        kind: m._tag,
        bytes: must(
          F.encodeBind(
            m.portal,
            m.statement,
            m.params,
            m.paramFormats as Array<0 | 1>,
            m.resultFormats as Array<0 | 1>
          )
        )
      }
    case "Describe":
      return { kind: `Describe ${m.target}`, bytes: must(F.encodeDescribe(m.target, m.name)) }
    case "Close":
      return { kind: `Close ${m.target}`, bytes: must(F.encodeClose(m.target, m.name)) }
    case "Execute":
      return { kind: m._tag, bytes: must(F.encodeExecute(m.portal, m.maxRows)) }
    case "Sync":
      return { kind: m._tag, bytes: F.encodeSync() }
    case "Flush":
      return { kind: m._tag, bytes: F.encodeFlush() }
    case "Terminate":
      return { kind: m._tag, bytes: F.encodeTerminate() }
    case "CopyDone":
      return { kind: m._tag, bytes: F.encodeCopyDone() }
    case "CopyData":
      return { kind: m._tag, bytes: must(F.encodeCopyData(m.data)) }
    case "CopyFail":
      return { kind: m._tag, bytes: must(F.encodeCopyFail(m.message)) }
    case "FunctionCall":
      return {
        kind: m._tag,
        bytes: must(
          F.encodeFunctionCall(m.oid, m.args, m.argFormats as Array<0 | 1>, m.resultFormat as 0 | 1)
        )
      }
    case "PasswordFamily":
      if (authCode === 3 || authCode === 5)
        return { kind: `PasswordMessage/${authCode}`, bytes: must(F.encodePassword(asPassword(m.body))) }
      if (authCode === 10) {
        const r = asSASLInitialResponse(m.body)
        return { kind: "SASLInitialResponse", bytes: must(F.encodeSASLInitialResponse(r.mechanism, r.data)) }
      }
      if (authCode === 11) return { kind: "SASLResponse", bytes: must(F.encodeSASLResponse(m.body)) }
      return { kind: "GSSResponse", bytes: must(F.encodeGSSResponse(m.body)) }
  }
}

describe("client frames captured from libpq and the scripted client", () => {
  it("are reproduced byte for byte, covering every frontend message", () => {
    const kinds = new Map<string, number>()
    for (const name of captureNames) {
      let authCode = -1
      for (const line of capture(name)) {
        if (line.dir === "B") {
          if (line.bytes[0] === 0x52 && line.bytes.length >= 9) authCode = line.bytes[8]!
          continue
        }
        const untyped = line.bytes[0] === 0
        const m = untyped ? decodeUntyped(line.bytes) : decodeTyped(line.bytes)
        const { kind, bytes } = reencode(m, authCode)
        expect(toHex(bytes), `${name}: ${kind}`).toBe(toHex(line.bytes))
        const key = `${name.includes("libpq") ? "libpq" : "scripted"} ${kind}`
        kinds.set(key, (kinds.get(key) ?? 0) + 1)
      }
    }
    const seen = [...kinds.keys()]
    for (const kind of [
      "libpq StartupMessage 3.0",
      "libpq StartupMessage 3.2",
      "libpq SSLRequest",
      "libpq CancelRequest/4",
      "libpq CancelRequest/32",
      "libpq PasswordMessage/3",
      "libpq PasswordMessage/5",
      "libpq SASLInitialResponse",
      "libpq SASLResponse",
      "libpq Query",
      "libpq Parse",
      "libpq Bind",
      "libpq Describe P",
      "libpq Describe S",
      "libpq Execute",
      "libpq Sync",
      "libpq CopyData",
      "libpq CopyDone",
      "libpq Terminate",
      "scripted GSSENCRequest",
      "scripted Close S",
      "scripted Close P",
      "scripted Flush",
      "scripted CopyFail",
      "scripted FunctionCall"
    ])
      expect(seen, kind).toContain(kind)
  })

  it("libpq 18's 3.2 CancelRequest carries the 32-byte key of BackendKeyData", () => {
    const keyFrame = findServerFrame("pg18_libpq18_psql_cancel_0", "K")
    const cancel = capture("pg18_libpq18_psql_cancel_1")[0]!.bytes
    const view = new DataView(keyFrame.buffer, keyFrame.byteOffset)
    const ours = must(F.encodeCancelRequest({ processId: view.getInt32(5), secretKey: keyFrame.subarray(9) }))
    expect(ours.length).toBe(44)
    expect(toHex(ours)).toBe(toHex(cancel))
  })
})

describe("spec-derived bytes", () => {
  const cases: Array<[string, Uint8Array | ProtocolError, string]> = [
    ["Sync", F.SYNC, "5300000004"],
    ["Flush", F.FLUSH, "4800000004"],
    ["Terminate", F.TERMINATE, "5800000004"],
    ["CopyDone", F.COPY_DONE, "6300000004"],
    ["SSLRequest", F.SSL_REQUEST, "0000000804d2162f"],
    ["GSSENCRequest", F.GSSENC_REQUEST, "0000000804d21630"],
    ["Describe unnamed portal", F.DESCRIBE_UNNAMED_PORTAL, toHex(must(F.encodeDescribe("P", "")))],
    ["Describe unnamed statement", F.DESCRIBE_UNNAMED_STATEMENT, toHex(must(F.encodeDescribe("S", "")))],
    ["Execute unnamed", F.EXECUTE_UNNAMED, toHex(must(F.encodeExecute("", 0)))],
    [
      "Startup 3.0",
      F.encodeStartup({ parameters: { user: "u" } }),
      "00000010" + "00030000" + "7573657200" + "7500" + "00"
    ],
    ["Startup 3.2", F.encodeStartup({ parameters: {}, minor: 2 }), "00000009" + "00030002" + "00"],
    [
      "Cancel 3.0",
      F.encodeCancelRequest({ processId: 0x1234, secretKey: Uint8Array.of(1, 2, 3, 4) }),
      "00000010" + "04d2162e" + "00001234" + "01020304"
    ],
    [
      "Cancel with pid > 2^31",
      F.encodeCancelRequest({ processId: 0xfffffffe, secretKey: Uint8Array.of(9, 9, 9, 9) }),
      "0000001004d2162efffffffe09090909"
    ],
    ["Query", F.encodeQuery("SELECT 1"), "510000000d53454c454354203100"],
    [
      "Parse",
      F.encodeParse("", "SELECT $1", [23]),
      "500000001500" + "53454c454354202431" + "00" + "0001" + "00000017"
    ],
    ["Parse OID 2^32-1", F.encodeParse("s", "", [0xffffffff]), "500000000d73000000" + "01ffffffff"],
    [
      "Bind mixed",
      F.encodeBind("p", "s", [Uint8Array.of(0, 0, 0, 7), "é", null], [1, 0, 0], [1]),
      "42" +
        "00000028" +
        "7000" +
        "7300" +
        "0003000100000000" +
        "0003" +
        "0000000400000007" +
        "00000002c3a9" +
        "ffffffff" +
        "00010001"
    ],
    ["Describe S", F.encodeDescribe("S", "st"), "44000000085373740" + "0"],
    ["Close P", F.encodeClose("P", "pt"), "43000000085070740" + "0"],
    ["Execute with maxRows", F.encodeExecute("pt", 100), "450000000b70740000000064"],
    ["CopyData", F.encodeCopyData(Uint8Array.of(1, 2)), "64000000060102"],
    ["CopyData header", F.encodeCopyDataHeader(2), "6400000006"],
    ["CopyFail", F.encodeCopyFail("no"), "66000000076e6f00"],
    ["PasswordMessage", F.encodePassword("pw"), "700000000770770" + "0"],
    ["SASLInitialResponse without data", F.encodeSASLInitialResponse("X", null), "700000000a5800ffffffff"],
    [
      "SASLInitialResponse with data",
      F.encodeSASLInitialResponse("X", Uint8Array.of(0xab)),
      "700000000b580000000001ab"
    ],
    ["SASLResponse", F.encodeSASLResponse(Uint8Array.of(1)), "700000000501"],
    ["GSSResponse", F.encodeGSSResponse(Uint8Array.of(2, 3)), "70000000060203"],
    [
      "FunctionCall",
      F.encodeFunctionCall(1, ["a", null], [0], 1),
      "46000000190000000100010000000200000001" + "61ffffffff0001"
    ]
  ]
  for (const [name, actual, hex] of cases) {
    it(name, () => expect(toHex(must(actual))).toBe(hex))
  }
})

describe("validation", () => {
  const nul = "a\0b"
  const many = Array.from({ length: 65536 }, () => null)
  const cases: Array<[string, (w: Writer) => ProtocolError | undefined, ProtocolError["reason"]]> = [
    ["NUL in query", (w) => F.writeQuery(w, nul), "InvalidValue"],
    ["NUL in long query", (w) => F.writeQuery(w, `${"x".repeat(200)}\0`), "InvalidValue"],
    ["NUL in non-ASCII query", (w) => F.writeQuery(w, "é\0"), "InvalidValue"],
    ["NUL in statement name", (w) => F.writeParse(w, nul, "", []), "InvalidValue"],
    ["NUL in Parse SQL", (w) => F.writeParse(w, "", nul, []), "InvalidValue"],
    [
      "65536 parameter types",
      (w) =>
        F.writeParse(
          w,
          "",
          "",
          many.map(() => 0)
        ),
      "InvalidValue"
    ],
    ["negative OID", (w) => F.writeParse(w, "", "", [-1]), "InvalidValue"],
    ["OID above 2^32-1", (w) => F.writeParse(w, "", "", [2 ** 32]), "InvalidValue"],
    ["fractional OID", (w) => F.writeParse(w, "", "", [1.5]), "InvalidValue"],
    ["NUL in portal", (w) => F.writeBind(w, nul, "", []), "InvalidValue"],
    ["NUL in Bind statement", (w) => F.writeBind(w, "", nul, []), "InvalidValue"],
    ["65536 parameters", (w) => F.writeBind(w, "", "", many), "InvalidValue"],
    ["2 formats for 3 parameters", (w) => F.writeBind(w, "", "", [null, null, null], [0, 1]), "InvalidValue"],
    ["bad parameter format", (w) => F.writeBind(w, "", "", [null], [2 as 0]), "InvalidValue"],
    ["bad result format", (w) => F.writeBind(w, "", "", [], [], [0, -1 as 0]), "InvalidValue"],
    [
      "65536 result formats",
      (w) =>
        F.writeBind(
          w,
          "",
          "",
          [],
          [],
          many.map(() => 0 as const)
        ),
      "InvalidValue"
    ],
    ["parameter of a wrong type", (w) => F.writeBind(w, "", "", [42 as unknown as string]), "InvalidValue"],
    ["Describe target X", (w) => F.writeDescribe(w, "X" as "S", ""), "InvalidValue"],
    ["NUL in Close name", (w) => F.writeClose(w, "S", nul), "InvalidValue"],
    ["negative maxRows", (w) => F.writeExecute(w, "", -1), "InvalidValue"],
    ["maxRows above 2^31-1", (w) => F.writeExecute(w, "", 2 ** 31), "InvalidValue"],
    ["fractional maxRows", (w) => F.writeExecute(w, "", 0.5), "InvalidValue"],
    ["NUL in Execute portal", (w) => F.writeExecute(w, nul, 0), "InvalidValue"],
    ["empty startup parameter name", (w) => F.writeStartup(w, { parameters: { "": "x" } }), "InvalidValue"],
    ["NUL in startup value", (w) => F.writeStartup(w, { parameters: { user: nul } }), "InvalidValue"],
    ["NUL in startup name", (w) => F.writeStartup(w, { parameters: { [nul]: "x" } }), "InvalidValue"],
    [
      "startup over 10000 bytes",
      (w) => F.writeStartup(w, { parameters: { options: "x".repeat(10000) } }),
      "MessageTooLarge"
    ],
    ["negative protocol minor", (w) => F.writeStartup(w, { parameters: {}, minor: -1 }), "InvalidValue"],
    [
      "protocol major above 65535",
      (w) => F.writeStartup(w, { parameters: {}, major: 65536 }),
      "InvalidValue"
    ],
    [
      "cancel key of 3 bytes",
      (w) => F.writeCancelRequest(w, { processId: 1, secretKey: new Uint8Array(3) }),
      "InvalidValue"
    ],
    [
      "cancel key of 257 bytes",
      (w) => F.writeCancelRequest(w, { processId: 1, secretKey: new Uint8Array(257) }),
      "InvalidValue"
    ],
    [
      "cancel pid out of range",
      (w) => F.writeCancelRequest(w, { processId: 2 ** 32, secretKey: new Uint8Array(4) }),
      "InvalidValue"
    ],
    ["NUL in password", (w) => F.writePassword(w, nul), "InvalidValue"],
    ["NUL in SASL mechanism", (w) => F.writeSASLInitialResponse(w, nul, null), "InvalidValue"],
    ["NUL in CopyFail message", (w) => F.writeCopyFail(w, nul), "InvalidValue"],
    ["FunctionCall bad OID", (w) => F.writeFunctionCall(w, -1, []), "InvalidValue"],
    ["FunctionCall bad result format", (w) => F.writeFunctionCall(w, 1, [], [], 3 as 0), "InvalidValue"],
    [
      "FunctionCall format count",
      (w) => F.writeFunctionCall(w, 1, [null, null, null], [0, 0]),
      "InvalidValue"
    ]
  ]
  for (const [name, write, reason] of cases) {
    it(`${name} → ${reason}, and the Writer is rolled back`, () => {
      const w = new Writer(16)
      w.bytes(F.SYNC)
      const error = write(w)
      expect(error).toBeInstanceOf(ProtocolError)
      expect(error?.reason).toBe(reason)
      expect(toHex(w.finish())).toBe("5300000004")
    })
  }

  it("encodeX returns the error and leaves the shared scratch buffer clean", () => {
    expect(F.encodeQuery(nul)).toBeInstanceOf(ProtocolError)
    expect(toHex(must(F.encodeQuery("")))).toBe("510000000500")
  })

  it("CopyData header rejects impossible lengths", () => {
    expect(F.encodeCopyDataHeader(-1)).toBeInstanceOf(ProtocolError)
    expect(F.encodeCopyDataHeader(2 ** 30)).toBeInstanceOf(ProtocolError)
    expect(F.encodeCopyDataHeader(0.5)).toBeInstanceOf(ProtocolError)
  })
})

describe("batching into one Writer", () => {
  it("Parse + Bind + Describe + Execute + Sync is one buffer equal to the single frames", () => {
    const w = new Writer(8)
    expect(F.writeParse(w, "", "SELECT $1::int4, $2", [23, 0])).toBeUndefined()
    expect(F.writeBind(w, "", "", [Uint8Array.of(0, 0, 0, 1), "two"], [1, 0], [1])).toBeUndefined()
    expect(F.writeDescribe(w, "P", "")).toBeUndefined()
    expect(F.writeExecute(w, "", 0)).toBeUndefined()
    F.writeSync(w)
    const expected = concat([
      must(F.encodeParse("", "SELECT $1::int4, $2", [23, 0])),
      must(F.encodeBind("", "", [Uint8Array.of(0, 0, 0, 1), "two"], [1, 0], [1])),
      F.DESCRIBE_UNNAMED_PORTAL,
      F.EXECUTE_UNNAMED,
      F.SYNC
    ])
    expect(toHex(w.finish())).toBe(toHex(expected))
    expect(w.length).toBe(0)
  })

  it("a failing frame in the middle leaves the earlier frames intact", () => {
    const w = new Writer()
    F.writeQuery(w, "SELECT 1")
    expect(F.writeBind(w, "", "", ["ok", "bad", null], [0, 0])).toBeInstanceOf(ProtocolError)
    F.writeSync(w)
    expect(toHex(w.finish())).toBe(toHex(concat([must(F.encodeQuery("SELECT 1")), F.SYNC])))
  })
})

describe("string encoding", () => {
  it("encodes ASCII, non-ASCII, astral and long strings as UTF-8", () => {
    for (const s of [
      "",
      "abc",
      "žluťoučký kůň",
      "😀 emoji",
      "x".repeat(100),
      `${"é".repeat(70_000)}z`,
      "a".repeat(70_000)
    ]) {
      const m = decodeTyped(must(F.encodeQuery(s)))
      expect(m._tag === "Query" && m.sql === s).toBe(true)
    }
  })

  it("replaces lone surrogates with U+FFFD, as TextEncoder does", () => {
    const m = decodeTyped(must(F.encodeQuery("a\ud800b")))
    expect(m._tag === "Query" && m.sql).toBe("a\ufffdb")
    const bind = decodeTyped(must(F.encodeBind("", "", [`${"z".repeat(80_000)}\udc00`])))
    expect(bind._tag === "Bind" && toHex(bind.params[0]!.subarray(80_000))).toBe("efbfbd")
  })
})

describe("round trips of random inputs through the test decoder", () => {
  const run = <Ts extends Array<unknown>>(p: fc.IProperty<Ts>) => fc.assert(p, { numRuns: 1500 })

  it("Bind", () =>
    run(
      fc.property(bindInput, (b) => {
        const m = decodeTyped(
          must(F.encodeBind(b.portal, b.statement, b.params, b.paramFormats, b.resultFormats))
        )
        expect(m).toEqual({
          _tag: "Bind",
          portal: b.portal,
          statement: b.statement,
          paramFormats: b.paramFormats,
          params: b.params.map((p) => (typeof p === "string" ? utf8(p) : p)),
          resultFormats: b.resultFormats
        })
      })
    ))

  it("Parse, Query, Describe, Close, Execute", () =>
    run(
      fc.property(
        cstring,
        cstring,
        fc.array(uint32, { maxLength: 20 }),
        fc.nat(0x7fffffff),
        (name, sql, types, maxRows) => {
          expect(decodeTyped(must(F.encodeParse(name, sql, types)))).toEqual({
            _tag: "Parse",
            name,
            sql,
            paramTypes: types
          })
          expect(decodeTyped(must(F.encodeQuery(sql)))).toEqual({ _tag: "Query", sql })
          expect(decodeTyped(must(F.encodeDescribe("S", name)))).toEqual({
            _tag: "Describe",
            target: "S",
            name
          })
          expect(decodeTyped(must(F.encodeClose("P", name)))).toEqual({ _tag: "Close", target: "P", name })
          expect(decodeTyped(must(F.encodeExecute(name, maxRows)))).toEqual({
            _tag: "Execute",
            portal: name,
            maxRows
          })
        }
      )
    ))

  it("StartupMessage and CancelRequest", () =>
    run(
      fc.property(
        fc.dictionary(nonEmptyCstring, cstring, { maxKeys: 6 }),
        fc.nat(0xffff),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.uint8Array({ minLength: 4, maxLength: 256 }),
        (parameters, minor, processId, secretKey) => {
          expect(decodeUntyped(must(F.encodeStartup({ parameters, minor })))).toEqual({
            _tag: "StartupMessage",
            major: 3,
            minor,
            parameters
          })
          expect(decodeUntyped(must(F.encodeCancelRequest({ processId, secretKey })))).toEqual({
            _tag: "CancelRequest",
            processId,
            secretKey
          })
        }
      )
    ))

  it("COPY, authentication and FunctionCall messages", () =>
    run(
      fc.property(
        bytes(200),
        cstring,
        fc.option(bytes(), { nil: null }),
        bindInput,
        format,
        (data, text, initial, b, rf) => {
          expect(decodeTyped(must(F.encodeCopyData(data)))).toEqual({ _tag: "CopyData", data })
          expect(decodeTyped(must(F.encodeCopyFail(text)))).toEqual({ _tag: "CopyFail", message: text })
          const pw = decodeTyped(must(F.encodePassword(text)))
          expect(pw._tag === "PasswordFamily" && asPassword(pw.body)).toBe(text)
          const sasl = decodeTyped(must(F.encodeSASLInitialResponse(text, initial)))
          expect(sasl._tag === "PasswordFamily" && asSASLInitialResponse(sasl.body)).toEqual({
            mechanism: text,
            data: initial
          })
          expect(decodeTyped(must(F.encodeSASLResponse(data)))).toEqual({
            _tag: "PasswordFamily",
            body: data
          })
          expect(decodeTyped(must(F.encodeFunctionCall(7, b.params, b.paramFormats, rf)))).toEqual({
            _tag: "FunctionCall",
            oid: 7,
            argFormats: b.paramFormats,
            args: b.params.map((p) => (typeof p === "string" ? utf8(p) : p)),
            resultFormat: rf
          })
        }
      )
    ))
})
