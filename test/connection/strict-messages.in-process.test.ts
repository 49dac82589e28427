/**
 * Strict message checks through the public API, against the fake server (a real server never
 * sends these): a PortalSuspended although no row limit was asked (it used to end a query early,
 * truncating its rows), and a DataRow with fewer or more values than its RowDescription, in
 * query, stream, queryExpectNoData, simpleQuery, executeSimple, pipeline, copyOut and copyIn.
 * Each is a PgProtocolError "UnexpectedMessage" with the SQLSTATE-like code 08P01 for the call in
 * flight, the bad row is never delivered, and the connection is Failed with that error (later
 * calls get 08003 carrying it; the client hangs up).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import type { PgExpertError } from "../../src/Errors.ts"
import * as Expert from "../../src/Expert.ts"
import { assertFailedWith, expectTag } from "../support/ConnectionAssertions.ts"
import * as Fake from "../support/FakeServer.ts"

const TIMEOUT = 10_000

const portalSuspended = Fake.frame("s")
const copyFormat = [new Uint8Array([0]), Fake.int16(1), Fake.int16(0)]
const copyInResponse = Fake.frame("G", ...copyFormat)
const copyOutResponse = Fake.frame("H", ...copyFormat)
const copyData = Fake.frame("d", Fake.bytes("1\n"))

/** The bad messages, each with what the error says about it (per flow: see `flows`). */
const BAD = {
  "a PortalSuspended": portalSuspended,
  "a DataRow with fewer values": Fake.dataRow([]),
  "a DataRow with more values": Fake.dataRow(["1", "2"])
} as const
type Bad = keyof typeof BAD

interface Flow {
  readonly name: string
  /** Reads the request and answers up to the first good row (written alone, so it is delivered). */
  readonly begin: (client: Fake.FakeClient) => Effect.Effect<unknown, Fake.FakeServerError>
  /** Runs the operation; the rows it delivered go to `seen`. */
  readonly run: (conn: ExpertConnection, seen: Array<unknown>) => Effect.Effect<unknown, PgExpertError>
  /** The error message for each bad message. */
  readonly message: (bad: Bad) => RegExp
}

/** A statement the cache prepares: Describe(S) after the Parse (ParameterDescription, columns). */
const extended = (client: Fake.FakeClient) =>
  Effect.andThen(
    Fake.readExtendedQuery(client),
    client.write(
      Fake.parseComplete(),
      Fake.parameterDescription(),
      Fake.rowDescription(["n"]),
      Fake.bindComplete(),
      Fake.dataRow(["1"])
    )
  )

/** The unnamed statement (a pipeline): Describe(P) after the Bind, no ParameterDescription. */
const unnamed = (client: Fake.FakeClient) =>
  Effect.andThen(
    Fake.readExtendedQuery(client),
    client.write(Fake.parseComplete(), Fake.bindComplete(), Fake.rowDescription(["n"]), Fake.dataRow(["1"]))
  )

const simple = (client: Fake.FakeClient) =>
  Effect.andThen(client.expect("Query"), client.write(Fake.rowDescription(["n"]), Fake.dataRow(["1"])))

const width = (bad: Bad) => (bad === "a DataRow with fewer values" ? 0 : 2)

/** The extended flows' messages (query, stream, queryExpectNoData); `name` is the command's. */
const rowsMessage =
  (name: string, suspended: string) =>
  (bad: Bad): RegExp =>
    bad === "a PortalSuspended"
      ? new RegExp(`^unexpected PortalSuspended during ${name} \\(${suspended}\\)$`)
      : new RegExp(`^a DataRow with ${width(bad)} column\\(s\\) after a RowDescription of 1$`)

