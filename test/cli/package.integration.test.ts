/**
 * The CLI as the package installs it: src/ compiled the way `npm run build` compiles it (into a
 * temporary directory, so the repository's dist/ is left alone), laid out like an installed
 * package (package.json, dist/, and node_modules with only the dependencies and peer dependencies), and started
 * through its `#!/usr/bin/env node` line with type stripping off — as Node 22 runs it, where .ts
 * files cannot load. Checks --version (read from the package.json next to dist/), a query
 * against a real PostgreSQL 18, and that no compiled file imports a package outside
 * `dependencies` and `peerDependencies`.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { PgTestServer } from "../../src/testing/index.ts"
import { nodeBin, repoRoot, runCli, tempDir } from "./support.ts"

const pkgDir = path.join(tempDir("effect-pg-cli-pkg"), "effect-pg")
const main = path.join(pkgDir, "dist/cli/main.js")

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
  readonly name: string
  readonly version: string
  readonly dependencies?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
}

/** What an installed package can import: its dependencies and peer dependencies. */
const runtimeDependencies = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {})
]

/** Compiles src/ into the package directory; tsc's own report when it fails. */
const build = () => {
  fs.mkdirSync(pkgDir, { recursive: true })
  fs.copyFileSync(path.join(repoRoot, "package.json"), path.join(pkgDir, "package.json"))
  try {
    execFileSync(
      nodeBin,
      [
        path.join(repoRoot, "node_modules/typescript/bin/tsc"),
        ...["-p", path.join(repoRoot, "tsconfig.build.json"), "--outDir", path.join(pkgDir, "dist")],
        ...["--declaration", "false", "--declarationMap", "false", "--sourceMap", "false"]
      ],
      { cwd: repoRoot, stdio: "pipe" }
    )
  } catch (error) {
    // Type errors elsewhere in the tree (work in progress) still emit JavaScript: go on if main.js is there.
    if (!fs.existsSync(main)) throw error
  }
  for (const dep of runtimeDependencies) {
    const link = path.join(pkgDir, "node_modules", dep)
    fs.mkdirSync(path.dirname(link), { recursive: true })
    fs.symlinkSync(path.join(repoRoot, "node_modules", dep), link, "dir")
  }
  fs.chmodSync(main, 0o755) // npm does this for a bin entry when it installs the package
}

const jsFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? jsFiles(p) : p.endsWith(".js") ? [p] : []
  })

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 180_000, excludeTestServices: true })(
  "effect-pg CLI from the compiled package",
  (it) => {
    it.effect(
      "dist/cli/main.js starts through its shebang without type stripping and runs a query",
      () =>
        Effect.gen(function* () {
          const { url } = yield* PgTestServer.PgTestServer
          build()
          assert.match(fs.readFileSync(main, "utf8"), /^#!\/usr\/bin\/env node\n/)
          const env = {
            PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH ?? ""}`,
            NODE_OPTIONS: "--no-experimental-strip-types"
          }
          const version = yield* runCli(["--version"], { program: main, env, cwd: pkgDir })
          assert.strictEqual(version.stderr, "")
          assert.strictEqual(version.stdout, `effect-pg ${pkg.version}\n`)
          const r = yield* runCli([`--url=${url}`, "--json", "select 'installed' as how"], {
            program: main,
            env,
            cwd: pkgDir
          })
          assert.strictEqual(r.code, 0, r.stderr)
          assert.strictEqual(r.stdout, '[{"how":"installed"}]\n')
        }),
      { timeout: 180_000 }
    )

    it("no compiled file imports a package outside dependencies and peer dependencies", () => {
      if (!fs.existsSync(main)) build()
      // The package's own name counts (a self-reference). Comments are not code: doc comments
      // quote SQL (`select … from "s"."t"`) and examples, so they are removed before scanning.
      const allowed = new Set([pkg.name, ...runtimeDependencies])
      const bad: Array<string> = []
      for (const file of jsFiles(path.join(pkgDir, "dist"))) {
        const text = fs
          .readFileSync(file, "utf8")
          .replace(/\/\*[\s\S]*?\*\//g, "")
          .replace(/^\s*\/\/.*$/gm, "")
        for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"'.][^"']*)["']/g)) {
          const spec = m[1]!
          if (spec.startsWith("node:")) continue
          const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!
          if (!allowed.has(name)) bad.push(`${path.relative(pkgDir, file)}: ${spec}`)
        }
      }
      assert.deepStrictEqual(bad, [])
    })
  }
)
