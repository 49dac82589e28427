/**
 * Custom commands against a real server (docs/commands.md): the two worked examples — a
 * single-round-trip bulk insert and a query through a statement cache of one's own — run next to
 * built-in operations on the same connection, pipelined with them; a command that asks for a
 * re-synchronisation leaves the session usable; one that throws or meets a message it does not
 * understand fails the connection with a protocol error, never a silent desync. And the docs show
 * the examples as they are here.
 */
import { readFileSync } from "node:fs"
import { assert, describe, layer, it as plain } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Connection from "../../src/Connection.ts"
import * as Command from "../../src/commands/index.ts"
import { encodeQuery as encode } from "../../src/protocol/Frontend.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { bulkInsert } from "./examples/bulkInsert.ts"
import { makeCache } from "./examples/cachedQuery.ts"

const encodeQuery = (sql: string): Uint8Array => {
  const frames = encode(sql)
  if (!(frames instanceof Uint8Array)) throw new Error(frames.message)
  return frames
}

const connect = Effect.gen(function* () {
  const server = yield* PgTestServer.PgTestServer
  return yield* Connection.connect(server.url)
})

const causeOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit)
    ? (exit.cause.reasons[0] as { error?: { cause?: { _tag: string; reason?: string } } }).error
    : undefined

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "custom commands (PG18)",
  (it) => {
    it.effect("bulk insert: 1,000 rows in one exchange, pipelined with queries", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.simpleQuery("create temp table bulk (id int primary key, name text)")
        const rows = Array.from({ length: 1000 }, (_, i) => [String(i), i % 7 === 0 ? null : `n${i}`])
        const [before, inserted, after] = yield* Effect.all(
          [
            conn.query("select count(*) from bulk"),
            conn.run(bulkInsert, { sql: "insert into bulk (id, name) values ($1, $2)", rows }),
            conn.query("select count(*), count(name) from bulk")
          ],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(before.rows, [{ count: 0n }])
        assert.strictEqual(inserted, 1000)
        assert.deepStrictEqual(after.rows, [{ count: 1000n, count_2: BigInt(1000 - Math.ceil(1000 / 7)) }])
      })
    )

    it.effect("bulk insert: a failing row keeps none of them (one implicit transaction)", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        yield* conn.simpleQuery("create temp table bulk2 (id int primary key)")
        const rows = [["1"], ["2"], ["2"], ["3"]]
        const error = yield* Effect.flip(conn.run(bulkInsert, { sql: "insert into bulk2 values ($1)", rows }))
        assert.strictEqual(error.code, "23505")
        assert.strictEqual(error.mayHaveRun, false)
        assert.deepStrictEqual((yield* conn.query("select count(*) from bulk2")).rows, [{ count: 0n }])
      })
    )

    it.effect("cached query: prepared once under its own name, reused, next to the built-in cache", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        const cached = makeCache(conn)
        const sql = "select $1::int * 2 as doubled"
        // The first two are pipelined: the second runs unnamed while the first prepares.
        const results = yield* Effect.all([cached(sql, ["1"]), cached(sql, ["2"])], {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual(
          results.map((r) => r.rows),
          [[["2"]], [["4"]]]
        )
        for (let i = 3; i <= 5; i++)
          assert.deepStrictEqual((yield* cached(sql, [String(i)])).rows, [[String(i * 2)]])
        yield* conn.query(sql, ["7"])
        const names = yield* conn.query(
          "select name from pg_prepared_statements where statement = $1 order by name",
          [sql]
        )
        // Ours, and the built-in cache's own (ep<N>): no clash.
        assert.strictEqual(names.rows.length, 2)
        assert.ok(names.rows.some((r) => r.name === "app_stmt_1"))
        assert.ok(names.rows.some((r) => /^ep\d+$/.test(String(r.name))))
      })
    )

    it.effect("a command that asks for a re-synchronisation fails alone; the session goes on", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        // Sends a query but refuses its first answer: SyncRequired with its Sync still outstanding.
        const picky = Command.make<void, object, never>({
          name: "picky",
          start: () => ({ frames: encodeQuery("select 1"), state: {} }),
          onMessage: () =>
            Command.syncRequired(Command.protocol("Picky", "did not like the first message"), 1)
        })
        const [a, b, c] = yield* Effect.all(
          [
            Effect.exit(conn.query("select 1")),
            Effect.exit(conn.run(picky, undefined)),
            Effect.exit(conn.query("select 2"))
          ],
          { concurrency: "unbounded" }
        )
        assert.ok(Exit.isSuccess(a))
        assert.strictEqual(causeOf(b)?.cause?.reason, "Picky")
        assert.ok(Exit.isSuccess(c))
        assert.strictEqual((yield* conn.status)._tag, "Open")
      })
    )

    it.effect("a command that throws, or meets a message it does not know, fails the connection", () =>
      Effect.gen(function* () {
        const thrower = yield* connect
        const throws = Command.make<void, object, never>({
          name: "thrower",
          start: () => ({ frames: encodeQuery("select 1"), state: {} }),
          onMessage: () => {
            throw new Error("boom")
          }
        })
        const thrown = yield* Effect.flip(thrower.run(throws, undefined))
        assert.strictEqual(thrown.cause._tag, "PgProtocolError")
        assert.match(thrown.message, /thrower command threw in onMessage: boom/)
        assert.strictEqual((yield* thrower.status)._tag, "Failed")

        const strict = yield* connect
        const knowsNothing = Command.make<void, object, never>({
          name: "knows-nothing",
          start: () => ({ frames: encodeQuery("select 1"), state: {} }),
          onMessage: (_, message) => Command.unexpectedMessage("knows-nothing", message)
        })
        const unexpected = yield* Effect.flip(strict.run(knowsNothing, undefined))
        assert.strictEqual(unexpected.cause._tag, "PgProtocolError")
        assert.match(unexpected.message, /unexpected RowDescription during knows-nothing/)
        assert.strictEqual((yield* strict.status)._tag, "Failed")
      })
    )

    it.effect("arguments a command cannot encode fail the call with nothing sent", () =>
      Effect.gen(function* () {
        const conn = yield* connect
        const error = yield* Effect.flip(
          conn.run(bulkInsert, { sql: "insert into nowhere values ($1)\u0000", rows: [["1"]] })
        )
        assert.strictEqual(error.mayHaveRun, false)
        assert.strictEqual((yield* conn.status)._tag, "Open")
      })
    )
  }
)

describe("docs/commands.md", () => {
  plain("shows each example as it runs here", () => {
    const doc = readFileSync(new URL("../../docs/commands.md", import.meta.url), "utf8")
    for (const name of ["bulkInsert", "cachedQuery"]) {
      const file = readFileSync(new URL(`./examples/${name}.ts`, import.meta.url), "utf8")
      const marker = `<!-- example: test/commands/examples/${name}.ts -->`
      const at = doc.indexOf(marker)
      assert.ok(at >= 0, `docs/commands.md has the ${name} example`)
      const block = /```ts\n([\s\S]*?)```/.exec(doc.slice(at))?.[1] ?? ""
      assert.strictEqual(block, file.replaceAll('"../../../src/index.ts"', '"effect-pg"'))
    }
  })
})
