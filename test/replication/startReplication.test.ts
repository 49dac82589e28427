/**
 * The START_REPLICATION command (commands/replication.ts) driven by hand: the replication
 * command texts, and the copy-both transcript with its inputs (status updates, Stop), the
 * keepalive the walsender sends behind its CopyDone, the copy a second START_REPLICATION gets
 * ended at once, errors, and what the protocol forbids.
 */
import { assert, describe, it } from "@effect/vitest"
import { isFailure, type Step } from "../../src/commands/Command.ts"
import {
  createSlotSql,
  dropSlotSql,
  type ReplicationState,
  STARTED,
  startLogicalSql,
  startReplication
} from "../../src/commands/replication.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { COPY_DONE } from "../../src/protocol/Frontend.ts"

const start = () => {
  const s = startReplication.start({ sql: "START_REPLICATION SLOT s LOGICAL 0/0" })
  if (isFailure(s)) throw new Error("refused")
  return s
}
const on = (state: ReplicationState, message: BackendMessage) => startReplication.onMessage(state, message)
const data = (byte: number): BackendMessage => ({ _tag: "CopyData", data: new Uint8Array([byte]) })
const BOTH: BackendMessage = { _tag: "CopyBothResponse", format: 0, columnFormats: [] }
const COPY_DONE_MSG: BackendMessage = { _tag: "CopyDone" }
const complete = (tag: string): BackendMessage => ({ _tag: "CommandComplete", tag })
const READY: BackendMessage = { _tag: "ReadyForQuery", status: "I" }
const tag = (step: Step<string, unknown>) => step._tag

describe("replication command texts", () => {
  it("CREATE / DROP / START with quoted plugin, options and checked slot names", () => {
    assert.strictEqual(
      createSlotSql({ slot: "s_1", plugin: "pgoutput", temporary: true, snapshot: "nothing" }),
      `CREATE_REPLICATION_SLOT s_1 TEMPORARY LOGICAL "pgoutput" (SNAPSHOT 'nothing')`
    )
    assert.strictEqual(
      createSlotSql({ slot: "p", reserveWal: true }),
      "CREATE_REPLICATION_SLOT p PHYSICAL (RESERVE_WAL true)"
    )
    assert.strictEqual(dropSlotSql("s", true), "DROP_REPLICATION_SLOT s WAIT")
    assert.strictEqual(
      startLogicalSql({
        slot: "s",
        startLsn: 0x1_0000_00a0n,
        options: [
          ["proto_version", "1"],
          ["publication_names", '"a","it\'s"']
        ]
      }),
      `START_REPLICATION SLOT s LOGICAL 1/A0 ("proto_version" '1', "publication_names" '"a","it''s"')`
    )
    for (const bad of ["", "Upper", "a-b", "x".repeat(64), "a b"]) {
      const refused = createSlotSql({ slot: bad, plugin: "pgoutput" })
      assert.isTrue(isFailure(refused) && refused._tag === "Protocol" && refused.mayHaveRun === false)
    }
  })
})

describe("START_REPLICATION transcript", () => {
  it("copy both ways, Stop, the server's CopyDone, a keepalive behind it, the end", () => {
    const { state, frames, exclusive } = start()
    assert.strictEqual(frames[0], 0x51)
    assert.isTrue(exclusive)
    const status = new Uint8Array([0x64, 0, 0, 0, 5, 0x72])
    assert.strictEqual(tag(startReplication.onInput(state, { _tag: "Send", frames: status })), "Continue")
    assert.deepStrictEqual(on(state, BOTH), { _tag: "Result", result: STARTED })
    assert.deepStrictEqual(on(state, data(0x77)), { _tag: "Result", result: new Uint8Array([0x77]) })
    assert.deepStrictEqual(startReplication.onInput(state, { _tag: "Send", frames: status }), {
      _tag: "Send",
      frames: status
    })
    assert.deepStrictEqual(startReplication.onInput(state, { _tag: "Stop" }), {
      _tag: "Send",
      frames: COPY_DONE
    })
    // Nothing more is written once CopyDone went out.
    assert.strictEqual(tag(startReplication.onInput(state, { _tag: "Send", frames: status })), "Continue")
    assert.strictEqual(tag(startReplication.onInput(state, { _tag: "Stop" })), "Continue")
    assert.strictEqual(tag(on(state, data(0x77))), "Result")
    assert.strictEqual(tag(on(state, COPY_DONE_MSG)), "Continue")
    assert.strictEqual(tag(on(state, data(0x6b))), "Continue")
    assert.strictEqual(tag(on(state, complete("COPY 0"))), "Continue")
    assert.strictEqual(tag(on(state, complete("START_REPLICATION"))), "Continue")
    assert.deepStrictEqual(on(state, READY), { _tag: "Done", value: "START_REPLICATION" })
  })

  it("the server's CopyDone first is answered; a Stop before the copy goes out with it", () => {
    const a = start().state
    on(a, BOTH)
    assert.deepStrictEqual(on(a, COPY_DONE_MSG), { _tag: "Send", frames: COPY_DONE })
    const b = start().state
    assert.strictEqual(tag(startReplication.onInput(b, { _tag: "Stop" })), "Continue")
    assert.deepStrictEqual(on(b, BOTH), { _tag: "Send", frames: COPY_DONE })
  })

  it("a copy ended at once (a second START_REPLICATION), an error, and what is unexpected", () => {
    const ended = start().state
    on(ended, BOTH)
    on(ended, complete("COPY 0"))
    on(ended, complete("START_REPLICATION"))
    assert.strictEqual(tag(on(ended, READY)), "Done")

    const failed = start().state
    on(failed, { _tag: "ErrorResponse", fields: { severity: "ERROR", code: "42704", message: "no slot" } })
    const step = on(failed, READY)
    assert.isTrue(step._tag === "Fail" && step.failure._tag === "ServerError")

    const early = start().state
    assert.strictEqual(tag(on(early, data(0x77))), "Unexpected")
    assert.strictEqual(tag(on(start().state, READY)), "Unexpected")
    const twice = start().state
    on(twice, BOTH)
    assert.strictEqual(tag(on(twice, BOTH)), "Unexpected")
    on(twice, COPY_DONE_MSG)
    assert.strictEqual(tag(on(twice, COPY_DONE_MSG)), "Unexpected")
  })
})
