/**
 * The final CommandComplete of a stream (`streamWithColumns(...).command`), on PostgreSQL 18 and
 * 15, through the Expert connection, the normal connection and the pool: the tag and row count
 * once the rows ended (SELECT, INSERT … RETURNING, zero rows); a statement that fails mid-stream
 * fails `command` with the server's error; a consumer that stops early still gets the outcome of
 * the drained or cancelled statement, and the connection goes on.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Connection from "../../src/Connection.ts"
import * as Expert from "../../src/Expert.ts"
import * as Pool from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"

for (const version of [18, 15] as const) {
  describe(`PG${version}`, () => {
    layer(PgTestServer.layer({ version, tls: false }), { timeout: 180_000, excludeTestServices: true })(
      (it) => {
        it.effect("the tag and row count after the last row; a failure mid-stream fails it", () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const conn = yield* Expert.connect(server.url)
            const select = yield* conn.streamWithColumns("select g from generate_series(1, 2500) g")
            assert.strictEqual((yield* Stream.runCollect(select.rows)).length, 2500)
            const tag = yield* select.command
            assert.strictEqual(tag.command, "SELECT")
            assert.strictEqual(tag.rows, 2500)
            yield* conn.simpleQuery("create temp table t (n int)")
            const insert = yield* conn.streamWithColumns(
              "insert into t select generate_series(1, 3) returning n"
            )
            assert.deepStrictEqual(yield* Stream.runCollect(insert.rows), [{ n: 1 }, { n: 2 }, { n: 3 }])
            assert.strictEqual((yield* insert.command).tag, "INSERT 0 3")
            const none = yield* conn.streamWithColumns("select 1 where false")
            assert.strictEqual((yield* Stream.runCollect(none.rows)).length, 0)
            assert.strictEqual((yield* none.command).rows, 0)
            const failing = yield* conn.streamWithColumns(
              "select 1 / (g - 3) as q from generate_series(1, 5) g"
            )
            const streamError = yield* Effect.flip(Stream.runCollect(failing.rows))
            const commandError = yield* Effect.flip(failing.command)
            assert.strictEqual(commandError, streamError)
            assert.strictEqual((commandError as { code?: string }).code, "22012")
            assert.deepStrictEqual((yield* conn.query("select 7 as n")).rows, [{ n: 7 }])
          }).pipe(Effect.scoped)
        )

        it.effect("a consumer that stops early still learns how the statement ended", () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const conn = yield* Connection.connect(server.url)
            const small = yield* conn.streamWithColumns("select g from generate_series(1, 3) g")
            assert.strictEqual((yield* Stream.runCollect(Stream.take(small.rows, 1))).length, 1)
            assert.strictEqual((yield* small.command).tag, "SELECT 3")
            const big = yield* conn.streamWithColumns("select g from generate_series(1, 5000000) g")
            assert.strictEqual((yield* Stream.runCollect(Stream.take(big.rows, 2))).length, 2)
            // Drained to its end or cancelled (the stream's finalizer cancels a long one): either way it ended.
            const ended = yield* Effect.result(big.command)
            if (ended._tag === "Success") assert.strictEqual(ended.success.command, "SELECT")
            else assert.strictEqual(ended.failure.code, "57014")
            assert.deepStrictEqual((yield* conn.query("select 8 as n")).rows, [{ n: 8 }])
          }).pipe(Effect.scoped)
        )

        it.effect("through a pool", () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const { pool } = yield* Pool.make({ connect: server.url, max: 2 })
            const tag = yield* Effect.scoped(
              Effect.gen(function* () {
                const s = yield* pool.streamWithColumns("select g from generate_series(1, 10) g")
                yield* Stream.runDrain(s.rows)
                return yield* s.command
              })
            )
            assert.strictEqual(tag.tag, "SELECT 10")
          }).pipe(Effect.scoped)
        )
      }
    )
  })
}
