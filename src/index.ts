/**
 * effect-pg: a PostgreSQL client for Effect 4 that speaks the wire protocol itself.
 *
 * The public surface: the normal API (`Connection`), the Expert API (`Expert`), the errors, the
 * result types, the configuration (`PgConfig`, parsing of URLs / key=value / PG* / ~/.pgpass),
 * the replaceable services (`PgSocket`, `Codec`, `Auth`) and the SQLSTATE constants. The pure
 * wire codec is `Protocol`. `Pool`/`ExpertPool` (with `PgPool` for the rest of that module) and the
 * `SessionStore` sit on top. Test servers live in `effect-pg/testing`.
 */

export { Auth, type AuthService, type Session, type StartupInput } from "./Auth.ts"
export { Codec, type CodecService, type Wire } from "./Codec.ts"
export * as Connection from "./Connection.ts"
export type { ConnectConfig, ConnectConfigInput, ConnectInput } from "./config/ConnectConfig.ts"
export * as Config from "./config/index.ts"
export { PgConfig } from "./config/Layer.ts"
export * from "./Errors.ts"
export * as Expert from "./Expert.ts"
export { PgSocket, type PgSocketService, type SocketOptions, type Transport } from "./PgSocket.ts"
export * as PgPool from "./Pool.ts"
export { ExpertPool, Pool } from "./Pool.ts"
export * as Protocol from "./protocol/index.ts"
export * as Quote from "./Quote.ts"
export * from "./Result.ts"
export * as Sessions from "./SessionStore.ts"
export { SessionStore } from "./SessionStore.ts"
export * as Sqlstate from "./Sqlstate.ts"
