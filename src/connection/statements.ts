/**
 * Per-connection cache of prepared statements, keyed by SQL text (an LRU of `capacity` entries).
 *
 * First use of a SQL text: Parse(name) + Describe(S) + Bind + Execute + Sync, and the statement
 * is remembered with its parameter types and columns once the server accepted it (the unnamed
 * statement sends Describe(portal) after the Bind instead). Later uses send only
 * Bind (+ Describe when the columns are not known yet) + Execute + Sync: no re-parse, no re-plan
 * of generic plans, fewer bytes. A statement still being prepared is not waited for: a concurrent
 * request with the same text uses the unnamed statement, so pipelining is never blocked.
 *
 * Staleness: `DISCARD ALL` / `DEALLOCATE ALL` seen as a command tag clear the cache (the server
 * dropped everything); "prepared statement does not exist" (26000) clears it too; "cached plan
 * must not change result type" (0A000, after an ALTER) forgets that one statement, and so does
 * "cache lookup failed for type" (XX000, a type it used was dropped by another session). A query that
 * failed for such a reason outside a transaction block is retried once by the caller (the
 * statement never started executing). Evicted statements are closed with Close(S) frames put in
 * front of the next request (the server answers CloseComplete, which requests ignore). Every
 * command tag the connection's operations see comes through `observe`, which also tells
 * `onDiscard` (the handles of prepared.ts).
 *
 * Values (decision 021): parameters are JS values (params.ts): text with OID 0 while the
 * parameter types are unknown (the first execution: the statement is parsed in the same write),
 * encoded by each parameter's type once the statement is cached (binary where the codec has it;
 * a value the type refuses fails before sending). With typed results (TypeRegistry "typed"), each request gets a
 * RowReader; a cached statement whose columns are known is bound with the result formats its
 * codecs prefer (binary for most built-in types), and its RowDecoder for those formats is made
 * once and kept with the statement. A first execution asks for text and is decoded from text.
 *
 * User types (decision 023): a plan made before the pool's catalog changed is made again; `userTypes`
 * tells an operation which user-type OIDs a cached statement has (looked up before its Bind when
 * not known yet, introspect.ts); each Encoded says which registry its rows are decoded with.
 *
 * It does NOT decide what to retry inside a transaction (nothing is: the transaction is aborted).
 */

import type { RowReader } from "../commands/rows.ts"
import { type PgExpertError, PgProtocolError } from "../Errors.ts"
import {
  DESCRIBE_UNNAMED_PORTAL,
  EXECUTE_UNNAMED,
  SYNC,
  writeBind,
  writeClose,
  writeDescribe,
  writeParse
} from "../protocol/Frontend.ts"
import type { ProtocolError } from "../protocol/ProtocolError.ts"
import type { Writer } from "../protocol/Writer.ts"
import type { Column, RowMode } from "../Result.ts"
import type { Registry } from "../types/Registry.ts"
import { FIRST_USER_OID } from "./introspect.ts"
import { allText, type Param } from "./params.ts"
import type { Described } from "./requests.ts"
import { type Plan, Values } from "./values.ts"

export type { Param } from "./params.ts"

interface Prepared {
  readonly name: string
  ready: boolean
  columns: ReadonlyArray<Column> | undefined
  /** The parameter types the server reported (ParameterDescription of the first execution). */
  paramTypes: ReadonlyArray<number> | undefined
  plan: Plan | undefined
  /** Its user-type OIDs (parameters and columns), worked out once it is ready. */
  userTypes?: ReadonlyArray<number> | undefined
}

/** How one request was encoded; handed back to `settle` when it ends. */
export interface Encoded {
  readonly frames: Uint8Array
  /** Columns known in advance (Describe skipped). */
  readonly preset: ReadonlyArray<Column> | undefined
  readonly sql: string
  readonly prepared: Prepared | undefined
  readonly mode: "unnamed" | "prepare" | "cached"
  /** The Close(S) frames of evicted statements put in front of this request. */
  readonly closes: ReadonlyArray<string>
  /** This request's row reader (decision 022); absent for arrays of text. */
  readonly reader: RowReader | undefined
  /** Describe(S) follows the Parse (the statement is being prepared). */
  readonly describeStatement: boolean
  /** The registry its rows are decoded with (a column whose type it lacks comes as text). */
  readonly registry: Registry
}

const codecError = (e: ProtocolError) => PgProtocolError.notSent(e)

