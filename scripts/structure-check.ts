/**
 * The structure check (docs/structure.md): every hand-written `.ts` file under `src/` stays within
 * the size limits, and imports only its own layer or lower ones.
 *
 * Usage: `node scripts/structure-check.ts [--json] [--root DIR]` (`npm run structure`). Prints one
 * line per violation, grouped by kind, then a summary line; exits with 1 when there is any
 * violation, 0 otherwise. `--json` prints the report as JSON instead. `--root` is the project
 * folder (the one holding `src/`); by default the folder above this script.
 *
 * What it checks:
 * - no file over `maxFileLines` lines, unless it is in `ALLOW_LONG_FILES` (with a reason);
 * - no function over `maxFunctionLines` lines: declarations, expressions (an `Effect.gen` body
 *   too), arrows, methods, accessors and constructors, from the node's first token to its end;
 * - relative imports (static `import`/`export … from`, `import x = require(…)`, `import("…")`
 *   calls and `import("…")` types, `import type` included) point to the importer's layer or a
 *   lower one, and a pure layer imports no `effect`, `effect/*`, `@effect/*` or Node builtin.
 *
 * What it does NOT do: it reads files and writes nothing; npm imports of the non-pure layers are
 * not checked; a file in `SKIP` or with `@generated` in its first 5 lines is not checked at all
 * (it still has a layer as an import target).
 */
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs"
import { isBuiltin } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import ts from "typescript"

// ---------------------------------------------------------------------------------------------
// The layers, lowest first. A file may import its own layer or any lower one. A pattern is a file
// (`src/Result.ts`) or a folder with everything below it (`src/protocol/**`), relative to the
// project root. The most specific pattern wins: a file beats a folder, a deeper folder beats a
// shallower one (so `src/config/ConfigError.ts` is a value while the rest of `src/config/**` is a
// service). A file no pattern matches is in `DEFAULT_LAYER`. A `pure` layer may not import
// anything matching `PURE_FORBIDDEN`. To move a module: edit its pattern here, run the check, and
// update the table in docs/structure.md.
// ---------------------------------------------------------------------------------------------
export interface Layer {
  readonly level: number
  readonly name: string
  readonly pure: boolean
  readonly patterns: ReadonlyArray<string>
}

export const LAYERS: ReadonlyArray<Layer> = [
  {
    level: 0,
    name: "pure",
    pure: true,
    patterns: [
      "src/protocol/**",
      "src/lexer/**",
      "src/auth/**",
      "src/copy/**",
      "src/replication/**",
      "src/types/**",
      "src/Result.ts",
      "src/Sqlstate.ts"
    ]
  },
  { level: 1, name: "commands", pure: true, patterns: ["src/commands/**"] },
  {
    level: 2,
    name: "values",
    pure: false,
    patterns: ["src/errors/**", "src/Errors.ts", "src/config/ConfigError.ts"]
  },
  { level: 3, name: "engine", pure: false, patterns: ["src/engine/**"] },
  {
    level: 4,
    name: "services",
    pure: false,
    patterns: [
      "src/PgSocket.ts",
      "src/Codec.ts",
      "src/Auth.ts",
      "src/config/**",
      "src/connection/**",
      "src/Quote.ts"
    ]
  },
  { level: 5, name: "api", pure: false, patterns: ["src/Connection.ts", "src/Expert.ts", "src/api/**"] },
  { level: 6, name: "pool", pure: false, patterns: ["src/Pool.ts", "src/pool/**"] },
  // Everything else under src/ lands here too (DEFAULT_LAYER); the patterns only name the usual ones.
  {
    level: 7,
    name: "adapters",
    pure: false,
    patterns: [
      "src/cli/**",
      "src/testing/**",
      "src/session/**",
      "src/SessionStore.ts",
      "src/sql/**",
      "src/index.ts",
      "src/main.ts"
    ]
  }
]

export const DEFAULT_LAYER = 7

/** What a pure layer may not import: a package name, or a prefix ending in `/` or `:`. */
export const PURE_FORBIDDEN: ReadonlyArray<string> = ["effect", "effect/", "@effect/", "node:"]

