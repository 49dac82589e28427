/**
 * The PG* environment variables, read as libpq's `conninfo_add_defaults` and `build_startup_packet`
 * read them, from an env record (default `process.env`) so tests never touch the process.
 *
 * What it does: maps each keyword's variable (PGHOST → host, PGSSLMODE → sslmode, ... the `env`
 * column of Keywords.ts) to a raw option; a variable that is set but empty counts as set, as in libpq
 * (`PGSSLMODE=` is an invalid sslmode, `PGCONNECT_TIMEOUT=` an invalid integer). The deprecated
 * PGREQUIRESSL gives `sslmode=require` when it starts with `1` and PGSSLMODE is unset. PGDATESTYLE,
 * PGTZ and PGGEQO become the startup parameters `datestyle`, `timezone` and `geqo` unless their value
 * is `default` (any case), as libpq's `EnvironmentOptions`.
 *
 * What it does NOT do: read the service files that PGSERVICE, PGSERVICEFILE and PGSYSCONFDIR name
 * (ServiceFile.ts, through Resolve.ts), PGLOCALEDIR, PGKRBSRVNAME's Kerberos config, or validate
 * values (the resolver does, naming the variable in its error).
 *
 * Invariants: the result only holds keywords of Keywords.ts; each value remembers its variable.
 */
import { keywords } from "./Keywords.ts"

/** An environment: variable name → value (`process.env` shape). */
export type EnvRecord = Readonly<Record<string, string | undefined>>

/** A raw option value and where it came from (`explicit`, `connection string`, or a variable name). */
export interface Sourced {
  readonly value: string
  readonly origin: string
}

/** What the environment contributes: options by keyword, and extra startup parameters. */
export interface EnvOptions {
  readonly options: ReadonlyMap<string, Sourced>
  readonly params: Readonly<Record<string, string>>
}

const startupVariables: ReadonlyArray<readonly [variable: string, parameter: string]> = [
  ["PGDATESTYLE", "datestyle"],
  ["PGTZ", "timezone"],
  ["PGGEQO", "geqo"]
]

const lookup = (env: EnvRecord, name: string): string | undefined =>
  Object.hasOwn(env, name) ? env[name] : undefined

/** Reads the PG* variables of `env`. */
export const fromEnv = (env: EnvRecord): EnvOptions => {
  const options = new Map<string, Sourced>()
  for (const kw of keywords) {
    if (kw.env === undefined) continue
    const value = lookup(env, kw.env)
    if (value !== undefined) options.set(kw.name, { value, origin: kw.env })
  }
  if (!options.has("sslmode")) {
    const requireSsl = lookup(env, "PGREQUIRESSL")
    if (requireSsl?.startsWith("1")) options.set("sslmode", { value: "require", origin: "PGREQUIRESSL" })
  }
  const params: Record<string, string> = {}
  for (const [variable, parameter] of startupVariables) {
    const value = lookup(env, variable)
    if (value !== undefined && value.toLowerCase() !== "default") params[parameter] = value
  }
  return { options, params }
}

/** The environment variable libpq reads for `keyword`, if any (for documentation and errors). */
export const envVariableOf = (keyword: string): string | undefined =>
  keywords.find((kw) => kw.name === keyword)?.env
