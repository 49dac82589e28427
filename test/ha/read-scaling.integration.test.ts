/**
 * Read scaling (issue 16, item 6; decision 020) against a real PG18 primary and its streaming
 * standby: one multi-host string (primary first, `target_session_attrs=read-write`) for two
 * pools, `Pool.layer` for writes and `Pool.layerRead` for reads. Checked:
 * - each statement runs where its pool says (`pg_is_in_recovery()`, `inet_server_port()`), and
 *   a row written through the write pool is read back through the read pool on the standby;
 * - the maintenance tick samples replication: `stats.replication` and the
 *   `effect_pg.pool.replication.*` gauges, on the standby (in recovery, lag within a bound) and
 *   on the primary (one standby streaming);
 * - after the standby is promoted, a read pool on `standby` retires its connections (reason
 *   `role`) and then fails with the typed connect error, while one on `prefer-standby` keeps
 *   using the promoted server.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import * as Pool from "../../src/Pool.ts"
import { PgTestReplication, type PgTestReplicationInfo } from "../../src/testing/index.ts"

const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

const where = "select pg_is_in_recovery()::text, inet_server_port()::text"

/** Polls `probe` every 50 ms until it holds, for at most `ms`; the last value either way. */
const until = <A>(probe: Effect.Effect<A, unknown>, holds: (a: A) => boolean, ms = 10_000) =>
  Effect.gen(function* () {
    const end = Date.now() + ms
    let value = yield* probe
    while (!holds(value) && Date.now() < end) {
      yield* sleep(50)
      value = yield* probe
    }
    return value
  })

const gauge = (metric: Metric.Metric<number, Metric.GaugeState<number>>) =>
  Effect.map(Metric.value(metric), (state) => Number(state.value))

layer(PgTestReplication.layer({ version: 18, tls: false, env: {} }), {
  timeout: 60_000,
  excludeTestServices: true
})("read scaling over one host list", (it) => {
  const hosts = (rep: PgTestReplicationInfo) =>
    `host=127.0.0.1,127.0.0.1 port=${rep.primary.port},${rep.standby.port} user=postgres dbname=postgres sslmode=disable`

  it.effect("writes on the primary, reads on the standby, lag sampled by maintenance", () =>
    Effect.gen(function* () {
      const rep = yield* PgTestReplication.PgTestReplication
      const [P, S] = [String(rep.primary.port), String(rep.standby.port)]
      const connect = `${hosts(rep)} target_session_attrs=read-write`
      const pools = Layer.merge(
        Pool.layer({
          connect,
          max: 2,
          name: "rs-write",
          monitorReplication: true,
          maintenanceInterval: 100
        }),
        Pool.layerRead({ connect, max: 2, name: "rs-read", maintenanceInterval: 100 })
      )
      yield* Effect.gen(function* () {
        const write = yield* Pool.Pool
        const read = yield* Pool.ReadPool
        assert.deepStrictEqual((yield* write.query(where)).rows, [
          { pg_is_in_recovery: "false", inet_server_port: P }
        ])
        assert.deepStrictEqual((yield* read.query(where)).rows, [
          { pg_is_in_recovery: "true", inet_server_port: S }
        ])
        yield* write.query("create table rs (id int primary key)")
        yield* write.query("insert into rs values (42)")
        yield* rep.standby.caughtUp
        const seen = yield* read.query("select id::text, inet_server_port()::text from rs")
        assert.deepStrictEqual(seen.rows, [{ id: "42", inet_server_port: S }])
        const readFails = yield* Effect.flip(read.query("insert into rs values (43)"))
        assert.include(readFails.message, "read-only transaction")

        const standby = yield* until(read.stats, (s) => s.replication !== undefined, 5_000)
        assert.strictEqual(standby.replication?.inRecovery, true)
        assert.strictEqual(standby.replication?.standbys, 0)
        const lag = standby.replication?.lagSeconds ?? -1
        assert.isTrue(lag >= 0 && lag < 60, `standby lag ${lag}`)
        const readMetrics = Pool.poolMetrics("rs-read")
        assert.strictEqual(yield* gauge(readMetrics.inRecovery), 1)
        const lagGauge = yield* gauge(readMetrics.replicationLag)
        assert.isTrue(lagGauge >= 0 && lagGauge < 60, `lag gauge ${lagGauge}`)

        const primary = yield* until(write.stats, (s) => s.replication !== undefined, 5_000)
        assert.strictEqual(primary.replication?.inRecovery, false)
        assert.strictEqual(primary.replication?.standbys, 1)
        const primaryLag = primary.replication?.lagSeconds ?? -1
        assert.isTrue(primaryLag >= 0 && primaryLag < 60, `primary lag ${primaryLag}`)
        assert.strictEqual(yield* gauge(Pool.poolMetrics("rs-write").standbys), 1)
      }).pipe(Effect.provide(pools))
    })
  )

  it.effect("a promoted standby: the standby pool retires its connections, prefer-standby stays", () =>
    Effect.gen(function* () {
      const rep = yield* PgTestReplication.PgTestReplication
      const S = String(rep.standby.port)
      const common = {
        connect: hosts(rep),
        max: 2,
        maintenanceInterval: 100,
        healthCheckAfter: "1 hour" as const
      }
      const strict = yield* Pool.make({ ...common, name: "rs-strict", targetSessionAttrs: "standby" })
      const loose = yield* Pool.make({ ...common, name: "rs-loose", targetSessionAttrs: "prefer-standby" })
      // Two borrowers at once: two connections each, all on the standby.
      for (const { pool } of [strict, loose]) {
        const both = yield* Effect.all(
          [0, 1].map(() => pool.withConnection((c) => Effect.map(c.query(where), (r) => r.rows))),
          { concurrency: 2 }
        )
        assert.deepStrictEqual(both, [
          [{ pg_is_in_recovery: "true", inet_server_port: S }],
          [{ pg_is_in_recovery: "true", inet_server_port: S }]
        ])
        assert.strictEqual((yield* pool.stats).total, 2)
      }

      yield* rep.standby.promote
      const role = Pool.poolMetrics("rs-strict").closed("role")
      const gone = yield* until(
        Effect.all([strict.pool.stats, Effect.map(Metric.value(role), (c) => Number(c.count))]),
        ([stats, closed]) => stats.total === 0 && closed === 2
      )
      assert.deepStrictEqual([gone[0].total, gone[1]], [0, 2])
      // No standby is left: new connections fail, typed, with libpq's reason for each host.
      const error = yield* Effect.flip(strict.expert.query(where))
      assert.strictEqual(error._tag, "PgConnectionError")
      assert.include(error.message, `127.0.0.1:${S}: server is not in hot standby mode`)

      // prefer-standby accepts any server: its connections stay on the promoted one.
      assert.deepStrictEqual((yield* loose.pool.query(where)).rows, [
        { pg_is_in_recovery: "false", inet_server_port: S }
      ])
      const after = yield* until(loose.pool.stats, (s) => s.replication?.inRecovery === false, 5_000)
      assert.strictEqual(after.replication?.inRecovery, false)
      assert.strictEqual(
        yield* Metric.value(Pool.poolMetrics("rs-loose").closed("role")).pipe(
          Effect.map((c) => Number(c.count))
        ),
        0
      )
    })
  )
})
