// A query through a statement cache of your own: the first run of a text prepares it under a
// name (Parse + Describe), later runs send only Bind + Execute. The cache learns a name once
// the server accepted it; a text still being prepared runs unnamed, so pipelining never waits.
import { Effect } from "effect"
import { Command, type Connection, Protocol } from "../../../src/index.ts"

export interface CachedArgs {
  readonly sql: string
  readonly params: ReadonlyArray<string | null>
  /** The statement's name, and whether this run creates it (Parse) or reuses it. */
  readonly name: string
  readonly parse: boolean
}

export interface CachedResult {
  readonly rows: ReadonlyArray<ReadonlyArray<string | null>>
  readonly tag: string
}

interface CachedState {
  phase: "parse" | "bind" | "describe" | "rows" | "complete" | "failed"
  rows: Array<ReadonlyArray<string | null>>
  tag: string
  failure: Command.Failure | undefined
}

const notEncodable = (e: Protocol.ProtocolError) =>
  Command.protocol(e.reason, e.message, { mayHaveRun: false })

export const cachedQuery = Command.make<CachedArgs, CachedState, CachedResult>({
  name: "cached-query",
  start: ({ sql, params, name, parse }) => {
    const w = new Protocol.Writer(1024)
    if (parse) {
      const p = Protocol.writeParse(w, name, sql, [])
      if (p !== undefined) return notEncodable(p)
    }
    const b = Protocol.writeBind(w, "", name, params)
    if (b !== undefined) return notEncodable(b)
    w.bytes(Protocol.DESCRIBE_UNNAMED_PORTAL)
    w.bytes(Protocol.EXECUTE_UNNAMED)
    w.bytes(Protocol.SYNC)
    const phase = parse ? "parse" : "bind"
    return { frames: w.finish(), state: { phase, rows: [], tag: "", failure: undefined } }
  },
  onMessage: (state, message) => {
    switch (message._tag) {
      case "ParseComplete":
        if (state.phase !== "parse") break
        state.phase = "bind"
        return Command.CONTINUE
      case "BindComplete":
        if (state.phase !== "bind") break
        state.phase = "describe"
        return Command.CONTINUE
      case "RowDescription":
      case "NoData":
        if (state.phase !== "describe") break
        state.phase = "rows"
        return Command.CONTINUE
      case "DataRow":
        if (state.phase !== "rows") break
        state.rows.push(Protocol.decodeTextRow(message.columns))
        return Command.CONTINUE
      case "CommandComplete":
        if (state.phase !== "rows") break
        state.tag = message.tag
        state.phase = "complete"
        return Command.CONTINUE
      case "ErrorResponse":
        if (state.phase === "failed") break
        state.failure = Command.serverError(message.fields)
        state.phase = "failed"
        return Command.CONTINUE
      case "ReadyForQuery":
        if (state.phase === "failed") return Command.fail(state.failure!)
        if (state.phase !== "complete") break
        return Command.done({ rows: state.rows, tag: state.tag })
    }
    return Command.unexpectedMessage("cached-query", message, state.phase)
  }
})

/** The cache: per connection, SQL text → statement name ("pending" while its Parse is in flight). */
export const makeCache = (connection: Connection.NormalConnection) => {
  const names = new Map<string, string | "pending">()
  let counter = 0
  return (sql: string, params: ReadonlyArray<string | null> = []) =>
    Effect.suspend(() => {
      const known = names.get(sql)
      if (known === "pending") return connection.run(cachedQuery, { sql, params, name: "", parse: true })
      if (known !== undefined) return connection.run(cachedQuery, { sql, params, name: known, parse: false })
      const name = `app_stmt_${++counter}`
      names.set(sql, "pending")
      return connection.run(cachedQuery, { sql, params, name, parse: true }).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            // Parse succeeded iff the run did (an error after it leaves the name unusable: forget it).
            if (exit._tag === "Success") names.set(sql, name)
            else names.delete(sql)
          })
        )
      )
    })
}
