/**
 * The session store's pure parts: key format and uniqueness, expiry checks, and the SQL text
 * (quoting of table and schema names, no interpolated values).
 */
import { assert, describe, it } from "@effect/vitest"
import { expiryMillis, generateKey, keyLength, sessionSql } from "../../src/session/sql.ts"

describe("session keys", () => {
  it("are 40 base64url characters carrying 240 random bits", () => {
    const keys = Array.from({ length: 10_000 }, generateKey)
    for (const key of keys) assert.match(key, /^[A-Za-z0-9_-]{40}$/)
    assert.strictEqual(keyLength, 40)
    assert.strictEqual(new Set(keys).size, keys.length)
    // Every position varies: no fixed prefix or padding.
    for (let i = 0; i < 40; i++) assert.isAbove(new Set(keys.map((k) => k[i])).size, 32)
  })
})

describe("expiryMillis", () => {
  it("takes finite durations ≥ 0 and refuses the rest", () => {
    assert.strictEqual(expiryMillis("expiry", "2 seconds"), 2_000)
    assert.strictEqual(expiryMillis("expiry", 0), 0)
    assert.strictEqual(expiryMillis("expiry", 1.4), 1)
    for (const bad of [-1, "Infinity", "later"] as const) {
      const error = expiryMillis("expiry", bad as never)
      assert.strictEqual(typeof error === "object" && error.reason, "InvalidExpiry")
    }
  })
})

describe("sessionSql", () => {
  it("quotes the table and schema and keeps values as parameters", () => {
    const sql = sessionSql('my "sessions"', "app")
    assert.include(sql.createTable, 'CREATE TABLE IF NOT EXISTS "app"."my ""sessions""" (')
    assert.include(sql.createTable, "session_key  char(40) PRIMARY KEY")
    assert.include(
      sql.createIndex,
      '"my ""sessions""_expire_date_idx" ON "app"."my ""sessions""" (expire_date)'
    )
    for (const statement of [sql.insert, sql.select, sql.update, sql.delete]) assert.include(statement, "$1")
    assert.include(sql.purge, "LIMIT $1 FOR UPDATE SKIP LOCKED")
    assert.strictEqual(sessionSql("session").delete, 'DELETE FROM "session" WHERE session_key = $1')
  })
})
