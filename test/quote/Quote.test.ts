/** The public quoting helpers: exact output, and NUL refused as a typed error (never a throw). */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { Quote } from "../../src/index.ts"

describe("Quote", () => {
  it("quotes identifiers and literals", () => {
    assert.deepStrictEqual(Quote.identifier('my "table"'), Result.succeed('"my ""table"""'))
    assert.deepStrictEqual(Quote.literal("it's"), Result.succeed("'it''s'"))
    assert.strictEqual(Quote.identifierUnsafe("Ünïcode"), '"Ünïcode"')
    assert.strictEqual(Quote.literalUnsafe("a\\b"), "'a\\b'")
  })

  it("refuses a NUL character with a typed error", () => {
    const id = Quote.identifier("a\0b")
    assert.isTrue(Result.isFailure(id))
    if (Result.isFailure(id)) {
      assert.strictEqual(id.failure._tag, "PgProtocolError")
      assert.strictEqual(id.failure.reason, "InvalidValue")
    }
    assert.isTrue(Result.isFailure(Quote.literal("\0")))
    assert.throws(() => Quote.identifierUnsafe("\0"), TypeError)
  })
})
