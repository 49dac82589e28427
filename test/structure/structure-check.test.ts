/**
 * The structure check (scripts/structure-check.ts) on small fixture trees written to a temp dir:
 * an over-long file, an over-long arrow inside Effect.gen, upward imports (static, type-only,
 * re-export, dynamic), a pure layer importing effect or a Node builtin, generated files skipped,
 * a clean tree; and the command's exit code.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, it } from "@effect/vitest"
import { assert } from "vitest"
import { checkTree, layerOf } from "../../scripts/structure-check.ts"

const script = fileURLToPath(new URL("../../scripts/structure-check.ts", import.meta.url))
const roots: Array<string> = []

/** Writes `files` (root-relative path → content) into a fresh temp dir and returns it. */
const tree = (files: Record<string, string>): string => {
  const root = mkdtempSync(path.join(tmpdir(), "structure-"))
  roots.push(root)
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
    writeFileSync(path.join(root, file), text)
  }
  return root
}

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

const lines = (n: number, text = "const x = 1"): string =>
  `${Array.from({ length: n }, () => text).join("\n")}\n`

describe("checkTree", () => {
  it("reports a file over 500 lines with its count, and none at 500", () => {
    const report = checkTree(tree({ "src/cli/long.ts": lines(501), "src/cli/ok.ts": lines(500) }))
    assert.deepStrictEqual(report.longFiles, [{ file: "src/cli/long.ts", lines: 501 }])
    assert.strictEqual(report.violations, 1)
  })

  it("reports an over-long arrow inside Effect.gen by the variable it is assigned to", () => {
    const text = [
      'import { Effect } from "effect"',
      "export const run = Effect.gen(function* () {",
      "  const step = () => {",
      lines(155, "    yield* Effect.void").trimEnd(),
      "  }",
      "  return step",
      "})",
      ""
    ].join("\n")
    const report = checkTree(tree({ "src/cli/gen.ts": text }))
    assert.deepStrictEqual(report.longFunctions, [
      { file: "src/cli/gen.ts", line: 2, name: "run › Effect.gen(…)", lines: 160 },
      { file: "src/cli/gen.ts", line: 3, name: "step", lines: 157 }
    ])
  })

  it("reports a wrapper around an Effect.gen body once, by the inner function", () => {
    const text = [
      "export const run = (n: number) =>",
      "  Effect.gen(function* () {",
      lines(155, "    yield* Effect.void").trimEnd(),
      "    return n",
      "  })",
      ""
    ].join("\n")
    const report = checkTree(tree({ "src/cli/wrap.ts": text }))
    assert.deepStrictEqual(report.longFunctions, [
      { file: "src/cli/wrap.ts", line: 2, name: "run › Effect.gen(…)", lines: 158 }
    ])
  })

  it("names methods, constructors and getters by class", () => {
    const body = lines(151, "    this.n++").trimEnd()
    const text = [
      "class Box {",
      "  n = 0",
      "  constructor() {",
      body,
      "  }",
      "  get size() {",
      body,
      "    return 1",
      "  }",
      "}",
      ""
    ]
    const report = checkTree(tree({ "src/cli/box.ts": text.join("\n") }))
    assert.deepStrictEqual(
      report.longFunctions.map((f) => [f.name, f.line, f.lines]),
      [
        ["Box.constructor", 3, 153],
        ["get Box.size", 156, 154]
      ]
    )
  })

  it("reports imports of a higher layer: static, type-only, re-export and dynamic", () => {
    const report = checkTree(
      tree({
        "src/engine/Engine.ts": 'import { wire } from "../Codec.ts"\nexport const e = wire\n',
        "src/Codec.ts": 'import { e } from "./engine/Engine.ts"\nexport const wire = e\n',
        "src/errors/E.ts": [
          'import type { Cfg } from "../config/Env.ts"',
          'export { e } from "../engine/Engine.ts"',
          'export const later = () => import("../Pool.ts")',
          'import { ConfigError } from "../config/ConfigError.ts"',
          "export type T = Cfg | ConfigError",
          ""
        ].join("\n"),
        "src/config/Env.ts": "export type Cfg = string\n",
        "src/config/ConfigError.ts": "export class ConfigError {}\n",
        "src/Pool.ts": "export const pool = 1\n"
      })
    )
    assert.deepStrictEqual(
      report.imports.map((i) => [i.file, i.line, i.specifier, i.target]),
      [
        ["src/engine/Engine.ts", 1, "../Codec.ts", "src/Codec.ts"],
        ["src/errors/E.ts", 1, "../config/Env.ts", "src/config/Env.ts"],
        ["src/errors/E.ts", 2, "../engine/Engine.ts", "src/engine/Engine.ts"],
        ["src/errors/E.ts", 3, "../Pool.ts", "src/Pool.ts"]
      ]
    )
    assert.include(
      report.imports[0]!.message,
      "layer 3 (engine) may not import src/Codec.ts, layer 4 (services)"
    )
  })

  it("reports a pure layer importing effect or a Node builtin, and not a higher layer doing so", () => {
    const report = checkTree(
      tree({
        "src/lexer/L.ts":
          'import { Effect } from "effect"\nimport * as fs from "node:fs"\nexport { Effect, fs }\n',
        "src/commands/C.ts": 'import type { Schema } from "effect/Schema"\nexport type S = Schema.Any\n',
        "src/protocol/P.ts": 'import { Buffer } from "buffer"\nexport const b = Buffer\n',
        "src/engine/E.ts":
          'import { Effect } from "effect"\nimport * as fs from "node:fs"\nexport { Effect, fs }\n'
      })
    )
    assert.deepStrictEqual(
      report.imports.map((i) => [i.file, i.specifier]),
      [
        ["src/commands/C.ts", "effect/Schema"],
        ["src/lexer/L.ts", "effect"],
        ["src/lexer/L.ts", "node:fs"],
        ["src/protocol/P.ts", "buffer"]
      ]
    )
    assert.include(report.imports[1]!.message, "layer 0 (pure) is pure")
  })

  it("skips SaslPrepTables.ts and @generated files, and passes a clean tree", () => {
    const report = checkTree(
      tree({
        "src/auth/SaslPrepTables.ts": lines(900),
        "src/protocol/Gen.ts": `// header\n// @generated by a script\n${lines(900)}`,
        "src/protocol/Reader.ts": "export const read = (b: Uint8Array) => b[0]\n",
        "src/engine/Engine.ts": 'import { read } from "../protocol/Reader.ts"\nexport const run = read\n',
        "src/Connection.ts":
          'import { run } from "./engine/Engine.ts"\nimport { Effect } from "effect"\nexport { run, Effect }\n',
        "src/index.ts": 'export * from "./Connection.ts"\nexport * as Pool from "./pool/index.ts"\n',
        "src/pool/index.ts": 'import { run } from "../Connection.ts"\nexport const p = run\n'
      })
    )
    assert.strictEqual(report.violations, 0)
    assert.strictEqual(report.checked, 5)
    assert.deepStrictEqual(
      report.skipped.map((s) => s.file),
      ["src/auth/SaslPrepTables.ts", "src/protocol/Gen.ts"]
    )
  })

  it("reports a relative import that resolves to no file", () => {
    const report = checkTree(
      tree({ "src/cli/a.ts": 'import { b } from "./missing.ts"\nexport const a = b\n' })
    )
    assert.deepStrictEqual(
      report.imports.map((i) => i.message),
      ['"./missing.ts" does not resolve to a file']
    )
  })
})

