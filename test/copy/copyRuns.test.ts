/**
 * The COPY glue (src/connection/copy.ts) in a real Engine over a fake Wire, no socket: COPY IN
 * waits for the socket to drain only when a write found its buffer full (PgSocket's onDrain waits
 * for the next "drain" event, so asking when it is not full would hang); `started`/`ended`;
 * inputs refused once the run ended; an abort before the server is in copy-in mode; COPY OUT
 * chunks handed over once per socket read.
 */

import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { Wire, WireListener } from "../../src/Codec.ts"
import { makeCopyIn, makeCopyOut } from "../../src/connection/copy.ts"
import { Engine } from "../../src/engine/Engine.ts"
import type { BackendMessage } from "../../src/protocol/Backend.ts"
import { COPY_DONE, encodeCopyData, encodeCopyFail, encodeQuery } from "../../src/protocol/Frontend.ts"
import { parseCommandTag } from "../../src/Result.ts"
import { commandComplete, ready } from "../commands/samples.ts"
import { joined, sample } from "./transcript.ts"

const bytes = (s: string) => new TextEncoder().encode(s)

/** A Wire that records writes, reports a full buffer on demand and delivers messages as one read. */
const fakeWire = () => {
  const sent: Array<Uint8Array> = []
  const drains: Array<() => void> = []
  let listener: WireListener | undefined
  const control = { full: false }
  const wire: Wire = {
    tls: false,
    peerCertificate: undefined,
    send: (frames) => {
      sent.push(frames)
      return !control.full
    },
    onDrain: (f) => {
      drains.push(f)
    },
    closed: () => false,
    listen: (l) => {
      listener = l
    },
    pause: () => {},
    resume: () => {},
    end: () => {},
    destroy: () => {}
  }
  const read = (...messages: ReadonlyArray<BackendMessage>) => {
    listener!.onMessages(messages)
    listener!.onReadEnd?.()
  }
  return { wire, sent, drains, control, read }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5))

describe("COPY IN glue", () => {
  it("writes without waiting while the buffer has room; waits for drain once it is full", async () => {
    const { wire, sent, drains, control, read } = fakeWire()
    const engine = new Engine(wire)
    const run = await Effect.runPromise(makeCopyIn("COPY t FROM STDIN", engine))
    engine.submit(run)
    expect(sent).toEqual([encodeQuery("COPY t FROM STDIN")])
    const started = Effect.runPromise(run.started)
    read(sample("CopyInResponse"))
    expect(await started).toBe(true)

    const payload = bytes("1\n")
    await Effect.runPromise(run.write(payload))
    expect(drains).toHaveLength(0)
    expect(sent[2]).toBe(payload)
    expect(joined(sent.slice(1))).toEqual(encodeCopyData(payload))

    control.full = true
    let written = false
    const pending = Effect.runPromise(run.write(bytes("2\n"))).then(() => {
      written = true
    })
    await settle()
    expect(written).toBe(false)
    expect(drains).toHaveLength(1)
    control.full = false
    drains[0]!()
    await pending
    expect(written).toBe(true)

    run.done()
    expect(sent[sent.length - 1]).toEqual(COPY_DONE)
    const ended = Effect.runPromise(run.ended)
    read(commandComplete("COPY 2"), ready())
    expect(await ended).toEqual(parseCommandTag("COPY 2"))

    // After the end, inputs are refused by the engine: nothing more is written.
    const count = sent.length
    await Effect.runPromise(run.write(bytes("late")))
    run.done()
    run.abort("late")
    expect(sent).toHaveLength(count)
  })

  it("an abort before CopyInResponse is sent when the server asks for data; `started` says false", async () => {
    const { wire, sent, read } = fakeWire()
    const engine = new Engine(wire)
    const run = await Effect.runPromise(makeCopyIn("COPY t FROM STDIN", engine))
    engine.submit(run)
    run.abort("gone")
    expect(sent).toHaveLength(1)
    read(sample("CopyInResponse"))
    expect(sent[1]).toEqual(encodeCopyFail("gone"))
    read(
      {
        _tag: "ErrorResponse",
        fields: { severity: "ERROR", code: "57014", message: "COPY from stdin failed" }
      },
      ready()
    )
    expect(await Effect.runPromise(run.started)).toBe(false)
    const error = await Effect.runPromise(Effect.flip(run.ended))
    expect(error).toMatchObject({ _tag: "PgServerError", code: "57014" })
  })

  it("SQL that cannot be encoded fails before anything is sent", async () => {
    const { wire, sent } = fakeWire()
    const engine = new Engine(wire)
    const error = await Effect.runPromise(Effect.flip(makeCopyIn("COPY t FROM STDIN\0", engine)))
    expect(error).toMatchObject({ _tag: "PgProtocolError", mayHaveRun: false })
    expect(sent).toEqual([])
  })
})

describe("COPY OUT glue", () => {
  it("hands over the chunks of one socket read at once, then the end", async () => {
    const { wire, read } = fakeWire()
    const engine = new Engine(wire)
    const batches: Array<Array<string>> = []
    const outcomes: Array<unknown> = []
    const run = await Effect.runPromise(
      makeCopyOut("COPY t TO STDOUT", {
        onData: (chunks) => batches.push(chunks.map((c) => new TextDecoder().decode(c))),
        onDone: (outcome) => outcomes.push(outcome)
      })
    )
    engine.submit(run)
    const data = (s: string): BackendMessage => ({ _tag: "CopyData", data: bytes(s) })
    read(sample("CopyOutResponse"), data("1\n"), data("2\n"))
    read(data("3\n"), { _tag: "CopyDone" }, commandComplete("COPY 3"), ready())
    expect(batches).toEqual([["1\n", "2\n"], ["3\n"]])
    expect(outcomes).toEqual([parseCommandTag("COPY 3")])
    expect(run.settled).toBe(true)
  })

  it("an abandoned run hands nothing over but still settles", async () => {
    const { wire, read } = fakeWire()
    const engine = new Engine(wire)
    const batches: Array<unknown> = []
    const run = await Effect.runPromise(
      makeCopyOut("COPY t TO STDOUT", { onData: (c) => batches.push(c), onDone: (o) => batches.push(o) })
    )
    engine.submit(run)
    read(sample("CopyOutResponse"), { _tag: "CopyData", data: bytes("1\n") })
    run.abandoned = true
    read({ _tag: "CopyData", data: bytes("2\n") }, { _tag: "CopyDone" }, commandComplete("COPY 2"), ready())
    expect(batches).toEqual([[bytes("1\n")]])
    expect(run.settled).toBe(true)
  })
})
