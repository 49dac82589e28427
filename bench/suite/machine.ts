/**
 * Facts about the run for the report: the machine (cores, memory, CPU model, load), Node, and the
 * version of every client (read from the installed package.json files and the tools' --version).
 *
 * Does NOT: measure. Invariants: a version that cannot be read shows as "?" (never guessed).
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { availableParallelism, cpus, loadavg, totalmem } from "node:os"
import type { BenchContext } from "./types.ts"

const packageVersion = (name: string): string => {
  try {
    const file = new URL(`../../node_modules/${name}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version
  } catch {
    return "?"
  }
}

const ownVersion = (): string => {
  try {
    const file = new URL("../../package.json", import.meta.url)
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version
  } catch {
    return "?"
  }
}

const toolVersion = (path: string | undefined): string => {
  if (path === undefined) return "not installed"
  const r = spawnSync(path, ["--version"], { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim() : "?"
}

export interface MachineFacts {
  readonly cores: number
  readonly memoryGiB: number
  readonly cpu: string
  readonly os: string
  readonly node: string
  readonly loadStart: string
  readonly versions: ReadonlyArray<readonly [string, string]>
}

const osName = (): string => {
  try {
    const text = readFileSync("/etc/os-release", "utf8")
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? process.platform
  } catch {
    return process.platform
  }
}

export const formatLoad = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" / ")

export const machineFacts = (ctx: BenchContext): MachineFacts => ({
  cores: availableParallelism(),
  memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
  cpu: cpus()[0]?.model ?? "?",
  os: osName(),
  node: process.version,
  loadStart: formatLoad(),
  versions: [
    ["effect-pg", `${ownVersion()} (this checkout, effect ${packageVersion("effect")})`],
    [
      "pg",
      `${packageVersion("pg")} (pg-pool ${packageVersion("pg-pool")}, pg-copy-streams ${packageVersion("pg-copy-streams")})`
    ],
    ["postgres (postgres.js)", packageVersion("postgres")],
    ["@effect/sql-pg", packageVersion("@effect/sql-pg")],
    ["pgbench", toolVersion(ctx.pgbench)],
    ["psql", toolVersion(ctx.psql)]
  ]
})
