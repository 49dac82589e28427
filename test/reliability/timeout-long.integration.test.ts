/**
 * A long timeout is a long bound, not an immediate one. Node's timers take at most 2^31-1 ms
 * (about 24.8 days); a longer delay fires after 1 ms. `timeout: "30 days"` must let a 200 ms
 * statement finish, on a connection and through a pool; so must `Infinity` (no timeout).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Expert from "../../src/Expert.ts"
import * as PoolM from "../../src/Pool.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { appName, connectInput, describe, outcomeOf } from "./support.ts"

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 60_000, excludeTestServices: true })(
  "timeouts longer than a timer can hold (PG18)",
  (it) => {
    it.effect("30 days, 10^12 ms and Infinity do not fire at once", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* Expert.connect(server.url)
        const { pool } = yield* PoolM.make({ connect: connectInput(server, appName("timeout_long")), max: 1 })
        for (const timeout of ["30 days", 1e12, Number.POSITIVE_INFINITY] as const) {
          const direct = yield* Effect.exit(conn.query("select pg_sleep(0.2)", [], { timeout }))
          const pooled = yield* Effect.exit(pool.query("select pg_sleep(0.2)", [], { timeout }))
          assert.strictEqual(describe(outcomeOf(direct)), "ok", `connection, timeout ${String(timeout)}`)
          assert.strictEqual(describe(outcomeOf(pooled)), "ok", `pool, timeout ${String(timeout)}`)
        }
      })
    )
  }
)
