/**
 * Servers this module does not start itself: one named by `EFFECT_PG_TEST_URL`, or a
 * testcontainers container.
 *
 * Does: reads `EFFECT_PG_TEST_URL` (a `postgres://` / `postgresql://` URL) into connection
 * settings; detects a Docker engine with file-system checks only (DOCKER_HOST, or a docker.sock at
 * the usual places: microseconds, no network); starts `@testcontainers/postgresql` when the user installed it, by a
 * dynamic import inside try/catch (testcontainers 12.1+ throws at import time on Node 20).
 * Does NOT: install testcontainers, connect to the external server, or create roles/TLS there; read
 * PG_URL, DATABASE_URL or any libpq variable (PGHOST, PGPORT, PGUSER...): using an existing server
 * is always an explicit opt-in.
 * Invariants: absent URL parts follow libpq's defaults (host localhost, port 5432, user
 * "postgres", database = user).
 */
import { statSync } from "node:fs"
import { Effect, type Scope } from "effect"
import { fromUnknown, PgTestServerError } from "./PgTestServerError.ts"
import type { PgTestRemoteServer } from "./ServerInfo.ts"

export type Env = Readonly<Record<string, string | undefined>>

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value === "" ? undefined : value

const EMPTY_HOST = "empty-host.invalid"

/**
 * WHATWG URL rejects an empty host after user info ("postgres://u@/db?host=/sock"), which libpq
 * accepts: parse such URLs with a placeholder host that is read back as "no host".
 */
