import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, Stream } from "effect"
import {
  isPgError,
  PgAuthError,
  PgClosedError,
  PgConnectionError,
  PgError,
  type PgExpertError,
  PgProtocolError,
  PgServerError,
  toNormal,
  toNormalStream
} from "../../src/Errors.ts"
import * as Sqlstate from "../../src/Sqlstate.ts"

const syntaxError = PgServerError.fromFields({
  S: "ERROR",
  V: "ERROR",
  C: "42601",
  M: 'syntax error at or near "FORM"',
  P: "10",
  F: "scan.l",
  L: "1244",
  R: "scanner_yyerror"
})
const uniqueViolation = PgServerError.fromFields({
  S: "ERROR",
  C: "23505",
  M: 'duplicate key value violates unique constraint "users_pkey"',
  D: "Key (id)=(1) already exists.",
  H: "Pick another id.",
  s: "public",
  t: "users",
  n: "users_pkey"
})
const connectionError = new PgConnectionError({
  phase: "io",
  mayHaveReachedServer: true,
  message: "read ECONNRESET",
  cause: new Error("read ECONNRESET")
})
const authRefused = new PgAuthError({
  method: "scram-sha-256",
  reason: "server-rejected",
  message: "the server refused the password",
  serverError: PgServerError.fromFields({
    S: "FATAL",
    C: "28P01",
    M: 'password authentication failed for user "bob"'
  })
})
const authUnsupported = new PgAuthError({
  method: "GSS",
  reason: "unsupported-method",
  message: "GSSAPI authentication is not supported"
})
const protocolError = new PgProtocolError({
  reason: "UnknownMessage",
  message: "unknown message type",
  messageType: 0x7a
})
const closed = PgClosedError.previouslyFailed(connectionError)

