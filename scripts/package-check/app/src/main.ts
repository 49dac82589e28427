// A consumer's program: a Pool Layer, a query, a transaction, typed errors; against a throwaway
// server from effect-pg/testing (the app's own tests would use the testing Layer instead).
import { Effect, Layer } from "effect"
import { mayHaveRun, Pool } from "effect-pg"
import { PgTestServer } from "effect-pg/testing"

const program = Effect.gen(function* () {
  const pool = yield* Pool.Pool
  yield* pool.query("create table if not exists notes (id int primary key, body text)")
  yield* pool.withTransaction((tx) => tx.query("insert into notes values ($1, $2)", ["1", "hello"]))
  const duplicate = yield* Effect.flip(pool.query("insert into notes values ($1, $2)", ["1", "again"]))
  const { rows } = yield* pool.query("select id, body from notes order by id")
  console.log(JSON.stringify({ rows, duplicate: duplicate.code, mayHaveRun: mayHaveRun(duplicate.cause) }))
  if (duplicate.code !== "23505" || rows.length !== 1)
    return yield* Effect.die(new Error("unexpected result"))
})

const main = Effect.gen(function* () {
  const server = yield* PgTestServer.start({ tls: false })
  yield* Effect.provide(program, Pool.layer({ connect: server.url, max: 2 }))
})

await Effect.runPromise(Effect.scoped(main).pipe(Effect.provide(Layer.empty)))
