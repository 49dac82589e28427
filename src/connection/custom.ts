/**
 * Custom commands: `run(command, args)` runs a user-written command (commands/Command.ts) in the
 * connection's FIFO next to the built-in ones, pipelined with them, with the same timeout and
 * interruption rules (timed.ts) and typed errors (its plain Failures become PgServerError,
 * PgProtocolError or PgAuthError).
 *
 * A user's command is guarded: an exception thrown by any of its functions fails the connection
 * with a PgProtocolError naming the command (the session's state is unknown after it), never
 * escaping into the socket's callbacks; arguments it cannot encode (`start` returns a Failure)
 * fail the call with nothing sent. A `SyncRequired` step re-synchronises the session before the
 * next command, an `Unexpected` one fails the connection (engine/run.ts).
 *
 * It does NOT give the command a way to wait for its caller (`onInput` is for built-in
 * caller-driven commands: cursors, COPY) — a custom command is driven by the server's messages.
 */
import { type Command, type Failure, isFailure, type Step, unexpected } from "../commands/Command.ts"
import { PgProtocolError } from "../Errors.ts"
import type { Engine } from "../engine/Engine.ts"
import { CommandRun, toExpertError } from "../engine/run.ts"
import type { BackendMessage } from "../protocol/Backend.ts"
import type { OperationOptions, Timed } from "./timed.ts"

/** Options of `run`: a timeout, and who hears the command's intermediate results. */
export interface RunOptions<P> extends OperationOptions {
  readonly onResult?: ((result: P) => void) | undefined
}

const threw = (name: string, where: string, error: unknown): Failure => ({
  _tag: "Protocol",
  reason: "CommandFailed",
  message: `the ${name} command threw in ${where}: ${error instanceof Error ? error.message : String(error)}`
})

/** The command with every function guarded against exceptions. */
export const guarded = <A, S, R, P, I>(command: Command<A, S, R, P, I>): Command<A, S, R, P, I> => {
  const name = command.name
  const step = (where: string, f: () => Step<R, P>): Step<R, P> => {
    try {
      return f()
    } catch (error) {
      return unexpected(threw(name, where, error))
    }
  }
  const onDataRow = command.onDataRow
  const onInput = command.onInput
  const tags = command.tags
  return {
    name,
    start: (args) => {
      try {
        return command.start(args)
      } catch (error) {
        return threw(name, "start", error)
      }
    },
    onMessage: (state, message: BackendMessage) => step("onMessage", () => command.onMessage(state, message)),
    onDataRow:
      onDataRow === undefined ? undefined : (state, body) => step("onDataRow", () => onDataRow(state, body)),
    onInput:
      onInput === undefined ? undefined : (state, input) => step("onInput", () => onInput(state, input)),
    tags:
      tags === undefined
        ? undefined
        : (state) => {
            try {
              return tags(state)
            } catch {
              return []
            }
          }
  }
}

/** Builds `run` over the engine; `observe` hears the command tags it reports (DISCARD ALL). */
export const makeRun =
  (core: Engine, timed: Timed, observe?: (tag: string) => void) =>
  <A, S, R, P = never, I = never>(command: Command<A, S, R, P, I>, args: A, options?: RunOptions<P>) =>
    timed<R>(options, `the ${command.name} command`, (complete) => {
      const safe = guarded(command)
      const started = safe.start(args)
      if (isFailure(started)) {
        const error = toExpertError(started)
        return error instanceof PgProtocolError ? PgProtocolError.notSent(error) : error
      }
      const request: CommandRun<A, S, R, P, I> = new CommandRun(safe, started, {
        onResult: options?.onResult,
        onDone: (outcome) => complete(outcome),
        onSettle:
          observe === undefined
            ? undefined
            : () => {
                for (const tag of request.commandTags()) observe(tag)
              }
      })
      core.submit(request)
      return request
    })
