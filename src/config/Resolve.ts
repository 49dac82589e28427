/**
 * `resolve`: from what the user gave (a connection string, a `ConnectConfigInput`, Effect Config keys)
 * to a checked `ConnectConfig`, with libpq's precedence, defaults and rules.
 *
 * What it does: merges explicit fields > connection string > the service's section of a service
 * file (`service`/PGSERVICE: ServiceFile.ts) > PG* environment > defaults, per keyword;
 * rejects unsupported keywords; builds the host list; applies libpq's defaults (port 5432, user = the
 * OS user, database = user, sslmode `prefer` or `verify-full` with `sslrootcert=system`, channel_binding
 * `prefer`, sslnegotiation `postgres`, sslcertmode `allow`, ssl_min_protocol_version `TLSv1.2`,
 * target_session_attrs `any`, max_protocol_version `3.2` (newer than libpq 18's `3.0` default: see docs/decisions/005), `~/.pgpass`,
 * `~/.postgresql/{root.crt,postgresql.crt,postgresql.key,root.crl}`) and the checks of libpq's
 * `connectOptions2` (see ConnectConfig.ts for the invariants).
 *
 * What it does NOT do: read `~/.pgpass` or TLS files (they are read at connect time: PgPass.ts,
 * Tls.ts), run the password Effect, or connect. `resolveWith` is pure given a `ResolveContext`
 * (service files are read through its `readFile`); `resolve` builds the context from the process
 * (env, OS user, home, default socket directory, system configuration directory, the file system).
 *
 * Invariants: a `ConnectConfig` given to `resolve` is returned unchanged; a password never reaches
 * an error message.
 */
import { userInfo } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Redacted, Result } from "effect"
import { configError, type PgConfigError } from "./ConfigError.ts"
import {
  type ConnectConfig,
  type ConnectInput,
  channelBindings,
  defaultMaxMessageSize,
  defaultStatementCacheSize,
  gssEncModes,
  isConnectConfig,
  loadBalanceHostsValues,
  sslCertModes,
  sslModes,
  sslNegotiations,
  targetSessionAttrsValues
} from "./ConnectConfig.ts"
import { type EnvRecord, fromEnv, type Sourced } from "./Env.ts"
import { buildHosts, defaultSocketDir } from "./Hosts.ts"
import { findKeyword } from "./Keywords.ts"
import { anyAuth, parseRequireAuth } from "./RequireAuth.ts"
import {
  type FileRead,
  readServiceFile,
  serviceFilesOf,
  serviceOptions,
  systemSysconfDir
} from "./ServiceFile.ts"
import { connectionStringOptions, fromInput, mergeOptions, type Sources } from "./Sources.ts"
import {
  isTlsRangeValid,
  latestProtocolVersion,
  parseEnum,
  parseIntParam,
  parseProtocolVersion,
  parseTlsVersion
} from "./Values.ts"

/** What resolution reads from the world; `systemContext` reads it from the process. */
export interface ResolveContext {
  readonly env: EnvRecord
  /** The OS user name (libpq: the effective user), or undefined when it cannot be found. */
  readonly osUser: () => string | undefined
  /** Default password file (`~/.pgpass`; `%APPDATA%\postgresql\pgpass.conf` on Windows). */
  readonly defaultPassfile: string | undefined
  /** Directory of the default TLS files (`~/.postgresql`). */
  readonly sslDir: string | undefined
  /** Default host: a Unix-socket directory, or undefined for `localhost`. */
  readonly defaultSocketDir: string | undefined
  /** The directory of `.pg_service.conf` (libpq: the home directory); undefined: none. */
  readonly homeDir?: string | undefined
  /** Where `pg_service.conf` is when PGSYSCONFDIR is unset (libpq: its compiled-in SYSCONFDIR). */
  readonly sysconfDir?: string | undefined
  /** Reads a service file; without it no service file exists. */
  readonly readFile?: (path: string) => FileRead
}

/** Options of `resolve`. */
export interface ResolveOptions {
  /** The environment to read PG* variables from; default `process.env`. Pass `{}` to ignore it. */
  readonly env?: EnvRecord | undefined
}

const safeUserInfo = () => {
  try {
    return userInfo()
  } catch {
    return undefined
  }
}

