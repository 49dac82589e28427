/**
 * effect/sql's Migrator for effect-pg/sql, with two PostgreSQL additions:
 *
 * - **A lock.** The whole run (creating the migrations table, reading it, running and recording
 *   the migrations) happens in one transaction that first takes a transaction-level advisory
 *   lock (`pg_advisory_xact_lock`, keyed by the migrations table's name), so two instances
 *   started at once never migrate together: the second waits, then finds nothing left to do. The
 *   lock ends with the transaction, and needs a single connection (it works behind PgBouncer's
 *   transaction mode too). effect/sql's own transaction becomes a SAVEPOINT inside it.
 * - **A schema dump** with `pg_dump` (`schemaDirectory`/_schema.sql: the schema, then the
 *   migrations table's rows), after the transaction committed, when migrations ran. Without
 *   `pg_dump` on the PATH it is skipped with a warning saying so; another failure is logged.
 *
 * Unlike @effect/sql-pg's PgMigrator it needs no ChildProcessSpawner, FileSystem or Path service
 * (it uses Node's child_process and fs).
 */
import { execFile } from "node:child_process"
import { mkdir, writeFile } from "node:fs/promises"
import { dirname } from "node:path"
import { Effect, Layer, Redacted } from "effect"
import * as Migrator from "effect/sql/Migrator"
import type { SqlClient } from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { target } from "./config.ts"
import { PgClient } from "./PgClient.ts"

export * from "effect/sql/Migrator"

const migrate = Migrator.make({})

/** The advisory lock's key for a migrations table (hashed to a bigint by the server). */
export const lockName = (table: string): string => `effect-pg/sql/PgMigrator:${table}`

const pgDump = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(
      "pg_dump",
      [...args, "--no-owner", "--no-privileges"],
      { env, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout) => (error ? reject(error) : resolve(stdout))
    )
  })

const clean = (dump: string): string =>
  dump
    .replace(/^--.*$/gm, "")
    .replace(/^SET .*$/gm, "")
    .replace(/^SELECT pg_catalog\..*$/gm, "")
    .replace(/^\\(un)?restrict .*$/gm, "")
    .replace(/\n{2,}/gm, "\n\n")
    .trim()

/** Writes `path` with pg_dump's schema and the migrations table's rows; skipped without pg_dump. */
export const dumpSchema = (
  path: string,
  table: string
): Effect.Effect<void, Migrator.MigrationError, PgClient> =>
  Effect.gen(function* () {
    const client = yield* PgClient
    const config = client.config
    const t = target(config)
    const password =
      config.password === undefined
        ? undefined
        : Redacted.value(Redacted.isRedacted(config.password) ? config.password : yield* config.password)
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      PGHOST: config.path ?? config.host ?? (config.url === undefined ? t.host : undefined),
      PGPORT: config.port?.toString() ?? (config.url === undefined ? String(t.port) : undefined),
      PGUSER: config.username,
      PGPASSWORD: password,
      PGDATABASE: config.database,
      PGSSLMODE: config.ssl === undefined ? undefined : config.ssl ? "require" : "disable"
    }
    const base = config.url === undefined ? [] : [`--dbname=${Redacted.value(config.url)}`]
    const result = yield* Effect.tryPromise({
      try: async () => {
        const [schema, rows] = await Promise.all([
          pgDump([...base, "--schema-only"], env),
          pgDump([...base, "--column-inserts", "--data-only", `--table=${table}`], env)
        ])
        await mkdir(dirname(path), { recursive: true })
        await writeFile(path, `${clean(schema)}\n\n${clean(rows)}\n`)
        return "written" as const
      },
      catch: (error) => error
    }).pipe(
      Effect.catch((error) =>
        typeof error === "object" && error !== null && "code" in error && error.code === "ENOENT"
          ? Effect.succeed("missing" as const)
          : Effect.fail(
              new Migrator.MigrationError({
                kind: "Failed",
                message: `pg_dump failed: ${error instanceof Error ? error.message : String(error)}`,
                cause: error
              })
            )
      )
    )
    if (result === "missing") {
      yield* Effect.logWarning("PgMigrator: pg_dump was not found on the PATH; the schema dump was skipped")
    }
  })

/** Runs the pending migrations under the advisory lock; the ids and names of those that ran. */
export const run = <R2 = never>(
  options: Migrator.MigratorOptions<R2>
): Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient | PgClient | R2
> =>
  Effect.gen(function* () {
    const sql = yield* PgClient
    const table = options.table ?? "effect_sql_migrations"
    const completed = yield* sql.withTransaction(
      Effect.andThen(
        sql`SELECT pg_advisory_xact_lock(hashtextextended(${lockName(table)}, 0))`,
        migrate({ loader: options.loader, table })
      )
    )
    if (options.schemaDirectory !== undefined && completed.length > 0) {
      yield* dumpSchema(`${options.schemaDirectory}/_schema.sql`, table).pipe(
        Effect.catchCause((cause) => Effect.logInfo("Could not dump schema", cause))
      )
    }
    return completed
  })

/** Runs the migrations when the Layer is built. */
export const layer = <R>(
  options: Migrator.MigratorOptions<R>
): Layer.Layer<never, Migrator.MigrationError | SqlError, SqlClient | PgClient | R> =>
  Layer.effectDiscard(run(options))
