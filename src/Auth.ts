/**
 * The Auth service: runs the startup dialogue (commands/startup.ts) on a fresh connection's
 * engine, from StartupMessage to the first ReadyForQuery, and answers what the command asks for.
 *
 * The command does the protocol: protocol 3.2 (or what the config allows) and
 * NegotiateProtocolVersion, trust, cleartext, MD5, SCRAM-SHA-256 and -PLUS, a one-shot GSS token,
 * the SCRAM server signature, `require_auth`, `channel_binding`, out-of-sequence authentication
 * requests, BackendKeyData. This driver submits it as a `CommandRun` on the engine and answers its
 * `Result` needs through `engine.input`: the password, read from `input.password` only when the
 * server asks for one, and SCRAM's SaltedPassword, derived with `crypto.pbkdf2` on libuv's thread
 * pool so the event loop keeps serving other fibers (the command refuses an iteration count above
 * auth/Scram.ts's limit before asking, docs/decisions/011). It builds the `Session` from the
 * command's result, `engine.parameters` and the run's notices, and maps the errors as the API
 * names them: a server's 28xxx refusal before authentication is PgAuthError "server-rejected"
 * (with `serverError`), a lost socket is PgConnectionError phase "auth".
 *
 * If the driver fails (the password Effect failed, PBKDF2 failed) or is interrupted before the
 * dialogue ends, the run is abandoned and the engine failed (its socket destroyed): a half-done
 * startup cannot be resumed. No callback is left waiting.
 *
 * It does NOT open sockets or negotiate TLS (PgSocket), create the engine or retry with another
 * sslmode or host (connection/connect.ts), or do password maths (auth/*, commands/startup.ts). The
 * password never appears in an error.
 */
import { pbkdf2 } from "node:crypto"
import { Context, Effect, Redacted } from "effect"
import type { ChannelBindingMode } from "./auth/ScramNegotiation.ts"
import { isFailure } from "./commands/Command.ts"
import {
  isAuthenticated,
  type StartupAnswer,
  type StartupNeed,
  type StartupResult,
  type StartupState,
  startup as startupCommand
} from "./commands/startup.ts"
import type { PgConfigError } from "./config/ConfigError.ts"
import type { RequireAuth } from "./config/RequireAuth.ts"
import {
  PgAuthError,
  PgConnectionError,
  type PgExpertError,
  type PgProtocolError,
  type PgServerError
} from "./Errors.ts"
import type { Engine } from "./engine/Engine.ts"
import { CommandRun, toExpertError } from "./engine/run.ts"
import type { Notice } from "./Result.ts"

/** Authentication methods as `require_auth` names them, plus "none" (trust, cert). */
export type AuthMethod = RequireAuth["allowed"][number] | "none"

export interface StartupInput {
  readonly user: string
  readonly parameters: Readonly<Record<string, string>>
  /** Minor protocol version to ask for (2 = 3.2). */
  readonly protocolMinor: number
  /** Lowest acceptable minor version after negotiation. */
  readonly minProtocolMinor: number
  /** Called only when the server asks for a password. */
  readonly password: Effect.Effect<Redacted.Redacted<string> | undefined, PgAuthError | PgConfigError>
  readonly channelBinding: ChannelBindingMode
  /** libpq `require_auth`: undefined allows everything. */
  readonly requireAuth?: RequireAuth | undefined
  readonly gssToken?: Uint8Array | undefined
}

export interface Session {
  readonly processId: number
  readonly secretKey: Uint8Array
  readonly protocolMinor: number
  readonly parameters: ReadonlyMap<string, string>
  readonly notices: ReadonlyArray<Notice>
  /** The method the server used (as require_auth names it). */
  readonly method: AuthMethod
  readonly channelBound: boolean
}

export type StartupError = PgAuthError | PgServerError | PgConnectionError | PgProtocolError | PgConfigError

export interface AuthService {
  /** Runs the startup on a fresh engine (nothing submitted yet); on success it is ready for queries. */
  readonly startup: (engine: Engine, input: StartupInput) => Effect.Effect<Session, StartupError>
}

/** The Auth service; a `Context.Reference` whose default runs the dialogue below. */
export const Auth: Context.Reference<AuthService> = Context.Reference<AuthService>("effect-pg/Auth", {
  defaultValue: () => ({ startup })
})

type Event =
  | StartupNeed
  | {
      readonly _tag: "Done"
      readonly outcome: StartupResult | PgExpertError
      readonly notices: ReadonlyArray<Notice>
    }

