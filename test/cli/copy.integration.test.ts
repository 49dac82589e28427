/**
 * The CLI's --copy-in and --copy-out against a real PostgreSQL 18, run as a child process: a
 * generated 10,000-row text file (with values COPY must escape) copied in and back out to a file
 * and to stdout, byte for byte; CSV with a header and binary round trips; a COPY between other
 * inputs; stdin as the source; the summary line on stderr (no progress line when stderr is not a
 * terminal); a bad row (exit 1, the server's message naming the line, the table unchanged); a
 * missing input file (exit 1 before connecting).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { runCli, tempDir } from "./support.ts"

const dir = tempDir("effect-pg-cli-copy")
const at = (name: string) => path.join(dir, name)

/** 10,000 rows of (id, text, note) in COPY text format: escapes, NULLs, non-ASCII. */
const generated = (() => {
  const lines: Array<string> = []
  for (let i = 1; i <= 10_000; i++) {
    const text = i % 10 === 0 ? `tab\\there ${i}` : i % 10 === 1 ? `line\\nbreak ${i} 日本語 🎉` : `row ${i}`
    const note = i % 3 === 0 ? "\\N" : i % 3 === 1 ? "" : `back\\\\slash ${i}`
    lines.push(`${i}\t${text}\t${note}\n`)
  }
  return lines.join("")
})()

const count = (url: string, table: string) =>
  Effect.scoped(
    Effect.flatMap(Expert.connect(url), (conn) =>
      Effect.map(conn.query(`select count(*)::int from ${table}`), (r) => r.rows[0]!.count)
    )
  )

const summary = /^COPY (\d+) \(\d+(\.\d)? (B|kB|MB) in \d+\.\d+ s\)\n$/

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "effect-pg CLI COPY (PG18)",
  (it) => {
    it.effect("--copy-in of a generated 10k-row file, --copy-out back: the same bytes", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        fs.writeFileSync(at("in.tsv"), generated)
        const load = yield* runCli([
          `--url=${url}`,
          "create table rt (id int primary key, t text, note text)",
          "--copy-in",
          at("in.tsv"),
          "--table",
          "rt",
          "select count(*) as n, count(note) as notes from rt"
        ])
        assert.strictEqual(load.code, 0, load.stderr)
        assert.strictEqual(
          load.stdout,
          "CREATE TABLE\n   n   | notes\n-------+-------\n 10000 |  6667\n(1 row)\n\n"
        )
        assert.match(load.stderr, summary)
        assert.strictEqual(summary.exec(load.stderr)?.[1], "10000")
        assert.notInclude(load.stderr, "\r")

        const out = yield* runCli([
          `--url=${url}`,
          "--copy-out",
          at("out.tsv"),
          "--query",
          "select * from rt order by id;"
        ])
        assert.strictEqual(out.code, 0, out.stderr)
        assert.strictEqual(out.stdout, "")
        assert.strictEqual(summary.exec(out.stderr)?.[1], "10000")
        assert.isTrue(
          fs.readFileSync(at("out.tsv")).equals(Buffer.from(generated)),
          "copied-out file differs"
        )

        const toStdout = yield* runCli([
          `--url=${url}`,
          "--copy-out=-",
          "--query=select * from rt order by id"
        ])
        assert.strictEqual(toStdout.code, 0, toStdout.stderr)
        assert.isTrue(toStdout.stdoutBytes.equals(Buffer.from(generated)), "stdout differs")
      })
    )

    it.effect("CSV with a header and binary round trips through files; stdin as the source", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        const csv = yield* runCli([
          `--url=${url}`,
          "--copy-out",
          at("rt.csv"),
          "--table",
          "rt (id, t)",
          "--with",
          "format csv, header"
        ])
        assert.strictEqual(csv.code, 0, csv.stderr)
        assert.strictEqual(summary.exec(csv.stderr)?.[1], "10000")
        const csvBytes = fs.readFileSync(at("rt.csv"))
        assert.match(csvBytes.toString("utf8"), /^id,t\n1,"line\nbreak 1 日本語 🎉"\n2,row 2\n/)

        const back = yield* runCli(
          [
            `--url=${url}`,
            "create table rt_csv (id int, t text)",
            "--copy-in",
            "-",
            "--table",
            "rt_csv",
            "--with",
            "format csv, header"
          ],
          { stdin: csvBytes }
        )
        assert.strictEqual(back.code, 0, back.stderr)
        assert.strictEqual(summary.exec(back.stderr)?.[1], "10000")
        const again = yield* runCli([
          `--url=${url}`,
          "--copy-out=-",
          "--query=select * from rt_csv order by id",
          "--with=format csv, header"
        ])
        assert.isTrue(again.stdoutBytes.equals(csvBytes), "CSV round trip differs")

        const binary = yield* runCli([
          `--url=${url}`,
          "--copy-out",
          at("rt.bin"),
          "--table",
          "rt",
          "--with",
          "format binary"
        ])
        assert.strictEqual(binary.code, 0, binary.stderr)
        assert.match(binary.stderr, /^COPY \(\d+ kB in \d+\.\d+ s\)\n$/)
        const loadBinary = yield* runCli([
          `--url=${url}`,
          "create table rt_bin (like rt)",
          "--copy-in",
          at("rt.bin"),
          "--table",
          "rt_bin",
          "--with",
          "format binary",
          "select count(*) from (select * from rt except all select * from rt_bin) d"
        ])
        assert.strictEqual(loadBinary.code, 0, loadBinary.stderr)
        assert.strictEqual(summary.exec(loadBinary.stderr)?.[1], "10000")
        assert.include(loadBinary.stdout, " count\n-------\n     0\n(1 row)")
        assert.strictEqual(yield* count(url, "rt_bin"), 10_000)
      })
    )

    it.effect("a bad row: exit 1, the server's message with the COPY line, the table unchanged", () =>
      Effect.gen(function* () {
        const { url } = yield* PgTestServer.PgTestServer
        fs.writeFileSync(at("bad.tsv"), "1\tok\n2\tok\nthree\tbad\n4\tok\n")
        const r = yield* runCli([
          `--url=${url}`,
          "create table bad_copy (id int, t text)",
          "--copy-in",
          at("bad.tsv"),
          "--table",
          "bad_copy",
          "insert into bad_copy values (99, 'after')"
        ])
        assert.strictEqual(r.code, 1)
        assert.strictEqual(r.stdout, "CREATE TABLE\n")
        assert.include(
          r.stderr,
          `effect-pg: --copy-in ${at("bad.tsv")}: ERROR: invalid input syntax for type integer: "three" (SQLSTATE 22P02`
        )
        assert.include(r.stderr, "CONTEXT: COPY bad_copy, line 3")
        assert.strictEqual(yield* count(url, "bad_copy"), 0)
      })
    )

    it.effect("a missing input file fails before connecting", () =>
      Effect.gen(function* () {
        const r = yield* runCli([
          "--url=postgres://nobody@127.0.0.1:1/x",
          "--copy-in",
          at("absent.tsv"),
          "--table",
          "t"
        ])
        assert.strictEqual(r.code, 1)
        assert.match(r.stderr, /^effect-pg: cannot read .*absent\.tsv: ENOENT/)
        assert.notInclude(r.stderr, "ECONNREFUSED")
      })
    )
  }
)
