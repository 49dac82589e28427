/**
 * SCRAM-SHA-256 and SCRAM-SHA-256-PLUS client maths (RFC 5802, RFC 7677), as PostgreSQL uses them.
 *
 * Does: three steps, each a pure function from the previous state and the server's message:
 * 1. {@link clientFirst} → client-first-message (SASLInitialResponse data) and state;
 * 2. {@link clientFinal} → parses server-first-message strictly, computes
 *    SaltedPassword = PBKDF2-HMAC-SHA-256(SASLprep'd password, salt, i), ClientKey, StoredKey,
 *    AuthMessage, ClientProof → client-final-message (SASLResponse data) and state. It is also
 *    split in two around the one expensive step, so that a caller can run PBKDF2 elsewhere (the
 *    Auth service runs it on libuv's thread pool): {@link parseServerFirst} (validates, refuses
 *    an iteration count above the limit before any hashing) → the caller computes
 *    SaltedPassword → {@link clientFinalFromSaltedPassword};
 * 3. {@link verifyServerFinal} → checks the server-final-message's `v=` against the expected
 *    ServerSignature in constant time. Only the {@link ScramVerified} state it returns proves the
 *    server knew the password; ScramNegotiation.ts's `checkAuthenticationOk` refuses AuthenticationOk
 *    without it.
 * Also {@link scramSecret}: the stored secret `SCRAM-SHA-256$i:salt$StoredKey:ServerKey`.
 * Does NOT: send or receive, run anything asynchronously (clientFinal and scramSecret hash with
 * the synchronous pbkdf2Sync, which blocks for as long as the count asks), choose the mechanism (ScramNegotiation.ts), hash the certificate
 * (ChannelBinding.ts), accept server extensions (`m=` or any attribute beyond r, s, i / v, e).
 *
 * Invariants: the username sent is empty by default (`n=,`; PostgreSQL uses the StartupMessage user);
 * the gs2 header of client-first and of `c=` are the same string; states are immutable and hold no
 * password, salted password or key except the expected ServerSignature; the iteration count is
 * bounded (default {@link defaultMaxIterations}) so a hostile server cannot stall the client;
 * nothing throws; error messages never contain secrets.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5802 SCRAM
 * @see https://www.rfc-editor.org/rfc/rfc7677 SCRAM-SHA-256
 * @see https://www.postgresql.org/docs/current/sasl-authentication.html
 */
import { Buffer } from "node:buffer"
import {
  createHash,
  createHmac,
  randomBytes as nodeRandomBytes,
  pbkdf2Sync,
  timingSafeEqual
} from "node:crypto"
import { AuthMathError, quote } from "./AuthMathError.ts"
import { asciiBytes, concatBytes, fromBase64Strict, toBase64 } from "./Bytes.ts"
import { saslPrep, scramPasswordBytes } from "./SaslPrep.ts"

export const SCRAM_SHA_256 = "SCRAM-SHA-256"
export const SCRAM_SHA_256_PLUS = "SCRAM-SHA-256-PLUS"
export type ScramMechanism = typeof SCRAM_SHA_256 | typeof SCRAM_SHA_256_PLUS

/**
 * The channel-binding flag of the gs2 header (RFC 5802 section 6):
 * - `none`: `n,,` client does not support channel binding, or it is disabled;
 * - `client-supports-server-not`: `y,,` client supports it, but the server did not offer PLUS
 *   (a server that did offer it then detects the downgrade and refuses);
 * - `tls-server-end-point`: `p=tls-server-end-point,,` with `data` from ChannelBinding.ts; selects
 *   SCRAM-SHA-256-PLUS.
 */
export type ScramChannelBinding =
  | { readonly type: "none" }
  | { readonly type: "client-supports-server-not" }
  | { readonly type: "tls-server-end-point"; readonly data: Uint8Array }

/** After client-first: what clientFinal needs. */
export interface ScramClientFirstSent {
  readonly _tag: "ScramClientFirstSent"
  readonly mechanism: ScramMechanism
  /** "n,,", "y,," or "p=tls-server-end-point,,". */
  readonly gs2Header: string
  readonly channelBindingData: Uint8Array
  readonly clientNonce: string
  readonly clientFirstMessageBare: string
}

/** After client-final: the ServerSignature the server must send back. */
export interface ScramClientFinalSent {
  readonly _tag: "ScramClientFinalSent"
  readonly mechanism: ScramMechanism
  readonly expectedServerSignature: Uint8Array
}

