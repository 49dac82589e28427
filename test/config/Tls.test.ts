/**
 * The TLS policy (libpq's `initialize_SSL` rules) and the Unix-socket helpers. The file checks use a
 * fake `exists`, so nothing is read from disk.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import {
  type ConnectConfig,
  type ConnectConfigInput,
  defaultSocketDir,
  isUnixSocket,
  policyFor,
  resolveWith,
  sniName,
  socketPath,
  type TlsPolicy,
  tlsAppliesTo,
  verifyName
} from "../../src/config/index.ts"

const config = (input: ConnectConfigInput | string): ConnectConfig => {
  const result = resolveWith(input, {
    env: {},
    osUser: () => "alice",
    defaultPassfile: undefined,
    sslDir: "/home/alice/.postgresql",
    defaultSocketDir: "/tmp"
  })
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return result.success
}

const policy = (
  input: ConnectConfigInput | string,
  files: ReadonlyArray<string> = []
): TlsPolicy | string => {
  const result = policyFor(config(input), (path) => files.includes(path))
  return Result.isSuccess(result) ? result.success : result.failure.message
}

const rootCrt = "/home/alice/.postgresql/root.crt"

describe("TLS policy", () => {
  it("follows sslmode without a root certificate", () => {
    const pick = (p: TlsPolicy | string) =>
      typeof p === "string" ? p : [p.attempt, p.required, p.plaintextFirst, p.verifyChain, p.verifyHostname]
    assert.deepStrictEqual(pick(policy("sslmode=disable")), [false, false, false, false, false])
    assert.deepStrictEqual(pick(policy("sslmode=allow")), [true, false, true, false, false])
    assert.deepStrictEqual(pick(policy("sslmode=prefer")), [true, false, false, false, false])
    assert.deepStrictEqual(pick(policy("sslmode=require")), [true, true, false, false, false])
  })

  it("verifies the chain for require when the root certificate file exists (libpq's verify-ca rule)", () => {
    const p = policy("sslmode=require", [rootCrt]) as TlsPolicy
    assert.isTrue(p.verifyChain)
    assert.isFalse(p.verifyHostname)
    assert.deepStrictEqual(p.roots, { _tag: "File", path: rootCrt })
    assert.isTrue((policy("sslmode=require sslrootcert=/ca.pem", ["/ca.pem"]) as TlsPolicy).verifyChain)
    assert.isTrue((policy("sslmode=prefer", [rootCrt]) as TlsPolicy).verifyChain)
    assert.isFalse((policy("sslmode=disable", [rootCrt]) as TlsPolicy).verifyChain)
  })

  it("needs the root certificate for verify-ca and verify-full", () => {
    assert.include(policy("sslmode=verify-ca") as string, `root certificate file "${rootCrt}" does not exist`)
    assert.include(
      policy("sslmode=verify-full sslrootcert=/nope") as string,
      'root certificate file "/nope" does not exist'
    )
    const full = policy("sslmode=verify-full", [rootCrt]) as TlsPolicy
    assert.deepStrictEqual([full.verifyChain, full.verifyHostname, full.required], [true, true, true])
  })

  it("uses the system roots for sslrootcert=system", () => {
    const p = policy("sslrootcert=system") as TlsPolicy
    assert.deepStrictEqual(p.roots, { _tag: "System" })
    assert.deepStrictEqual([p.verifyChain, p.verifyHostname], [true, true])
  })

  it("sends a client certificate only if it exists, with its key, unless sslcertmode=disable", () => {
    const cert = "/home/alice/.postgresql/postgresql.crt"
    const key = "/home/alice/.postgresql/postgresql.key"
    assert.deepStrictEqual(
      [(policy("", [cert, key]) as TlsPolicy).cert, (policy("", [cert, key]) as TlsPolicy).key],
      [cert, key]
    )
    assert.strictEqual((policy("", []) as TlsPolicy).cert, undefined)
    assert.strictEqual((policy("sslcertmode=disable", [cert, key]) as TlsPolicy).cert, undefined)
    assert.include(policy("", [cert]) as string, `certificate present, but not private key file "${key}"`)
  })

  it("uses the CRL only if the file exists", () => {
    assert.strictEqual((policy("", []) as TlsPolicy).crl, undefined)
    assert.strictEqual((policy("sslcrl=/crl.pem", ["/crl.pem"]) as TlsPolicy).crl, "/crl.pem")
  })

  it("names the server for SNI and for verify-full", () => {
    const c = config("host=db.example.com,10.0.0.1,/run/pg hostaddr=,,")
    const [name, ip, socket] = c.hosts
    assert.deepStrictEqual(
      [sniName(c, name!), sniName(c, ip!), sniName(c, socket!)],
      ["db.example.com", undefined, undefined]
    )
    assert.strictEqual(sniName(config("host=db sslsni=0"), config("host=db").hosts[0]!), undefined)
    assert.strictEqual(verifyName(ip!), "10.0.0.1")
    assert.strictEqual(verifyName(config("hostaddr=10.0.0.1").hosts[0]!), undefined)
    assert.deepStrictEqual([tlsAppliesTo(name!), tlsAppliesTo(socket!)], [true, false])
  })
})

describe("Unix sockets", () => {
  it("computes the socket path (libpq: <dir>/.s.PGSQL.<port>)", () => {
    assert.strictEqual(socketPath("/var/run/postgresql", 5432), "/var/run/postgresql/.s.PGSQL.5432")
    assert.strictEqual(socketPath("/tmp", 1), "/tmp/.s.PGSQL.1")
    // libpq shows "@abstract/.s.PGSQL.1"; Node's abstract namespace wants a leading NUL
    assert.strictEqual(socketPath("@abstract", 1), "\0abstract/.s.PGSQL.1")
  })

  it("recognises socket directories only without hostaddr", () => {
    assert.isTrue(isUnixSocket({ host: "/tmp", hostaddr: undefined, port: 1 }))
    assert.isTrue(isUnixSocket({ host: "@pg", hostaddr: undefined, port: 1 }))
    assert.isFalse(isUnixSocket({ host: "/tmp", hostaddr: "127.0.0.1", port: 1 }))
    assert.isFalse(isUnixSocket({ host: "localhost", hostaddr: undefined, port: 1 }))
  })

  it("picks the default socket directory at run time", () => {
    assert.strictEqual(
      defaultSocketDir((p) => p === "/var/run/postgresql", "linux"),
      "/var/run/postgresql"
    )
    assert.strictEqual(
      defaultSocketDir(() => false, "linux"),
      "/tmp"
    )
    assert.strictEqual(
      defaultSocketDir(() => true, "win32"),
      undefined
    )
  })
})
