/**
 * The codec registry as an Effect service: which codecs a connection reads and writes values
 * with, and whether its results are typed at all (issue 12, decision 021).
 *
 * Does: hold `TypeRegistry`, a `Context.Reference` (decision 003) whose default is
 * `{ results: "typed", registry: defaultRegistry }` (decision 022). A connection reads it once, when it is made
 * (connect.ts), so providing it around `Connection.make`/`layer`, or around `Pool.make`/`layer`
 * (the pool dials in its own context), sets it per connection or per pool. `withCodecs` and
 * `typed` are the usual ways to provide it.
 * - `results: "typed"` (the default): rows are decoded through `registry` (int4 → number, int8 →
 *   bigint, …; docs/types.md), in binary where the codec prefers it once the statement's columns
 *   are known.
 * - `results: "text"`: rows hold the server's text. Parameters are typed in both modes
 *   (connection/params.ts). Either way a row is an object or an array as each call asks
 *   (`rowMode`, Result.ts).
 * Does NOT: decode anything (the pure layer src/types/ does), or query the server's catalog
 * (connection/introspect.ts looks up enums, composites and domains: decision 023).
 */
import { Context, Layer } from "effect"
import { defaultRegistry } from "../types/defaults.ts"
import type { Registry } from "../types/Registry.ts"

/** How a connection reads result values: the server's text, or decoded by the registry. */
export type ResultValues = "text" | "typed"

export interface TypeRegistryService {
  readonly results: ResultValues
  /** The codecs for parameters (both modes) and, in "typed" mode, for results. */
  readonly registry: Registry
}

/** The TypeRegistry service; a `Context.Reference` whose default decodes every built-in type. */
export const TypeRegistry: Context.Reference<TypeRegistryService> = Context.Reference<TypeRegistryService>(
  "effect-pg/TypeRegistry",
  { defaultValue: () => ({ results: "typed", registry: defaultRegistry }) }
)

/** Typed results with `registry` (default: every built-in type). */
export const typed = (registry: Registry = defaultRegistry): Layer.Layer<never> =>
  Layer.succeed(TypeRegistry, { results: "typed", registry })

/** Text results (the server's text), parameters still encoded with `registry`. */
export const text = (registry: Registry = defaultRegistry): Layer.Layer<never> =>
  Layer.succeed(TypeRegistry, { results: "text", registry })
