/**
 * docs/testing.md's "A database per test" example is test/testing/consumer-example.integration.test.ts
 * verbatim: the block after the marker comment equals the test file without its header comment,
 * with the two local imports read as "effect-pg" and "effect-pg/testing".
 */
import { readFileSync } from "node:fs"
import { assert, it } from "@effect/vitest"

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")

it("the documented example is the consumer example test", () => {
  const marker = "<!-- test/testing/consumer-example.integration.test.ts -->\n```ts\n"
  const doc = read("docs/testing.md")
  const start = doc.indexOf(marker)
  assert.isAtLeast(start, 0, "docs/testing.md has the marker before the example")
  const block = doc.slice(start + marker.length, doc.indexOf("```\n", start + marker.length))
  const file = read("test/testing/consumer-example.integration.test.ts")
  const body = file
    .slice(file.indexOf("*/\n") + 3)
    .replace('"../../src/index.ts"', '"effect-pg"')
    .replace('"../../src/testing/index.ts"', '"effect-pg/testing"')
  assert.include(body, 'from "effect-pg/testing"')
  assert.strictEqual(block, body)
})
