/**
 * Fuzzing the replication decoders in the normal suite (seeded, deterministic). Random valid
 * messages of every kind and context round-trip exactly; well over 100,000 mutated and random
 * pgoutput bodies, and XLogData / keepalive bodies wrapping them, must each decode to a message or
 * a ProtocolError with a known reason: no exception escapes, nothing hangs, and any body that
 * decodes re-encodes to the same bytes (nothing skipped, nothing read twice).
 */
import { describe, expect, it } from "vitest"
import { ProtocolError, type ProtocolErrorReason } from "../../src/protocol/ProtocolError.ts"
import { decodeReplicationServerMessage } from "../../src/replication/CopyData.ts"
import type { PgOutputMessage, TupleColumn, TupleData } from "../../src/replication/PgOutputMessage.ts"
import { decodePgOutput, type PgOutputContext } from "../../src/replication/pgoutput.ts"
import { concat, encodePgOutput, pgoutput, rng } from "./support/wire.ts"

type Random = ReturnType<typeof rng>

const REASONS = new Set<ProtocolErrorReason>([
  "InvalidLength",
  "Truncated",
  "MissingNul",
  "UnknownMessage",
  "InvalidValue",
  "TrailingBytes"
])

const CONTEXTS: ReadonlyArray<PgOutputContext> = [
  { protocolVersion: 1, inStream: false },
  { protocolVersion: 2, inStream: false },
  { protocolVersion: 2, inStream: true },
  { protocolVersion: 3, inStream: true },
  { protocolVersion: 4, inStream: false, parallelStreaming: true },
  { protocolVersion: 4, inStream: true, parallelStreaming: false }
]

const u32 = (r: Random) => (r.int(2) === 0 ? r.int(100) : r.int(0x1_0000_0000))
const u64 = (r: Random) => (BigInt(u32(r)) << 32n) | BigInt(u32(r))
const i64 = (r: Random) => BigInt.asIntN(64, u64(r))
const name = (r: Random) => r.pick(["", "a", "public", "ünïcode", "x".repeat(r.int(70))])

const column = (r: Random): TupleColumn => {
  switch (r.int(4)) {
    case 0:
      return { kind: "null" }
    case 1:
      return { kind: "unchanged" }
    default:
      return { kind: r.int(2) === 0 ? "text" : "binary", bytes: r.bytes(r.int(20)) }
  }
}
const tuple = (r: Random): TupleData => Array.from({ length: r.int(6) }, () => column(r))
const old = (r: Random) => ({
  kind: r.int(2) === 0 ? ("key" as const) : ("full" as const),
  columns: tuple(r)
})

