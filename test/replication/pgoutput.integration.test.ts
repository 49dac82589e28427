/**
 * pgoutput against real servers (PG18 and PG15, wal_level=logical), read with ordinary SQL through
 * `pg_logical_slot_peek_binary_changes` and decoded by src/replication:
 * - typed columns (int4, int8, text, bool, numeric, bytea, jsonb, an enum with its Type message),
 *   a TOASTed text that stays unchanged in an UPDATE ('u', not null), the old key of a key change,
 *   full old rows with REPLICA IDENTITY FULL, TRUNCATE with CASCADE / RESTART IDENTITY, logical
 *   decoding messages (transactional or not), an Origin; the same stream at protocol 1–4 (PG18),
 *   and binary columns;
 * - streaming (protocol 2, logical_decoding_work_mem 64kB): a large transaction arrives in stream
 *   blocks with xids on every row message, a rolled-back subtransaction as Stream Abort, then
 *   Stream Commit; with protocol 4 and streaming 'parallel' (PG18) Stream Abort has its LSN and time;
 * - two-phase (a slot created with two_phase): Begin Prepare / Prepare / Commit Prepared /
 *   Rollback Prepared, and Stream Prepare for a large prepared transaction.
 */
import { assert, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { formatLsn, parseLsn } from "../../src/replication/Lsn.ts"
import type { Begin, Commit } from "../../src/replication/PgOutputMessage.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { assertRecent, type Decoded, peekDecoded, run, slotSettings, summarize } from "./support/slot.ts"

const value = (conn: ExpertConnection, sql: string) =>
  Effect.map(conn.query(sql, [], { rowMode: "array" }), (r) => r.rows[0]![0] as string)

const toast = "toast-".repeat(2000)
const jsonb = '{"a": null, "b": [1, 2]}'
const typedColumns = (mood: string) => [
  "*id 23 -1",
  "big 20 -1",
  "label 25 -1",
  "flag 16 -1",
  `amount 1700 ${((10 << 16) | 2) + 4}`,
  "raw 17 -1",
  "doc 3802 -1",
  `feeling ${mood} -1`,
  "blob 25 -1"
]
const typedRow = ["1", "9007199254740993", "héllo", "t", "12.30", "\\xdeadbeef", jsonb, "sad", toast]
const updatedRow = ["1", "9007199254740993", null, "f", "12.30", "\\xdeadbeef", jsonb, "sad", "<unchanged>"]
const nulls = (n: number) => Array.from({ length: n }, () => null)

/** Checks a Begin … Commit pair against each other and against the peek function's columns. */
const checkTransaction = (begin: Decoded, commit: Decoded) => {
  const b = begin.message as Begin
  const c = commit.message as Commit
  assert.strictEqual(b.finalLsn, c.commitLsn)
  assert.strictEqual(b.commitTime, c.commitTime)
  assert.strictEqual(String(b.xid), begin.xid)
  assert.strictEqual(formatLsn(c.endLsn), commit.lsn)
  assert.isTrue(c.endLsn > c.commitLsn)
  assert.strictEqual(parseLsn(commit.lsn), c.endLsn)
  assertRecent(c.commitTime)
}

const tags = (decoded: ReadonlyArray<Decoded>) => decoded.map((d) => d.message._tag)

const changesScenario = (conn: ExpertConnection, version: number) =>
  Effect.gen(function* () {
    yield* run(
      conn,
      "create type mood as enum ('ok', 'sad')",
      "create table typed (id int4 primary key, big int8, label text, flag bool, amount numeric(10,2), " +
        "raw bytea, doc jsonb, feeling mood, blob text)",
      "alter table typed alter column blob set storage external",
      "create table full_rows (id int4 primary key, note text)",
      "alter table full_rows replica identity full",
      "create table other (id int4 primary key)",
      "create publication pub for table typed, full_rows, other",
      "select pg_create_logical_replication_slot('changes', 'pgoutput')",
      `insert into typed values (1, 9007199254740993, 'héllo', true, 12.30, '\\xdeadbeef', '{"b": [1, 2], "a": null}', 'sad', repeat('toast-', 2000))`,
      "update typed set label = null, flag = false where id = 1",
      "update typed set id = 2 where id = 1",
      "delete from typed where id = 2",
      "begin",
      "insert into full_rows values (1, 'a')",
      "update full_rows set note = 'b' where id = 1",
      "delete from full_rows where id = 1",
      "commit",
      "truncate full_rows, other restart identity cascade",
      "truncate other",
      "select pg_logical_emit_message(true, 'app', 'hello')",
      "select pg_logical_emit_message(false, 'side', '\\x00ff'::bytea)",
      "select pg_replication_origin_create('upstream')",
      "select pg_replication_origin_session_setup('upstream')",
      "begin",
      "select pg_replication_origin_xact_setup('0/ABCDEF', now())",
      "insert into other values (1)",
      "commit",
      "select pg_replication_origin_session_reset()"
    )
    const mood = yield* value(conn, "select 'mood'::regtype::oid::text")
    const decoded = yield* peekDecoded(conn, "changes", { protocolVersion: 1 })
    expect(summarize(decoded.map((d) => d.message))).toEqual([
      "Begin",
      { Type: "public.mood" },
      { Relation: "public.typed", identity: "d", columns: typedColumns(mood) },
      { Insert: "typed", row: typedRow },
      "Commit",
      "Begin",
      { Update: "typed", row: updatedRow },
      "Commit",
      "Begin",
      { Update: "typed", key: ["1", ...nulls(8)], row: ["2", ...updatedRow.slice(1)] },
      "Commit",
      "Begin",
      { Delete: "typed", key: ["2", ...nulls(8)] },
      "Commit",
      "Begin",
      { Relation: "public.full_rows", identity: "f", columns: ["*id 23 -1", "*note 25 -1"] },
      { Insert: "full_rows", row: ["1", "a"] },
      { Update: "full_rows", full: ["1", "a"], row: ["1", "b"] },
      { Delete: "full_rows", full: ["1", "b"] },
      "Commit",
      // TRUNCATE invalidates the relations, so their Relation messages come again.
      "Begin",
      { Relation: "public.full_rows", identity: "f", columns: ["*id 23 -1", "*note 25 -1"] },
      { Relation: "public.other", identity: "d", columns: ["*id 23 -1"] },
      { Truncate: ["full_rows", "other"], cascade: true, restartIdentity: true },
      "Commit",
      "Begin",
      { Relation: "public.other", identity: "d", columns: ["*id 23 -1"] },
      { Truncate: ["other"], cascade: false, restartIdentity: false },
      "Commit",
      "Begin",
      { Message: "app", transactional: true, content: "68656c6c6f" },
      "Commit",
      { Message: "side", transactional: false, content: "00ff" },
      "Begin",
      { Origin: "upstream", lsn: "0/ABCDEF" },
      { Relation: "public.other", identity: "d", columns: ["*id 23 -1"] },
      { Insert: "other", row: ["1"] },
      "Commit"
    ])
    // Begin/Commit agree with each other and with the peek function's lsn and xid columns.
    const t = tags(decoded)
    for (let i = 0; i < decoded.length; i++)
      if (t[i] === "Begin") checkTransaction(decoded[i]!, decoded[t.indexOf("Commit", i)]!)
    // A transactional message's LSN is its row's LSN; the Type and Relation OIDs are the catalog's.
    const message = decoded.find((d) => d.message._tag === "Message")!
    assert.strictEqual(formatLsn((message.message as { lsn: bigint }).lsn), message.lsn)
    const relation = decoded.find((d) => d.message._tag === "Relation")!.message
    assert.strictEqual(
      String((relation as { relationOid: number }).relationOid),
      yield* value(conn, "select 'typed'::regclass::oid::text")
    )
    assert.strictEqual(String((decoded[1]!.message as { typeOid: number }).typeOid), mood)
    // The same stream at every protocol version this server speaks.
    const versions = version >= 16 ? ([2, 3, 4] as const) : ([2, 3] as const)
    for (const protocolVersion of versions) {
      const again = yield* peekDecoded(conn, "changes", { protocolVersion })
      expect(again.map((d) => d.message)).toEqual(decoded.map((d) => d.message))
    }
    return decoded
  })

/** With `binary`, the values come in each type's send format; the unchanged TOAST value stays 'u'. */
const binaryScenario = (conn: ExpertConnection) =>
  Effect.gen(function* () {
    const decoded = yield* peekDecoded(conn, "changes", { protocolVersion: 1, binary: true })
    const rows = decoded.flatMap((d) =>
      d.message._tag === "Insert" || d.message._tag === "Update" ? [d.message] : []
    )
    expect(summarize(rows)[0]).toMatchObject({
      row: [
        "<binary 00000001>",
        "<binary 0020000000000001>",
        `<binary ${Buffer.from("héllo").toString("hex")}>`,
        "<binary 01>",
        "<binary 0002000000000002000c0bb8>",
        "<binary deadbeef>",
        `<binary 01${Buffer.from(jsonb).toString("hex")}>`,
        `<binary ${Buffer.from("sad").toString("hex")}>`,
        `<binary ${Buffer.from(toast).toString("hex")}>`
      ]
    })
    expect(rows[1]!.row[8]).toEqual({ kind: "unchanged" })
    expect(rows[1]!.row[2]).toEqual({ kind: "null" })
  })

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, tls: false, settings: slotSettings }), {
    timeout: 180_000,
    excludeTestServices: true
  })(`pgoutput from a real slot (PG${version})`, (it) => {
    it.effect("typed changes, unchanged TOAST, old keys and rows, truncate, messages, origin", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* Expert.connect(server.url)
        yield* changesScenario(conn, version)
        yield* binaryScenario(conn)
      })
    )
  })
}
