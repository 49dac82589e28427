/**
 * A custom command (docs/commands.md) for the value tests: one statement with typed parameters
 * in chosen formats, every result column in one chosen format, and the raw column bytes back —
 * Parse(sql, parameter OIDs) + Bind(formats) + Describe(portal) + Execute + Sync.
 */
import { Command, Protocol } from "../../../src/index.ts"

export interface RawQueryArgs {
  readonly sql: string
  readonly paramTypes?: ReadonlyArray<number>
  readonly params?: ReadonlyArray<Protocol.BindParam>
  readonly paramFormats?: ReadonlyArray<0 | 1>
  /** The format of every result column. */
  readonly resultFormat: 0 | 1
}

export interface RawColumn {
  readonly name: string
  readonly typeOid: number
  readonly format: number
}

export interface RawResult {
  readonly columns: ReadonlyArray<RawColumn>
  /** Each value a copy of the column bytes, or null. */
  readonly rows: ReadonlyArray<ReadonlyArray<Uint8Array | null>>
}

interface RawState {
  phase: "parse" | "bind" | "describe" | "rows" | "complete" | "failed"
  columns: ReadonlyArray<RawColumn>
  rows: Array<ReadonlyArray<Uint8Array | null>>
  failure: Command.Failure | undefined
}

const notEncodable = (e: Protocol.ProtocolError) =>
  Command.protocol(e.reason, e.message, { mayHaveRun: false })

export const rawQuery = Command.make<RawQueryArgs, RawState, RawResult>({
  name: "raw-query",
  start: ({ sql, paramTypes = [], params = [], paramFormats = [], resultFormat }) => {
    const w = new Protocol.Writer(1024)
    const parse = Protocol.writeParse(w, "", sql, paramTypes)
    if (parse !== undefined) return notEncodable(parse)
    const bind = Protocol.writeBind(w, "", "", params, paramFormats, [resultFormat])
    if (bind !== undefined) return notEncodable(bind)
    w.bytes(Protocol.DESCRIBE_UNNAMED_PORTAL)
    w.bytes(Protocol.EXECUTE_UNNAMED)
    w.bytes(Protocol.SYNC)
    return { frames: w.finish(), state: { phase: "parse", columns: [], rows: [], failure: undefined } }
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
        if (state.phase !== "describe") break
        state.columns = message.fields.map((f) => ({ name: f.name, typeOid: f.typeOid, format: f.format }))
        state.phase = "rows"
        return Command.CONTINUE
      case "DataRow":
        if (state.phase !== "rows") break
        state.rows.push(message.columns.map((c) => (c === null ? null : c.slice())))
        return Command.CONTINUE
      case "CommandComplete":
        if (state.phase !== "rows") break
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
        return Command.done({ columns: state.columns, rows: state.rows })
    }
    return Command.unexpectedMessage("raw-query", message, state.phase)
  }
})
