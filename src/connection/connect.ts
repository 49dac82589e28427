/**
 * Connecting as libpq does: resolve the configuration, then try each host in order, and for
 * each host the TLS attempts its sslmode allows (prefer: TLS then plaintext; allow: plaintext
 * then TLS), each attempt bounded by connect_timeout, until one session is up.
 *
 * An attempt is Socket.open → Codec.make → Auth.startup in a scope of its own: a failed or
 * interrupted attempt closes its socket at once, a successful one lives in the caller's scope.
 * The password is resolved (config, password Effect, then ~/.pgpass) only when the server asks.
 *
 * TLS files (root, client certificate and key, CRL) are read once per connect; `sslcertmode=require`
 * is refused, as libpq refuses it when it cannot see whether the server asked for a certificate.
 *
 * Protocol 3.2 is asked for by default; a host that answers it with a FATAL 08P01 instead of
 * NegotiateProtocolVersion (PgBouncer 1.18) is tried once more with 3.0, unless the user set
 * max_protocol_version (decision 018).
 *
 * It does NOT implement the operations (operations.ts). target_session_attrs beyond "any" is
 * checked as libpq checks it, with the server's reported in_hot_standby /
 * default_transaction_read_only (a query where they are not reported), with libpq's messages;
 * prefer-standby is a pass over every host for a standby, then a pass accepting any server.
 */
import { readFileSync } from "node:fs"
import { Cause, Duration, Effect, Exit, Redacted, Scope } from "effect"
import { Auth, type StartupInput } from "../Auth.ts"
import { Codec } from "../Codec.ts"
import type { PgConfigError } from "../config/ConfigError.ts"
import { configError } from "../config/ConfigError.ts"
import type { ConnectConfig, ConnectInput } from "../config/ConnectConfig.ts"
import { displayHost, type HostSpec, isUnixSocket, socketPath } from "../config/Hosts.ts"
import { passwordFor } from "../config/Password.ts"
import { resolve } from "../config/Resolve.ts"
import { resolvePolicy, sniName, type TlsPolicy } from "../config/Tls.ts"
import { PgConnectionError, type PgExpertError } from "../Errors.ts"
import { Engine, encodingChanged, isUtf8 } from "../engine/Engine.ts"
import { ErrorBeforeTls, PgSocket, type SocketOptions, type TlsRequest } from "../PgSocket.ts"
import { TypeCatalog, TypeCatalogRef } from "./introspect.ts"
import { type ExpertConnection, makeOperations } from "./operations.ts"
import { TypeRegistry } from "./typeRegistry.ts"
import type { ValuesOptions } from "./values.ts"

export type ConnectError = PgExpertError | PgConfigError

/** Connects with a configuration (a URL, key=value string, input record or resolved config). */
export const connect = (input: ConnectInput): Effect.Effect<ExpertConnection, ConnectError, Scope.Scope> =>
  Effect.flatMap(resolve(input), connectResolved)

export const connectResolved = (
  config: ConnectConfig
): Effect.Effect<ExpertConnection, ConnectError, Scope.Scope> =>
  Effect.gen(function* () {
    yield* checkCertMode(config)
    const policy = yield* resolvePolicy(config)
    const tlsFiles = yield* readTlsFiles(policy)
    const hosts = config.loadBalanceHosts === "random" ? shuffle(config.hosts) : config.hosts
    const wanted = config.targetSessionAttrs
    const passes: ReadonlyArray<string> = wanted === "prefer-standby" ? ["standby", "any"] : [wanted]
    const errors: Array<ConnectError> = []
    for (const pass of passes) {
      for (const host of hosts) {
        for (const use of tlsAttempts(policy, host)) {
          const result = yield* Effect.exit(
            attemptWithFallback(config, host, tlsRequest(policy, tlsFiles, config, host, use), pass)
          )
          if (Exit.isSuccess(result)) return result.value
          const error = firstError(result.cause)
          if (error === undefined) return yield* Effect.failCause(result.cause)
          errors.push(error)
          // prefer/allow retry only after the server refused the session (libpq's rule).
          if (!isRetryableForTls(error)) break
        }
      }
    }
    if (errors.length === 1) return yield* Effect.fail(errors[0]!)
    const last = errors[errors.length - 1]!
    if (last._tag === "PgConnectionError" && errors.length > 1) {
      return yield* new PgConnectionError({
        phase: last.phase,
        mayHaveReachedServer: false,
        message: errors.map((e) => e.message).join("\n"),
        cause: last.cause
      })
    }
    return yield* Effect.fail(last)
  })

