/**
 * The list of servers to try, built from libpq's `host`, `hostaddr` and `port` lists as
 * `connectOptions2` builds it; and the Unix-socket helpers.
 *
 * What it does: splits each list on commas (no trimming); the number of hosts is the length of the
 * `hostaddr` list if it is non-empty, else of the `host` list, else 1; a `host` list of another length
 * than a non-empty `hostaddr` list is an error; a single port applies to every host, otherwise there
 * must be one port per host; an empty port element means 5432; an empty host element (with no
 * hostaddr) means the default host. A host starting with `/` (or `@`, Linux abstract namespace) is a
 * Unix-socket directory, whose socket is `<dir>/.s.PGSQL.<port>`.
 *
 * The default host: libpq uses a directory fixed when it is compiled (`/tmp` upstream,
 * `/var/run/postgresql` in Debian's and Red Hat's packages); we decide at run time: the first of
 * `/var/run/postgresql` and `/tmp` that exists (and `localhost` on Windows).
 *
 * What it does NOT do: resolve names (the socket layer does), or choose among hosts
 * (target_session_attrs and load_balance_hosts are applied by the connection).
 *
 * Invariants: every HostSpec has a port in 1..65535; `host` is empty only when `hostaddr` is set;
 * `hostaddr` is a numeric IPv4/IPv6 address; a Unix-socket path fits `sun_path` (107 bytes).
 */
import { existsSync } from "node:fs"
import { isIP } from "node:net"
import { Result } from "effect"
import { configError, type PgConfigError } from "./ConfigError.ts"
import type { Sourced } from "./Env.ts"
import { parsePort } from "./Values.ts"

/** One server to try. */
export interface HostSpec {
  /** A host name, an IP address, or a Unix-socket directory; `""` when only `hostaddr` was given. */
  readonly host: string
  /** A numeric address to dial instead of resolving `host` (libpq `hostaddr`). */
  readonly hostaddr: string | undefined
  readonly port: number
}

/** libpq's default port. */
export const defaultPort = 5432

/** libpq's `is_unixsock_path`: an absolute path, or `@` for Linux's abstract namespace. */
export const isUnixSocketPath = (host: string): boolean => host.startsWith("/") || host.startsWith("@")

/** Whether effect-pg connects to this host through a Unix socket (no hostaddr, socket directory). */
export const isUnixSocket = (spec: HostSpec): boolean =>
  spec.hostaddr === undefined && isUnixSocketPath(spec.host)

/** `sizeof(sun_path)`: the socket path and its terminating NUL must fit. */
const maxSocketPathBytes = 107

/**
 * The socket file of a Unix-socket directory: `<dir>/.s.PGSQL.<port>`. For an `@name` directory
 * (abstract namespace) the result starts with a NUL byte, as Node's `net.connect({ path })` expects.
 */
export const socketPath = (dir: string, port: number): string => {
  const path = `${dir}/.s.PGSQL.${port}`
  return dir.startsWith("@") ? `\0${path.slice(1)}` : path
}

/** The name shown for a host (libpq's `PQhost`): the host, or the hostaddr when no host was given. */
export const displayHost = (spec: HostSpec): string => (spec.host !== "" ? spec.host : (spec.hostaddr ?? ""))

/** Where to look for a Unix socket when no host is given (see the module comment). */
export const defaultSocketDir = (
  exists: (path: string) => boolean = existsSync,
  platform: string = process.platform
): string | undefined => {
  if (platform === "win32") return undefined
  return exists("/var/run/postgresql") ? "/var/run/postgresql" : "/tmp"
}

const split = (s: Sourced | undefined): ReadonlyArray<string> | undefined =>
  s === undefined || s.value === "" ? undefined : s.value.split(",")

/**
 * Builds the host list from the raw `host`, `hostaddr` and `port` values. `defaultHost` replaces an
 * empty host: a socket directory, or `localhost` where there are none.
 */
export const buildHosts = (
  host: Sourced | undefined,
  hostaddr: Sourced | undefined,
  port: Sourced | undefined,
  defaultHost: string
): Result.Result<ReadonlyArray<HostSpec>, PgConfigError> => {
  const addrs = split(hostaddr)
  const names = split(host)
  const count = addrs?.length ?? names?.length ?? 1
  if (names !== undefined && addrs !== undefined && names.length !== count) {
    return Result.fail(
      configError("Mismatch", `could not match ${names.length} host names to ${count} hostaddr values`, {
        key: "host",
        origin: host?.origin
      })
    )
  }
  let ports = split(port)
  if (ports !== undefined && ports.length === 1) ports = Array.from({ length: count }, () => ports![0]!)
  if (ports !== undefined && ports.length !== count) {
    return Result.fail(
      configError("Mismatch", `could not match ${ports.length} port numbers to ${count} hosts`, {
        key: "port",
        origin: port?.origin
      })
    )
  }
  const specs: Array<HostSpec> = []
  for (let i = 0; i < count; i++) {
    const addr = addrs?.[i] ?? ""
    let name = names?.[i] ?? ""
    if (addr !== "" && isIP(addr) === 0) {
      return Result.fail(
        configError("InvalidValue", `could not parse network address "${addr}"`, {
          key: "hostaddr",
          origin: hostaddr?.origin
        })
      )
    }
    if (addr === "" && name === "") name = defaultHost
    const rawPort = ports?.[i] ?? ""
    let portNumber = defaultPort
    if (rawPort !== "") {
      const parsed = parsePort({ value: rawPort, origin: port!.origin })
      if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
      portNumber = parsed.success
    }
    if (addr === "" && isUnixSocketPath(name)) {
      const bytes = Buffer.byteLength(socketPath(name, portNumber))
      if (bytes > maxSocketPathBytes) {
        return Result.fail(
          configError(
            "InvalidValue",
            `Unix-domain socket path "${name}/.s.PGSQL.${portNumber}" is too long (maximum ${maxSocketPathBytes} bytes)`,
            { key: "host", origin: host?.origin }
          )
        )
      }
    }
    specs.push({ host: name, hostaddr: addr === "" ? undefined : addr, port: portNumber })
  }
  return Result.succeed(specs)
}
