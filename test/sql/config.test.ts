/**
 * The driver's settings mapped onto the Pool's options (pure), the refusals, the span attributes,
 * and BeginTransaction parsed into the Pool's transaction options.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { SqlError } from "effect/sql/SqlError"
import { poolOptions, spanAttributes } from "../../src/sql/config.ts"
import { parseBegin } from "../../src/sql/transaction.ts"

describe("poolOptions", () => {
  it("maps @effect/sql-pg's names", () => {
    const options = poolOptions({
      host: "db",
      port: 6543,
      database: "app",
      username: "me",
      ssl: true,
      applicationName: "svc",
      maxConnections: 7,
      minConnections: 1,
      idleTimeout: "1 minute",
      connectionTTL: "1 hour",
      multiplexConcurrency: 8,
      preparedStatementCacheSize: 50,
      startupParameters: { search_path: "app" },
      pool: { acquireTimeout: "2 seconds" }
    })
    assert.isFalse(options instanceof SqlError)
    if (options instanceof SqlError) return
    assert.deepInclude(options.connect as object, {
      host: "db",
      port: 6543,
      database: "app",
      user: "me",
      sslmode: "require",
      applicationName: "svc",
      statementCacheSize: 50,
      params: { search_path: "app" }
    })
    assert.deepInclude(options, {
      max: 7,
      min: 1,
      idleTimeout: "1 minute",
      maxLifetime: "1 hour",
      maxInFlightPerConnection: 8,
      acquireTimeout: "2 seconds"
    })
  })

  it("multiplex false and prepare false", () => {
    const options = poolOptions({ url: Redacted.make("postgres://x@h/db"), multiplex: false, prepare: false })
    if (options instanceof SqlError) return assert.fail("refused")
    assert.strictEqual(options.maxInFlightPerConnection, 1)
    assert.deepInclude(options.connect as object, { url: "postgres://x@h/db", statementCacheSize: 0 })
  })

  it("refuses what effect-pg cannot do", () => {
    assert.instanceOf(poolOptions({ stream: () => undefined }), SqlError)
    assert.instanceOf(poolOptions({ ssl: { rejectUnauthorized: false } }), SqlError)
  })

  it("span attributes", () => {
    const attributes = Object.fromEntries(
      spanAttributes({
        url: Redacted.make("postgres://u:secret@db.example:6000/shop"),
        spanAttributes: { team: "a" }
      })
    )
    assert.deepStrictEqual(attributes, {
      team: "a",
      "db.system.name": "postgresql",
      "db.namespace": "shop",
      "server.address": "db.example",
      "server.port": 6000
    })
  })
})

describe("parseBegin", () => {
  it("reads the modes", () => {
    assert.deepStrictEqual(parseBegin("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"), {
      isolationLevel: "serializable",
      readOnly: true,
      deferrable: true
    })
    assert.deepStrictEqual(parseBegin("start transaction isolation level repeatable read read write"), {
      isolationLevel: "repeatable read",
      readOnly: false,
      deferrable: undefined
    })
    assert.deepStrictEqual(parseBegin("BEGIN"), {
      isolationLevel: undefined,
      readOnly: undefined,
      deferrable: undefined
    })
  })
  it("refuses anything else", () => {
    assert.instanceOf(parseBegin("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"), SqlError)
    assert.instanceOf(parseBegin("BEGIN; DROP TABLE x"), SqlError)
  })
})
