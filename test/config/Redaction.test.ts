/**
 * Passwords never appear in a configuration's or an error's `inspect`, JSON, `String`, message or
 * stack, whichever source they came from and whichever error is raised next to them.
 */
import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Redacted, Result } from "effect"
import {
  type ConnectConfig,
  type ConnectInput,
  connectConfig,
  type EnvRecord,
  findPassword,
  passwordFor,
  resolveWith
} from "../../src/config/index.ts"

const SECRET = "Zq9-v3ry-D1st1nct1v3"

const context = (env: EnvRecord = {}) => ({
  env,
  osUser: () => "alice",
  defaultPassfile: undefined,
  sslDir: undefined,
  defaultSocketDir: "/tmp"
})

const renderings = (value: unknown): ReadonlyArray<string> => {
  const out = [inspect(value, { depth: 10 }), JSON.stringify(value) ?? "", String(value)]
  if (value instanceof Error) out.push(value.message, value.stack ?? "", Cause.pretty(Cause.fail(value)))
  return out
}

const assertNoSecret = (value: unknown, label: string) => {
  for (const text of renderings(value)) assert.notInclude(text, "D1st1nct1v3", label)
}

describe("redaction", () => {
  it("detects a leak (the check itself can fail)", () => {
    assert.throws(() => assertNoSecret({ password: SECRET }, "plain"))
    assert.throws(() => assertNoSecret(new Error(`bad ${SECRET}`), "error"))
  })

  const configs: ReadonlyArray<readonly [string, ConnectInput, EnvRecord]> = [
    ["URL userinfo", `postgresql://u:${SECRET}@h/db`, {}],
    ["URL query", `postgresql://h/db?password=${SECRET}&sslpassword=${SECRET}`, {}],
    ["key=value", `host=h password='${SECRET}' sslpassword=${SECRET}`, {}],
    ["explicit", { host: "h", password: Redacted.make(SECRET), sslpassword: Redacted.make(SECRET) }, {}],
    ["PGPASSWORD", { host: "h" }, { PGPASSWORD: SECRET }]
  ]
  for (const [label, input, env] of configs) {
    it(`hides the password of a config from ${label}`, () => {
      const result = resolveWith(input, context(env))
      assert.isTrue(Result.isSuccess(result), label)
      const config = (result as Result.Success<ConnectConfig, never>).success
      assertNoSecret(config, label)
      assert.isDefined(config.password)
    })
  }

  const failing: ReadonlyArray<readonly [string, ConnectInput, EnvRecord]> = [
    ["a bad sslmode next to a URL password", `postgresql://u:${SECRET}@h/db?sslmode=bogus`, {}],
    ["a bad IPv6 host after a URL password", `postgresql://u:${SECRET}@[::1`, {}],
    ["a bad escape inside the password", `postgresql://u:${SECRET}%zz@h/db`, {}],
    ["%00 in a query password", `postgresql://h/db?password=${SECRET}%00`, {}],
    ["an invalid UTF-8 password", `postgresql://u:${SECRET}%C3@h/db`, {}],
    ["an unquoted password with a space", `host=h password=x ${SECRET}`, {}],
    ["an unquoted password with a space and =", `host=h password=x ${SECRET}=1`, {}],
    ["an unquoted sslpassword with a space", `sslpassword=x ${SECRET}`, {}],
    ["an unterminated quote after a password", `password=x ${SECRET}='abc`, {}],
    ["a port mismatch next to PGPASSWORD", "host=a,b port=1,2,3", { PGPASSWORD: SECRET }],
    [
      "an explicit password and an unsupported option",
      { password: Redacted.make(SECRET), url: "tcp_user_timeout=5" },
      {}
    ]
  ]
  for (const [label, input, env] of failing) {
    it(`hides the password from the error for ${label}`, () => {
      const result = resolveWith(input, context(env))
      assert.isTrue(Result.isFailure(result), label)
      assertNoSecret((result as Result.Failure<never, unknown>).failure, label)
    })
  }

  it.effect("hides the password of a ConfigError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(connectConfig({ env: {}, prefix: "pg" }))
      assertNoSecret(error, "ConfigError")
      assertNoSecret(Cause.pretty(Cause.fail(error)), "ConfigError cause")
      const fromUrl = yield* Effect.flip(connectConfig({ env: {} }))
      assertNoSecret(fromUrl, "ConfigError from DATABASE_URL")
    }).pipe(
      Effect.provide(
        ConfigProvider.layer(
          ConfigProvider.fromUnknown({
            pg: { password: SECRET, url: `postgresql://u:${SECRET}@h/db`, port: "x" },
            DATABASE_URL: `postgresql://u:${SECRET}@h/db?sslmode=bogus`
          })
        )
      )
    )
  )

  it.effect("hides the passwords of a password choice and a password-file match", () =>
    Effect.gen(function* () {
      const config = resolveWith({ host: "h", password: Effect.succeed(Redacted.make(SECRET)) }, context())
      assert.isTrue(Result.isSuccess(config))
      const c = (config as Result.Success<ConnectConfig, never>).success
      assertNoSecret(yield* passwordFor(c, c.hosts[0]!), "password choice")
      const found = findPassword(`*:*:*:*:${SECRET}`, { host: "h", port: "1", database: "d", user: "u" })
      assert.strictEqual(found?.password, SECRET) // the pure matcher returns it; lookup wraps it at once
    })
  )
})
