/**
 * Proves the auth maths against a real PostgreSQL: MD5, SCRAM-SHA-256 (with non-ASCII passwords and
 * PostgreSQL's SASLprep quirks) and SCRAM-SHA-256-PLUS over TLS with an ECDSA P-384 / SHA-384
 * certificate (so the channel-binding hash must be SHA-384, not SHA-256).
 *
 * The test starts its own throwaway cluster (PG15 from Debian, else PG18 from npm) as an unprivileged
 * user, and stops it in afterAll even when setup fails. The few protocol messages it needs are
 * written inline: the real codec lives elsewhere and is not under test here.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import * as tls from "node:tls"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { AuthMathError } from "../../src/auth/AuthMathError.ts"
import { fromBase64Strict } from "../../src/auth/Bytes.ts"
import { certificateBindingHash } from "../../src/auth/ChannelBinding.ts"
import { md5PasswordResponse, md5PasswordSecret } from "../../src/auth/Md5.ts"
import {
  clientFinal,
  clientFirst,
  type ScramState,
  scramSecret,
  verifyServerFinal
} from "../../src/auth/Scram.ts"
import {
  type ChannelBindingMode,
  checkAuthenticationOk,
  type ScramSelection,
  selectScramMechanism
} from "../../src/auth/ScramNegotiation.ts"

const bin = [
  process.env.PG_AUTH_TEST_BIN,
  "/usr/lib/postgresql/15/bin",
  resolve("node_modules/pg-bin-18/native/bin")
]
  .filter((b): b is string => b !== undefined)
  .find((b) => existsSync(join(b, "postgres")) && existsSync(join(b, "initdb")))
const hasOpenssl = spawnSync("openssl", ["version"]).status === 0

// ---- the roles and their passwords --------------------------------------------------------------
const md5Role = { user: "md5_user", password: "md5_pass" }
const scramRoles = {
  ascii: { user: "scram_user", password: "scram_pass" },
  umlaut: { user: "umlaut_user", password: "pässwörd" },
  nbsp: { user: "nbsp_user", password: "pass\u00A0word" }, // C.1.2: maps to "pass word"
  softHyphen: { user: "hyphen_user", password: "I\u00ADX" }, // B.1: maps to "IX"
  preNfkcProhibited: { user: "c8_user", password: "a\u0340" }, // PG refuses before NFKC: raw bytes
  preNfkcBidi: { user: "bidi_user", password: "\u05D0\uFB1D" }, // PG accepts before NFKC: NFKC form
  control: { user: "control_user", password: "caf\u00E9\u0007" } // prohibited: raw bytes
}

// ---- a tiny wire client --------------------------------------------------------------------------
interface Message {
  readonly type: string
  readonly body: Buffer
}

class Wire {
  private buffer = Buffer.alloc(0)
  private waiting: ((error?: Error) => void) | undefined
  private closed: Error | undefined
  readonly socket: net.Socket
  constructor(socket: net.Socket) {
    this.socket = socket
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.waiting?.()
    })
    const end = (error?: Error) => {
      this.closed = error ?? new Error("connection closed")
      this.waiting?.(this.closed)
    }
    socket.on("error", end)
    socket.on("close", () => end())
  }
  send(type: string, body: Uint8Array): void {
    const header = Buffer.alloc(5)
    header.write(type, 0, "latin1")
    header.writeInt32BE(body.length + 4, 1)
    this.socket.write(Buffer.concat([header, body]))
  }
  async next(): Promise<Message> {
    for (;;) {
      if (this.buffer.length >= 5 && this.buffer.length >= 1 + this.buffer.readInt32BE(1)) {
        const length = this.buffer.readInt32BE(1)
        const message = {
          type: String.fromCharCode(this.buffer[0]!),
          body: this.buffer.subarray(5, 1 + length)
        }
        this.buffer = this.buffer.subarray(1 + length)
        return message
      }
      if (this.closed) throw this.closed
      await new Promise<void>((ok, ko) => {
        const timer = setTimeout(() => ko(new Error("timed out waiting for the server")), 20_000)
        this.waiting = (error) => {
          clearTimeout(timer)
          this.waiting = undefined
          error ? ko(error) : ok()
        }
      })
    }
  }
}

const cstring = (s: string) => Buffer.from(`${s}\0`, "utf8")
const int32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const errorFields = (body: Buffer) =>
  Object.fromEntries(
    body
      .toString("utf8")
      .split("\0")
      .filter((f) => f.length > 1)
      .map((f) => [f[0], f.slice(1)])
  ) as Record<string, string>

/** StartupMessage, protocol 3.0, database postgres, client_encoding UTF8. */
const startupMessage = (user: string) => {
  const params = ["user", user, "database", "postgres", "client_encoding", "UTF8"]
  const body = Buffer.concat([int32(196608), ...params.map(cstring), Buffer.from([0])])
  return Buffer.concat([int32(body.length + 4), body])
}

