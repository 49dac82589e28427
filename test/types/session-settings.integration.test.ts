/**
 * The session settings the text decoders read (connect.ts `pinnedSettings`, `isoDateStyle`), on
 * PostgreSQL 18 and 15: client_encoding is UTF8 in a LATIN1 and a SQL_ASCII database, `-c` in
 * options does not change it, and a SET of it fails the connection with a clear error; DateStyle
 * is ISO where the database's default says otherwise (one SET after startup, the day/month order
 * kept); a DateStyle the user asks for (options' `-c`) is kept, and then a date's text fails to
 * decode with a typed error (never a wrong value), text results give the server's text, and a
 * prepared (binary) execution decodes.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { TypeRegistry } from "../../src/connection/typeRegistry.ts"
import * as Expert from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import { defaultRegistry, PgDate } from "../../src/types/index.ts"

const withDatabase = (url: string, database: string) => {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

const DATE = "select '2024-01-02'::date as d, current_setting('datestyle') as style"

for (const version of [18, 15] as const) {
  describe(`PG${version}`, () => {
    layer(PgTestServer.layer({ version, tls: false }), { timeout: 180_000, excludeTestServices: true })(
      (it) => {
        it.effect("a database whose DateStyle default is SQL, DMY still gives ISO text", () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const admin = yield* Expert.connect(server.url)
            yield* admin.simpleQuery("create database dmy_db")
            yield* admin.simpleQuery("alter database dmy_db set datestyle = 'SQL, DMY'")
            const conn = yield* Expert.connect(withDatabase(server.url, "dmy_db"))
            const r = yield* conn.query(DATE)
            assert.deepStrictEqual(r.rows, [{ d: new PgDate(19724), style: "ISO, DMY" }])
            assert.strictEqual(r.columns[0]!.format, 0, "the first execution is text")
          }).pipe(Effect.scoped)
        )

        it.effect("a LATIN1 database: the session is UTF8, non-ASCII text round-trips", () =>
          Effect.gen(function* () {
            const server = yield* PgTestServer.PgTestServer
            const admin = yield* Expert.connect(server.url)
            yield* admin.simpleQuery(
              "create database latin_db template template0 encoding 'LATIN1' lc_collate 'C' lc_ctype 'C'"
            )
            const conn = yield* Expert.connect(withDatabase(server.url, "latin_db"))
            const r = yield* conn.query(
              "select $1::text as t, current_setting('client_encoding') as enc, current_setting('server_encoding') as db",
              ["café Ünïcödé"]
            )
            assert.deepStrictEqual(r.rows, [{ t: "café Ünïcödé", enc: "UTF8", db: "LATIN1" }])
            const refused = yield* Effect.flip(conn.query("select $1::text", ["✓"]))
            assert.strictEqual(refused._tag, "PgServerError")
            assert.strictEqual((refused as { code?: string }).code, "22P05")
            assert.deepStrictEqual((yield* conn.query("select 'é' as e")).rows, [{ e: "é" }])
          }).pipe(Effect.scoped)
        )

        it.effect(
          "a SQL_ASCII database passes UTF-8 through; SET client_encoding fails the connection clearly",
          () =>
            Effect.gen(function* () {
              const server = yield* PgTestServer.PgTestServer
              const admin = yield* Expert.connect(server.url)
              yield* admin.simpleQuery(
                "create database ascii_db template template0 encoding 'SQL_ASCII' lc_collate 'C' lc_ctype 'C'"
              )
              const conn = yield* Expert.connect(withDatabase(server.url, "ascii_db"))
              const r = yield* conn.query("select $1::text as t, current_setting('client_encoding') as enc", [
                "naïve ✓"
              ])
              assert.deepStrictEqual(r.rows, [{ t: "naïve ✓", enc: "UTF8" }])
              const error = yield* Effect.flip(conn.simpleQuery("set client_encoding = 'LATIN1'"))
              assert.strictEqual(error._tag, "PgProtocolError")
              assert.strictEqual((error as { reason?: string }).reason, "UnsupportedEncoding")
              assert.match(error.message, /client_encoding is now LATIN1/)
              assert.strictEqual((yield* conn.status)._tag, "Failed")
              // `-c client_encoding=…` in options loses to the startup's own client_encoding=UTF8.
              const viaOptions = yield* Expert.connect(
                `${server.url}${server.url.includes("?") ? "&" : "?"}options=${encodeURIComponent("-c client_encoding=LATIN1")}`
              )
              const enc = yield* viaOptions.query("select current_setting('client_encoding') as enc")
              assert.deepStrictEqual(enc.rows, [{ enc: "UTF8" }])
            }).pipe(Effect.scoped)
        )

        it.effect(
          "a DateStyle the user sets is kept: text dates fail typed, text results and binary work",
          () =>
            Effect.gen(function* () {
              const server = yield* PgTestServer.PgTestServer
              const url = `${server.url}${server.url.includes("?") ? "&" : "?"}options=${encodeURIComponent("-c datestyle=SQL,DMY")}`
              const conn = yield* Expert.connect(url)
              const error = yield* Effect.flip(conn.query(DATE))
              assert.strictEqual(error._tag, "PgProtocolError")
              assert.strictEqual((error as { reason?: string }).reason, "UndecodableValue")
              assert.match(error.message, /^row 1, column 1 "d" \(date\)/)
              // The failed first execution still taught the cache the statement's columns: its next
              // execution is bound in binary, which does not depend on DateStyle.
              const cached = yield* conn.query(DATE)
              assert.deepStrictEqual(cached.rows, [{ d: new PgDate(19724), style: "SQL, DMY" }])
              assert.strictEqual(cached.columns[0]!.format, 1)
              // So are a prepared statement's.
              const statement = yield* conn.prepare(DATE)
              const binary = yield* conn.execute(statement)
              assert.deepStrictEqual(binary.rows, [{ d: new PgDate(19724), style: "SQL, DMY" }])
              assert.strictEqual(binary.columns[0]!.format, 1)
              const text = yield* Expert.connect(url).pipe(
                Effect.provideService(TypeRegistry, { results: "text", registry: defaultRegistry })
              )
              assert.deepStrictEqual((yield* text.query(DATE)).rows, [{ d: "02/01/2024", style: "SQL, DMY" }])
            }).pipe(Effect.scoped)
        )
      }
    )
  })
}
