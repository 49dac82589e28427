/**
 * The clients of the peer benchmark, in the order they run within a round (A B C A B C) and the
 * order of the report's columns.
 *
 * Does: list the client modules for the parent (labels, kinds, unsupported reasons).
 * Does NOT: decide what a child loads: child.ts imports only the module it measures.
 */
import type { ClientModule } from "../types.ts"
import { effectPg, effectPgRoundRobin } from "./effect-pg.ts"
import { effectPgSql } from "./effect-pg-sql.ts"
import { libpq } from "./libpq.ts"
import { pgClient, pgText } from "./pg.ts"
import { postgresJs } from "./postgres.ts"
import { sqlPg, sqlPgMultiplex } from "./sql-pg.ts"

export const clients: ReadonlyArray<ClientModule> = [
  effectPg,
  effectPgRoundRobin,
  effectPgSql,
  pgClient,
  pgText,
  postgresJs,
  sqlPg,
  sqlPgMultiplex,
  libpq
]
