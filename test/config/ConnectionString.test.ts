/**
 * libpq connection strings: `postgresql://` URIs and `key=value` pairs.
 *
 * Every row marked "libpq" was checked against the real libpq 18 on this machine
 * (PQconninfoParse through a probe linked with node_modules/pg-bin-18/native/lib/libpq.so.5, and the
 * same strings through Debian's libpq 15 where the keywords exist): the options match exactly, and the
 * error messages match libpq's except that ours never quote the URI (it may hold a password) and add
 * "(from connection URI)". The tests themselves do not need libpq.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { parseConnectionString, percentDecode } from "../../src/config/index.ts"

type Expected = Readonly<Record<string, string>> | { readonly error: string; readonly reason?: string }

const parse = (input: string): Expected => {
  const result = parseConnectionString(input)
  if (Result.isFailure(result)) return { error: result.failure.message, reason: result.failure.reason }
  return Object.fromEntries(result.success)
}

const check = (input: string, expected: Expected) => {
  const actual = parse(input)
  if ("error" in expected && typeof expected.error === "string") {
    assert.isTrue("error" in actual, `expected an error for ${input}, got ${JSON.stringify(actual)}`)
    const a = actual as { error: string; reason?: string }
    assert.include(a.error, expected.error)
    if (expected.reason !== undefined) assert.strictEqual(a.reason, expected.reason)
  } else {
    assert.deepStrictEqual(actual, expected)
  }
}

describe("postgresql:// URIs", () => {
  const cases: ReadonlyArray<readonly [string, Expected]> = [
    // libpq: every part
    [
      "postgresql://user:secret@host1:5433,host2:5434/mydb?sslmode=require&application_name=app",
      {
        user: "user",
        password: "secret",
        host: "host1,host2",
        port: "5433,5434",
        dbname: "mydb",
        sslmode: "require",
        application_name: "app"
      }
    ],
    ["postgres://h/db", { host: "h", dbname: "db" }], // libpq: the short scheme
    ["postgresql://[::1]:5433/db", { host: "::1", port: "5433", dbname: "db" }], // libpq: IPv6
    ["postgresql://[fe80::1%25eth0]/db", { host: "fe80::1%eth0", dbname: "db" }], // libpq: zone id
    ["postgresql://[::1],[::2]:7/db", { host: "::1,::2", port: ",7", dbname: "db" }], // libpq
    ["postgresql://[::1]:/db", { host: "::1", dbname: "db" }], // libpq: empty port not stored
    // libpq: Unix-socket directories, in the host part or the query
    ["postgresql://%2Fvar%2Frun%2Fpostgresql/db", { host: "/var/run/postgresql", dbname: "db" }],
    ["postgresql:///db?host=/tmp", { host: "/tmp", dbname: "db" }],
    // libpq: percent-decoding everywhere, '+' is not a space
    ["postgresql://u%40x:p%3Aw@h/d%20b", { user: "u@x", password: "p:w", host: "h", dbname: "d b" }],
    ["postgresql://h:%35432/", { host: "h", port: "5432" }],
    ["postgresql://h/db?%73slmode=require", { host: "h", dbname: "db", sslmode: "require" }],
    ["postgresql://h/db?application_name=a+b", { host: "h", dbname: "db", application_name: "a+b" }],
    [
      "postgresql://host/db?options=-c%20search_path%3Dx",
      { host: "host", dbname: "db", options: "-c search_path=x" }
    ],
    ["postgresql://h/d%C3%A9j%C3%A0", { host: "h", dbname: "déjà" }], // libpq (bytes)
    ["postgresql://h/déjà", { host: "h", dbname: "déjà" }], // libpq (raw UTF-8)
    ["postgresql://h%2Cg/db", { host: "h,g", dbname: "db" }], // libpq: %2C splits hosts
    // libpq: multi-host with missing ports and hosts
    ["postgresql://a,b:5433", { host: "a,b", port: ",5433" }],
    ["postgresql://a:,b:5433", { host: "a,b", port: ",5433" }],
    ["postgresql://h,/db", { host: "h,", port: ",", dbname: "db" }],
    ["postgresql://,/db", { host: ",", port: ",", dbname: "db" }],
    ["postgresql://h:5432:1/db", { host: "h", port: "5432:1", dbname: "db" }], // libpq: port checked later
    // libpq: userinfo quirks
    ["postgres://u:p@ss@host", { user: "u", password: "p", host: "ss@host" }],
    ["postgresql://u:a:b@h/db", { user: "u", password: "a:b", host: "h", dbname: "db" }],
    ["postgresql://@h/", { host: "h" }],
    ["postgresql://:pw@h/", { password: "pw", host: "h" }],
    ["postgresql://u:@h/", { user: "u", host: "h" }],
    ["postgresql://u@", { user: "u" }],
    ["postgresql://u@/db", { user: "u", dbname: "db" }],
    // libpq: empty parts are not stored (so the environment still applies)
    ["postgresql://", {}],
    ["postgresql:///", {}],
    ["postgresql://?", {}],
    ["postgresql://h?", { host: "h" }],
    // libpq: '/' and '#' have no special meaning in the database name
    ["postgresql://h/db/x", { host: "h", dbname: "db/x" }],
    ["postgresql://h/db#frag", { host: "h", dbname: "db#frag" }],
    // libpq: query parameters are keywords; later ones win; empty values are stored
    ["postgresql://h/db?dbname=other", { host: "h", dbname: "other" }],
    ["postgresql://h/db?user=x&user=y", { host: "h", dbname: "db", user: "y" }],
    ["postgresql://h/db?host=", { host: "", dbname: "db" }],
    ["postgresql://h/db?sslmode=require&", { host: "h", dbname: "db", sslmode: "require" }],
    ["postgres://h?dbname=a&dbname=b", { host: "h", dbname: "b" }],
    ["postgresql://h/db?password=%41%42", { host: "h", dbname: "db", password: "AB" }],
    // libpq: ssl=true (JDBC) and requiressl
    ["postgresql://h/db?ssl=true", { host: "h", dbname: "db", sslmode: "require" }],
    ["postgresql://h/db?requiressl=1", { host: "h", dbname: "db", sslmode: "require" }],
    ["postgresql://h/db?requiressl=0", { host: "h", dbname: "db", sslmode: "prefer" }],
    ["postgresql://h/db?sslmode=require&ssl=true", { host: "h", dbname: "db", sslmode: "require" }]
  ]
  for (const [input, expected] of cases) it(input, () => check(input, expected))

  const errors: ReadonlyArray<readonly [string, string, string]> = [
    // libpq, all of them
    ["postgresql://h/db?foo=bar", 'invalid URI query parameter: "foo"', "UnknownOption"],
    ["postgresql://h/db?ssl=1", 'invalid URI query parameter: "ssl"', "UnknownOption"],
    ["postgresql://h/db?Host=x", 'invalid URI query parameter: "Host"', "UnknownOption"],
    ["postgresql://h/db?a=1&&b=2", 'invalid URI query parameter: "a"', "UnknownOption"],
    ["postgresql://h/db?=x", 'invalid URI query parameter: ""', "UnknownOption"],
    [
      "postgresql://h/db?sslmode",
      'missing key/value separator "=" in URI query parameter: "sslmode"',
      "InvalidSyntax"
    ],
    [
      "postgresql://h/db?&sslmode=require",
      'missing key/value separator "=" in URI query parameter: ""',
      "InvalidSyntax"
    ],
    ["postgresql://h/db?a=b=c", 'extra key/value separator "=" in URI query parameter: "a"', "InvalidSyntax"],
    ["postgresql://h/%zz", 'invalid percent-encoded token: "%zz"', "InvalidSyntax"],
    ["postgresql://h/%0", 'invalid percent-encoded token: "%0"', "InvalidSyntax"],
    ["postgresql://h/db?%ZZ=1", 'invalid percent-encoded token: "%ZZ"', "InvalidSyntax"],
    ["postgresql://u%zz@h", 'invalid percent-encoded token: "u%zz"', "InvalidSyntax"],
    ["postgresql://h/%00", 'forbidden value %00 in percent-encoded value: "%00"', "InvalidSyntax"],
    ["postgresql://[::1", 'end of string reached when looking for matching "]"', "InvalidSyntax"],
    ["postgresql://[]/", "IPv6 host address may not be empty in URI", "InvalidSyntax"],
    [
      "postgresql://[::1]x",
      'unexpected character "x" at position 19 in URI (expected ":" or "/")',
      "InvalidSyntax"
    ],
    // libpq: the scheme is case-sensitive, so this is read as key=value
    ["POSTGRESQL://h", 'missing "=" after "POSTGRESQL://h" in connection info string', "InvalidSyntax"],
    // ours: libpq would pass the raw byte 0xC3 through; a JS string cannot
    ["postgresql://h/%C3", "percent-decoded value is not valid UTF-8", "InvalidSyntax"]
  ]
  for (const [input, message, reason] of errors) {
    it(`rejects ${input}`, () => check(input, { error: message, reason }))
  }

  it("never quotes the URI, which may hold a password", () => {
    const result = parseConnectionString("postgresql://u:Sup3rS3cret@[::1")
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) assert.notInclude(result.failure.message, "Sup3rS3cret")
  })

  it("percent-decodes a secret without quoting it in errors", () => {
    const bad = percentDecode("Sup3r%zzS3cret", "the password", true)
    assert.isTrue(Result.isFailure(bad))
    if (Result.isFailure(bad)) {
      assert.notInclude(bad.failure.message, "Sup3r")
      assert.include(bad.failure.message, "the password")
    }
    const viaUri = parseConnectionString("postgresql://u:Sup3r%zzS3cret@h/db")
    assert.isTrue(Result.isFailure(viaUri) && !viaUri.failure.message.includes("Sup3r"))
    const viaQuery = parseConnectionString("postgresql://h/db?password=Sup3r%00S3cret")
    assert.isTrue(Result.isFailure(viaQuery) && !viaQuery.failure.message.includes("Sup3r"))
  })
})

describe("key=value strings", () => {
  const cases: ReadonlyArray<readonly [string, Expected]> = [
    // libpq: quoting with \' and spaces inside quotes
    [
      "host=a port=1 dbname='my db' password='it\\'s' ",
      { host: "a", port: "1", dbname: "my db", password: "it's" }
    ],
    ["host = a", { host: "a" }], // libpq: whitespace around '='
    [" host = 'a b' user=  x  dbname  =y", { host: "a b", user: "x", dbname: "y" }],
    ["\thost=a\t\tport=5\t", { host: "a", port: "5" }], // libpq: tabs are whitespace
    ["host=a\nport=5\r", { host: "a", port: "5" }],
    ["host=a\\ b", { host: "a b" }], // libpq: backslash escapes in unquoted values
    ["host=a\\\\b", { host: "a\\b" }],
    ["host='a\\\\b'", { host: "a\\b" }],
    ["host=a\\", { host: "a" }], // libpq: a trailing backslash is dropped
    ["host='x'port=5", { host: "x", port: "5" }], // libpq: a quoted value may touch the next keyword
    ["host=", { host: "" }], // libpq: empty values are stored
    ["host=''", { host: "" }],
    ["host =", { host: "" }],
    ["host='' port=1", { host: "", port: "1" }],
    ["host=a host=b", { host: "b" }], // libpq: the last one wins
    ["host=a=b", { host: "a=b" }],
    ['host=a"b', { host: 'a"b' }], // libpq: double quotes are ordinary
    ["host=a,b port=1", { host: "a,b", port: "1" }],
    ["host=%2Ftmp", { host: "%2Ftmp" }], // libpq: no percent-decoding here
    ["dbname=postgresql://h/db", { dbname: "postgresql://h/db" }], // libpq: PQconnectdb does not expand it
    ["requiressl=1", { sslmode: "require" }],
    ["requiressl=yes", { sslmode: "prefer" }],
    ["", {}],
    [" ", {}],
    ["options='-c geqo=off -c statement_timeout=5s'", { options: "-c geqo=off -c statement_timeout=5s" }],
    ["application_name='app \\'x\\' \\\\ y'", { application_name: "app 'x' \\ y" }]
  ]
  for (const [input, expected] of cases) it(JSON.stringify(input), () => check(input, expected))

  const errors: ReadonlyArray<readonly [string, string, string]> = [
    // libpq, all of them
    ["host", 'missing "=" after "host" in connection info string', "InvalidSyntax"],
    ["x y=1", 'missing "=" after "x" in connection info string', "InvalidSyntax"],
    ["host='a'b", 'missing "=" after "b" in connection info string', "InvalidSyntax"],
    ["host='' ''", `missing "=" after "''" in connection info string`, "InvalidSyntax"],
    ["host='abc", "unterminated quoted string in connection info string", "InvalidSyntax"],
    ["host='a\\", "unterminated quoted string in connection info string", "InvalidSyntax"],
    ["=a", 'invalid connection option ""', "UnknownOption"],
    ["host=a =b", 'invalid connection option ""', "UnknownOption"],
    ["Host=a", 'invalid connection option "Host"', "UnknownOption"],
    ["bogus=1", 'invalid connection option "bogus"', "UnknownOption"],
    // ours: libpq would cut the string at the NUL
    ["host=a\0port=1", "NUL", "InvalidSyntax"]
  ]
  for (const [input, message, reason] of errors) {
    it(`rejects ${JSON.stringify(input)}`, () => check(input, { error: message, reason }))
  }

  it("does not echo the rest of an unquoted password (libpq would quote 'Secr3t')", () => {
    for (const input of ["password=my Secr3t", "password=my Secr3t=x", "password=my Secr3t='x"]) {
      const result = parseConnectionString(input)
      assert.isTrue(Result.isFailure(result), input)
      if (Result.isFailure(result)) {
        assert.notInclude(result.failure.message, "Secr3t")
        assert.notStrictEqual(result.failure.key, "Secr3t")
      }
    }
  })
})
