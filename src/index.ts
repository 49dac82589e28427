/**
 * effect-pg: a PostgreSQL client for Effect 4 that speaks the wire protocol itself.
 *
 * The public surface: the normal API (`Connection`), the Expert API (`Expert`), the errors, the
 * result types, the configuration (`PgConfig`, parsing of URLs / key=value / PG* / ~/.pgpass),
 * the replaceable services (`PgSocket`, `Codec`, `Auth`, `TypeRegistry`), the value codecs
 * (`Types`: docs/types.md), quoting (`Quote`) and the SQLSTATE
 * constants. The pure wire codec is `Protocol`; the command contract and the built-in commands,
 * for custom commands run with `connection.run`, are `Command`. Replication connections and their
 * acknowledged change streams are `Replication`. `Rows` decodes result rows with an Effect
 * Schema and `PgSchema` has Schemas for the value types (docs/types.md "Schema"). `Pool` and the
 * `SessionStore` sit on top. Test servers live in `effect-pg/testing`; the effect/sql driver is
 * `effect-pg/sql`.
 *
 * Naming (decision 012, Effect's own packages are the model): every module is a namespace named
 * after its service, which it holds under the same name (`Connection.Connection`,
 * `Pool.Pool`, `PgConfig.PgConfig`, `PgSocket.PgSocket`), with its constructors as functions
 * (`Connection.layer`, `Pool.layerConfig`, `PgConfig.layer`). The Expert variants carry the prefix
 * (`Expert.ExpertConnection`, `Pool.ExpertPool`). Errors and result types are flat.
 */

export * as Auth from "./Auth.ts"
export * as Codec from "./Codec.ts"
export * as Connection from "./Connection.ts"
export * as Command from "./commands/index.ts"
export type { ConnectConfig, ConnectConfigInput, ConnectInput } from "./config/ConnectConfig.ts"
export * as PgConfig from "./config/index.ts"
export * as TypeRegistry from "./connection/typeRegistry.ts"
export * from "./Errors.ts"
export * as Expert from "./Expert.ts"
export * as PgSchema from "./PgSchema.ts"
export * as PgSocket from "./PgSocket.ts"
export * as Pool from "./Pool.ts"
export * as Protocol from "./protocol/index.ts"
export * as Quote from "./Quote.ts"
export * as Replication from "./Replication.ts"
export * from "./Result.ts"
export * as Rows from "./Rows.ts"
export * as SessionStore from "./SessionStore.ts"
export * as Sqlstate from "./Sqlstate.ts"
export { PgNoRowsError, PgRowDecodeError, PgTooManyRowsError } from "./schema/errors.ts"
export * as Types from "./types/index.ts"
