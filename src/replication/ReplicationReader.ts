/**
 * The protocol Reader with 64-bit fields and replication-specific error messages.
 *
 * Does: add unsigned (LSN) and signed (timestamp) Int64 reads as `bigint` to protocol/Reader.ts,
 * and prefix every failure with the subject being decoded ("pgoutput Insert ('I' (0x49))"), so the
 * ProtocolError names the replication message rather than a backend message of the same letter.
 * Does NOT: know any message layout, allocate per read other than the returned bigint, or throw.
 *
 * Invariants: the same as Reader's (bounds-checked, sticky first error, never reads past `end`).
 */
import { ProtocolError, type ProtocolErrorReason } from "../protocol/ProtocolError.ts"
import { Reader } from "../protocol/Reader.ts"

export class ReplicationReader extends Reader {
  /** What is being decoded, for error messages. */
  subject = ""

  /** Points the reader at `body`; errors will read `${subject}: …` and carry `type`. */
  start(body: Uint8Array, type: number, subject: string): this {
    this.reset(body, type)
    this.subject = subject
    return this
  }

  override fail(reason: ProtocolErrorReason, what: string): 0 {
    if (this.error === undefined)
      this.error = new ProtocolError(reason, `${this.subject}: ${what}`, this.type)
    this.pos = this.end
    return 0
  }

  /** Unsigned big-endian 64-bit integer (XLogRecPtr). */
  uint64(what: string): bigint {
    if (this.error !== undefined) return 0n
    if (this.remaining < 8) {
      this.fail("Truncated", `body ends before ${what}`)
      return 0n
    }
    const hi = this.uint32(what)
    const lo = this.uint32(what)
    return (BigInt(hi) << 32n) | BigInt(lo)
  }

  /** Signed big-endian 64-bit integer (TimestampTz). */
  int64(what: string): bigint {
    return BigInt.asIntN(64, this.uint64(what))
  }
}
