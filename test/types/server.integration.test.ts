/**
 * The codecs against real servers (PostgreSQL 18 and 14): for every edge value in
 * support/cases.ts, the server's text output and its binary output both decode to the expected JS
 * value; and that value, encoded by the codec as a text parameter and as a binary parameter, comes
 * back from `select $1` (typed with the codec's OID) as the same server text; in three session time
 * zones (UTC, one with second offsets before 1900, one with half hours). The binary results
 * and typed parameters go through a custom command (support/rawQuery.ts, `connection.run`).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Connection from "../../src/Connection.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import {
  type AnyCodec,
  defaultRegistry,
  encodeParameter,
  isValueError,
  RowDecoder
} from "../../src/types/index.ts"
import { type Case, cases, SERVER_TEXT } from "./support/cases.ts"
import { rawQuery } from "./support/rawQuery.ts"

const utf8 = new TextDecoder()

const fetch = (
  conn: Connection.NormalConnection,
  sql: string,
  format: 0 | 1,
  params?: { oid: number; value: string | Uint8Array; format: 0 | 1 }
) =>
  conn.run(rawQuery, {
    sql,
    resultFormat: format,
    ...(params === undefined
      ? {}
      : { paramTypes: [params.oid], params: [params.value], paramFormats: [params.format] })
  })

const one = (result: { readonly rows: ReadonlyArray<ReadonlyArray<Uint8Array | null>> }): Uint8Array => {
  const value = result.rows[0]?.[0]
  if (value == null) throw new Error("expected one non-null value")
  return value
}

const check = (conn: Connection.NormalConnection, version: number, testCase: Case) =>
  Effect.gen(function* () {
    const where = `PG${version} ${testCase.sql}`
    const text = yield* fetch(conn, `select ${testCase.sql}`, 0)
    const oid = text.columns[0]!.typeOid
    const codec: AnyCodec = defaultRegistry.codecFor(oid)
    assert.strictEqual(codec.name, testCase.type, `${where}: the column's type`)
    const serverText = utf8.decode(one(text))
    const expected = testCase.value === SERVER_TEXT ? serverText : testCase.value
    assert.deepStrictEqual(codec.text.decode(serverText), expected, `${where}: text decode of ${serverText}`)

    // The row decoder agrees (text columns, a plan made once).
    const binary = codec.binary === undefined ? undefined : yield* fetch(conn, `select ${testCase.sql}`, 1)
    if (binary !== undefined) {
      const bytes = one(binary)
      assert.deepStrictEqual(
        codec.binary!.decode(bytes, 0, bytes.length),
        expected,
        `${where}: binary decode`
      )
      const decoder = new RowDecoder(defaultRegistry, [{ typeOid: oid, format: 1 }])
      const body = new Uint8Array(6 + bytes.length)
      body.set([
        0,
        1,
        bytes.length >>> 24,
        (bytes.length >>> 16) & 255,
        (bytes.length >>> 8) & 255,
        bytes.length & 255
      ])
      body.set(bytes, 6)
      assert.deepStrictEqual(decoder.decode(body), [expected], `${where}: row decoder`)
    }

    // Encoded back as a parameter, in both formats, the server prints the same text.
    const formats =
      codec.binary === undefined || testCase.textParameterOnly ? ([0] as const) : ([0, 1] as const)
    for (const format of formats) {
      const encoded = encodeParameter(codec, expected, format)
      if (isValueError(encoded) || encoded === null)
        throw new Error(`${where}: encode failed: ${encoded?.message}`)
      const back = yield* fetch(conn, "select $1", 0, { oid, value: encoded, format })
      assert.strictEqual(
        utf8.decode(one(back)),
        serverText,
        `${where}: round trip as a ${format ? "binary" : "text"} parameter`
      )
    }
  })

const suite = (version: 14 | 18) =>
  layer(PgTestServer.layer({ version, tls: false }), { timeout: 180_000, excludeTestServices: true })(
    `codecs agree with PostgreSQL ${version}`,
    (it) => {
      it.effect(`every edge value, text and binary, decoded and sent back (${cases.length} cases)`, () =>
        Effect.gen(function* () {
          const server = yield* PgTestServer.PgTestServer
          const conn = yield* Connection.connect(server.url)
          const failures: string[] = []
          // timestamptz prints in the session's zone: offsets with seconds (LMT), negative half hours.
          for (const zone of ["UTC", "Europe/Amsterdam", "America/St_Johns"]) {
            yield* conn.simpleQuery(`set timezone = '${zone}'`)
            for (const testCase of cases) {
              if (testCase.min !== undefined && version < testCase.min) continue
              const exit = yield* Effect.exit(check(conn, version, testCase))
              if (exit._tag === "Failure")
                failures.push(`${zone} ${testCase.sql}: ${String(exit.cause).slice(0, 600)}`)
            }
          }
          assert.deepStrictEqual(failures, [])
        })
      )
    }
  )

describe("server agreement", () => {
  suite(18)
  suite(14)
})
