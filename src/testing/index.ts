/**
 * `effect-pg/testing`: throwaway PostgreSQL servers for test suites.
 *
 * Does: re-export the public surface: `PgTestServer` (service, `start`, `layer`), `makeProxy`, the
 * error and the info/option types. See docs/testing.md for usage and measured start-up times.
 * Does NOT: export the internals (binary lookup, process control, config rendering).
 * Invariants: everything exported here is stable public API of the `effect-pg/testing` entry point.
 */
export type { PgMajorVersion } from "./Binaries.ts"
export type { SettingValue } from "./ClusterConfig.ts"
export { PgTestServer, type PgTestServerOptions, start } from "./PgTestServer.ts"
export { PgTestServerError, PgTestServerErrorReason } from "./PgTestServerError.ts"
export { makeProxy, type PgTestProxy, type PgTestProxyStats } from "./Proxy.ts"
export type {
  PgTestLocalServer,
  PgTestRemoteServer,
  PgTestRestartMode,
  PgTestRole,
  PgTestRoles,
  PgTestServerInfo,
  PgTestTls
} from "./ServerInfo.ts"
export type { TlsKeyType } from "./Tls.ts"