/**
 * Pure-layer files allowed a Node builtin, with the reason: the authentication maths use the
 * runtime's hash primitives (synchronous pure functions, no I/O). The commands themselves may not.
 */
export const PURE_ALLOWED: ReadonlyArray<{
  readonly folder: string
  readonly modules: ReadonlyArray<string>
  readonly reason: string
}> = [
  {
    folder: "src/auth/",
    modules: ["node:crypto", "node:buffer"],
    reason: "MD5, SHA-256, HMAC and byte helpers from the runtime: pure functions, no I/O"
  }
]

/** Files not checked at all, with the reason (besides files marked `@generated`). */
export const SKIP: ReadonlyArray<{ readonly file: string; readonly reason: string }> = [
  {
    file: "src/auth/SaslPrepTables.ts",
    reason: "generated tables, written by test/auth/generate-saslprep-tables.py"
  }
]

/**
 * Files allowed over the file-length limit: only files that are mainly a data table. Their
 * functions and imports are still checked. Keep this list minimal.
 */
export const ALLOW_LONG_FILES: ReadonlyArray<{ readonly file: string; readonly reason: string }> = [
  {
    file: "src/Sqlstate.ts",
    reason: "one constant per SQLSTATE code plus two lookup tables, written by scripts/gen-sqlstate.ts"
  }
]

export interface Options {
  readonly maxFileLines: number
  readonly maxFunctionLines: number
  readonly layers: ReadonlyArray<Layer>
  readonly defaultLayer: number
  readonly skip: ReadonlyArray<{ readonly file: string; readonly reason: string }>
  readonly allowLongFiles: ReadonlyArray<{ readonly file: string; readonly reason: string }>
}

export const defaultOptions: Options = {
  maxFileLines: 500,
  maxFunctionLines: 150,
  layers: LAYERS,
  defaultLayer: DEFAULT_LAYER,
  skip: SKIP,
  allowLongFiles: ALLOW_LONG_FILES
}

export interface LongFile {
  readonly file: string
  readonly lines: number
}

export interface LongFunction {
  readonly file: string
  readonly line: number
  readonly name: string
  readonly lines: number
}

export interface ImportViolation {
  readonly file: string
  readonly line: number
  readonly specifier: string
  /** The file a relative specifier resolves to (relative to the root), absent for a package. */
  readonly target?: string
  readonly message: string
}

export interface Report {
  readonly root: string
  readonly checked: number
  readonly skipped: ReadonlyArray<{ readonly file: string; readonly reason: string }>
  readonly allowedLong: ReadonlyArray<{
    readonly file: string
    readonly lines: number
    readonly reason: string
  }>
  readonly longFiles: ReadonlyArray<LongFile>
  readonly longFunctions: ReadonlyArray<LongFunction>
  readonly imports: ReadonlyArray<ImportViolation>
  readonly violations: number
}

const toPosix = (p: string): string => p.split(path.sep).join("/")

/** The layer of a root-relative posix path: the most specific matching pattern, else the default. */
export const layerOf = (file: string, options: Options = defaultOptions): Layer => {
  let best: { readonly layer: Layer; readonly score: number } | undefined
  for (const layer of options.layers) {
    for (const pattern of layer.patterns) {
      const score = pattern.endsWith("/**")
        ? file.startsWith(pattern.slice(0, -2))
          ? pattern.length
          : -1
        : file === pattern
          ? Number.POSITIVE_INFINITY
          : -1
      if (score >= 0 && (best === undefined || score > best.score)) best = { layer, score }
    }
  }
  if (best !== undefined) return best.layer
  const fallback = options.layers.find((l) => l.level === options.defaultLayer)
  return fallback ?? { level: options.defaultLayer, name: "default", pure: false, patterns: [] }
}

const countLines = (text: string): number => {
  if (text.length === 0) return 0
  const lines = text.split("\n").length
  return text.endsWith("\n") ? lines - 1 : lines
}

const listTsFiles = (root: string): Array<string> => {
  const src = path.join(root, "src")
  const entries = readdirSync(src, { recursive: true, encoding: "utf8" })
  return entries
    .filter((entry) => /\.[mc]?tsx?$/.test(entry) && statSync(path.join(src, entry)).isFile())
    .map((entry) => toPosix(path.join("src", entry)))
    .sort()
}

