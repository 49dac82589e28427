/**
 * The three sources of a configuration and their merge: explicit fields > connection string >
 * environment (the defaults come last, in Resolve.ts).
 *
 * What it does: turns a typed `ConnectConfigInput` into `Sources` (raw libpq strings per keyword, plus
 * the values that are not strings: the password, `params`, `gssToken`, ...); parses the connection
 * string (URL or `key=value`); merges per keyword, so an explicit `host` replaces the URL's host but
 * keeps the URL's port, as libpq merges keywords. Typed values become libpq strings (`port: 5433` →
 * `"5433"`, `sslsni: false` → `"0"`) so that every source goes through the same validation.
 *
 * What it does NOT do: validate values or apply defaults (Resolve.ts).
 *
 * Invariants: an explicit empty string counts as absent (libpq's `PQconnectdbParams` skips empty
 * values); an empty value in a connection string or the environment counts as present (libpq stores
 * it: `host=''` blocks PGHOST, and `PGSSLMODE=` is an invalid sslmode).
 */
import { Duration, Effect, Redacted, Result } from "effect"
import { configError, type PgConfigError } from "./ConfigError.ts"
import type { ConnectConfigInput, PasswordSource } from "./ConnectConfig.ts"
import type { Sourced } from "./Env.ts"
import { parseKeyValue } from "./KeyValue.ts"
import type { RawOptions } from "./Keywords.ts"
import { isConnectionUri, parseUri } from "./Url.ts"

/** Everything the user gave, before defaults and validation. */
export interface Sources {
  /** Explicit options as libpq strings, by keyword. */
  readonly explicit: ReadonlyMap<string, Sourced>
  readonly connectionString: string | undefined
  readonly password: PasswordSource | undefined
  readonly sslpassword: Redacted.Redacted<string> | undefined
  readonly params: Readonly<Record<string, string>> | undefined
  readonly maxMessageSize: number | undefined
  readonly statementCacheSize?: number | undefined
  readonly gssToken: Uint8Array | undefined
  /** An explicit Duration for connectTimeout (used exactly, without libpq's rounding). */
  readonly connectTimeout: Duration.Duration | undefined
}

/** Parses a connection string: a URI when it starts with `postgresql://` or `postgres://`, else `key=value`. */
export const parseConnectionString = (input: string): Result.Result<RawOptions, PgConfigError> =>
  isConnectionUri(input) ? parseUri(input) : parseKeyValue(input)

const list = (value: unknown): string | undefined => {
  if (value === undefined || value === null) return undefined
  const joined = Array.isArray(value) ? value.map((v) => String(v ?? "")).join(",") : String(value)
  return joined.replace(/,/g, "") === "" ? undefined : joined
}

const asRedacted = (value: unknown): Redacted.Redacted<string> | undefined => {
  if (value === undefined || value === null) return undefined
  if (Redacted.isRedacted(value)) return value as Redacted.Redacted<string>
  return typeof value === "string" && value !== "" ? Redacted.make(value) : undefined
}

const asPassword = (value: unknown): PasswordSource | undefined =>
  Effect.isEffect(value) ? (value as Effect.Effect<Redacted.Redacted<string>, unknown>) : asRedacted(value)

const flag = (value: boolean | undefined): string | undefined =>
  value === undefined ? undefined : value ? "1" : "0"

/**
 * Command-line options as one `options` value, each escaped as libpq reads them back: a backslash
 * before every space and backslash, so `["-c", "search_path=my schema"]` is
 * `-c search_path=my\ schema`.
 */
export const optionsList = (options: ReadonlyArray<string> | undefined): string | undefined =>
  options?.map((option) => option.replace(/[\\ ]/g, (c) => `\\${c}`)).join(" ")

/** The `replication` keyword's value for an explicit input. */
const replicationValue = (mode: "database" | "physical" | boolean): string =>
  mode === "database" ? "database" : mode === "physical" || mode === true ? "true" : "false"