export class Statements {
  private readonly entries = new Map<string, Prepared>()
  private readonly closes: Array<string> = []
  private counter = 0
  private readonly capacity: number
  /** Told when the server dropped every prepared statement (prepared.ts's handles go too). */
  private readonly onDiscard: (() => void) | undefined

  /** The connection's values (its registry, and the pool's catalog of user types). */
  readonly values: Values

  /** `values`: the connection's TypeRegistry use (values.ts); default text results. */
  constructor(capacity: number, onDiscard?: () => void, values: Values = new Values()) {
    this.capacity = capacity
    this.onDiscard = onDiscard
    this.values = values
  }

  /** The typed plan of a cached statement with known columns, made once and kept with it. */
  private planOf(p: Prepared): Plan | undefined {
    if (p.columns !== undefined && (p.plan === undefined || p.plan.version !== this.values.version))
      p.plan = this.values.plan(p.columns)
    return p.plan
  }

  /**
   * The user-type OIDs (≥ 16384) of the cached statement of `sql`, its parameters' and columns';
   * `undefined` when it is not cached (ready, described) or has none.
   */
  userTypes(sql: string): ReadonlyArray<number> | undefined {
    const p = this.entries.get(sql)
    if (p === undefined || !p.ready || p.columns === undefined) return undefined
    if (p.userTypes === undefined) {
      const oids = [...(p.paramTypes ?? []), ...p.columns.map((c) => c.typeOid)]
      p.userTypes = oids.filter((oid) => oid >= FIRST_USER_OID)
    }
    return p.userTypes.length === 0 ? undefined : p.userTypes
  }

  /** Encodes Parse?/Bind/Describe?/Execute/Sync (after pending Close frames) in one buffer. */
  encode(
    writer: Writer,
    sql: string,
    params: ReadonlyArray<Param>,
    rowMode: RowMode = "object"
  ): Encoded | PgProtocolError {
    writer.reset()
    const closes = this.closes.splice(0)
    for (const name of closes) writeClose(writer, "S", name)
    let prepared = this.capacity > 0 ? this.entries.get(sql) : undefined
    let mode: Encoded["mode"] = "unnamed"
    if (prepared !== undefined) {
      // LRU: most recently used last.
      this.entries.delete(sql)
      this.entries.set(sql, prepared)
      if (prepared.ready) mode = "cached"
      else prepared = undefined
    } else if (this.capacity > 0) {
      prepared = {
        name: `ep${++this.counter}`,
        ready: false,
        columns: undefined,
        paramTypes: undefined,
        plan: undefined
      }
      mode = "prepare"
    }
    const name = prepared?.name ?? ""
    // Preparing: Describe(S) after the Parse gives the parameter types in the same round trip.
    const describeStatement = mode === "prepare"
    if (mode !== "cached") {
      const parse =
        writeParse(writer, name, sql, []) ??
        (describeStatement ? writeDescribe(writer, "S", name) : undefined)
      if (parse !== undefined) return this.abort(writer, closes, codecError(parse))
    }
    const known = mode === "cached" ? prepared!.paramTypes : undefined
    // Strings and NULLs only (the common case): sent as they are, whatever the types.
    const bound =
      known === undefined || allText(params) ? this.values.text(params) : this.values.bind(params, known)
    if (bound instanceof PgProtocolError) return this.abort(writer, closes, bound)
    const plan = this.values.typed && mode === "cached" ? this.planOf(prepared!) : undefined
    const bind =
      "formats" in bound
        ? writeBind(writer, "", name, bound.values, bound.formats, plan?.formats)
        : writeBind(writer, "", name, bound, undefined, plan?.formats)
    if (bind !== undefined) return this.abort(writer, closes, codecError(bind))
    const preset = mode === "cached" ? (plan?.columns ?? prepared?.columns) : undefined
    if (preset === undefined && !describeStatement) writer.bytes(DESCRIBE_UNNAMED_PORTAL)
    writer.bytes(EXECUTE_UNNAMED)
    writer.bytes(SYNC)
    if (mode === "prepare") this.remember(sql, prepared!)
    const reader = this.values.reader(plan, rowMode)
    const registry = this.values.registry
    return {
      frames: writer.finish(),
      preset,
      sql,
      prepared,
      mode,
      closes,
      reader,
      describeStatement,
      registry
    }
  }