// --- functions -----------------------------------------------------------------------------------

type FunctionNode =
  | ts.FunctionDeclaration
  | ts.FunctionExpression
  | ts.ArrowFunction
  | ts.MethodDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration
  | ts.ConstructorDeclaration

const isFunctionNode = (node: ts.Node): node is FunctionNode =>
  ts.isFunctionDeclaration(node) ||
  ts.isFunctionExpression(node) ||
  ts.isArrowFunction(node) ||
  ts.isMethodDeclaration(node) ||
  ts.isGetAccessorDeclaration(node) ||
  ts.isSetAccessorDeclaration(node) ||
  ts.isConstructorDeclaration(node)

const propertyName = (name: ts.PropertyName | ts.BindingName, sf: ts.SourceFile): string =>
  ts.isIdentifier(name) ||
  ts.isStringLiteral(name) ||
  ts.isNumericLiteral(name) ||
  ts.isPrivateIdentifier(name)
    ? name.text
    : name.getText(sf)

/** Skips what wraps an expression without changing it: `(…)`, `as`, `satisfies`, `!`. */
const holderOf = (node: ts.Node): ts.Node => {
  let parent = node.parent
  while (
    ts.isParenthesizedExpression(parent) ||
    ts.isAsExpression(parent) ||
    ts.isSatisfiesExpression(parent) ||
    ts.isNonNullExpression(parent)
  ) {
    parent = parent.parent
  }
  return parent
}

/** The name of the nearest enclosing function, variable or property of `node`, or "". */
const enclosingName = (node: ts.Node, sf: ts.SourceFile): string => {
  for (let at = node.parent; at !== undefined && !ts.isSourceFile(at); at = at.parent) {
    if (isFunctionNode(at)) return functionName(at, sf)
    if (ts.isVariableDeclaration(at)) return propertyName(at.name, sf)
    if (ts.isPropertyAssignment(at) || ts.isPropertyDeclaration(at))
      return qualify(at, propertyName(at.name, sf), sf)
    if (ts.isClassLike(at) && at.name !== undefined) return at.name.text
  }
  return ""
}

/** `Class.member` in a named class, `object.member` in an object literal held by a name. */
const qualify = (member: ts.Node, name: string, sf: ts.SourceFile): string => {
  const owner = member.parent
  if (ts.isClassLike(owner)) return owner.name !== undefined ? `${owner.name.text}.${name}` : name
  if (ts.isObjectLiteralExpression(owner)) {
    const outer = enclosingName(owner, sf)
    return outer === "" ? name : `${outer}.${name}`
  }
  return name
}

/** A function's own name, else the variable or property it is assigned to, else its call. */
export const functionName = (fn: FunctionNode, sf: ts.SourceFile): string => {
  if (ts.isConstructorDeclaration(fn)) return qualify(fn, "constructor", sf)
  if (ts.isMethodDeclaration(fn) || ts.isGetAccessorDeclaration(fn) || ts.isSetAccessorDeclaration(fn)) {
    const prefix = ts.isGetAccessorDeclaration(fn) ? "get " : ts.isSetAccessorDeclaration(fn) ? "set " : ""
    return prefix + qualify(fn, propertyName(fn.name, sf), sf)
  }
  if (fn.name !== undefined) return fn.name.text
  const holder = holderOf(fn)
  if (ts.isVariableDeclaration(holder)) return propertyName(holder.name, sf)
  if (ts.isPropertyAssignment(holder) || ts.isPropertyDeclaration(holder)) {
    return qualify(holder, propertyName(holder.name, sf), sf)
  }
  if (ts.isBinaryExpression(holder) && holder.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    return holder.left.getText(sf)
  }
  if (ts.isExportAssignment(holder)) return "export default"
  const outer = enclosingName(holder, sf)
  const what =
    ts.isCallExpression(holder) || ts.isNewExpression(holder)
      ? `${holder.expression.getText(sf).replace(/\s+/g, " ").slice(0, 60)}(…)`
      : "(anonymous)"
  return outer === "" ? what : `${outer} › ${what}`
}

// --- imports -------------------------------------------------------------------------------------

