/**
 * `CliError`: a failure of the CLI itself rather than of PostgreSQL — a file that cannot be read
 * or written, a psql meta-command in the input, no SQL to run. Its message is printed after
 * "effect-pg: " and the exit status is 1. Does NOT cover usage errors (args.ts, exit status 2)
 * or PgError, which the CLI prints as the library formats it.
 */
import { Data } from "effect"

export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

/** `cause` as a line of text. */
export const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))
