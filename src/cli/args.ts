/**
 * The CLI's command line: `node:util` parseArgs in strict mode, turned into a plan of what to run.
 *
 * Does: knows every option and the usage text; keeps the inputs (SQL arguments, -c, -f, one
 * COPY) in command-line order; builds the COPY statement from --copy-in/--copy-out, --table,
 * --query and --with; rejects what cannot be meant — an unknown option, a missing or ambiguous
 * value (`--url --csv`), --csv with --json, two COPYs, --table/--query/--with without a COPY,
 * stdin used twice — with a message for a usage error (exit status 2). SQL is never guessed from a
 * malformed option: `--url=…` is an option, and an SQL argument that starts with `-` must follow `--`.
 * Does NOT: read files or the environment, decide whether stdin holds SQL (that needs isTTY: the
 * caller decides when no input is given), connect, or check the SQL itself. Pure.
 */
import { parseArgs } from "node:util"

export type OutputFormat = "table" | "csv" | "json"

/** A COPY's data format, as far as the CLI needs it (to count rows for the progress line). */
export interface CopyData {
  readonly format: "text" | "csv" | "binary"
  readonly header: boolean
}

export type Input =
  /** SQL from the command line (an argument or -c); `ordinal` counts them from 1. */
  | { readonly _tag: "Sql"; readonly text: string; readonly ordinal: number }
  /** A file of SQL; "-" is stdin. */
  | { readonly _tag: "File"; readonly path: string }
  | { readonly _tag: "CopyIn"; readonly file: string; readonly sql: string; readonly data: CopyData }
  | { readonly _tag: "CopyOut"; readonly file: string; readonly sql: string; readonly data: CopyData }

export interface Plan {
  readonly _tag: "Run"
  readonly url: string | undefined
  readonly format: OutputFormat
  readonly singleTransaction: boolean
  readonly continueOnError: boolean
  /** In command-line order; empty when none was given (the caller may read stdin). */
  readonly inputs: ReadonlyArray<Input>
}

export type Command =
  | Plan
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Usage"; readonly message: string }

export const usage = `usage: effect-pg [OPTION]... [SQL]...
Runs SQL against PostgreSQL, prints each result, and stops at the first error.

Input (run in the order given; with none, SQL is read from stdin when it is not a terminal):
  SQL, -c, --command=SQL     SQL text, one or more statements (an SQL starting with "-" goes after --)
  -f, --file=FILE            a file of SQL; "-" reads stdin; may be repeated
Output (stdout):
      --csv                  CSV (RFC 4180, CRLF) with a header row; NULL is an empty field
      --json                 one line per result: a JSON array of row objects; NULL is null
Execution:
  -1, --single-transaction   run all statements in one transaction (BEGIN ... COMMIT)
      --continue-on-error    after a failed statement, run the rest (the exit status is still 1)
COPY (at most one per run, in its place among the inputs; a summary line goes to stderr):
      --copy-in=FILE         COPY --table FROM FILE ("-" = stdin)
      --copy-out=FILE        COPY --table or --query TO FILE ("-" = stdout)
      --table=TABLE          the table, as SQL: name, schema.name, or name (col, ...)
      --query=SQL            with --copy-out: the query whose rows to copy
      --with=OPTIONS         COPY options, e.g. "format csv, header"
Connection:
      --url=URL              postgres://user:password@host:port/database?sslmode=...
                             default: PG_URL, DATABASE_URL, then the PG* variables; with none of
                             them, an embedded throwaway PostgreSQL is started
Other:
  -h, --help                 show this help
      --version              show the version
Exit status: 0 success, 1 query or connection error, 2 usage error. See docs/cli.md.`

/** What goes to stderr for a usage error. */
export const usageError = (message: string): string =>
  `effect-pg: ${message}\n${usage.split("\n")[0]}\nTry 'effect-pg --help' for more information.`

