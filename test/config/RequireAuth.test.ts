/**
 * require_auth (libpq 16+ syntax). Accepted/refused values and the error texts marked "libpq" were
 * checked against libpq 18 on this machine (PQconnectStart with `require_auth=...`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { anyAuth, parseRequireAuth, type RequireAuth } from "../../src/config/index.ts"

const parse = (value: string): RequireAuth | string => {
  const result = parseRequireAuth({ value, origin: "test" })
  return Result.isSuccess(result) ? result.success : result.failure.message.replace(" (from test)", "")
}

describe("require_auth", () => {
  const accepted: ReadonlyArray<readonly [string, RequireAuth]> = [
    ["", anyAuth], // libpq: empty = no restriction
    ["password", { allowed: ["password"], allowNone: false }],
    ["password,md5", { allowed: ["password", "md5"], allowNone: false }], // libpq
    ["scram-sha-256,none", { allowed: ["scram-sha-256"], allowNone: true }],
    ["none", { allowed: [], allowNone: true }],
    ["gss,sspi", { allowed: ["gss", "sspi"], allowNone: false }], // libpq
    ["oauth", { allowed: ["oauth"], allowNone: false }], // libpq 18
    ["!password", { allowed: ["md5", "gss", "sspi", "scram-sha-256", "oauth"], allowNone: true }],
    ["!password,!md5", { allowed: ["gss", "sspi", "scram-sha-256", "oauth"], allowNone: true }],
    ["!none", { allowed: ["password", "md5", "gss", "sspi", "scram-sha-256", "oauth"], allowNone: false }], // libpq
    ["!none,!md5", { allowed: ["password", "gss", "sspi", "scram-sha-256", "oauth"], allowNone: false }]
  ]
  for (const [value, expected] of accepted)
    it(`accepts ${JSON.stringify(value)}`, () => assert.deepStrictEqual(parse(value), expected))

  const refused: ReadonlyArray<readonly [string, string]> = [
    // libpq, all of them
    ["!password,md5", 'require_auth method "md5" cannot be mixed with negative methods'],
    ["password,!md5", 'negative require_auth method "!md5" cannot be mixed with non-negative methods'],
    ["bogus", 'invalid require_auth value: "bogus"'],
    ["SCRAM-SHA-256", 'invalid require_auth value: "SCRAM-SHA-256"'],
    ["password, md5", 'invalid require_auth value: " md5"'],
    [",", 'invalid require_auth value: ""'],
    ["!", 'invalid require_auth value: ""'],
    ["md5,md5", 'require_auth method "md5" is specified more than once'],
    ["none,none", 'require_auth method "none" is specified more than once'],
    ["!none,!none", 'require_auth method "!none" is specified more than once'],
    ["!md5,!md5", 'require_auth method "!md5" is specified more than once']
  ]
  for (const [value, message] of refused)
    it(`refuses ${JSON.stringify(value)}`, () => assert.strictEqual(parse(value), message))
})
