/**
 * Typed COPY through a pool (PostgreSQL 18): `copyInRows` with `format: "binary"` reaches the
 * connection as binary (a value only binary refuses proves it), and `copyOutTyped` decodes in both
 * forms, like a connection's.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Pool from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"

describe("PG18", () => {
  layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 180_000, excludeTestServices: true })(
    (it) => {
      it.effect("binary copyInRows and copyOutTyped on the pool", () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const { pool } = yield* Pool.make({ connect: server.url, max: 2 })
          yield* pool.simpleQuery("create table pool_copy (id int8, tags text[])")
          const target = { table: "pool_copy", columns: ["id", "tags"] }
          const done = yield* pool.copyInRows(target, Stream.make([1n, ["a", "b"]], [2n, null]), {
            format: "binary"
          })
          assert.strictEqual(done.rows, 2)
          // A number for a text[] column: text writes it as "5" (the server refuses that array literal),
          // binary refuses it before sending. The refusal is the client's: binary was used.
          const refused = yield* Effect.flip(
            pool.copyInRows(target, Stream.make([3n, 5 as unknown as string]), { format: "binary" })
          )
          assert.match(refused.message, /row 1, column 2 "tags"/)
          const typed = yield* Stream.runCollect(pool.copyOutTyped(target, { format: "binary" }))
          assert.deepStrictEqual(typed, [
            [1n, ["a", "b"]],
            [2n, null]
          ])
          const bySql = yield* Stream.runCollect(
            pool.copyOutTyped("COPY pool_copy (id) TO STDOUT", { types: ["int8"] })
          )
          assert.deepStrictEqual(bySql, [[1n], [2n]])
        }).pipe(Effect.scoped)
      )
    }
  )
})
