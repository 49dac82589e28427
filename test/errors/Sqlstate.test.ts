import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { ERRCODES_URL, generate, HEADER_LINE, OUTPUT_URL, parse } from "../../scripts/gen-sqlstate.ts"
import * as Sqlstate from "../../src/Sqlstate.ts"

const errcodes = readFileSync(ERRCODES_URL, "utf8")

describe("Sqlstate (generated)", () => {
  it("is up to date with scripts/gen-sqlstate.ts and PostgreSQL 18's errcodes.txt", () => {
    const committed = readFileSync(OUTPUT_URL, "utf8")
    assert.strictEqual(committed.split("\n")[0], HEADER_LINE)
    assert.include(HEADER_LINE, "Do not edit")
    // Compared as one string: any drift (script or errcodes.txt) fails with a diff.
    assert.strictEqual(committed, generate(errcodes))
  })

  it("has the well-known codes", () => {
    assert.strictEqual(Sqlstate.SUCCESSFUL_COMPLETION, "00000")
    assert.strictEqual(Sqlstate.CONNECTION_DOES_NOT_EXIST, "08003")
    assert.strictEqual(Sqlstate.PROTOCOL_VIOLATION, "08P01")
    assert.strictEqual(Sqlstate.UNIQUE_VIOLATION, "23505")
    assert.strictEqual(Sqlstate.FOREIGN_KEY_VIOLATION, "23503")
    assert.strictEqual(Sqlstate.NOT_NULL_VIOLATION, "23502")
    assert.strictEqual(Sqlstate.INVALID_PASSWORD, "28P01")
    assert.strictEqual(Sqlstate.INVALID_AUTHORIZATION_SPECIFICATION, "28000")
    assert.strictEqual(Sqlstate.SERIALIZATION_FAILURE, "40001")
    assert.strictEqual(Sqlstate.DEADLOCK_DETECTED, "40P01")
    assert.strictEqual(Sqlstate.SYNTAX_ERROR, "42601")
    assert.strictEqual(Sqlstate.UNDEFINED_TABLE, "42P01")
    assert.strictEqual(Sqlstate.QUERY_CANCELED, "57014")
    assert.strictEqual(Sqlstate.ADMIN_SHUTDOWN, "57P01")
    assert.strictEqual(Sqlstate.IDLE_SESSION_TIMEOUT, "57P05")
    assert.strictEqual(Sqlstate.TRANSACTION_TIMEOUT, "25P04")
    assert.strictEqual(Sqlstate.RAISE_EXCEPTION, "P0001")
    assert.strictEqual(Sqlstate.INTERNAL_ERROR, "XX000")
  })

  it("names codes whose condition name is shared after the errcodes.h macro, and keeps macro aliases", () => {
    assert.strictEqual(Sqlstate.STRING_DATA_RIGHT_TRUNCATION, "22001")
    assert.strictEqual(Sqlstate.WARNING_STRING_DATA_RIGHT_TRUNCATION, "01004")
    assert.strictEqual(Sqlstate.S_R_E_MODIFYING_SQL_DATA_NOT_PERMITTED, "2F002")
    assert.strictEqual(Sqlstate.E_R_E_MODIFYING_SQL_DATA_NOT_PERMITTED, "38002")
    assert.strictEqual(Sqlstate.UNDEFINED_DATABASE, Sqlstate.INVALID_CATALOG_NAME)
    assert.strictEqual(Sqlstate.UNDEFINED_DATABASE, "3D000")
    assert.strictEqual(Sqlstate.ARRAY_ELEMENT_ERROR, Sqlstate.ARRAY_SUBSCRIPT_ERROR)
  })

  it("looks up condition names", () => {
    assert.strictEqual(Sqlstate.conditionName("23505"), "unique_violation")
    assert.strictEqual(Sqlstate.conditionName("08003"), "connection_does_not_exist")
    assert.strictEqual(Sqlstate.conditionName("01004"), "string_data_right_truncation")
    assert.strictEqual(Sqlstate.conditionName("2202E"), "array_subscript_error")
    assert.strictEqual(Sqlstate.conditionName("3D000"), "invalid_catalog_name")
    assert.isUndefined(Sqlstate.conditionName("ZZ999"))
    assert.isUndefined(Sqlstate.conditionName("__proto__"))
    assert.isUndefined(Sqlstate.conditionName("constructor"))
  })

  it("gives the class of a code and its name", () => {
    assert.strictEqual(Sqlstate.classOf("23505"), "23")
    assert.strictEqual(Sqlstate.className("23505"), "Integrity Constraint Violation")
    assert.strictEqual(Sqlstate.className("08P01"), "Connection Exception")
    assert.strictEqual(Sqlstate.className("XX001"), "Internal Error")
    assert.strictEqual(Sqlstate.className("HV000"), "Foreign Data Wrapper Error (SQL/MED)")
    assert.isUndefined(Sqlstate.className("ZZ000"))
    assert.isTrue(Sqlstate.sameClass("23505", Sqlstate.INTEGRITY_CONSTRAINT_VIOLATION))
    assert.isFalse(Sqlstate.sameClass("22001", Sqlstate.INTEGRITY_CONSTRAINT_VIOLATION))
    assert.isFalse(Sqlstate.sameClass("23", "23505"))
  })

  it("recognizes the shape of a SQLSTATE", () => {
    assert.isTrue(Sqlstate.isSqlstate("23505"))
    assert.isTrue(Sqlstate.isSqlstate("08P01"))
    assert.isFalse(Sqlstate.isSqlstate("08p01"))
    assert.isFalse(Sqlstate.isSqlstate("2350"))
    assert.isFalse(Sqlstate.isSqlstate("235050"))
  })

  it("has one constant per errcodes.txt code line, each a valid SQLSTATE, and a condition for every code", () => {
    const codeLines = errcodes.split("\n").filter((line) => /^[0-9A-Z]{5}\s/.test(line))
    const constants = Object.entries(Sqlstate).filter(([, value]) => typeof value === "string")
    assert.strictEqual(constants.length, codeLines.length)
    assert.isAbove(constants.length, 250)
    for (const [name, code] of constants) {
      assert.match(name, /^[A-Z][A-Z0-9_]*$/)
      assert.isTrue(Sqlstate.isSqlstate(code as string), name)
      assert.isDefined(Sqlstate.conditionName(code as string), name)
      assert.isDefined(Sqlstate.className(code as string), name)
    }
  })
})

