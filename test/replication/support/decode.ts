/**
 * Shared pieces of the pgoutput unit tests: contexts, sample values, and decoding that fails the
 * test on an unexpected outcome.
 */
import { ProtocolError } from "../../../src/protocol/ProtocolError.ts"
import {
  decodePgOutput,
  type PgOutputContext,
  type PgOutputMessage
} from "../../../src/replication/pgoutput.ts"

export const v1: PgOutputContext = { protocolVersion: 1, inStream: false }
export const v2: PgOutputContext = { protocolVersion: 2, inStream: false }
export const v2stream: PgOutputContext = { protocolVersion: 2, inStream: true }
export const v4parallel: PgOutputContext = { protocolVersion: 4, inStream: false, parallelStreaming: true }

export const LSN = 0x16_b374d848n
export const END = 0x16_b374d900n
export const TIME = 789_004_800_123_456n // 2025-01-01T00:00:00.123456Z
export const XID = 0xfffffff0 // above 2^31: read unsigned

/** Decodes, failing the test on a ProtocolError. */
export const ok = (data: Uint8Array, context: PgOutputContext = v1): PgOutputMessage => {
  const m = decodePgOutput(data, context)
  if (m instanceof ProtocolError) throw new Error(`unexpected ${m.reason}: ${m.message}`)
  return m
}

/** Decodes, failing the test unless the result is a ProtocolError. */
export const fails = (data: Uint8Array, context: PgOutputContext = v1): ProtocolError => {
  const m = decodePgOutput(data, context)
  if (!(m instanceof ProtocolError)) throw new Error(`expected an error, got ${m._tag}`)
  return m
}
