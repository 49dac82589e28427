/**
 * The server side of the peer benchmark: starts a throwaway PostgreSQL 18 (effect-pg/testing, no
 * TLS, `log_connections=off` so the connect workload does not time log writes) or uses PG_URL,
 * creates the COPY target table and the mixed workload's table (mixed.ts), writes the COPY
 * input file, and reads the server's version and the settings that matter for the numbers.
 *
 * Does NOT: measure anything. With PG_URL the scram workload needs PG_SCRAM_URL (a role that
 * authenticates with scram-sha-256); without it that workload is reported as not run.
 * Invariants: everything created (cluster, scratch directory) is removed when the scope closes.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import * as Expert from "../../src/Expert.ts"
import * as Testing from "../../src/testing/index.ts"
import { CREATE_MIXED_TABLE } from "./mixed.ts"
import type { BenchContext } from "./types.ts"
import { COPY_ROWS, CREATE_COPY_TABLE, copyText } from "./workloads.ts"

export const SETTINGS = [
  "fsync",
  "synchronous_commit",
  "full_page_writes",
  "wal_level",
  "shared_buffers",
  "work_mem",
  "max_connections",
  "password_encryption",
  "scram_iterations",
  "ssl",
  "log_connections",
  "jit"
] as const

export interface ServerFacts {
  readonly version: string
  readonly source: string
  readonly settings: ReadonlyArray<readonly [string, string]>
}

const tool = (path: string): string | undefined => {
  if (!existsSync(path)) return undefined
  return spawnSync(path, ["--version"], { encoding: "utf8" }).status === 0 ? path : undefined
}

const withPassword = (base: string, user: string, password: string): string => {
  const u = new URL(base)
  u.username = encodeURIComponent(user)
  u.password = encodeURIComponent(password)
  return u.toString()
}

/**
 * Every client gets `sslmode=disable` (unless PG_URL says otherwise): the local server has no TLS,
 * and libpq's default `prefer` (effect-pg's default too) would add an SSLRequest round trip to
 * each connect that pg and postgres.js, which default to no TLS, do not make.
 */
const plain = (url: string): string => {
  const u = new URL(url)
  if (!u.searchParams.has("sslmode")) u.searchParams.set("sslmode", "disable")
  return u.toString()
}

/** Starts (or finds) the server and prepares the shared inputs, for the lifetime of the scope. */
export const prepareServer = Effect.gen(function* () {
  const external = (process.env.PG_URL ?? "") !== ""
  const server = yield* Testing.PgTestServer.start(
    external
      ? { backend: "external", env: { EFFECT_PG_TEST_URL: process.env.PG_URL } }
      : { version: 18, tls: false, backend: "local", settings: { log_connections: false } }
  )
  const workDir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-pg-bench-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  const copyFile = join(workDir, "copy.tsv")
  writeFileSync(copyFile, copyText(COPY_ROWS))

  const facts = yield* Effect.scoped(
    Effect.gen(function* () {
      const conn = yield* Expert.connect(server.url)
      yield* conn.simpleQuery(CREATE_COPY_TABLE)
      for (const statement of CREATE_MIXED_TABLE) yield* conn.simpleQuery(statement)
      const version = yield* conn.query("select version()", [], { rowMode: "array" })
      const list = SETTINGS.map((s) => `'${s}'`).join(", ")
      const settings = yield* conn.query(
        `select name, setting, coalesce(unit, '') from pg_settings where name in (${list}) order by name`,
        [],
        { rowMode: "array" }
      )
      return {
        version: String(version.rows[0]?.[0] ?? "?"),
        source: server.source,
        settings: settings.rows.map(
          (r) => [String(r[0] ?? ""), `${r[1] ?? ""}${r[2] ? ` (${r[2]})` : ""}`] as const
        )
      } satisfies ServerFacts
    })
  )

  const scram = server.roles?.scram
  const scramPair =
    scram?.password !== undefined
      ? { user: scram.user, password: scram.password }
      : parseScramEnv(process.env.PG_SCRAM_URL)
  const ctx: BenchContext = {
    url: plain(server.url),
    scramUrl:
      scramPair === undefined
        ? undefined
        : plain(withPassword(server.url, scramPair.user, scramPair.password)),
    host: server.host,
    port: server.port,
    user: server.user,
    database: server.database,
    password: server.password,
    scram: scramPair,
    copyFile,
    workDir,
    pgbench: tool("/usr/lib/postgresql/15/bin/pgbench") ?? tool("/usr/bin/pgbench"),
    psql: tool("/usr/bin/psql") ?? tool("/usr/lib/postgresql/15/bin/psql")
  }
  return { ctx, facts }
})

const parseScramEnv = (url: string | undefined) => {
  if (url === undefined || url === "") return undefined
  const u = new URL(url)
  return { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) }
}
