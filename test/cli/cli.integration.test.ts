/**
 * The CLI as a user runs it (a child process of src/cli/main.ts) against a real PostgreSQL 18:
 * options (--url in both spellings, usage errors with exit status 2 and nothing run, help,
 * version), aligned tables with CJK and emoji, -f files in order, SQL on stdin, exact --csv and
 * --json output, stop at the first failing statement (exit 1, the server's message on stderr, the
 * earlier output on stdout, the later statements not run), --continue-on-error,
 * --single-transaction, notices on stderr, a COPY statement in the SQL, connection errors, PG_URL/DATABASE_URL/PG* variables,
 * SIGINT during a statement, and the embedded server when nothing is configured.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { repoRoot, runCli, tempDir } from "./support.ts"

const dir = tempDir("effect-pg-cli")
const file = (name: string, text: string) => {
  const p = path.join(dir, name)
  fs.writeFileSync(p, text)
  return p
}

/** Rows of `sql`, read with the library (not the CLI). */
const rows = (url: string, sql: string) =>
  Effect.scoped(Effect.flatMap(Expert.connect(url), (conn) => Effect.map(conn.query(sql), (r) => r.rows)))

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "effect-pg CLI (PG18)",
  (it) => {
    it.effect("--url=URL and --url URL connect to that server (not an embedded one)", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        for (const args of [[`--url=${url}`], ["--url", url]]) {
          const r = yield* runCli([...args, "select 41 + 1 as answer"])
          assert.strictEqual(r.stderr, "")
          assert.strictEqual(r.code, 0)
          assert.strictEqual(r.stdout, " answer\n--------\n     42\n(1 row)\n\n")
        }
      })
    )

    it.effect("usage errors exit 2 with the usage on stderr and run nothing", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
          [["--bogus", `--url=${url}`, "create table usage_ran ()"], /Unknown option '--bogus'/],
          [[`--url=${url}`, "create table usage_ran ()", "--url"], /argument missing/],
          [["--url", "--csv", "create table usage_ran ()"], /ambiguous/],
          [["-f"], /argument missing/],
          [[`--url=${url}`, "--csv", "--json", "create table usage_ran ()"], /cannot be used together/],
          [[`--url=${url}`, "--copy-out", "x", "create table usage_ran ()"], /one of --table or --query/]
        ]
        for (const [args, message] of cases) {
          const r = yield* runCli(args)
          assert.strictEqual(r.code, 2, args.join(" "))
          assert.match(r.stderr, message)
          assert.match(r.stderr, /^usage: effect-pg /m)
          assert.notMatch(r.stderr, /embedded/)
          assert.strictEqual(r.stdout, "")
        }
        assert.deepStrictEqual(yield* rows(url, "select to_regclass('usage_ran')::text"), [
          { to_regclass: null }
        ])
      })
    )

    it.effect("--help, --version, and no SQL on a closed stdin", () =>
      Effect.gen(function* () {
        const help = yield* runCli(["--help"])
        assert.strictEqual(help.code, 0)
        assert.match(help.stdout, /^usage: effect-pg \[OPTION\]\.\.\. \[SQL\]\.\.\.\n/)
        for (const option of ["--url", "--file", "--csv", "--json", "--copy-in", "--copy-out", "--version"]) {
          assert.include(help.stdout, option)
        }
        const version = yield* runCli(["--version"])
        const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
          version: string
        }
        assert.strictEqual(version.stdout, `effect-pg ${pkg.version}\n`)
        assert.strictEqual(version.code, 0)
        const empty = yield* runCli(["--url=postgres://nobody@127.0.0.1:1/x"], { stdin: "" })
        assert.deepStrictEqual([empty.code, empty.stdout, empty.stderr], [0, "", ""])
      })
    )

    it.effect("tables line up CJK and emoji by display width; NULL is an empty cell", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const r = yield* runCli([
          `--url=${url}`,
          "select * from (values ('日本語', 1, null), ('👍🏽 ok', 22, 'x'), ('e\u0301', 333, '한국')) as t(name, n, note)"
        ])
        assert.strictEqual(r.code, 0, r.stderr)
        assert.strictEqual(
          r.stdout,
          [
            "  name  |  n  | note",
            "--------+-----+------",
            " 日本語 |   1 | ",
            " 👍🏽 ok  |  22 | x",
            " e\u0301      | 333 | 한국",
            "(3 rows)",
            "",
            ""
          ].join("\n")
        )
      })
    )

    it.effect("-f runs two files in order; a command shows its tag", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const a = file("a.sql", "create table f_order (n int);\ninsert into f_order values (1), (2);\n")
        const b = file(
          "b.sql",
          "-- the second file\ninsert into f_order values (3);\nselect sum(n) as s from f_order;"
        )
        const r = yield* runCli([`--url=${url}`, "-f", a, `--file=${b}`])
        assert.strictEqual(r.code, 0, r.stderr)
        assert.strictEqual(r.stdout, "CREATE TABLE\nINSERT 0 2\nINSERT 0 1\n s\n---\n 6\n(1 row)\n\n")
        const swapped = yield* runCli([`--url=${url}`, "-f", b, "-f", a])
        assert.strictEqual(swapped.code, 1)
      })
    )

    it.effect("SQL from stdin: with no input, and as -f - among other inputs", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const implicit = yield* runCli([`--url=${url}`, "--csv"], {
          stdin: "select 'from stdin' as s;\nselect 2 as n"
        })
        assert.strictEqual(implicit.code, 0, implicit.stderr)
        assert.strictEqual(implicit.stdout, "s\r\nfrom stdin\r\nn\r\n2\r\n")
        const explicit = yield* runCli(
          [`--url=${url}`, "--csv", "select 1 as a", "-f", "-", "select 3 as c"],
          {
            stdin: "select 2 as b"
          }
        )
        assert.strictEqual(explicit.stdout, "a\r\n1\r\nb\r\n2\r\nc\r\n3\r\n")
      })
    )

    it.effect("--csv and --json: exact output, NULL empty / null, commands print nothing", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const sql = [
          "create temp table fmt (id int, t text, n text)",
          "insert into fmt values (1, 'plain', null), (2, 'a,b \"q\"', ''), (3, E'two\\nlines', '日本')",
          "select id, t, n from fmt order by id",
          "select 1 as a, 2 as a where false"
        ].join(";\n")
        const csv = yield* runCli([`--url=${url}`, "--csv", sql])
        assert.strictEqual(csv.code, 0, csv.stderr)
        assert.strictEqual(
          csv.stdout,
          'id,t,n\r\n1,plain,\r\n2,"a,b ""q""",""\r\n3,"two\nlines",日本\r\na,a\r\n'
        )
        const json = yield* runCli([`--url=${url}`, "--json", sql])
        assert.strictEqual(json.code, 0, json.stderr)
        assert.strictEqual(
          json.stdout,
          '[{"id":"1","t":"plain","n":null},{"id":"2","t":"a,b \\"q\\"","n":""},{"id":"3","t":"two\\nlines","n":"日本"}]\n[]\n'
        )
        const parsed = json.stdout
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line))
        assert.strictEqual(parsed.length, 2)
      })
    )

    it.effect(
      "a failing statement: exit 1, the server's message on stderr, earlier output kept, the rest not run",
      () =>
        Effect.gen(function* () {
          const { url } = yield* PgTestServer.PgTestServer
          const script = file(
            "fail.sql",
            "create table stop_here (n int);\nselect 'before' as s;\n\nselect * from no_such_table;\ninsert into stop_here values (1);\n"
          )
          const r = yield* runCli([`--url=${url}`, "-f", script])
          assert.strictEqual(r.code, 1)
          assert.strictEqual(r.stdout, "CREATE TABLE\n   s\n--------\n before\n(1 row)\n\n")
          assert.include(
            r.stderr,
            `effect-pg: ${script}:4: ERROR: relation "no_such_table" does not exist (SQLSTATE 42P01 undefined_table)\n`
          )
          assert.include(r.stderr, "LINE 1: select * from no_such_table;\n")
          assert.deepStrictEqual(yield* rows(url, "select count(*)::int from stop_here"), [{ count: 0 }])

          const goOn = yield* runCli([`--url=${url}`, "--continue-on-error", "-f", script])
          assert.strictEqual(goOn.code, 1)
          assert.include(goOn.stderr, 'relation "stop_here" already exists')
          assert.include(goOn.stderr, 'relation "no_such_table" does not exist')
          assert.include(goOn.stdout, "INSERT 0 1")
          assert.deepStrictEqual(yield* rows(url, "select count(*)::int from stop_here"), [{ count: 1 }])
        })
    )

    it.effect("--single-transaction commits all or nothing", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const failed = yield* runCli([
          `--url=${url}`,
          "-1",
          "create table one_tx (n int)",
          "insert into one_tx values (1)",
          "select 1/0"
        ])
        assert.strictEqual(failed.code, 1)
        assert.include(
          failed.stderr,
          "<argument 3>:1: ERROR: division by zero (SQLSTATE 22012 division_by_zero)"
        )
        assert.deepStrictEqual(yield* rows(url, "select to_regclass('one_tx')::text"), [
          { to_regclass: null }
        ])
        const ok = yield* runCli([
          `--url=${url}`,
          "-1",
          "create table one_tx (n int); insert into one_tx values (1)"
        ])
        assert.strictEqual(ok.code, 0, ok.stderr)
        assert.deepStrictEqual(yield* rows(url, "select count(*)::int from one_tx"), [{ count: 1 }])
      })
    )

    it.effect("notices go to stderr, results to stdout", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const r = yield* runCli([
          `--url=${url}`,
          "do $$ begin raise notice 'hello %', 42; end $$; select 1 as one"
        ])
        assert.strictEqual(r.code, 0, r.stderr)
        assert.strictEqual(r.stderr, "NOTICE:  hello 42\n")
        assert.strictEqual(r.stdout, "DO\n one\n-----\n   1\n(1 row)\n\n")
      })
    )

    it.effect("a COPY TO STDOUT in the SQL runs with a warning on stderr; COPY FROM STDIN gets 57014", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const out = yield* runCli([`--url=${url}`, "copy (select 1) to stdout", "select 2 as two"])
        assert.strictEqual(out.code, 0, out.stderr)
        assert.strictEqual(out.stderr, "WARNING:  COPY TO STDOUT output discarded; use copyOut\n")
        assert.strictEqual(out.stdout, "COPY 1\n two\n-----\n   2\n(1 row)\n\n")
        const into = yield* runCli([
          `--url=${url}`,
          "create temp table cli_copy (a int); copy cli_copy from stdin"
        ])
        assert.strictEqual(into.code, 1)
        assert.match(
          into.stderr,
          /COPY from stdin failed: COPY FROM STDIN is not supported by simpleQuery; use copyIn/
        )
        assert.match(into.stderr, /SQLSTATE 57014/)
      })
    )

    it.effect("input errors exit 1 before connecting: a missing file, a psql meta-command", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const missing = yield* runCli([
          `--url=${url}`,
          "create table input_ran ()",
          "-f",
          path.join(dir, "nope.sql")
        ])
        assert.strictEqual(missing.code, 1)
        assert.match(missing.stderr, /^effect-pg: cannot read .*nope\.sql: ENOENT/)
        const meta = file("meta.sql", "create table input_ran ();\n\\set ON_ERROR_STOP on\n")
        const r = yield* runCli([`--url=${url}`, "-f", meta])
        assert.strictEqual(r.code, 1)
        assert.strictEqual(
          r.stderr,
          `effect-pg: ${meta}:2: psql meta-commands such as \\set are not supported; nothing was run\n`
        )
        assert.deepStrictEqual(yield* rows(url, "select to_regclass('input_ran')::text"), [
          { to_regclass: null }
        ])
      })
    )

    it.effect("a connection error exits 1 with the error on stderr and nothing on stdout", () =>
      Effect.gen(function* () {
        const r = yield* runCli(["--url=postgres://nobody@127.0.0.1:1/x", "select 1"])
        assert.strictEqual(r.code, 1)
        assert.strictEqual(r.stdout, "")
        assert.match(r.stderr, /^effect-pg: connection error .*127\.0\.0\.1:1.*ECONNREFUSED/)
      })
    )

    it.effect("PG_URL, DATABASE_URL and the PG* variables choose the server; --url wins", () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const sql = "select current_database() as db"
        for (const env of [
          { PG_URL: server.url },
          { DATABASE_URL: server.url },
          {
            PGHOST: server.host,
            PGPORT: String(server.port),
            PGUSER: server.user,
            PGDATABASE: server.database
          }
        ]) {
          const r = yield* runCli([sql], { env })
          assert.strictEqual(r.code, 0, `${JSON.stringify(env)}: ${r.stderr}`)
          assert.strictEqual(r.stderr, "")
          assert.include(r.stdout, server.database)
        }
        const wins = yield* runCli([`--url=${server.url}`, sql], {
          env: { PG_URL: "postgres://nobody@127.0.0.1:1/x" }
        })
        assert.strictEqual(wins.code, 0, wins.stderr)
      })
    )

    it.effect("SIGINT during a statement: exit 130, the statement stops, the backend goes away", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const tag = `sigint_${process.pid}`
        const running = `select count(*)::int from pg_stat_activity where query like '%${tag}%' and query not like '%pg_stat_activity%'`
        const started = Date.now()
        const r = yield* runCli([`--url=${url}`, `select pg_sleep(60) as ${tag}`], {
          onSpawn: (child) => {
            const poll = setInterval(() => {
              Effect.runPromise(rows(url, running)).then(
                (found) => {
                  if (found[0]?.count === 1) {
                    clearInterval(poll)
                    child.kill("SIGINT")
                  }
                },
                () => {}
              )
            }, 100)
            child.on("close", () => clearInterval(poll))
          }
        })
        assert.strictEqual(r.code, 130, r.stderr)
        assert.isBelow(Date.now() - started, 20_000)
        assert.include(r.stderr, "effect-pg: interrupted")
        assert.strictEqual(r.stdout, "")
        for (let i = 0; i < 50 && (yield* rows(url, running))[0]?.count !== 0; i++)
          yield* Effect.sleep("100 millis")
        assert.deepStrictEqual(yield* rows(url, running), [{ count: 0 }])
      })
    )

    it.effect("with nothing configured, an embedded PostgreSQL runs the SQL and says so on stderr", () =>
      Effect.gen(function* () {
        const r = yield* runCli(["select 'embedded' as where_"], { timeoutSeconds: 90 })
        assert.strictEqual(r.code, 0, r.stderr)
        assert.match(r.stderr, /no database configured .*starting an embedded PostgreSQL/)
        assert.match(r.stderr, /embedded PostgreSQL \S+ at postgres:\/\//)
        assert.strictEqual(r.stdout, "  where_\n----------\n embedded\n(1 row)\n\n")
      })
    )
  }
)
