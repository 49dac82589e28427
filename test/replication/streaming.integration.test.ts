/**
 * pgoutput streaming and two-phase messages from real servers (PG18 and PG15, wal_level=logical,
 * logical_decoding_work_mem 64kB), read with `pg_logical_slot_peek_binary_changes` (which does
 * stream large transactions) and decoded by src/replication:
 * - a transaction of ~3000 rows with a rolled-back subtransaction of ~3000 more: stream blocks
 *   (Stream Start, Relation, Insert with the xid of the (sub)transaction, Stream Stop), Stream Abort
 *   for the subtransaction, Stream Commit; the same at protocol 3; at protocol 4 with streaming
 *   'parallel' (PG16+, so PG18 here) Stream Abort carries its LSN and time; without streaming the
 *   same slot gives one Begin … Commit without the rolled-back rows;
 * - a slot created with two_phase: Begin Prepare / Prepare / Commit Prepared, Rollback Prepared,
 *   Stream Prepare for a large prepared transaction; and the same messages at protocol 1.
 */
import { assert, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { formatLsn } from "../../src/replication/Lsn.ts"
import type {
  BeginPrepare,
  CommitPrepared,
  Insert,
  PgOutputMessage,
  Prepare,
  RollbackPrepared,
  StreamAbort,
  StreamCommit,
  StreamPrepare,
  StreamStart
} from "../../src/replication/PgOutputMessage.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { assertRecent, type Decoded, peekDecoded, run, slotSettings, summarize } from "./support/slot.ts"
import { show } from "./support/wire.ts"

/** The message type letters, runs of Inserts collapsed to "I+". */
const shape = (decoded: ReadonlyArray<Decoded>) =>
  decoded
    .map((d) => String.fromCharCode(d.data[0]!))
    .join("")
    .replace(/I{2,}/g, "I+")

const only = <T extends PgOutputMessage>(decoded: ReadonlyArray<Decoded>, tag: T["_tag"]): Array<T> =>
  decoded.flatMap((d) => (d.message._tag === tag ? [d.message as T] : []))

const ids = (inserts: ReadonlyArray<Insert>) => inserts.map((m) => Number(show(m.row[0]!)))
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const streamedScenario = (conn: ExpertConnection, version: number) =>
  Effect.gen(function* () {
    yield* run(
      conn,
      "create table big (id int4 primary key, body text)",
      "create publication pub for table big",
      "select pg_create_logical_replication_slot('streamed', 'pgoutput')",
      "begin",
      "insert into big select g, repeat('x', 100) from generate_series(1, 3000) g",
      "savepoint s",
      "insert into big select g, repeat('x', 100) from generate_series(3001, 6000) g",
      "rollback to s",
      "insert into big values (0, 'last')",
      "commit"
    )
    // A large transaction rolled back before the slot decodes it: PG18 skips it (no stream blocks,
    // no Stream Abort); PG15 may stream it in one peek and not in the next, so not there.
    if (version >= 16)
      yield* run(
        conn,
        "begin",
        "insert into big select g, repeat('z', 100) from generate_series(20001, 23000) g",
        "rollback"
      )
    const decoded = yield* peekDecoded(conn, "streamed", { protocolVersion: 2, streaming: "on" })
    // Stream blocks, the subtransaction's Stream Abort (outside a block), one more block with the
    // last row (the server sends the Relation again after an abort), Stream Commit.
    expect(shape(decoded)).toMatch(/^SRI\+E(SI\+E)*ASRIEc$/)
    const starts = only<StreamStart>(decoded, "StreamStart")
    const top = starts[0]!.xid
    expect(starts.map((s) => [s.xid, s.firstSegment])).toEqual(starts.map((_, i) => [top, i === 0]))
    const [abort] = only<StreamAbort>(decoded, "StreamAbort")
    expect(abort).toMatchObject({ xid: top, abortLsn: undefined, abortTime: undefined })
    const sub = abort!.subXid
    assert.notStrictEqual(sub, top)
    // Every row message inside a block carries its (sub)transaction's xid. The last row is in a
    // third one: ROLLBACK TO SAVEPOINT keeps the savepoint, so the next INSERT starts a new one.
    const inserts = only<Insert>(decoded, "Insert")
    const last = inserts.at(-1)!
    expect(ids([last])).toEqual([0])
    assert.isTrue(last.xid !== top && last.xid !== sub && last.xid !== undefined)
    expect(inserts.every((m) => m.xid === top || m.xid === sub || m.xid === last.xid)).toBe(true)
    expect(ids(inserts.filter((m) => m.xid === top))).toEqual(range(1, 3000))
    const streamedSub = ids(inserts.filter((m) => m.xid === sub))
    assert.isTrue(streamedSub.length > 0, "some of the subtransaction was streamed before its abort")
    expect(streamedSub).toEqual(range(3001, 3000 + streamedSub.length))
    const commit = decoded.at(-1)!
    const c = commit.message as StreamCommit
    expect(c).toMatchObject({ _tag: "StreamCommit", xid: top, flags: 0 })
    assert.isTrue(c.endLsn > c.commitLsn)
    assert.strictEqual(formatLsn(c.endLsn), commit.lsn)
    assertRecent(c.commitTime)

    // Protocol 3 streams the same; without streaming the same slot gives one plain transaction.
    const v3 = yield* peekDecoded(conn, "streamed", { protocolVersion: 3, streaming: "on" })
    expect(v3.map((d) => d.message)).toEqual(decoded.map((d) => d.message))
    const plain = yield* peekDecoded(conn, "streamed", { protocolVersion: 1 })
    expect(shape(plain)).toBe("BRI+C")
    expect(ids(only<Insert>(plain, "Insert"))).toEqual([...range(1, 3000), 0])
    expect(only<Insert>(plain, "Insert").every((m) => m.xid === undefined)).toBe(true)

    if (version >= 16) {
      // Protocol 4, streaming 'parallel': Stream Abort carries the abort record's LSN and time.
      const parallel = yield* peekDecoded(conn, "streamed", { protocolVersion: 4, streaming: "parallel" })
      const [withInfo] = only<StreamAbort>(parallel, "StreamAbort")
      expect(withInfo).toMatchObject({ xid: top, subXid: sub })
      assert.isTrue(withInfo!.abortLsn! > 0n && withInfo!.abortLsn! < c.commitLsn)
      assert.isTrue(withInfo!.abortTime! <= c.commitTime)
      assertRecent(withInfo!.abortTime!)
      const same = (d: ReadonlyArray<Decoded>) =>
        d.map((x) => (x.message._tag === "StreamAbort" ? "A" : x.message))
      expect(same(parallel)).toEqual(same(decoded))
    }
    yield* run(conn, "select pg_drop_replication_slot('streamed')")
  })

const twoPhaseScenario = (conn: ExpertConnection) =>
  Effect.gen(function* () {
    yield* run(
      conn,
      "select pg_create_logical_replication_slot('prepared', 'pgoutput', false, true)",
      "begin",
      "insert into big values (-1, 'small')",
      "prepare transaction 'small'",
      "commit prepared 'small'",
      "begin",
      "insert into big values (-2, 'undone')",
      "prepare transaction 'undone'",
      "rollback prepared 'undone'",
      "begin",
      "insert into big select g, repeat('y', 100) from generate_series(10001, 13000) g",
      "prepare transaction 'large'",
      "commit prepared 'large'"
    )
    const decoded = yield* peekDecoded(conn, "prepared", {
      protocolVersion: 3,
      streaming: "on",
      twoPhase: true
    })
    expect(shape(decoded)).toMatch(/^bRIPKbIPrSRI\+E(SI\+E)*pK$/)
    expect(summarize(decoded.slice(0, 9).map((d) => d.message))).toEqual([
      { BeginPrepare: "small" },
      { Relation: "public.big", identity: "d", columns: ["*id 23 -1", "body 25 -1"] },
      { Insert: "big", row: ["-1", "small"] },
      { Prepare: "small" },
      { CommitPrepared: "small" },
      { BeginPrepare: "undone" },
      { Insert: "big", row: ["-2", "undone"] },
      { Prepare: "undone" },
      { RollbackPrepared: "undone" }
    ])
    const [b1, b2] = only<BeginPrepare>(decoded, "BeginPrepare")
    const [p1, p2] = only<Prepare>(decoded, "Prepare")
    const [k1, k3] = only<CommitPrepared>(decoded, "CommitPrepared")
    const [rollback] = only<RollbackPrepared>(decoded, "RollbackPrepared")
    for (const [begin, prepare] of [
      [b1!, p1!],
      [b2!, p2!]
    ] as const) {
      expect(prepare).toMatchObject({ xid: begin.xid, prepareLsn: begin.prepareLsn, endLsn: begin.endLsn })
      assert.strictEqual(prepare.prepareTime, begin.prepareTime)
      assertRecent(prepare.prepareTime)
    }
    expect(k1).toMatchObject({ xid: p1!.xid, gid: "small", flags: 0 })
    assert.isTrue(k1!.commitLsn >= p1!.endLsn && k1!.endLsn > k1!.commitLsn)
    expect(rollback).toMatchObject({ xid: p2!.xid, gid: "undone", prepareEndLsn: p2!.endLsn })
    assert.isTrue(rollback!.rollbackEndLsn > rollback!.prepareEndLsn)
    assert.strictEqual(rollback!.prepareTime, p2!.prepareTime)
    assert.isTrue(rollback!.rollbackTime >= rollback!.prepareTime)
    // The large one was streamed before its PREPARE: Stream Prepare, then Commit Prepared.
    const [streamPrepare] = only<StreamPrepare>(decoded, "StreamPrepare")
    const starts = only<StreamStart>(decoded, "StreamStart")
    expect(streamPrepare).toMatchObject({ xid: starts[0]!.xid, gid: "large", flags: 0 })
    expect(starts.every((s) => s.xid === streamPrepare!.xid)).toBe(true)
    expect(k3).toMatchObject({ xid: streamPrepare!.xid, gid: "large" })
    expect(ids(only<Insert>(decoded, "Insert").slice(2))).toEqual(range(10001, 13000))
    // A two_phase slot sends the same two-phase messages at protocol 1 (without streaming).
    const v1 = yield* peekDecoded(conn, "prepared", { protocolVersion: 1 })
    expect(shape(v1)).toBe("bRIPKbIPrbI+PK")
    expect(only<Prepare>(v1, "Prepare").map((p) => p.gid)).toEqual(["small", "undone", "large"])
  })

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, tls: false, settings: slotSettings }), {
    timeout: 180_000,
    excludeTestServices: true
  })(`pgoutput streaming and two-phase from a real slot (PG${version})`, (it) => {
    it.effect("a large transaction in stream blocks, a streamed subtransaction abort, two-phase", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* Expert.connect(server.url)
        yield* streamedScenario(conn, version)
        yield* twoPhaseScenario(conn)
      })
    )
  })
}
