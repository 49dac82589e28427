/**
 * The connections that carry one-shot statements right now, and the choice of where the next one
 * goes: the connection with the fewest statements in flight, below the per-connection limit, that
 * still takes new ones (not reserved for a waiting borrower, not sealed).
 *
 * It does NOT change a connection's counts or flags (pool/lines.ts and room.ts do), nor run
 * anything: plain data, no Effect. A linear scan is the right tool: a pool holds tens of connections, not
 * thousands, and the scan allocates nothing.
 *
 * Invariants: each member is held once; `pick` never returns a member at or above `limit`, nor a
 * reserved or sealed one.
 */

/** What the choice looks at. */
export interface SharedMember {
  readonly inFlight: number
  readonly reserved: boolean
  readonly sealed: boolean
}

export class SharedSlots<T extends SharedMember> {
  private readonly members: Array<T> = []

  get size(): number {
    return this.members.length
  }

  add(member: T): void {
    this.members.push(member)
  }

  /** Removes a member (order of the others may change). `false` when it was not there. */
  remove(member: T): boolean {
    const at = this.members.indexOf(member)
    if (at < 0) return false
    const last = this.members.pop()!
    if (at < this.members.length) this.members[at] = last
    return true
  }

  /** The member with the fewest in flight below `limit` that takes new statements. */
  pick(limit: number): T | undefined {
    let best: T | undefined
    let least = limit
    for (let i = 0; i < this.members.length; i++) {
      const member = this.members[i]!
      if (member.inFlight < least && !member.reserved && !member.sealed) {
        best = member
        least = member.inFlight
      }
    }
    return best
  }

  /** The member with the fewest in flight that is neither reserved nor sealed (the cheapest to drain). */
  leastLoaded(): T | undefined {
    return this.pick(Number.POSITIVE_INFINITY)
  }

  /** A copy of the members, for walks that may change the set. */
  snapshot(): Array<T> {
    return this.members.slice()
  }
}
