/**
 * The command line (src/cli/args.ts), pure: inputs kept in order, --url in both spellings, the
 * COPY statements built from --copy-in/--copy-out, and every usage error — an unknown option, a
 * missing or ambiguous value, conflicting options — refused instead of being taken as SQL.
 */
import { describe, it } from "@effect/vitest"
import { assert } from "vitest"
import { type Command, copyData, type Plan, parseCommand, usageError } from "../../src/cli/args.ts"

const plan = (argv: ReadonlyArray<string>): Plan => {
  const command = parseCommand(argv)
  if (command._tag !== "Run") assert.fail(`expected a plan, got ${JSON.stringify(command)}`)
  return command
}

const usage = (argv: ReadonlyArray<string>): string => {
  const command: Command = parseCommand(argv)
  if (command._tag !== "Usage") assert.fail(`expected a usage error, got ${JSON.stringify(command)}`)
  return command.message
}

describe("parseCommand", () => {
  it("SQL arguments, -c and -f run in command-line order", () => {
    const p = plan(["select 1", "-f", "a.sql", "-c", "select 2", "--file=b.sql", "select 3"])
    assert.deepStrictEqual(p.inputs, [
      { _tag: "Sql", text: "select 1", ordinal: 1 },
      { _tag: "File", path: "a.sql" },
      { _tag: "Sql", text: "select 2", ordinal: 2 },
      { _tag: "File", path: "b.sql" },
      { _tag: "Sql", text: "select 3", ordinal: 3 }
    ])
    assert.strictEqual(p.format, "table")
    assert.strictEqual(p.url, undefined)
  })

  it("--url URL and --url=URL", () => {
    assert.strictEqual(plan(["--url", "postgres://a@h/db", "select 1"]).url, "postgres://a@h/db")
    const p = plan(["--url=postgres://a@h/db?sslmode=disable", "select 1"])
    assert.strictEqual(p.url, "postgres://a@h/db?sslmode=disable")
    assert.deepStrictEqual(p.inputs, [{ _tag: "Sql", text: "select 1", ordinal: 1 }])
  })

  it("no input is a plan without inputs (the caller decides about stdin)", () => {
    assert.deepStrictEqual(plan([]).inputs, [])
    assert.deepStrictEqual(plan(["-f", "-"]).inputs, [{ _tag: "File", path: "-" }])
  })

  it("an SQL argument starting with - goes after --", () => {
    assert.deepStrictEqual(plan(["--", "-- comment\nselect 1"]).inputs, [
      { _tag: "Sql", text: "-- comment\nselect 1", ordinal: 1 }
    ])
    assert.match(usage(["-- comment\nselect 1"]), /Unknown option/)
  })

  it("help, version and the output formats", () => {
    assert.strictEqual(parseCommand(["-h"])._tag, "Help")
    assert.strictEqual(parseCommand(["--help", "select 1"])._tag, "Help")
    assert.strictEqual(parseCommand(["--version"])._tag, "Version")
    assert.strictEqual(plan(["--csv", "x"]).format, "csv")
    assert.strictEqual(plan(["--json", "x"]).format, "json")
    assert.strictEqual(plan(["-1", "x"]).singleTransaction, true)
    assert.strictEqual(plan(["--continue-on-error", "x"]).continueOnError, true)
  })

  it("usage errors", () => {
    assert.match(usage(["--bogus", "select 1"]), /Unknown option '--bogus'/)
    assert.match(usage(["-x"]), /Unknown option '-x'/)
    assert.match(usage(["--url"]), /--url <value>' argument missing/)
    assert.match(usage(["--url", "--csv", "select 1"]), /ambiguous/)
    assert.match(usage(["--url="]), /--url needs a value/)
    assert.match(usage(["-f"]), /argument missing/)
    assert.match(usage(["--csv=yes"]), /does not take an argument/)
    assert.match(usage(["--csv", "--json", "x"]), /cannot be used together/)
    assert.match(usage(["-1", "--continue-on-error", "x"]), /cannot be used together/)
    assert.match(usage(["--table", "t"]), /--table needs --copy-in or --copy-out/)
    assert.match(usage(["--copy-in", "f"]), /--copy-in needs --table/)
    assert.match(usage(["--copy-in", "f", "--table", "t", "--query", "q"]), /--query goes with --copy-out/)
    assert.match(usage(["--copy-out", "f"]), /one of --table or --query/)
    assert.match(usage(["--copy-out", "f", "--table", "t", "--query", "q"]), /one of --table or --query/)
    assert.match(usage(["--copy-in", "a", "--copy-out", "b", "--table", "t"]), /at most one/)
    assert.match(usage(["--copy-in", "-", "--table", "t", "-f", "-"]), /stdin can be read only once/)
    assert.match(usage(["-f", "-", "-f", "-"]), /stdin can be read only once/)
  })

  it("the usage error names the problem and shows the usage line", () => {
    assert.strictEqual(
      usageError("Unknown option '--x'"),
      "effect-pg: Unknown option '--x'\nusage: effect-pg [OPTION]... [SQL]...\nTry 'effect-pg --help' for more information."
    )
  })

  it("--copy-in and --copy-out build the COPY statement in their place", () => {
    assert.deepStrictEqual(
      plan(["create table t ()", "--copy-in", "d.tsv", "--table", "t", "select 1"]).inputs,
      [
        { _tag: "Sql", text: "create table t ()", ordinal: 1 },
        { _tag: "CopyIn", file: "d.tsv", sql: "COPY t FROM STDIN", data: { format: "text", header: false } },
        { _tag: "Sql", text: "select 1", ordinal: 2 }
      ]
    )
    assert.deepStrictEqual(
      plan(["--copy-out=-", "--table=s.t (a, b)", "--with", "format csv, header"]).inputs,
      [
        {
          _tag: "CopyOut",
          file: "-",
          sql: "COPY s.t (a, b) TO STDOUT WITH (format csv, header)",
          data: { format: "csv", header: true }
        }
      ]
    )
    const [out] = plan(["--copy-out", "o", "--query", "select * from t order by 1 ;\n"]).inputs
    assert.deepStrictEqual(out, {
      _tag: "CopyOut",
      file: "o",
      sql: "COPY (select * from t order by 1) TO STDOUT",
      data: { format: "text", header: false }
    })
  })
})

describe("copyData", () => {
  it("reads the format and header from COPY options", () => {
    assert.deepStrictEqual(copyData(undefined), { format: "text", header: false })
    assert.deepStrictEqual(copyData("FORMAT CSV, HEADER"), { format: "csv", header: true })
    assert.deepStrictEqual(copyData("format 'csv', header false"), { format: "csv", header: false })
    assert.deepStrictEqual(copyData("format binary"), { format: "binary", header: false })
    assert.deepStrictEqual(copyData("format csv, header match"), { format: "csv", header: true })
  })
})
