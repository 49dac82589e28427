/**
 * Encoders for the frontend (client → server) messages after the startup phase: simple and
 * extended query, COPY, FunctionCall, Sync/Flush/Terminate. FrontendStartup.ts has the rest
 * (StartupMessage, SSL/GSSENC/Cancel requests, authentication responses).
 *
 * Does: for each message, a `writeX(writer, ...)` that appends one frame to a {@link Writer}
 * (to batch a whole request into one buffer) and an `encodeX(...)` convenience that returns the
 * frame alone; precomputed frames for the messages without payload. Validates what the wire
 * cannot carry: NUL inside a C string, counts above 65535, out-of-range integers, bad format codes.
 * Does NOT: decide which messages to send (flows/ do), convert values to text/binary (Types do),
 * or throw.
 *
 * Error convention: `writeX` returns `undefined` on success or a {@link ProtocolError}, in which case
 * the Writer is rolled back to where the frame began (earlier frames in it are intact);
 * `encodeX` returns `Uint8Array | ProtocolError`. Encoders that cannot fail return `Uint8Array`.
 *
 * Invariants: every frame written is complete and its length field is exact; the precomputed
 * constants are shared, so never mutate them; `encodeX` results are never written again by the
 * codec (they are views of a shared slab, see Writer.ts: do not transfer their ArrayBuffer).
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import { abort, invalid, isUint32, nulInString, scratch, take } from "./EncodeSupport.ts"
import { ProtocolError } from "./ProtocolError.ts"
import type { DescribeTarget, FormatCode, Oid } from "./Types.ts"
import { MAX_MESSAGE_SIZE, FrontendType as T } from "./Types.ts"
import type { Writer } from "./Writer.ts"

// The startup-phase encoders live in FrontendStartup.ts; re-exported so that one import path
// gives every frontend message.
export * from "./FrontendStartup.ts"

/** A Bind / FunctionCall parameter: raw bytes, a string (sent as UTF-8), or SQL NULL. */
export type BindParam = Uint8Array | string | null

const NO_FORMATS: ReadonlyArray<FormatCode> = []
const MAX_COUNT = 65535

const frame = (type: number): Uint8Array => new Uint8Array([type, 0, 0, 0, 4])

/** Sync ('S'): ends an extended-query batch. Precomputed, do not mutate. */
export const SYNC: Uint8Array = frame(T.Sync)
/** Flush ('H'): asks the server to send what it has buffered. Precomputed, do not mutate. */
export const FLUSH: Uint8Array = frame(T.Flush)
/** Terminate ('X'): polite close. Precomputed, do not mutate. */
export const TERMINATE: Uint8Array = frame(T.Terminate)
/** CopyDone ('c'): end of COPY FROM STDIN data. Precomputed, do not mutate. */
export const COPY_DONE: Uint8Array = frame(T.CopyDone)
/** Describe ('D') of the unnamed portal. Precomputed, do not mutate. */
export const DESCRIBE_UNNAMED_PORTAL: Uint8Array = new Uint8Array([T.Describe, 0, 0, 0, 6, 0x50, 0])
/** Describe ('D') of the unnamed prepared statement. Precomputed, do not mutate. */
export const DESCRIBE_UNNAMED_STATEMENT: Uint8Array = new Uint8Array([T.Describe, 0, 0, 0, 6, 0x53, 0])
/** Execute ('E') of the unnamed portal with no row limit. Precomputed, do not mutate. */
export const EXECUTE_UNNAMED: Uint8Array = new Uint8Array([T.Execute, 0, 0, 0, 9, 0, 0, 0, 0, 0])

/** Writes a count-prefixed Int16 list of format codes; returns an error message or undefined. */
const writeFormats = (w: Writer, formats: ReadonlyArray<FormatCode>): string | undefined => {
  const n = formats.length
  if (n > MAX_COUNT) return `${n} format codes exceed the limit of ${MAX_COUNT}`
  w.int16(n)
  for (let i = 0; i < n; i++) {
    const f = formats[i]
    if (f !== 0 && f !== 1) return `format code ${String(f)} is not 0 (text) or 1 (binary)`
    w.int16(f)
  }
  return undefined
}