type TlsUse = TlsRequest["use"]

const tlsAttempts = (policy: TlsPolicy, host: HostSpec): ReadonlyArray<TlsUse> => {
  if (!policy.attempt || isUnixSocket(host)) return ["none"]
  if (policy.required) return ["must"]
  return policy.plaintextFirst ? ["none", "must"] : ["try", "none"]
}

/** libpq's rule: a TLS failure or a refused session may be retried with the other TLS choice, except
 * after an error message in answer to SSLRequest (fatal in every mode, see ErrorBeforeTls). */
const isRetryableForTls = (error: ConnectError): boolean =>
  error._tag === "PgServerError" ||
  (error._tag === "PgAuthError" && error.reason === "server-rejected") ||
  (error._tag === "PgConnectionError" && error.phase === "tls" && !(error.cause instanceof ErrorBeforeTls))

interface TlsFiles {
  readonly ca: string | undefined
  readonly cert: string | undefined
  readonly key: string | undefined
  readonly crl: string | undefined
}

const readTlsFiles = (policy: TlsPolicy): Effect.Effect<TlsFiles, PgConfigError> =>
  Effect.try({
    try: () => ({
      ca: policy.roots?._tag === "File" ? readFileSync(policy.roots.path, "utf8") : undefined,
      cert: policy.cert === undefined ? undefined : readFileSync(policy.cert, "utf8"),
      key: policy.key === undefined ? undefined : readFileSync(policy.key, "utf8"),
      crl: policy.crl === undefined ? undefined : readFileSync(policy.crl, "utf8")
    }),
    catch: (cause) => configError("MissingFile", `could not read a TLS file: ${String(cause)}`, { cause })
  })

/**
 * libpq without an OpenSSL certificate callback refuses `sslcertmode=require`, because it cannot
 * tell whether the server asked for a certificate. Node's TLS cannot tell either, so do the same
 * rather than accept the setting and ignore it.
 */
const checkCertMode = (config: ConnectConfig): Effect.Effect<void, PgConfigError> =>
  config.sslcertmode === "require"
    ? Effect.fail(
        configError(
          "UnsupportedOption",
          'sslcertmode value "require" is not supported: effect-pg cannot tell whether the server requested a client certificate',
          { key: "sslcertmode" }
        )
      )
    : Effect.void

const tlsRequest = (
  policy: TlsPolicy,
  files: TlsFiles,
  config: ConnectConfig,
  host: HostSpec,
  use: TlsUse
): TlsRequest => ({
  use,
  negotiation: config.sslnegotiation,
  verify: policy.verifyHostname ? "full" : policy.verifyChain ? "ca" : "none",
  ca: files.ca,
  cert: files.cert,
  key: files.key,
  passphrase: config.sslpassword === undefined ? undefined : redactedValue(config.sslpassword),
  sni: sniName(config, host) !== undefined,
  crl: files.crl,
  minVersion: config.sslMinProtocolVersion,
  maxVersion: config.sslMaxProtocolVersion
})

const redactedValue = (r: Redacted.Redacted<string>): string => Redacted.value(r)

/**
 * A FATAL 08P01 in answer to a 3.2 StartupMessage: a pooler that does not negotiate (PgBouncer
 * 1.18: "bad packet header"). PostgreSQL itself answers NegotiateProtocolVersion.
 */
const refusedMinor = (error: ConnectError): boolean =>
  error._tag === "PgServerError" && error.code === "08P01"

/**
 * {@link attempt} with the protocol version of the configuration; when 3.2 was only our default
 * (`protocolFallback`) and the host refused it, once more with 3.0 (decision 018).
 */
const attemptWithFallback = (
  config: ConnectConfig,
  host: HostSpec,
  tls: TlsRequest,
  sessionAttrs: string
): Effect.Effect<ExpertConnection, ConnectError, Scope.Scope> => {
  const minor = config.maxProtocolVersion === "3.2" ? 2 : 0
  const first = attempt(config, host, tls, sessionAttrs, minor)
  if (minor === 0 || config.protocolFallback !== true) return first
  return Effect.catchIf(first, refusedMinor, () => attempt(config, host, tls, sessionAttrs, 0))
}

