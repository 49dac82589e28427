/**
 * Pipelines and executeSimple against a real server (connection/pipeline.ts): isolated queries
 * that fail alone among successes, a transaction pipeline that keeps nothing after an error (and
 * names the failing query), notices given to their own query, refusals before sending, and
 * interruption and timeouts while running: the connection stays usable.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { PgTestServer } from "../../src/testing/index.ts"
import { open } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "pipeline and executeSimple (PG18)",
  (it) => {
    const count = (
      conn: {
        query: (
          sql: string
        ) => Effect.Effect<{ rows: ReadonlyArray<Readonly<Record<string, unknown>>> }, unknown>
      },
      table: string
    ) => Effect.map(conn.query(`select count(*) from ${table}`), (r) => r.rows[0]!.count)

    it.effect("isolated: failing queries fail alone, the others run and commit", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table iso (id int primary key)")
        const exits = yield* conn.pipeline([
          { sql: "insert into iso values ($1)", params: ["1"] },
          { sql: "insert into iso values ($1)", params: ["1"] },
          { sql: "select id from iso order by id" },
          { sql: "select * from no_such_table" },
          { sql: "insert into iso values (2) returning id" },
          { sql: "" }
        ])
        assert.deepStrictEqual(
          exits.map((e) => (Exit.isSuccess(e) ? "ok" : "failed")),
          ["ok", "failed", "ok", "failed", "ok", "ok"]
        )
        const duplicate = exits[1]!
        assert.strictEqual(
          Exit.isFailure(duplicate) &&
            Exit.findErrorOption(duplicate).pipe(
              (o) => o._tag === "Some" && o.value._tag === "PgServerError" && o.value.code
            ),
          "23505"
        )
        assert.deepStrictEqual(Exit.isSuccess(exits[2]!) && exits[2]!.value.rows, [{ id: 1 }])
        assert.deepStrictEqual(Exit.isSuccess(exits[4]!) && exits[4]!.value.rows, [{ id: 2 }])
        assert.strictEqual(Exit.isSuccess(exits[0]!) && exits[0]!.value.command.tag, "INSERT 0 1")
        assert.strictEqual(yield* count(conn, "iso"), 2n)
        assert.strictEqual(yield* conn.transactionStatus, "I")
      })
    )

    it.effect("transaction: one error and nothing is kept; the error names the query", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create table tx_p (id int primary key)")
        const e = yield* Effect.flip(
          conn.pipeline(
            [
              { sql: "insert into tx_p values (1)" },
              { sql: "insert into tx_p values (2)" },
              { sql: "insert into tx_p values (1)" },
              { sql: "insert into tx_p values (3)" }
            ],
            { mode: "transaction" }
          )
        )
        assert.strictEqual(e._tag === "PgServerError" && e.code, "23505")
        assert.include(
          e._tag === "PgServerError" ? (e.where ?? "") : "",
          "pipeline query index 2 (of 4 queries)"
        )
        assert.strictEqual(yield* count(conn, "tx_p"), 0n)
        const ok = yield* conn.pipeline(
          [
            { sql: "insert into tx_p values ($1)", params: ["1"] },
            { sql: "insert into tx_p values ($1)", params: ["2"] },
            { sql: "select array_agg(id order by id)::text from tx_p" }
          ],
          { mode: "transaction" }
        )
        assert.deepStrictEqual(
          ok.map((r) => r.command.tag),
          ["INSERT 0 1", "INSERT 0 1", "SELECT 1"]
        )
        assert.deepStrictEqual(ok[2]!.rows, [{ array_agg: "{1,2}" }])
        assert.strictEqual(yield* count(conn, "tx_p"), 2n)
        yield* conn.query("drop table tx_p")
      })
    )

    it.effect("transaction: a deferred constraint failing at the implicit COMMIT says so", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table def (id int unique deferrable initially deferred)")
        const e = yield* Effect.flip(
          conn.pipeline([{ sql: "insert into def values (1)" }, { sql: "insert into def values (1)" }], {
            mode: "transaction"
          })
        )
        assert.strictEqual(e._tag === "PgServerError" && e.code, "23505")
        assert.include(e._tag === "PgServerError" ? (e.where ?? "") : "", "pipeline COMMIT")
        assert.strictEqual(yield* count(conn, "def"), 0n)
      })
    )

    it.effect("inside a transaction block: both modes run in it; ROLLBACK undoes them", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table blk (id int)")
        yield* conn.query("begin")
        yield* conn.pipeline([{ sql: "insert into blk values (1)" }, { sql: "insert into blk values (2)" }])
        yield* conn.pipeline([{ sql: "insert into blk values (3)" }], { mode: "transaction" })
        assert.strictEqual(yield* conn.transactionStatus, "T")
        assert.strictEqual(yield* count(conn, "blk"), 3n)
        yield* conn.query("rollback")
        assert.strictEqual(yield* count(conn, "blk"), 0n)
      })
    )

    it.effect("notices go to the query that raised them", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const raise = (text: string) => ({ sql: `do $$ begin raise notice '${text}'; end $$` })
        const exits = yield* conn.pipeline([raise("a"), { sql: "select 1" }, raise("c")])
        assert.deepStrictEqual(
          exits.map((e) => (Exit.isSuccess(e) ? e.value.notices.map((n) => n.message) : [])),
          [["a"], [], ["c"]]
        )
        const tx = yield* conn.pipeline([raise("x"), raise("y"), { sql: "select 1" }], {
          mode: "transaction"
        })
        assert.deepStrictEqual(
          tx.map((r) => r.notices.map((n) => n.message)),
          [["x"], ["y"], []]
        )
      })
    )

    it.effect("COPY and empty lists are answered before sending", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const e = yield* Effect.flip(
          conn.pipeline([{ sql: "select 1" }, { sql: "copy (select 1) to stdout" }])
        )
        assert.deepStrictEqual(e._tag === "PgProtocolError" && [e.reason, e.mayHaveRun], [
          "CopyNotSupported",
          false
        ])
        assert.deepStrictEqual(yield* conn.pipeline([]), [])
        assert.deepStrictEqual(yield* conn.pipeline([], { mode: "transaction" }), [])
        assert.deepStrictEqual((yield* conn.query("select 1")).rows, [{ "?column?": 1 }])
      })
    )

    it.effect("a timeout cancels the running query of a transaction pipeline (nothing kept)", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table slow (id int)")
        const e = yield* Effect.flip(
          conn.pipeline([{ sql: "insert into slow values (1)" }, { sql: "select pg_sleep(5)" }], {
            mode: "transaction",
            timeout: 200
          })
        )
        assert.deepStrictEqual(e._tag === "PgTimeoutError" && e.outcome, "cancelled")
        assert.strictEqual(yield* count(conn, "slow"), 0n)
      })
    )

    it.effect("interrupted while running: cancelled on the server, the connection stays usable", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const started = Date.now()
        const running = yield* Effect.forkChild(
          conn.pipeline([{ sql: "select pg_sleep(5)" }, { sql: "select 2" }])
        )
        yield* Effect.sleep("150 millis")
        yield* Fiber.interrupt(running)
        assert.deepStrictEqual((yield* conn.query("select 3")).rows, [{ "?column?": 3 }])
        assert.isBelow(Date.now() - started, 4000)
        const simple = yield* Effect.forkChild(conn.executeSimple("select pg_sleep(5)"))
        yield* Effect.sleep("150 millis")
        yield* Fiber.interrupt(simple)
        assert.deepStrictEqual((yield* conn.query("select 4")).rows, [{ "?column?": 4 }])
        assert.isBelow(Date.now() - started, 4000)
      })
    )

    it.effect("executeSimple: every statement's CommandComplete", () =>
      Effect.gen(function* () {
        const conn = yield* open
        const done = yield* conn.executeSimple(
          "create temp table es (a int); insert into es values (1), (2); ; update es set a = a + 1"
        )
        assert.deepStrictEqual(
          done.map((c) => c.tag),
          ["CREATE TABLE", "INSERT 0 2", "UPDATE 2"]
        )
        assert.strictEqual(yield* count(conn, "es"), 2n)
      })
    )

    it.effect("executeSimple refuses a SELECT after it ran (mayHaveRun), and goes on in step", () =>
      Effect.gen(function* () {
        const conn = yield* open
        yield* conn.query("create temp table ran (a int)")
        const e = yield* Effect.flip(
          conn.executeSimple("insert into ran values (1); select g from generate_series(1, 1000) g")
        )
        assert.deepStrictEqual(e._tag === "PgProtocolError" && [e.reason, e.mayHaveRun], [
          "UnexpectedRows",
          true
        ])
        // The insert ran and committed with the select (one implicit transaction, no error).
        assert.strictEqual(yield* count(conn, "ran"), 1n)
        const copy = yield* Effect.flip(conn.executeSimple("copy ran from stdin"))
        // Answered with CopyFail: the server's own 57014 ends it (issue 14, decision 017).
        assert.deepStrictEqual(copy._tag === "PgServerError" && copy.code, "57014")
        const timeout = yield* Effect.flip(conn.executeSimple("select pg_sleep(5)", { timeout: 200 }))
        assert.deepStrictEqual(timeout._tag === "PgTimeoutError" && timeout.outcome, "cancelled")
        assert.deepStrictEqual((yield* conn.query("select 5")).rows, [{ "?column?": 5 }])
      })
    )
  }
)
