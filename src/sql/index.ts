/**
 * `effect-pg/sql`: effect-pg as a driver for effect's sql module (SqlClient, Statement,
 * SqlResolver, SqlSchema, SqlModel, Migrator). See docs/sql-client.md and decision 026.
 */

export { classify, pgErrorOf, toSqlError } from "./errors.ts"
export * as PgClient from "./PgClient.ts"
export * as PgMigrator from "./PgMigrator.ts"
