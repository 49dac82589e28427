/**
 * How the command operations (prepared.ts, pipeline.ts, cursor.ts) run a pure command on their
 * connection: `CommandDeps` is what they need of it (the engine, the Writer, `timed`, `interrupt`,
 * the tag observer), and `runCommand` runs one command once through `timed` (timeouts cancel on
 * the server, interruption abandons), resending it once only when the operation says it had no
 * effect (a 57014 meant for the statement before it, cancel.ts `collateralCancel`).
 *
 * It does NOT build commands or decide what an operation returns (the hooks do).
 */
import type { Effect } from "effect"
import { type Command, isFailure } from "../commands/Command.ts"
import { isPgExpertError, type PgExpertError, PgProtocolError } from "../Errors.ts"
import type { Engine, Request } from "../engine/Engine.ts"
import { CommandRun, toExpertError } from "../engine/run.ts"
import type { Writer } from "../protocol/Writer.ts"
import { collateralCancel } from "./cancel.ts"
import type { OperationOptions, Timed } from "./timed.ts"
import type { Values } from "./values.ts"

/** What the command operations need of their connection (operations.ts builds it). */
export interface CommandDeps {
  readonly core: Engine
  readonly writer: Writer
  readonly timed: Timed
  /** cancel.ts `interrupt`: withdraw, or cancel the only request in flight, or let it drain. */
  readonly interrupt: (request: Request & { abandoned: boolean }) => Effect.Effect<void>
  /** Told each command tag the server answered (the statement cache watches for DISCARD ALL). */
  readonly observe?: ((tag: string) => void) | undefined
  /** Parameter encoding and typed results (values.ts); absent: text results, default registry. */
  readonly values?: Values | undefined
}

/** How `runCommand` treats one run of a command. */
export interface RunHooks<A, S, R, P, I, Out> {
  /** The result the caller gets. */
  readonly map: (value: R, run: CommandRun<A, S, R, P, I>) => Out
  readonly onResult?: ((result: P, run: CommandRun<A, S, R, P, I>) => void) | undefined
  /** The run ended, even abandoned (`undefined`: withdrawn unsent, or a void command's success). */
  readonly onSettle?:
    | ((outcome: R | PgExpertError | undefined, run: CommandRun<A, S, R, P, I>) => void)
    | undefined
  /** Whether a run hit by a cancel meant for another statement (it had no effect) may run again once. */
  readonly resend?: ((run: CommandRun<A, S, R, P, I>) => boolean) | undefined
}

/** An error found before sending: a protocol error says so (`mayHaveRun` false). */
export const notSent = (error: PgExpertError): PgExpertError =>
  error instanceof PgProtocolError ? PgProtocolError.notSent(error) : error

/** Every command tag `run` saw, told to `deps.observe` (DISCARD ALL matters even in a failed run). */
export const observeTags = (deps: CommandDeps, run: { commandTags(): ReadonlyArray<string> }): void => {
  const observe = deps.observe
  if (observe !== undefined) for (const tag of run.commandTags()) observe(tag)
}

/** Runs `command` once through `timed` (a Failure from `start`: nothing sent, the call fails). */
export const runCommand = <A, S, R, P, I, Out>(
  deps: CommandDeps,
  options: OperationOptions | undefined,
  what: string,
  command: Command<A, S, R, P, I>,
  args: A,
  hooks: RunHooks<A, S, R, P, I, Out>
): Effect.Effect<Out, PgExpertError> =>
  deps.timed<Out>(options, what, (complete, retry) => {
    const submit = (mayResend: boolean): CommandRun<A, S, R, P, I> | PgExpertError => {
      const started = command.start(args)
      if (isFailure(started)) return notSent(toExpertError(started))
      const run: CommandRun<A, S, R, P, I> = new CommandRun(command, started, {
        onResult: hooks.onResult === undefined ? undefined : (result) => hooks.onResult!(result, run),
        onDone: (outcome) => {
          if (!isPgExpertError(outcome)) return complete(hooks.map(outcome, run))
          const again =
            mayResend &&
            hooks.resend?.(run) === true &&
            collateralCancel(deps.core, run, outcome) &&
            retry.allowed()
          if (!again) return complete(outcome)
          const next = submit(false)
          return isPgExpertError(next) ? complete(next) : retry.swap(next)
        },
        onSettle: hooks.onSettle === undefined ? undefined : (outcome) => hooks.onSettle!(outcome, run)
      })
      deps.core.submit(run)
      return run
    }
    return submit(true)
  })