/** One attempt on one host with one TLS choice and protocol 3.`protocolMinor`, in its own scope. */
const attempt = (
  config: ConnectConfig,
  host: HostSpec,
  tls: TlsRequest,
  sessionAttrs: string,
  protocolMinor: number
): Effect.Effect<ExpertConnection, ConnectError, Scope.Scope> =>
  Effect.gen(function* () {
    const outer = yield* Effect.scope
    const scope = yield* Scope.fork(outer, "sequential")
    const socket = yield* PgSocket
    const codec = yield* Codec
    const auth = yield* Auth
    // The pool's catalog of user types (decision 023), or this connection's own.
    const catalog = (yield* TypeCatalogRef) ?? new TypeCatalog()
    const types: ValuesOptions = { ...(yield* TypeRegistry), catalog }
    const where = isUnixSocket(host) ? socketPath(host.host, host.port) : `${displayHost(host)}:${host.port}`
    const socketOptions: SocketOptions = {
      target: isUnixSocket(host)
        ? { _tag: "Unix", path: socketPath(host.host, host.port) }
        : {
            _tag: "Tcp",
            host: host.host === "" ? (host.hostaddr ?? "") : host.host,
            port: host.port,
            hostaddr: host.hostaddr
          },
      tls,
      keepAlive: {
        enabled: config.keepalives,
        idleMillis: config.keepalivesIdle === undefined ? undefined : config.keepalivesIdle * 1000
      }
    }
    const once = Effect.gen(function* () {
      const transport = yield* socket.open(socketOptions)
      const wire = codec.make(transport, { maxMessageSize: config.maxMessageSize })
      // The engine is the Wire's only listener from the first byte; the startup runs on it.
      const engine = new Engine(wire)
      const session = yield* auth.startup(engine, startupInput(config, host, protocolMinor))
      return { engine, session }
    }).pipe(Scope.provide(scope))
    const bounded =
      config.connectTimeout === undefined
        ? once
        : Effect.timeoutOrElse(once, {
            duration: config.connectTimeout,
            orElse: () =>
              Effect.fail(
                new PgConnectionError({
                  phase: "connect",
                  mayHaveReachedServer: false,
                  message: `connection to ${where} timed out after ${Duration.format(config.connectTimeout!)}`
                })
              )
          })
    const result = yield* Effect.exit(bounded)
    if (Exit.isFailure(result)) {
      yield* Scope.close(scope, result)
      return yield* Effect.failCause(result.cause)
    }
    const { engine, session } = result.value
    // The cancel connection goes where the session went, encrypted iff the session is (libpq).
    const cancelOptions: SocketOptions = {
      ...socketOptions,
      tls: { ...tls, use: engine.wire.tls ? "must" : "none" }
    }
    const connection = yield* makeOperations(
      engine,
      session,
      { socket, options: cancelOptions },
      { statementCacheSize: config.statementCacheSize, types, walsender: config.replication !== undefined }
    ).pipe(Scope.provide(scope))
    const mismatch = yield* checkSessionAttrs(connection, sessionAttrs)
    if (mismatch !== undefined) {
      yield* Scope.close(scope, Exit.void)
      return yield* new PgConnectionError({
        phase: "connect",
        mayHaveReachedServer: false,
        message: `server at ${where}: ${mismatch} (target_session_attrs=${sessionAttrs})`
      })
    }
    const encoding = session.parameters.get("client_encoding")
    if (encoding !== undefined && !isUtf8(encoding)) {
      // A server or pooler that did not honour the startup's client_encoding=UTF8.
      yield* Scope.close(scope, Exit.void)
      return yield* encodingChanged(encoding)
    }
    // A physical walsender takes replication commands only (no SET).
    if (config.replication !== "physical") yield* isoDateStyle(connection, session, config)
    return connection
  })

/** Whether the user set `name` (a startup parameter, PGDATESTYLE, or `-c` in `options`). */
const userSets = (config: ConnectConfig, name: string): boolean =>
  Object.keys(config.params).some((key) => key.toLowerCase() === name) ||
  config.options.toLowerCase().includes(name)