const parseUrl = (raw: string): URL => {
  try {
    return new URL(raw)
  } catch (error) {
    const patched = raw.replace(/^(postgres(?:ql)?:\/\/(?:[^@/?#]*@)?)(?=[:/?#]|$)/, `$1${EMPTY_HOST}`)
    if (patched === raw) throw error
    return new URL(patched)
  }
}

const parsePort = (raw: string, what: string): number => {
  const port = Number(raw)
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    throw new PgTestServerError({
      reason: "InvalidOptions",
      message: `${what}: invalid port ${JSON.stringify(raw)}`
    })
  }
  return port
}

/**
 * The variable that names an existing server to use instead of a throwaway one. Its own name, so
 * that an ordinary libpq setting (PGHOST, PG_URL, DATABASE_URL...) in a developer's shell never
 * sends destructive tests to that server.
 */
export const externalUrlVariable = "EFFECT_PG_TEST_URL"

/**
 * The external server named by `EFFECT_PG_TEST_URL`, or undefined when it is unset or empty. The
 * URL is the whole description: gaps follow libpq's defaults, never the PG* variables.
 * Throws PgTestServerError("InvalidOptions") for a malformed URL or port.
 */
export const externalFromEnv = (env: Env): PgTestRemoteServer | undefined => {
  const rawUrl = nonEmpty(env[externalUrlVariable])
  if (rawUrl === undefined) return undefined
  let parsed: URL
  try {
    parsed = parseUrl(rawUrl)
  } catch (cause) {
    throw new PgTestServerError({
      reason: "InvalidOptions",
      message: `${externalUrlVariable} is not a valid URL`,
      cause
    })
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new PgTestServerError({
      reason: "InvalidOptions",
      message: `${externalUrlVariable} must start with postgres:// or postgresql://, got ${parsed.protocol}//`
    })
  }
  const queryHost = nonEmpty(parsed.searchParams.get("host") ?? undefined)
  const urlHost = parsed.hostname === EMPTY_HOST ? "" : parsed.hostname.replace(/^\[(.*)\]$/, "$1")
  const host = queryHost ?? (urlHost === "" ? "localhost" : decodeURIComponent(urlHost))
  const port = parsed.port === "" ? 5432 : parsePort(parsed.port, externalUrlVariable)
  const user = parsed.username === "" ? "postgres" : decodeURIComponent(parsed.username)
  const password = parsed.password === "" ? undefined : decodeURIComponent(parsed.password)
  const database = nonEmpty(decodeURIComponent(parsed.pathname.replace(/^\//, ""))) ?? user
  const sslMode = nonEmpty(parsed.searchParams.get("sslmode") ?? undefined)
  return {
    source: "external",
    host,
    port,
    database,
    user,
    ...(password === undefined ? {} : { password }),
    url: rawUrl,
    ...(host.startsWith("/") ? { socketDir: host } : {}),
    ...(sslMode === undefined ? {} : { sslMode })
  }
}

const isSocket = (path: string): boolean => {
  try {
    return statSync(path).isSocket()
  } catch {
    return false
  }
}

/**
 * Whether a Docker engine may be reachable, by file-system checks only: DOCKER_HOST is set, or a
 * docker.sock exists at /var/run, $XDG_RUNTIME_DIR or ~/.docker/run.
 */
export const dockerEngineHint = (env: Env): boolean => {
  if (nonEmpty(env.DOCKER_HOST) !== undefined) return true
  const candidates = ["/var/run/docker.sock"]
  if (nonEmpty(env.XDG_RUNTIME_DIR) !== undefined) candidates.push(`${env.XDG_RUNTIME_DIR}/docker.sock`)
  if (nonEmpty(env.HOME) !== undefined) candidates.push(`${env.HOME}/.docker/run/docker.sock`)
  return candidates.some(isSocket)
}

interface StartedContainer {
  getHost(): string
  getPort(): number
  getDatabase(): string
  getUsername(): string
  getPassword(): string
  getConnectionUri(): string
  stop(): Promise<unknown>
}

const hasMethods = (value: unknown, names: ReadonlyArray<string>): boolean =>
  typeof value === "object" &&
  value !== null &&
  names.every((name) => typeof (value as Record<string, unknown>)[name] === "function")

// A variable, so TypeScript and bundlers do not try to resolve an optional, uninstalled package.
const containerModule = "@testcontainers/postgresql"

/**
 * Starts `postgres:<major>-alpine` with @testcontainers/postgresql, stopped when the Scope closes.
 * Fails with reason "Container" when the package is missing, cannot be imported, or no container
 * runtime answers.
 */
export const startContainer = (
  major: number
): Effect.Effect<PgTestRemoteServer, PgTestServerError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        let module: { readonly PostgreSqlContainer?: unknown }
        try {
          module = (await import(containerModule)) as { readonly PostgreSqlContainer?: unknown }
        } catch (cause) {
          throw new PgTestServerError({
            reason: "Container",
            message:
              `${containerModule} could not be imported (${cause instanceof Error ? cause.message : String(cause)}); ` +
              "install it (testcontainers 12.0.x on Node 20, where 12.1+ fails at import) or use local binaries",
            cause
          })
        }
        const Container = module.PostgreSqlContainer
        if (typeof Container !== "function")
          throw new Error(`${containerModule} has no PostgreSqlContainer export`)
        const container: unknown = new (Container as new (image: string) => unknown)(
          `postgres:${major}-alpine`
        )
        if (!hasMethods(container, ["start"])) throw new Error("PostgreSqlContainer has no start()")
        const started: unknown = await (container as { start(): Promise<unknown> }).start()
        const needed = [
          "getHost",
          "getPort",
          "getDatabase",
          "getUsername",
          "getPassword",
          "getConnectionUri",
          "stop"
        ]
        if (!hasMethods(started, needed)) throw new Error("unexpected StartedPostgreSqlContainer shape")
        return started as StartedContainer
      },
      catch: fromUnknown("Container", `starting postgres:${major}-alpine with testcontainers`)
    }),
    (started) => Effect.promise(() => started.stop().then(undefined, () => undefined))
  ).pipe(
    Effect.map(
      (started): PgTestRemoteServer => ({
        source: "container",
        version: major,
        host: started.getHost(),
        port: started.getPort(),
        database: started.getDatabase(),
        user: started.getUsername(),
        password: started.getPassword(),
        url: started.getConnectionUri()
      })
    )
  )
