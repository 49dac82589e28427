import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { assert, describe, it } from "vitest"
import * as Tables from "../../src/auth/SaslPrepTables.ts"

const python = spawnSync("python3", ["-c", "import stringprep, unicodedata; assert unicodedata.ucd_3_2_0"])
const hasPython = python.status === 0

describe("SaslPrepTables (generated from RFC 3454)", () => {
  it("every table is sorted, disjoint, well formed and within Unicode", () => {
    for (const [name, text] of Object.entries(Tables)) {
      let previous = -1
      for (const item of text.trim().split(/\s+/)) {
        assert.match(item, /^[0-9A-F]{4,6}(-[0-9A-F]{4,6})?$/, name)
        const [start, end = start] = item.split("-").map((h) => Number.parseInt(h, 16)) as [number, number?]
        assert.isTrue(previous < start && start <= end && end <= 0x10ffff, `${name}: ${item}`)
        previous = end
      }
    }
  })

  it.skipIf(!hasPython)("is exactly what the generator produces from Python's stringprep module", () => {
    const generated = spawnSync("python3", ["test/auth/generate-saslprep-tables.py"], { encoding: "utf8" })
    assert.strictEqual(generated.status, 0, generated.stderr)
    assert.strictEqual(generated.stdout, readFileSync("src/auth/SaslPrepTables.ts", "utf8"))
  })
})