/** A random valid message for `context` (the xid prefix and abort fields follow the context). */
const randomMessage = (r: Random, context: PgOutputContext): PgOutputMessage => {
  const xid = context.inStream ? u32(r) : undefined
  const streaming = context.protocolVersion >= 2
  const kinds = streaming ? 19 : 14
  const k = r.int(kinds)
  const prepared = {
    flags: 0,
    prepareLsn: u64(r),
    endLsn: u64(r),
    prepareTime: i64(r),
    xid: u32(r),
    gid: name(r)
  }
  switch (k) {
    case 0:
      return { _tag: "Begin", finalLsn: u64(r), commitTime: i64(r), xid: u32(r) }
    case 1:
      return { _tag: "Commit", flags: r.int(2), commitLsn: u64(r), endLsn: u64(r), commitTime: i64(r) }
    case 2:
      return { _tag: "Origin", originLsn: u64(r), name: name(r) }
    case 3: {
      const columns = Array.from({ length: r.int(5) }, () => {
        const flags = r.int(2)
        return { flags, isKey: flags === 1, name: name(r), typeOid: u32(r), typeModifier: u32(r) | 0 }
      })
      const replicaIdentity = r.pick(["d", "n", "f", "i"] as const)
      return {
        _tag: "Relation",
        xid,
        relationOid: u32(r),
        namespace: name(r),
        name: name(r),
        replicaIdentity,
        columns
      }
    }
    case 4:
      return { _tag: "Type", xid, typeOid: u32(r), namespace: name(r), name: name(r) }
    case 5:
      return { _tag: "Insert", xid, relationOid: u32(r), row: tuple(r) }
    case 6:
      return {
        _tag: "Update",
        xid,
        relationOid: u32(r),
        old: r.int(3) === 0 ? undefined : old(r),
        row: tuple(r)
      }
    case 7:
      return { _tag: "Delete", xid, relationOid: u32(r), old: old(r) }
    case 8: {
      const options = r.int(4)
      const relationOids = Array.from({ length: r.int(4) }, () => u32(r))
      return {
        _tag: "Truncate",
        xid,
        options,
        cascade: (options & 1) !== 0,
        restartIdentity: options > 1,
        relationOids
      }
    }
    case 9: {
      const flags = r.int(2)
      return {
        _tag: "Message",
        xid,
        flags,
        transactional: flags === 1,
        lsn: u64(r),
        prefix: name(r),
        content: r.bytes(r.int(30))
      }
    }
    case 10:
      return {
        _tag: "BeginPrepare",
        prepareLsn: u64(r),
        endLsn: u64(r),
        prepareTime: i64(r),
        xid: u32(r),
        gid: name(r)
      }
    case 11:
      return { _tag: "Prepare", ...prepared }
    case 12:
      return {
        _tag: "CommitPrepared",
        flags: 0,
        commitLsn: u64(r),
        endLsn: u64(r),
        commitTime: i64(r),
        xid: u32(r),
        gid: name(r)
      }
    case 13:
      return {
        _tag: "RollbackPrepared",
        flags: 0,
        prepareEndLsn: u64(r),
        rollbackEndLsn: u64(r),
        prepareTime: i64(r),
        rollbackTime: i64(r),
        xid: u32(r),
        gid: name(r)
      }
    case 14:
      return { _tag: "StreamStart", xid: u32(r), firstSegment: r.int(2) === 0 }
    case 15:
      return { _tag: "StreamStop" }
    case 16:
      return {
        _tag: "StreamCommit",
        xid: u32(r),
        flags: 0,
        commitLsn: u64(r),
        endLsn: u64(r),
        commitTime: i64(r)
      }
    case 17: {
      const parallel = context.parallelStreaming === true
      const abortLsn = parallel ? u64(r) : undefined
      return {
        _tag: "StreamAbort",
        xid: u32(r),
        subXid: u32(r),
        abortLsn,
        abortTime: parallel ? i64(r) : undefined
      }
    }
    default:
      return { _tag: "StreamPrepare", ...prepared }
  }
}

/** A string field holds U+FFFD (from invalid UTF-8). */
const lossy = (m: PgOutputMessage): boolean =>
  Object.values(m).some((v) => typeof v === "string" && v.includes("\uFFFD")) ||
  (m._tag === "Relation" && m.columns.some((c) => c.name.includes("\uFFFD")))

const setInt32 = (b: Uint8Array, at: number, v: number) => {
  b[at] = v >>> 24
  b[at + 1] = v >>> 16
  b[at + 2] = v >>> 8
  b[at + 3] = v
}

const mutate = (r: Random, input: Uint8Array): Uint8Array => {
  let out: Uint8Array = input.slice()
  for (let m = 0, n = 1 + r.int(3); m < n; m++) {
    switch (r.int(8)) {
      case 0: // bit flips
        for (let i = 0, k = 1 + r.int(4); i < k && out.length > 0; i++)
          out[r.int(out.length)]! ^= 1 << r.int(8)
        break
      case 1: // truncation
        out = out.subarray(0, r.int(out.length + 1))
        break
      case 2: // a count or length somewhere becomes huge, negative or off by a little
        if (out.length >= 5)
          setInt32(out, r.int(out.length - 3), r.pick([0xffffffff, 0x7fffffff, 0x8000, r.int(40)]))
        break
      case 3: // NULs become 'x'
        for (let i = 0; i < out.length; i++) if (out[i] === 0 && r.int(2) === 0) out[i] = 0x78
        break
      case 4: // another type byte
        if (out.length > 0)
          out[0] =
            r.int(3) === 0 ? r.int(256) : r.pick(Array.from("BCORYIUDTMSEcAbPKrpwk", (c) => c.charCodeAt(0)))
        break
      case 5: // bytes inserted
        {
          const at = r.int(out.length + 1)
          out = concat([out.subarray(0, at), r.bytes(1 + r.int(8)), out.subarray(at)])
        }
        break
      case 6: // bytes deleted
        {
          const at = r.int(out.length + 1)
          out = concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + r.int(8)))])
        }
        break
      default: // a tuple kind or marker byte changed
        if (out.length > 1)
          out[1 + r.int(out.length - 1)] = r.pick([0x6e, 0x75, 0x74, 0x62, 0x4b, 0x4f, 0x4e, 0, 0xff])
    }
  }
  return out
}

