/**
 * The main job: `npm start -- "select ..."` runs SQL and prints each statement's result as a
 * table. The connection comes from `--url`, PG_URL/DATABASE_URL, or the PG* environment
 * variables; with none of them it starts a throwaway PostgreSQL from `effect-pg/testing` and says
 * so. Statements run through the simple protocol, so one argument may hold several statements.
 *
 * Exit codes: 0 success, 1 a query or connection error (printed as the normal PgError), 2 usage.
 */
import { Console, Effect } from "effect"
import * as Connection from "../Connection.ts"
import type { ConnectInput } from "../config/ConnectConfig.ts"
import { PgError } from "../Errors.ts"
import * as Testing from "../testing/index.ts"
import { renderResult } from "./table.ts"

const usage = `usage: npm start -- [--url postgres://...] "SQL" ["SQL" ...]
With no --url, PG_URL, DATABASE_URL or PG* variable, an embedded throwaway PostgreSQL is started.`

const pgEnvironment = (env: NodeJS.ProcessEnv): boolean =>
  Object.keys(env).some((k) => /^PG[A-Z_]+$/.test(k) && k !== "PG_BIN" && env[k] !== "")

const parseArgs = (argv: ReadonlyArray<string>): { url: string | undefined; sql: Array<string> } | string => {
  let url: string | undefined
  const sql: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === "--help" || a === "-h") return usage
    if (a === "--url") {
      url = argv[++i]
      if (url === undefined) return usage
    } else sql.push(a)
  }
  return sql.length === 0 ? usage : { url, sql }
}

const run = (input: ConnectInput, statements: ReadonlyArray<string>) =>
  Connection.withConnection(input, (conn) =>
    Effect.forEach(
      statements,
      (sql) =>
        Effect.flatMap(conn.simpleQuery(sql), (result) =>
          Effect.forEach(result.results, (r) => Console.log(renderResult(r) + "\n"), { discard: true })
        ),
      { discard: true }
    )
  )

const main = Effect.gen(function* () {
  const args = parseArgs(process.argv.slice(2))
  if (typeof args === "string") {
    yield* Console.error(args)
    return 2
  }
  const url = args.url ?? process.env.PG_URL ?? process.env.DATABASE_URL
  if (url !== undefined || pgEnvironment(process.env)) {
    yield* run(url ?? {}, args.sql)
    return 0
  }
  yield* Console.error(
    "effect-pg: no database configured (no --url, PG_URL or PG* variables): starting an embedded PostgreSQL"
  )
  yield* Effect.scoped(
    Effect.gen(function* () {
      const server = yield* Testing.start({ tls: false })
      yield* Console.error(`effect-pg: embedded PostgreSQL ${server.versionString ?? ""} at ${server.url}`)
      yield* run(server.url, args.sql)
    })
  )
  return 0
})

Effect.runPromise(
  main.pipe(
    Effect.catch((error) =>
      Effect.as(Console.error(error instanceof PgError ? error.message : String(error)), 1)
    )
  )
).then(
  (code) => {
    process.exitCode = code
  },
  (defect) => {
    console.error(defect)
    process.exitCode = 1
  }
)
