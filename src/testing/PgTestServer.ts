/**
 * `PgTestServer`: a throwaway PostgreSQL server for tests, as a scoped Effect and as a Layer.
 *
 * Does: chooses where the server comes from and returns its description (ServerInfo.ts):
 *   1. backend "auto" (default): EFFECT_PG_TEST_URL set → that server, nothing started (PG_URL,
 *      PGHOST and the other libpq variables are never read: an existing server is an opt-in);
 *   2. otherwise local binaries (Binaries.ts) → a fresh cluster with roles, TLS and fault controls;
 *   3. no local binaries, but a Docker engine hint and `@testcontainers/postgresql` installed → a
 *      container (fewer features: no roles, TLS or controls).
 * Does NOT: provide a SQL client (PgTestDatabase.ts does), or share one server between calls (each
 * `start` is a new cluster; share one through `layer` in @effect/vitest).
 * Invariants: everything started is stopped and removed when the Scope closes, on success, failure
 * and interruption; options are validated before anything is started.
 */
import { Context, Duration, Effect, Layer, Option, type Scope } from "effect"
import { defaultMajor, type PgBinaries, type PgMajorVersion, resolveBinaries } from "./Binaries.ts"
import { type SettingValue, validateSettings } from "./ClusterConfig.ts"
import {
  dockerEngineHint,
  type Env,
  externalFromEnv,
  externalUrlVariable,
  startContainer
} from "./External.ts"
import { type LocalServerOptions, startLocal } from "./LocalServer.ts"
import { fromUnknown, PgTestServerError } from "./PgTestServerError.ts"
import type { PgTestServerInfo } from "./ServerInfo.ts"
import type { TlsKeyType } from "./Tls.ts"

export interface PgTestServerOptions {
  /** Major version to start (default 18). Ignored for external servers. */
  readonly version?: PgMajorVersion
  /** A directory with `initdb` and `postgres`; wins over PG_BIN and `version` lookup. */
  readonly binDir?: string
  /** TLS on (default, EC P-256 keys), off, or with RSA-2048 keys (slower to generate: ~0.7 s once per process). */
  readonly tls?: boolean | { readonly keyType?: TlsKeyType }
  /** Extra postgresql.conf settings; they win over the harness defaults. */
  readonly settings?: Readonly<Record<string, SettingValue>>
  /** Extra pg_hba.conf lines, placed after the role lines and before the catch-all lines. */
  readonly hba?: ReadonlyArray<string>
  /** The environment to read EFFECT_PG_TEST_URL, PG_BIN and DOCKER_HOST from (default `process.env`). */
  readonly env?: Env
  /**
   * "auto" (default): the server named by EFFECT_PG_TEST_URL, else local binaries, else a container.
   * "local": always start local binaries (EFFECT_PG_TEST_URL ignored). "external": require
   * EFFECT_PG_TEST_URL. "container": always use testcontainers. PG_URL, PGHOST and the other libpq
   * variables never select a server.
   */
  readonly backend?: "auto" | "local" | "external" | "container"
  /** When the process is root, the user to run PostgreSQL as (created if missing). Default "pgtest". */
  readonly runAs?: string
  /** Parent directory of the cluster directory (default `os.tmpdir()`); keep the path short (socket paths are limited to 107 bytes). */
  readonly tmpDir?: string
  /** How long to wait for the server to accept connections (default 30 seconds). */
  readonly startTimeout?: Duration.Input
  /** How long a fast shutdown may take before escalating to SIGQUIT, then SIGKILL (default 10 seconds). */
  readonly stopTimeout?: Duration.Input
}

const versions: ReadonlyArray<number> = [14, 15, 16, 17, 18]

const invalid = (message: string) => new PgTestServerError({ reason: "InvalidOptions", message })

const millis = (input: Duration.Input | undefined, fallback: number, what: string) =>
  Effect.suspend(() => {
    if (input === undefined) return Effect.succeed(fallback)
    const decoded = Duration.fromInput(input)
    return Option.isSome(decoded) && Duration.toMillis(decoded.value) > 0
      ? Effect.succeed(Duration.toMillis(decoded.value))
      : Effect.fail(invalid(`${what} must be a positive duration`))
  })

const validate = (options: PgTestServerOptions) =>
  Effect.gen(function* () {
    if (options.version !== undefined && !versions.includes(options.version)) {
      return yield* invalid(`version must be one of ${versions.join(", ")}; got ${String(options.version)}`)
    }
    const settingsError = validateSettings(options.settings ?? {})
    if (settingsError !== undefined) return yield* invalid(settingsError)
    for (const line of options.hba ?? []) {
      if (/[\n\r]/.test(line))
        return yield* invalid(`hba lines must be single lines: ${JSON.stringify(line)}`)
    }
    if (options.runAs !== undefined && !/^[a-z_][a-z0-9_-]*$/.test(options.runAs)) {
      return yield* invalid(`runAs is not a valid user name: ${JSON.stringify(options.runAs)}`)
    }
    return {
      startTimeoutMs: yield* millis(options.startTimeout, 30_000, "startTimeout"),
      stopTimeoutMs: yield* millis(options.stopTimeout, 10_000, "stopTimeout")
    }
  })

