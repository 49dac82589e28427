import { assert, describe, it } from "@effect/vitest"
import { parseVersion } from "../../src/testing/Binaries.ts"
import {
  hbaConf,
  postgresqlConf,
  roles,
  rolesSql,
  validateSettings
} from "../../src/testing/ClusterConfig.ts"

const lines = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))

describe("pg_hba.conf", () => {
  it("puts role lines first, then extra lines, then the catch-all, for local, IPv4 and IPv6", () => {
    const hba = lines(hbaConf({ tls: true, extra: ["host all extra_user 127.0.0.1/32 trust"] }))
    const extra = hba.indexOf("host all extra_user 127.0.0.1/32 trust")
    const catchAll = hba.indexOf("local all all scram-sha-256")
    assert.isAbove(extra, 0)
    assert.isAbove(catchAll, extra)
    for (const [user, method] of [
      [roles.trust.user, "trust"],
      [roles.password.user, "password"],
      [roles.md5.user, "md5"],
      [roles.scram.user, "scram-sha-256"]
    ]) {
      for (const prefix of ["local all", "host all"]) {
        for (const address of prefix === "local all" ? [""] : [" 127.0.0.1/32", " ::1/128"]) {
          const line = `${prefix} ${user}${address} ${method}`
          const at = hba.indexOf(line)
          assert.isAbove(at, -1, line)
          assert.isBelow(at, extra, line)
        }
      }
    }
    for (const address of ["127.0.0.1/32", "::1/128"]) {
      const ssl = hba.indexOf(`hostssl all ${roles.sslOnly.user} ${address} scram-sha-256`)
      const reject = hba.indexOf(`hostnossl all ${roles.sslOnly.user} ${address} reject`)
      assert.isAbove(reject, ssl)
      assert.include(hba, `hostssl all ${roles.cert.user} ${address} cert clientcert=verify-full`)
    }
  })

  it("omits hostssl lines without TLS but still rejects the ssl-only role", () => {
    const hba = hbaConf({ tls: false, extra: [] })
    assert.notInclude(hba, "hostssl")
    assert.include(hba, `hostnossl all ${roles.sslOnly.user} 127.0.0.1/32 reject`)
    assert.include(hba, `local all ${roles.sslOnly.user} reject`)
  })
})

describe("roles SQL", () => {
  it("is one statement per line and creates the md5 role under md5 encryption", () => {
    const sql = rolesSql().trim().split("\n")
    for (const line of sql)
      assert.match(line, /^(CREATE ROLE \w+ LOGIN( PASSWORD '[^']*')?|SET password_encryption = '[\w-]+');$/)
    const md5Set = sql.indexOf("SET password_encryption = 'md5';")
    const md5Role = sql.findIndex((l) => l.startsWith(`CREATE ROLE ${roles.md5.user} `))
    const scramSet = sql.indexOf("SET password_encryption = 'scram-sha-256';")
    assert.isTrue(md5Set < md5Role && md5Role < scramSet)
    assert.isTrue(sql.findIndex((l) => l.startsWith(`CREATE ROLE ${roles.scram.user} `)) > scramSet)
    assert.strictEqual(sql.filter((l) => l.startsWith("CREATE ROLE")).length, 6)
  })
})

describe("postgresql.conf", () => {
  it("quotes values, renders booleans, and lets user settings win", () => {
    const conf = postgresqlConf({
      socketDir: "/tmp/x y",
      tls: true,
      settings: { application_name: "it's", fsync: true, max_connections: 20 }
    })
    assert.include(conf, "unix_socket_directories = '/tmp/x y'")
    assert.include(conf, "application_name = 'it''s'")
    assert.include(conf, "max_connections = '20'")
    assert.include(conf, "ssl = on")
    const fsync = conf.split("\n").filter((l) => l.startsWith("fsync ="))
    assert.deepStrictEqual(fsync, ["fsync = on"], "one fsync line, the user's")
    assert.notInclude(postgresqlConf({ socketDir: "/s", tls: false, settings: {} }), "ssl")
  })

  it("rejects malformed settings", () => {
    assert.isUndefined(validateSettings({ work_mem: "4MB", "auto_explain.log_min_duration": 0 }))
    assert.include(validateSettings({ "bad name": "x" }) ?? "", "invalid setting name")
    assert.include(validateSettings({ work_mem: "1\n2" }) ?? "", "newline")
    assert.include(validateSettings({ work_mem: Number.NaN }) ?? "", "finite")
  })
})

describe("parseVersion", () => {
  it("reads npm and Debian version lines", () => {
    assert.deepStrictEqual(parseVersion("postgres (PostgreSQL) 18.4\n"), { major: 18, versionString: "18.4" })
    assert.deepStrictEqual(parseVersion("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"), {
      major: 15,
      versionString: "15.18 (Debian 15.18-0+deb12u1)"
    })
    assert.deepStrictEqual(parseVersion("postgres (PostgreSQL) 19devel"), {
      major: 19,
      versionString: "19devel"
    })
    assert.isUndefined(parseVersion("something else"))
  })
})
