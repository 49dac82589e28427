/**
 * Spans of effect-pg/sql through effect's tracer (PostgreSQL 18): effect/sql's statement span
 * carries the attributes effect/sql uses (db.system.name=postgresql, db.namespace,
 * server.address, server.port, plus the configured spanAttributes) with the Pool's pg.query span
 * under it (with effect/sql's SpanPropagationEnabled); a transaction is a `sql.transaction` span over the Pool's `pg.transaction`.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import * as Statement from "effect/sql/Statement"
import { PgTestServer } from "../../src/testing/index.ts"
import { spanRecorder } from "../support/SpanRecorder.ts"
import { client } from "./support.ts"

const recorder = spanRecorder

describe("PG18", () => {
  layer(client(18, { spanAttributes: { team: "data" } }), { timeout: 180_000, excludeTestServices: true })(
    "tracing",
    (it) => {
      it.effect("statement and transaction spans", () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const { spans, tracer } = recorder()
          const sql = yield* SqlClient
          yield* Effect.withTracer(
            Effect.andThen(sql`select ${1}::int as one`, sql.withTransaction(sql`select 2 as two`)),
            tracer
          ).pipe(Effect.provideService(Statement.SpanPropagationEnabled, true))
          // effect/sql names the statement's span after the database (OpenTelemetry's fallback).
          const statement = spans.find(
            (s) => s.attributes.get("db.system.name") === "postgresql" && s.name !== "sql.transaction"
          )
          assert.isDefined(statement)
          const attributes = statement!.attributes
          assert.strictEqual(attributes.get("db.system.name"), "postgresql")
          assert.strictEqual(attributes.get("db.namespace"), server.database)
          assert.strictEqual(attributes.get("server.address"), server.host)
          assert.strictEqual(attributes.get("server.port"), server.port)
          assert.strictEqual(attributes.get("team"), "data")
          const query = spans.find((s) => s.name === "pg.query")
          assert.isDefined(query)
          assert.strictEqual(Option.getOrUndefined(query!.parent)?.spanId, statement!.spanId)
          const transaction = spans.find((s) => s.name === "sql.transaction")
          const pgTransaction = spans.find((s) => s.name === "pg.transaction")
          assert.isDefined(transaction)
          assert.isDefined(pgTransaction)
          assert.strictEqual(transaction!.attributes.get("db.system.name"), "postgresql")
        })
      )
    }
  )
})
