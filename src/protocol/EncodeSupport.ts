/**
 * Internal helpers shared by the frontend encoders (not exported from the package barrel).
 *
 * Does: build error values, roll a Writer back after a failed frame, range checks, and the shared
 * scratch Writer behind the `encodeX` conveniences.
 * Does NOT: encode any message by itself.
 *
 * Invariants: `take` always leaves the scratch Writer empty, so `encodeX` calls never see each
 * other's bytes (encoding is synchronous and never re-entered).
 */
import { ProtocolError } from "./ProtocolError.ts"
import { Writer } from "./Writer.ts"

/** An `InvalidValue` error about message `type` (undefined for untyped startup-phase packets). */
export const invalid = (type: number | undefined, what: string): ProtocolError =>
  new ProtocolError("InvalidValue", what, type)

/** Rolls the Writer back to `mark` and returns `error`. */
export const abort = (w: Writer, mark: number, error: ProtocolError): ProtocolError => {
  w.rollback(mark)
  return error
}

/** Rolls back and reports a string field that holds NUL (or is too large to encode). */
export const nulInString = (
  w: Writer,
  mark: number,
  type: number | undefined,
  field: string
): ProtocolError => abort(w, mark, invalid(type, `${field} contains a NUL byte or is too large`))

/** An integer in 0 .. 2^32-1 (OIDs). */
export const isUint32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff

/** An integer that fits 32 bits read either as signed or unsigned (process IDs). */
export const isInt32OrUint32 = (n: number): boolean =>
  Number.isInteger(n) && n >= -0x80000000 && n <= 0xffffffff

/** Shared Writer of the encodeX conveniences. */
export const scratch = new Writer()

/** Finishes the scratch Writer's frame, or discards it and returns the error. */
export const take = (error: ProtocolError | undefined): Uint8Array | ProtocolError => {
  if (error !== undefined) {
    scratch.reset()
    return error
  }
  return scratch.finish()
}