/** The context of the running process, reading PG* variables from `env`. */
export const systemContext = (env: EnvRecord = process.env): ResolveContext => {
  const windows = process.platform === "win32"
  const home = env.HOME !== undefined && env.HOME !== "" ? env.HOME : safeUserInfo()?.homedir
  const appData = env.APPDATA
  return {
    env,
    osUser: () => safeUserInfo()?.username,
    defaultPassfile: windows
      ? appData && join(appData, "postgresql", "pgpass.conf")
      : home && join(home, ".pgpass"),
    sslDir: windows ? appData && join(appData, "postgresql") : home && join(home, ".postgresql"),
    defaultSocketDir: defaultSocketDir(),
    homeDir: windows ? appData && join(appData, "postgresql") : home,
    sysconfDir: windows ? undefined : systemSysconfDir(),
    readFile: readServiceFile
  }
}

/** Resolves any accepted input against the running process (see {@link resolveWith}). */
export const resolve = (
  input: ConnectInput,
  options?: ResolveOptions
): Effect.Effect<ConnectConfig, PgConfigError> =>
  Effect.suspend(() => Effect.fromResult(resolveWith(input, systemContext(options?.env ?? process.env))))

/** Resolves any accepted input against `context`. Pure. */
export const resolveWith = (
  input: ConnectInput,
  context: ResolveContext
): Result.Result<ConnectConfig, PgConfigError> => {
  if (isConnectConfig(input)) return Result.succeed(input)
  const sources = fromInput(typeof input === "string" ? { url: input } : input)
  return Result.flatMap(sources, (s) => resolveSources(s, context))
}

const nonEmpty = (s: Sourced | undefined): string | undefined =>
  s === undefined || s.value === "" ? undefined : s.value

const utf8Names = new Set(["utf8", "unicode"])

type Get = (keyword: string) => Sourced | undefined
type Fail = (
  reason: PgConfigError["reason"],
  message: string,
  keyword: string
) => Result.Result<never, PgConfigError>

const enumOr = <const A extends string>(
  get: Get,
  keyword: string,
  allowed: ReadonlyArray<A>,
  fallback: A
) => {
  const source = get(keyword)
  return source === undefined ? Result.succeed(fallback) : parseEnum(keyword, source, allowed)
}

const secondsOf = (get: Get, keyword: string) => {
  const source = get(keyword)
  return source === undefined
    ? Result.succeed(undefined)
    : Result.map(parseIntParam(keyword, source), (n) => Math.max(n, 0))
}

/** TLS, channel binding, require_auth and GSS encryption: the values and the rules between them. */
const resolveSecurity = (get: Get, fail: Fail) =>
  Result.gen(function* () {
    const channelBinding = yield* enumOr(get, "channel_binding", channelBindings, "prefer")
    const sslrootcert = nonEmpty(get("sslrootcert"))
    const sslmode = yield* enumOr(
      get,
      "sslmode",
      sslModes,
      sslrootcert === "system" ? "verify-full" : "prefer"
    )
    if (sslrootcert === "system" && sslmode !== "verify-full") {
      return yield* fail(
        "Conflict",
        `weak sslmode "${sslmode}" may not be used with sslrootcert=system (use "verify-full")`,
        "sslmode"
      )
    }
    const sslnegotiation = yield* enumOr(get, "sslnegotiation", sslNegotiations, "postgres")
    if (sslnegotiation === "direct" && !(sslmode === "require" || sslmode.startsWith("verify-"))) {
      return yield* fail(
        "Conflict",
        `weak sslmode "${sslmode}" may not be used with sslnegotiation=direct (use "require", "verify-ca", or "verify-full")`,
        "sslnegotiation"
      )
    }
    const sslcertmode = yield* enumOr(get, "sslcertmode", sslCertModes, "allow")
    const requireAuthSource = get("require_auth")
    const requireAuth = requireAuthSource === undefined ? anyAuth : yield* parseRequireAuth(requireAuthSource)
    const sslMin = yield* parseTlsVersion(
      "ssl_min_protocol_version",
      get("ssl_min_protocol_version") ?? { value: "TLSv1.2", origin: "default" }
    )
    const sslMaxSource = get("ssl_max_protocol_version")
    const sslMax =
      sslMaxSource === undefined
        ? undefined
        : yield* parseTlsVersion("ssl_max_protocol_version", sslMaxSource)
    if (!isTlsRangeValid(sslMin, sslMax)) {
      return yield* fail("Conflict", "invalid SSL protocol version range", "ssl_min_protocol_version")
    }
    const gssencmode = yield* enumOr(get, "gssencmode", gssEncModes, "disable")
    if (gssencmode === "require") {
      return yield* fail(
        "UnsupportedOption",
        `gssencmode value "require" invalid: effect-pg has no GSSAPI encryption`,
        "gssencmode"
      )
    }
    const options = {
      channelBinding,
      sslmode,
      sslnegotiation,
      sslcertmode,
      requireAuth,
      sslMinProtocolVersion: sslMin,
      sslMaxProtocolVersion: sslMax,
      gssencmode
    }
    return { sslrootcert, options }
  })

