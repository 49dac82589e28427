/**
 * docs/testing.md's examples are tests of this repository, verbatim: the block after each marker
 * comment equals the test file it names without its header comment, with the two local imports
 * read as "effect-pg" and "effect-pg/testing" ("A database per test":
 * consumer-example.integration.test.ts; "Standbys, failover and PgBouncer":
 * ha-example.integration.test.ts).
 */
import { readFileSync } from "node:fs"
import { assert, it } from "@effect/vitest"

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")

for (const example of ["consumer-example", "ha-example"]) {
  it(`the documented example is the ${example} test`, () => {
    const path = `test/testing/${example}.integration.test.ts`
    const marker = `<!-- ${path} -->\n\`\`\`ts\n`
    const doc = read("docs/testing.md")
    const start = doc.indexOf(marker)
    assert.isAtLeast(start, 0, `docs/testing.md has the marker of ${path} before the example`)
    const block = doc.slice(start + marker.length, doc.indexOf("```\n", start + marker.length))
    const file = read(path)
    const body = file
      .slice(file.indexOf("*/\n") + 3)
      .replace('"../../src/index.ts"', '"effect-pg"')
      .replace('"../../src/testing/index.ts"', '"effect-pg/testing"')
    assert.include(body, 'from "effect-pg/testing"')
    assert.strictEqual(block, body)
  })
}
