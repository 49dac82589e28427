/**
 * The safety net under the pool's shared connections: a one-shot statement must leave its
 * connection outside a transaction block, and the statements pipelined behind one that does not
 * must never hear a silent success.
 *
 * The pool sends one-shot statements of many callers on one connection, pipelined. If one of them
 * opens a transaction block (a BEGIN the pool's lexer did not route to a borrowed connection), the
 * statements already written behind it run inside that transaction, and would be rolled back when
 * the connection returns: acknowledged writes lost. The lexer avoids that; this guard catches what
 * no lexer can promise, from the transaction status byte of each ReadyForQuery:
 *
 * - The request whose ReadyForQuery leaves the connection in a transaction ("T" or "E") after it
 *   began outside one ("I") is the *opener*; it and every request that completes while the
 *   transaction lasts form a *group*. Their outcomes are held back.
 * - A ROLLBACK is put in front of everything not yet written, so the transaction ends right after
 *   the statements already on the wire.
 * - A request whose command tags end the transaction (the first COMMIT or ROLLBACK among them:
 *   one request may end a transaction and open the next, as COMMIT AND CHAIN or `commit; begin`
 *   do) decides the group's fate: COMMIT → the group committed, each member gets its own
 *   outcome; ROLLBACK (ours, or the server's answer to a COMMIT of an aborted transaction) → each
 *   member that succeeded fails with `PgTransactionError` (`LeftOpen` for the opener,
 *   `RolledBackByPool` behind it), with no effect; anything else (PREPARE TRANSACTION) →
 *   `OutcomeUnknown` (it may have taken effect). If that request leaves the connection in a
 *   transaction again, it is the opener of the next group, which the ROLLBACK already queued ends.
 * - An opener that committed something before it opened the transaction (a simple query
 *   `insert …; commit; begin`, or COMMIT AND CHAIN, which committed the group before it) fails
 *   with `LeftOpen` and `mayHaveRun`: it did take effect in part.
 * - The ROLLBACK itself can fail (a cancel meant for the statement before it lands on it: 57014,
 *   and the transaction stays open, aborted). Then another ROLLBACK goes in front of everything
 *   not yet written; after MAX_ROLLBACKS failures in a row the connection is given up.
 * - If the connection ends while a group is open: with no user request written ahead of the
 *   ROLLBACK, nothing could have committed the transaction, so the server rolled it back (its
 *   members fail as rolled back); otherwise the fate is unknown.
 *
 * Only active while `enabled` (the pool sets it while the connection carries one-shot statements; a
 * borrower's own BEGIN … COMMIT pipeline is none of its business). No Effect, no I/O.
 */

import type { PgExpertError } from "../Errors.ts"
import { PgTransactionError } from "../errors/PgPoolErrors.ts"

/** What the guard needs of a request (a subset of core.ts `Request`). */
export interface Guarded {
  onReady(transactionStatus: string): void
  onFail(error: PgExpertError, sent: boolean): void
  /** Whether the request's own outcome is an error. */
  hasError?(): boolean
  /** The command tags the server answered (one per statement). */
  commandTags?(): ReadonlyArray<string>
}

type Fate = "committed" | "rolled-back" | "unknown"

interface Member {
  readonly request: Guarded
  readonly opener: boolean
  readonly status: string
  /** An opener that committed something before it opened the transaction. */
  readonly committedBefore: boolean
}

/**
 * The first end of a transaction among a request's command tags (where it is, and the fate it
 * gives the transaction it ends), or `undefined` when none of them ends one.
 */
const endOf = (tags: ReadonlyArray<string>): { readonly at: number; readonly fate: Fate } | undefined => {
  for (let at = 0; at < tags.length; at++) {
    const tag = tags[at]
    if (tag === "COMMIT") return { at, fate: "committed" }
    if (tag === "ROLLBACK") return { at, fate: "rolled-back" }
    if (tag === "PREPARE TRANSACTION") return { at, fate: "unknown" }
  }
  return undefined
}

const tagsOf = (request: Guarded): ReadonlyArray<string> => request.commandTags?.() ?? []

const rolledBack = (member: Member) =>
  member.committedBefore
    ? new PgTransactionError({
        reason: "LeftOpen",
        mayHaveRun: true,
        message:
          "this one-shot statement committed a transaction (part of its own work, or the transaction it ended) and then left its shared pool connection inside a new transaction block; the pool rolled the new one back, but what was committed stays committed (open transactions with withTransaction or on a borrowed connection)"
      })
    : member.opener
      ? new PgTransactionError({
          reason: "LeftOpen",
          message:
            "this one-shot statement left its shared pool connection inside a transaction block; the pool rolled it back, so it had no effect (open transactions with withTransaction or on a borrowed connection)"
        })
      : new PgTransactionError({
          reason: "RolledBackByPool",
          message:
            "this statement was pipelined on a shared pool connection behind another caller's statement that opened a transaction block; it ran inside that transaction, which the pool rolled back, so it had no effect and may be retried"
        })

