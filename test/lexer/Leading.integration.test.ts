/**
 * The leading-keyword lexer against real servers: for generated prefixes P (what PostgreSQL skips,
 * and mixtures with tokens it does not skip) and a few fixed statements, `P + "begin"` goes
 * through the extended protocol and the connection's transaction status afterwards says whether
 * the server began a transaction; `opensTransaction` must say the same. On PostgreSQL 18 exactly;
 * on 15, which does not take \v as whitespace, exactly for text without \v and conservatively
 * (never false where the server began) for the rest.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import type { ExpertConnection } from "../../src/connection/operations.ts"
import * as Expert from "../../src/Expert.ts"
import { opensTransaction } from "../../src/lexer/Leading.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { mixedPrefix, prefix, unicodeSpace } from "./support/arbitraries.ts"

/** Whether the server began a transaction block for `sql` (rolled back again before returning). */
const serverBegins = (conn: ExpertConnection, sql: string): Effect.Effect<boolean, unknown> =>
  Effect.gen(function* () {
    yield* Effect.exit(conn.query(sql))
    const status = yield* conn.transactionStatus
    if (status !== "I") yield* conn.simpleQuery("rollback")
    return status !== "I"
  })

const fixed: ReadonlyArray<string> = [
  "begin",
  "BeGiN",
  ";begin",
  ";;BEGIN",
  "-- c\rbegin",
  "-- c\r\nbegin",
  ";start transaction",
  "start/**/transaction",
  "start -- c\rtransaction",
  "start",
  "start;transaction",
  'start "transaction"',
  "/* a /* b */ c */ begin",
  "/*/ x */ begin",
  "/* a /* b */ begin",
  "/* unterminated begin",
  "--x",
  "-- c begin",
  "\vbegin",
  "\u00a0begin",
  "\u2003begin",
  "\u3000begin",
  "\ufeffbegin",
  "begin\u00a0",
  "beg\u0131n",
  '"begin"',
  "_begin",
  "begin1",
  "begin$",
  "begin;",
  "begin isolation level serializable",
  "x'00'begin",
  "u&'x' begin"
]

const statements: ReadonlyArray<string> = [
  ...fixed,
  ...fc.sample(prefix, { seed: 20_240_601, numRuns: 300 }).map((p) => p + "begin"),
  ...fc.sample(mixedPrefix, { seed: 20_240_602, numRuns: 300 }).map((p) => p + "begin"),
  ...fc
    .sample(fc.tuple(prefix, unicodeSpace), { seed: 20_240_603, numRuns: 50 })
    .map(([p, space]) => p + space + "begin")
]

interface Outcome {
  readonly sql: string
  /** The server began a transaction. */
  readonly server: boolean
  /** `opensTransaction` said it would. */
  readonly lexer: boolean
}

/** Every statement's outcome on a `version` server, handed to `check`; the ones it returns are wrong. */
const against = (
  version: 18 | 15,
  title: string,
  check: (outcomes: ReadonlyArray<Outcome>) => ReadonlyArray<Outcome>,
  also: (outcomes: ReadonlyArray<Outcome>) => void
) =>
  layer(PgTestServer.layer({ version, tls: false, backend: "local" }), {
    timeout: 120_000,
    excludeTestServices: true
  })(`opensTransaction against PostgreSQL ${version}`, (it) => {
    it.effect(title, () =>
      Effect.gen(function* () {
        const server = yield* PgTestServer.PgTestServer
        const conn = yield* Expert.connect(server.url)
        const outcomes = yield* Effect.forEach(statements, (sql) =>
          Effect.map(serverBegins(conn, sql), (began) => ({
            sql,
            server: began,
            lexer: opensTransaction(sql)
          }))
        )
        assert.deepStrictEqual(
          check(outcomes).map((o) => JSON.stringify(o)),
          []
        )
        also(outcomes)
      })
    )
  })

const serverDid = (outcomes: ReadonlyArray<Outcome>, sql: string): boolean =>
  outcomes.find((o) => o.sql === sql)!.server

against(
  18,
  "says exactly what the server does for every generated and fixed statement",
  (outcomes) => outcomes.filter((o) => o.server !== o.lexer),
  (outcomes) => {
    // Both answers occur, so the comparison can tell a lexer that always says one of them.
    const began = outcomes.filter((o) => o.server).length
    assert.isAbove(began, 300)
    assert.isAbove(outcomes.length - began, 100)
    for (const sql of ["\u00a0begin", "\u2003begin", "\u3000begin", "\ufeffbegin"]) {
      assert.isFalse(serverDid(outcomes, sql), sql)
    }
    assert.isTrue(serverDid(outcomes, "\vbegin"))
  }
)

// PostgreSQL 15 does not take \v as whitespace: there the lexer may only err on the safe side.
against(
  15,
  "is exact for text without \\v, and never false where the server began",
  (outcomes) =>
    outcomes.filter((o) => (o.server && !o.lexer) || (!o.sql.includes("\v") && o.server !== o.lexer)),
  (outcomes) => assert.isFalse(serverDid(outcomes, "\vbegin"))
)
