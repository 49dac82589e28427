/**
 * Helpers for the reliability suites: what a caller was told about a write (`outcomeOf`), what
 * the table holds afterwards (`countsById`, read from a separate monitor session), and the
 * comparison of the two (`audit`): every success present (nothing lost), no id twice (nothing
 * duplicated), every failure whose error says `mayHaveRun === false` absent (nothing misreported).
 *
 * Errors are read through the public model: `mayHaveRun` (src/Errors.ts) for Expert errors, the
 * `PgError.mayHaveRun` getter for the normal API. A defect (a die) is never an acceptable report.
 */
import { Cause, Effect, Exit } from "effect"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import { isPgError, mayHaveRun } from "../../src/Errors.ts"

export { appName, backendPids, connectInput, eventually, monitor } from "../pool/support.ts"

/** What the caller of one operation was told. */
export type Outcome =
  | { readonly kind: "ok" }
  | {
      readonly kind: "error"
      /** `PgTimeoutError`, `PgClosedError`, ... (the Expert tag, also under a `PgError`). */
      readonly tag: string
      /** The tag with its detail: `PgTimeoutError(cancelled)`, `PgTransactionError(LeftOpen)`. */
      readonly label: string
      readonly mayHaveRun: boolean
      readonly error: unknown
    }
  | { readonly kind: "interrupted" }
  | { readonly kind: "defect"; readonly detail: string }

interface Tagged {
  readonly _tag: string
  readonly reason?: unknown
  readonly outcome?: unknown
  readonly mayHaveReachedServer?: unknown
}

const labelOf = (cause: Tagged): string => {
  if (cause._tag === "PgTimeoutError") return `PgTimeoutError(${String(cause.outcome)})`
  if (cause._tag === "PgTransactionError" || cause._tag === "PgProtocolError")
    return `${cause._tag}(${String(cause.reason)})`
  if (cause._tag === "PgClosedError" || cause._tag === "PgConnectionError")
    return `${cause._tag}(reached=${String(cause.mayHaveReachedServer)})`
  return cause._tag
}

/** Classifies a failure value of the normal or the Expert API. */
export const errorOutcome = (error: unknown): Outcome => {
  if (isPgError(error)) {
    const cause = error.cause as Tagged
    return { kind: "error", tag: cause._tag, label: labelOf(cause), mayHaveRun: error.mayHaveRun, error }
  }
  const tagged = error as Tagged
  if (typeof tagged === "object" && tagged !== null && typeof tagged._tag === "string") {
    return {
      kind: "error",
      tag: tagged._tag,
      label: labelOf(tagged),
      mayHaveRun: mayHaveRun(error as Parameters<typeof mayHaveRun>[0]),
      error
    }
  }
  return { kind: "defect", detail: `an untagged failure: ${String(error)}` }
}

/** What an exit told its caller. */
export const outcomeOf = (exit: Exit.Exit<unknown, unknown>): Outcome => {
  if (Exit.isSuccess(exit)) return { kind: "ok" }
  if (Cause.hasInterruptsOnly(exit.cause)) return { kind: "interrupted" }
  const found = Cause.findErrorOption(exit.cause)
  if (Cause.hasDies(exit.cause) || found._tag === "None") {
    const lines = Cause.pretty(exit.cause).split("\n")
    return { kind: "defect", detail: lines.slice(0, 2).join(" / ").slice(0, 300) }
  }
  return errorOutcome(found.value)
}

/** A short name for an outcome, for summaries: `ok`, `PgTimeoutError(cancelled) mayHaveRun=false`, ... */
export const describe = (outcome: Outcome): string =>
  outcome.kind === "error" ? `${outcome.label} mayHaveRun=${outcome.mayHaveRun}` : outcome.kind

/** How many rows each id has in `table` (column `id`), read on `watcher`. */
export const countsById = (
  watcher: ExpertConnection,
  table: string
): Effect.Effect<ReadonlyMap<string, number>, unknown> =>
  Effect.map(
    watcher.query(`select id, count(*)::int from ${table} group by id`, [], { rowMode: "array" }),
    ({ rows }) => {
      const counts = new Map<string, number>()
      for (const row of rows) counts.set(row[0] as string, Number(row[1]))
      return counts
    }
  )

/** One write: the ids it writes (all or nothing) and what its caller was told. */
export interface Write {
  readonly ids: ReadonlyArray<string>
  readonly outcome: Outcome
  readonly what?: string
}

export interface Audit {
  /** Every problem found, one line each (empty when the table agrees with every report). */
  readonly problems: ReadonlyArray<string>
  /** Outcome description → how many writes, and how many of those landed. */
  readonly byOutcome: ReadonlyMap<string, { count: number; landed: number }>
}

/**
 * Compares what callers were told with what the table holds: lost (a success whose rows are
 * missing), duplicated (an id more than once), torn (a write that landed in part), misreported (a
 * failure with `mayHaveRun === false` whose rows are there), a defect, and rows nobody wrote.
 */
export const audit = (writes: ReadonlyArray<Write>, counts: ReadonlyMap<string, number>): Audit => {
  const problems: Array<string> = []
  const byOutcome = new Map<string, { count: number; landed: number }>()
  const known = new Set<string>()
  for (const write of writes) {
    const name = write.what ?? write.ids[0] ?? "?"
    const present = write.ids.filter((id) => (counts.get(id) ?? 0) > 0).length
    for (const id of write.ids) {
      known.add(id)
      const n = counts.get(id) ?? 0
      if (n > 1) problems.push(`duplicated: ${id} is in the table ${n} times (${describe(write.outcome)})`)
    }
    const landed = present === write.ids.length
    if (present > 0 && !landed)
      problems.push(
        `torn: ${name} landed ${present} of ${write.ids.length} rows (${describe(write.outcome)})`
      )
    const key = describe(write.outcome)
    const entry = byOutcome.get(key) ?? { count: 0, landed: 0 }
    entry.count++
    if (present > 0) entry.landed++
    byOutcome.set(key, entry)
    const outcome = write.outcome
    if (outcome.kind === "defect") problems.push(`defect: ${name}: ${outcome.detail}`)
    else if (outcome.kind === "ok" && !landed)
      problems.push(`lost: ${name} succeeded but is not in the table`)
    else if (outcome.kind === "error" && !outcome.mayHaveRun && present > 0)
      problems.push(
        `misreported: ${name} failed with ${outcome.label}, mayHaveRun false, yet it is in the table`
      )
  }
  for (const id of counts.keys())
    if (!known.has(id)) problems.push(`stray: ${id} is in the table, written by nobody`)
  return { problems, byOutcome }
}

/** The audit's counts as printable lines. */
export const summary = (title: string, result: Audit): string =>
  [
    `${title}:`,
    ...[...result.byOutcome].map(([key, { count, landed }]) => `  ${key}: ${count} (landed ${landed})`),
    `  problems: ${result.problems.length}`
  ].join("\n")

/** mulberry32: a small seeded PRNG. */
export const rngFrom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)
