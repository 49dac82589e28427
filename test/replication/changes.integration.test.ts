/**
 * Typed changes from a real slot (PG 18 and 15, wal_level=logical): `startChanges` gives Insert,
 * Update (old key, full old row), Delete and Truncate with rows decoded by the registry into objects
 * keyed by column name — int8, numeric, timestamptz, bool, jsonb, int4[], bytea, NULL — in text
 * and in binary (`binary: true`), an unchanged TOAST value as UNCHANGED_TOAST, and the relation
 * named on each change; a ChangeDecodeError-free run with acknowledgements up to the Commit.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Expert from "../../src/Expert.ts"
import * as Replication from "../../src/Replication.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { PgTimestamp } from "../../src/types/index.ts"
import { run, slotSettings } from "./support/slot.ts"

const ROW = {
  id: 1n,
  amount: "12.50",
  at: new PgTimestamp(1704164645, 123456),
  ok: true,
  doc: { a: [1, 2] },
  tags: [1, null, 3],
  raw: new Uint8Array([0, 255]),
  note: null
}

/** Events up to the `n`th Commit, acknowledging it. */
const upToCommits = (handle: Replication.ReplicationHandle<Replication.Change>, n: number) =>
  Effect.gen(function* () {
    const seen: Array<Replication.Change> = []
    let commits = 0
    yield* handle.events.pipe(
      Stream.takeUntil((event) => event.message._tag === "Commit" && ++commits === n),
      Stream.runForEach((event) =>
        Effect.gen(function* () {
          seen.push(event.message)
          if (event.message._tag === "Commit") yield* handle.ack(event.lsn)
        })
      )
    )
    return seen
  })

const changesOf = (events: ReadonlyArray<Replication.Change>) =>
  events.filter((e) => e._tag.endsWith("Change"))

for (const version of [18, 15] as const) {
  describe(`PG${version}`, () => {
    layer(PgTestServer.layer({ version, tls: false, settings: slotSettings }), {
      timeout: 180_000,
      excludeTestServices: true
    })((it) => {
      for (const binary of [false, true]) {
        it.effect(`typed Insert, Update, Delete and Truncate (${binary ? "binary" : "text"} values)`, () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const sql = yield* Expert.connect(server.url)
            const t = `typed_${binary ? "b" : "t"}`
            yield* run(
              sql,
              `create table ${t} (id int8 primary key, amount numeric(12,2), at timestamptz, ok bool, doc jsonb, tags int4[], raw bytea, note text, big text)`,
              `create table ${t}_full (id int4, v text)`,
              `alter table ${t}_full replica identity full`,
              `create publication ${t}_pub for table ${t}, ${t}_full`
            )
            const repl = yield* Replication.connect(server.url)
            yield* repl.createSlot({
              slot: `${t}_slot`,
              plugin: "pgoutput",
              temporary: true,
              snapshot: "nothing"
            })
            const handle = yield* repl.startChanges({ slot: `${t}_slot`, publications: [`${t}_pub`], binary })
            yield* run(
              sql,
              `insert into ${t} values (1, 12.50, '2024-01-02 03:04:05.123456+00', true, '{"a":[1,2]}', '{1,NULL,3}', '\\x00ff', null, repeat(md5('x'), 10000))`,
              `update ${t} set ok = false where id = 1`,
              `update ${t} set id = 2 where id = 1`,
              `insert into ${t}_full values (7, 'seven')`,
              `update ${t}_full set v = 'siete'`,
              `delete from ${t} where id = 2`,
              `truncate ${t}_full`
            )
            const events = yield* upToCommits(handle, 7)
            const changes = changesOf(events)
            assert.deepStrictEqual(
              changes.map((c) => c._tag),
              [
                "InsertChange",
                "UpdateChange",
                "UpdateChange",
                "InsertChange",
                "UpdateChange",
                "DeleteChange",
                "TruncateChange"
              ]
            )
            const [insert, unchanged, rekeyed, fullInsert, fullUpdate, del, truncate] =
              changes as unknown as [
                Replication.InsertChange,
                Replication.UpdateChange,
                Replication.UpdateChange,
                Replication.InsertChange,
                Replication.UpdateChange,
                Replication.DeleteChange,
                Replication.TruncateChange
              ]
            const { big, ...typed } = insert.row
            assert.deepStrictEqual(typed, ROW)
            assert.strictEqual(typeof big, "string")
            assert.strictEqual(insert.relation.name, t)
            assert.strictEqual(insert.relation.namespace, "public")
            assert.deepStrictEqual(insert.relation.keyColumns, ["id"])
            // The TOASTed text did not change: not sent, marked.
            assert.strictEqual(unchanged.row.big, Replication.UNCHANGED_TOAST)
            assert.strictEqual(unchanged.row.ok, false)
            assert.strictEqual(unchanged.old, undefined)
            // The key changed: the old key comes along, the other old columns are null.
            assert.strictEqual(rekeyed.oldKind, "key")
            assert.strictEqual(rekeyed.old!.id, 1n)
            assert.strictEqual(rekeyed.old!.amount, null)
            assert.strictEqual(rekeyed.row.id, 2n)
            assert.deepStrictEqual(fullInsert.row, { id: 7, v: "seven" })
            assert.strictEqual(fullUpdate.oldKind, "full")
            assert.deepStrictEqual(fullUpdate.old, { id: 7, v: "seven" })
            assert.deepStrictEqual(fullUpdate.row, { id: 7, v: "siete" })
            assert.strictEqual(del.oldKind, "key")
            assert.strictEqual(del.old.id, 2n)
            assert.deepStrictEqual(
              truncate.relations.map((r) => r.name),
              [`${t}_full`]
            )
            // Begin, Relation and Commit pass through as they came.
            assert.isTrue(events.some((e) => e._tag === "Relation"))
            assert.isTrue(events.some((e) => e._tag === "Begin"))
          }).pipe(Effect.scoped)
        )
      }
    })
  })
}
