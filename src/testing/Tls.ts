/**
 * TLS material for test servers, generated at run time with the `openssl` command-line tool.
 *
 * Does: makes a throwaway CA, a server certificate (CN=localhost, SAN DNS:localhost, IP:127.0.0.1,
 * IP:::1, serverAuth) and a client certificate whose CN is the cert role's name (clientAuth), all
 * signed by that CA; caches the PEM text per process and key type (generation costs ~0.06 s for EC
 * P-256 and ~0.7 s for RSA-2048), and writes per-cluster copies of the files.
 * Does NOT: touch the system trust store, or support anything but PEM files.
 * Invariants: private key files are written with mode 0600 (the server's by its owner, the run-as
 * user; the client's by the current process); a failed generation is not cached.
 */
import { execFile } from "node:child_process"
import { chown, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { roles } from "./ClusterConfig.ts"
import { PgTestServerError } from "./PgTestServerError.ts"

export type TlsKeyType = "ec" | "rsa"

/** PEM text of everything a cluster and its clients need. */
export interface TlsPems {
  readonly caCert: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
}

/** What a test sees: the client side (CA to verify the server, client cert/key for the cert role). */
export interface PgTestTls {
  /** PEM of the CA that signed the server and client certificates. */
  readonly ca: string
  /** PEM of the client certificate (CN = `roles.cert.user`). */
  readonly cert: string
  /** PEM of the client private key (unencrypted PKCS#8). */
  readonly key: string
  readonly caFile: string
  readonly certFile: string
  /** Mode 0600, owned by the current process. */
  readonly keyFile: string
}

const run = (args: ReadonlyArray<string>, cwd: string): Promise<void> =>
  new Promise((resolve, reject) => {
    execFile("openssl", args, { cwd, timeout: 60_000 }, (error, _stdout, stderr) => {
      if (error === null) return resolve()
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT"
      reject(
        new PgTestServerError({
          reason: "Tls",
          message: missing
            ? "the `openssl` command was not found on PATH (Debian: apt-get install openssl), or pass tls: false"
            : `openssl ${args.slice(0, 2).join(" ")} failed: ${String(stderr).trim() || error.message}`,
          cause: error
        })
      )
    })
  })

const newKey = (keyType: TlsKeyType): ReadonlyArray<string> =>
  keyType === "ec" ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] : ["-newkey", "rsa:2048"]

const generate = async (keyType: TlsKeyType): Promise<TlsPems> => {
  const dir = await mkdtemp(join(tmpdir(), "effect-pg-tls-"))
  try {
    const days = ["-days", "3650"]
    await writeFile(
      join(dir, "server.ext"),
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n"
    )
    await writeFile(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n")
    // -nodes (not -noenc) so OpenSSL 1.1.1 works too.
    await run(
      [
        "req",
        "-new",
        "-x509",
        "-nodes",
        ...days,
        ...newKey(keyType),
        "-subj",
        "/CN=effect-pg-test-ca"
      ].concat(["-keyout", "ca.key", "-out", "ca.crt"]),
      dir
    )
    const leaf = async (name: string, cn: string) => {
      await run(
        ["req", "-new", "-nodes", ...newKey(keyType), "-subj", `/CN=${cn}`, "-keyout", `${name}.key`].concat([
          "-out",
          `${name}.csr`
        ]),
        dir
      )
      await run(
        [
          "x509",
          "-req",
          "-in",
          `${name}.csr`,
          "-CA",
          "ca.crt",
          "-CAkey",
          "ca.key",
          "-CAcreateserial",
          ...days
        ].concat(["-out", `${name}.crt`, "-extfile", `${name}.ext`]),
        dir
      )
    }
    await leaf("server", "localhost")
    await leaf("client", roles.cert.user)
    const read = (file: string) => readFile(join(dir, file), "utf8")
    return {
      caCert: await read("ca.crt"),
      serverCert: await read("server.crt"),
      serverKey: await read("server.key"),
      clientCert: await read("client.crt"),
      clientKey: await read("client.key")
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const cache = new Map<TlsKeyType, Promise<TlsPems>>()

/** The process-wide TLS material for a key type, generated on first use. */
export const tlsPems = (keyType: TlsKeyType): Promise<TlsPems> => {
  const cached = cache.get(keyType)
  if (cached !== undefined) return cached
  const fresh = generate(keyType)
  cache.set(keyType, fresh)
  fresh.catch(() => cache.delete(keyType))
  return fresh
}

/**
 * Writes the server's files into the data directory (owned by the run-as user, 0600) and the
 * client's files into `clientDir` (owned by the current process; key 0600).
 */
export const writeTlsFiles = async (
  pems: TlsPems,
  dataDir: string,
  clientDir: string,
  owner: { readonly uid: number; readonly gid: number } | undefined
): Promise<PgTestTls> => {
  const serverFiles: ReadonlyArray<readonly [string, string]> = [
    ["server.crt", pems.serverCert],
    ["server.key", pems.serverKey],
    ["ca.crt", pems.caCert]
  ]
  for (const [name, content] of serverFiles) {
    const path = join(dataDir, name)
    await writeFile(path, content, { mode: 0o600 })
    if (owner !== undefined) await chown(path, owner.uid, owner.gid)
  }
  const caFile = join(clientDir, "ca.crt")
  const certFile = join(clientDir, "client.crt")
  const keyFile = join(clientDir, "client.key")
  await writeFile(caFile, pems.caCert, { mode: 0o644 })
  await writeFile(certFile, pems.clientCert, { mode: 0o644 })
  await writeFile(keyFile, pems.clientKey, { mode: 0o600 })
  return { ca: pems.caCert, cert: pems.clientCert, key: pems.clientKey, caFile, certFile, keyFile }
}
