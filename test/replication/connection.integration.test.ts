/**
 * Replication connections against real servers (PG18 and PG15, wal_level=logical,
 * wal_sender_timeout 2 s): IDENTIFY_SYSTEM, slots created and dropped (none left behind), the
 * extended protocol refused, a pgoutput stream of inserts / updates / deletes / truncate and a
 * test_decoding one, acknowledgements reaching confirmed_flush_lsn and never passing it, a consumer
 * slower than wal_sender_timeout kept alive by the keepalive replies and the status timer, and a
 * consumer that does not pull pausing the socket with a bounded buffer.
 */
import { assert, expect, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import * as Replication from "../../src/Replication.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { slotSettings } from "./support/slot.ts"
import { confirmedFlush, insertedIds, poll, tagsOf, untilCommits, value } from "./support/walsender.ts"

const settings = { ...slotSettings, wal_sender_timeout: "2s" }

const slotCount = (conn: ExpertConnection, like = "%") =>
  Effect.map(value(conn, `select count(*) from pg_replication_slots where slot_name like '${like}'`), Number)

const setup = (conn: ExpertConnection, table: string) =>
  conn.simpleQuery(
    `create table ${table} (id int primary key, label text); create publication ${table}_pub for table ${table}`
  )

/** A table with its publication, a replication connection and a pgoutput slot on it. */
const fixture = (n: number, temporary: boolean) =>
  Effect.gen(function* () {
    const server = yield* PgTestServer.PgTestServer
    const conn = yield* Expert.connect(server.url)
    yield* setup(conn, `t${n}`)
    const repl = yield* Replication.connect(server.url)
    const slot = yield* repl.createSlot({ slot: `s${n}`, plugin: "pgoutput", temporary, snapshot: "nothing" })
    return { server, conn, repl, slot }
  })

const streamOptions = (slot: string, table: string): Replication.PgOutputStreamOptions => ({
  slot,
  publications: [`${table}_pub`],
  messages: true,
  statusInterval: "200 millis"
})

for (const version of [18, 15] as const) {
  layer(PgTestServer.layer({ version, tls: false, settings }), {
    timeout: 180_000,
    excludeTestServices: true
  })(`replication connection (PG${version})`, (it) => {
    it.effect("IDENTIFY_SYSTEM, SHOW, slots created and dropped, the extended protocol refused", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* Expert.connect(server.url)
        const repl = yield* Replication.connect(server.url)
        const id = yield* repl.identifySystem
        assert.strictEqual(
          id.systemId,
          yield* value(conn, "select system_identifier::text from pg_control_system()")
        )
        assert.strictEqual(id.timeline, 1)
        assert.strictEqual(id.dbname, yield* value(conn, "select current_database()"))
        const now = BigInt((yield* value(conn, "select (pg_current_wal_lsn() - '0/0')::text"))!)
        assert.isTrue(id.xlogPos > 0n && id.xlogPos <= now)
        assert.strictEqual(yield* repl.show("wal_sender_timeout"), "2s")

        const refused = yield* Effect.flip(repl.query("select 1"))
        assert.strictEqual(refused.reason, "ReplicationConnection")
        assert.strictEqual(refused.mayHaveRun, false)

        const permanent = yield* repl.createSlot({ slot: "keep_me", plugin: "pgoutput", snapshot: "nothing" })
        assert.strictEqual(permanent.slotName, "keep_me")
        assert.strictEqual(permanent.outputPlugin, "pgoutput")
        assert.isNull(permanent.snapshotName)
        assert.isTrue(permanent.consistentPoint > 0n)
        const exported = yield* repl.createSlot({ slot: "temp_td", plugin: "test_decoding", temporary: true })
        assert.strictEqual(exported.outputPlugin, "test_decoding")
        assert.isString(exported.snapshotName)
        expect(
          (yield* conn.simpleQuery(
            "select slot_name, plugin, slot_type, temporary::text from pg_replication_slots order by 1"
          )).results[0]!.rows
        ).toEqual([
          ["keep_me", "pgoutput", "logical", "false"],
          ["temp_td", "test_decoding", "logical", "true"]
        ])
        const bad = yield* Effect.flip(repl.createSlot({ slot: "Bad-Name", plugin: "pgoutput" }))
        assert.strictEqual(bad._tag === "PgProtocolError" && bad.mayHaveRun, false)
        const twice = yield* Effect.flip(repl.createSlot({ slot: "keep_me", plugin: "pgoutput" }))
        assert.strictEqual(twice._tag === "PgServerError" && twice.code, "42710")
        const missing = yield* Effect.flip(
          Effect.scoped(repl.startPgOutput({ slot: "nope", publications: ["p"] }))
        )
        assert.strictEqual(missing._tag === "PgServerError" && missing.code, "42704")
        yield* repl.dropSlot("keep_me")
        yield* repl.close
        // The temporary slot goes with its session.
        assert.strictEqual(yield* poll(slotCount(conn), (n) => n === 0), 0)

        const attrs = yield* Effect.flip(
          Replication.connect(
            `${server.url}${server.url.includes("?") ? "&" : "?"}target_session_attrs=primary`
          )
        )
        assert.strictEqual(attrs._tag === "PgConfigError" && attrs.reason, "UnsupportedOption")
        const physical = yield* Replication.connect(server.url, "physical")
        assert.isNull((yield* physical.identifySystem).dbname)
        const slot = yield* physical.createSlot({ slot: "phys", temporary: true, reserveWal: true })
        assert.isNull(slot.outputPlugin)
        assert.strictEqual((yield* Effect.flip(physical.query("select 1"))).reason, "ReplicationConnection")
        yield* physical.close
        assert.strictEqual(yield* poll(slotCount(conn), (n) => n === 0), 0)
      }).pipe(Effect.scoped)
    )

    it.effect("a pgoutput stream of insert, update, delete, truncate and a message; test_decoding raw", () =>
      Effect.gen(function* () {
        const { server, conn, repl } = yield* fixture(1, true)
        // A temporary slot is active for its own session: the raw stream runs on that one.
        const repl2 = yield* Replication.connect(server.url)
        yield* repl2.createSlot({
          slot: "s1td",
          plugin: "test_decoding",
          temporary: true,
          snapshot: "nothing"
        })
        yield* conn.simpleQuery("select pg_logical_emit_message(false, 'note', 'hello')")
        for (const sql of [
          "insert into t1 values (1, 'one')",
          "update t1 set label = 'uno' where id = 1",
          "delete from t1 where id = 1",
          "truncate t1"
        ])
          yield* conn.simpleQuery(sql)
        const events = yield* Effect.scoped(
          Effect.flatMap(repl.startPgOutput(streamOptions("s1", "t1")), (h) => untilCommits(h, 4))
        )
        const tags = tagsOf(events).filter((t) => t !== "Relation")
        expect(tags).toEqual([
          "Message",
          ...["Begin", "Insert", "Commit", "Begin", "Update", "Commit"],
          ...["Begin", "Delete", "Commit", "Begin", "Truncate", "Commit"]
        ])
        for (const e of events)
          if (e.message._tag === "Commit")
            assert.strictEqual(e.lsn, e.message.endLsn, "a Commit's lsn is its end")
        // The connection runs commands again after the stream stopped.
        assert.strictEqual((yield* repl.identifySystem).timeline, 1)

        const again = yield* Effect.flip(Effect.scoped(repl.startPgOutput(streamOptions("s1", "t1"))))
        assert.strictEqual(again._tag === "PgProtocolError" && again.reason, "ReplicationConnection")
        const raw = yield* Effect.scoped(
          Effect.flatMap(repl2.startLogical({ slot: "s1td" }), (h) =>
            Stream.runCollect(Stream.take(h.events, 4))
          )
        )
        const text = Array.from(raw, (e) => new TextDecoder().decode(e.message))
        assert.strictEqual(text[0], "message: transactional: 0 prefix: note, sz: 5 content:hello")
        assert.match(text[1]!, /^BEGIN \d+$/)
        assert.strictEqual(text[2], "table public.t1: INSERT: id[integer]:1 label[text]:'one'")
        assert.match(text[3]!, /^COMMIT \d+$/)
      }).pipe(Effect.scoped)
    )

    it.effect("acknowledgements: confirmed_flush_lsn reaches what was acked and no further", () =>
      Effect.gen(function* () {
        const { conn, repl, slot: created } = yield* fixture(2, false)
        yield* Effect.addFinalizer(() =>
          Effect.ignore(conn.simpleQuery("select pg_drop_replication_slot('s2')"))
        )
        for (let i = 1; i <= 3; i++) yield* conn.simpleQuery(`insert into t2 values (${i}, 'r${i}')`)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const handle = yield* repl.startPgOutput(streamOptions("s2", "t2"))
            const events = yield* untilCommits(handle, 3)
            const commits = events.filter((e) => e.message._tag === "Commit").map((e) => e.lsn)
            // Nothing acked: the slot stays where it was created, status updates or not.
            yield* Effect.sleep("1 second")
            assert.isTrue((yield* confirmedFlush(conn, "s2"))! <= created.consistentPoint)
            yield* handle.ack(commits[0]!)
            assert.strictEqual(yield* poll(confirmedFlush(conn, "s2"), (l) => l === commits[0]), commits[0])
            yield* Effect.sleep("1 second")
            assert.strictEqual(yield* confirmedFlush(conn, "s2"), commits[0], "not beyond the ack")
            yield* handle.ack(commits[0]! - 1n)
            assert.strictEqual(yield* handle.acknowledged, commits[0], "acks never go back")
            yield* handle.ack(commits[2]!)
            assert.strictEqual(yield* poll(confirmedFlush(conn, "s2"), (l) => l === commits[2]), commits[2])
          })
        )
      }).pipe(Effect.scoped)
    )

    it.effect(
      "resume after pg_terminate_backend: from the last ack, nothing lost, duplicates only after it",
      () =>
        Effect.gen(function* () {
          const { server, conn, repl: first } = yield* fixture(5, false)
          yield* Effect.addFinalizer(() =>
            Effect.ignore(conn.simpleQuery("select pg_drop_replication_slot('s5')"))
          )
          for (let i = 1; i <= 10; i++) yield* conn.simpleQuery(`insert into t5 values (${i}, 'r${i}')`)
          const handle = yield* first.startPgOutput(streamOptions("s5", "t5"))
          const seen = yield* untilCommits(handle, 4)
          assert.deepStrictEqual(insertedIds(seen), [1, 2, 3, 4])
          const third = seen.filter((e) => e.message._tag === "Commit")[2]!.lsn
          yield* handle.ack(third)
          assert.strictEqual(yield* poll(confirmedFlush(conn, "s5"), (l) => l === third), third)
          yield* conn.simpleQuery(`select pg_terminate_backend(${first.processId})`)
          const broken = yield* Effect.flip(Stream.runDrain(handle.events))
          assert.include(["PgServerError", "PgConnectionError"], broken._tag)

          const second = yield* Replication.connect(server.url)
          const resumed = yield* Effect.scoped(
            Effect.flatMap(second.startPgOutput(streamOptions("s5", "t5")), (h) => untilCommits(h, 7))
          )
          // Transaction 4 was delivered but not acknowledged: it comes again; 1-3 never do.
          assert.deepStrictEqual(insertedIds(resumed), [4, 5, 6, 7, 8, 9, 10])
        }).pipe(Effect.scoped)
    )

    it.effect("a consumer slower than wal_sender_timeout: keepalive replies keep the stream up", () =>
      Effect.gen(function* () {
        const { conn, repl } = yield* fixture(3, true)
        // No periodic updates: only the answers to the server's keepalives keep it alive.
        const handle = yield* repl.startPgOutput({ ...streamOptions("s3", "t3"), statusInterval: "1 hour" })
        yield* conn.simpleQuery("insert into t3 values (1, 'a')")
        const first = yield* untilCommits(handle, 1)
        yield* Effect.sleep("5 seconds")
        yield* conn.simpleQuery("insert into t3 values (2, 'b')")
        const second = yield* untilCommits(handle, 1)
        assert.deepStrictEqual(
          tagsOf(second).filter((t) => t !== "Relation"),
          ["Begin", "Insert", "Commit"]
        )
        // The next transaction starts where the last commit record ends.
        assert.isTrue(second[0]!.lsn >= first.at(-1)!.lsn)
        const alive = yield* value(
          conn,
          `select count(*) from pg_stat_replication where pid = ${repl.processId}`
        )
        assert.strictEqual(alive, "1")
      }).pipe(Effect.scoped)
    )

    it.effect(
      "a consumer that does not pull: the socket pauses, the buffer stays bounded, nothing is lost",
      () =>
        Effect.gen(function* () {
          const { conn, repl } = yield* fixture(4, true)
          // The default status interval: half of wal_sender_timeout (1 s) keeps the paused stream up.
          const handle = yield* repl.startPgOutput({ slot: "s4", publications: ["t4_pub"], highWater: 4 })
          const rows = 200_000
          yield* conn.simpleQuery(
            `insert into t4 select g, repeat('x', 100) || g from generate_series(1, ${rows}) g`
          )
          const waiting = yield* poll(
            value(conn, `select wait_event from pg_stat_activity where pid = ${repl.processId}`),
            (w) => w === "WalSenderWriteData"
          )
          assert.strictEqual(waiting, "WalSenderWriteData")
          yield* Effect.sleep("3 seconds")
          const buffered = yield* handle.buffered
          // highWater 4: about five socket reads of at most 64 KiB, each event over 100 bytes.
          assert.isBelow(buffered, 8 * 656, `buffered ${buffered} events`)
          assert.isAbove(buffered, 0)
          const events = yield* untilCommits(handle, 1)
          assert.strictEqual(events.filter((e) => e.message._tag === "Insert").length, rows)
        }).pipe(Effect.scoped)
    )
  })
}
