/**
 * Connection service files (`pg_service.conf`), read as libpq's `parseServiceInfo` and
 * `parseServiceFile` (fe-connect.c) read them.
 *
 * What it does: given the service name (the `service` keyword, else PGSERVICE) it looks in the
 * user's file first (PGSERVICEFILE when set, else `~/.pg_service.conf`) and, when that file does
 * not exist or has no such service, in `<PGSYSCONFDIR>/pg_service.conf` (the system directory
 * when PGSYSCONFDIR is unset: see Resolve.ts); a file that does not exist is skipped; the service
 * not being in any file is an error (`definition of service "x" not found`). In a file, each line
 * is trimmed of white space at both ends; empty lines and lines starting with `#` are skipped; a
 * line starting with `[` names a section, and the wanted section is `[name]` (anything may follow
 * the `]`); its lines are `keyword=value`, split at the first `=`, with no trimming around it (so
 * `host = a` is a syntax error, as in libpq); the keyword must be one of libpq's (Keywords.ts;
 * `requiressl` is not one), `service` is refused (no nesting), and the first value of a keyword
 * wins. The section ends at the next `[` line, so a second section of the same name is ignored.
 * A line of 1023 bytes or more (with its newline) is an error, as in libpq's 1024-byte buffer.
 *
 * `serviceFilesOf` names the two files from the environment and a context; `readServiceFile` is
 * the file-system reader of the process context (libpq's `stat`, then `fopen`).
 *
 * What it does NOT do: merge (Resolve.ts puts these values below the connection string and above
 * the environment, as libpq's `conninfo_add_defaults` does), or LDAP lookups (`ldap://` lines,
 * which libpq only supports when built with LDAP). The parsing itself reads no file: the caller
 * passes a reader.
 *
 * Invariants: an error names the file and the line, never a value (a service may hold a password);
 * every value found is tagged with its file and line as its origin.
 */
import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { configError, type PgConfigError } from "./ConfigError.ts"
import type { Sourced } from "./Env.ts"
import { findKeyword } from "./Keywords.ts"

/** What reading a file gave: its text; `Missing` when it does not exist (libpq's failed `stat`). */
export type FileRead =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Missing" }
  /** It exists, but opening it failed (libpq: `service file "..." not found`). */
  | { readonly _tag: "Unreadable"; readonly reason: string }

/** Where service definitions are looked up. */
export interface ServiceFiles {
  /** PGSERVICEFILE when set, else `~/.pg_service.conf`; undefined without a home directory. */
  readonly userFile: string | undefined
  /** `<PGSYSCONFDIR or the system directory>/pg_service.conf`; undefined when there is none. */
  readonly systemFile: string | undefined
  readonly read: (path: string) => FileRead
}

/** libpq's `isspace` in the C locale. */
const isSpace = (c: string | undefined) =>
  c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r"

const trim = (line: string): string => {
  let start = 0
  let end = line.length
  while (end > 0 && isSpace(line[end - 1])) end--
  while (start < end && isSpace(line[start])) start++
  return line.slice(start, end)
}

/** fgets into `char buf[1024]`: a line that fills 1023 bytes is "too long". */
const maxLineBytes = 1023

type Parsed = { readonly found: boolean; readonly options: ReadonlyMap<string, Sourced> }

