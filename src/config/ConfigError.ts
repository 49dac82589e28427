/**
 * `PgConfigError`: the one error of the configuration layer (connection strings, environment,
 * `~/.pgpass`, TLS files, password sources).
 *
 * What it does: names what was wrong (`reason`), which libpq keyword it concerns (`key`), where the
 * offending value came from (`origin`), and says so in a readable `message` modelled on libpq's.
 *
 * What it does NOT do: carry a configuration or any value of a secret keyword. Messages are built by
 * the parsers, which never quote the value of `password`, `sslpassword` or the other secret keywords,
 * nor a token that follows one (an unquoted `password=my secret` must not echo `secret`), nor a whole
 * URL (its userinfo may hold a password).
 *
 * Invariants: `unknown` values (a failed password Effect, a file-system error) travel only in `cause`,
 * typed as a defect; `message` is never empty.
 */
import { Schema } from "effect"

/**
 * Why the configuration was rejected.
 * - `InvalidSyntax`: a connection string (URL or `key=value`) that libpq would not parse.
 * - `UnknownOption`: a keyword libpq does not know (libpq: `invalid connection option`).
 * - `UnsupportedOption`: a libpq keyword (or value) that effect-pg does not implement.
 * - `InvalidValue`: a value libpq would reject (enum, integer, port range, network address).
 * - `Mismatch`: host, hostaddr and port lists of different lengths.
 * - `Conflict`: options that libpq refuses together (e.g. `sslrootcert=system` with `sslmode=require`).
 * - `MissingUser`: no user given and the OS user name cannot be found.
 * - `MissingFile`: a file the TLS settings require does not exist, or a service file cannot be read.
 * - `PasswordSource`: the password Effect failed.
 */
export const PgConfigErrorReason = Schema.Literals([
  "InvalidSyntax",
  "UnknownOption",
  "UnsupportedOption",
  "InvalidValue",
  "Mismatch",
  "Conflict",
  "MissingUser",
  "MissingFile",
  "PasswordSource"
])
export type PgConfigErrorReason = typeof PgConfigErrorReason.Type

/** The configuration was rejected; see {@link PgConfigErrorReason}. Never holds a password. */
export class PgConfigError extends Schema.TaggedError<PgConfigError>()("PgConfigError", {
  reason: PgConfigErrorReason,
  /** The libpq keyword concerned (`sslmode`, `host`, ...), when there is one. */
  key: Schema.optional(Schema.String),
  /** Where the offending value came from: `explicit`, `connection string`, `PGSSLMODE`, `config`, ... */
  origin: Schema.optional(Schema.String),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** Builds a `PgConfigError`, appending the origin to the message when it is known. */
export const configError = (
  reason: PgConfigErrorReason,
  message: string,
  options?: {
    readonly key?: string | undefined
    readonly origin?: string | undefined
    readonly cause?: unknown
  }
): PgConfigError => {
  const origin = options?.origin
  return new PgConfigError({
    reason,
    message: origin === undefined ? message : `${message} (from ${origin})`,
    ...(options?.key === undefined ? {} : { key: options.key }),
    ...(origin === undefined ? {} : { origin }),
    ...(options?.cause === undefined ? {} : { cause: options.cause })
  })
}