/** The server proved it knows the password; `channelBound` when the exchange was SCRAM-SHA-256-PLUS. */
export interface ScramVerified {
  readonly _tag: "ScramVerified"
  readonly mechanism: ScramMechanism
  readonly channelBound: boolean
}

export type ScramState = ScramClientFirstSent | ScramClientFinalSent | ScramVerified

/**
 * Iteration counts above this are refused unless the caller raises the limit: 244 times
 * PostgreSQL's default of 4096, above OWASP's 600 000 for PBKDF2-HMAC-SHA-256, and about 0.13 s
 * of one CPU here (docs/decisions/011-scram-iteration-cap.md).
 */
export const defaultMaxIterations = 1_000_000

/** Raw nonce length; libpq uses 18 bytes too (24 base64 characters). */
const nonceBytes = 18

const printable = /^[\x21-\x2b\x2d-\x7e]+$/ // RFC 5802 `printable`: ASCII visible, no ","

const invalid = (message: string) => new AuthMathError("InvalidInput", message)
const malformed = (message: string) => new AuthMathError("MalformedServerMessage", message)

/** RFC 5802 saslname: "=" → "=3D", "," → "=2C". */
const escapeUsername = (name: string): string => name.replace(/=/g, "=3D").replace(/,/g, "=2C")

export interface ClientFirstOptions {
  readonly channelBinding: ScramChannelBinding
  /** Sent as `n=`; PostgreSQL ignores it. Default "" (what libpq sends). SASLprep'd and escaped. */
  readonly username?: string
  /** Random source for the nonce (default `crypto.randomBytes`); must return `size` bytes. */
  readonly randomBytes?: (size: number) => Uint8Array
  /** A fixed client nonce (tests only, e.g. RFC 7677's); printable ASCII without ",". */
  readonly nonce?: string
}

/**
 * Step 1: the client-first-message. `message` is the SASLInitialResponse data; `state.mechanism`
 * (SCRAM-SHA-256-PLUS exactly when the binding is tls-server-end-point) is the mechanism name that
 * goes in front of it.
 */
export const clientFirst = (
  options: ClientFirstOptions
): { readonly message: Uint8Array; readonly state: ScramClientFirstSent } | AuthMathError => {
  const binding = options.channelBinding
  let gs2Header: string
  let channelBindingData = new Uint8Array(0)
  if (binding.type === "tls-server-end-point") {
    if (binding.data.length === 0) return invalid("tls-server-end-point channel binding data is empty")
    gs2Header = "p=tls-server-end-point,,"
    channelBindingData = Uint8Array.from(binding.data)
  } else {
    gs2Header = binding.type === "client-supports-server-not" ? "y,," : "n,,"
  }
  let nonce = options.nonce
  if (nonce === undefined) {
    const raw = (options.randomBytes ?? nodeRandomBytes)(nonceBytes)
    if (raw.length !== nonceBytes) {
      return invalid(`random source returned ${raw.length} bytes, not ${nonceBytes}`)
    }
    nonce = toBase64(raw)
  } else if (!printable.test(nonce)) {
    return invalid("client nonce must be printable ASCII without ','")
  }
  let username = ""
  if (options.username !== undefined && options.username !== "") {
    const prepared = saslPrep(options.username)
    if (prepared instanceof AuthMathError) return prepared
    username = escapeUsername(prepared)
  }
  const clientFirstMessageBare = `n=${username},r=${nonce}`
  const state: ScramClientFirstSent = {
    _tag: "ScramClientFirstSent",
    mechanism: binding.type === "tls-server-end-point" ? SCRAM_SHA_256_PLUS : SCRAM_SHA_256,
    gs2Header,
    channelBindingData,
    clientNonce: nonce,
    clientFirstMessageBare
  }
  return { message: new TextEncoder().encode(gs2Header + clientFirstMessageBare), state }
}

/** A server message as text, refusing anything but printable ASCII (RFC 5802 messages are ASCII). */
const serverText = (message: Uint8Array | string, which: string): string | AuthMathError => {
  const text =
    typeof message === "string"
      ? message
      : Buffer.from(message.buffer, message.byteOffset, message.length).toString("latin1")
  if (text.length === 0) return malformed(`${which} is empty`)
  if (!/^[\x20-\x7e]*$/.test(text)) return malformed(`${which} contains non-printable or non-ASCII bytes`)
  return text
}