let port = 0
let certificatePem = ""

const connect = async (useTls: boolean): Promise<{ wire: Wire; certificate: Uint8Array | undefined }> => {
  const plain = net.connect({ host: "127.0.0.1", port })
  await new Promise<void>((ok, ko) => plain.once("connect", ok).once("error", ko))
  if (!useTls) return { wire: new Wire(plain), certificate: undefined }
  plain.write(Buffer.concat([int32(8), int32(80877103)])) // SSLRequest
  const answer: Buffer = await new Promise((ok) => plain.once("data", ok))
  assert.strictEqual(answer.toString("latin1"), "S")
  const secure = tls.connect({ socket: plain, servername: "localhost", ca: certificatePem })
  await new Promise<void>((ok, ko) => secure.once("secureConnect", ok).once("error", ko))
  return { wire: new Wire(secure), certificate: new Uint8Array(secure.getPeerCertificate().raw) }
}

interface LoginResult {
  readonly ok: boolean
  /** Authentication request codes seen (5 = MD5, 10 = SASL, 11/12 = SASL continue/final, 0 = Ok). */
  readonly requests: ReadonlyArray<number>
  readonly mechanisms: ReadonlyArray<string>
  readonly serverError: Record<string, string> | undefined
  readonly clientError: AuthMathError | undefined
  readonly scram: ScramState | undefined
}

/** Runs StartupMessage and the authentication exchange with the maths under test. */
const login = async (options: {
  user: string
  password: string
  tls?: boolean
  channelBinding?: ChannelBindingMode
  /** Replace the negotiated selection (to misbehave on purpose). */
  override?: (selection: ScramSelection) => ScramSelection
}): Promise<LoginResult> => {
  const mode = options.channelBinding ?? "prefer"
  const { wire, certificate } = await connect(options.tls ?? false)
  const requests: Array<number> = []
  let mechanisms: Array<string> = []
  let scram: ScramState | undefined
  const result = (rest: Partial<LoginResult>): LoginResult => {
    wire.socket.destroy()
    return { ok: false, requests, mechanisms, serverError: undefined, clientError: undefined, scram, ...rest }
  }
  wire.socket.write(startupMessage(options.user))
  for (;;) {
    const { type, body } = await wire.next()
    if (type === "E") return result({ serverError: errorFields(body) })
    if (type === "Z") return result({ ok: true })
    if (type !== "R") continue
    const code = body.readInt32BE(0)
    requests.push(code)
    const data = body.subarray(4)
    let failure: AuthMathError | undefined
    if (code === 0) {
      failure = checkAuthenticationOk(scram, mode)
    } else if (code === 5) {
      const response = md5PasswordResponse(options.password, options.user, data)
      if (response instanceof AuthMathError) failure = response
      else wire.send("p", cstring(response))
    } else if (code === 10) {
      mechanisms = data.toString("latin1").split("\0").filter(Boolean)
      const tlsState = certificate === undefined ? undefined : { serverCertificate: certificate }
      const selected = selectScramMechanism({
        serverMechanisms: mechanisms,
        channelBinding: mode,
        tls: tlsState
      })
      if (selected instanceof AuthMathError) return result({ clientError: selected })
      const selection = options.override ? options.override(selected) : selected
      const first = clientFirst({ channelBinding: selection.channelBinding })
      if (first instanceof AuthMathError) return result({ clientError: first })
      scram = first.state
      wire.send(
        "p",
        Buffer.concat([cstring(selection.mechanism), int32(first.message.length), first.message])
      )
    } else if (code === 11 && scram?._tag === "ScramClientFirstSent") {
      const final = clientFinal(scram, data, options.password)
      if (final instanceof AuthMathError) failure = final
      else {
        scram = final.state
        wire.send("p", final.message)
      }
    } else if (code === 12 && scram?._tag === "ScramClientFinalSent") {
      const verified = verifyServerFinal(scram, data)
      if (verified instanceof AuthMathError) failure = verified
      else scram = verified
    } else {
      failure = new AuthMathError("MechanismUnsupported", `unexpected authentication request ${code}`)
    }
    if (failure !== undefined) return result({ clientError: failure })
  }
}

