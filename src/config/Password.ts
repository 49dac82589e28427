/**
 * The password for one connection attempt, as libpq chooses it: the given password, else the
 * password file. The connection calls `passwordFor` at connect time, once per host it tries.
 *
 * What it does: a `Redacted` password is used as is; an Effect password is run (a fresh token per
 * connect) and its failure becomes a `PgConfigError` (`PasswordSource`) with the failure as `cause`;
 * an empty password counts as none (libpq); with no password, the password file of the config is
 * looked up for this host, port, database and user (PgPass.ts).
 *
 * What it does NOT do: log the password file warnings (the result carries `Insecure` / `NotAFile`
 * for the caller to report), or retry the password Effect.
 *
 * Invariants: the password only ever travels as a `Redacted`.
 */
import { Effect, Redacted } from "effect"
import { configError, type PgConfigError } from "./ConfigError.ts"
import type { ConnectConfig } from "./ConnectConfig.ts"
import { defaultSocketDir, type HostSpec } from "./Hosts.ts"
import { keyFor, lookup, type PgPassResult } from "./PgPass.ts"

/** The password chosen for one host, and where it came from. */
export interface PasswordChoice {
  readonly password: Redacted.Redacted<string> | undefined
  readonly source: "config" | "effect" | "passfile" | "none"
  /** The password-file lookup, when one was made (carries the warnings of a skipped file). */
  readonly passfile: PgPassResult | undefined
}

/** Options of {@link passwordFor}. */
export interface PasswordForOptions {
  /** The default Unix-socket directory, looked up in the password file as `localhost`. */
  readonly defaultSocketDir?: string | undefined
}

/** Chooses the password for connecting to `host` with `config`. */
export const passwordFor = (
  config: ConnectConfig,
  host: HostSpec,
  options?: PasswordForOptions
): Effect.Effect<PasswordChoice, PgConfigError> =>
  Effect.gen(function* () {
    const given = config.password
    if (given !== undefined) {
      if (Redacted.isRedacted(given)) {
        if (Redacted.value(given) !== "") return { password: given, source: "config", passfile: undefined }
      } else {
        const fresh = yield* Effect.mapError(given, (cause) =>
          configError("PasswordSource", "the password Effect failed", { key: "password", cause })
        )
        if (Redacted.value(fresh) !== "") return { password: fresh, source: "effect", passfile: undefined }
      }
    }
    if (config.passfile === undefined) return { password: undefined, source: "none", passfile: undefined }
    const dir = options?.defaultSocketDir ?? defaultSocketDir()
    const result = yield* lookup(config.passfile, keyFor(host, config.database, config.user, dir))
    return result._tag === "Found" && Redacted.value(result.password) !== ""
      ? { password: result.password, source: "passfile", passfile: result }
      : { password: undefined, source: "none", passfile: result }
  })