describe("gen-sqlstate parser", () => {
  const section = "Section: Class 23 - Integrity Constraint Violation\n"

  it("reads sections and entries, with and without condition names", () => {
    const sections = parse(
      `# comment\n\n${section}23000    E    ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION    integrity_constraint_violation\n` +
        "23505    E    ERRCODE_UNIQUE_VIOLATION    unique_violation\n"
    )
    assert.strictEqual(sections.length, 1)
    assert.strictEqual(sections[0]!.classCode, "23")
    assert.strictEqual(sections[0]!.name, "Integrity Constraint Violation")
    assert.deepStrictEqual(
      sections[0]!.entries.map((e) => [e.code, e.kind, e.macro, e.condition]),
      [
        ["23000", "E", "INTEGRITY_CONSTRAINT_VIOLATION", "integrity_constraint_violation"],
        ["23505", "E", "UNIQUE_VIOLATION", "unique_violation"]
      ]
    )
  })

  it("rejects lines it does not understand, with their line number", () => {
    assert.throws(() => parse(`${section}2350     E    ERRCODE_X    x\n`), /line 2: cannot parse/)
    assert.throws(() => parse(`${section}23505    Q    ERRCODE_X    x\n`), /line 2/)
    assert.throws(() => parse("23505    E    ERRCODE_X    x\n"), /before any Section/)
    assert.throws(() => parse("# only comments\n"), /no Section lines/)
  })

  it("rejects a named code outside its section's class", () => {
    assert.throws(() => parse(`${section}22001    E    ERRCODE_X    x\n`), /22001 is not in class 23/)
  })

  it("rejects duplicate constant names and aliases of codes nobody names", () => {
    assert.throws(
      () =>
        generate(`${section}23505    E    ERRCODE_A    same_name\n23506    E    ERRCODE_A    same_name\n`),
      /constant A already used on line 2/
    )
    assert.throws(
      () => generate(`${section}23505    E    ERRCODE_ALIAS_ONLY\n`),
      /23505 has no condition name/
    )
  })
})