const toLocal = (
  options: PgTestServerOptions,
  timeouts: { readonly startTimeoutMs: number; readonly stopTimeoutMs: number },
  bins: PgBinaries
): LocalServerOptions => {
  const tls = options.tls ?? true
  return {
    bins,
    runAsName: options.runAs ?? "pgtest",
    tmpRoot: options.tmpDir,
    tls: tls === false ? undefined : tls === true ? "ec" : (tls.keyType ?? "ec"),
    settings: options.settings ?? {},
    hba: options.hba ?? [],
    startTimeoutMs: timeouts.startTimeoutMs,
    stopTimeoutMs: timeouts.stopTimeoutMs
  }
}

/** Where npm packages are resolved from (tests pass a directory without them). */
export interface Lookup {
  readonly searchFrom?: ReadonlyArray<string>
}

/**
 * Validated options and local binaries: what a local cluster is made from (PgTestReplication.ts
 * uses it; never an external server or a container).
 */
export const localOptions = (
  options: PgTestServerOptions,
  lookup: Lookup = {}
): Effect.Effect<LocalServerOptions, PgTestServerError> =>
  Effect.gen(function* () {
    const timeouts = yield* validate(options)
    const bins = yield* Effect.tryPromise({
      try: () =>
        resolveBinaries({
          version: options.version,
          binDir: options.binDir,
          env: options.env ?? process.env,
          ...lookup
        }),
      catch: fromUnknown("BinariesNotFound", "looking for PostgreSQL binaries")
    })
    return toLocal(options, timeouts, bins)
  })

/** {@link start} with the npm lookup given (internal: the tests use it to hide installed packages). */
export const startWith = (
  options: PgTestServerOptions,
  lookup: Lookup
): Effect.Effect<PgTestServerInfo, PgTestServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const timeouts = yield* validate(options)
    const env: Env = options.env ?? process.env
    const backend = options.backend ?? "auto"
    const major = options.version ?? defaultMajor
    if (backend === "auto" || backend === "external") {
      const external = yield* Effect.try({
        try: () => externalFromEnv(env),
        catch: fromUnknown("InvalidOptions", `reading ${externalUrlVariable}`)
      })
      if (external !== undefined) return external as PgTestServerInfo
      if (backend === "external") {
        return yield* invalid(
          `backend "external" needs ${externalUrlVariable}=postgres://user:password@host:port/database ` +
            "(PG_URL and PGHOST are not read)"
        )
      }
    }
    if (backend === "container") return yield* startContainer(major)
    const found = yield* Effect.result(
      Effect.tryPromise({
        try: () => resolveBinaries({ version: options.version, binDir: options.binDir, env, ...lookup }),
        catch: fromUnknown("BinariesNotFound", "looking for PostgreSQL binaries")
      })
    )
    if (found._tag === "Failure") {
      const error = found.failure
      const explicit = options.binDir !== undefined || (env.PG_BIN ?? "") !== ""
      if (backend !== "auto" || explicit || !dockerEngineHint(env)) return yield* error
      return yield* startContainer(major).pipe(
        Effect.mapError(
          (containerError) =>
            new PgTestServerError({
              reason: "BinariesNotFound",
              message: `${error.message}\nA Docker engine seems present, but: ${containerError.message}`,
              tried: [...(error.tried ?? []), `testcontainers: ${containerError.message}`],
              cause: containerError
            })
        )
      )
    }
    return yield* startLocal(toLocal(options, timeouts, found.success))
  })

/**
 * Starts (or finds) a PostgreSQL server for the lifetime of the current Scope.
 *
 * @example
 * const pg = yield* PgTestServer.start({ version: 15 })
 * // connect to pg.host:pg.port as pg.user, or pg.roles.scram with pg.tls.caFile
 */
export const start: (
  options?: PgTestServerOptions
) => Effect.Effect<PgTestServerInfo, PgTestServerError, Scope.Scope> = Effect.fn("PgTestServer.start")(
  function* (options: PgTestServerOptions = {}) {
    return yield* startWith(options, {})
  }
)

/**
 * The server as a service, for `layer(PgTestServer.layer())(...)` in @effect/vitest: one server
 * shared by the tests of a block, stopped after the last one (`yield* PgTestServer.PgTestServer`).
 */
export class PgTestServer extends Context.Service<PgTestServer, PgTestServerInfo>()(
  "effect-pg/testing/PgTestServer"
) {}

/** A server for the lifetime of the Layer (see {@link start}). */
export const layer = (options?: PgTestServerOptions): Layer.Layer<PgTestServer, PgTestServerError> =>
  Layer.effect(PgTestServer, start(options))
