/**
 * What `pooler: "transaction"` refuses (src/pool/pooler.ts `refusal`), statement by statement,
 * and the new pool options read through a ConfigProvider (`poolConfig`).
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { identityLift } from "../../src/connection/api.ts"
import { poolConfig } from "../../src/pool/options.ts"
import { guardLift, refusal } from "../../src/pool/pooler.ts"

describe("pooler: transaction", () => {
  it("refuses what needs a session, and only that", () => {
    const refused = (sql: string, operation = "query") => refusal({ operation, sql }) !== undefined
    for (const sql of [
      "set search_path = x",
      "  /* hint */ SET statement_timeout = 0",
      "SET SESSION statement_timeout = 0",
      "listen jobs",
      "prepare p as select 1",
      "select pg_advisory_lock(1)",
      "select PG_TRY_ADVISORY_LOCK_SHARED (1, 2)"
    ]) {
      assert.isTrue(refused(sql), sql)
    }
    for (const sql of [
      "set local statement_timeout = 0",
      "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
      "select pg_advisory_xact_lock(1)",
      "select pg_advisory_unlock(1)",
      "select 'set x = 1'",
      "insert into settings values ('listen')",
      ""
    ]) {
      assert.isFalse(refused(sql), sql)
    }
    assert.isTrue(refused("select 1", "prepare"))
    assert.isTrue(refusal({ operation: "listen" }) !== undefined)
    assert.isUndefined(refusal({ operation: "pool" }))
  })

  it("session and none leave the view's lift as it is", () => {
    const inner = identityLift()
    assert.strictEqual(guardLift(inner, "none"), inner)
    assert.strictEqual(guardLift(inner, "session"), inner)
    assert.notStrictEqual(guardLift(inner, "transaction"), inner)
  })

  it.effect("poolConfig reads pooler, targetSessionAttrs and monitorReplication", () =>
    Effect.gen(function* () {
      const read = yield* poolConfig.pipe(
        Effect.provide(
          ConfigProvider.layer(
            ConfigProvider.fromUnknown({
              pooler: "transaction",
              targetSessionAttrs: "standby",
              monitorReplication: "false"
            })
          )
        )
      )
      assert.deepStrictEqual(
        [read.pooler, read.targetSessionAttrs, read.monitorReplication],
        ["transaction", "standby", false]
      )
    })
  )
})