/** Simple-query as the trust superuser; returns the first column of each row. */
const query = async (sql: string): Promise<Array<string | null>> => {
  const { wire } = await connect(false)
  wire.socket.write(startupMessage("postgres"))
  while ((await wire.next()).type !== "Z") {}
  wire.send("Q", cstring(sql))
  const rows: Array<string | null> = []
  let error: string | undefined
  for (;;) {
    const { type, body } = await wire.next()
    if (type === "E") error = errorFields(body).M
    if (type === "D") {
      const length = body.readInt32BE(2)
      rows.push(length < 0 ? null : body.subarray(6, 6 + length).toString("utf8"))
    }
    if (type === "Z") break
  }
  wire.socket.destroy()
  if (error !== undefined) throw new Error(`setup query failed: ${error}`)
  return rows
}

// ---- the throwaway server ----------------------------------------------------------------------
let dir: string | undefined
let server: ReturnType<typeof spawn> | undefined

const stopServer = async () => {
  const child = server
  server = undefined
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((ok) => child.once("exit", ok))
    child.kill("SIGINT") // fast shutdown
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
    await exited
    clearTimeout(timer)
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  dir = undefined
}

const startServer = async () => {
  const asRoot = process.getuid?.() === 0
  if (asRoot && spawnSync("id", ["-u", "pgtest"]).status !== 0) {
    const useradd = "--system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin"
    execFileSync("useradd", [...useradd.split(" "), "pgtest"])
  }
  const ids = asRoot
    ? {
        uid: Number(execFileSync("id", ["-u", "pgtest"]).toString()),
        gid: Number(execFileSync("id", ["-g", "pgtest"]).toString())
      }
    : {}
  dir = mkdtempSync(join(tmpdir(), "effect-pg-auth-"))
  chmodSync(dir, 0o700)
  const own = (path: string) => asRoot && chownSync(path, ids.uid!, ids.gid!)
  own(dir)
  const data = join(dir, "data")
  const initdbArgs = "-U postgres --auth=trust --no-sync --no-instructions -E UTF8 --locale=C.UTF-8"
  const init = spawnSync(join(bin!, "initdb"), ["-D", data, ...initdbArgs.split(" ")], {
    ...ids,
    cwd: dir,
    encoding: "utf8"
  })
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`)
  // ECDSA P-384 signed with SHA-384: tls-server-end-point must then hash with SHA-384.
  const reqArgs = "req -new -x509 -nodes -days 2 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -sha384"
  const certArgs = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
  const outArgs = ["-keyout", join(data, "server.key"), "-out", join(data, "server.crt")]
  execFileSync("openssl", [...reqArgs.split(" "), ...certArgs, ...outArgs], { stdio: "ignore" })
  for (const file of ["server.key", "server.crt"]) {
    chmodSync(join(data, file), 0o600)
    own(join(data, file))
  }
  certificatePem = readFileSync(join(data, "server.crt"), "utf8")
  writeFileSync(
    join(data, "pg_hba.conf"),
    [
      "local all postgres trust",
      "host all postgres 127.0.0.1/32 trust",
      "host all md5_user 127.0.0.1/32 md5",
      "host all all 127.0.0.1/32 scram-sha-256",
      ""
    ].join("\n")
  )
  port = await new Promise<number>((ok) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address() as net.AddressInfo
      probe.close(() => ok(address.port))
    })
  })
  const settings =
    "listen_addresses=127.0.0.1 fsync=off ssl=on ssl_cert_file=server.crt ssl_key_file=server.key lc_messages=C"
  const child = spawn(
    join(bin!, "postgres"),
    ["-D", data, "-p", String(port), "-k", dir, ...settings.split(" ").flatMap((s) => ["-c", s])],
    { ...ids, cwd: dir, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } }
  )
  server = child
  await new Promise<void>((ok, ko) => {
    let log = ""
    const timer = setTimeout(() => ko(new Error(`postgres did not start:\n${log}`)), 30_000)
    child.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString()
      if (log.includes("ready to accept connections")) {
        clearTimeout(timer)
        ok()
      }
    })
    child.once("exit", (code) => ko(new Error(`postgres exited with ${code}:\n${log}`)))
  })
  const literal = (s: string) => `'${s.replace(/'/g, "''")}'`
  await query(
    `SET password_encryption = 'md5'; CREATE ROLE ${md5Role.user} LOGIN PASSWORD ${literal(md5Role.password)}`
  )
  for (const role of Object.values(scramRoles)) {
    await query(
      `SET password_encryption = 'scram-sha-256'; CREATE ROLE ${role.user} LOGIN PASSWORD ${literal(role.password)}`
    )
  }
}

