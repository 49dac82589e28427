/**
 * COPY exchanges that break the protocol, against the fake server (a real server never sends
 * them): a ReadyForQuery that leaves the COPY unfinished (no CommandComplete, no ErrorResponse)
 * or answers nothing, a message that cannot come where the exchange is (a row set or a
 * CommandComplete in copy-in mode before our CopyDone, CopyData outside copy-out mode, a DataRow
 * without RowDescription, anything after an ErrorResponse). Each fails the connection with
 * PgProtocolError "UnexpectedMessage", like the extended flow does, and the client hangs up.
 * In contrast, the caller's mistakes answered in order (a non-COPY statement, a server error in
 * copy-in mode) keep the connection usable.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { assertFailedWith, expectTag } from "../support/ConnectionAssertions.ts"
import * as Fake from "../support/FakeServer.ts"

const TIMEOUT = 10_000

const copyFormat = [new Uint8Array([0]), Fake.int16(1), Fake.int16(0)]
const copyInResponse = Fake.frame("G", ...copyFormat)
const copyOutResponse = Fake.frame("H", ...copyFormat)
const copyData = (text: string) => Fake.frame("d", Fake.bytes(text))
const copyDone = Fake.frame("c")
const serverError = Fake.errorResponse({ severity: "ERROR", code: "22P02", message: "bad input" })
const commandComplete = Fake.commandComplete
const readyForQuery = Fake.readyForQuery()

type Answer = (client: Fake.FakeClient) => Effect.Effect<void, Fake.FakeServerError>

/** Writes `frames` in one packet. */
const write =
  (...frames: ReadonlyArray<Uint8Array>): Answer =>
  (client) =>
    client.write(...frames)

/** Runs the steps in order. */
const steps =
  (...answers: ReadonlyArray<Answer>): Answer =>
  (client) =>
    Effect.forEach(answers, (answer) => answer(client), { discard: true })

const awaitFrom =
  (tag: "CopyDone" | "CopyFail"): Answer =>
  (client) =>
    Effect.asVoid(client.readUntil(tag))

interface Case {
  readonly name: string
  readonly direction: "in" | "out"
  readonly answer: Answer
  readonly message: RegExp
  /** copyIn's source; by default one that never ends, so the client sends no data of its own. */
  readonly source?: Stream.Stream<Uint8Array>
}

const cases: ReadonlyArray<Case> = [
  {
    name: "copyIn: ReadyForQuery after the data and CopyDone, with no CommandComplete",
    direction: "in",
    answer: steps(write(copyInResponse), awaitFrom("CopyDone"), write(readyForQuery)),
    source: Stream.make(Fake.bytes("1\n")),
    message:
      /unexpected ReadyForQuery \(in copy-in mode, before its CommandComplete or ErrorResponse\) during COPY/
  },
  {
    name: "copyIn: ReadyForQuery with no answer at all",
    direction: "in",
    answer: write(readyForQuery),
    message: /unexpected ReadyForQuery before any CommandComplete or ErrorResponse during COPY/
  },
  {
    name: "copyIn: a row set in copy-in mode",
    direction: "in",
    answer: write(
      copyInResponse,
      Fake.rowDescription(["a"]),
      Fake.dataRow(["1"]),
      commandComplete("SELECT 1"),
      readyForQuery
    ),
    message: /unexpected RowDescription \(in copy-in mode, before its CommandComplete or ErrorResponse\)/
  },
  {
    name: "copyIn: CommandComplete in copy-in mode before CopyDone was sent",
    direction: "in",
    answer: write(copyInResponse, commandComplete("COPY 0"), readyForQuery),
    message: /unexpected CommandComplete \(in copy-in mode, before CopyDone was sent\)/
  },
  {
    name: "copyIn: a second COPY refused with CopyFail, answered with CommandComplete",
    direction: "in",
    answer: steps(
      write(copyInResponse),
      awaitFrom("CopyDone"),
      write(commandComplete("COPY 1"), copyInResponse),
      awaitFrom("CopyFail"),
      write(commandComplete("COPY 0"), readyForQuery)
    ),
    source: Stream.make(Fake.bytes("1\n")),
    message: /unexpected CommandComplete \(in copy-in mode, before CopyDone was sent\)/
  },
  {
    name: "copyIn: a DataRow without RowDescription",
    direction: "in",
    answer: write(Fake.dataRow(["1"]), commandComplete("SELECT 1"), readyForQuery),
    message: /unexpected DataRow \(no statement running\)/
  },
  {
    name: "copyIn: CopyData without CopyOutResponse",
    direction: "in",
    answer: write(copyData("1\n"), commandComplete("COPY 1"), readyForQuery),
    message: /unexpected CopyData \(no statement running\)/
  },
  {
    name: "copyIn: a CommandComplete after the ErrorResponse",
    direction: "in",
    answer: write(copyInResponse, serverError, commandComplete("COPY 0"), readyForQuery),
    message: /unexpected CommandComplete \(after an ErrorResponse\)/
  },
  {
    name: "copyIn: ReadyForQuery in the middle of a row set",
    direction: "in",
    answer: write(Fake.rowDescription(["a"]), Fake.dataRow(["1"]), readyForQuery),
    message: /unexpected ReadyForQuery \(in a row set, before its CommandComplete\)/
  },
  {
    name: "copyOut: ReadyForQuery in copy-out mode",
    direction: "out",
    answer: write(copyOutResponse, copyData("1\n"), readyForQuery),
    message: /unexpected ReadyForQuery \(in copy-out mode, before its CopyDone\)/
  },
  {
    name: "copyOut: ReadyForQuery after CopyDone, with no CommandComplete",
    direction: "out",
    answer: write(copyOutResponse, copyData("1\n"), copyDone, readyForQuery),
    message: /unexpected ReadyForQuery \(after CopyDone, before its CommandComplete\)/
  },
  {
    name: "copyOut: CommandComplete without CopyDone",
    direction: "out",
    answer: write(copyOutResponse, copyData("1\n"), commandComplete("COPY 1"), readyForQuery),
    message: /unexpected CommandComplete \(in copy-out mode, before its CopyDone\)/
  },
  {
    name: "copyOut: ReadyForQuery with no answer at all",
    direction: "out",
    answer: write(readyForQuery),
    message: /unexpected ReadyForQuery before any CommandComplete or ErrorResponse during COPY/
  },
  {
    name: "copyOut: a row set in copy-out mode",
    direction: "out",
    answer: write(copyOutResponse, Fake.rowDescription(["a"]), commandComplete("SELECT 0"), readyForQuery),
    message: /unexpected RowDescription \(in copy-out mode, before its CopyDone\)/
  },
  {
    name: "copyOut: a COPY FROM STDIN refused with CopyFail, answered with CommandComplete",
    direction: "out",
    answer: steps(
      write(copyInResponse),
      awaitFrom("CopyFail"),
      write(commandComplete("COPY 0"), readyForQuery)
    ),
    message: /unexpected CommandComplete \(in copy-in mode, after CopyFail\)/
  }
]

