import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { dockerEngineHint, externalFromEnv, externalUrlVariable } from "../../src/testing/External.ts"
import { PgTestServer } from "../../src/testing/index.ts"

const libpqEnv = {
  PG_URL: "postgres://u:p@prod.example:5432/app",
  DATABASE_URL: "postgres://u:p@prod.example:5432/app",
  PGHOST: "prod.example",
  PGPORT: "6000",
  PGUSER: "admin",
  PGPASSWORD: "secret",
  PGDATABASE: "app",
  PGSSLMODE: "require"
}

describe("externalFromEnv", () => {
  it("is undefined without EFFECT_PG_TEST_URL, whatever PG_URL, DATABASE_URL and PG* say", () => {
    assert.strictEqual(externalUrlVariable, "EFFECT_PG_TEST_URL")
    assert.isUndefined(externalFromEnv({}))
    assert.isUndefined(externalFromEnv(libpqEnv))
    assert.isUndefined(externalFromEnv({ ...libpqEnv, EFFECT_PG_TEST_URL: "" }))
  })

  it("reads a full EFFECT_PG_TEST_URL", () => {
    const info = externalFromEnv({
      EFFECT_PG_TEST_URL: "postgresql://al%40ice:p%3Ass@db.example:6543/app%20db?sslmode=require"
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

  it("fills the URL's gaps with libpq's defaults, never with PG* variables", () => {
    const info = externalFromEnv({ ...libpqEnv, EFFECT_PG_TEST_URL: "postgres://" })
    assert.deepStrictEqual(
      [info?.host, info?.port, info?.user, info?.database, info?.password, info?.sslMode],
      ["localhost", 5432, "postgres", "postgres", undefined, undefined]
    )
    const named = externalFromEnv({ EFFECT_PG_TEST_URL: "postgres://bob@h" })
    assert.strictEqual(named?.database, "bob", "database defaults to the user name")
  })

  it("reads a socket directory (in the host or as ?host=) and IPv6", () => {
    const socket = externalFromEnv({
      EFFECT_PG_TEST_URL: "postgres://postgres:pw@%2Fvar%2Frun%2Fpostgresql:5499/d"
    })
    assert.deepStrictEqual(
      [socket?.host, socket?.socketDir, socket?.port, socket?.database, socket?.password],
      ["/var/run/postgresql", "/var/run/postgresql", 5499, "d", "pw"]
    )
    const v6 = externalFromEnv({ EFFECT_PG_TEST_URL: "postgres://[::1]/x" })
    assert.deepStrictEqual([v6?.host, v6?.database], ["::1", "x"])
    const fromQuery = externalFromEnv({ EFFECT_PG_TEST_URL: "postgres://u@/db?host=/tmp/sock" })
    assert.deepStrictEqual(
      [fromQuery?.host, fromQuery?.socketDir, fromQuery?.database],
      ["/tmp/sock", "/tmp/sock", "db"]
    )
  })

  it("rejects malformed values, naming the variable", () => {
    for (const url of ["not a url", "mysql://h/db", "postgres://h:99999/db"]) {
      assert.throws(() => externalFromEnv({ EFFECT_PG_TEST_URL: url }), /EFFECT_PG_TEST_URL/)
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
  it.effect("starts nothing when EFFECT_PG_TEST_URL is set", () =>
    Effect.gen(function* () {
      const tmp = mkdtempSync(join(tmpdir(), "pgt-over-"))
      const pg = yield* PgTestServer.start({
        env: { EFFECT_PG_TEST_URL: "postgres://u:p@example.invalid:1/x" },
        tmpDir: tmp
      })
      assert.strictEqual(pg.source, "external")
      assert.isUndefined(pg.roles)
      assert.isUndefined(pg.tls)
      assert.isUndefined(pg.restart)
      assert.deepStrictEqual(readdirSync(tmp), [])
      rmSync(tmp, { recursive: true })
    })
  )

  it.effect("backend external without EFFECT_PG_TEST_URL is an error, even with PG_URL and PGHOST set", () =>
    Effect.gen(function* () {
      for (const env of [{}, libpqEnv]) {
        const error = yield* Effect.flip(PgTestServer.start({ backend: "external", env }))
        assert.strictEqual(error.reason, "InvalidOptions")
        assert.include(error.message, "EFFECT_PG_TEST_URL=postgres://")
      }
    })
  )

  it.effect("backend container without testcontainers installed fails fast with reason Container", () =>
    Effect.gen(function* () {
      const t0 = performance.now()
      const error = yield* Effect.flip(PgTestServer.start({ backend: "container", env: {} }))
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
        const error = yield* Effect.flip(PgTestServer.start({ env: {}, ...options }))
        assert.strictEqual(error.reason, "InvalidOptions", JSON.stringify(options))
      }
    })
  )
})

layer(PgTestServer.layer({ env: { EFFECT_PG_TEST_URL: "postgres://ci@db.internal:6000", PGUSER: "other" } }))(
  "layer with EFFECT_PG_TEST_URL",
  (it) => {
    it.effect("provides the external settings as the service", () =>
      Effect.gen(function* () {
        const pg = yield* PgTestServer.PgTestServer
        assert.deepStrictEqual(
          [pg.source, pg.host, pg.port, pg.user, pg.database],
          ["external", "db.internal", 6000, "ci", "ci"]
        )
        assert.strictEqual(pg.url, "postgres://ci@db.internal:6000")
      })
    )
  }
)
