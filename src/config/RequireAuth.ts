/**
 * libpq's `require_auth` (libpq 16+): which authentication requests the client accepts from the server.
 *
 * What it does: parses the comma-separated list of `password`, `md5`, `gss`, `sspi`, `scram-sha-256`,
 * `oauth` (libpq 18) and `none`, each optionally negated with `!`, into a `RequireAuth`: the methods
 * allowed and whether the server may skip authentication (trust, cert). A plain list allows only the
 * listed methods and requires authentication unless `none` is listed; a negated list allows every
 * method but the listed ones and allows no authentication unless `!none` is listed. Errors are
 * libpq's: mixing negated and plain methods, a method given twice, an unknown method (case-sensitive,
 * no trimming: `password, md5` names the method " md5"). An empty value means "no restriction".
 *
 * What it does NOT do: enforce the policy (Auth does, when the server names its method).
 *
 * Invariants: `allowed` lists each method once, in {@link authMethods} order.
 */
import { Result } from "effect"
import { configError, type PgConfigError } from "./ConfigError.ts"
import type { Sourced } from "./Env.ts"

/** The authentication methods `require_auth` can name (besides `none`). */
export const authMethods = ["password", "md5", "gss", "sspi", "scram-sha-256", "oauth"] as const
export type AuthMethod = (typeof authMethods)[number]

/** The parsed `require_auth` policy. */
export interface RequireAuth {
  /** The methods the server may ask for. */
  readonly allowed: ReadonlyArray<AuthMethod>
  /** Whether the server may let us in without asking for any credential (trust, cert). */
  readonly allowNone: boolean
}

/** libpq's default: any method, or none. */
export const anyAuth: RequireAuth = { allowed: authMethods, allowNone: true }

const isMethod = (s: string): s is AuthMethod => (authMethods as ReadonlyArray<string>).includes(s)

/** Parses a `require_auth` value. */
export const parseRequireAuth = (source: Sourced): Result.Result<RequireAuth, PgConfigError> => {
  const fail = (message: string) =>
    Result.fail(configError("InvalidValue", message, { key: "require_auth", origin: source.origin }))
  if (source.value === "") return Result.succeed(anyAuth)
  const parts = source.value.split(",")
  const negated = parts[0]!.startsWith("!")
  const allowed = new Set<AuthMethod>(negated ? authMethods : [])
  let allowNone = negated
  for (const part of parts) {
    const isNegated = part.startsWith("!")
    if (isNegated && !negated) {
      return fail(`negative require_auth method "${part}" cannot be mixed with non-negative methods`)
    }
    if (!isNegated && negated) {
      return fail(`require_auth method "${part}" cannot be mixed with negative methods`)
    }
    const method = isNegated ? part.slice(1) : part
    const duplicate = () => fail(`require_auth method "${part}" is specified more than once`)
    if (method === "none") {
      // "none" flips the default of the list: plain lists require auth, negated lists do not.
      if (allowNone !== negated) return duplicate()
      allowNone = !negated
      continue
    }
    if (!isMethod(method)) return fail(`invalid require_auth value: "${method}"`)
    if (negated) {
      if (!allowed.has(method)) return duplicate()
      allowed.delete(method)
    } else {
      if (allowed.has(method)) return duplicate()
      allowed.add(method)
    }
  }
  return Result.succeed({ allowed: authMethods.filter((m) => allowed.has(m)), allowNone })
}
