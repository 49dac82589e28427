/**
 * Startup parameters on real servers (PostgreSQL 18 and 15): `options` given as a list of
 * arguments reaches the server escaped as libpq does (a space and a backslash inside a value
 * survive), and the `replication` keyword opens a walsender session on which the simple protocol
 * works (IDENTIFY_SYSTEM, SQL with replication=database) and every extended-protocol operation is
 * refused before sending with a typed error, the session staying usable.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"

const withReplication = (url: string, value: string) =>
  `${url}${url.includes("?") ? "&" : "?"}replication=${value}`

for (const version of [18, 15] as const) {
  describe(`PG${version}`, () => {
    layer(PgTestServer.layer({ version, tls: false }), { timeout: 180_000, excludeTestServices: true })(
      (it) => {
        it.effect("options as a list: values with spaces and backslashes reach the server intact", () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const conn = yield* Expert.connect({
              url: server.url,
              options: ["-c", "app.note=two words, one\\backslash", "-c", "application_name=a\\b c"]
            })
            const r = yield* conn.query(
              "select current_setting('app.note') as note, current_setting('application_name') as app"
            )
            assert.deepStrictEqual(r.rows, [{ note: "two words, one\\backslash", app: "a\\b c" }])
          }).pipe(Effect.scoped)
        )

        it.effect("replication=database: simple protocol works, extended operations are refused unsent", () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const conn = yield* Expert.connect(withReplication(server.url, "database"))
            const system = yield* conn.simpleQuery("IDENTIFY_SYSTEM")
            assert.strictEqual(system.results[0]!.columns[0]!.name, "systemid")
            const sql = yield* conn.simpleQuery("select 1 as one")
            assert.deepStrictEqual(sql.results[0]!.rows, [["1"]])
            const refused = [
              yield* Effect.flip(conn.query("select 1")),
              yield* Effect.flip(conn.queryExpectNoData("select 1")),
              yield* Effect.flip(Stream.runCollect(conn.stream("select 1"))),
              yield* Effect.flip(Stream.runCollect(conn.cursor("select 1"))),
              yield* Effect.flip(conn.describe("select 1")),
              yield* Effect.flip(Effect.scoped(conn.prepare("select 1"))),
              yield* Effect.flip(conn.pipeline([{ sql: "select 1" }]))
            ]
            for (const error of refused) {
              assert.strictEqual(error._tag, "PgProtocolError")
              assert.strictEqual((error as { reason?: string }).reason, "ReplicationConnection")
              assert.strictEqual((error as { mayHaveRun?: boolean }).mayHaveRun, false)
              assert.match(error.message, /not allowed on a replication connection/)
            }
            // Nothing was sent: the session is in step.
            const again = yield* conn.simpleQuery("select 2 as two")
            assert.deepStrictEqual(again.results[0]!.rows, [["2"]])
            assert.strictEqual((yield* conn.status)._tag, "Open")
          }).pipe(Effect.scoped)
        )

        it.effect("replication=true: a physical walsender; replication=off is a normal session", () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const physical = yield* Expert.connect(withReplication(server.url, "true"))
            const system = yield* physical.simpleQuery("IDENTIFY_SYSTEM")
            // A physical walsender has no database: dbname is NULL.
            assert.strictEqual(system.results[0]!.rows[0]![3], null)
            const sqlRefused = yield* Effect.exit(physical.simpleQuery("select 1"))
            assert.isTrue(Exit.isFailure(sqlRefused), "the server refuses SQL on a physical walsender")
            const normal = yield* Expert.connect(withReplication(server.url, "off"))
            assert.deepStrictEqual((yield* normal.query("select 1 as one")).rows, [{ one: 1 }])
          }).pipe(Effect.scoped)
        )
      }
    )
  })
}
