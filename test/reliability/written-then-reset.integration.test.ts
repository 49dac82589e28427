/**
 * A statement that was written, ran and committed must never be reported as "never sent". The
 * issue: an INSERT pipelined behind a stalled stream is written, committed (another session sees
 * the row), and when the connection is then reset its caller gets PgClosedError 08003 with
 * `mayHaveReachedServer = false`, so `mayHaveRun` says a retry is safe and the row is written twice.
 *
 * Each scenario makes the INSERT's answer sit unread in a socket buffer while a monitor session
 * sees its row committed, then ends the connection, and requires the INSERT's report to say
 * `mayHaveRun === true` (or success):
 * - the stalled stream: a stream whose every row is flushed by a NOTICE, so each comes in its own
 *   socket read; the consumer takes one batch and stops, the client stops reading (backpressure)
 *   after 16 batches, the statement still ends on the server, and the INSERT behind it runs. Then
 *   a graceful `close`, or an RST (proxy `cutAll({ reset: true })`) found by the next write.
 * - the stalled proxy: the statement ahead of the INSERT waits for a lock; once the server has
 *   both, the proxy stalls, the lock is released, the INSERT commits, its answer waits in the
 *   proxy; then `cutAll` (FIN) or a graceful `close`.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { makeProxy, PgTestServer, type PgTestServerInfo } from "../../src/testing/index.ts"
import { describe, eventually, monitor, outcomeOf } from "./support.ts"

let tables = 0

const proxied = (server: PgTestServerInfo, port: number) =>
  `postgres://${server.user}@127.0.0.1:${port}/${server.database}?sslmode=disable`

/** Waits until another session sees `id` committed in `table`. */
const committed = (watcher: ExpertConnection, table: string, id: string) =>
  eventually(
    `the INSERT of ${id} is committed`,
    Effect.map(
      watcher.query(`select count(*) from ${table} where id = $1`, [id]),
      ({ rows }) => rows[0]!.count === 1n
    ),
    10_000
  )

/** The INSERT's report after the reset: within 10 s, and saying it may have run. */
const judge = (insert: Fiber.Fiber<unknown, unknown>, watcher: ExpertConnection, table: string, id: string) =>
  Effect.gen(function* () {
    const exit = yield* Effect.timeoutOption(Fiber.await(insert), "10 seconds")
    assert.strictEqual(exit._tag, "Some", "the INSERT's caller hears back after the reset")
    if (exit._tag !== "Some") return
    const outcome = outcomeOf(exit.value)
    const count = (yield* watcher.query(`select count(*) from ${table} where id = $1`, [id])).rows[0]!.count
    console.log(`the committed INSERT was reported as: ${describe(outcome)} (rows: ${count})`)
    assert.strictEqual(count, 1n)
    assert.notStrictEqual(outcome.kind, "defect", describe(outcome))
    assert.notStrictEqual(outcome.kind, "interrupted")
    if (outcome.kind === "error")
      assert.isTrue(outcome.mayHaveRun, `a committed INSERT reported with mayHaveRun false: ${outcome.label}`)
  })

layer(PgTestServer.layer({ version: 18, tls: false, backend: "local" }), {
  timeout: 120_000,
  excludeTestServices: true
})("a written, committed statement is never reported as never sent (PG18)", (it) => {
  for (const reset of ["close", "rst"] as const) {
    it.effect(
      `an INSERT behind a stalled stream commits; then ${reset}: its error says it may have run`,
      () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const watcher = yield* monitor(server)
          const table = `written_${tables++}`
          yield* watcher.query(`create table ${table} (id text)`)
          yield* watcher.query(
            "create or replace function written_tick(i int) returns int language plpgsql as $$ begin raise notice 'tick %', i; perform pg_sleep(0.003); return i; end $$"
          )
          const proxy = yield* makeProxy(server)
          const conn = yield* Expert.connect(reset === "rst" ? proxied(server, proxy.port) : server.url)
          const id = `stalled_${reset}`
          const insert = yield* Effect.scoped(
            Effect.gen(function* () {
              const pull = yield* Stream.toPull(
                conn.stream("select written_tick(g) from generate_series(1, 60) g")
              )
              const first = yield* pull
              assert.deepStrictEqual(first[0], { written_tick: 1 })
              // The consumer stops here; the INSERT is written behind the stream.
              const insert = yield* Effect.forkChild(conn.query(`insert into ${table} values ($1)`, [id]))
              yield* committed(watcher, table, id)
              yield* Effect.sleep("100 millis")
              assert.isUndefined(insert.pollUnsafe(), "scenario: the INSERT's answer is still unread")
              if (reset === "close") yield* conn.close
              else {
                assert.isAbove(yield* proxy.cutAll({ reset: true }), 0)
                // The client is not reading; its next write finds the reset.
                yield* Effect.exit(Effect.timeoutOption(conn.query("select 1"), "5 seconds"))
              }
              return insert
            })
          )
          yield* judge(insert, watcher, table, id)
        })
    )
  }

  for (const head of ["query", "stream"] as const) {
    for (const reset of ["cut", "close"] as const) {
      it.effect(
        `an INSERT behind a ${head} waiting on a lock commits while the proxy stalls; then ${reset}`,
        () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const watcher = yield* monitor(server)
            const locker = yield* monitor(server)
            const table = `written_${tables++}`
            const gate = `${table}_gate`
            yield* watcher.simpleQuery(`create table ${table} (id text); create table ${gate} (x int)`)
            yield* locker.simpleQuery(`begin; lock table ${gate} in access exclusive mode`)
            const proxy = yield* makeProxy(server)
            const conn = yield* Expert.connect(proxied(server, proxy.port))
            const id = `locked_${head}_${reset}`
            const ahead: Effect.Effect<unknown, unknown> =
              head === "query"
                ? conn.query(`select count(*) from ${gate}`)
                : Stream.runCollect(conn.stream(`select x from ${gate}`))
            yield* Effect.forkChild(Effect.exit(ahead))
            const insert = yield* Effect.forkChild(conn.query(`insert into ${table} values ($1)`, [id]))
            yield* eventually(
              "the statement ahead waits for the lock",
              Effect.map(
                watcher.query("select wait_event_type from pg_stat_activity where pid = $1", [
                  String(conn.processId)
                ]),
                ({ rows }) => rows[0]?.wait_event_type === "Lock"
              )
            )
            // Both requests went through the proxy together; now it holds everything.
            yield* Effect.sleep("100 millis")
            yield* proxy.stall
            yield* locker.simpleQuery("commit")
            yield* committed(watcher, table, id)
            yield* Effect.sleep("100 millis")
            assert.isUndefined(insert.pollUnsafe(), "scenario: the INSERT's answer waits in the proxy")
            if (reset === "cut") assert.isAbove(yield* proxy.cutAll(), 0)
            else yield* conn.close
            yield* judge(insert, watcher, table, id)
            yield* proxy.resume
          })
      )
    }
  }
})
