/**
 * The connection configuration of effect-pg: one `ConnectConfig` read from explicit fields, libpq
 * connection strings (`postgresql://` URLs and `key=value`), the PG* environment, `~/.pgpass` and the
 * Effect ConfigProvider, with libpq's precedence, defaults and errors. See docs/config.md.
 *
 * What it does: re-exports the public surface of `src/config/*`.
 *
 * What it does NOT do: connect; the Connection layer reads a `ConnectConfig` (via `PgConfig` or
 * `resolve`) and calls `passwordFor` and `resolvePolicy` at connect time.
 *
 * Invariants: nothing exported here puts a password in an error, a log line, `inspect` or JSON.
 */
export { configError, PgConfigError, PgConfigErrorReason } from "./ConfigError.ts"
export {
  type ChannelBinding,
  type ConnectConfig,
  type ConnectConfigInput,
  type ConnectInput,
  channelBindings,
  defaultMaxMessageSize,
  type GssEncMode,
  gssEncModes,
  isConnectConfig,
  type ListInput,
  type LoadBalanceHosts,
  loadBalanceHostsValues,
  type PasswordSource,
  type SslCertMode,
  type SslMode,
  type SslNegotiation,
  sslCertModes,
  sslModes,
  sslNegotiations,
  type TargetSessionAttrs,
  targetSessionAttrsValues
} from "./ConnectConfig.ts"
export { type EnvOptions, type EnvRecord, fromEnv, type Sourced } from "./Env.ts"
export {
  buildHosts,
  defaultPort,
  defaultSocketDir,
  displayHost,
  type HostSpec,
  isUnixSocket,
  isUnixSocketPath,
  socketPath
} from "./Hosts.ts"
export { parseKeyValue } from "./KeyValue.ts"
export { findKeyword, type Keyword, type KeywordStatus, keywords, type RawOptions } from "./Keywords.ts"
export { type ConnectConfigOptions, connectConfig, layer, layerConfig, PgConfig } from "./Layer.ts"
export { type PasswordChoice, type PasswordForOptions, passwordFor } from "./Password.ts"
export { findPassword, keyFor, lookup as lookupPgPass, type PgPassKey, type PgPassResult } from "./PgPass.ts"
export { type AuthMethod, anyAuth, authMethods, parseRequireAuth, type RequireAuth } from "./RequireAuth.ts"
export { type ResolveContext, type ResolveOptions, resolve, resolveWith, systemContext } from "./Resolve.ts"
export { parseConnectionString } from "./Sources.ts"
export {
  policyFor,
  resolvePolicy,
  sniName,
  type TlsPolicy,
  type TrustedRoots,
  tlsAppliesTo,
  verifyName
} from "./Tls.ts"
export { isConnectionUri, parseUri, percentDecode } from "./Url.ts"
export {
  latestProtocolVersion,
  type ProtocolVersion,
  parseIntParam,
  type TlsVersion,
  tlsVersions
} from "./Values.ts"