  private abort(writer: Writer, closes: ReadonlyArray<string>, error: PgProtocolError): PgProtocolError {
    writer.reset()
    this.closes.unshift(...closes)
    return error
  }

  private remember(sql: string, prepared: Prepared): void {
    this.entries.set(sql, prepared)
    this.trim()
  }

  /** Evicts the least recently used ready statements while there are more than `capacity`. */
  private trim(): void {
    if (this.entries.size <= this.capacity) return
    for (const [oldSql, old] of this.entries) {
      if (!old.ready) continue
      this.entries.delete(oldSql)
      this.closes.push(old.name)
      if (this.entries.size <= this.capacity) return
    }
  }

  /**
   * A statement this request was to prepare: it exists on the server iff `parsed`. One that left
   * the cache meanwhile (DISCARD ALL seen, a clear) is closed; one that did not become ready is
   * forgotten.
   */
  private prepared(sql: string, p: Prepared, parsed: boolean, columns?: ReadonlyArray<Column>): void {
    if (!parsed) return this.forget(sql, p, false)
    if (this.entries.get(sql) !== p) {
      this.closes.push(p.name)
      return
    }
    p.ready = true
    if (columns !== undefined) p.columns = columns
    this.trim()
  }

  /**
   * The request ended, whether or not its caller still waits for it (an abandoned request settles
   * too, or its statement would never be closed). `parsed`: the server acknowledged the Parse.
   * `undefined` outcome: it was withdrawn unsent, so its Close frames go back in line and a
   * statement it was to prepare is forgotten. Returns true when the caller may retry once (a
   * stale statement, outside a transaction block).
   */
  settle(
    encoded: Encoded,
    outcome:
      | { readonly columns: ReadonlyArray<Column>; readonly paramTypes?: ReadonlyArray<number> | undefined }
      | PgExpertError
      | undefined,
    parsed: boolean,
    transactionStatus: string,
    described?: Described
  ): boolean {
    const p = encoded.prepared
    if (outcome === undefined) {
      this.closes.push(...encoded.closes)
      if (p !== undefined && encoded.mode === "prepare") this.forget(encoded.sql, p, false)
      return false
    }
    if (!("_tag" in outcome)) {
      if (p !== undefined && encoded.mode === "prepare") {
        p.paramTypes = outcome.paramTypes
        this.prepared(encoded.sql, p, true, outcome.columns)
      }
      return false
    }
    if (p !== undefined && encoded.mode === "prepare") {
      // A value that did not decode: the statement ran and was described, so it is kept with its
      // types (its next execution is bound in binary, which may well decode: a DateStyle the text
      // decoders do not read). Any other failure leaves it without columns.
      const undecodable = outcome._tag === "PgProtocolError" && outcome.reason === "UndecodableValue"
      if (undecodable && described?.paramTypes !== undefined) {
        p.paramTypes = described.paramTypes
        this.prepared(encoded.sql, p, parsed, described.columns)
      } else this.prepared(encoded.sql, p, parsed)
    }
    if (outcome._tag !== "PgServerError" || encoded.mode !== "cached") return false
    if (outcome.code === "26000") {
      this.clear()
      return transactionStatus === "I"
    }
    if (outcome.code === "0A000" && /cached plan/.test(outcome.message) && p !== undefined) {
      this.forget(encoded.sql, p, true)
      return transactionStatus === "I"
    }
    // A type the statement used was dropped by another client (the server cannot revalidate it,
    // at Bind, before anything ran): prepared again, and the catalog of user types forgets.
    if (
      outcome.code === "XX000" &&
      /^cache lookup failed for type/.test(outcome.message) &&
      p !== undefined
    ) {
      this.values.catalog?.clear()
      this.forget(encoded.sql, p, true)
      return transactionStatus === "I"
    }
    return false
  }

  private forget(sql: string, p: Prepared, close: boolean): void {
    if (this.entries.get(sql) === p) this.entries.delete(sql)
    if (close) this.closes.push(p.name)
  }

  /** A command tag went by: DISCARD ALL / DEALLOCATE ALL dropped every prepared statement. */
  observe(tag: string): void {
    // CREATE/ALTER/DROP TYPE and the like: the pool's catalog forgets what it knew.
    this.values.catalog?.observe(tag)
    if (tag !== "DISCARD ALL" && tag !== "DEALLOCATE ALL") return
    this.clear()
    this.onDiscard?.()
  }

  clear(): void {
    this.entries.clear()
    this.closes.length = 0
  }
}
