/**
 * The types of a connection's operations, their options and results, as the public modules
 * (Connection.ts, Expert.ts) re-export them: one list, so the two views name the same types.
 *
 * It does NOT hold values.
 */
export type { ConnectionApi, Param, Pipeline, QueryOptions } from "./api.ts"
export type { CursorOptions } from "./cursor.ts"
export type { PipelineMode, PipelineOptions, PipelineOutcome, PipelineQuery } from "./pipeline.ts"
export type { PreparedStatement, PrepareOptions, StatementDescription } from "./prepared.ts"
export type { OperationOptions } from "./timed.ts"
