/**
 * The PgBouncer files PgTestBouncer writes, pure: the `[databases]` entries (named ones first,
 * `*` last), the `[pgbouncer]` defaults with user settings winning, the hba lines mirroring the
 * test roles, the auth file, and the validation of names and values.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  bouncerHba,
  bouncerIni,
  bouncerUsers,
  validateBouncerOptions
} from "../../src/testing/BouncerConfig.ts"

const server = { host: "127.0.0.1", port: 5433 }

describe("BouncerConfig", () => {
  it("renders named databases, then the default one, then the settings (user settings win)", () => {
    const ini = bouncerIni({
      server,
      databases: {
        ro: { server: { host: "127.0.0.1", port: 5434 }, dbname: "app", poolSize: 1, poolMode: "session" }
      },
      poolMode: "transaction",
      settings: { default_pool_size: 9, server_reset_query: "DISCARD ALL" },
      port: 6000,
      root: "/r",
      socketDir: "/r/run"
    })
    const lines = ini.split("\n")
    assert.deepStrictEqual(lines.slice(1, 4), [
      "[databases]",
      "ro = host=127.0.0.1 port=5434 dbname=app pool_size=1 pool_mode=session",
      "* = host=127.0.0.1 port=5433"
    ])
    for (const line of [
      "listen_port = 6000",
      "unix_socket_dir = /r/run",
      "auth_type = hba",
      "auth_user = postgres",
      "pool_mode = transaction",
      "default_pool_size = 9",
      "server_reset_query = DISCARD ALL"
    ]) {
      assert.include(lines, line)
    }
    assert.notInclude(ini, "default_pool_size = 5")
    assert.notInclude(ini, "logfile")
  })

  it("mirrors the test roles' methods and lists the two roles auth_query cannot serve", () => {
    assert.include(bouncerHba(), "host all md5_user 127.0.0.1/32 md5\n")
    assert.include(bouncerHba(), "local all postgres trust\n")
    assert.isTrue(bouncerHba().trimEnd().endsWith("host all all 127.0.0.1/32 scram-sha-256"))
    assert.strictEqual(bouncerUsers(), '"postgres" ""\n"pw_user" "pw_pass"\n')
  })

  it("refuses what would break the file", () => {
    assert.strictEqual(validateBouncerOptions({}), "give a server or databases")
    assert.isUndefined(validateBouncerOptions({ server }))
    assert.include(validateBouncerOptions({ server, poolMode: "sometimes" }) ?? "", "poolMode must be one of")
    assert.include(validateBouncerOptions({ databases: { "a b": server } }) ?? "", "invalid database name")
    assert.include(
      validateBouncerOptions({ databases: { pgbouncer: server } }) ?? "",
      "invalid database name"
    )
    assert.include(validateBouncerOptions({ server, poolSize: 0 }) ?? "", "poolSize")
    assert.include(validateBouncerOptions({ server, settings: { "x;y": 1 } }) ?? "", "invalid setting name")
    assert.include(
      validateBouncerOptions({ server, settings: { ignore_startup_parameters: "a\nb" } }) ?? "",
      "newline"
    )
  })
})
