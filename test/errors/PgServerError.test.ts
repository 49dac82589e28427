import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { PgServerError } from "../../src/Errors.ts"
import * as Sqlstate from "../../src/Sqlstate.ts"

/** Every field an ErrorResponse can carry, keyed by its protocol code, as a real server sends them. */
const allFields: Record<string, string> = {
  S: "ERREUR",
  V: "ERROR",
  C: "23505",
  M: 'duplicate key value violates unique constraint "users_pkey"',
  D: "Key (id)=(1) already exists.",
  H: "Use another id.",
  P: "15",
  p: "3",
  q: "INSERT INTO users VALUES (1)",
  W: "PL/pgSQL function add_user() line 3 at SQL statement",
  s: "public",
  t: "users",
  c: "id",
  d: "integer",
  n: "users_pkey",
  F: "nbtinsert.c",
  L: "666",
  R: "_bt_check_unique"
}

const expectAllFields = (error: PgServerError) => {
  assert.strictEqual(error._tag, "PgServerError")
  assert.strictEqual(error.severity, "ERREUR")
  assert.strictEqual(error.severityNonLocalized, "ERROR")
  assert.strictEqual(error.code, "23505")
  assert.strictEqual(error.message, 'duplicate key value violates unique constraint "users_pkey"')
  assert.strictEqual(error.detail, "Key (id)=(1) already exists.")
  assert.strictEqual(error.hint, "Use another id.")
  assert.strictEqual(error.position, 15)
  assert.strictEqual(error.internalPosition, 3)
  assert.strictEqual(error.internalQuery, "INSERT INTO users VALUES (1)")
  assert.strictEqual(error.where, "PL/pgSQL function add_user() line 3 at SQL statement")
  assert.strictEqual(error.schema, "public")
  assert.strictEqual(error.table, "users")
  assert.strictEqual(error.column, "id")
  assert.strictEqual(error.dataType, "integer")
  assert.strictEqual(error.constraint, "users_pkey")
  assert.strictEqual(error.file, "nbtinsert.c")
  assert.strictEqual(error.line, 666)
  assert.strictEqual(error.routine, "_bt_check_unique")
}

describe("PgServerError.fromFields", () => {
  it("reads every field from a record keyed by protocol code", () => {
    expectAllFields(PgServerError.fromFields(allFields))
  })

  it("reads every field from a Map keyed by protocol code", () => {
    expectAllFields(PgServerError.fromFields(new Map(Object.entries(allFields))))
  })

  it("reads the named shape of protocol/ErrorFields (numbers still strings, unknown fields kept aside)", () => {
    const error = PgServerError.fromFields({
      severity: "ERREUR",
      severityNonLocalized: "ERROR",
      code: "23505",
      message: 'duplicate key value violates unique constraint "users_pkey"',
      detail: "Key (id)=(1) already exists.",
      hint: "Use another id.",
      position: "15",
      internalPosition: "3",
      internalQuery: "INSERT INTO users VALUES (1)",
      where: "PL/pgSQL function add_user() line 3 at SQL statement",
      schema: "public",
      table: "users",
      column: "id",
      dataType: "integer",
      constraint: "users_pkey",
      file: "nbtinsert.c",
      line: "666",
      routine: "_bt_check_unique",
      unknown: [{ code: "X", value: "future field" }]
    } as Parameters<typeof PgServerError.fromFields>[0])
    expectAllFields(error)
  })

  it("leaves optional fields absent (not empty) and ignores unknown codes", () => {
    const error = PgServerError.fromFields({ S: "ERROR", C: "42601", M: "syntax error", Z: "future" })
    const optional = [
      "severityNonLocalized",
      "detail",
      "hint",
      "position",
      "internalPosition",
      "internalQuery"
    ]
    const more = ["where", "schema", "table", "column", "dataType", "constraint", "file", "line", "routine"]
    for (const name of [...optional, ...more]) assert.isFalse(Object.hasOwn(error, name), name)
    assert.isFalse(Object.hasOwn(error, "Z"))
    assert.strictEqual(error.message, "syntax error")
    assert.isUndefined(error.detail)
    assert.isUndefined(error.position)
  })

  it("falls back when a non-conforming server omits S, C or M (or sends them empty)", () => {
    const fromNothing = PgServerError.fromFields(new Map())
    assert.strictEqual(fromNothing.severity, "ERROR")
    assert.strictEqual(fromNothing.code, Sqlstate.INTERNAL_ERROR)
    assert.strictEqual(fromNothing.message, "(the server sent no message)")
    const fromEmpty = PgServerError.fromFields({ severity: "", code: "", message: "" })
    assert.strictEqual(fromEmpty.code, "XX000")
    const onlyV = PgServerError.fromFields({ V: "FATAL", C: "57P01", M: "bye" })
    assert.strictEqual(onlyV.severity, "FATAL")
  })

  it("drops numeric fields that are not decimal integers", () => {
    const error = PgServerError.fromFields({ S: "ERROR", C: "42601", M: "x", P: "abc", p: "-1", L: "1e3" })
    assert.isUndefined(error.position)
    assert.isUndefined(error.internalPosition)
    assert.isUndefined(error.line)
  })

  it("does not read inherited properties of a record", () => {
    assert.isUndefined(
      PgServerError.fromFields(Object.create({ D: "inherited", detail: "inherited" })).detail
    )
  })

  it("reads any ReadonlyMap, not only Map instances", () => {
    const inner = new Map([
      ["C", "40001"],
      ["M", "could not serialize access"]
    ])
    const readonlyMap: ReadonlyMap<string, string> = {
      get: (key) => inner.get(key),
      has: (key) => inner.has(key),
      size: inner.size,
      forEach: (f) => inner.forEach(f),
      entries: () => inner.entries(),
      keys: () => inner.keys(),
      values: () => inner.values(),
      [Symbol.iterator]: () => inner[Symbol.iterator]()
    }
    assert.strictEqual(PgServerError.fromFields(readonlyMap).conditionName, "serialization_failure")
  })
})