const options = {
  command: { type: "string", short: "c", multiple: true },
  file: { type: "string", short: "f", multiple: true },
  csv: { type: "boolean" },
  json: { type: "boolean" },
  "single-transaction": { type: "boolean", short: "1" },
  "continue-on-error": { type: "boolean" },
  "copy-in": { type: "string", multiple: true },
  "copy-out": { type: "string", multiple: true },
  table: { type: "string" },
  query: { type: "string" },
  with: { type: "string" },
  url: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" }
} as const

/** The format and header of COPY options such as "format csv, header". */
export const copyData = (withOptions: string | undefined): CopyData => {
  const text = withOptions ?? ""
  const format = /\bformat\s+'?(text|csv|binary)\b/i.exec(text)?.[1]?.toLowerCase()
  const header = /\bheader\b(?!\s+'?(false|off|0)\b)/i.test(text)
  return { format: format === "csv" || format === "binary" ? format : "text", header }
}

/** The command for `argv` (without the node and script paths). */
export const parseCommand = (argv: ReadonlyArray<string>): Command => {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    return { _tag: "Usage", message: error instanceof Error ? error.message : String(error) }
  }
  const { values, tokens } = parsed
  if (values.help) return { _tag: "Help" }
  if (values.version) return { _tag: "Version" }
  const fail = (message: string): Command => ({ _tag: "Usage", message })
  if (values.csv && values.json) return fail("--csv and --json cannot be used together")
  if (values["single-transaction"] && values["continue-on-error"]) {
    return fail("--single-transaction and --continue-on-error cannot be used together")
  }
  if (values.url === "") return fail("--url needs a value")
  for (const name of ["table", "query", "with"] as const) {
    if (values[name] === "") return fail(`--${name} needs a value`)
  }
  const copies = [...(values["copy-in"] ?? []), ...(values["copy-out"] ?? [])]
  if (copies.length > 1) return fail("at most one --copy-in or --copy-out per run")
  if (copies.length === 0) {
    for (const name of ["table", "query", "with"] as const) {
      if (values[name] !== undefined) return fail(`--${name} needs --copy-in or --copy-out`)
    }
  }
  const data = copyData(values.with)
  const withClause = values.with === undefined ? "" : ` WITH (${values.with})`
  const inputs: Array<Input> = []
  let ordinal = 0
  for (const token of tokens) {
    if (token.kind === "positional") inputs.push({ _tag: "Sql", text: token.value, ordinal: ++ordinal })
    if (token.kind !== "option" || token.value === undefined) continue
    if (token.name === "command") inputs.push({ _tag: "Sql", text: token.value, ordinal: ++ordinal })
    else if (token.name === "file") inputs.push({ _tag: "File", path: token.value })
    else if (token.name === "copy-in") {
      if (values.table === undefined) return fail("--copy-in needs --table")
      if (values.query !== undefined) return fail("--query goes with --copy-out, not --copy-in")
      const sql = `COPY ${values.table} FROM STDIN${withClause}`
      inputs.push({ _tag: "CopyIn", file: token.value, sql, data })
    } else if (token.name === "copy-out") {
      if ((values.table === undefined) === (values.query === undefined)) {
        return fail("--copy-out needs one of --table or --query")
      }
      const source = values.query === undefined ? values.table : `(${values.query.replace(/[\s;]+$/, "")})`
      inputs.push({ _tag: "CopyOut", file: token.value, sql: `COPY ${source} TO STDOUT${withClause}`, data })
    }
  }
  const stdinReaders = inputs.filter(
    (i) => (i._tag === "File" || i._tag === "CopyIn") && (i._tag === "File" ? i.path : i.file) === "-"
  )
  if (stdinReaders.length > 1) return fail("stdin can be read only once (-f - or --copy-in -)")
  return {
    _tag: "Run",
    url: values.url,
    format: values.csv ? "csv" : values.json ? "json" : "table",
    singleTransaction: values["single-transaction"] === true,
    continueOnError: values["continue-on-error"] === true,
    inputs
  }
}

const parse = (argv: ReadonlyArray<string>) =>
  parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, tokens: true })
