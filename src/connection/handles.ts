/**
 * The statement handles of one connection (`Handles`, decision 015): which `PreparedStatement`s
 * its `prepare` made and are still open, why a closed one is closed, and whether a handle given
 * to `execute` / `closeStatement` is this connection's at all. Every handle is registered with its
 * owner when it is made, so a handle of another connection (each connection names its statements
 * `epp1`, `epp2`, …) or an object `prepare` did not make is told apart from a closed one. Also the
 * rules for statement names (`statementNameProblem`, `closeNameProblem`).
 *
 * It does NOT send anything (prepared.ts runs the commands).
 */
import { PgProtocolError } from "../Errors.ts"
import { utf8Length } from "../protocol/Writer.ts"
import type { Column } from "../Result.ts"

/** A statement made by `prepare`: it works only on the connection that prepared it, while open. */
export interface PreparedStatement {
  readonly name: string
  readonly sql: string
  /** The parameter type OIDs the server inferred (or was given). */
  readonly paramTypes: ReadonlyArray<number>
  /** The result columns; empty for a statement without rows. */
  readonly columns: ReadonlyArray<Column>
}

/** Why a handle stopped working (the end of its error message). */
export const Retired = {
  closed: "closeStatement closed it",
  scope: "the scope it was prepared in ended",
  discarded: "the server dropped every prepared statement (DISCARD ALL or DEALLOCATE ALL)",
  released: "its connection went back to the pool",
  missing: "the server reported that it does not exist (26000)"
} as const

const MAX_NAME_BYTES = 63
const RESERVED = /^epp?\d+$/
const CACHE_NAME = /^ep\d+$/

/** Why `name` cannot name a statement on the server (empty, NUL, cut at 63 bytes), or `undefined`. */
const nameShapeProblem = (name: string): string | undefined => {
  if (name === "") return "a prepared statement name cannot be empty (the unnamed statement is describe's)"
  if (name.includes("\0")) return "a prepared statement name cannot contain a NUL character"
  if (utf8Length(name) > MAX_NAME_BYTES) {
    return `a prepared statement name is at most ${MAX_NAME_BYTES} bytes of UTF-8 (PostgreSQL's NAMEDATALEN - 1)`
  }
  return undefined
}

/** Why a caller's statement name is refused by `prepare`, or `undefined`. */
export const statementNameProblem = (name: string): string | undefined =>
  nameShapeProblem(name) ??
  (RESERVED.test(name)
    ? `the prepared statement name "${name}" is reserved (ep<N>: the statement cache; epp<N>: generated names)`
    : undefined)

/** Why `closeStatement` refuses a name (`epp<N>` is allowed: this connection's own), or `undefined`. */
export const closeNameProblem = (name: string): string | undefined =>
  nameShapeProblem(name) ?? (CACHE_NAME.test(name) ? `"${name}" belongs to the statement cache` : undefined)

/** A refusal before sending. */
export const invalid = (message: string): PgProtocolError =>
  PgProtocolError.notSent({ reason: "InvalidValue", message })

/** Which connection made a handle. */
const owners = new WeakMap<PreparedStatement, Handles>()

export class Handles {
  /** The named statements `prepare` created on this connection and nobody closed yet. */
  private readonly live = new Map<string, PreparedStatement>()
  private readonly closedWhy = new WeakMap<PreparedStatement, string>()
  /** The server process of the connection (named in errors). */
  private readonly processId: number | undefined

  constructor(processId: number | undefined) {
    this.processId = processId
  }

  get size(): number {
    return this.live.size
  }

  /** A statement the server just created. */
  add(statement: PreparedStatement): void {
    owners.set(statement, this)
    this.live.set(statement.name, statement)
  }

  isOpen(statement: PreparedStatement): boolean {
    return this.live.get(statement.name) === statement
  }

  /** The open handle of `name`, if any. */
  named(name: string): PreparedStatement | undefined {
    return this.live.get(name)
  }

  /** The statement is closed (or going): its handle stops working, saying `why`. */
  retire(statement: PreparedStatement, why: string): void {
    if (this.live.get(statement.name) !== statement) return
    this.live.delete(statement.name)
    this.closedWhy.set(statement, why)
  }

  /** Every open statement is closed (or going); their names. */
  retireAll(why: string): ReadonlyArray<string> {
    const names = Array.from(this.live.keys())
    for (const statement of this.live.values()) this.closedWhy.set(statement, why)
    this.live.clear()
    return names
  }

  /** Why `statement` cannot be used here (another connection's, not made by prepare), or `undefined`. */
  foreign(statement: PreparedStatement, what: string): PgProtocolError | undefined {
    const owner = owners.get(statement)
    if (owner === this) return undefined
    if (owner === undefined) {
      return invalid(`${what}: ${JSON.stringify(statement.name)} is not a statement handle made by prepare`)
    }
    const where = owner.processId === undefined ? "" : ` (server process ${owner.processId})`
    return invalid(
      `${what}: the statement ${statement.name} was prepared on another connection${where}; a statement handle works only on the connection that prepared it`
    )
  }

  /** Why `statement` cannot be executed here, or `undefined`. */
  unusable(statement: PreparedStatement, what: string): PgProtocolError | undefined {
    const foreign = this.foreign(statement, what)
    if (foreign !== undefined || this.isOpen(statement)) return foreign
    const why = this.closedWhy.get(statement) ?? Retired.closed
    return invalid(`${what}: the statement ${statement.name} is closed: ${why}`)
  }
}