/** Reads one file's section `service`; `found` says whether the section exists. */
export const parseServiceFile = (
  text: string,
  path: string,
  service: string
): Result.Result<Parsed, PgConfigError> => {
  const options = new Map<string, Sourced>()
  const syntax = (message: string) => Result.fail(configError("InvalidSyntax", message, { key: "service" }))
  let found = false
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!
    if (i === lines.length - 1 && raw === "") break
    const lineNumber = i + 1
    const bytes = Buffer.byteLength(raw) + (i < lines.length - 1 ? 1 : 0)
    if (bytes >= maxLineBytes) return syntax(`line ${lineNumber} too long in service file "${path}"`)
    const line = trim(raw)
    if (line === "" || line.startsWith("#")) continue
    if (line.startsWith("[")) {
      // libpq: the end of the wanted section ends the file.
      if (found) break
      found = line.startsWith(service, 1) && line[service.length + 1] === "]"
      continue
    }
    if (!found) continue
    const eq = line.indexOf("=")
    if (eq < 0) return syntax(`syntax error in service file "${path}", line ${lineNumber}`)
    const keyword = line.slice(0, eq)
    if (keyword === "service") {
      return syntax(
        `nested service specifications not supported in service file "${path}", line ${lineNumber}`
      )
    }
    if (findKeyword(keyword) === undefined) {
      return syntax(`syntax error in service file "${path}", line ${lineNumber}`)
    }
    // libpq sets a keyword only while it is unset: the first line wins.
    if (!options.has(keyword)) {
      options.set(keyword, {
        value: line.slice(eq + 1),
        origin: `service file "${path}", line ${lineNumber}`
      })
    }
  }
  return Result.succeed({ found, options })
}

/**
 * The options of service `service` (from `origin`: the keyword's source), as libpq finds them:
 * the user's file, then the system file; an error when neither defines it.
 */
export const serviceOptions = (
  service: Sourced,
  files: ServiceFiles
): Result.Result<ReadonlyMap<string, Sourced>, PgConfigError> => {
  for (const [path, last] of [
    [files.userFile, false],
    [files.systemFile, true]
  ] as const) {
    if (path === undefined) continue
    const read = files.read(path)
    if (read._tag === "Missing") continue
    if (read._tag === "Unreadable") {
      return Result.fail(
        configError("MissingFile", `service file "${path}" not found (${read.reason})`, { key: "service" })
      )
    }
    const parsed = parseServiceFile(read.text, path, service.value)
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    if (parsed.success.found) return Result.succeed(parsed.success.options)
    if (last) break
  }
  return Result.fail(
    configError("InvalidValue", `definition of service "${service.value}" not found`, {
      key: "service",
      origin: service.origin
    })
  )
}

/**
 * libpq's SYSCONFDIR is fixed when it is built: `/etc/postgresql-common` in Debian's and Ubuntu's
 * packages, `/etc/sysconfig/pgsql` in PGDG's RPMs. We take the first that exists (decision 019).
 */
export const systemSysconfDir = (exists: (path: string) => boolean = existsDir): string | undefined =>
  ["/etc/postgresql-common", "/etc/sysconfig/pgsql"].find(exists)

const existsDir = (path: string): boolean => {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** libpq's `stat` then `fopen`/`fgets`: a directory reads as an empty file. */
export const readServiceFile = (path: string): FileRead => {
  try {
    if (statSync(path).isDirectory()) return { _tag: "Text", text: "" }
  } catch {
    return { _tag: "Missing" }
  }
  try {
    return { _tag: "Text", text: readFileSync(path, "utf8") }
  } catch (error) {
    return { _tag: "Unreadable", reason: error instanceof Error ? error.message : String(error) }
  }
}

/** The service files of libpq's `parseServiceInfo`: PGSERVICEFILE or ~/.pg_service.conf, then the system file. */
export const serviceFilesOf = (context: {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly homeDir?: string | undefined
  readonly sysconfDir?: string | undefined
  readonly readFile?: ((path: string) => FileRead) | undefined
}): ServiceFiles => {
  const env = context.env
  const userFile = Object.hasOwn(env, "PGSERVICEFILE")
    ? env.PGSERVICEFILE
    : context.homeDir === undefined
      ? undefined
      : join(context.homeDir, ".pg_service.conf")
  // libpq: getenv("PGSYSCONFDIR") ? it : SYSCONFDIR, so an empty PGSYSCONFDIR means "/pg_service.conf".
  const sysconf = Object.hasOwn(env, "PGSYSCONFDIR") ? env.PGSYSCONFDIR : context.sysconfDir
  return {
    userFile,
    systemFile: sysconf === undefined ? undefined : `${sysconf}/pg_service.conf`,
    read: context.readFile ?? (() => ({ _tag: "Missing" }))
  }
}
