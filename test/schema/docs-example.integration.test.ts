/**
 * docs/types.md's Schema example is test/schema/docs-example.ts verbatim (with the local import
 * read as "effect-pg"), and it runs against a real PostgreSQL 18 with the values its comments
 * promise.
 */
import { readFileSync } from "node:fs"
import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import * as Connection from "../../src/Connection.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { example } from "./docs-example.ts"

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")

it("the documented Schema example is docs-example.ts", () => {
  const marker = "<!-- test/schema/docs-example.ts -->\n```ts\n"
  const doc = read("docs/types.md")
  const start = doc.indexOf(marker)
  assert.isAtLeast(start, 0, "docs/types.md has the marker before the example")
  const block = doc.slice(start + marker.length, doc.indexOf("```\n", start + marker.length))
  assert.strictEqual(
    block,
    read("test/schema/docs-example.ts").replace('"../../src/index.ts"', '"effect-pg"')
  )
})

describe("PG18", () => {
  layer(PgTestServer.layer({ version: 18, tls: false }), { timeout: 180_000, excludeTestServices: true })(
    (it) => {
      it.effect("the example runs", () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const conn = yield* Connection.connect(server.url)
          const { all, one, none, ids, pairs } = yield* example(conn)
          assert.strictEqual(all.length, 2)
          assert.deepInclude(all[0], { id: 1, price: 9.9, tags: ["new"] })
          assert.strictEqual(all[0]?.created_at.toISOString(), "2024-05-01T12:00:00.000Z")
          const ttl = all[0]?.ttl
          assert.isTrue(ttl !== null && ttl !== undefined && Duration.equals(ttl, Duration.days(2)))
          assert.deepInclude(one, { id: 2, price: 12.5, tags: [], ttl: null })
          assert.isTrue(Option.isNone(none))
          assert.deepStrictEqual(ids, [1, 2])
          assert.deepStrictEqual(pairs, [[1n, "one"]])
        }).pipe(Effect.scoped)
      )
    }
  )
})
