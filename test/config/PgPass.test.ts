/**
 * The password file. The matching rows marked "libpq" were checked against libpq 18 on this machine
 * (PQpass after PQconnectStart with PGPASSFILE pointing at the same file), as were the permission
 * rule (0600, 0400 and 0700 used; 0640 and 0604 skipped) and the "default socket directory is
 * localhost" rule. Files are written to a temporary directory with chmod.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Result } from "effect"
import {
  type ConnectConfig,
  findPassword,
  keyFor,
  lookupPgPass,
  type PgPassKey,
  type PgPassResult,
  passwordFor,
  resolveWith
} from "../../src/config/index.ts"

const file = [
  "# comment line",
  "127.0.0.1:1:db1:alice:pw-one",
  "127.0.0.1:*:db2:alice:pw-two\\:with\\\\colon:tail",
  "*:*:*:bob:pw-bob",
  "localhost:5432:*:carol:pw-carol-local",
  "/var/tmp/sock:5432:*:carol:pw-carol-dir",
  "h\\:x:1:*:dave:pw-dave",
  "*:1:db3:*:",
  " 127.0.0.1:1:db4:erin:pw-space",
  "127.0.0.1:1:db6:gina:pw-crlf\r",
  "127.0.0.1:1:db7:hal:pw-first",
  "127.0.0.1:1:db7:hal:pw-second",
  "127.0.0.1:1:db8:ivy",
  "127.0.0.1:1:db9:joe:trailing\\"
].join("\n")

const key = (host: string, port: string, database: string, user: string): PgPassKey => ({
  host,
  port,
  database,
  user
})

describe("password file matching", () => {
  const cases: ReadonlyArray<readonly [PgPassKey, string | undefined]> = [
    [key("127.0.0.1", "1", "db1", "alice"), "pw-one"], // libpq
    [key("127.0.0.1", "9", "db2", "alice"), "pw-two:with\\colon"], // libpq: \: and \\, ends at ':'
    [key("anything", "2", "x", "bob"), "pw-bob"], // libpq: wildcards
    [key("localhost", "5432", "x", "carol"), "pw-carol-local"], // libpq
    [key("/var/tmp/sock", "5432", "x", "carol"), "pw-carol-dir"], // libpq
    [key("h:x", "1", "x", "dave"), "pw-dave"], // libpq: escaped ':' in the host field
    [key("127.0.0.1", "1", "db3", "zed"), ""], // libpq: an empty password matches (and means none)
    [key("127.0.0.1", "1", "db4", "erin"), undefined], // libpq: no trimming of leading spaces
    [key("127.0.0.1", "1", "db6", "gina"), "pw-crlf"], // libpq: CR LF stripped
    [key("127.0.0.1", "1", "db7", "hal"), "pw-first"], // the first match wins
    [key("127.0.0.1", "1", "db8", "ivy"), undefined], // four fields only: no match
    [key("127.0.0.1", "1", "db9", "joe"), "trailing\\"], // a lone trailing backslash is kept
    [key("127.0.0.1", "01", "db1", "alice"), undefined], // libpq: ports compare as text
    [key("127.0.0.1", "1", "db1", "Alice"), undefined] // case-sensitive
  ]
  for (const [k, expected] of cases) {
    it(`${k.host}:${k.port}:${k.database}:${k.user}`, () => {
      assert.strictEqual(findPassword(file, k)?.password, expected)
    })
  }

  it("reports the line number", () => {
    assert.strictEqual(findPassword(file, key("127.0.0.1", "1", "db1", "alice"))?.line, 2)
  })

  it("looks the default socket directory (and an empty host) up as localhost (libpq)", () => {
    assert.strictEqual(
      keyFor({ host: "/tmp", hostaddr: undefined, port: 5432 }, "d", "u", "/tmp").host,
      "localhost"
    )
    assert.strictEqual(
      keyFor({ host: "/other", hostaddr: undefined, port: 5432 }, "d", "u", "/tmp").host,
      "/other"
    )
    assert.strictEqual(keyFor({ host: "", hostaddr: "10.1.2.3", port: 5 }, "d", "u", "/tmp").host, "10.1.2.3")
    assert.strictEqual(keyFor({ host: "db", hostaddr: "10.1.2.3", port: 5 }, "d", "u", "/tmp").host, "db")
  })
})

describe("password file on disk", () => {
  const withDir = <A, E>(f: (dir: string) => Effect.Effect<A, E>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-pg-pgpass-"))),
      f,
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
  const write = (dir: string, mode: number) => {
    const path = join(dir, "pgpass")
    writeFileSync(path, file)
    chmodSync(path, mode)
    return path
  }
  const alice = key("127.0.0.1", "1", "db1", "alice")

  it.effect("reads a 0600 file", () =>
    withDir((dir) =>
      Effect.gen(function* () {
        const result = yield* lookupPgPass(write(dir, 0o600), alice)
        assert.strictEqual(result._tag, "Found")
        if (result._tag === "Found") assert.strictEqual(Redacted.value(result.password), "pw-one")
      })
    )
  )

  for (const mode of [0o400, 0o700]) {
    it.effect(`reads a 0${mode.toString(8)} file (libpq)`, () =>
      withDir((dir) =>
        Effect.map(lookupPgPass(write(dir, mode), alice), (r) => assert.strictEqual(r._tag, "Found"))
      )
    )
  }

  for (const mode of [0o640, 0o604, 0o644, 0o660]) {
    it.effect(`skips a 0${mode.toString(8)} file as insecure (libpq)`, () =>
      withDir((dir) =>
        Effect.map(lookupPgPass(write(dir, mode), alice), (r) =>
          assert.deepStrictEqual(r, { _tag: "Insecure", path: join(dir, "pgpass"), mode } as PgPassResult)
        )
      )
    )
  }

  it.effect("reports a missing file, a directory, and no match", () =>
    withDir((dir) =>
      Effect.gen(function* () {
        assert.strictEqual((yield* lookupPgPass(join(dir, "none"), alice))._tag, "Unavailable")
        const sub = join(dir, "sub")
        mkdirSync(sub, { mode: 0o700 })
        assert.strictEqual((yield* lookupPgPass(sub, alice))._tag, "NotAFile")
        assert.strictEqual(
          (yield* lookupPgPass(write(dir, 0o600), key("h", "1", "d", "nobody")))._tag,
          "NoMatch"
        )
      })
    )
  )
})

describe("passwordFor", () => {
  const configWith = (input: Parameters<typeof resolveWith>[0], passfile?: string): ConnectConfig => {
    const result = resolveWith(input, {
      env: {},
      osUser: () => "alice",
      defaultPassfile: passfile,
      sslDir: undefined,
      defaultSocketDir: "/tmp"
    })
    if (Result.isFailure(result)) throw new Error(result.failure.message)
    return result.success
  }

  it.effect("uses the given password before the file", () =>
    Effect.gen(function* () {
      const c = configWith(
        { host: "127.0.0.1", port: 1, database: "db1", password: Redacted.make("given") },
        "/nonexistent"
      )
      const choice = yield* passwordFor(c, c.hosts[0]!)
      assert.strictEqual(choice.source, "config")
      assert.strictEqual(Redacted.value(choice.password!), "given")
      assert.strictEqual(choice.passfile, undefined)
    })
  )

  it.effect("runs a password Effect at every call (fresh tokens)", () =>
    Effect.gen(function* () {
      let n = 0
      const source = Effect.sync(() => Redacted.make(`token-${++n}`))
      const c = configWith({ host: "h", password: source })
      const first = yield* passwordFor(c, c.hosts[0]!)
      const second = yield* passwordFor(c, c.hosts[0]!)
      assert.deepStrictEqual(
        [first.source, Redacted.value(first.password!), Redacted.value(second.password!)],
        ["effect", "token-1", "token-2"]
      )
    })
  )

  it.effect("turns a failing password Effect into PasswordSource", () =>
    Effect.gen(function* () {
      const c = configWith({ host: "h", password: Effect.fail("iam down") })
      const error = yield* Effect.flip(passwordFor(c, c.hosts[0]!))
      assert.strictEqual(error.reason, "PasswordSource")
      assert.strictEqual(error.cause, "iam down")
    })
  )

  it.effect("falls back to the file when no (or an empty) password is given (libpq)", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "effect-pg-pgpass-"))
      try {
        const path = join(dir, "pgpass")
        writeFileSync(path, file, { mode: 0o600 })
        const c = configWith(
          { host: "127.0.0.1", port: 1, database: "db1", user: "alice", password: Redacted.make("") },
          path
        )
        const choice = yield* passwordFor(c, c.hosts[0]!)
        assert.strictEqual(choice.source, "passfile")
        assert.strictEqual(Redacted.value(choice.password!), "pw-one")
        const socket = configWith({ host: "/tmp", user: "carol" }, path)
        const local = yield* passwordFor(socket, socket.hosts[0]!, { defaultSocketDir: "/tmp" })
        assert.strictEqual(Redacted.value(local.password!), "pw-carol-local")
        const empty = configWith({ host: "127.0.0.1", port: 1, database: "db3", user: "zed" }, path)
        const none = yield* passwordFor(empty, empty.hosts[0]!)
        assert.deepStrictEqual(
          [none.source, none.password, none.passfile?._tag],
          ["none", undefined, "Found"]
        )
        chmodSync(path, 0o644)
        const insecure = yield* passwordFor(c, c.hosts[0]!)
        assert.deepStrictEqual([insecure.password, insecure.passfile?._tag], [undefined, "Insecure"])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  )
})