const unknown = () =>
  new PgTransactionError({
    reason: "OutcomeUnknown",
    mayHaveRun: true,
    message:
      "this statement ran inside a transaction block opened by another statement on a shared pool connection, and the client could not learn how that transaction ended; it may or may not have taken effect"
  })

/** How many times in a row the guard's ROLLBACK may fail before the connection is given up. */
export const MAX_ROLLBACKS = 3

export class TransactionGuard {
  enabled = false
  private group: Array<Member> | undefined
  /** The ROLLBACK we queued for the open group, if it has not answered yet. */
  private rollback: Guarded | undefined
  /** Every ROLLBACK the guard made (one still queued after its group ended is not a user's). */
  private readonly mine = new WeakSet<Guarded>()
  private failedRollbacks = 0

  /** Makes the ROLLBACK request (a simple query; the guard reads its answer in `onReady`). */
  private readonly makeRollback: () => Guarded
  /** Puts a request in front of every request not yet written. */
  private readonly insertNext: (request: Guarded) => void
  /** Fails the connection (the ROLLBACK kept failing). */
  private readonly giveUp: () => void

  constructor(makeRollback: () => Guarded, insertNext: (request: Guarded) => void, giveUp: () => void) {
    this.makeRollback = makeRollback
    this.insertNext = insertNext
    this.giveUp = giveUp
  }

  /** True while a group's outcome is held back. */
  get open(): boolean {
    return this.group !== undefined
  }

  /** Queues a ROLLBACK for the open group in front of everything not yet written. */
  private queueRollback(): void {
    const rollback = this.makeRollback()
    this.mine.add(rollback)
    this.rollback = rollback
    this.insertNext(rollback)
  }

  /** The answer to the group's ROLLBACK. */
  private onRollback(after: string, tags: ReadonlyArray<string>): boolean {
    if (after === "I") {
      this.failedRollbacks = 0
      this.resolve(endOf(tags)?.fate ?? "unknown")
    } else if (++this.failedRollbacks < MAX_ROLLBACKS) {
      this.queueRollback()
    } else {
      this.failedRollbacks = 0
      this.giveUp()
    }
    return true
  }

  /**
   * The head's ReadyForQuery arrived (`before` → `after`). Returns true when the guard took over
   * the request's completion (it is held in a group, or completed by the guard).
   */
  onReady(head: Guarded, before: string, after: string): boolean {
    const group = this.group
    if (group !== undefined && head === this.rollback) return this.onRollback(after, tagsOf(head))
    if (group === undefined) {
      if (!this.enabled || before !== "I" || after === "I") return false
      // What it ran before a COMMIT of its own committed (`insert …; commit; begin`).
      const end = endOf(tagsOf(head))
      const committedBefore = end !== undefined && end.fate !== "rolled-back" && end.at > 0
      this.group = [{ request: head, opener: true, status: after, committedBefore }]
      this.queueRollback()
      return true
    }
    const end = endOf(tagsOf(head))
    if (end === undefined) {
      if (after === "I") {
        // Back outside a transaction without a COMMIT or ROLLBACK the client saw: unknown.
        this.settle("unknown")
        return false
      }
      group.push({ request: head, opener: false, status: after, committedBefore: false })
      return true
    }
    // The head ended the group's transaction: its own outcome is its own.
    this.settle(end.fate)
    if (after === "I") {
      this.rollback = undefined
      return false
    }
    // It opened the next one (COMMIT AND CHAIN, `commit; begin`): the ROLLBACK already queued,
    // which is behind it, ends that one.
    this.group = [{ request: head, opener: true, status: after, committedBefore: end.fate !== "rolled-back" }]
    return true
  }

  /**
   * The connection ended. `written`: the requests still queued that had been written, in order
   * (none after a FATAL: the server ran nothing more). Only a user's request ahead of the ROLLBACK
   * can have committed the open group; behind it, the transaction was over.
   */
  onConnectionEnd(written: ReadonlyArray<Guarded>): void {
    if (this.group === undefined) return
    const at = this.rollback === undefined ? -1 : written.indexOf(this.rollback)
    const ahead = at < 0 ? written : written.slice(0, at)
    this.resolve(ahead.some((request) => !this.mine.has(request)) ? "unknown" : "rolled-back")
  }

  private resolve(fate: Fate): void {
    this.rollback = undefined
    this.settle(fate)
  }

  /** Ends the open group with `fate` (the queued ROLLBACK, if any, is left as it is). */
  private settle(fate: Fate): void {
    const group = this.group
    this.group = undefined
    if (group === undefined) return
    for (const member of group) {
      const request = member.request
      if (fate === "committed" || request.hasError?.() === true) request.onReady(member.status)
      else request.onFail(fate === "rolled-back" ? rolledBack(member) : unknown(), true)
    }
  }
}
