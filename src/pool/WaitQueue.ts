/**
 * A first-in, first-out line of waiting borrowers: a doubly linked list, so a borrower that gives
 * up (interrupted, timed out) leaves from the middle in O(1) and `size` is always exact.
 *
 * It does NOT know what a borrower waits for, nor run anything: plain data, no Effect.
 *
 * Invariants: `size` equals the number of linked nodes; a node is linked at most once
 * (`node.linked`); `shift` returns the node that has waited longest, unless one was put in front
 * with `pushFront` (a borrower that lost its connection to a failed check keeps its turn).
 */

export interface WaitNode<T> {
  readonly value: T
  linked: boolean
  previous: WaitNode<T> | undefined
  next: WaitNode<T> | undefined
}

export class WaitQueue<T> {
  private head: WaitNode<T> | undefined = undefined
  private tail: WaitNode<T> | undefined = undefined
  size = 0

  /** Joins the end of the line. */
  pushBack(value: T): WaitNode<T> {
    const node: WaitNode<T> = { value, linked: true, previous: this.tail, next: undefined }
    if (this.tail === undefined) this.head = node
    else this.tail.next = node
    this.tail = node
    this.size++
    return node
  }

  /** Goes to the front of the line. */
  pushFront(value: T): WaitNode<T> {
    const node: WaitNode<T> = { value, linked: true, previous: undefined, next: this.head }
    if (this.head === undefined) this.tail = node
    else this.head.previous = node
    this.head = node
    this.size++
    return node
  }

  /** The first in line, left in line; `undefined` when nobody waits. */
  peek(): T | undefined {
    return this.head?.value
  }

  /** Takes the first in line, or `undefined` when nobody waits. */
  shift(): T | undefined {
    const node = this.head
    if (node === undefined) return undefined
    this.remove(node)
    return node.value
  }

  /** Removes a node wherever it is. `false` when it already left. */
  remove(node: WaitNode<T>): boolean {
    if (!node.linked) return false
    node.linked = false
    if (node.previous === undefined) this.head = node.next
    else node.previous.next = node.next
    if (node.next === undefined) this.tail = node.previous
    else node.next.previous = node.previous
    node.previous = undefined
    node.next = undefined
    this.size--
    return true
  }

  /** Empties the line, returning everyone in order. */
  drain(): Array<T> {
    const out: Array<T> = []
    for (let value = this.shift(); value !== undefined; value = this.shift()) out.push(value)
    return out
  }
}
