/**
 * The classification of effect-pg's errors as effect/sql's SqlError reasons (pure: errors built
 * by hand), and the cause kept as effect-pg's PgError.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgConnectionError, PgError, PgServerError } from "../../src/Errors.ts"
import { PgPoolTimeoutError } from "../../src/Pool.ts"
import { classify, pgErrorOf, toSqlError } from "../../src/sql/errors.ts"

const server = (code: string, message = "boom", constraint?: string) =>
  PgError.fromExpert(
    new PgServerError({ severity: "ERROR", code, message, ...(constraint ? { constraint } : {}) })
  )

describe("classify", () => {
  const table: ReadonlyArray<readonly [string, string, string?]> = [
    ["23505", "UniqueViolation"],
    ["23503", "ConstraintError"],
    ["23502", "ConstraintError"],
    ["40P01", "DeadlockError"],
    ["40001", "SerializationError"],
    ["55P03", "LockTimeoutError"],
    ["42501", "AuthorizationError"],
    ["42601", "SqlSyntaxError"],
    ["42P01", "SqlSyntaxError"],
    ["28P01", "AuthenticationError"],
    ["08006", "ConnectionError"],
    ["22012", "UnknownError"],
    ["57014", "StatementTimeoutError", "canceling statement due to statement timeout"],
    ["57014", "UnknownError", "canceling statement due to user request"]
  ]
  for (const [code, tag, message] of table) {
    it(`${code} ${message ?? ""} → ${tag}`, () => {
      const error = server(code, message)
      const reason = classify(error, "execute")
      assert.strictEqual(reason._tag, tag)
      assert.strictEqual(reason.cause, error)
      assert.strictEqual(reason.operation, "execute")
    })
  }

  it("the unique violation's constraint", () => {
    const reason = classify(server("23505", "dup", "people_pkey"), "execute")
    assert.strictEqual((reason as unknown as { constraint: string }).constraint, "people_pkey")
    assert.strictEqual(
      (classify(server("23505"), "execute") as unknown as { constraint: string }).constraint,
      "unknown"
    )
  })

  it("connection-level failures", () => {
    const io = PgError.fromExpert(
      new PgConnectionError({ phase: "io", mayHaveReachedServer: true, message: "socket closed" })
    )
    assert.strictEqual(classify(io, "execute")._tag, "ConnectionError")
    const pool = PgError.fromExpert(
      new PgPoolTimeoutError({ message: "no connection", timeoutMillis: 10, waiting: 1, max: 1 })
    )
    assert.strictEqual(classify(pool, "acquire")._tag, "ConnectionError")
  })

  it("toSqlError and pgErrorOf", () => {
    const error = server("40001")
    const sqlError = toSqlError(error, "execute")
    assert.strictEqual(sqlError.reason._tag, "SerializationError")
    assert.strictEqual(pgErrorOf(sqlError), error)
    assert.strictEqual(pgErrorOf(sqlError)?.code, "40001")
    assert.strictEqual(toSqlError(sqlError, "other"), sqlError)
    const other = toSqlError(new Error("odd"), "config")
    assert.strictEqual(other.reason._tag, "UnknownError")
    assert.isUndefined(pgErrorOf(other))
    const expert = toSqlError(new PgServerError({ severity: "ERROR", code: "23505", message: "dup" }), "x")
    assert.strictEqual(expert.reason._tag, "UniqueViolation")
  })
})
