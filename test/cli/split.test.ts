/**
 * Splitting SQL into statements (src/cli/split.ts), pure: `;` ends a statement only outside
 * strings, E'' strings, quoted identifiers, dollar quotes, comments, parentheses and
 * CREATE FUNCTION … BEGIN ATOMIC bodies; comment-only pieces are dropped; line numbers; psql
 * meta-commands reported.
 */
import { describe, it } from "@effect/vitest"
import { assert } from "vitest"
import { type Statement, splitStatements } from "../../src/cli/split.ts"

const split = (text: string): Array<Statement> => {
  const out = splitStatements(text)
  if (!Array.isArray(out)) assert.fail(`unexpected meta-command ${out.command}`)
  return out
}
const sqls = (text: string) => split(text).map((s) => s.sql)

describe("splitStatements", () => {
  it("splits at semicolons and keeps them", () => {
    assert.deepStrictEqual(sqls("select 1; select 2;select 3"), ["select 1;", "select 2;", "select 3"])
  })

  it("drops empty statements and pieces with only comments and whitespace", () => {
    assert.deepStrictEqual(sqls(" ;; -- c\n /* x */ ; \n"), [])
    assert.deepStrictEqual(sqls("select 1; -- trailing comment\n"), ["select 1;"])
  })

  it("a leading comment stays with its statement", () => {
    assert.deepStrictEqual(sqls("-- head\nselect 1;"), ["-- head\nselect 1;"])
  })

  it("semicolons inside strings, identifiers, comments and dollar quotes do not split", () => {
    const text = [
      "select 'a;b', 'it''s;', \"x;y\" from t;",
      "select E'\\';' as e;",
      "select 'back\\'; select 2;",
      "do $$ begin perform 1; end $$;",
      "do $fn$ select ';'; $x$ ; $fn$;",
      "select 1 /* ; /* nested ; */ ; */ + 1;",
      "select 1 -- ; not here\n + 2;",
      "select a$b; select $1;"
    ].join("\n")
    assert.deepStrictEqual(sqls(text), [
      "select 'a;b', 'it''s;', \"x;y\" from t;",
      "select E'\\';' as e;",
      "select 'back\\';",
      "select 2;",
      "do $$ begin perform 1; end $$;",
      "do $fn$ select ';'; $x$ ; $fn$;",
      "select 1 /* ; /* nested ; */ ; */ + 1;",
      "select 1 -- ; not here\n + 2;",
      "select a$b;",
      "select $1;"
    ])
  })

  it("a semicolon inside parentheses does not split (as in psql)", () => {
    assert.deepStrictEqual(sqls("select (1; 2); select 3"), ["select (1; 2);", "select 3"])
  })

  it("CREATE FUNCTION … BEGIN ATOMIC … END is one statement", () => {
    const fn =
      "create or replace function f(x int) returns int language sql begin atomic select case when x > 0 then 1 else 0 end; select 2; end;"
    assert.deepStrictEqual(sqls(`${fn} select 3;`), [fn, "select 3;"])
    // BEGIN as a statement is not a body
    assert.deepStrictEqual(sqls("begin; select 1; end;"), ["begin;", "select 1;", "end;"])
  })

  it("reports the line of each statement's first token", () => {
    const out = split("\n\nselect 1;\r\n-- c\r\n\r\nselect\n2; select 3;\rselect 4")
    assert.deepStrictEqual(
      out.map((s) => s.line),
      [3, 6, 7, 8]
    )
  })

  it("an unterminated quote runs to the end", () => {
    assert.deepStrictEqual(sqls("select 'open; select 2"), ["select 'open; select 2"])
  })

  it("a psql meta-command is reported with its line", () => {
    assert.deepStrictEqual(splitStatements("select 1;\n\\set x 1\n"), {
      _tag: "MetaCommand",
      line: 2,
      command: "\\set"
    })
    assert.deepStrictEqual(splitStatements("select 1 \\gset"), {
      _tag: "MetaCommand",
      line: 1,
      command: "\\gset"
    })
    assert.ok(Array.isArray(splitStatements("select '\\n', E'\\\\' -- \\x\n")))
  })
})
