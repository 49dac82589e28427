/**
 * A connection opened with the `replication` keyword (`replication=database` or `true`): a
 * walsender session, where the server accepts only the simple query protocol. The operations that
 * use the extended protocol are refused here, before anything is sent, with a clear typed error
 * (PgProtocolError reason "ReplicationConnection", `mayHaveRun: false`); `simpleQuery`,
 * `executeSimple`, COPY, LISTEN and the rest stay as they are. Replication.connect is the API made
 * for such sessions (slots, START_REPLICATION).
 *
 * It does NOT check what the simple protocol sends (the server refuses SQL on a physical
 * walsender itself, in step).
 */
import { Effect, Stream } from "effect"
import { PgProtocolError } from "../Errors.ts"
import type { ExpertConnection } from "./operations.ts"

const refusal = (operation: string) =>
  new PgProtocolError({
    reason: "ReplicationConnection",
    message: `${operation}: the extended query protocol is not allowed on a replication connection (replication=database or true, walsender mode); use simpleQuery or executeSimple, or Replication.connect`,
    mayHaveRun: false
  })

/** The operations of `api` that a walsender session cannot run, refused. */
export const walsenderOperations = (): Partial<ExpertConnection> => {
  const fail = (operation: string) => () => Effect.fail(refusal(operation))
  const failStream = (operation: string) => () => Stream.fail(refusal(operation))
  return {
    query: fail("query") as ExpertConnection["query"],
    queryExpectNoData: fail("queryExpectNoData"),
    stream: failStream("stream") as ExpertConnection["stream"],
    streamWithColumns: fail("streamWithColumns") as ExpertConnection["streamWithColumns"],
    prepare: fail("prepare"),
    execute: fail("execute") as ExpertConnection["execute"],
    describe: fail("describe"),
    pipeline: fail("pipeline") as unknown as ExpertConnection["pipeline"],
    cursor: failStream("cursor") as ExpertConnection["cursor"]
  }
}
