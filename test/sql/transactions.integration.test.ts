/**
 * effect-pg/sql's withTransaction on PostgreSQL 18 and 15: mapped onto the Pool's transactions —
 * commit, rollback with the user's own error unchanged, nested savepoints (a failed one rolled
 * back alone), interruption rolls back, afterCommit (after the commit; dropped on rollback and
 * with a rolled-back savepoint), BeginTransaction and withTransactionOptions, reserve, the
 * Pool's COMMIT answered ROLLBACK as a SqlError.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Data, Effect, Exit, Fiber, Option, Ref } from "effect"
import { BeginTransaction, SqlClient } from "effect/sql/SqlClient"
import { PgClient } from "../../src/sql/PgClient.ts"
import { client, table, versions } from "./support.ts"

class Boom extends Data.TaggedError("Boom")<{}> {}

const setup = Effect.gen(function* () {
  const sql = yield* SqlClient
  const t = table("tx")
  yield* sql`create table ${sql(t)} (id int)`
  const ids = Effect.map(sql<{ id: number }>`select id from ${sql(t)} order by id`, (rows) =>
    rows.map((r) => r.id)
  )
  const insert = (id: number) => sql`insert into ${sql(t)} values (${id})`
  return { sql, t, ids, insert }
})

for (const version of versions) {
  describe(`PG${version}`, () => {
    layer(client(version), { timeout: 180_000, excludeTestServices: true })("withTransaction", (it) => {
      it.effect("commits; rolls back on failure, the user's error unchanged", () =>
        Effect.gen(function* () {
          const { sql, ids, insert } = yield* setup
          yield* sql.withTransaction(Effect.andThen(insert(1), insert(2)))
          const failed = yield* Effect.exit(
            sql.withTransaction(Effect.andThen(insert(3), Effect.fail(new Boom())))
          )
          assert.isTrue(Exit.isFailure(failed))
          if (Exit.isFailure(failed)) {
            const reason = failed.cause.reasons[0]
            assert.isTrue(reason?._tag === "Fail" && reason.error instanceof Boom)
          }
          assert.deepStrictEqual(yield* ids, [1, 2])
        })
      )

      it.effect("nested transactions are savepoints", () =>
        Effect.gen(function* () {
          const { sql, ids, insert } = yield* setup
          yield* sql.withTransaction(
            Effect.gen(function* () {
              yield* insert(1)
              yield* Effect.exit(sql.withTransaction(Effect.andThen(insert(2), Effect.fail(new Boom()))))
              yield* sql.withTransaction(
                Effect.andThen(
                  insert(3),
                  Effect.exit(sql.withTransaction(Effect.andThen(insert(4), Effect.die("x"))))
                )
              )
            })
          )
          assert.deepStrictEqual(yield* ids, [1, 3])
          const depth = yield* sql.withTransaction(
            sql.withTransaction(
              Effect.map(Effect.serviceOption(sql.transactionService), (o) => Option.getOrThrow(o)[1])
            )
          )
          assert.strictEqual(depth, 1)
        })
      )

      it.effect("concurrent nested transactions run one at a time", () =>
        Effect.gen(function* () {
          const { sql, ids, insert } = yield* setup
          yield* sql.withTransaction(
            Effect.forEach([1, 2, 3, 4], (id) => sql.withTransaction(insert(id)), {
              concurrency: "unbounded"
            })
          )
          assert.deepStrictEqual(yield* ids, [1, 2, 3, 4])
        })
      )

      it.effect("interruption rolls back", () =>
        Effect.gen(function* () {
          const { sql, ids, insert } = yield* setup
          const started = yield* Ref.make(false)
          const fiber = yield* sql
            .withTransaction(
              Effect.gen(function* () {
                yield* insert(1)
                yield* Ref.set(started, true)
                yield* sql`select pg_sleep(10)`
              })
            )
            .pipe(Effect.forkChild)
          while (!(yield* Ref.get(started))) yield* Effect.sleep("20 millis")
          yield* Effect.sleep("100 millis")
          yield* Fiber.interrupt(fiber)
          assert.deepStrictEqual(yield* ids, [])
          assert.deepStrictEqual(yield* sql`select 1 as ok`, [{ ok: 1 }])
        })
      )

      it.effect("afterCommit runs after the commit, not after a rollback", () =>
        Effect.gen(function* () {
          const { sql, insert } = yield* setup
          const log = yield* Ref.make<ReadonlyArray<string>>([])
          const note = (s: string) => Ref.update(log, (l) => [...l, s])
          yield* sql.withTransaction(
            Effect.gen(function* () {
              yield* insert(1)
              yield* sql.afterCommit(note("outer"))
              yield* Effect.exit(
                sql.withTransaction(Effect.andThen(sql.afterCommit(note("dropped")), Effect.fail(new Boom())))
              )
              yield* sql.withTransaction(sql.afterCommit(note("kept")))
              yield* note("body")
            })
          )
          assert.deepStrictEqual(yield* Ref.get(log), ["body", "outer", "kept"])
          yield* Effect.exit(
            sql.withTransaction(Effect.andThen(sql.afterCommit(note("never")), Effect.fail(new Boom())))
          )
          yield* sql.afterCommit(note("now"))
          assert.deepStrictEqual(yield* Ref.get(log), ["body", "outer", "kept", "now"])
        })
      )

      it.effect("isolation: BeginTransaction and withTransactionOptions", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient
          const pg = yield* PgClient
          const level = sql<{ l: string }>`select current_setting('transaction_isolation') as l`
          const viaBegin = yield* sql
            .withTransaction(level)
            .pipe(Effect.provideService(BeginTransaction, "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY"))
          assert.strictEqual(viaBegin[0]?.l, "serializable")
          const viaOptions = yield* pg.withTransactionOptions({ isolationLevel: "repeatable read" })(level)
          assert.strictEqual(viaOptions[0]?.l, "repeatable read")
          const refused = yield* Effect.exit(
            sql.withTransaction(level).pipe(Effect.provideService(BeginTransaction, "SET x = 1"))
          )
          assert.isTrue(Exit.isFailure(refused))
        })
      )

      it.effect("reserve holds one connection; a failed COMMIT is a SqlError", () =>
        Effect.gen(function* () {
          const { sql, ids, t } = yield* setup
          const pids = yield* Effect.scoped(
            Effect.gen(function* () {
              const conn = yield* sql.reserve
              const a = yield* conn.execute("select pg_backend_pid() as p", [], undefined)
              const b = yield* conn.execute("select pg_backend_pid() as p", [], undefined)
              return [a[0].p, b[0].p]
            })
          )
          assert.strictEqual(pids[0], pids[1])
          // A statement fails inside, its error is caught: COMMIT answers ROLLBACK.
          const exit = yield* Effect.exit(
            sql.withTransaction(
              Effect.gen(function* () {
                yield* sql`insert into ${sql(t)} values (1)`
                yield* Effect.exit(sql`select 1 / 0`)
              })
            )
          )
          assert.isTrue(Exit.isFailure(exit))
          if (Exit.isFailure(exit)) {
            const reason = exit.cause.reasons[0]
            assert.strictEqual(
              reason?._tag === "Fail" ? (reason.error as { _tag: string })._tag : "",
              "SqlError"
            )
          }
          assert.deepStrictEqual(yield* ids, [])
        })
      )
    })
  })
}
