/**
 * The session store's option and duration checks, without a database: every bad table or schema
 * name, default period, purge interval and batch size is a PgSessionError returned (never thrown),
 * and a NaN or an object with an unknown key is refused rather than read as a zero duration.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration } from "effect"
import { resolveOptions, resolveSql, type SessionStoreOptions } from "../../src/session/options.ts"
import { checkName, decodeDuration, expiryMillis, PgSessionError } from "../../src/session/sql.ts"

const refused = (result: unknown, reason: string, message: RegExp) => {
  assert.instanceOf(result, PgSessionError)
  const error = result as PgSessionError
  assert.strictEqual(error.reason, reason)
  assert.match(error.message, message)
}

describe("checkName", () => {
  it("refuses a NUL, an empty name, a non-string and a name PostgreSQL would truncate", () => {
    refused(checkName("table", "ses\0sion"), "InvalidOption", /^table must not contain a NUL character$/)
    refused(checkName("schema", ""), "InvalidOption", /^schema must not be empty$/)
    refused(checkName("table", 42), "InvalidOption", /^table must be a string$/)
    refused(checkName("table", "é".repeat(32)), "InvalidOption", /at most 63 bytes/)
    for (const ok of ["session", 'my "sessions"', "a".repeat(63), "é".repeat(31), "sp ace; drop"]) {
      assert.isUndefined(checkName("table", ok), ok)
    }
  })
})

describe("decodeDuration and expiryMillis", () => {
  it("never throw, and refuse what Duration would read as zero", () => {
    for (const bad of [
      "abc",
      NaN,
      [1, NaN],
      { hourz: 2 },
      { seconds: NaN },
      null,
      undefined,
      "1e400 millis"
    ]) {
      assert.isUndefined(decodeDuration(bad), String(bad))
      refused(expiryMillis("expiry", bad as never), "InvalidExpiry", /^expiry is not a duration$/)
    }
    assert.strictEqual(Duration.toMillis(decodeDuration({ hours: 2 })!), 7_200_000)
    assert.strictEqual(Duration.toMillis(decodeDuration([1, 500_000_000])!), 1_500)
    assert.strictEqual(expiryMillis("expiry", Duration.seconds(3)), 3_000)
  })

  it("refuses negative, infinite and unsafe-integer expiries", () => {
    for (const bad of [-1, "-5 millis", "Infinity", "-Infinity", 1e300, Number.MAX_SAFE_INTEGER + 2]) {
      refused(expiryMillis("expiry", bad as never), "InvalidExpiry", /finite duration ≥ 0/)
    }
    assert.strictEqual(expiryMillis("expiry", Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER)
  })
})

describe("resolveOptions", () => {
  it("gives the defaults", () => {
    const settings = resolveOptions()
    assert.notInstanceOf(settings, PgSessionError)
    if (settings instanceof PgSessionError) return
    assert.strictEqual(settings.defaultPeriod, 7 * 24 * 3_600_000)
    assert.strictEqual(Duration.toMillis(settings.purgeInterval), 600_000)
    assert.strictEqual(settings.purgeBatchSize, 1_000)
    assert.isFalse(settings.ensureSchema)
    assert.include(settings.sql.delete, 'DELETE FROM "session"')
  })

  it("refuses every bad option with a PgSessionError naming it", () => {
    const cases: ReadonlyArray<[SessionStoreOptions, string, RegExp]> = [
      [{ table: "a\0b" }, "InvalidOption", /^table must not contain a NUL/],
      [{ table: "" }, "InvalidOption", /^table must not be empty/],
      [{ schema: "app\0" }, "InvalidOption", /^schema must not contain a NUL/],
      [{ schema: "" }, "InvalidOption", /^schema must not be empty/],
      [{ table: 7 as never }, "InvalidOption", /^table must be a string/],
      [{ defaultPeriod: "abc" as never }, "InvalidExpiry", /^defaultPeriod is not a duration/],
      [{ defaultPeriod: NaN }, "InvalidExpiry", /^defaultPeriod is not a duration/],
      [{ defaultPeriod: -1 }, "InvalidExpiry", /^defaultPeriod must be a finite duration/],
      [{ purgeInterval: "abc" as never }, "InvalidOption", /^purgeInterval must be a positive duration/],
      [{ purgeInterval: NaN }, "InvalidOption", /^purgeInterval/],
      [{ purgeInterval: 0 }, "InvalidOption", /^purgeInterval/],
      [{ purgeInterval: "-Infinity" }, "InvalidOption", /^purgeInterval/],
      [{ purgeBatchSize: 0 }, "InvalidOption", /^purgeBatchSize/],
      [{ purgeBatchSize: 1.5 }, "InvalidOption", /^purgeBatchSize/],
      [{ purgeBatchSize: 1e300 }, "InvalidOption", /^purgeBatchSize/],
      [{ purgeBatchSize: NaN }, "InvalidOption", /^purgeBatchSize/]
    ]
    for (const [options, reason, message] of cases) refused(resolveOptions(options), reason, message)
    refused(resolveSql({ table: "x\0" }), "InvalidOption", /^table must not contain a NUL/)
  })

  it("accepts Infinity as a purge interval (no background purge) and quotes the names", () => {
    const settings = resolveOptions({ purgeInterval: "Infinity", table: 'my "s"', schema: "app" })
    if (settings instanceof PgSessionError) return assert.fail(settings.message)
    assert.isFalse(Duration.isFinite(settings.purgeInterval))
    assert.include(settings.sql.delete, '"app"."my ""s"""')
  })
})