/** Turns a typed input into sources; `origin` names it in errors (`explicit`, `config`). */
export const fromInput = (
  input: ConnectConfigInput,
  origin = "explicit"
): Result.Result<Sources, PgConfigError> => {
  const explicit = new Map<string, Sourced>()
  const set = (keyword: string, value: string | number | undefined | null) => {
    if (value === undefined || value === null) return
    const s = String(value)
    if (s !== "") explicit.set(keyword, { value: s, origin })
  }
  if (input.hosts !== undefined && input.hosts.length > 0) {
    if (input.host !== undefined || input.hostaddr !== undefined || input.port !== undefined) {
      return Result.fail(
        configError("Conflict", "hosts cannot be combined with host, hostaddr or port", {
          key: "host",
          origin
        })
      )
    }
    set("host", list(input.hosts.map((h) => h.host ?? "")))
    set("hostaddr", list(input.hosts.map((h) => h.hostaddr ?? "")))
    set("port", list(input.hosts.map((h) => h.port ?? "")))
  } else {
    set("host", list(input.host))
    set("hostaddr", list(input.hostaddr))
    set("port", list(input.port))
  }
  set("service", input.service)
  set("dbname", input.database)
  set("user", input.user)
  set("passfile", input.passfile)
  set("sslmode", input.sslmode)
  set("sslnegotiation", input.sslnegotiation)
  set("sslrootcert", input.sslrootcert)
  set("sslcert", input.sslcert)
  set("sslkey", input.sslkey)
  set("sslcrl", input.sslcrl)
  set("sslsni", flag(input.sslsni))
  set("sslcertmode", input.sslcertmode)
  set("ssl_min_protocol_version", input.sslMinProtocolVersion)
  set("ssl_max_protocol_version", input.sslMaxProtocolVersion)
  set("channel_binding", input.channelBinding)
  set("require_auth", input.requireAuth)
  set("gssencmode", input.gssencmode)
  set("application_name", input.applicationName)
  set("fallback_application_name", input.fallbackApplicationName)
  set("keepalives", flag(input.keepalives))
  set("keepalives_idle", input.keepalivesIdle)
  set("keepalives_interval", input.keepalivesInterval)
  set("keepalives_count", input.keepalivesCount)
  set("options", typeof input.options === "string" ? input.options : optionsList(input.options))
  set("replication", input.replication === undefined ? undefined : replicationValue(input.replication))
  set("target_session_attrs", input.targetSessionAttrs)
  set("load_balance_hosts", input.loadBalanceHosts)
  set("min_protocol_version", input.minProtocolVersion)
  set("max_protocol_version", input.maxProtocolVersion)
  // An explicit empty ssl_min_protocol_version means "no minimum" (libpq), unlike other empty values.
  if (input.sslMinProtocolVersion === "") explicit.set("ssl_min_protocol_version", { value: "", origin })
  let connectTimeout: Duration.Duration | undefined
  if (Duration.isDuration(input.connectTimeout)) {
    if (Duration.toMillis(input.connectTimeout) < 0) {
      return Result.fail(
        configError("InvalidValue", "connect_timeout must not be negative", {
          key: "connect_timeout",
          origin
        })
      )
    }
    connectTimeout = input.connectTimeout
  } else {
    set("connect_timeout", input.connectTimeout)
  }
  const maxMessageSize = input.maxMessageSize
  const badSize = outOfRange("maxMessageSize", maxMessageSize, 5, 0x7fffffff, origin)
  if (badSize !== undefined) return Result.fail(badSize)
  const statementCacheSize = input.statementCacheSize
  const badCache = outOfRange("statementCacheSize", statementCacheSize, 0, 100_000, origin)
  if (badCache !== undefined) return Result.fail(badCache)
  return Result.succeed({
    explicit,
    statementCacheSize,
    connectionString: input.url === undefined || input.url === "" ? undefined : input.url,
    password: asPassword(input.password),
    sslpassword: asRedacted(input.sslpassword),
    params: input.params,
    maxMessageSize,
    gssToken: input.gssToken,
    connectTimeout
  })
}

/** The merged raw options: explicit > connection string > environment, per keyword. */
export const mergeOptions = (
  layers: ReadonlyArray<ReadonlyMap<string, Sourced>>
): ReadonlyMap<string, Sourced> => {
  const merged = new Map<string, Sourced>()
  for (let i = layers.length - 1; i >= 0; i--) {
    for (const [keyword, value] of layers[i]!) merged.set(keyword, value)
  }
  return merged
}

/** Parses `sources.connectionString` into sourced options (origin `connection string`/`connection URI`). */
export const connectionStringOptions = (
  sources: Sources
): Result.Result<ReadonlyMap<string, Sourced>, PgConfigError> => {
  if (sources.connectionString === undefined) return Result.succeed(new Map())
  const origin = isConnectionUri(sources.connectionString) ? "connection URI" : "connection string"
  return Result.map(
    parseConnectionString(sources.connectionString),
    (raw) => new Map(Array.from(raw, ([keyword, value]) => [keyword, { value, origin }] as const))
  )
}

/** The error for one of our own integer settings outside `min..max`, or undefined. */
const outOfRange = (
  key: string,
  value: number | undefined,
  min: number,
  max: number,
  origin: string
): PgConfigError | undefined =>
  value === undefined || (Number.isInteger(value) && value >= min && value <= max)
    ? undefined
    : configError("InvalidValue", `invalid ${key}: ${value} (an integer in ${min}..${max})`, { key, origin })