/**
 * The session settings the text decoders read (docs/types.md), sent at startup: UTF8 always.
 * DateStyle is fixed after startup (`isoDateStyle`), not here: sending "ISO" would also reset
 * the database's day/month order for date input.
 */
const pinnedSettings: Readonly<Record<string, string>> = { client_encoding: "UTF8" }

/**
 * DateStyle's output to ISO when the server's default is another style (a database or role set
 * `SQL, DMY`), keeping its day/month order for input; one SET, only then. A DateStyle the user
 * asked for is left alone: dates of text results then fail to decode (a typed error), and binary
 * results do not depend on it.
 */
const isoDateStyle = (
  connection: ExpertConnection,
  session: { readonly parameters: ReadonlyMap<string, string> },
  config: ConnectConfig
) => {
  const style = session.parameters.get("DateStyle")
  if (style === undefined || style.startsWith("ISO") || userSets(config, "datestyle")) return Effect.void
  const order = style.split(",")[1]?.trim().toUpperCase()
  const keep = order === "DMY" || order === "MDY" || order === "YMD" ? `, ${order}` : ""
  return Effect.asVoid(connection.executeSimple(`SET DateStyle = 'ISO${keep}'`))
}

const startupInput = (config: ConnectConfig, host: HostSpec, protocolMinor: number): StartupInput => {
  const parameters: Record<string, string> = {
    database: config.database,
    ...pinnedSettings,
    ...config.params
  }
  const app = config.applicationName ?? config.fallbackApplicationName
  if (app !== undefined) parameters.application_name = app
  if (config.options !== "") parameters.options = config.options
  if (config.replication !== undefined)
    parameters.replication = config.replication === "physical" ? "true" : "database"
  return {
    user: config.user,
    parameters,
    protocolMinor,
    minProtocolMinor: config.minProtocolVersion === "3.2" ? 2 : 0,
    password: Effect.map(passwordFor(config, host), (choice) => choice.password),
    channelBinding: config.channelBinding,
    requireAuth: config.requireAuth,
    gssToken: config.gssToken
  }
}

/**
 * libpq's target_session_attrs check (fe-connect.c, CONNECTION_CHECK_TARGET): from the
 * `in_hot_standby` and `default_transaction_read_only` parameters PG14+ report at startup, else
 * from a query (libpq: `SHOW transaction_read_only`, `SELECT pg_is_in_recovery()`). Returns
 * libpq's reason for rejecting the server, or undefined when it fits.
 */
const checkSessionAttrs = (
  connection: ExpertConnection,
  wanted: string
): Effect.Effect<string | undefined, PgExpertError> =>
  Effect.gen(function* () {
    if (wanted === "any") return undefined
    let hotStandby = yield* connection.parameter("in_hot_standby")
    let readOnly = yield* connection.parameter("default_transaction_read_only")
    if (hotStandby === undefined || readOnly === undefined) {
      const r = yield* connection.query(
        "select case when pg_is_in_recovery() then 'on' else 'off' end, current_setting('transaction_read_only')",
        [],
        { rowMode: "array" }
      )
      // Text columns: strings in both result modes (TypeRegistry).
      hotStandby = String(r.rows[0]?.[0] ?? "off")
      readOnly = String(r.rows[0]?.[1] ?? "off")
    }
    return sessionAttrsMismatch(wanted, hotStandby === "on", readOnly === "on")
  })

/** Why a server with these properties does not fit `wanted` (libpq's messages), or undefined. */
export const sessionAttrsMismatch = (
  wanted: string,
  standby: boolean,
  defaultReadOnly: boolean
): string | undefined => {
  // libpq: a server is read-only when it is in hot standby or its sessions default to read-only.
  const readOnly = standby || defaultReadOnly
  switch (wanted) {
    case "read-write":
      return readOnly ? "session is read-only" : undefined
    case "read-only":
      return readOnly ? undefined : "session is not read-only"
    case "primary":
      return standby ? "server is in hot standby mode" : undefined
    case "standby":
    case "prefer-standby":
      return standby ? undefined : "server is not in hot standby mode"
    default:
      return undefined
  }
}

const firstError = <E>(cause: Cause.Cause<E>): E | undefined => {
  for (const reason of cause.reasons) if (Cause.isFailReason(reason)) return reason.error
  return undefined
}

const shuffle = <A>(items: ReadonlyArray<A>): ReadonlyArray<A> => {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}
