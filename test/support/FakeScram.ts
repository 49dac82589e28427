/**
 * The server side of SCRAM-SHA-256 for fake-server scripts, step by step, so that a test can stop
 * the exchange (or break it) at any point: offer SASL and read the client-first-message, send a
 * server-first-message with a chosen iteration count, then read the client-final-message and build
 * a SASLFinal with the correct server signature.
 *
 * It does NOT check the client's proof (login.in-process.test.ts does) or reuse src/auth: the maths
 * is written here again with node:crypto, so the client is never checked against itself. PBKDF2
 * runs with the asynchronous `crypto.pbkdf2`, so the fake never blocks the event loop it shares
 * with the client.
 */
import { createHmac, pbkdf2, randomBytes } from "node:crypto"
import { Effect } from "effect"
import type { FakeClient } from "./FakeServer.ts"
import * as Fake from "./FakeServer.ts"

/** What the client said in its SASLInitialResponse. */
export interface ScramStart {
  readonly mechanism: string
  readonly clientFirstBare: string
  readonly clientNonce: string
}

/** What the fake said in its server-first-message. */
export interface ScramServerFirstSent extends ScramStart {
  readonly serverFirst: string
  readonly salt: Buffer
  readonly iterations: number
}

/** Sends AuthenticationSASL (SCRAM-SHA-256 only) and reads the client's SASLInitialResponse. */
export const offerScram = (client: FakeClient): Effect.Effect<ScramStart, Fake.FakeServerError> =>
  Effect.gen(function* () {
    yield* client.write(Fake.authenticationSASL(["SCRAM-SHA-256"]))
    const initial = Fake.saslInitialResponse((yield* client.expect("PasswordFamily")).body)
    // client-first-message = gs2-header (two fields) "," client-first-bare
    const clientFirstBare = initial.data.split(",").slice(2).join(",")
    const clientNonce =
      clientFirstBare
        .split(",")
        .find((a) => a.startsWith("r="))
        ?.slice(2) ?? ""
    return { mechanism: initial.mechanism, clientFirstBare, clientNonce }
  })

/** Sends the server-first-message (AuthenticationSASLContinue) asking for `iterations`. */
export const sendServerFirst = (
  client: FakeClient,
  start: ScramStart,
  iterations = 4096
): Effect.Effect<ScramServerFirstSent, Fake.FakeServerError> =>
  Effect.gen(function* () {
    const salt = randomBytes(16)
    const nonce = `${start.clientNonce}${randomBytes(12).toString("base64")}`
    const serverFirst = `r=${nonce},s=${salt.toString("base64")},i=${iterations}`
    yield* client.write(Fake.authenticationSASLContinue(serverFirst))
    return { ...start, serverFirst, salt, iterations }
  })

const derive = (password: string, salt: Buffer, iterations: number) =>
  Effect.callback<Buffer>((resume) => {
    pbkdf2(password, salt, iterations, 32, "sha256", (error, key) =>
      resume(error === null ? Effect.succeed(key) : Effect.die(error))
    )
  })

/**
 * Reads the client-final-message and returns the AuthenticationSASLFinal frame that proves the
 * fake knows `password` (not written: the script decides what to send with it).
 */
export const serverFinal = (
  client: FakeClient,
  sent: ScramServerFirstSent,
  password = "secret"
): Effect.Effect<Uint8Array, Fake.FakeServerError> =>
  Effect.gen(function* () {
    const final = new TextDecoder().decode((yield* client.expect("PasswordFamily")).body)
    const withoutProof = final.slice(0, final.lastIndexOf(",p="))
    const authMessage = [sent.clientFirstBare, sent.serverFirst, withoutProof].join(",")
    const salted = yield* derive(password, sent.salt, sent.iterations)
    const serverKey = createHmac("sha256", salted).update("Server Key").digest()
    const signature = createHmac("sha256", serverKey).update(authMessage).digest("base64")
    return Fake.authenticationSASLFinal(`v=${signature}`)
  })

/** A whole SCRAM exchange up to (and including) a correct SASLFinal, which the client verifies. */
export const completeScram = (client: FakeClient): Effect.Effect<void, Fake.FakeServerError> =>
  Effect.gen(function* () {
    const sent = yield* sendServerFirst(client, yield* offerScram(client))
    yield* client.write(yield* serverFinal(client, sent))
  })