describe("PgError messages", () => {
  it("shows a syntax error with its cursor and the query", () => {
    const error = PgError.fromExpert(syntaxError, { sql: "SELECT * FORM t" })
    assert.strictEqual(
      error.message,
      [
        'ERROR: syntax error at or near "FORM" (SQLSTATE 42601 syntax_error)',
        "LINE 1: SELECT * FORM t",
        `${" ".repeat(17)}^`,
        "SQL: SELECT * FORM t"
      ].join("\n")
    )
  })

  it("shows detail, hint, the SQL and the parameters", () => {
    const error = PgError.fromExpert(uniqueViolation, {
      sql: "INSERT INTO users (id, name) VALUES ($1, $2)",
      params: [1, "O'Brien"]
    })
    assert.strictEqual(
      error.message,
      [
        'ERROR: duplicate key value violates unique constraint "users_pkey" (SQLSTATE 23505 unique_violation)',
        "DETAIL: Key (id)=(1) already exists.",
        "HINT: Pick another id.",
        "SQL: INSERT INTO users (id, name) VALUES ($1, $2)",
        "PARAMS: $1 = 1, $2 = 'O''Brien'"
      ].join("\n")
    )
  })

  it("shows the internal query and the context of an error inside a function", () => {
    const error = PgError.fromExpert(
      PgServerError.fromFields({
        S: "ERROR",
        C: "42703",
        M: 'column "x" does not exist',
        p: "8",
        q: "SELECT x FROM t",
        W: "PL/pgSQL function f() line 3 at RETURN"
      }),
      { sql: "SELECT f()" }
    )
    assert.strictEqual(
      error.message,
      [
        'ERROR: column "x" does not exist (SQLSTATE 42703 undefined_column)',
        "QUERY LINE 1: SELECT x FROM t",
        `${" ".repeat(21)}^`,
        "CONTEXT: PL/pgSQL function f() line 3 at RETURN",
        "SQL: SELECT f()"
      ].join("\n")
    )
  })

  it("truncates the SQL and the parameters to the default limits (500 chars, 10 params of 100)", () => {
    const sql = `SELECT ${"x".repeat(600)}`
    const params = [...Array.from({ length: 11 }, (_, i) => `p${i}`), "z"]
    params[0] = "y".repeat(150)
    const message = PgError.fromExpert(uniqueViolation, { sql, params }).message
    const lines = message.split("\n")
    assert.strictEqual(lines.at(-2), `SQL: SELECT ${"x".repeat(493)}…[107 more chars]`)
    const paramsLine = lines.at(-1)!
    assert.isTrue(paramsLine.startsWith(`PARAMS: $1 = '${"y".repeat(100)}…[50 more chars]', $2 = 'p1'`))
    assert.isTrue(paramsLine.endsWith("$10 = 'p9', … (and 2 more)"))
    assert.notInclude(paramsLine, "p10")
  })

  it("applies custom limits", () => {
    const message = PgError.fromExpert(uniqueViolation, {
      sql: "SELECT 1234567890",
      params: ["abcdef", "second"],
      limits: { maxSqlLength: 8, maxParams: 1, maxParamLength: 3 }
    }).message
    assert.include(message, "\nSQL: SELECT 1…[9 more chars]\n")
    assert.isTrue(message.endsWith("\nPARAMS: $1 = 'abc…[3 more chars]', … (and 1 more)"))
  })

  it("omits the SQL and PARAMS lines when there is no context or no parameter", () => {
    assert.strictEqual(
      PgError.fromExpert(uniqueViolation).message.split("\n")[0],
      'ERROR: duplicate key value violates unique constraint "users_pkey" (SQLSTATE 23505 unique_violation)'
    )
    assert.notInclude(PgError.fromExpert(uniqueViolation).message, "SQL:")
    assert.notInclude(PgError.fromExpert(uniqueViolation, { sql: "SELECT 1", params: [] }).message, "PARAMS")
    // No SQL: no cursor either, even though the error has a position.
    assert.notInclude(PgError.fromExpert(syntaxError).message, "LINE")
  })

  it("describes each non-server cause", () => {
    const context = { sql: "UPDATE t SET a = 1" }
    assert.strictEqual(
      PgError.fromExpert(connectionError, context).message,
      [
        "connection error (io): read ECONNRESET (SQLSTATE 08006 connection_failure)",
        "The statement may or may not have run on the server.",
        "SQL: UPDATE t SET a = 1"
      ].join("\n")
    )
    assert.strictEqual(
      PgError.fromExpert(
        new PgConnectionError({ phase: "connect", mayHaveReachedServer: false, message: "refused" })
      ).message,
      "connection error (connect): refused (SQLSTATE 08001 sqlclient_unable_to_establish_sqlconnection)"
    )
    assert.strictEqual(
      PgError.fromExpert(authRefused).message,
      [
        "authentication failed (method scram-sha-256, server-rejected): the server refused the password",
        'FATAL: password authentication failed for user "bob" (SQLSTATE 28P01 invalid_password)'
      ].join("\n")
    )
    assert.strictEqual(
      PgError.fromExpert(protocolError).message,
      "protocol error (UnknownMessage, message type 'z' 0x7a): unknown message type" +
        " (SQLSTATE 08P01 protocol_violation)"
    )
    assert.strictEqual(
      PgError.fromExpert(new PgProtocolError({ reason: "InvalidValue", message: "bad", messageType: 0 }))
        .message,
      "protocol error (InvalidValue, message type 0x00): bad (SQLSTATE 08P01 protocol_violation)"
    )
    // What the client refused on its own, the session in step, is no protocol violation.
    assert.strictEqual(
      PgError.fromExpert(PgProtocolError.notSent({ reason: "InvalidValue", message: "a NUL" })).message,
      "protocol error (InvalidValue): a NUL"
    )
    assert.strictEqual(
      PgError.fromExpert(new PgProtocolError({ reason: "UnexpectedRows", message: "rows" })).message,
      "protocol error (UnexpectedRows): rows"
    )
    assert.strictEqual(
      PgError.fromExpert(authUnsupported).message,
      "authentication failed (method GSS, unsupported-method): GSSAPI authentication is not supported" +
        " (SQLSTATE 28000 invalid_authorization_specification)"
    )
    assert.strictEqual(
      PgError.fromExpert(closed, context).message,
      [
        "query issued against previously-failed connection (PgConnectionError: read ECONNRESET)" +
          " (SQLSTATE 08003 connection_does_not_exist)",
        "SQL: UPDATE t SET a = 1"
      ].join("\n")
    )
  })

  it("never shows Redacted parameters", () => {
    const message = PgError.fromExpert(uniqueViolation, {
      sql: "SELECT $1",
      params: [Redacted.make("hunter2")]
    }).message
    assert.include(message, "$1 = <redacted>")
    assert.notInclude(message, "hunter2")
  })
})