describe("layerOf", () => {
  it("takes the most specific pattern and puts unmatched files in layer 7", () => {
    assert.strictEqual(layerOf("src/config/ConfigError.ts").level, 2)
    assert.strictEqual(layerOf("src/config/Env.ts").level, 4)
    assert.strictEqual(layerOf("src/Sqlstate.ts").level, 0)
    assert.strictEqual(layerOf("src/commands/simple.ts").level, 1)
    assert.strictEqual(layerOf("src/somewhere/new.ts").level, 7)
  })
})

describe("the command", () => {
  const run = (root: string, ...args: Array<string>) =>
    spawnSync(process.execPath, [script, "--root", root, ...args], { encoding: "utf8" })

  it("exits 1 with one line per violation and a summary, 0 on a clean tree", () => {
    const bad = run(tree({ "src/lexer/L.ts": 'import { Effect } from "effect"\nexport { Effect }\n' }))
    assert.strictEqual(bad.status, 1, bad.stderr)
    assert.deepStrictEqual(bad.stdout.trimEnd().split("\n"), [
      "Imports against the layers (1):",
      '  src/lexer/L.ts:1 imports "effect": layer 0 (pure) is pure and may not import "effect"',
      "structure: 1 violation(s) in 1 files checked"
    ])
    const good = run(tree({ "src/cli/a.ts": "export const a = 1\n" }), "--json")
    assert.strictEqual(good.status, 0, good.stderr)
    assert.strictEqual(JSON.parse(good.stdout).violations, 0)
  })
})