interface ImportSite {
  readonly specifier: string
  readonly node: ts.Node
}

const importSite = (node: ts.Node): ImportSite | undefined => {
  const literal = (e: ts.Node | undefined): ImportSite | undefined =>
    e !== undefined && (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e))
      ? { specifier: e.text, node: e }
      : undefined
  if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return literal(node.moduleSpecifier)
  if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
    return literal(node.moduleReference.expression)
  }
  if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
    return literal(node.arguments[0])
  }
  if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) return literal(node.argument.literal)
  return undefined
}

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

/** The file a relative specifier names: as written, `.js` → `.ts`, `+ .ts`, `/index.ts`. */
const resolveRelative = (fromFile: string, specifier: string): string | undefined => {
  const base = path.resolve(path.dirname(fromFile), specifier)
  const swapped = base.replace(/\.([mc]?)js$/, ".$1ts")
  const candidates = [base, swapped, `${base}.ts`, path.join(base, "index.ts")]
  return candidates.find(isFile)
}

const forbiddenInPure = (specifier: string): boolean =>
  isBuiltin(specifier) ||
  PURE_FORBIDDEN.some((p) =>
    p.endsWith("/") || p.endsWith(":")
      ? specifier.startsWith(p)
      : specifier === p || specifier.startsWith(`${p}/`)
  )

const describeLayer = (layer: Layer): string => `layer ${layer.level} (${layer.name})`

const checkImport = (
  root: string,
  file: string,
  layer: Layer,
  site: ImportSite,
  line: number,
  options: Options
): ImportViolation | undefined => {
  const { specifier } = site
  const where = path.relative(root, file).split(path.sep).join("/")
  if (PURE_ALLOWED.some((a) => where.startsWith(a.folder) && a.modules.includes(specifier))) return undefined
  const relative = specifier.startsWith(".") || path.isAbsolute(specifier)
  if (!relative) {
    if (!layer.pure || !forbiddenInPure(specifier)) return undefined
    return {
      file,
      line,
      specifier,
      message: `${describeLayer(layer)} is pure and may not import "${specifier}"`
    }
  }
  const resolved = resolveRelative(path.join(root, file), specifier)
  if (resolved === undefined) {
    return { file, line, specifier, message: `"${specifier}" does not resolve to a file` }
  }
  const target = toPosix(path.relative(root, resolved))
  if (!target.startsWith("src/")) return undefined
  const targetLayer = layerOf(target, options)
  if (targetLayer.level <= layer.level) return undefined
  return {
    file,
    line,
    specifier,
    target,
    message: `${describeLayer(layer)} may not import ${target}, ${describeLayer(targetLayer)}`
  }
}

// --- the check -----------------------------------------------------------------------------------

/**
 * A long function whose body is one expression or one statement, around a long function inside it
 * that accounts for all but `WRAPPER_SLACK` of its lines, is a wrapper
 * (`const f = (a) => Effect.gen(function* () {…}).pipe(…)`): only the inner one, whose name says
 * the outer, is reported, not the same lines twice.
 */
const WRAPPER_SLACK = 10

interface Located extends LongFunction {
  readonly end: number
  readonly singleStatement: boolean
}

const dropWrappers = (found: ReadonlyArray<Located>): Array<LongFunction> =>
  found
    .filter(
      (outer) =>
        !outer.singleStatement ||
        !found.some(
          (inner) =>
            inner !== outer &&
            inner.line >= outer.line &&
            inner.end <= outer.end &&
            outer.lines - inner.lines <= WRAPPER_SLACK
        )
    )
    .map(({ end: _end, singleStatement: _single, ...f }) => f)

interface FileResult {
  readonly lines: number
  readonly functions: Array<LongFunction>
  readonly imports: Array<ImportViolation>
}