/** Splits "a=x,b=y" into attributes, requiring exactly the `expected` letters in that order. */
const attributes = (
  text: string,
  expected: ReadonlyArray<string>,
  which: string
): ReadonlyArray<string> | AuthMathError => {
  const parts = text.split(",")
  const values: Array<string> = []
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    const letter = part.slice(0, 1)
    if (part.charAt(1) !== "=") return malformed(`${which}: attribute ${i + 1} is not of the form x=value`)
    if (letter === "m") return malformed(`${which}: mandatory extension "m=" is not supported`)
    if (i >= expected.length) return malformed(`${which}: unexpected attribute ${quote(letter)}`)
    if (letter !== expected[i]) {
      return malformed(`${which}: expected attribute "${expected[i]}" but got ${quote(letter)}`)
    }
    values.push(part.slice(2))
  }
  if (values.length < expected.length) {
    return malformed(`${which}: missing attribute "${expected[values.length]}"`)
  }
  return values
}

const hmac = (key: Uint8Array, data: Uint8Array | string): Uint8Array =>
  new Uint8Array(createHmac("sha256", key).update(data).digest())

const sha256 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash("sha256").update(data).digest())

/** SaltedPassword = Hi(password, salt, i) (RFC 5802 section 2.2), synchronously. */
const saltedPasswordSync = (password: Uint8Array, salt: Uint8Array, iterations: number): Uint8Array =>
  new Uint8Array(pbkdf2Sync(password, salt, iterations, 32, "sha256"))

/** ClientKey, StoredKey, ServerKey from SaltedPassword (RFC 5802 section 3). */
const deriveKeys = (saltedPassword: Uint8Array) => {
  const clientKey = hmac(saltedPassword, "Client Key")
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(saltedPassword, "Server Key") }
}

const parseIterations = (text: string, maxIterations: number): number | AuthMathError => {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) {
    return new AuthMathError(
      "IterationCountRefused",
      `iteration count ${quote(text)} is not a positive integer`
    )
  }
  const iterations = Number(text)
  if (iterations > maxIterations) {
    return new AuthMathError(
      "IterationCountRefused",
      `iteration count ${iterations} exceeds the limit of ${maxIterations}`
    )
  }
  return iterations
}

export interface ClientFinalOptions {
  /** Refuse iteration counts above this (default {@link defaultMaxIterations}). */
  readonly maxIterations?: number
}

/** A validated server-first-message: what PBKDF2 needs (salt, iterations) and what follows it. */
export interface ScramServerFirst {
  readonly serverFirstMessage: string
  /** The combined nonce (client nonce + server part). */
  readonly nonce: string
  readonly salt: Uint8Array
  readonly iterations: number
}

/**
 * Step 2a: parse the server-first-message (AuthenticationSASLContinue data) strictly. An iteration
 * count above `maxIterations` is refused here, before anything is hashed.
 */
export const parseServerFirst = (
  state: ScramClientFirstSent,
  serverFirstMessage: Uint8Array | string,
  options: ClientFinalOptions = {}
): ScramServerFirst | AuthMathError => {
  const maxIterations = options.maxIterations ?? defaultMaxIterations
  if (!Number.isSafeInteger(maxIterations) || maxIterations < 1) {
    return invalid("maxIterations must be a positive integer")
  }
  const serverFirst = serverText(serverFirstMessage, "server-first-message")
  if (serverFirst instanceof AuthMathError) return serverFirst
  const values = attributes(serverFirst, ["r", "s", "i"], "server-first-message")
  if (values instanceof AuthMathError) return values
  const [nonce, saltText, iterationText] = values as [string, string, string]
  if (!printable.test(nonce)) return malformed("server-first-message: nonce is empty or not printable")
  if (nonce.length <= state.clientNonce.length || !nonce.startsWith(state.clientNonce)) {
    return new AuthMathError(
      "NonceMismatch",
      "server nonce does not start with the client nonce followed by the server's part"
    )
  }
  const salt = fromBase64Strict(saltText)
  if (salt === undefined || salt.length === 0) {
    return malformed("server-first-message: salt is empty or not valid base64")
  }
  const iterations = parseIterations(iterationText, maxIterations)
  if (iterations instanceof AuthMathError) return iterations
  return { serverFirstMessage: serverFirst, nonce, salt, iterations }
}

/**
 * Step 2b: the client-final-message (SASLResponse data) from SaltedPassword, which the caller
 * computed as PBKDF2-HMAC-SHA-256(`scramPasswordBytes(password)`, `serverFirst.salt`,
 * `serverFirst.iterations`, 32 bytes), e.g. with the asynchronous `crypto.pbkdf2`.
 */
