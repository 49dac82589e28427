/**
 * Transactions through the pool against a real PostgreSQL 18: commit, rollback on failure and on
 * interruption, the pool's operations joining the current transaction, nested SAVEPOINTs, the
 * BEGIN options as `current_setting` shows them, and COMMIT answered with ROLLBACK.
 */
import { assert, layer } from "@effect/vitest"
import { Data, Deferred, Effect, Fiber } from "effect"
import * as Expert from "../../src/Expert.ts"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, connectInput, eventually } from "./support.ts"

class Boom extends Data.TaggedError("Boom")<{}> {}

const count = (pool: PoolM.NormalPool, table: string) =>
  Effect.map(pool.query(`select count(*) from ${table}`), ({ rows }) => Number(rows[0]!.count))

layer(PgTestServer.layer({ version: 18, tls: false, backend: "local" }), {
  timeout: 120_000,
  excludeTestServices: true
})("Pool transactions (PG18)", (it) => {
  const setup = (table: string) =>
    Effect.gen(function* () {
      const server = yield* PgTestServer.PgTestServer
      const pools = yield* PoolM.make({ connect: connectInput(server, appName("pool_tx")), max: 3 })
      yield* pools.pool.simpleQuery(
        `drop table if exists ${table}; create table ${table} (x int primary key)`
      )
      return pools
    })

  it.effect("commits on success and rolls back on failure and interruption", () =>
    Effect.gen(function* () {
      const { pool } = yield* setup("tx_basic")
      const value = yield* pool.withTransaction((tx) =>
        Effect.as(tx.query("insert into tx_basic values (1)"), "done")
      )
      assert.strictEqual(value, "done")
      assert.strictEqual(yield* count(pool, "tx_basic"), 1)

      const failure = yield* Effect.flip(
        pool.withTransaction((tx) =>
          Effect.andThen(tx.query("insert into tx_basic values (2)"), Effect.fail(new Boom()))
        )
      )
      assert.strictEqual(failure._tag, "Boom")
      assert.strictEqual(yield* count(pool, "tx_basic"), 1)

      const inserted = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        pool.withTransaction((tx) =>
          Effect.andThen(
            tx.query("insert into tx_basic values (3)"),
            Effect.andThen(Deferred.succeed(inserted, undefined), Effect.never)
          )
        )
      )
      yield* Deferred.await(inserted)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* count(pool, "tx_basic"), 1)
      yield* eventually(
        "all connections are back",
        Effect.map(pool.stats, (s) => s.inUse === 0)
      )
    })
  )

  it.effect("the pool's operations inside use run on the transaction's connection", () =>
    Effect.gen(function* () {
      const { pool } = yield* setup("tx_join")
      const outside = yield* Expert.connect((yield* PgTestServer.PgTestServer).url)
      const seen = yield* pool.withTransaction((tx) =>
        Effect.gen(function* () {
          assert.isTrue(yield* pool.inTransaction)
          const txPid = (yield* tx.query("select pg_backend_pid()")).rows[0]!.pg_backend_pid
          yield* pool.query("insert into tx_join values (1)")
          const pid = (yield* pool.query("select pg_backend_pid()")).rows[0]!.pg_backend_pid
          const viaConnection = yield* pool.withConnection((c) => c.query("select pg_backend_pid()"))
          assert.strictEqual(pid, txPid)
          assert.strictEqual(typeof txPid, "number")
          assert.strictEqual(viaConnection.rows[0]!.pg_backend_pid, txPid)
          const elsewhere = yield* outside.query("select count(*) from tx_join")
          assert.deepStrictEqual(elsewhere.rows, [{ count: 0n }])
          return yield* count(pool, "tx_join")
        })
      )
      assert.strictEqual(seen, 1)
      assert.isFalse(yield* pool.inTransaction)
      assert.deepStrictEqual((yield* outside.query("select count(*) from tx_join")).rows, [{ count: 1n }])
    })
  )

  it.effect("nested calls are savepoints: an inner failure rolls back only the inner work", () =>
    Effect.gen(function* () {
      const { pool } = yield* setup("tx_nested")
      yield* pool.withTransaction(() =>
        Effect.gen(function* () {
          yield* pool.query("insert into tx_nested values (1)")
          const inner = yield* Effect.flip(
            pool.withTransaction(() =>
              Effect.andThen(pool.query("insert into tx_nested values (2)"), Effect.fail(new Boom()))
            )
          )
          assert.strictEqual(inner._tag, "Boom")
          yield* pool.withTransaction(() =>
            Effect.gen(function* () {
              yield* pool.query("insert into tx_nested values (3)")
              // A failing statement inside a third level: caught by the savepoint around it.
              const deep = yield* Effect.flip(
                pool.withTransaction(() => pool.query("insert into tx_nested values (3)"))
              )
              assert.strictEqual(deep._tag === "PgError" && deep.code, "23505")
            })
          )
        })
      )
      const { rows } = yield* pool.query("select x from tx_nested order by x")
      assert.deepStrictEqual(rows, [{ x: 1 }, { x: 3 }])
    })
  )

  it.effect("isolation level, read-only and deferrable reach the server", () =>
    Effect.gen(function* () {
      const { pool } = yield* setup("tx_options")
      const settings = (options: PoolM.TransactionOptions) =>
        pool.withTransaction(
          (tx) =>
            Effect.map(
              tx.query(
                "select current_setting('transaction_isolation'), current_setting('transaction_read_only'), current_setting('transaction_deferrable')"
              ),
              ({ rows }) => rows[0]
            ),
          options
        )
      assert.deepStrictEqual(
        yield* settings({ isolationLevel: "serializable", readOnly: true, deferrable: true }),
        { current_setting: "serializable", current_setting_2: "on", current_setting_3: "on" }
      )
      assert.deepStrictEqual(yield* settings({ isolationLevel: "repeatable read", readOnly: false }), {
        current_setting: "repeatable read",
        current_setting_2: "off",
        current_setting_3: "off"
      })
      assert.deepStrictEqual(yield* settings({}), {
        current_setting: "read committed",
        current_setting_2: "off",
        current_setting_3: "off"
      })
      const readOnly = yield* Effect.flip(
        pool.withTransaction((tx) => tx.query("insert into tx_options values (1)"), { readOnly: true })
      )
      assert.strictEqual(readOnly._tag === "PgError" && readOnly.code, "25006")

      const nested = yield* Effect.flip(
        pool.withTransaction(() =>
          pool.withTransaction(() => Effect.void, { isolationLevel: "serializable" })
        )
      )
      assert.strictEqual(nested.cause._tag === "PgTransactionError" && nested.cause.reason, "NestedOptions")
      const bad = yield* Effect.flip(
        pool.withTransaction(() => Effect.void, { isolationLevel: "chaos" as PoolM.IsolationLevel })
      )
      assert.strictEqual(bad.cause._tag === "PgTransactionError" && bad.cause.reason, "InvalidOptions")
    })
  )

  it.effect("a COMMIT answered with ROLLBACK is an error and nothing is kept", () =>
    Effect.gen(function* () {
      const { pool, expert } = yield* setup("tx_commit")
      const error = yield* Effect.flip(
        pool.withTransaction((tx) =>
          Effect.gen(function* () {
            yield* tx.query("insert into tx_commit values (1)")
            // The user catches the error, so the body "succeeds" on a failed transaction.
            yield* Effect.ignore(tx.query("select 1/0"))
          })
        )
      )
      assert.strictEqual(error.cause._tag, "PgTransactionError")
      if (error.cause._tag === "PgTransactionError") {
        assert.strictEqual(error.cause.reason, "CommitRolledBack")
        assert.match(error.cause.message, /ROLLBACK/)
      }
      assert.strictEqual(yield* count(pool, "tx_commit"), 0)
      const expertError = yield* Effect.flip(
        expert.withTransaction((tx) => Effect.ignore(tx.query("select no_such_column from tx_commit")))
      )
      assert.strictEqual(expertError._tag, "PgTransactionError")
      // The connection is clean afterwards.
      assert.strictEqual(yield* expert.withConnection((c) => c.transactionStatus), "I")
    })
  )
})