describe("fuzz", () => {
  it("20,000 random valid messages of every kind and context round-trip exactly", () => {
    const r = rng(17)
    const seen = new Set<string>()
    for (let i = 0; i < 20_000; i++) {
      const context = r.pick(CONTEXTS)
      const message = randomMessage(r, context)
      seen.add(message._tag)
      expect(decodePgOutput(encodePgOutput(message, context), context)).toEqual(message)
    }
    expect(seen.size).toBe(19)
  })

  it("200,000 mutated and random bodies: a message or a ProtocolError, never a throw", () => {
    const r = rng(0x5eed)
    const corpus = Array.from({ length: 2000 }, () => {
      const context = r.pick(CONTEXTS)
      return { context, data: encodePgOutput(randomMessage(r, context), context) }
    })
    const reasons = new Map<string, number>()
    const failures: Array<string> = []
    let messages = 0
    const started = performance.now()
    for (let i = 0; i < 200_000; i++) {
      const sample = r.pick(corpus)
      const context = r.int(10) === 0 ? r.pick(CONTEXTS) : sample.context
      const data = i % 10 === 0 ? r.bytes(r.int(60)) : mutate(r, sample.data)
      // Half the inputs arrive wrapped in an XLogData, as from START_REPLICATION.
      const wrapped = i % 2 === 0 ? pgoutput("w", (w) => w.u64(1n).u64(2n).u64(3n).raw(data)) : undefined
      try {
        const outer = wrapped === undefined ? undefined : decodeReplicationServerMessage(wrapped)
        if (outer !== undefined && (outer instanceof ProtocolError || outer._tag !== "XLogData"))
          failures.push(`input ${i}: XLogData did not decode`)
        const m = decodePgOutput(outer?._tag === "XLogData" ? outer.data : data, context)
        if (m instanceof ProtocolError) {
          if (!REASONS.has(m.reason)) failures.push(`input ${i}: reason ${m.reason}`)
          reasons.set(m.reason, (reasons.get(m.reason) ?? 0) + 1)
        } else {
          messages++
          // Invalid UTF-8 in names decodes to U+FFFD (lossy by design), so it cannot re-encode.
          const again = lossy(m) ? data : encodePgOutput(m, context)
          if (again.length !== data.length || again.some((b, j) => b !== data[j]))
            failures.push(`input ${i}: ${m._tag} does not re-encode to its bytes`)
        }
      } catch (e) {
        failures.push(`input ${i}: threw ${String(e)}`)
      }
    }
    expect(failures.slice(0, 5)).toEqual([])
    expect(messages).toBeGreaterThan(10_000)
    for (const reason of REASONS) expect(reasons.get(reason) ?? 0, reason).toBeGreaterThan(100)
    expect(performance.now() - started).toBeLessThan(30_000)
  })

  it("100,000 random and mutated replication CopyData bodies: a message or a ProtocolError", () => {
    const r = rng(99)
    const valid = [
      pgoutput("w", (w) => w.u64(1n).u64(2n).u64(3n).raw(r.bytes(10))),
      pgoutput("k", (w) => w.u64(1n).u64(2n).u8(1))
    ]
    let decoded = 0
    for (let i = 0; i < 100_000; i++) {
      const input = i % 3 === 0 ? r.bytes(r.int(40)) : mutate(r, r.pick(valid))
      const m = decodeReplicationServerMessage(input)
      if (m instanceof ProtocolError) expect(REASONS.has(m.reason)).toBe(true)
      else decoded++
    }
    expect(decoded).toBeGreaterThan(1000)
  })
})