const flows: ReadonlyArray<Flow> = [
  {
    name: "query",
    begin: extended,
    run: (conn, seen) => Effect.map(conn.query("select n"), (r) => seen.push(...r.rows)),
    message: rowsMessage("a query", "rows: Execute asked for no row limit")
  },
  {
    name: "stream",
    begin: extended,
    run: (conn, seen) =>
      Stream.runForEach(conn.stream("select n"), (row) => Effect.sync(() => seen.push(row))),
    message: rowsMessage("a query", "rows: Execute asked for no row limit")
  },
  {
    name: "queryExpectNoData",
    begin: extended,
    run: (conn) => conn.queryExpectNoData("select n"),
    message: rowsMessage("a query", "rows: Execute asked for no row limit")
  },
  {
    name: "pipeline",
    begin: unnamed,
    run: (conn, seen) =>
      Effect.map(conn.pipeline([{ sql: "select n" }], { mode: "transaction" }), (r) => seen.push(...r)),
    message: rowsMessage("a pipeline", "query 0, rows")
  },
  {
    name: "simpleQuery",
    begin: simple,
    run: (conn, seen) => Effect.map(conn.simpleQuery("select n"), (r) => seen.push(...r.results)),
    message: rowsMessage("a simple query", "rows")
  },
  {
    name: "executeSimple",
    begin: simple,
    run: (conn) => conn.executeSimple("select n"),
    message: rowsMessage("an executeSimple", "rows")
  },
  {
    name: "copyOut",
    begin: (client) => Effect.andThen(client.expect("Query"), client.write(copyOutResponse, copyData)),
    run: (conn, seen) =>
      Stream.runForEach(conn.copyOut("copy t to stdout"), (chunk) => Effect.sync(() => seen.push(chunk))),
    message: (bad) =>
      bad === "a PortalSuspended"
        ? /^unexpected PortalSuspended \(in copy-out mode, before its CopyDone\) during COPY$/
        : /^unexpected DataRow \(in copy-out mode, before its CopyDone\) during COPY$/
  },
  {
    name: "copyIn (a statement that is not the COPY, with rows)",
    begin: simple,
    run: (conn) => conn.copyIn("select n", Stream.never),
    message: (bad) =>
      bad === "a PortalSuspended"
        ? /^unexpected PortalSuspended \(in a row set, before its CommandComplete\) during COPY$/
        : new RegExp(
            `^unexpected DataRow with ${width(bad)} column\\(s\\) after a RowDescription of 1 during COPY$`
          )
  },
  {
    name: "copyIn (in copy-in mode)",
    begin: (client) => Effect.andThen(client.expect("Query"), client.write(copyInResponse)),
    run: (conn) => conn.copyIn("copy t from stdin", Stream.never),
    message: (bad) =>
      new RegExp(
        `^unexpected ${bad === "a PortalSuspended" ? "PortalSuspended" : "DataRow"} \\(in copy-in mode, before its CommandComplete or ErrorResponse\\) during COPY$`
      )
  }
]

describe("strict message checks through the public API", () => {
  for (const flow of flows) {
    for (const bad of Object.keys(BAD) as ReadonlyArray<Bad>) {
      it.live(
        `${flow.name}: ${bad} fails the connection with 08P01, the bad row never delivered`,
        () =>
          Effect.gen(function* () {
            const server = yield* Fake.make((client) =>
              Effect.gen(function* () {
                yield* Fake.acceptSession(client)
                yield* flow.begin(client)
                // Apart from the good row, so that it is delivered in a read of its own first.
                yield* Effect.sleep("50 millis")
                // What a client that accepted the message would read next: the end of the statement.
                yield* client.write(BAD[bad], Fake.commandComplete("SELECT 1"), Fake.readyForQuery())
                yield* client.awaitClientClosed
              })
            )
            const connection = yield* Expert.connect(server.config())
            const seen: Array<unknown> = []
            const error = expectTag(
              yield* Effect.flip(flow.run(connection, seen)).pipe(Effect.timeout("3 seconds")),
              "PgProtocolError"
            )
            assert.strictEqual(error.reason, "UnexpectedMessage")
            assert.strictEqual(error.code, "08P01")
            assert.match(error.message, flow.message(bad))
            // Only what came before the bad message reached the caller (streams deliver as they go).
            if (flow.name === "stream") assert.deepStrictEqual(seen, [{ n: "1" }])
            else if (flow.name === "copyOut") assert.deepStrictEqual(seen, [Fake.bytes("1\n")])
            else assert.deepStrictEqual(seen, [])
            yield* assertFailedWith(connection, error)
            yield* (yield* server.client(0)).awaitClientClosed
          }),
        TIMEOUT
      )
    }
  }
})