const checkFile = (root: string, file: string, text: string, options: Options): FileResult => {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const layer = layerOf(file, options)
  const lineOf = (pos: number): number => sf.getLineAndCharacterOfPosition(pos).line + 1
  const functions: Array<Located> = []
  const imports: Array<ImportViolation> = []
  const visit = (node: ts.Node): void => {
    if (isFunctionNode(node) && node.body !== undefined) {
      const start = lineOf(node.getStart(sf))
      const lines = lineOf(node.end) - start + 1
      if (lines > options.maxFunctionLines) {
        const singleStatement = !ts.isBlock(node.body) || node.body.statements.length === 1
        const name = functionName(node, sf)
        functions.push({ file, line: start, end: start + lines - 1, name, lines, singleStatement })
      }
    }
    const site = importSite(node)
    if (site !== undefined) {
      const violation = checkImport(root, file, layer, site, lineOf(site.node.getStart(sf)), options)
      if (violation !== undefined) imports.push(violation)
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return { lines: countLines(text), functions: dropWrappers(functions), imports }
}

/** Checks every `.ts` file under `root/src` against the limits and the layers. */
export const checkTree = (root: string, overrides: Partial<Options> = {}): Report => {
  const options: Options = { ...defaultOptions, ...overrides }
  const skipped: Array<{ file: string; reason: string }> = []
  const allowedLong: Array<{ file: string; lines: number; reason: string }> = []
  const longFiles: Array<LongFile> = []
  const longFunctions: Array<LongFunction> = []
  const imports: Array<ImportViolation> = []
  let checked = 0
  for (const file of listTsFiles(root)) {
    const listed = options.skip.find((s) => s.file === file)
    const text = readFileSync(path.join(root, file), "utf8")
    if (listed !== undefined) {
      skipped.push({ file, reason: listed.reason })
      continue
    }
    if (text.split("\n", 5).some((line) => line.includes("@generated"))) {
      skipped.push({ file, reason: "@generated" })
      continue
    }
    checked++
    const result = checkFile(root, file, text, options)
    if (result.lines > options.maxFileLines) {
      const allowed = options.allowLongFiles.find((a) => a.file === file)
      if (allowed !== undefined) allowedLong.push({ file, lines: result.lines, reason: allowed.reason })
      else longFiles.push({ file, lines: result.lines })
    }
    longFunctions.push(...result.functions)
    imports.push(...result.imports)
  }
  return {
    root,
    checked,
    skipped,
    allowedLong,
    longFiles,
    longFunctions,
    imports,
    violations: longFiles.length + longFunctions.length + imports.length
  }
}

/** The report as text: one line per violation, grouped by kind, then a summary line. */
export const formatReport = (report: Report, options: Options = defaultOptions): string => {
  const out: Array<string> = []
  const group = (title: string, lines: ReadonlyArray<string>): void => {
    if (lines.length === 0) return
    out.push(`${title} (${lines.length}):`)
    for (const line of lines) out.push(`  ${line}`)
  }
  group(
    `Files over ${options.maxFileLines} lines`,
    report.longFiles.map((f) => `${f.file}: ${f.lines} lines`)
  )
  group(
    `Functions over ${options.maxFunctionLines} lines`,
    report.longFunctions.map((f) => `${f.file}:${f.line} ${f.name}: ${f.lines} lines`)
  )
  group(
    "Imports against the layers",
    report.imports.map((i) => `${i.file}:${i.line} imports "${i.specifier}": ${i.message}`)
  )
  const notes = [
    ...report.skipped.map((s) => `skipped ${s.file} (${s.reason})`),
    ...report.allowedLong.map((a) => `allowed ${a.file} at ${a.lines} lines (${a.reason})`)
  ]
  out.push(
    `structure: ${report.violations} violation(s) in ${report.checked} files checked` +
      (notes.length > 0 ? `; ${notes.join("; ")}` : "")
  )
  return out.join("\n")
}

const main = (argv: ReadonlyArray<string>): number => {
  const rootAt = argv.indexOf("--root")
  const root =
    rootAt >= 0 && argv[rootAt + 1] !== undefined
      ? path.resolve(argv[rootAt + 1]!)
      : path.resolve(fileURLToPath(new URL("..", import.meta.url)))
  const report = checkTree(root)
  console.log(argv.includes("--json") ? JSON.stringify(report, null, 2) : formatReport(report))
  return report.violations > 0 ? 1 : 0
}

const entry = process.argv[1]
if (entry !== undefined && pathToFileURL(realpathSync(entry)).href === import.meta.url) {
  process.exitCode = main(process.argv.slice(2))
}