/** Events from the run's callbacks, taken one at a time by the driver fiber. */
const mailbox = () => {
  const events: Array<Event> = []
  let waiter: ((effect: Effect.Effect<Event>) => void) | undefined
  const offer = (event: Event) => {
    const resume = waiter
    if (resume === undefined) return void events.push(event)
    waiter = undefined
    resume(Effect.succeed(event))
  }
  const take = Effect.callback<Event>((resume) => {
    const next = events.shift()
    if (next !== undefined) return resume(Effect.succeed(next))
    waiter = resume
    return Effect.sync(() => {
      if (waiter === resume) waiter = undefined
    })
  })
  return { offer, take }
}

/** SaltedPassword = PBKDF2-HMAC-SHA-256, on libuv's thread pool: the event loop is not blocked. */
const pbkdf2Sha256 = (password: Uint8Array, salt: Uint8Array, iterations: number) =>
  Effect.callback<Uint8Array, PgAuthError>((resume) => {
    let waiting = true
    pbkdf2(password, salt, iterations, 32, "sha256", (error, key) => {
      if (!waiting) return
      waiting = false
      resume(
        error === null
          ? Effect.succeed(new Uint8Array(key))
          : Effect.fail(
              new PgAuthError({
                method: "scram-sha-256",
                reason: "protocol",
                message: "PBKDF2 failed",
                cause: error
              })
            )
      )
    })
    // The derivation cannot be stopped; once interrupted, its result is dropped.
    return Effect.sync(() => {
      waiting = false
    })
  })

const answer = (need: StartupNeed, input: StartupInput): Effect.Effect<StartupAnswer, StartupError> =>
  need._tag === "NeedPassword"
    ? Effect.map(
        input.password,
        (password): StartupAnswer => ({
          _tag: "Password",
          password: password === undefined ? undefined : Redacted.value(password)
        })
      )
    : Effect.map(
        pbkdf2Sha256(need.password, need.salt, need.iterations),
        (saltedPassword): StartupAnswer => ({ _tag: "SaltedPassword", saltedPassword })
      )

/** The API's error for how the run ended. */
const startupError = (error: PgExpertError, state: StartupState): StartupError => {
  switch (error._tag) {
    case "PgServerError":
      return !isAuthenticated(state) && error.code.startsWith("28")
        ? new PgAuthError({
            method: state.method,
            reason: "server-rejected",
            message: error.message,
            serverError: error
          })
        : error
    case "PgAuthError":
    case "PgProtocolError":
    case "PgConfigError":
      return error
    case "PgConnectionError": {
      // The engine's "lost socket" (phase io): during the startup it is a failed login attempt.
      const cause = error.cause instanceof Error ? error.cause : undefined
      return new PgConnectionError({
        phase: "auth",
        mayHaveReachedServer: false,
        message: `the server closed the connection during startup${cause === undefined ? "" : `: ${cause.message}`}`,
        cause
      })
    }
    default:
      // PgClosedError (the engine was no longer open) and the like.
      return new PgConnectionError({
        phase: "auth",
        mayHaveReachedServer: false,
        message: `the startup could not run: ${error.message}`,
        cause: error
      })
  }
}

/** Runs the dialogue on a fresh engine. On success the engine is ready for queries. */
export const startup = (engine: Engine, input: StartupInput): Effect.Effect<Session, StartupError> =>
  Effect.suspend(() => {
    const start = startupCommand.start({
      user: input.user,
      parameters: input.parameters,
      protocolMinor: input.protocolMinor,
      minProtocolMinor: input.minProtocolMinor,
      channelBinding: input.channelBinding,
      requireAuth: input.requireAuth,
      gssToken: input.gssToken,
      serverCertificate: engine.wire.peerCertificate
    })
    if (isFailure(start)) return Effect.fail(toExpertError(start))
    const events = mailbox()
    const run = new CommandRun(startupCommand, start, {
      onResult: events.offer,
      onDone: (outcome, notices) => events.offer({ _tag: "Done", outcome, notices })
    })
    let over = false
    const dialogue = Effect.gen(function* () {
      engine.submit(run)
      for (;;) {
        const event = yield* events.take
        if (event._tag !== "Done") {
          engine.input(run, yield* answer(event, input))
          continue
        }
        over = true
        const outcome = event.outcome
        if ("_tag" in outcome) return yield* Effect.fail(startupError(outcome, run.state))
        return {
          processId: outcome.processId,
          secretKey: outcome.secretKey,
          protocolMinor: outcome.protocolMinor,
          parameters: new Map(engine.parameters),
          notices: event.notices,
          method: outcome.method,
          channelBound: outcome.channelBound
        } satisfies Session
      }
    })
    // Failed or interrupted mid-dialogue: nobody will finish it, so the connection goes.
    const abandon = Effect.sync(() => {
      if (over) return
      run.abandoned = true
      engine.fail(
        new PgConnectionError({
          phase: "auth",
          mayHaveReachedServer: true,
          message: "the startup dialogue was abandoned before it completed"
        })
      )
    })
    return Effect.onExit(dialogue, () => abandon)
  })