describe("PgError conveniences", () => {
  const cases: ReadonlyArray<{
    readonly cause: PgExpertError
    readonly code: string | undefined
    readonly server: boolean
    readonly connection: boolean
    readonly closed: boolean
    readonly reached: boolean
  }> = [
    { cause: uniqueViolation, code: "23505", server: true, connection: false, closed: false, reached: true },
    {
      cause: connectionError,
      code: "08006",
      server: false,
      connection: true,
      closed: false,
      reached: true
    },
    { cause: authRefused, code: "28P01", server: false, connection: false, closed: false, reached: false },
    {
      cause: authUnsupported,
      code: "28000",
      server: false,
      connection: false,
      closed: false,
      reached: false
    },
    { cause: protocolError, code: "08P01", server: false, connection: false, closed: false, reached: true },
    { cause: closed, code: "08003", server: false, connection: false, closed: true, reached: false }
  ]

  it("answers code, isServerError, isConnectionError, isClosed and mayHaveReachedServer from the cause", () => {
    for (const c of cases) {
      const error = PgError.fromExpert(c.cause)
      const label = `${c.cause._tag}: ${c.cause.message}`
      assert.strictEqual(error.cause, c.cause, label)
      assert.strictEqual(error.code, c.code, label)
      assert.strictEqual(
        error.conditionName,
        c.code === undefined ? undefined : Sqlstate.conditionName(c.code)
      )
      assert.strictEqual(error.isServerError, c.server, label)
      assert.strictEqual(error.isConnectionError, c.connection, label)
      assert.strictEqual(error.isClosed, c.closed, label)
      assert.strictEqual(error.mayHaveReachedServer, c.reached, label)
      assert.isTrue(isPgError(error))
    }
    assert.isFalse(isPgError(uniqueViolation))
  })

  it("exposes the server error, also when the server refused authentication", () => {
    assert.strictEqual(PgError.fromExpert(uniqueViolation).serverError, uniqueViolation)
    assert.strictEqual(PgError.fromExpert(authRefused).serverError, authRefused.serverError)
    assert.isUndefined(PgError.fromExpert(connectionError).serverError)
  })

  it("gives a connection error the client's SQLSTATE: 08001 before a session, 08006 after", () => {
    for (const phase of ["connect", "tls", "auth"] as const) {
      const error = new PgConnectionError({ phase, mayHaveReachedServer: false, message: "refused" })
      assert.strictEqual(error.code, "08001", phase)
      assert.strictEqual(PgError.fromExpert(error).code, "08001", phase)
      assert.include(
        PgError.fromExpert(error).message,
        "(SQLSTATE 08001 sqlclient_unable_to_establish_sqlconnection)"
      )
    }
    assert.strictEqual(connectionError.code, "08006")
  })

  it("reports 08003 for a later call, not the SQLSTATE of the failure that ended the connection", () => {
    const fatal = PgServerError.fromFields({ S: "FATAL", C: "57P01", M: "terminating connection" })
    assert.strictEqual(PgError.fromExpert(fatal).code, "57P01")
    const later = PgError.fromExpert(PgClosedError.previouslyFailed(fatal))
    assert.strictEqual(later.code, Sqlstate.CONNECTION_DOES_NOT_EXIST)
    assert.strictEqual(later.isServerError, false)
  })
})

describe("toNormal and toNormalStream", () => {
  it.effect("toNormal maps the Expert error of an Effect, data-first and pipeable", () =>
    Effect.gen(function* () {
      const expert: Effect.Effect<number, PgExpertError> = Effect.fail(syntaxError)
      const dataFirst = yield* Effect.flip(toNormal(expert, { sql: "SELECT * FORM t" }))
      assert.instanceOf(dataFirst, PgError)
      assert.strictEqual(dataFirst.cause, syntaxError)
      assert.include(dataFirst.message, "LINE 1: SELECT * FORM t")
      const piped = yield* Effect.flip(expert.pipe(toNormal()))
      assert.strictEqual(piped.cause, syntaxError)
      assert.notInclude(piped.message, "SQL:")
      assert.strictEqual(yield* toNormal(Effect.succeed(7)), 7)
    })
  )

  it.effect("toNormalStream maps the error of a Stream after the elements it emitted", () =>
    Effect.gen(function* () {
      const expert: Stream.Stream<number, PgExpertError> = Stream.concat(
        Stream.fromIterable([1, 2]),
        Stream.fail(connectionError)
      )
      const seen: Array<number> = []
      const error = yield* Effect.flip(
        expert.pipe(
          toNormalStream({ sql: "SELECT n FROM t" }),
          Stream.runForEach((n) => Effect.sync(() => seen.push(n)))
        )
      )
      assert.deepStrictEqual(seen, [1, 2])
      assert.instanceOf(error, PgError)
      assert.strictEqual(error.cause, connectionError)
      assert.include(error.message, "SQL: SELECT n FROM t")
      const dataFirst = yield* Effect.flip(Stream.runCollect(toNormalStream(Stream.fail(closed))))
      assert.strictEqual(dataFirst.code, "08003")
      assert.deepStrictEqual(yield* Stream.runCollect(toNormalStream(Stream.make(1, 2))), [1, 2])
    })
  )

  it.effect("a PgError is yieldable and branches with catchIf on its SQLSTATE", () =>
    Effect.gen(function* () {
      const program = Effect.gen(function* () {
        yield* PgError.fromExpert(uniqueViolation)
        return "inserted"
      })
      const result = yield* program.pipe(
        Effect.catchIf(
          (e) => e.code === Sqlstate.UNIQUE_VIOLATION,
          (e) => Effect.succeed(`exists (${e.serverError?.constraint})`)
        )
      )
      assert.strictEqual(result, "exists (users_pkey)")
      const other = yield* Effect.flip(
        program.pipe(
          Effect.catchIf(
            (e) => e.code === Sqlstate.SERIALIZATION_FAILURE,
            () => Effect.succeed("retried")
          )
        )
      )
      assert.strictEqual(other.code, "23505")
    })
  )
})
