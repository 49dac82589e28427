/**
 * The reliability storm: a pool (max 4) whose connections all go through a TCP proxy, under mixed
 * load for a bounded time (20 s of work, at most 500 operations per worker): one-shot INSERTs
 * (some with a tight `timeout`), INSERTs in `withTransaction` (several rows), COPY IN of a few rows,
 * streams abandoned early, random fiber interruptions; meanwhile a chaos fiber terminates a random
 * pool backend (pg_terminate_backend from a monitor session) or cuts every proxied connection.
 * Every write carries unique ids and records what its caller was told. Afterwards, against the
 * table: 0 lost (every success present), 0 duplicated (each id at most once), 0 torn
 * (transactions and COPYs all or nothing), 0 misreported (every failure with `mayHaveRun ===
 * false` absent); every stream read exactly its rows; no operation hung; while it ran, no pooled
 * connection held more prepared statements than its cache size (+1); once the pool is closed, no
 * backend of its application_name is left. A summary of the counts is printed.
 *
 * The seed is printed; RELIABILITY_STORM_SEED=<n> replays the choices (not the timing).
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as PoolM from "../../src/Pool.ts"
import { makeProxy, PgTestServer } from "../../src/testing/index.ts"
import { makeOp, type OpReport, runOp, type StormContext } from "./storm-ops.ts"
import {
  appName,
  audit,
  backendPids,
  countsById,
  eventually,
  monitor,
  range,
  rngFrom,
  summary,
  type Write
} from "./support.ts"

const WORK_MILLIS = 20_000
const OPS_PER_WORKER = 500
const WORKERS = 8
const CACHE = 8

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "reliability storm (PG18)",
  (it) => {
    it.effect(
      "a pool under mixed load, kills and cuts: nothing lost, duplicated, torn or misreported",
      () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const seed = Number(process.env.RELIABILITY_STORM_SEED ?? Date.now() % 1_000_000)
          console.log(`reliability storm seed: ${seed} (replay with RELIABILITY_STORM_SEED=${seed})`)
          const rnd = rngFrom(seed)
          const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1))
          const watcher = yield* monitor(server)
          const killer = yield* monitor(server)
          const table = "storm_writes"
          yield* watcher.query(`create table ${table} (id text not null, grp text not null)`)
          const proxy = yield* makeProxy(server)
          const app = appName("storm")
          const chaos = { kills: 0, cuts: 0, resets: 0 }
          const prepared = { samples: 0, max: 0 }
          const reports: Array<OpReport> = []
          let working = true
          let workedFor = 0
          const started = Date.now()
          const deadline = started + WORK_MILLIS

          // The pool lives in its own scope, so that it is closed before the final checks.
          yield* Effect.scoped(
            Effect.gen(function* () {
              const { pool } = yield* PoolM.make({
                connect: {
                  url: `postgres://${server.user}@127.0.0.1:${proxy.port}/${server.database}?sslmode=disable`,
                  applicationName: app,
                  statementCacheSize: CACHE
                },
                name: app,
                max: 4,
                acquireTimeout: "5 seconds"
              })
              let serial = 0
              const ctx: StormContext = { pool, table, rnd, nextId: () => `w${serial++}` }

              const worker = Effect.gen(function* () {
                for (let n = 0; n < OPS_PER_WORKER && Date.now() < deadline; n++) {
                  const op = makeOp(ctx)
                  const interruptAfter = rnd() < 0.15 ? int(0, 30) : undefined
                  reports.push(yield* runOp(op, interruptAfter))
                }
              })

              const chaosLoop = Effect.gen(function* () {
                while (working && Date.now() < deadline - 1_000) {
                  yield* Effect.sleep(`${int(700, 2_000)} millis`)
                  const roll = rnd()
                  if (roll < 0.55) {
                    const pids = yield* Effect.orElseSucceed(backendPids(killer, app), () => [])
                    if (pids.length === 0) continue
                    const victim = pids[int(0, pids.length - 1)]!
                    yield* Effect.ignore(killer.query("select pg_terminate_backend($1)", [String(victim)]))
                    chaos.kills++
                  } else if (roll < 0.8) {
                    const reset = rnd() < 0.5
                    yield* proxy.cutAll({ reset })
                    if (reset) chaos.resets++
                    else chaos.cuts++
                  }
                }
              })

              // On a live pooled connection: how many statements it holds prepared.
              const sampler = Effect.gen(function* () {
                while (working) {
                  yield* Effect.sleep("500 millis")
                  const count = yield* Effect.option(
                    Effect.timeout(
                      pool.withConnection((c) => c.query("select count(*)::int from pg_prepared_statements")),
                      "3 seconds"
                    )
                  )
                  if (count._tag === "Some") {
                    prepared.samples++
                    prepared.max = Math.max(prepared.max, count.value.rows[0]!.count as number)
                  }
                }
              })

              const fibers = yield* Effect.forEach(range(WORKERS), () => Effect.forkChild(worker))
              const others = yield* Effect.forEach([chaosLoop, sampler], (f) => Effect.forkChild(f))
              yield* Fiber.joinAll(fibers)
              working = false
              workedFor = Date.now() - started
              yield* Fiber.joinAll(others)
            })
          )
          const closedAfter = Date.now() - started

          // Once the pool is closed, none of its backends is left.
          const left = yield* Effect.exit(
            eventually(
              "no backend of the pool is left",
              Effect.map(backendPids(watcher, app), (pids) => pids.length === 0),
              10_000
            )
          )

          const writes: Array<Write> = reports.flatMap((r) => (r.write === undefined ? [] : [r.write]))
          const result = audit(writes, yield* countsById(watcher, table))
          const otherProblems = reports.flatMap((r) => (r.problem === undefined ? [] : [r.problem]))
          const kinds = new Map<string, number>()
          for (const r of reports) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1)
          const mayHaveRunTrue = writes.filter((w) => w.outcome.kind === "error" && w.outcome.mayHaveRun)
          const tags = new Map<string, number>()
          for (const w of writes) {
            const key = w.outcome.kind === "error" ? w.outcome.label : w.outcome.kind
            tags.set(key, (tags.get(key) ?? 0) + 1)
          }
          const counts = yield* countsById(watcher, table)
          const landedUnknown = mayHaveRunTrue.filter((w) =>
            w.ids.some((id) => (counts.get(id) ?? 0) > 0)
          ).length
          console.log(
            [
              summary(
                `reliability storm (${reports.length} operations in ${workedFor} ms, pool closed after ${closedAfter} ms)`,
                result
              ),
              `  operations: ${JSON.stringify(Object.fromEntries(kinds))}`,
              `  outcomes of writes: ${JSON.stringify(Object.fromEntries(tags))}`,
              `  mayHaveRun true: ${mayHaveRunTrue.length}, of which landed: ${landedUnknown}`,
              `  interrupted on purpose: ${reports.filter((r) => r.interruptedOnPurpose).length}`,
              `  chaos: ${JSON.stringify(chaos)}; proxy: ${JSON.stringify(yield* proxy.stats)}`,
              `  prepared statements on a live connection: max ${prepared.max} over ${prepared.samples} samples (cache ${CACHE})`,
              `  other problems: ${otherProblems.length}`,
              ...[...result.problems, ...otherProblems]
                .sort((a, b) => Number(a.startsWith("defect")) - Number(b.startsWith("defect")))
                .slice(0, 25)
                .map((p) => `    ${p}`)
            ].join("\n")
          )

          assert.deepStrictEqual(
            result.problems,
            [],
            "lost, duplicated, torn, misreported or defective writes"
          )
          assert.deepStrictEqual(otherProblems, [], "wrong stream answers, hung or unexplained operations")
          assert.isAtMost(
            prepared.max,
            CACHE + 1,
            "prepared statements beyond the cache size on a live connection"
          )
          assert.isTrue(left._tag === "Success", "backends of the closed pool are left in pg_stat_activity")
          // The storm really stormed.
          assert.isAbove(writes.filter((w) => w.outcome.kind === "ok").length, 100, "enough writes succeeded")
          assert.isAbove(writes.filter((w) => w.outcome.kind === "error").length, 0, "some writes failed")
          assert.isAbove(chaos.kills + chaos.cuts + chaos.resets, 3, "the chaos fiber struck")
          assert.isAbove(prepared.samples, 0, "the prepared statements were sampled")
          assert.isBelow(closedAfter, 45_000, "bounded in time")
        }),
      60_000
    )
  }
)