describe("PgServerError helpers", () => {
  it("names the condition and the class of its SQLSTATE", () => {
    const error = PgServerError.fromFields(allFields)
    assert.strictEqual(error.conditionName, "unique_violation")
    assert.strictEqual(error.codeClass, "23")
    assert.strictEqual(error.className, "Integrity Constraint Violation")
    const unknown = PgServerError.fromFields({ S: "ERROR", C: "ZZ999", M: "from an extension" })
    assert.isUndefined(unknown.conditionName)
    assert.isUndefined(unknown.className)
    assert.strictEqual(unknown.codeClass, "ZZ")
  })

  it("is fatal for FATAL and PANIC, reading the non-localized severity first", () => {
    assert.isTrue(PgServerError.fromFields({ S: "FATAL", C: "57P01", M: "x" }).isFatal)
    assert.isTrue(PgServerError.fromFields({ S: "PANIK", V: "PANIC", C: "XX000", M: "x" }).isFatal)
    assert.isFalse(PgServerError.fromFields({ S: "FATAL", V: "ERROR", C: "XX000", M: "x" }).isFatal)
    assert.isFalse(PgServerError.fromFields(allFields).isFatal)
  })

  it("is an Error whose message is the server's primary message", () => {
    const error = PgServerError.fromFields(allFields)
    assert.instanceOf(error, Error)
    assert.strictEqual(
      String(error),
      'PgServerError: duplicate key value violates unique constraint "users_pkey"'
    )
  })

  it("rejects invalid field values at construction", () => {
    assert.throws(() => new PgServerError({ severity: "ERROR", code: "1", message: "x", position: 1.5 }))
  })

  it.effect("is yieldable in Effect.gen and caught by tag", () =>
    Effect.gen(function* () {
      const failing = Effect.gen(function* () {
        yield* PgServerError.fromFields(allFields)
        return "unreachable"
      })
      const exit = yield* Effect.exit(failing)
      assert.isTrue(Exit.isFailure(exit))
      const recovered = yield* failing.pipe(
        Effect.catchTag("PgServerError", (e) => Effect.succeed(`caught ${e.code} on ${e.constraint}`))
      )
      assert.strictEqual(recovered, "caught 23505 on users_pkey")
    })
  )
})
