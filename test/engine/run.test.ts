/**
 * CommandRun (src/engine/run.ts), the adapter between a pure command and the engine, with a
 * recording context instead of a socket: rows batched per read, a command's end only on a
 * ReadyForQuery, multi-Sync commands, SyncRequired with and without an outstanding Sync (the
 * Sync it writes, the ReadyForQuery it waits for), Unexpected and Stop failing the connection,
 * exclusivity from the frames, and abandonment.
 */
import { describe, expect, it } from "vitest"
import * as Command from "../../src/commands/Command.ts"
import type { PgExpertError } from "../../src/Errors.ts"
import type { RequestContext } from "../../src/engine/Engine.ts"
import { CommandRun, endsInStep } from "../../src/engine/run.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { encodeQuery, FLUSH, SYNC } from "../../src/protocol/Frontend.ts"
import { commandComplete, dataRow, ready } from "../commands/samples.ts"

const recorder = () => {
  const sent: Array<Uint8Array> = []
  const failed: Array<PgExpertError> = []
  const context: RequestContext = { send: (f) => sent.push(f), fail: (e) => failed.push(e) }
  return { sent, failed, context }
}

/** A command that answers each message with the next scripted step. */
const scripted = (steps: ReadonlyArray<Command.Step<string, number>>, frames: Uint8Array = SYNC) =>
  Command.make<void, { at: number }, string, number>({
    name: "scripted",
    start: () => ({ frames, state: { at: 0 } }),
    onMessage: (state) => steps[state.at++] ?? Command.CONTINUE
  })

const runOf = (command: ReturnType<typeof scripted>) => {
  const outcomes: Array<unknown> = []
  const rows: Array<unknown> = []
  const results: Array<number> = []
  const start = command.start(undefined)
  if (Command.isFailure(start)) throw new Error("start failed")
  const run = new CommandRun(command, start, {
    onRows: (batch) => rows.push(batch),
    onResult: (r) => results.push(r),
    onDone: (outcome) => outcomes.push(outcome)
  })
  return { run, outcomes, rows, results }
}

const message = (m: BackendMessage) => m

describe("CommandRun", () => {
  it("batches rows per read, hands results on, ends on its ReadyForQuery", () => {
    const { run, outcomes, rows, results } = runOf(
      scripted([
        Command.result(7),
        Command.row(["a"]),
        Command.row(["b"]),
        Command.CONTINUE,
        Command.done("ok")
      ])
    )
    const { context } = recorder()
    run.onMessage(message({ _tag: "BindComplete" }), context)
    run.onMessage(dataRow("a"), context)
    run.onMessage(dataRow("b"), context)
    run.onBatchEnd()
    run.onMessage(commandComplete("SELECT 2"), context)
    expect(run.onReadyForQuery(ready(), context)).toBe(true)
    run.onReady()
    expect(results).toEqual([7])
    expect(rows).toEqual([[["a"], ["b"]]])
    expect(outcomes).toEqual(["ok"])
  })

  it("a ReadyForQuery the command does not end on answers an earlier Sync", () => {
    const { run } = runOf(scripted([Command.CONTINUE, Command.done("last")]))
    const { context } = recorder()
    expect(run.onReadyForQuery(ready(), context)).toBe(false)
    expect(run.onReadyForQuery(ready(), context)).toBe(true)
  })

  it("Done on a message that is not a ReadyForQuery is a protocol error", () => {
    const { run } = runOf(scripted([Command.done("early")]))
    const { context, failed } = recorder()
    run.onMessage(commandComplete("SELECT 1"), context)
    expect(failed[0]?._tag).toBe("PgProtocolError")
    expect(failed[0]?.message).toMatch(/ended before its ReadyForQuery/)
  })

  it("SyncRequired with its Sync outstanding: discards up to that ReadyForQuery, writes nothing", () => {
    const failure = Command.protocol("Odd", "odd sequence")
    const { run, outcomes } = runOf(scripted([Command.syncRequired(failure, 1)]))
    const { context, sent } = recorder()
    run.onMessage(message({ _tag: "ParseComplete" }), context)
    run.onMessage(dataRow("ignored"), context)
    expect(sent).toEqual([])
    expect(run.onReadyForQuery(ready(), context)).toBe(true)
    run.onReady()
    expect(outcomes).toMatchObject([{ _tag: "PgProtocolError", reason: "Odd" }])
    expect(run.hasError()).toBe(true)
  })

  it("SyncRequired with none outstanding: writes a Sync and waits for its ReadyForQuery", () => {
    const failure = Command.protocol("Odd", "odd sequence")
    const { run } = runOf(scripted([Command.syncRequired(failure, 0)], FLUSH))
    expect(run.exclusive).toBe(true)
    const { context, sent } = recorder()
    run.onMessage(message({ _tag: "PortalSuspended" }), context)
    expect(sent).toEqual([SYNC])
    expect(run.onReadyForQuery(ready(), context)).toBe(true)
  })

  it("Unexpected and Stop fail the connection with the command's failure", () => {
    const unexpected = runOf(scripted([Command.unexpectedMessage("scripted", dataRow("x"))]))
    const a = recorder()
    unexpected.run.onMessage(dataRow("x"), a.context)
    expect(a.failed[0]).toMatchObject({ _tag: "PgProtocolError", reason: "UnexpectedMessage" })
    const stop = runOf(scripted([Command.stop(Command.authFailure("md5", "refused-by-require-auth", "no"))]))
    const b = recorder()
    stop.run.onMessage(message({ _tag: "AuthenticationOk" }), b.context)
    expect(b.failed[0]).toMatchObject({ _tag: "PgAuthError", reason: "refused-by-require-auth" })
  })

  it("an abandoned run drops its rows and outcome but still settles", () => {
    const settled: Array<unknown> = []
    const command = scripted([Command.row(["a"]), Command.done("ok")])
    const start = command.start(undefined) as Command.Start<{ at: number }>
    const delivered: Array<unknown> = []
    const run = new CommandRun(command, start, {
      onRows: (r) => delivered.push(r),
      onDone: (o) => delivered.push(o),
      onSettle: (o) => settled.push(o)
    })
    run.abandoned = true
    const { context } = recorder()
    run.onMessage(dataRow("a"), context)
    run.onBatchEnd()
    run.onReadyForQuery(ready(), context)
    run.onReady()
    expect(delivered).toEqual([])
    expect(settled).toEqual(["ok"])
  })

  it("frames ending in Sync or a Query are in step; others make the run exclusive", () => {
    expect(endsInStep(SYNC)).toBe(true)
    expect(endsInStep(encodeQuery("select 1") as Uint8Array)).toBe(true)
    expect(endsInStep(FLUSH)).toBe(false)
    expect(endsInStep(new Uint8Array([0, 0, 0, 8, 0, 3, 0, 0]))).toBe(false)
    expect(endsInStep(new Uint8Array([0x53, 0, 0, 0]))).toBe(false)
  })
})
