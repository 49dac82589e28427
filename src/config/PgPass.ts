/**
 * The password file (`~/.pgpass`, PGPASSFILE, `passfile`), read as libpq's `passwordFromFile`.
 *
 * What it does: finds the first line `hostname:port:database:username:password` whose first four
 * fields match; a field `*` matches anything, `\:` and `\\` stand for `:` and `\`; lines starting with
 * `#` are comments; trailing CR/LF are stripped (no other trimming). The password runs to the next
 * unescaped `:` or the end of the line. The host key is the host name (or the hostaddr when no host
 * was given); a host equal to the default Unix-socket directory is looked up as `localhost`, as libpq
 * does. The file is skipped, with a result that says why, when it is not a regular file or when its
 * permissions give the group or others any access (it must be `0600` or stricter; not checked on
 * Windows, as libpq). A file that cannot be opened is ignored, as libpq ignores it.
 *
 * What it does NOT do: decide when to use it (Password.ts: only when no password was given), or
 * log: the caller turns `Insecure` and `NotAFile` into the warning libpq prints.
 *
 * Invariants: `lookup` never fails (every outcome is a typed result); the password found is wrapped in
 * `Redacted` at once and the file buffer is zeroed after parsing.
 */
import { open } from "node:fs/promises"
import { Effect, Redacted } from "effect"
import { defaultPort } from "./Hosts.ts"

/** What a password-file line is matched against. */
export interface PgPassKey {
  readonly host: string
  readonly port: string
  readonly database: string
  readonly user: string
}

/** The outcome of a password-file lookup. */
export type PgPassResult =
  | {
      readonly _tag: "Found"
      readonly path: string
      readonly line: number
      readonly password: Redacted.Redacted<string>
    }
  | { readonly _tag: "NoMatch"; readonly path: string }
  /** The file does not exist or cannot be opened (libpq ignores it silently). */
  | { readonly _tag: "Unavailable"; readonly path: string }
  /** Not a regular file: skipped (libpq prints a warning). */
  | { readonly _tag: "NotAFile"; readonly path: string }
  /** Group or world access: skipped (libpq prints a warning). `mode` is the permission bits. */
  | { readonly _tag: "Insecure"; readonly path: string; readonly mode: number }

/**
 * libpq's `pwdfMatchesString`: matches one field starting at `pos` against `token`; returns the index
 * after the field's `:` on a match.
 */
const matchField = (line: string, pos: number, token: string): number | undefined => {
  if (line[pos] === "*" && line[pos + 1] === ":") return pos + 2
  let i = pos
  let t = 0
  let escaped = false
  while (i < line.length) {
    if (line[i] === "\\" && !escaped) {
      i++
      escaped = true
    }
    if (line[i] === ":" && t === token.length && !escaped) return i + 1
    escaped = false
    if (t === token.length) return undefined
    if (line[i] !== token[t]) return undefined
    i++
    t++
  }
  return undefined
}

/** The password field: up to the next unescaped `:`, with `\x` standing for `x`. */
const unescapePassword = (line: string, pos: number): string => {
  let out = ""
  for (let i = pos; i < line.length && line[i] !== ":"; i++) {
    if (line[i] === "\\" && i + 1 < line.length) i++
    out += line[i]
  }
  return out
}

/** Finds the password for `key` in the text of a password file. Pure. */
export const findPassword = (
  text: string,
  key: PgPassKey
): { readonly line: number; readonly password: string } | undefined => {
  const lines = text.split("\n")
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/[\r\n]+$/, "")
    if (line === "" || line.startsWith("#")) continue
    let pos: number | undefined = 0
    for (const token of [key.host, key.port, key.database, key.user]) {
      pos = matchField(line, pos, token)
      if (pos === undefined) break
    }
    if (pos !== undefined) return { line: n + 1, password: unescapePassword(line, pos) }
  }
  return undefined
}

/**
 * The host name libpq looks up: the host, else the hostaddr; `localhost` for an empty host or the
 * default Unix-socket directory.
 */
export const lookupHost = (
  host: string,
  hostaddr: string | undefined,
  defaultSocketDir: string | undefined
): string => {
  const name = host !== "" ? host : (hostaddr ?? "")
  if (name === "" || (defaultSocketDir !== undefined && name === defaultSocketDir)) return "localhost"
  return name
}

/** Builds the lookup key for one host of a configuration. */
export const keyFor = (
  spec: { readonly host: string; readonly hostaddr: string | undefined; readonly port: number },
  database: string,
  user: string,
  defaultSocketDir: string | undefined
): PgPassKey => ({
  host: lookupHost(spec.host, spec.hostaddr, defaultSocketDir),
  port: String(spec.port ?? defaultPort),
  database,
  user
})

/** Reads the password file at `path` and looks `key` up. Never fails. */
export const lookup = (path: string, key: PgPassKey): Effect.Effect<PgPassResult> =>
  Effect.promise(async (): Promise<PgPassResult> => {
    let handle: Awaited<ReturnType<typeof open>> | undefined
    try {
      handle = await open(path, "r")
    } catch {
      return { _tag: "Unavailable", path }
    }
    try {
      const stat = await handle.stat()
      if (!stat.isFile()) return { _tag: "NotAFile", path }
      if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
        return { _tag: "Insecure", path, mode: stat.mode & 0o777 }
      }
      const buffer = await handle.readFile()
      const found = findPassword(buffer.toString("utf8"), key)
      buffer.fill(0)
      return found === undefined
        ? { _tag: "NoMatch", path }
        : { _tag: "Found", path, line: found.line, password: Redacted.make(found.password) }
    } catch {
      return { _tag: "Unavailable", path }
    } finally {
      await handle.close().catch(() => undefined)
    }
  })
