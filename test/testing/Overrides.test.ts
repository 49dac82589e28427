import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { dockerEngineHint, externalFromEnv } from "../../src/testing/External.ts"
import { PgTestServer, start } from "../../src/testing/index.ts"

describe("externalFromEnv", () => {
  it("is undefined without PG_URL and PGHOST", () => {
    assert.isUndefined(externalFromEnv({}))
    assert.isUndefined(externalFromEnv({ PGPORT: "5433", PGUSER: "u", PG_URL: "", PGHOST: "" }))
  })

  it("reads a full PG_URL", () => {
    const info = externalFromEnv({
      PG_URL: "postgresql://al%40ice:p%3Ass@db.example:6543/app%20db?sslmode=require"
    })
    assert.deepStrictEqual(info, {
      source: "external",
      host: "db.example",
      port: 6543,
      database: "app db",
      user: "al@ice",
      password: "p:ss",
      url: "postgresql://al%40ice:p%3Ass@db.example:6543/app%20db?sslmode=require",
      sslMode: "require"
    })
  })

  it("fills PG_URL gaps from PG* variables and libpq defaults", () => {
    const info = externalFromEnv({
      PG_URL: "postgres://",
      PGHOST: "10.0.0.1",
      PGUSER: "bob",
      PGSSLMODE: "disable"
    })
    assert.strictEqual(info?.host, "10.0.0.1")
    assert.strictEqual(info?.port, 5432)
    assert.strictEqual(info?.user, "bob")
    assert.strictEqual(info?.database, "bob", "database defaults to the user name")
    assert.strictEqual(info?.sslMode, "disable")
    assert.isUndefined(info?.password)
  })

  it("reads PG* variables, including a socket directory and IPv6", () => {
    const socket = externalFromEnv({
      PGHOST: "/var/run/postgresql",
      PGPORT: "5499",
      PGDATABASE: "d",
      PGPASSWORD: "pw"
    })
    assert.strictEqual(socket?.socketDir, "/var/run/postgresql")
    assert.strictEqual(socket?.url, "postgres://postgres:pw@%2Fvar%2Frun%2Fpostgresql:5499/d")
    const v6 = externalFromEnv({ PGHOST: "::1" })
    assert.strictEqual(v6?.url, "postgres://postgres@[::1]:5432/postgres")
    const fromQuery = externalFromEnv({ PG_URL: "postgres://u@/db?host=/tmp/sock" })
    assert.strictEqual(fromQuery?.host, "/tmp/sock")
    assert.strictEqual(fromQuery?.socketDir, "/tmp/sock")
    assert.strictEqual(fromQuery?.database, "db")
    const encoded = externalFromEnv({ PG_URL: socket!.url })
    assert.deepStrictEqual(
      [encoded?.host, encoded?.port, encoded?.database],
      ["/var/run/postgresql", 5499, "d"]
    )
  })

  it("rejects malformed values", () => {
    for (const env of [
      { PG_URL: "not a url" },
      { PG_URL: "mysql://h/db" },
      { PGHOST: "h", PGPORT: "99999" }
    ]) {
      assert.throws(() => externalFromEnv(env), /PG_URL|PGPORT/)
    }
  })
})

describe("docker detection", () => {
  it("is a file-system check taking well under a millisecond per call", () => {
    const t0 = performance.now()
    for (let i = 0; i < 100; i++) dockerEngineHint({ HOME: "/nonexistent", XDG_RUNTIME_DIR: "/nonexistent" })
    const perCall = (performance.now() - t0) / 100
    assert.isBelow(perCall, 1)
    assert.isTrue(dockerEngineHint({ DOCKER_HOST: "tcp://127.0.0.1:2375" }))
  })
})

describe("start with overrides", () => {
  it.effect("starts nothing when PG_URL is set", () =>
    Effect.gen(function* () {
      const tmp = mkdtempSync(join(tmpdir(), "pgt-over-"))
      const pg = yield* start({ env: { PG_URL: "postgres://u:p@example.invalid:1/x" }, tmpDir: tmp })
      assert.strictEqual(pg.source, "external")
      assert.isUndefined(pg.roles)
      assert.isUndefined(pg.tls)
      assert.isUndefined(pg.restart)
      assert.deepStrictEqual(readdirSync(tmp), [])
      rmSync(tmp, { recursive: true })
    })
  )

  it.effect("backend external without PG_URL/PGHOST is an error", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(start({ backend: "external", env: {} }))
      assert.strictEqual(error.reason, "InvalidOptions")
    })
  )

  it.effect("backend container without testcontainers installed fails fast with reason Container", () =>
    Effect.gen(function* () {
      const t0 = performance.now()
      const error = yield* Effect.flip(start({ backend: "container", env: {} }))
      assert.strictEqual(error.reason, "Container")
      assert.include(error.message, "@testcontainers/postgresql")
      assert.isBelow(performance.now() - t0, 2_000)
    })
  )

  it.effect("validates options before starting anything", () =>
    Effect.gen(function* () {
      const bad = [
        { version: 13 as unknown as 18 },
        { settings: { "x y": "1" } },
        { hba: ["host all all 0.0.0.0/0 trust\nlocal all all trust"] },
        { startTimeout: -1 },
        { runAs: "bad user" }
      ]
      for (const options of bad) {
        const error = yield* Effect.flip(start({ env: {}, ...options }))
        assert.strictEqual(error.reason, "InvalidOptions", JSON.stringify(options))
      }
    })
  )
})

layer(PgTestServer.layer({ env: { PGHOST: "db.internal", PGPORT: "6000", PGUSER: "ci" } }))(
  "layer with PGHOST",
  (it) => {
    it.effect("provides the external settings as the service", () =>
      Effect.gen(function* () {
        const pg = yield* PgTestServer
        assert.deepStrictEqual(
          [pg.source, pg.host, pg.port, pg.user, pg.database],
          ["external", "db.internal", 6000, "ci", "ci"]
        )
        assert.strictEqual(pg.url, "postgres://ci@db.internal:6000/ci")
      })
    )
  }
)
