// A single-round-trip bulk insert: one Parse, a Bind + Execute per row, one Sync.
// The server runs every row in one implicit transaction: all rows, or none.
import { Command, Protocol } from "../../../src/index.ts"

export interface BulkInsertArgs {
  /** An INSERT with one placeholder per column, e.g. "insert into t (a, b) values ($1, $2)". */
  readonly sql: string
  readonly rows: ReadonlyArray<ReadonlyArray<string | null>>
}

interface BulkInsertState {
  phase: "parse" | "rows" | "failed"
  /** CommandCompletes still to come, one per row. */
  left: number
  inserted: number
  failure: Command.Failure | undefined
}

const notEncodable = (e: Protocol.ProtocolError) =>
  Command.protocol(e.reason, e.message, { mayHaveRun: false })

export const bulkInsert = Command.make<BulkInsertArgs, BulkInsertState, number>({
  name: "bulk-insert",
  start: ({ sql, rows }) => {
    const w = new Protocol.Writer(16 * 1024)
    const parse = Protocol.writeParse(w, "", sql, [])
    if (parse !== undefined) return notEncodable(parse)
    for (const row of rows) {
      const bind = Protocol.writeBind(w, "", "", row)
      if (bind !== undefined) return notEncodable(bind)
      w.bytes(Protocol.EXECUTE_UNNAMED)
    }
    w.bytes(Protocol.SYNC)
    return {
      frames: w.finish(),
      state: { phase: "parse", left: rows.length, inserted: 0, failure: undefined }
    }
  },
  onMessage: (state, message) => {
    switch (message._tag) {
      case "ParseComplete":
        if (state.phase !== "parse") break
        state.phase = "rows"
        return Command.CONTINUE
      case "BindComplete":
        if (state.phase !== "rows") break
        return Command.CONTINUE
      case "CommandComplete":
        if (state.phase !== "rows" || state.left === 0) break
        state.left--
        state.inserted += Number(message.tag.split(" ")[2] ?? "0")
        return Command.CONTINUE
      case "ErrorResponse":
        // The server skips the rest up to the Sync; the implicit transaction is rolled back.
        if (state.phase === "failed") break
        state.phase = "failed"
        state.failure = Command.serverError(message.fields)
        return Command.CONTINUE
      case "ReadyForQuery":
        if (state.phase === "failed") return Command.fail(state.failure!)
        if (state.left !== 0) break
        return Command.done(state.inserted)
    }
    return Command.unexpectedMessage("bulk-insert", message, state.phase)
  }
})