/** Session targeting, protocol versions, the connect timeout and TCP keepalives. */
const resolveSession = (get: Get, fail: Fail, sources: Sources) =>
  Result.gen(function* () {
    const targetSessionAttrs = yield* enumOr(get, "target_session_attrs", targetSessionAttrsValues, "any")
    const loadBalanceHosts = yield* enumOr(get, "load_balance_hosts", loadBalanceHostsValues, "disable")
    const minSource = get("min_protocol_version")
    const minProtocolVersion =
      minSource === undefined ? "3.0" : yield* parseProtocolVersion("min_protocol_version", minSource)
    const maxSource = get("max_protocol_version")
    const maxProtocolVersion =
      maxSource !== undefined
        ? yield* parseProtocolVersion("max_protocol_version", maxSource)
        : latestProtocolVersion
    if (minProtocolVersion > maxProtocolVersion) {
      return yield* fail(
        "Conflict",
        `"min_protocol_version" is greater than "max_protocol_version"`,
        "min_protocol_version"
      )
    }

    let connectTimeout = sources.connectTimeout
    const timeoutSource = get("connect_timeout")
    if (connectTimeout === undefined && timeoutSource !== undefined) {
      const seconds = yield* parseIntParam("connect_timeout", timeoutSource)
      // libpq: no timeout for 0 or less; 1 second would be cut short by rounding, so at least 2.
      if (seconds > 0) connectTimeout = Duration.seconds(Math.max(seconds, 2))
    }
    const keepalivesSource = get("keepalives")
    const keepalives =
      keepalivesSource === undefined ? true : (yield* parseIntParam("keepalives", keepalivesSource)) !== 0
    const keepalivesIdle = yield* secondsOf(get, "keepalives_idle")
    const keepalivesInterval = yield* secondsOf(get, "keepalives_interval")
    const keepalivesCount = yield* secondsOf(get, "keepalives_count")
    return {
      targetSessionAttrs,
      loadBalanceHosts,
      minProtocolVersion,
      maxProtocolVersion,
      protocolFallback: maxSource === undefined && minProtocolVersion === "3.0",
      connectTimeout,
      keepalives,
      keepalivesIdle,
      keepalivesInterval,
      keepalivesCount
    }
  })

