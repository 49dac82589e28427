/**
 * Connection service files, pure: libpq's lookup order (the `service` keyword, else PGSERVICE;
 * PGSERVICEFILE or ~/.pg_service.conf, then PGSYSCONFDIR/pg_service.conf), the precedence of
 * their values (below the connection string, above the environment), and parseServiceFile's
 * rules and messages. The files are in memory (a `readFile` in the context); the same rules are
 * checked against libpq itself (psql) in service.integration.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted, Result } from "effect"
import {
  type ConnectConfig,
  type ConnectInput,
  type EnvRecord,
  type ResolveContext,
  resolveWith
} from "../../src/config/index.ts"
import type { FileRead } from "../../src/config/ServiceFile.ts"

const files =
  (contents: Readonly<Record<string, string | null>>) =>
  (path: string): FileRead => {
    const text = contents[path]
    if (text === undefined) return { _tag: "Missing" }
    return text === null
      ? { _tag: "Unreadable", reason: "EACCES: permission denied" }
      : { _tag: "Text", text }
  }

const context = (env: EnvRecord, contents: Readonly<Record<string, string | null>>): ResolveContext => ({
  env,
  osUser: () => "alice",
  defaultPassfile: "/home/alice/.pgpass",
  sslDir: "/home/alice/.postgresql",
  defaultSocketDir: "/tmp",
  homeDir: "/home/alice",
  sysconfDir: "/etc/postgresql-common",
  readFile: files(contents)
})

const resolved = (input: ConnectInput, env: EnvRecord, contents: Readonly<Record<string, string | null>>) =>
  resolveWith(input, context(env, contents))

const ok = (input: ConnectInput, env: EnvRecord, contents: Readonly<Record<string, string | null>>) => {
  const result = resolved(input, env, contents)
  if (Result.isFailure(result)) throw new Error(`unexpected error: ${result.failure.message}`)
  return result.success
}

const err = (input: ConnectInput, env: EnvRecord, contents: Readonly<Record<string, string | null>>) => {
  const result = resolved(input, env, contents)
  if (Result.isSuccess(result)) throw new Error(`expected an error for ${JSON.stringify(input)}`)
  return result.failure
}

const where = (c: ConnectConfig) => [c.hosts.map((h) => `${h.host}:${h.port}`).join(","), c.database, c.user]

const home = "/home/alice/.pg_service.conf"
const system = "/etc/postgresql-common/pg_service.conf"

describe("which service and which file", () => {
  const both = {
    [home]: "[app]\nhost=home-host\ndbname=home_db\n",
    [system]: "[app]\nhost=system-host\nport=7000\n[other]\nhost=other-host\n"
  }

  it("takes the service from the connection string, else from PGSERVICE", () => {
    assert.deepStrictEqual(where(ok("service=other", { PGSERVICE: "app" }, both)), [
      "other-host:5432",
      "alice",
      "alice"
    ])
    assert.deepStrictEqual(where(ok({}, { PGSERVICE: "app" }, both)), ["home-host:5432", "home_db", "alice"])
    assert.deepStrictEqual(where(ok({ service: "other" }, {}, both)), ["other-host:5432", "alice", "alice"])
    assert.deepStrictEqual(where(ok("postgresql:///?service=other", {}, both)), [
      "other-host:5432",
      "alice",
      "alice"
    ])
  })

  it("uses the user's file when it has the service, and does not merge the system file into it", () => {
    const c = ok("service=app", {}, both)
    assert.deepStrictEqual(where(c), ["home-host:5432", "home_db", "alice"])
  })

  it("falls back to the system file when the user's file lacks the service or is missing", () => {
    assert.deepStrictEqual(where(ok("service=other", {}, both)), ["other-host:5432", "alice", "alice"])
    assert.deepStrictEqual(where(ok("service=app", {}, { [system]: both[system] })), [
      "system-host:7000",
      "alice",
      "alice"
    ])
  })

  it("reads PGSERVICEFILE instead of ~/.pg_service.conf, and PGSYSCONFDIR instead of the system directory", () => {
    const contents = {
      ...both,
      "/srv/services": "[app]\nhost=env-file-host\n",
      "/opt/pg/pg_service.conf": "[x]\nport=1\n"
    }
    assert.deepStrictEqual(
      where(ok("service=app", { PGSERVICEFILE: "/srv/services" }, contents))[0],
      "env-file-host:5432"
    )
    // PGSERVICEFILE names a missing file: on to the system file, never to ~/.pg_service.conf.
    assert.deepStrictEqual(
      where(ok("service=app", { PGSERVICEFILE: "/nope" }, contents))[0],
      "system-host:7000"
    )
    assert.deepStrictEqual(ok("service=x", { PGSYSCONFDIR: "/opt/pg" }, contents).hosts[0]?.port, 1)
    assert.strictEqual(
      err("service=other", { PGSYSCONFDIR: "/opt/pg" }, contents).message,
      'definition of service "other" not found (from connection string)'
    )
  })

  it("fails when no file defines the service, naming where the name came from", () => {
    assert.strictEqual(
      err({}, { PGSERVICE: "prod" }, both).message,
      'definition of service "prod" not found (from PGSERVICE)'
    )
    const empty = err("client_encoding=utf-8 service=", {}, both)
    assert.deepStrictEqual(
      [empty.reason, empty.key, empty.message],
      ["InvalidValue", "service", 'definition of service "" not found (from connection string)']
    )
  })

  it("reports a service file it cannot open (libpq: not found)", () => {
    const error = err("service=app", {}, { [home]: null })
    assert.deepStrictEqual(
      [error.reason, error.message],
      ["MissingFile", `service file "${home}" not found (EACCES: permission denied)`]
    )
  })
})

describe("precedence", () => {
  const contents = {
    [home]:
      "[app]\nhost=svc-host\nport=6000\ndbname=svc_db\nuser=svc_user\nsslmode=require\npassword=svc secret\n"
  }

  it("explicit > connection string > service > environment > defaults", () => {
    const env = {
      PGHOST: "env-host",
      PGPORT: "6543",
      PGUSER: "env_user",
      PGAPPNAME: "env-app",
      PGSSLMODE: "disable"
    }
    const c = ok({ url: "service=app port=6001", database: "explicit_db" }, env, contents)
    assert.deepStrictEqual(where(c), ["svc-host:6001", "explicit_db", "svc_user"])
    assert.strictEqual(c.sslmode, "require")
    assert.strictEqual(c.applicationName, "env-app")
    assert.strictEqual(
      c.password === undefined ? undefined : Redacted.value(c.password as Redacted.Redacted<string>),
      "svc secret"
    )
  })

  it("an empty value in the service still counts as set: PGHOST does not fill it", () => {
    const c = ok("service=app", { PGHOST: "env-host" }, { [home]: "[app]\nhost=\n" })
    assert.deepStrictEqual(c.hosts, [{ host: "/tmp", hostaddr: undefined, port: 5432 }])
  })

  it("values from the service are validated like any other, naming the file and line", () => {
    const error = err("service=app", {}, { [home]: "[app]\n\nsslmode=sometimes\n" })
    assert.strictEqual(
      error.message,
      `invalid sslmode value: "sometimes" (from service file "${home}", line 3)`
    )
    const unsupported = err("service=app", {}, { [home]: "[app]\ntcp_user_timeout=5\n" })
    assert.strictEqual(unsupported.reason, "UnsupportedOption")
  })
})

describe("parseServiceFile's rules", () => {
  const parse = (text: string, service = "app") => resolved(`service=${service}`, {}, { [home]: text })
  const message = (text: string, service = "app") => {
    const result = parse(text, service)
    return Result.isFailure(result) ? result.failure.message : "ok"
  }
  const hostOf = (text: string, service = "app") =>
    ok(`service=${service}`, {}, { [home]: text }).hosts[0]?.host

  it("trims lines, skips comments and blank lines, matches [name] with anything after the bracket", () => {
    assert.strictEqual(hostOf("# c\n\n  [app] trailing words\n\t host=a  \r\n"), "a")
    assert.strictEqual(hostOf("[appx]\nhost=wrong\n[app]\nhost=right\n"), "right")
    assert.strictEqual(hostOf("[app]\nhost= spaced"), " spaced")
  })

  it("keeps the first value of a keyword and ignores a second section of the same name", () => {
    assert.strictEqual(hostOf("[app]\nhost=first\nhost=second\n[app]\nport=9\n"), "first")
    assert.strictEqual(
      ok("service=app", {}, { [home]: "[app]\nhost=a\n[app]\nport=9\n" }).hosts[0]?.port,
      5432
    )
  })

  it("gives libpq's syntax errors with the line number, never the line", () => {
    assert.strictEqual(message("[app]\nhost = a\n"), `syntax error in service file "${home}", line 2`)
    assert.strictEqual(message("[app]\n\nno equals sign\n"), `syntax error in service file "${home}", line 3`)
    assert.strictEqual(message("[app]\nrequiressl=1\n"), `syntax error in service file "${home}", line 2`)
    assert.strictEqual(message("[app]\nbogus=1\n"), `syntax error in service file "${home}", line 2`)
    assert.strictEqual(
      message("[app]\nservice=other\n"),
      `nested service specifications not supported in service file "${home}", line 2`
    )
    // Lines outside the section are not checked, as libpq only parses the wanted section.
    assert.strictEqual(message("[other]\nhost = a\n[app]\nhost=b\n"), "ok")
    assert.notInclude(message("[app]\npassword secret\n"), "secret")
  })

  it("refuses a line of 1023 bytes or more, newline included (libpq's 1024-byte buffer)", () => {
    const line = (length: number) => `host=${"h".repeat(length - 5)}`
    assert.strictEqual(message(`[app]\n${line(1021)}\n`), "ok")
    assert.strictEqual(message(`[app]\n${line(1022)}\n`), `line 2 too long in service file "${home}"`)
    assert.strictEqual(message(`[app]\n${line(1022)}`), "ok")
    assert.strictEqual(message(`[app]\n${"é".repeat(511)}\n`), `line 2 too long in service file "${home}"`)
  })
})