const storedSecret = async (user: string) =>
  (await query(`SELECT rolpassword FROM pg_authid WHERE rolname = '${user}'`))[0]

describe.skipIf(bin === undefined || !hasOpenssl)("auth maths against a real PostgreSQL", () => {
  beforeAll(async () => {
    try {
      await startServer()
    } catch (error) {
      await stopServer()
      throw error
    }
  })
  afterAll(stopServer)

  it("MD5: the right password logs in, the secret matches pg_authid, a wrong one fails", async () => {
    const good = await login(md5Role)
    assert.deepStrictEqual([good.ok, good.requests], [true, [5, 0]])
    assert.strictEqual(md5PasswordSecret(md5Role.password, md5Role.user), await storedSecret(md5Role.user))
    const bad = await login({ ...md5Role, password: "md5_wrong" })
    assert.deepStrictEqual([bad.ok, bad.serverError?.C], [false, "28P01"])
  })

  it("SCRAM-SHA-256: every role logs in and the server signature is verified", async () => {
    for (const role of Object.values(scramRoles)) {
      const result = await login(role)
      assert.isTrue(result.ok, `${role.user}: ${result.serverError?.M ?? result.clientError?.message}`)
      assert.deepStrictEqual(result.requests, [10, 11, 12, 0])
      assert.deepStrictEqual(result.mechanisms, ["SCRAM-SHA-256"])
      assert.deepStrictEqual(result.scram, {
        _tag: "ScramVerified",
        mechanism: "SCRAM-SHA-256",
        channelBound: false
      })
    }
  })

  it("SCRAM-SHA-256: scramSecret reproduces every stored secret (SASLprep + PBKDF2 = the server's)", async () => {
    for (const role of Object.values(scramRoles)) {
      const stored = (await storedSecret(role.user))!
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored)!
      assert.strictEqual(
        scramSecret(role.password, fromBase64Strict(salt!)!, Number(iterations)),
        stored,
        role.user
      )
    }
  })

  it("SCRAM-SHA-256: a wrong password fails on the server", async () => {
    const bad = await login({ ...scramRoles.ascii, password: "scram_wrong" })
    assert.deepStrictEqual([bad.ok, bad.serverError?.C, bad.requests], [false, "28P01", [10, 11]])
  })

  it("SASLprep equivalences are PostgreSQL's, quirks included", async () => {
    const attempt = async (user: string, password: string) => (await login({ user, password })).ok
    assert.isTrue(await attempt(scramRoles.nbsp.user, "pass word"), "U+00A0 maps to an ASCII space")
    assert.isTrue(await attempt(scramRoles.softHyphen.user, "IX"), "U+00AD maps to nothing")
    assert.isTrue(await attempt(scramRoles.umlaut.user, "pa\u0308sswo\u0308rd"), "NFKC composes")
    assert.isFalse(await attempt(scramRoles.softHyphen.user, "I-X"))
    // PostgreSQL checks prohibited characters before NFKC: "a\u0340" is hashed raw, so its NFKC
    // form "à" (which strict RFC 4013 would produce for it) is a different password.
    assert.isFalse(await attempt(scramRoles.preNfkcProhibited.user, "\u00E0"))
    assert.isFalse(await attempt(scramRoles.umlaut.user, "passwort"))
  })

  it("SCRAM-SHA-256-PLUS over TLS: channel-bound with the SHA-384 certificate hash", async () => {
    const result = await login({ ...scramRoles.umlaut, tls: true })
    assert.isTrue(result.ok, result.serverError?.M ?? result.clientError?.message)
    assert.deepStrictEqual(result.mechanisms, ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])
    assert.deepStrictEqual(result.scram, {
      _tag: "ScramVerified",
      mechanism: "SCRAM-SHA-256-PLUS",
      channelBound: true
    })
    const { wire, certificate } = await connect(true)
    wire.socket.destroy()
    assert.strictEqual(certificateBindingHash(certificate!), "sha384")
  })

  it("over TLS: channel_binding=disable uses SCRAM-SHA-256 with gs2 'n' and the server accepts it", async () => {
    const result = await login({ ...scramRoles.ascii, tls: true, channelBinding: "disable" })
    assert.isTrue(result.ok)
    assert.deepStrictEqual(result.scram, {
      _tag: "ScramVerified",
      mechanism: "SCRAM-SHA-256",
      channelBound: false
    })
  })

  it("over TLS: the server refuses a downgrade ('y' flag) and a SHA-256 hash of a SHA-384 certificate", async () => {
    const downgrade = await login({
      ...scramRoles.ascii,
      tls: true,
      override: () => ({ mechanism: "SCRAM-SHA-256", channelBinding: { type: "client-supports-server-not" } })
    })
    assert.deepStrictEqual(
      [downgrade.ok, downgrade.serverError?.M],
      [false, "SCRAM channel binding negotiation error"]
    )
    const { wire, certificate } = await connect(true)
    wire.socket.destroy()
    const sha256 = new Uint8Array(createHash("sha256").update(certificate!).digest())
    const wrongHash = await login({
      ...scramRoles.ascii,
      tls: true,
      override: (s) => ({ ...s, channelBinding: { type: "tls-server-end-point", data: sha256 } })
    })
    assert.deepStrictEqual(
      [wrongHash.ok, wrongHash.serverError?.M],
      [false, "SCRAM channel binding check failed"]
    )
  })

  it("channel_binding=require without TLS is refused before any password is used", async () => {
    const result = await login({ ...scramRoles.ascii, channelBinding: "require" })
    assert.deepStrictEqual(
      [result.ok, result.clientError?.reason, result.requests],
      [false, "ChannelBindingRequired", [10]]
    )
  })
})
