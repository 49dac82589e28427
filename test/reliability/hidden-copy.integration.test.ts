/**
 * A COPY FROM STDIN whose first keyword hides behind a `;` or a `-- c\r` comment, sent through
 * `query` on one connection while 10 other fibers pipeline their own queries on it. In COPY-in
 * mode the server ignores the Sync and reads the statements pipelined behind as COPY data (or
 * errors on them), so unless the client holds them back, answers shift to the wrong callers and
 * the connection breaks. Expected: only the COPY fails, with the same typed error as a plain
 * `copy ... from stdin` sent through `query`; every other query gets exactly its own answer; the
 * connection stays Open and in sync; nothing was copied.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { describe, outcomeOf, range } from "./support.ts"

const COPIES: ReadonlyArray<string> = [
  "copy hidden_copy from stdin",
  ";copy hidden_copy from stdin",
  "-- c\rcopy hidden_copy from stdin",
  "/* a /* nested */ comment */ copy hidden_copy from stdin"
]

layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 120_000, excludeTestServices: true })(
  "a hidden COPY pipelined with other queries (PG18)",
  (it) => {
    for (const copy of COPIES) {
      it.effect(`query(${JSON.stringify(copy)}) among 10 pipelined queries fails alone`, () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const conn = yield* Expert.connect(server.url)
          yield* conn.query("create table if not exists hidden_copy (x text)")
          const tokens = range(10).map((i) => `tok${i}_${Math.floor(Math.random() * 1e9)}`)
          // The COPY goes in the middle: queries before and behind it, from separate fibers.
          const ops: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
            ...tokens.slice(0, 3).map((t) => conn.query("select $1::text", [t])),
            conn.query(copy),
            ...tokens.slice(3).map((t) => conn.query("select $1::text", [t]))
          ]
          const exits = yield* Effect.forEach(ops, (op) => Effect.exit(op), { concurrency: "unbounded" })
          const copyOutcome = outcomeOf(exits[3]!)
          const answers = exits.filter((_, i) => i !== 3)
          const wrong: Array<string> = []
          answers.forEach((exit, i) => {
            if (Exit.isFailure(exit)) wrong.push(`${tokens[i]}: ${describe(outcomeOf(exit))}`)
            else {
              const rows = (exit.value as { rows: unknown }).rows
              if (JSON.stringify(rows) !== JSON.stringify([{ text: tokens[i] }]))
                wrong.push(`${tokens[i]}: got ${JSON.stringify(rows).slice(0, 120)}`)
            }
          })
          console.log(
            `${JSON.stringify(copy)}: the COPY got ${describe(copyOutcome)}; ${wrong.length} neighbours wrong`
          )
          assert.deepStrictEqual(wrong, [], "every other query gets exactly its own answer")
          assert.strictEqual(copyOutcome.kind, "error", `the COPY must fail, got ${describe(copyOutcome)}`)
          // The same refusal as a plain COPY through query (checked by the first case).
          if (copyOutcome.kind === "error") {
            assert.strictEqual(copyOutcome.label, "PgProtocolError(CopyNotSupported)")
            // Aborted with CopyFail: it certainly did not take effect.
            assert.isFalse(copyOutcome.mayHaveRun)
          }
          assert.strictEqual((yield* conn.status)._tag, "Open")
          assert.strictEqual(yield* conn.transactionStatus, "I")
          const probe = yield* conn.query("select $1::text, count(*) from hidden_copy", ["probe"])
          assert.deepStrictEqual(
            probe.rows,
            [{ text: "probe", count: 0n }],
            "in sync, and nothing was copied"
          )
        })
      )
    }
  }
)
