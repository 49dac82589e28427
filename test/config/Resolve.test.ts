/**
 * Resolution: precedence (explicit > connection string > environment > defaults), libpq's defaults,
 * the host list, and libpq's checks from `connectOptions2`.
 *
 * Rows marked "libpq" were checked against libpq 18 on this machine with PQconnectStart (status and
 * error message, PQhost/PQport/PQdb/PQuser and PQconninfo values) in an empty environment
 * (`env -i HOME=...`), the connection attempts going only to 127.0.0.1 ports with no server or to
 * missing Unix sockets. The tests themselves use a fixed context and never read the process.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Redacted, Result } from "effect"
import {
  anyAuth,
  type ConnectConfig,
  type ConnectInput,
  type EnvRecord,
  type ResolveContext,
  resolve,
  resolveWith
} from "../../src/config/index.ts"

const context = (env: EnvRecord = {}, overrides: Partial<ResolveContext> = {}): ResolveContext => ({
  env,
  osUser: () => "alice",
  defaultPassfile: "/home/alice/.pgpass",
  sslDir: "/home/alice/.postgresql",
  defaultSocketDir: "/tmp",
  ...overrides
})

const ok = (input: ConnectInput, env: EnvRecord = {}, overrides?: Partial<ResolveContext>): ConnectConfig => {
  const result = resolveWith(input, context(env, overrides))
  if (Result.isFailure(result)) throw new Error(`unexpected error: ${result.failure.message}`)
  return result.success
}

const err = (input: ConnectInput, env: EnvRecord = {}) => {
  const result = resolveWith(input, context(env))
  if (Result.isSuccess(result)) throw new Error(`expected an error for ${JSON.stringify(input)}`)
  return result.failure
}

describe("defaults", () => {
  it("are libpq's", () => {
    const c = ok({})
    assert.deepStrictEqual(c.hosts, [{ host: "/tmp", hostaddr: undefined, port: 5432 }])
    assert.strictEqual(c.user, "alice") // libpq: the OS user
    assert.strictEqual(c.database, "alice") // libpq: database = user
    assert.strictEqual(c.password, undefined)
    assert.strictEqual(c.passfile, "/home/alice/.pgpass")
    assert.strictEqual(c.sslmode, "prefer")
    assert.strictEqual(c.sslnegotiation, "postgres")
    assert.strictEqual(c.sslcertmode, "allow")
    assert.strictEqual(c.channelBinding, "prefer")
    assert.strictEqual(c.sslMinProtocolVersion, "TLSv1.2")
    assert.strictEqual(c.sslMaxProtocolVersion, undefined)
    assert.strictEqual(c.sslsni, true)
    assert.strictEqual(c.sslrootcert, "/home/alice/.postgresql/root.crt")
    assert.strictEqual(c.sslcert, "/home/alice/.postgresql/postgresql.crt")
    assert.strictEqual(c.sslkey, "/home/alice/.postgresql/postgresql.key")
    assert.strictEqual(c.sslcrl, "/home/alice/.postgresql/root.crl")
    assert.strictEqual(c.gssencmode, "disable")
    assert.strictEqual(c.targetSessionAttrs, "any")
    assert.strictEqual(c.loadBalanceHosts, "disable")
    assert.strictEqual(c.minProtocolVersion, "3.0")
    // Ours: ask for 3.2 and let older servers negotiate down (libpq 18 defaults to 3.0).
    assert.strictEqual(c.maxProtocolVersion, "3.2")
    assert.strictEqual(c.connectTimeout, undefined)
    assert.strictEqual(c.keepalives, true)
    assert.strictEqual(c.options, "")
    assert.deepStrictEqual(c.params, {})
    assert.deepStrictEqual(c.requireAuth, anyAuth)
    assert.strictEqual(c.maxMessageSize, 1024 * 1024 * 1024)
  })

  it("use localhost where there is no socket directory (Windows)", () => {
    assert.deepStrictEqual(ok({}, {}, { defaultSocketDir: undefined }).hosts, [
      { host: "localhost", hostaddr: undefined, port: 5432 }
    ])
  })

  it("fail when no user is given and the OS user is unknown", () => {
    const result = resolveWith({}, context({}, { osUser: () => undefined }))
    assert.isTrue(Result.isFailure(result) && result.failure.reason === "MissingUser")
    assert.strictEqual(ok({ user: "bob" }, {}, { osUser: () => undefined }).database, "bob") // libpq
  })

  it("resolve against the process with `resolve`", () =>
    Effect.gen(function* () {
      const c = yield* resolve("host=db user=u", { env: {} })
      assert.deepStrictEqual(c.hosts, [{ host: "db", hostaddr: undefined, port: 5432 }])
      assert.strictEqual(yield* resolve(c), c) // a resolved config passes through unchanged
    }).pipe(Effect.runSync))
})

describe("precedence: explicit > connection string > environment > defaults", () => {
  const env = { PGHOST: "envhost", PGPORT: "7", PGUSER: "envuser", PGDATABASE: "envdb", PGAPPNAME: "envapp" }

  it("takes the environment under everything else (libpq)", () => {
    const c = ok({}, { ...env, PGOPTIONS: "-c x=1" })
    assert.deepStrictEqual(c.hosts, [{ host: "envhost", hostaddr: undefined, port: 7 }])
    assert.strictEqual(c.user, "envuser")
    assert.strictEqual(c.database, "envdb")
    assert.strictEqual(c.applicationName, "envapp")
    assert.strictEqual(c.options, "-c x=1")
  })

  it("merges per keyword: the URL's host with the environment's port", () => {
    const c = ok({ url: "postgresql://urlhost/urldb" }, env)
    assert.deepStrictEqual(c.hosts, [{ host: "urlhost", hostaddr: undefined, port: 7 }])
    assert.strictEqual(c.database, "urldb")
    assert.strictEqual(c.user, "envuser")
  })

  it("lets explicit fields win over the connection string", () => {
    const c = ok({ url: "postgresql://u1@urlhost:1/urldb?application_name=a", port: 2, user: "u2" }, env)
    assert.deepStrictEqual(c.hosts, [{ host: "urlhost", hostaddr: undefined, port: 2 }])
    assert.strictEqual(c.user, "u2")
    assert.strictEqual(c.applicationName, "a")
  })

  it("treats explicit empty strings as absent, like PQconnectdbParams", () => {
    assert.strictEqual(ok({ user: "", database: "" }, env).user, "envuser")
    assert.strictEqual(ok({ user: "", database: "" }, env).database, "envdb")
  })

  it("lets an empty value in a connection string block the environment (libpq)", () => {
    // libpq: host='' gives the default socket directory even with PGHOST set; dbname='' gives the user
    assert.deepStrictEqual(ok("host='' port=1", env).hosts, [{ host: "/tmp", hostaddr: undefined, port: 1 }])
    assert.strictEqual(ok("dbname=''", env).database, "envuser")
    assert.strictEqual(ok("postgresql://h/db?host=", env).hosts[0]!.host, "/tmp")
  })

  it("keeps host from PGHOST next to an explicit hostaddr (libpq: they are separate keywords)", () => {
    assert.deepStrictEqual(ok("hostaddr=127.0.0.1 port=1", env).hosts, [
      { host: "envhost", hostaddr: "127.0.0.1", port: 1 }
    ])
  })

  it("counts an empty variable as set (libpq)", () => {
    assert.strictEqual(err({}, { PGSSLMODE: "" }).message, 'invalid sslmode value: "" (from PGSSLMODE)')
    assert.include(
      err({}, { PGCONNECT_TIMEOUT: "" }).message,
      'invalid integer value "" for connection option "connect_timeout"'
    )
    assert.strictEqual(ok({}, { PGPORT: "" }).hosts[0]!.port, 5432) // an empty port is the default
    assert.strictEqual(ok({}, { PGHOST: "" }).hosts[0]!.host, "/tmp")
  })

  it("reads PGREQUIRESSL only without PGSSLMODE (libpq)", () => {
    assert.strictEqual(ok({}, { PGREQUIRESSL: "1" }).sslmode, "require")
    assert.strictEqual(ok({}, { PGREQUIRESSL: "0" }).sslmode, "prefer")
    assert.strictEqual(ok({}, { PGREQUIRESSL: "1", PGSSLMODE: "disable" }).sslmode, "disable")
    assert.strictEqual(ok("sslmode=allow", { PGREQUIRESSL: "1" }).sslmode, "allow")
  })

  it("turns PGDATESTYLE, PGTZ and PGGEQO into startup parameters unless 'default'", () => {
    const c = ok(
      { params: { geqo: "on", search_path: "s" } },
      { PGDATESTYLE: "ISO, DMY", PGTZ: "UTC", PGGEQO: "off" }
    )
    assert.deepStrictEqual(c.params, { datestyle: "ISO, DMY", timezone: "UTC", geqo: "on", search_path: "s" })
    assert.deepStrictEqual(ok({}, { PGTZ: "DEFAULT" }).params, {})
  })

  it("reads every supported variable", () => {
    const c = ok(
      {},
      {
        PGHOSTADDR: "127.0.0.1",
        PGPASSWORD: "pw",
        PGPASSFILE: "/etc/pgpass",
        PGSSLMODE: "require",
        PGSSLROOTCERT: "/ca.pem",
        PGSSLCERT: "/c.pem",
        PGSSLKEY: "/k.pem",
        PGSSLCRL: "/crl.pem",
        PGSSLSNI: "0",
        PGSSLNEGOTIATION: "direct",
        PGSSLCERTMODE: "disable",
        PGCHANNELBINDING: "require",
        PGREQUIREAUTH: "scram-sha-256",
        PGCONNECT_TIMEOUT: "10",
        PGTARGETSESSIONATTRS: "read-write",
        PGLOADBALANCEHOSTS: "random",
        PGMINPROTOCOLVERSION: "3.2",
        PGMAXPROTOCOLVERSION: "latest",
        PGSSLMINPROTOCOLVERSION: "TLSv1.3",
        PGSSLMAXPROTOCOLVERSION: "TLSv1.3",
        PGGSSENCMODE: "prefer",
        PGCLIENTENCODING: "UTF8",
        PGSSLCOMPRESSION: "1",
        PGKRBSRVNAME: "postgres"
      }
    )
    assert.strictEqual(c.hosts[0]!.hostaddr, "127.0.0.1")
    assert.strictEqual(Redacted.value(c.password as Redacted.Redacted<string>), "pw")
    assert.strictEqual(c.passfile, "/etc/pgpass")
    assert.deepStrictEqual(
      [c.sslmode, c.sslrootcert, c.sslcert, c.sslkey, c.sslcrl, c.sslsni, c.sslnegotiation, c.sslcertmode],
      ["require", "/ca.pem", "/c.pem", "/k.pem", "/crl.pem", false, "direct", "disable"]
    )
    assert.strictEqual(c.channelBinding, "require")
    assert.deepStrictEqual(c.requireAuth, { allowed: ["scram-sha-256"], allowNone: false })
    assert.strictEqual(Duration.toSeconds(c.connectTimeout!), 10)
    assert.deepStrictEqual([c.targetSessionAttrs, c.loadBalanceHosts], ["read-write", "random"])
    assert.deepStrictEqual([c.minProtocolVersion, c.maxProtocolVersion], ["3.2", "3.2"])
    assert.deepStrictEqual([c.sslMinProtocolVersion, c.sslMaxProtocolVersion], ["TLSv1.3", "TLSv1.3"])
    assert.strictEqual(c.gssencmode, "prefer")
  })
})

describe("hosts", () => {
  it("pairs hosts with ports; one port applies to all (libpq)", () => {
    assert.deepStrictEqual(
      ok("host=a,b port=1").hosts.map((h) => [h.host, h.port]),
      [
        ["a", 1],
        ["b", 1]
      ]
    )
    assert.deepStrictEqual(
      ok("postgresql://a,b:5433/db").hosts.map((h) => [h.host, h.port]),
      [
        ["a", 5432],
        ["b", 5433]
      ]
    )
  })

  it("uses the default socket directory for empty host elements (libpq)", () => {
    assert.deepStrictEqual(
      ok("host=,127.0.0.1 port=1").hosts.map((h) => h.host),
      ["/tmp", "127.0.0.1"]
    )
  })

  it("accepts lists and records as explicit fields", () => {
    const fromLists = ok({ host: ["a", "b"], port: [1, 2] }).hosts
    const fromRecords = ok({
      hosts: [
        { host: "a", port: 1 },
        { host: "b", port: 2 }
      ]
    }).hosts
    assert.deepStrictEqual(fromLists, fromRecords)
    assert.deepStrictEqual(ok({ hosts: [{ hostaddr: "::1" }, { host: "/run/pg" }] }).hosts, [
      { host: "", hostaddr: "::1", port: 5432 },
      { host: "/run/pg", hostaddr: undefined, port: 5432 }
    ])
    assert.strictEqual(err({ hosts: [{ host: "a" }], port: 1 }).reason, "Conflict")
  })

  it("counts hosts by hostaddr first (libpq)", () => {
    assert.deepStrictEqual(ok("hostaddr=127.0.0.1,127.0.0.2 port=1").hosts, [
      { host: "", hostaddr: "127.0.0.1", port: 1 },
      { host: "", hostaddr: "127.0.0.2", port: 1 }
    ])
    assert.deepStrictEqual(ok("host=db hostaddr=::1").hosts, [{ host: "db", hostaddr: "::1", port: 5432 }])
  })

  const errors: ReadonlyArray<readonly [string, string, string]> = [
    // libpq, all of them
    ["host=a,b port=1,2,3", "could not match 3 port numbers to 2 hosts", "Mismatch"],
    ["host=127.0.0.1 port=5432,''", "could not match 2 port numbers to 1 hosts", "Mismatch"],
    ["hostaddr=127.0.0.1,127.0.0.2 host=a", "could not match 1 host names to 2 hostaddr values", "Mismatch"],
    ["hostaddr=127.0.0.1 host=a,b", "could not match 2 host names to 1 hostaddr values", "Mismatch"],
    ["host=h port=abc", 'invalid integer value "abc" for connection option "port"', "InvalidValue"],
    ["host=h port=7x", 'invalid integer value "7x" for connection option "port"', "InvalidValue"],
    ["host=h port=70000", 'invalid port number: "70000"', "InvalidValue"],
    ["host=h port=0", 'invalid port number: "0"', "InvalidValue"],
    ["host=h port=-7", 'invalid port number: "-7"', "InvalidValue"],
    ["hostaddr=notanip", 'could not parse network address "notanip"', "InvalidValue"],
    [
      "postgresql://h:5432:1/db",
      'invalid integer value "5432:1" for connection option "port"',
      "InvalidValue"
    ]
  ]
  for (const [input, message, reason] of errors) {
    it(`rejects ${input}`, () => {
      const e = err(input)
      assert.include(e.message, message)
      assert.strictEqual(e.reason, reason)
    })
  }

  it("reads ports as strtol does (libpq accepts ' +7 ')", () => {
    assert.strictEqual(ok("host=h port=' +7 '").hosts[0]!.port, 7)
  })

  it("rejects a socket path longer than sun_path", () => {
    assert.include(err({ host: `/${"d".repeat(100)}` }).message, "is too long")
  })
})

describe("values and libpq's cross-checks", () => {
  it("makes sslrootcert=system imply verify-full and refuse weaker modes (libpq 16+)", () => {
    assert.strictEqual(ok("sslrootcert=system").sslmode, "verify-full")
    assert.strictEqual(ok({}, { PGSSLROOTCERT: "system" }).sslmode, "verify-full")
    assert.strictEqual(
      err("sslrootcert=system sslmode=require").message,
      'weak sslmode "require" may not be used with sslrootcert=system (use "verify-full") (from connection string)'
    )
    assert.strictEqual(err("sslmode=verify-ca", { PGSSLROOTCERT: "system" }).reason, "Conflict")
  })

  it("refuses sslnegotiation=direct below sslmode=require (libpq 17)", () => {
    assert.strictEqual(
      err("sslnegotiation=direct").message,
      'weak sslmode "prefer" may not be used with sslnegotiation=direct (use "require", "verify-ca", or "verify-full") (from connection string)'
    )
    assert.strictEqual(err("sslnegotiation=direct sslmode=allow").reason, "Conflict")
    assert.strictEqual(ok("sslnegotiation=direct sslmode=require").sslnegotiation, "direct")
    assert.strictEqual(ok("sslnegotiation=direct sslmode=verify-full sslrootcert=/x").sslmode, "verify-full")
  })

  const invalid: ReadonlyArray<readonly [string, string]> = [
    // libpq: enumerations are case-sensitive
    ["sslmode=bogus", 'invalid sslmode value: "bogus"'],
    ["sslmode=REQUIRE", 'invalid sslmode value: "REQUIRE"'],
    ["sslnegotiation=Direct", 'invalid sslnegotiation value: "Direct"'],
    ["channel_binding=bogus", 'invalid channel_binding value: "bogus"'],
    ["sslcertmode=bogus", 'invalid sslcertmode value: "bogus"'],
    ["target_session_attrs=Read-Write", 'invalid target_session_attrs value: "Read-Write"'],
    ["load_balance_hosts=bogus", 'invalid load_balance_hosts value: "bogus"'],
    ["gssencmode=bogus", 'invalid gssencmode value: "bogus"'],
    ["max_protocol_version=3.1", 'invalid max_protocol_version value: "3.1"'],
    ["min_protocol_version=2.0", 'invalid min_protocol_version value: "2.0"'],
    ["ssl_min_protocol_version=TLSv1.4", 'invalid "ssl_min_protocol_version" value: "TLSv1.4"'],
    ["connect_timeout=abc", 'invalid integer value "abc" for connection option "connect_timeout"'],
    ["keepalives=abc", 'invalid integer value "abc" for connection option "keepalives"'],
    ["keepalives_idle=abc", 'invalid integer value "abc" for connection option "keepalives_idle"']
  ]
  for (const [input, message] of invalid) {
    it(`rejects ${input} (libpq)`, () => {
      const e = err(input)
      assert.strictEqual(e.reason, "InvalidValue")
      assert.strictEqual(e.message, `${message} (from connection string)`)
    })
  }

  it("checks the protocol versions (libpq 18)", () => {
    assert.deepStrictEqual(
      [ok("min_protocol_version=3.2").minProtocolVersion, ok("min_protocol_version=3.2").maxProtocolVersion],
      ["3.2", "3.2"]
    ) // the maximum follows a higher minimum
    assert.strictEqual(ok("max_protocol_version=latest").maxProtocolVersion, "3.2")
    assert.strictEqual(ok("min_protocol_version=3.0").maxProtocolVersion, "3.2")
    assert.strictEqual(ok("max_protocol_version=3.0").maxProtocolVersion, "3.0")
    assert.strictEqual(
      err("min_protocol_version=3.2 max_protocol_version=3.0").message,
      '"min_protocol_version" is greater than "max_protocol_version" (from connection string)'
    )
    assert.strictEqual(err("min_protocol_version=latest max_protocol_version=3.0").reason, "Conflict")
  })

  it("falls back from 3.2 to 3.0 only when the 3.2 is our default (decision 018)", () => {
    assert.strictEqual(ok({}).protocolFallback, true)
    assert.strictEqual(ok("min_protocol_version=3.0").protocolFallback, true)
    assert.strictEqual(ok("max_protocol_version=latest").protocolFallback, false)
    assert.strictEqual(ok("max_protocol_version=3.2").protocolFallback, false)
    assert.strictEqual(ok({}, { PGMAXPROTOCOLVERSION: "3.2" }).protocolFallback, false)
    assert.strictEqual(ok("min_protocol_version=3.2").protocolFallback, false)
  })

  it("checks the TLS version range (libpq)", () => {
    assert.strictEqual(ok("ssl_min_protocol_version=tlsv1.3").sslMinProtocolVersion, "TLSv1.3")
    assert.strictEqual(ok("ssl_min_protocol_version=''").sslMinProtocolVersion, undefined)
    assert.strictEqual(ok({ sslMinProtocolVersion: "" }).sslMinProtocolVersion, undefined)
    assert.include(err("ssl_max_protocol_version=TLSv1").message, "invalid SSL protocol version range")
    assert.include(
      err("ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=TLSv1.2").message,
      "invalid SSL protocol version range"
    )
    assert.strictEqual(
      ok("ssl_min_protocol_version=TLSv1 ssl_max_protocol_version=TLSv1").sslMaxProtocolVersion,
      "TLSv1"
    )
  })

  it("applies libpq's connect_timeout rules", () => {
    assert.strictEqual(Duration.toSeconds(ok("connect_timeout=1").connectTimeout!), 2)
    assert.strictEqual(Duration.toSeconds(ok("connect_timeout=10").connectTimeout!), 10)
    assert.strictEqual(ok("connect_timeout=0").connectTimeout, undefined)
    assert.strictEqual(ok("connect_timeout=-5").connectTimeout, undefined)
    assert.strictEqual(Duration.toSeconds(ok({ connectTimeout: 1 }).connectTimeout!), 2)
    assert.strictEqual(Duration.toMillis(ok({ connectTimeout: Duration.millis(300) }).connectTimeout!), 300)
  })

  it("reads keepalives and sslsni as libpq does", () => {
    assert.strictEqual(ok("keepalives=0").keepalives, false)
    assert.strictEqual(ok("keepalives=2").keepalives, true)
    assert.strictEqual(ok({ keepalives: false }).keepalives, false)
    assert.deepStrictEqual(
      [ok("keepalives_idle=30").keepalivesIdle, ok("keepalives_interval=-1").keepalivesInterval],
      [30, 0]
    )
    assert.strictEqual(ok("sslsni=1").sslsni, true)
    assert.strictEqual(ok("sslsni=true").sslsni, false) // libpq tests the first character for '1'
    assert.strictEqual(ok({ sslsni: false }).sslsni, false)
  })

  it("parses require_auth into a policy", () => {
    assert.deepStrictEqual(ok("require_auth=password,md5").requireAuth, {
      allowed: ["password", "md5"],
      allowNone: false
    })
    assert.strictEqual(
      err("require_auth=bogus").message,
      'invalid require_auth value: "bogus" (from connection string)'
    )
  })

  it("refuses what effect-pg does not implement, from any source", () => {
    for (const input of ["requirepeer=postgres", "sslcrldir=/d", "tcp_user_timeout=5"]) {
      assert.strictEqual(err(input).reason, "UnsupportedOption", input)
    }
    assert.strictEqual(
      err({}, { PGREQUIREPEER: "postgres" }).message,
      'connection option "requirepeer" is not supported by effect-pg (from PGREQUIREPEER)'
    )
    assert.strictEqual(err("gssencmode=require").reason, "UnsupportedOption")
    assert.strictEqual(err("client_encoding=LATIN1").reason, "UnsupportedOption")
    assert.strictEqual(ok("client_encoding=utf-8").database, "alice")
    assert.strictEqual(ok("sslcompression=1 krbsrvname=x gsslib=gssapi gssdelegation=1").user, "alice") // ignored
  })

  it("reads replication as libpq does, and options as a list of escaped arguments", () => {
    assert.strictEqual(ok("replication=database").replication, "database")
    for (const yes of ["true", "on", "yes", "1"])
      assert.strictEqual(ok(`replication=${yes}`).replication, "physical")
    for (const no of ["false", "off", "0"]) assert.strictEqual(ok(`replication=${no}`).replication, undefined)
    assert.strictEqual(ok({ replication: "database" }).replication, "database")
    assert.strictEqual(ok({ replication: true }).replication, "physical")
    assert.strictEqual(ok({ replication: false }).replication, undefined)
    assert.strictEqual(err("replication=maybe").key, "replication")
    assert.strictEqual(
      ok({ options: ["-c", "search_path=my schema,public"] }).options,
      "-c search_path=my\\ schema,public"
    )
    assert.strictEqual(ok({ options: ["-c", "x.y=back\\slash"] }).options, "-c x.y=back\\\\slash")
    assert.strictEqual(ok({ options: "-c geqo=off" }).options, "-c geqo=off")
    assert.strictEqual(ok({ options: [] }).options, "")
  })

  it("validates params, maxMessageSize and statementCacheSize", () => {
    assert.strictEqual(err({ params: { user: "x" } }).reason, "InvalidValue")
    assert.strictEqual(err({ maxMessageSize: 1.5 }).reason, "InvalidValue")
    assert.strictEqual(err({ maxMessageSize: 4 }).key, "maxMessageSize")
    assert.strictEqual(ok({ maxMessageSize: 65536 }).maxMessageSize, 65536)
    assert.strictEqual(ok({}).statementCacheSize, 100)
    assert.strictEqual(ok({ statementCacheSize: 0 }).statementCacheSize, 0)
    const bad = err({ statementCacheSize: -1 })
    assert.strictEqual(bad.reason, "InvalidValue")
    assert.strictEqual(bad.key, "statementCacheSize")
    assert.strictEqual(err({ statementCacheSize: 2.5 }).reason, "InvalidValue")
    const token = new Uint8Array([1, 2, 3])
    assert.strictEqual(ok({ gssToken: token }).gssToken, token)
  })

  it("keeps a password Effect as is, for a fresh token per connect", () => {
    const source = Effect.succeed(Redacted.make("token"))
    assert.strictEqual(ok({ password: source }).password, source)
    assert.strictEqual(Redacted.value(ok("password=pw").password as Redacted.Redacted<string>), "pw")
    assert.strictEqual(ok({ password: Redacted.make("x"), url: "password=y" }).password !== undefined, true)
  })
})