/** Merges `sources` with the environment of `context`, applies the defaults and checks every rule. */
export const resolveSources = (
  sources: Sources,
  context: ResolveContext
): Result.Result<ConnectConfig, PgConfigError> =>
  Result.gen(function* () {
    const fromString = yield* connectionStringOptions(sources)
    const env = fromEnv(context.env)
    // libpq's conninfo_add_defaults: the service's values fill what the connection string left
    // unset, before the environment does; the service name itself may come from PGSERVICE.
    const serviceName = mergeOptions([sources.explicit, fromString, env.options]).get("service")
    const service =
      serviceName === undefined
        ? new Map<string, Sourced>()
        : yield* serviceOptions(serviceName, serviceFilesOf(context))
    const o = mergeOptions([sources.explicit, fromString, service, env.options])
    const get = (keyword: string) => o.get(keyword)
    const fail = (reason: PgConfigError["reason"], message: string, keyword: string) =>
      Result.fail(configError(reason, message, { key: keyword, origin: get(keyword)?.origin }))

    for (const [keyword, source] of o) {
      if (findKeyword(keyword)?.status === "unsupported" && source.value !== "") {
        return yield* fail(
          "UnsupportedOption",
          `connection option "${keyword}" is not supported by effect-pg`,
          keyword
        )
      }
    }
    const encoding = nonEmpty(get("client_encoding"))
    if (encoding !== undefined && !utf8Names.has(encoding.toLowerCase().replace(/[-_]/g, ""))) {
      return yield* fail(
        "UnsupportedOption",
        `client_encoding "${encoding}" is not supported: effect-pg always uses UTF8`,
        "client_encoding"
      )
    }

    const hosts = yield* buildHosts(
      get("host"),
      get("hostaddr"),
      get("port"),
      context.defaultSocketDir ?? "localhost"
    )
    const user = nonEmpty(get("user")) ?? context.osUser()
    if (user === undefined || user === "") {
      return yield* fail("MissingUser", "could not look up local user name: give a user name", "user")
    }
    const database = nonEmpty(get("dbname")) ?? user
    const explicitPassword = nonEmpty(get("password"))
    const password =
      sources.password ?? (explicitPassword === undefined ? undefined : Redacted.make(explicitPassword))

    const security = yield* resolveSecurity(get, fail)
    const session = yield* resolveSession(get, fail, sources)
    const sslsniSource = get("sslsni")
    const sslFile = (keyword: string, name: string) =>
      nonEmpty(get(keyword)) ?? (context.sslDir === undefined ? undefined : join(context.sslDir, name))
    const sslpasswordValue = nonEmpty(get("sslpassword"))

    const replication = yield* replicationOf(get("replication"), fail)
    const params = { ...env.params }
    for (const [name, value] of Object.entries(sources.params ?? {})) {
      if (reservedParams.has(name) || name === "" || name.includes("\0") || value.includes("\0")) {
        return yield* Result.fail(
          configError("InvalidValue", `startup parameter "${name}" cannot be set through params`, {
            key: "params",
            origin: "explicit"
          })
        )
      }
      params[name] = value
    }

    const config: ConnectConfig = {
      _tag: "ConnectConfig",
      ...security.options,
      ...session,
      hosts,
      database,
      user,
      password,
      passfile: nonEmpty(get("passfile")) ?? context.defaultPassfile,
      sslrootcert: security.sslrootcert ?? sslFile("sslrootcert", "root.crt"),
      sslcert: sslFile("sslcert", "postgresql.crt"),
      sslkey: sslFile("sslkey", "postgresql.key"),
      sslpassword:
        sources.sslpassword ?? (sslpasswordValue === undefined ? undefined : Redacted.make(sslpasswordValue)),
      sslcrl: sslFile("sslcrl", "root.crl"),
      sslsni: sslsniSource === undefined ? true : sslsniSource.value.startsWith("1"),
      applicationName: nonEmpty(get("application_name")),
      fallbackApplicationName: nonEmpty(get("fallback_application_name")),
      options: get("options")?.value ?? "",
      ...(replication === undefined ? {} : { replication }),
      params,
      maxMessageSize: sources.maxMessageSize ?? defaultMaxMessageSize,
      statementCacheSize: sources.statementCacheSize ?? defaultStatementCacheSize,
      gssToken: sources.gssToken
    }
    return config
  })

/**
 * libpq's `replication` values: `database` (logical), a true boolean (physical), a false one
 * (none); anything else is refused.
 */
const replicationOf = (source: Sourced | undefined, fail: Fail) =>
  Result.gen(function* () {
    if (source === undefined) return undefined
    const value = source.value.toLowerCase()
    if (value === "database") return "database" as const
    if (["true", "on", "yes", "1"].includes(value)) return "physical" as const
    if (["false", "off", "no", "0"].includes(value)) return undefined
    return yield* fail(
      "InvalidValue",
      `invalid replication value "${source.value}": expected database, true or false`,
      "replication"
    )
  })

/** Startup parameters that have their own option; `params` may not set them. */
const reservedParams = new Set([
  "user",
  "database",
  "options",
  "application_name",
  "client_encoding",
  "replication"
])