const run = (connection: ExpertConnection, c: Pick<Case, "direction" | "source">) =>
  c.direction === "in"
    ? Effect.asVoid(connection.copyIn("COPY t FROM STDIN", c.source ?? Stream.never))
    : Effect.asVoid(Stream.runDrain(connection.copyOut("COPY t TO STDOUT")))

/** A fake server answering the COPY's Query with `answer`, then running `after`; and a connection to it. */
const serveCopy = (answer: Answer, after: Answer) =>
  Effect.gen(function* () {
    const server = yield* Fake.make((client) =>
      Effect.andThen(
        Effect.andThen(Fake.acceptSession(client), client.expect("Query")),
        Effect.andThen(answer(client), after(client))
      )
    )
    return { server, connection: yield* Expert.connect(server.config()) }
  })

/** The client must hang up; anything more it sends would be a desync. */
const hangUp: Answer = (client) =>
  Effect.flatMap(client.read, (m) => Effect.die(new Error(`client sent ${m._tag} after the error`)))

/** The connection is still in sync: the next query gets its own answer. */
const answerNextQuery: Answer = (client) =>
  Effect.andThen(Fake.readExtendedQuery(client), client.write(Fake.queryAnswer(["n"], [["after"]])))

describe("COPY answers that break the protocol", () => {
  for (const c of cases) {
    it.live(
      c.name,
      () =>
        Effect.gen(function* () {
          const { server, connection } = yield* serveCopy(c.answer, hangUp)
          const error = expectTag(
            yield* Effect.flip(run(connection, c)).pipe(Effect.timeout("3 seconds")),
            "PgProtocolError"
          )
          assert.strictEqual(error.reason, "UnexpectedMessage")
          assert.match(error.message, c.message)
          yield* assertFailedWith(connection, error)
          yield* (yield* server.client(0)).awaitClientClosed
        }),
      TIMEOUT
    )
  }
})

interface Usable {
  readonly name: string
  readonly direction: "in" | "out"
  readonly answer: Answer
  readonly tag: "PgProtocolError" | "PgServerError"
  readonly source?: Stream.Stream<Uint8Array>
}

const usable: ReadonlyArray<Usable> = [
  {
    name: "copyIn answered by a SELECT: NotCopy",
    direction: "in",
    answer: write(
      Fake.rowDescription(["a"]),
      Fake.dataRow(["1"]),
      commandComplete("SELECT 1"),
      readyForQuery
    ),
    tag: "PgProtocolError"
  },
  {
    name: "copyOut answered by an INSERT: NotCopy",
    direction: "out",
    answer: write(commandComplete("INSERT 0 1"), readyForQuery),
    tag: "PgProtocolError"
  },
  {
    name: "copyIn failed by the server in copy-in mode: its PgServerError",
    direction: "in",
    answer: write(copyInResponse, serverError, readyForQuery),
    tag: "PgServerError"
  },
  {
    name: "copyIn answered by a COPY TO STDOUT: NotCopy, its data drained",
    direction: "in",
    answer: write(copyOutResponse, copyData("1\n"), copyDone, commandComplete("COPY 1"), readyForQuery),
    tag: "PgProtocolError"
  }
]

describe("COPY answers in order keep the connection usable", () => {
  for (const c of usable) {
    it.live(
      c.name,
      () =>
        Effect.gen(function* () {
          const { connection } = yield* serveCopy(c.answer, answerNextQuery)
          const error = yield* Effect.flip(run(connection, c)).pipe(Effect.timeout("3 seconds"))
          if (c.tag === "PgProtocolError") assert.strictEqual(expectTag(error, c.tag).reason, "NotCopy")
          else assert.strictEqual(expectTag(error, c.tag).code, "22P02")
          assert.strictEqual((yield* connection.status)._tag, "Open")
          assert.deepStrictEqual((yield* connection.query("select 1")).rows, [{ n: "after" }])
        }),
      TIMEOUT
    )
  }
})
