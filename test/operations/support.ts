/**
 * Helpers for the operation suites: a connection of the public Expert API to the suite's server
 * (closed with the scope), and what that session's server keeps (pg_prepared_statements,
 * pg_cursors), asked over the same session.
 *
 * It does NOT start servers (each suite's layer does).
 */
import { Effect } from "effect"
import type { ConnectionApi } from "../../src/connection/api.ts"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"

/** A fresh Expert connection to the suite's server, closed with the scope. */
export const open = Effect.flatMap(PgTestServer.PgTestServer, (server) => Expert.connect(server.url))

type Simple = Pick<ConnectionApi<unknown>, "simpleQuery">

const column = (conn: Simple, sql: string) =>
  Effect.map(conn.simpleQuery(sql), (r) => r.results[0]!.rows.map((row) => row[0]))

/** Every name in pg_prepared_statements of `conn`'s session (the statement cache's too), sorted. */
export const allPreparedNames = (conn: Simple) =>
  column(conn, "select name from pg_prepared_statements order by name")

/** The names in pg_prepared_statements that are not the statement cache's (`ep<N>`), sorted. */
export const preparedNames = (conn: Simple) =>
  Effect.map(allPreparedNames(conn), (names) => names.filter((n) => !/^ep\d+$/.test(n ?? "")))

/** The names in pg_cursors of `conn`'s session, sorted. */
export const cursorNames = (conn: Simple) => column(conn, "select name from pg_cursors order by name")

/** The first column of the first row of a simple query. */
export const first = (conn: Simple, sql: string) =>
  Effect.map(conn.simpleQuery(sql), (r) => r.results[0]!.rows[0]![0])