export const clientFinalFromSaltedPassword = (
  state: ScramClientFirstSent,
  serverFirst: ScramServerFirst,
  saltedPassword: Uint8Array
): { readonly message: Uint8Array; readonly state: ScramClientFinalSent } | AuthMathError => {
  if (saltedPassword.length !== 32) return invalid("SaltedPassword must be 32 bytes (SHA-256)")
  const channelBinding = toBase64(concatBytes(asciiBytes(state.gs2Header), state.channelBindingData))
  const clientFinalWithoutProof = `c=${channelBinding},r=${serverFirst.nonce}`
  const authMessage = `${state.clientFirstMessageBare},${serverFirst.serverFirstMessage},${clientFinalWithoutProof}`
  const keys = deriveKeys(saltedPassword)
  const clientSignature = hmac(keys.storedKey, authMessage)
  const proof = keys.clientKey.map((byte, i) => byte ^ clientSignature[i]!)
  return {
    message: asciiBytes(`${clientFinalWithoutProof},p=${toBase64(proof)}`),
    state: {
      _tag: "ScramClientFinalSent",
      mechanism: state.mechanism,
      expectedServerSignature: hmac(keys.serverKey, authMessage)
    }
  }
}

/**
 * Step 2, in one synchronous call: {@link parseServerFirst}, PBKDF2 with `pbkdf2Sync`, then
 * {@link clientFinalFromSaltedPassword}. `password` is SASLprep'd as PostgreSQL does (raw bytes
 * when SASLprep refuses it or it is not UTF-8). Blocks the thread for the whole derivation.
 */
export const clientFinal = (
  state: ScramClientFirstSent,
  serverFirstMessage: Uint8Array | string,
  password: string | Uint8Array,
  options: ClientFinalOptions = {}
): { readonly message: Uint8Array; readonly state: ScramClientFinalSent } | AuthMathError => {
  const serverFirst = parseServerFirst(state, serverFirstMessage, options)
  if (serverFirst instanceof AuthMathError) return serverFirst
  const passwordBytes = scramPasswordBytes(password)
  if (passwordBytes instanceof AuthMathError) return passwordBytes
  const salted = saltedPasswordSync(passwordBytes, serverFirst.salt, serverFirst.iterations)
  return clientFinalFromSaltedPassword(state, serverFirst, salted)
}

/**
 * Step 3: verify the server-final-message (AuthenticationSASLFinal data). `e=...` is a
 * `ServerError`; a missing, malformed or wrong `v=` is an error. Only a {@link ScramVerified}
 * result lets the caller accept the following AuthenticationOk.
 */
export const verifyServerFinal = (
  state: ScramClientFinalSent,
  serverFinalMessage: Uint8Array | string
): ScramVerified | AuthMathError => {
  const serverFinal = serverText(serverFinalMessage, "server-final-message")
  if (serverFinal instanceof AuthMathError) return serverFinal
  if (serverFinal.startsWith("e=")) {
    return new AuthMathError("ServerError", `server reported a SCRAM error: ${quote(serverFinal.slice(2))}`)
  }
  const values = attributes(serverFinal, ["v"], "server-final-message")
  if (values instanceof AuthMathError) return values
  const signature = fromBase64Strict(values[0]!)
  if (signature === undefined || signature.length !== state.expectedServerSignature.length) {
    return malformed("server-final-message: server signature is not 32 bytes of valid base64")
  }
  if (!timingSafeEqual(signature, state.expectedServerSignature)) {
    return new AuthMathError(
      "ServerSignatureMismatch",
      "server signature is incorrect: the server did not prove it knows the password"
    )
  }
  return {
    _tag: "ScramVerified",
    mechanism: state.mechanism,
    channelBound: state.mechanism === SCRAM_SHA_256_PLUS
  }
}

/**
 * The stored SCRAM secret PostgreSQL keeps in `pg_authid.rolpassword`:
 * `SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>`.
 * Lets a client send `ALTER ROLE ... PASSWORD '<secret>'` without the cleartext (as libpq's
 * PQencryptPasswordConn does); `salt` should be 16 random bytes.
 */
export const scramSecret = (
  password: string | Uint8Array,
  salt: Uint8Array,
  iterations: number
): string | AuthMathError => {
  if (salt.length === 0) return invalid("salt is empty")
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    return invalid("iterations must be a positive integer")
  }
  const passwordBytes = scramPasswordBytes(password)
  if (passwordBytes instanceof AuthMathError) return passwordBytes
  const keys = deriveKeys(saltedPasswordSync(passwordBytes, salt, iterations))
  return `SCRAM-SHA-256$${iterations}:${toBase64(salt)}$${toBase64(keys.storedKey)}:${toBase64(keys.serverKey)}`
}