/** Writes Int32 length + bytes of one value (-1 for null); returns an error message or undefined. */
const writeValue = (w: Writer, value: BindParam): string | undefined => {
  if (value === null) {
    w.int32(-1)
  } else if (typeof value === "string") {
    const at = w.mark()
    w.int32(0)
    const n = w.string(value, false)
    if (n < 0) return "a string parameter is too large"
    w.patchInt32(at, n)
  } else if (value instanceof Uint8Array) {
    if (value.length > MAX_MESSAGE_SIZE) return "a parameter is too large"
    w.int32(value.length)
    w.bytes(value)
  } else {
    return "a parameter is not a Uint8Array, a string or null"
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Simple and extended query

/**
 * Query ('Q'): one or more SQL commands as a C string.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-QUERY
 */
export const writeQuery = (w: Writer, sql: string): ProtocolError | undefined => {
  const mark = w.mark()
  w.begin(T.Query)
  if (!w.cstring(sql)) return nulInString(w, mark, T.Query, "the query")
  return w.end()
}

/**
 * Parse ('P'): statement name ("" = unnamed), SQL, Int16 count + Int32 parameter type OIDs
 * (0 = let the server infer). At most 65535 types.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-PARSE
 */
export const writeParse = (
  w: Writer,
  name: string,
  sql: string,
  paramTypes: ReadonlyArray<Oid>
): ProtocolError | undefined => {
  const n = paramTypes.length
  if (n > MAX_COUNT) return invalid(T.Parse, `${n} parameter types exceed the limit of ${MAX_COUNT}`)
  const mark = w.mark()
  w.begin(T.Parse)
  if (!w.cstring(name)) return nulInString(w, mark, T.Parse, "the statement name")
  if (!w.cstring(sql)) return nulInString(w, mark, T.Parse, "the query")
  w.int16(n)
  for (let i = 0; i < n; i++) {
    const oid = paramTypes[i]!
    if (!isUint32(oid)) return abort(w, mark, invalid(T.Parse, `parameter type ${oid} is not an OID`))
    w.int32(oid)
  }
  return w.end()
}

/**
 * Bind ('B'): portal and statement names, parameter format codes (0 = all text, 1 = one for all,
 * or one per parameter), parameters (Int32 length + bytes, -1 for NULL; strings are UTF-8),
 * result format codes (0 = all text, 1 = one for all, or one per column). At most 65535 of each.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-BIND
 */
export const writeBind = (
  w: Writer,
  portal: string,
  statement: string,
  params: ReadonlyArray<BindParam>,
  paramFormats: ReadonlyArray<FormatCode> = NO_FORMATS,
  resultFormats: ReadonlyArray<FormatCode> = NO_FORMATS
): ProtocolError | undefined => {
  const n = params.length
  if (n > MAX_COUNT) return invalid(T.Bind, `${n} parameters exceed the limit of ${MAX_COUNT}`)
  const nf = paramFormats.length
  if (nf > 1 && nf !== n) return invalid(T.Bind, `${nf} parameter format codes for ${n} parameters`)
  const mark = w.mark()
  w.begin(T.Bind)
  if (!w.cstring(portal)) return nulInString(w, mark, T.Bind, "the portal name")
  if (!w.cstring(statement)) return nulInString(w, mark, T.Bind, "the statement name")
  let problem = writeFormats(w, paramFormats)
  if (problem !== undefined) return abort(w, mark, invalid(T.Bind, problem))
  w.int16(n)
  for (let i = 0; i < n; i++) {
    problem = writeValue(w, params[i]!)
    if (problem !== undefined) return abort(w, mark, invalid(T.Bind, `parameter $${i + 1}: ${problem}`))
  }
  problem = writeFormats(w, resultFormats)
  if (problem !== undefined) return abort(w, mark, invalid(T.Bind, problem))
  return w.end()
}

const writeTargeted = (
  w: Writer,
  type: number,
  target: DescribeTarget,
  name: string
): ProtocolError | undefined => {
  if (target !== "S" && target !== "P") return invalid(type, `target ${String(target)} is not "S" or "P"`)
  const mark = w.mark()
  w.begin(type)
  w.int8(target === "S" ? 0x53 : 0x50)
  if (!w.cstring(name)) return nulInString(w, mark, type, "the name")
  return w.end()
}

/**
 * Describe ('D'): 'S' (prepared statement) or 'P' (portal), then its name ("" = unnamed).
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-DESCRIBE
 */
export const writeDescribe = (w: Writer, target: DescribeTarget, name: string): ProtocolError | undefined =>
  writeTargeted(w, T.Describe, target, name)

/**
 * Close ('C'): 'S' (prepared statement) or 'P' (portal), then its name ("" = unnamed).
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-CLOSE
 */
export const writeClose = (w: Writer, target: DescribeTarget, name: string): ProtocolError | undefined =>
  writeTargeted(w, T.Close, target, name)

/**
 * Execute ('E'): portal name, Int32 row limit (0 = no limit; the server then may answer
 * PortalSuspended). `maxRows` must be an integer in 0..2147483647.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-EXECUTE
 */
export const writeExecute = (w: Writer, portal: string, maxRows = 0): ProtocolError | undefined => {
  if (!Number.isInteger(maxRows) || maxRows < 0 || maxRows > 0x7fffffff) {
    return invalid(T.Execute, `maxRows ${maxRows} is not an integer in 0..2147483647`)
  }
  const mark = w.mark()
  w.begin(T.Execute)
  if (!w.cstring(portal)) return nulInString(w, mark, T.Execute, "the portal name")
  w.int32(maxRows)
  return w.end()
}

/** Sync ('S'). */
export const writeSync = (w: Writer): undefined => void w.bytes(SYNC)
/** Flush ('H'). */
export const writeFlush = (w: Writer): undefined => void w.bytes(FLUSH)
/** Terminate ('X'). */
export const writeTerminate = (w: Writer): undefined => void w.bytes(TERMINATE)

/**
 * FunctionCall ('F'): function OID, argument format codes, arguments (like Bind), result format.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-FUNCTIONCALL
 */
export const writeFunctionCall = (
  w: Writer,
  functionOid: Oid,
  args: ReadonlyArray<BindParam>,
  argFormats: ReadonlyArray<FormatCode> = NO_FORMATS,
  resultFormat: FormatCode = 0
): ProtocolError | undefined => {
  if (!isUint32(functionOid)) return invalid(T.FunctionCall, `function ${functionOid} is not an OID`)
  const n = args.length
  if (n > MAX_COUNT) return invalid(T.FunctionCall, `${n} arguments exceed the limit of ${MAX_COUNT}`)
  if (argFormats.length > 1 && argFormats.length !== n) {
    return invalid(T.FunctionCall, `${argFormats.length} argument format codes for ${n} arguments`)
  }
  if (resultFormat !== 0 && resultFormat !== 1)
    return invalid(T.FunctionCall, `result format ${resultFormat} is invalid`)
  const mark = w.mark()
  w.begin(T.FunctionCall)
  w.int32(functionOid)
  let problem = writeFormats(w, argFormats)
  if (problem !== undefined) return abort(w, mark, invalid(T.FunctionCall, problem))
  w.int16(n)
  for (let i = 0; i < n; i++) {
    problem = writeValue(w, args[i]!)
    if (problem !== undefined) return abort(w, mark, invalid(T.FunctionCall, `argument ${i + 1}: ${problem}`))
  }
  w.int16(resultFormat)
  return w.end()
}

// ---------------------------------------------------------------------------------------------
// COPY

/** CopyData ('d'): copies `data` into the Writer. For big chunks prefer {@link encodeCopyDataHeader}. */
export const writeCopyData = (w: Writer, data: Uint8Array): ProtocolError | undefined => {
  if (data.length > MAX_MESSAGE_SIZE - 4)
    return new ProtocolError("MessageTooLarge", "CopyData chunk is too large", T.CopyData)
  w.begin(T.CopyData)
  w.bytes(data)
  return w.end()
}

/**
 * The 5-byte header of a CopyData frame carrying `length` bytes, so that a large chunk can be
 * written after it without being copied (two writes, or one writev).
 */
export const encodeCopyDataHeader = (length: number): Uint8Array | ProtocolError => {
  if (!Number.isInteger(length) || length < 0 || length > MAX_MESSAGE_SIZE - 4) {
    return new ProtocolError("MessageTooLarge", `CopyData length ${length} is invalid`, T.CopyData)
  }
  const n = length + 4
  return new Uint8Array([T.CopyData, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])
}

/** CopyDone ('c'). */
export const writeCopyDone = (w: Writer): undefined => void w.bytes(COPY_DONE)

/** CopyFail ('f'): aborts COPY FROM STDIN with an error message (C string). */
export const writeCopyFail = (w: Writer, message: string): ProtocolError | undefined => {
  const mark = w.mark()
  w.begin(T.CopyFail)
  if (!w.cstring(message)) return nulInString(w, mark, T.CopyFail, "the message")
  return w.end()
}

// ---------------------------------------------------------------------------------------------
// encodeX conveniences: one frame each

/** Query as one buffer. See {@link writeQuery}. */
export const encodeQuery = (sql: string): Uint8Array | ProtocolError => take(writeQuery(scratch, sql))
/** Parse as one buffer. See {@link writeParse}. */
export const encodeParse = (
  name: string,
  sql: string,
  paramTypes: ReadonlyArray<Oid>
): Uint8Array | ProtocolError => take(writeParse(scratch, name, sql, paramTypes))
/** Bind as one buffer. See {@link writeBind}. */
export const encodeBind = (
  portal: string,
  statement: string,
  params: ReadonlyArray<BindParam>,
  paramFormats: ReadonlyArray<FormatCode> = NO_FORMATS,
  resultFormats: ReadonlyArray<FormatCode> = NO_FORMATS
): Uint8Array | ProtocolError =>
  take(writeBind(scratch, portal, statement, params, paramFormats, resultFormats))
/** Describe as one buffer. See {@link writeDescribe}. */
export const encodeDescribe = (target: DescribeTarget, name: string): Uint8Array | ProtocolError =>
  take(writeDescribe(scratch, target, name))
/** Close as one buffer. See {@link writeClose}. */
export const encodeClose = (target: DescribeTarget, name: string): Uint8Array | ProtocolError =>
  take(writeClose(scratch, target, name))
/** Execute as one buffer. See {@link writeExecute}. */
export const encodeExecute = (portal: string, maxRows = 0): Uint8Array | ProtocolError =>
  take(writeExecute(scratch, portal, maxRows))
/** FunctionCall as one buffer. See {@link writeFunctionCall}. */
export const encodeFunctionCall = (
  functionOid: Oid,
  args: ReadonlyArray<BindParam>,
  argFormats: ReadonlyArray<FormatCode> = NO_FORMATS,
  resultFormat: FormatCode = 0
): Uint8Array | ProtocolError => take(writeFunctionCall(scratch, functionOid, args, argFormats, resultFormat))
/** CopyData as one buffer (copies `data`). */
export const encodeCopyData = (data: Uint8Array): Uint8Array | ProtocolError =>
  take(writeCopyData(scratch, data))
/** CopyFail as one buffer. See {@link writeCopyFail}. */
export const encodeCopyFail = (message: string): Uint8Array | ProtocolError =>
  take(writeCopyFail(scratch, message))
/** Sync as a fresh buffer (prefer the shared {@link SYNC} constant when it is not mutated). */
export const encodeSync = (): Uint8Array => SYNC.slice()
/** Flush as a fresh buffer. */
export const encodeFlush = (): Uint8Array => FLUSH.slice()
/** Terminate as a fresh buffer. */
export const encodeTerminate = (): Uint8Array => TERMINATE.slice()
/** CopyDone as a fresh buffer. */
export const encodeCopyDone = (): Uint8Array => COPY_DONE.slice()
