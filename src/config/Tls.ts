/**
 * The TLS policy of a connection, derived from a `ConnectConfig` as libpq's `initialize_SSL` derives
 * it, with the files checked at connect time.
 *
 * What it does: `disable` never encrypts; `allow` and `prefer` may fall back to plaintext; `require`
 * and stronger must encrypt. The server certificate chain is verified for `verify-ca` and
 * `verify-full`, and also for `allow`/`prefer`/`require` whenever the root certificate file exists
 * (libpq's backward-compatibility rule: with a root CA file, `require` behaves like `verify-ca`). The
 * host name is verified only for `verify-full`. `sslrootcert=system` uses the system's trusted roots.
 * A missing root file with `verify-*` is an error, as is a client certificate without its key. The
 * client certificate is sent only if its file exists and `sslcertmode` is not `disable`. TLS never
 * applies to a Unix socket (`tlsAppliesTo`), as in libpq.
 *
 * What it does NOT do: read the certificate files' contents or talk TLS (the socket layer does), or
 * check `sslcertmode=require` (it needs the handshake: the server must have asked for a certificate).
 *
 * Invariants: `policyFor` is pure given `exists`; a policy with `verifyHostname` also has `verifyChain`.
 */
import { existsSync } from "node:fs"
import { isIP } from "node:net"
import { Effect, Result } from "effect"
import { configError, type PgConfigError } from "./ConfigError.ts"
import type { ConnectConfig } from "./ConnectConfig.ts"
import { type HostSpec, isUnixSocket } from "./Hosts.ts"

/** Where the trusted roots come from. */
export type TrustedRoots = { readonly _tag: "File"; readonly path: string } | { readonly _tag: "System" }

/** What the socket layer must do about TLS. */
export interface TlsPolicy {
  /** `false`: plaintext only (`disable`). */
  readonly attempt: boolean
  /** `true`: a failed or refused TLS must fail the connection (`require`, `verify-*`). */
  readonly required: boolean
  /** `true`: plaintext is tried first, TLS only if the server insists (`allow`). */
  readonly plaintextFirst: boolean
  /** Whether the server's certificate chain is verified against `roots`. */
  readonly verifyChain: boolean
  /** Whether the server's certificate must name the host (`verify-full`). */
  readonly verifyHostname: boolean
  readonly roots: TrustedRoots | undefined
  readonly cert: string | undefined
  readonly key: string | undefined
  readonly crl: string | undefined
}

/** Derives the TLS policy; `exists` tells whether a file exists. */
export const policyFor = (
  config: ConnectConfig,
  exists: (path: string) => boolean
): Result.Result<TlsPolicy, PgConfigError> => {
  const mode = config.sslmode
  const verifyMode = mode === "verify-ca" || mode === "verify-full"
  let roots: TrustedRoots | undefined
  if (config.sslrootcert === "system") roots = { _tag: "System" }
  else if (config.sslrootcert !== undefined && exists(config.sslrootcert))
    roots = { _tag: "File", path: config.sslrootcert }
  if (mode !== "disable" && verifyMode && roots === undefined) {
    const message =
      config.sslrootcert === undefined
        ? "could not get home directory to locate root certificate file"
        : `root certificate file "${config.sslrootcert}" does not exist`
    return Result.fail(
      configError(
        "MissingFile",
        `${message}; either provide the file, use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification`,
        { key: "sslrootcert" }
      )
    )
  }
  const cert =
    config.sslcertmode !== "disable" && config.sslcert !== undefined && exists(config.sslcert)
      ? config.sslcert
      : undefined
  if (cert !== undefined && (config.sslkey === undefined || !exists(config.sslkey))) {
    return Result.fail(
      configError("MissingFile", `certificate present, but not private key file "${config.sslkey ?? ""}"`, {
        key: "sslkey"
      })
    )
  }
  return Result.succeed({
    attempt: mode !== "disable",
    required: mode === "require" || verifyMode,
    plaintextFirst: mode === "allow",
    verifyChain: mode !== "disable" && roots !== undefined,
    verifyHostname: mode === "verify-full",
    roots: mode === "disable" ? undefined : roots,
    cert,
    key: cert === undefined ? undefined : config.sslkey,
    crl: config.sslcrl !== undefined && exists(config.sslcrl) ? config.sslcrl : undefined
  })
}

/** {@link policyFor} with the real file system. */
export const resolvePolicy = (config: ConnectConfig): Effect.Effect<TlsPolicy, PgConfigError> =>
  Effect.suspend(() => Effect.fromResult(policyFor(config, existsSync)))

/** Whether TLS applies to this host at all: libpq never uses TLS over a Unix socket, whatever sslmode says. */
export const tlsAppliesTo = (host: HostSpec): boolean => !isUnixSocket(host)

/**
 * The name sent in the TLS SNI extension: the host name when `sslsni` is on and the host is a name
 * (libpq sends none for IP literals and Unix sockets).
 */
export const sniName = (config: ConnectConfig, host: HostSpec): string | undefined => {
  if (!config.sslsni || host.host === "" || isUnixSocket(host) || isIP(host.host) !== 0) return undefined
  return host.host
}

/**
 * The name `verify-full` checks the server certificate against: the host (a name or an IP literal,
 * even when `hostaddr` is what is dialled). `undefined` when only `hostaddr` was given, which libpq
 * refuses for `verify-full` ("host name must be specified for a verified SSL connection").
 */
export const verifyName = (host: HostSpec): string | undefined => (host.host === "" ? undefined : host.host)
