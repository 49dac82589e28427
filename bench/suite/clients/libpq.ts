/**
 * The C reference (libpq): Debian's `pgbench` and `psql` (postgresql-15 client tools) against the
 * same server. What each row compares (also written to docs/benchmarks.md):
 *  - seq: `pgbench -n -M prepared -c 1 -j 1 -t 20000` with the script `\set x random(1, 1000000)`
 *    + `select :x::int;` — one prepared statement, Bind/Execute/Sync and a wait per query; tps
 *    "without initial connection time".
 *  - pipe / pool: the same statement in pgbench's `\startpipeline … \endpipeline` batches (256 per
 *    batch on 1 connection; 32 per batch on each of 8 connections, `-j 2`), queries/s = tps × batch.
 *  - connect: `pgbench -n -C -c 1 -t 500` with `select 1;` (simple protocol, a new connection per
 *    transaction, tps "including reconnection times").
 *  - copy: `psql -X -c "\copy bench_copy (a, b, c) from 'file'"`, wall time of the whole psql
 *    process (start-up and connection included, a few ms out of the total).
 * Does NOT: read rows: psql formats every value for display, which no JS client does, so there is
 * no like-for-like libpq reference for the row workloads.
 * Invariants: a missing binary gives "n/a (not installed)" (decided by the harness before any run).
 */
import { spawnSync } from "node:child_process"
import { statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { BenchContext, ClientModule, Sample } from "../types.ts"
import { CONNECTS, COPY_ROWS, COPY_TABLE, check, POOL_SIZE, SEQ_QUERIES } from "../workloads.ts"

const PIPE_BATCH = 256
const POOL_BATCH = 32
const PIPE_TRANSACTIONS = 196
const POOL_TRANSACTIONS = 196

const env = (ctx: BenchContext, user: string, password: string | undefined): NodeJS.ProcessEnv => {
  const out: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PGHOST: ctx.host,
    PGPORT: String(ctx.port),
    PGUSER: user,
    PGDATABASE: ctx.database,
    PGSSLMODE: "disable"
  }
  if (password !== undefined) out.PGPASSWORD = password
  return out
}

const exec = (bin: string, args: ReadonlyArray<string>, environment: NodeJS.ProcessEnv): string => {
  const r = spawnSync(bin, args, { env: environment, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

const script = (ctx: BenchContext, name: string, text: string): string => {
  const file = join(ctx.workDir, name)
  writeFileSync(file, text)
  return file
}

const batch = (n: number) =>
  `\\set x random(1, 1000000)\n\\startpipeline\n${"select :x::int;\n".repeat(n)}\\endpipeline\n`

/** Runs pgbench and turns its tps into a sample of `perTransaction` operations per transaction. */
const pgbench = (
  ctx: BenchContext,
  options: {
    readonly args: ReadonlyArray<string>
    readonly file: string
    readonly transactions: number
    readonly perTransaction: number
    readonly user?: string
    readonly password?: string | undefined
  }
): Sample => {
  if (ctx.pgbench === undefined) throw new Error("pgbench is not installed")
  const out = exec(
    ctx.pgbench,
    ["-n", ...options.args, "-t", String(options.transactions), "-f", options.file],
    env(ctx, options.user ?? ctx.user, options.user === undefined ? ctx.password : options.password)
  )
  const tps = /tps = ([\d.]+)/.exec(out)
  const processed = /number of transactions actually processed: (\d+)/.exec(out)
  if (tps === null || processed === null) throw new Error(`unexpected pgbench output:\n${out}`)
  const count = Number(processed[1]) * options.perTransaction
  return { count, seconds: count / (Number(tps[1]) * options.perTransaction) }
}

const seq = async (ctx: BenchContext) => {
  const file = script(ctx, "seq.sql", "\\set x random(1, 1000000)\nselect :x::int;\n")
  const base = { args: ["-M", "prepared", "-c", "1", "-j", "1"], file, perTransaction: 1 }
  pgbench(ctx, { ...base, transactions: 1000 })
  const sample = pgbench(ctx, { ...base, transactions: SEQ_QUERIES })
  check(sample.count === SEQ_QUERIES, "pgbench transactions")
  return sample
}

const pipelined = (clients: number, perBatch: number, transactions: number) => async (ctx: BenchContext) => {
  const file = script(ctx, `pipe-${perBatch}.sql`, batch(perBatch))
  const jobs = String(Math.min(clients, 2))
  const base = { args: ["-M", "prepared", "-c", String(clients), "-j", jobs], file, perTransaction: perBatch }
  pgbench(ctx, { ...base, transactions: 10 })
  const sample = pgbench(ctx, { ...base, transactions })
  check(sample.count === clients * transactions * perBatch, "pgbench transactions")
  return sample
}

const connect = (scram: boolean) => async (ctx: BenchContext) => {
  if (scram && ctx.scram === undefined) throw new Error("no scram role on this server")
  const file = script(ctx, "select1.sql", "select 1;\n")
  const who = scram ? { user: ctx.scram!.user, password: ctx.scram!.password } : {}
  const base = { args: ["-C", "-M", "simple", "-c", "1", "-j", "1"], file, perTransaction: 1, ...who }
  pgbench(ctx, { ...base, transactions: 20 })
  const sample = pgbench(ctx, { ...base, transactions: CONNECTS })
  check(sample.count === CONNECTS, "pgbench transactions")
  return sample
}

const copy = async (ctx: BenchContext) => {
  if (ctx.psql === undefined) throw new Error("psql is not installed")
  const psql = ctx.psql
  const e = env(ctx, ctx.user, ctx.password)
  exec(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", `truncate ${COPY_TABLE}`], e)
  const { size } = statSync(ctx.copyFile)
  const start = performance.now()
  const out = exec(
    psql,
    ["-X", "-v", "ON_ERROR_STOP=1", "-c", `\\copy ${COPY_TABLE} (a, b, c) from '${ctx.copyFile}'`],
    e
  )
  const seconds = (performance.now() - start) / 1000
  check(out.trim() === `COPY ${COPY_ROWS}`, "psql COPY tag")
  return { count: COPY_ROWS, seconds, bytes: size }
}

const noRows = { unsupported: "n/a — psql formats rows for display; no like-for-like libpq reference" }

export const libpq: ClientModule = {
  id: "libpq",
  label: "libpq (pgbench/psql)",
  kind: "c",
  how: "Debian postgresql-client 15: pgbench (`-M prepared`, pipelines, `-C`) and `psql \\copy`; see the notes below the table",
  workloads: {
    seq,
    pipe: pipelined(1, PIPE_BATCH, PIPE_TRANSACTIONS),
    pool: pipelined(POOL_SIZE, POOL_BATCH, POOL_TRANSACTIONS),
    rows: noRows,
    "rows-stream": noRows,
    mixed: noRows,
    copy,
    "connect-trust": connect(false),
    "connect-scram": connect(true),
    memory: noRows
  }
}
