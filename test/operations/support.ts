/**
 * A connection for the operation suites with its engine in hand: dialled, authenticated and
 * assembled the way connection/connect.ts does it (socket, codec, startup, Engine,
 * makeOperations), plus the deps the new operations take (`CommandDeps`: engine, writer, `timed`,
 * `interrupt`, built with cancel.ts `makeLiveness` and timed.ts `makeTimed` over the same engine),
 * and the operations themselves (`prepared`, `pipelines`, `cursors`). The lead wires them into
 * ConnectionApi; until then the suites call the glue directly.
 *
 * It does NOT do TLS or libpq's configuration (plain TCP to a PgTestServer, trust auth).
 */
import { Effect, type Scope } from "effect"
import { Auth } from "../../src/Auth.ts"
import { Codec } from "../../src/Codec.ts"
import { makeLiveness } from "../../src/connection/cancel.ts"
import { makeCursor } from "../../src/connection/cursor.ts"
import { type ExpertConnection, makeOperations } from "../../src/connection/operations.ts"
import { makePipelineOps } from "../../src/connection/pipeline.ts"
import { type CommandDeps, makePreparedOps } from "../../src/connection/prepared.ts"
import { makeTimed } from "../../src/connection/timed.ts"
import { Engine } from "../../src/engine/Engine.ts"
import { PgSocket, type SocketOptions } from "../../src/PgSocket.ts"
import { Writer } from "../../src/protocol/Writer.ts"
import type { PgTestServerInfo } from "../../src/testing/ServerInfo.ts"

export interface Harness {
  /** The connection's ordinary operations (on the same engine). */
  readonly conn: ExpertConnection
  readonly deps: CommandDeps
  readonly prepared: ReturnType<typeof makePreparedOps>
  readonly pipelines: ReturnType<typeof makePipelineOps>
  readonly cursors: ReturnType<typeof makeCursor>
}

let counter = 0

/** A fresh connection to `server`, closed with the scope. */
export const harness = (server: PgTestServerInfo): Effect.Effect<Harness, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const options: SocketOptions = {
      target: { _tag: "Tcp", host: server.host, port: server.port },
      tls: { use: "none", negotiation: "postgres", verify: "none" }
    }
    const socket = yield* PgSocket
    const codec = yield* Codec
    const auth = yield* Auth
    const transport = yield* socket.open(options)
    const wire = codec.make(transport, { maxMessageSize: 1 << 30 })
    // As connect.ts: the engine is the Wire's only listener from the first byte; the startup runs on it.
    const core = new Engine(wire)
    const session = yield* auth.startup(core, {
      user: server.user,
      parameters: { database: server.database, application_name: `ops_${process.pid}_${counter++}` },
      protocolMinor: 2,
      minProtocolMinor: 0,
      password: Effect.succeed(undefined),
      channelBinding: "disable"
    })
    const cancelTarget = { socket, options }
    const conn = yield* makeOperations(core, session, cancelTarget)
    const { interrupt, cancelTimedOut } = makeLiveness(core, session, cancelTarget)
    const deps: CommandDeps = {
      core,
      writer: new Writer(4096),
      timed: makeTimed(core, interrupt, cancelTimedOut),
      interrupt: (request) => interrupt(request)
    }
    return {
      conn,
      deps,
      prepared: makePreparedOps(deps),
      pipelines: makePipelineOps(deps),
      cursors: makeCursor(deps)
    }
  })

/** Every name in pg_prepared_statements of `conn`'s session (the statement cache's too), sorted. */
export const allPreparedNames = (conn: ExpertConnection) =>
  Effect.map(conn.simpleQuery("select name from pg_prepared_statements order by name"), (r) =>
    r.results[0]!.rows.map((row) => row[0])
  )

/** The names in pg_prepared_statements that are not the statement cache's (`ep<N>`), sorted. */
export const preparedNames = (conn: ExpertConnection) =>
  Effect.map(allPreparedNames(conn), (names) => names.filter((n) => !/^ep\d+$/.test(n ?? "")))
