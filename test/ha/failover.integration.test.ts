/**
 * Failover under load (issue 16, item 3): a Pool on `host=primary,standby
 * target_session_attrs=read-write` runs inserts from four fibers against a synchronously
 * replicated PG18 pair; the primary is stopped, then the standby promoted. Checked:
 * - every statement ends, with its result or a typed `PgError` (none hangs);
 * - a failed insert with `mayHaveRun: false` is not in the promoted server's table, and every
 *   acknowledged insert is (synchronous replication: an acknowledged commit was applied there);
 * - the pool reaches the new primary within a bound after the promotion, and the load goes on;
 * - no connection leaks: the new primary never sees more sessions of the pool than `max`, and
 *   none once the pool is closed.
 * Once with a fast stop (clients get FATAL 57P01, in-flight statements are rolled back) and once
 * with an immediate one (a crash: in-flight statements may have run). docs/ha.md has the timeline.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { connect } from "../../src/Connection.ts"
import type { PgError } from "../../src/Errors.ts"
import * as Pool from "../../src/Pool.ts"
import { PgTestReplication, type PgTestRestartMode } from "../../src/testing/index.ts"

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

type Outcome = { readonly id: number; readonly at: number } & (
  | { readonly ok: true }
  | { readonly ok: false; readonly tag: string; readonly mayHaveRun: boolean; readonly message: string }
)

const MAX = 4
const APP = "effect-pg-failover"
const direct = (port: number) => `host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable`

/** One query on a fresh connection to `port`. */
const once = (port: number, sql: string, params: ReadonlyArray<string> = []) =>
  Effect.scoped(Effect.flatMap(connect(direct(port)), (c) => c.query(sql, params)))

const poolSessions = (port: number) =>
  once(port, "select count(*) from pg_stat_activity where application_name = $1", [APP]).pipe(
    Effect.map((r) => Number(r.rows[0]?.count)),
    Effect.orElseSucceed(() => 0)
  )

const failover = (mode: PgTestRestartMode) =>
  Effect.gen(function* () {
    const rep = yield* PgTestReplication.start({ version: 18, tls: false, env: {}, synchronous: true })
    const [P, S] = [rep.primary.port, rep.standby.port]
    yield* once(P, "create table t (id int primary key)")
    const outcomes: Array<Outcome> = []
    const timeline: Record<string, number> = {}
    let next = 0
    let running = true
    let maxSessions = 0
    const t0 = Date.now()
    const poolScope = yield* Scope.make()
    const { pool } = yield* Pool.make({
      connect: `host=127.0.0.1,127.0.0.1 port=${P},${S} user=postgres dbname=postgres sslmode=disable application_name=${APP} target_session_attrs=read-write`,
      max: MAX
    }).pipe(Scope.provide(poolScope))

    const worker = Effect.gen(function* () {
      while (running) {
        const id = next++
        const exit = yield* Effect.exit(pool.query("insert into t values ($1)", [String(id)]))
        const at = Date.now() - t0
        if (exit._tag === "Success") outcomes.push({ id, at, ok: true })
        else {
          const error = (yield* Effect.flip(exit)) as PgError
          outcomes.push({
            id,
            at,
            ok: false,
            tag: error._tag,
            mayHaveRun: error.mayHaveRun,
            message: error.message
          })
          yield* sleep(20)
        }
      }
    })
    const workers = yield* Effect.forkChild(
      Effect.all(
        Array.from({ length: MAX }, () => worker),
        { concurrency: MAX }
      )
    )
    // The pool's sessions on the standby (the next primary), sampled all along.
    const sampler = yield* Effect.forkChild(
      Effect.gen(function* () {
        while (running) {
          maxSessions = Math.max(maxSessions, yield* poolSessions(S))
          yield* sleep(50)
        }
      })
    )
    yield* sleep(800)
    timeline.stop = Date.now() - t0
    yield* rep.primary.stop({ mode })
    timeline.stopped = Date.now() - t0
    yield* sleep(300)
    yield* rep.standby.promote
    timeline.promoted = Date.now() - t0
    const deadline = Date.now() + 15_000
    const afterPromotion = () => outcomes.filter((o) => o.ok && o.at > timeline.promoted!)
    while (afterPromotion().length === 0 && Date.now() < deadline) yield* sleep(20)
    timeline.firstSuccessAfterPromotion = afterPromotion()[0]?.at ?? Number.NaN
    yield* sleep(500)
    running = false
    // Every statement ends: the workers finish their last one (bounded).
    const joined = yield* Fiber.join(workers).pipe(
      Effect.as(true),
      Effect.raceFirst(Effect.as(sleep(20_000), false))
    )
    yield* Fiber.join(sampler)
    yield* Scope.close(poolScope, Exit.void)
    const afterClose = yield* poolSessions(S)
    const kept = yield* Effect.map(
      once(S, "select id from t"),
      (r) => new Set(r.rows.map((row) => row.id as number))
    )
    return { outcomes, timeline, joined, maxSessions, afterClose, kept }
  }).pipe(Effect.scoped)

describe("failover", () => {
  for (const mode of ["fast", "immediate"] as const) {
    it.live(
      `a pool under load reaches the promoted standby after ${mode === "fast" ? "a fast" : "an immediate"} stop; every statement ends and says whether it ran`,
      () =>
        Effect.gen(function* () {
          const { outcomes, timeline, joined, maxSessions, afterClose, kept } = yield* failover(mode)
          assert.isTrue(joined, "every in-flight statement ended")
          const failures = outcomes.filter((o): o is Outcome & { ok: false } => !o.ok)
          assert.isTrue(failures.length > 0, "the failover was felt")
          for (const f of failures) assert.strictEqual(f.tag, "PgError", f.message)
          for (const o of outcomes) {
            if (o.ok) assert.isTrue(kept.has(o.id), `acknowledged insert ${o.id} is on the new primary`)
            else if (!o.mayHaveRun)
              assert.isFalse(kept.has(o.id), `insert ${o.id} (${o.message}) did not run`)
          }
          const reached = timeline.firstSuccessAfterPromotion! - timeline.promoted!
          assert.isTrue(
            reached < 15_000,
            `the pool reached the new primary ${reached} ms after the promotion`
          )
          assert.isTrue(
            outcomes.filter((o) => o.ok && o.at > timeline.promoted!).length > 10,
            "the load goes on"
          )
          assert.isTrue(
            maxSessions <= MAX,
            `at most ${MAX} sessions of the pool at once (saw ${maxSessions})`
          )
          assert.strictEqual(afterClose, 0, "no session left once the pool is closed")
        }),
      60_000
    )
  }
})
