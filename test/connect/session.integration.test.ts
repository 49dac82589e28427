/**
 * A session's life on a real PostgreSQL 18 (log_disconnections on): the graceful close (Terminate,
 * statuses, 08003 afterwards, and a server log that tells Terminate from a dropped socket), startup
 * parameters, a startup error that is not about authentication, multi-host order with a refused
 * and a silent host, and target_session_attrs.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Stream } from "effect"
import type { TargetSessionAttrs } from "../../src/config/ConnectConfig.ts"
import { connect, withConnection } from "../../src/Expert.ts"
import { PgTestServer } from "../../src/testing/index.ts"
import {
  backendLog,
  bounded,
  closedPort,
  connectRecorded,
  listenerInput,
  local,
  silentListener,
  tcp
} from "./support.ts"

const TERMINATE = [0x58, 0, 0, 0, 4]

const closeUser = { user: "close_user", password: "close_pass" }

layer(PgTestServer.layer({ version: 18, env: {}, tls: false, settings: { log_disconnections: true } }), {
  excludeTestServices: true
})("a PG18 server", (it) => {
  /**
   * close_user: sessions log at DEBUG1, where PostgreSQL reports an EOF without Terminate.
   * ro_user: sessions are read-only (default_transaction_read_only, reported at startup).
   */
  const setup = Effect.gen(function* () {
    const pg = local(yield* PgTestServer.PgTestServer)
    yield* withConnection(tcp(pg, { user: "postgres" }), (admin) =>
      admin.simpleQuery(
        "drop role if exists close_user; " +
          "create role close_user login password 'close_pass'; " +
          "alter role close_user set log_min_messages = 'debug1'; " +
          "drop role if exists ro_user; " +
          "create role ro_user login password 'ro_pass'; " +
          "alter role ro_user set default_transaction_read_only = on"
      )
    )
    return pg
  })

  it.effect("close sends Terminate: Closing, then ClosedGracefully; later calls fail with 08003", () =>
    Effect.gen(function* () {
      const pg = yield* setup
      const { connection, writes } = yield* connectRecorded(tcp(pg, closeUser))
      assert.strictEqual((yield* connection.status)._tag, "Open")
      const closing = yield* Effect.forkChild(connection.close, { startImmediately: true })
      // The socket cannot be gone yet: close only wrote Terminate.
      assert.strictEqual((yield* connection.status)._tag, "Closing")
      yield* bounded("close", 10, Fiber.join(closing))
      yield* bounded("closeFinished", 10, connection.closeFinished)
      assert.strictEqual((yield* connection.status)._tag, "ClosedGracefully")
      assert.deepStrictEqual(Array.from(writes[writes.length - 1] ?? []), TERMINATE)

      const later = yield* Effect.flip(connection.query("select 1"))
      assert.strictEqual(later._tag, "PgClosedError")
      if (later._tag === "PgClosedError") assert.strictEqual(later.code, "08003")
      // close is idempotent.
      yield* bounded("second close", 10, connection.close)

      const log = yield* backendLog(pg, connection.processId, (lines) => lines.includes("disconnection:"))
      assert.include(log, "user=close_user")
      assert.notInclude(log, "unexpected EOF")
    })
  )

  // Regression: statusChanges once read the current status before subscribing, and lost "Closing".
  it.effect("statusChanges sees every change after its first element", () =>
    Effect.gen(function* () {
      const pg = yield* setup
      const connection = yield* connect(tcp(pg, closeUser))
      const statuses = yield* connection.statusChanges.pipe(
        // Close as soon as the first element arrives: the worst case for a late subscription.
        Stream.tap((status) =>
          status._tag === "Open"
            ? Effect.forkChild(connection.close, { startImmediately: true })
            : Effect.void
        ),
        Stream.takeUntil((status) => status._tag === "ClosedGracefully" || status._tag === "Failed"),
        Stream.map((status) => status._tag),
        Stream.runCollect,
        (collect) => bounded("status changes", 10, collect)
      )
      assert.deepStrictEqual(statuses, ["Open", "Closing", "ClosedGracefully"])
    })
  )

  it.effect("closing the scope closes gracefully too", () =>
    Effect.gen(function* () {
      const pg = yield* setup
      const pid = yield* withConnection(tcp(pg, closeUser), (connection) =>
        Effect.succeed(connection.processId)
      )
      const log = yield* backendLog(pg, pid, (lines) => lines.includes("disconnection:"))
      assert.notInclude(log, "unexpected EOF")
    })
  )

  it.effect("the log check can tell: a socket dropped without Terminate shows as an unexpected EOF", () =>
    Effect.gen(function* () {
      const pg = yield* setup
      const { connection, transport } = yield* connectRecorded(tcp(pg, closeUser))
      transport.destroy()
      const log = yield* backendLog(pg, connection.processId, (lines) => lines.includes("disconnection:"))
      assert.include(log, "unexpected EOF on client connection")
    })
  )

  it.effect("startup parameters reach the server: application_name, options, params", () =>
    Effect.gen(function* () {
      const pg = yield* setup
      const connection = yield* connect(
        tcp(
          pg,
          { user: "postgres" },
          {
            applicationName: "effect-pg connect test",
            options: "-c search_path=pg_catalog -c work_mem=1234kB",
            params: { DateStyle: "ISO, YMD" }
          }
        )
      )
      const result = yield* connection.query(
        "select current_setting('application_name'), current_setting('search_path'), " +
          "current_setting('work_mem'), current_setting('DateStyle')"
      )
      assert.deepStrictEqual(result.rows, [
        {
          current_setting: "effect-pg connect test",
          current_setting_2: "pg_catalog",
          current_setting_3: "1234kB",
          current_setting_4: "ISO, YMD"
        }
      ])
      assert.strictEqual(yield* connection.parameter("application_name"), "effect-pg connect test")
    })
  )

  it.effect("a database that does not exist: the server's error (3D000), not an auth error", () =>
    Effect.gen(function* () {
      const pg = yield* setup
      const error = yield* Effect.flip(connect(tcp(pg, { user: "postgres" }, { database: "no_such_db" })))
      assert.strictEqual(error._tag, "PgServerError")
      if (error._tag === "PgServerError") assert.strictEqual(error.code, "3D000")
    })
  )

  it.effect("hosts are tried in order: a refused and a silent host are skipped", () =>
    Effect.gen(function* () {
      const pg = yield* setup
      const refused = yield* closedPort
      const silent = yield* silentListener()
      const connection = yield* bounded(
        "multi-host connect",
        20,
        connect({
          hosts: [
            { host: "127.0.0.1", port: refused },
            { host: "127.0.0.1", port: silent.port },
            { host: "127.0.0.1", port: pg.port }
          ],
          database: "postgres",
          user: "postgres",
          sslmode: "disable",
          connectTimeout: Duration.seconds(1)
        })
      )
      const result = yield* connection.query("select inet_server_port()")
      assert.deepStrictEqual(result.rows, [{ inet_server_port: pg.port }])
      const accepted = yield* Deferred.await(silent.first)
      yield* bounded("silent host's socket closed", 10, Deferred.await(accepted.closed))
    })
  )

  it.effect("when every host fails, the error reports each of them", () =>
    Effect.gen(function* () {
      const refused = yield* closedPort
      const silent = yield* silentListener()
      const error = yield* bounded(
        "multi-host failure",
        20,
        Effect.flip(
          connect({
            ...listenerInput(refused),
            hosts: [
              { host: "127.0.0.1", port: refused },
              { host: "127.0.0.1", port: silent.port }
            ],
            host: undefined,
            port: undefined,
            connectTimeout: Duration.seconds(1)
          })
        )
      )
      assert.strictEqual(error._tag, "PgConnectionError")
      assert.include(error.message, `127.0.0.1:${refused}`)
      assert.include(error.message, "ECONNREFUSED")
      assert.include(error.message, `127.0.0.1:${silent.port} timed out`)
    })
  )

  it.effect("target_session_attrs is checked against what the server reports", () =>
    Effect.gen(function* () {
      const pg = yield* setup
      const readOnlyRole = { user: "ro_user", password: "ro_pass" }
      const cases: ReadonlyArray<readonly [{ user: string; password: string }, TargetSessionAttrs, boolean]> =
        [
          [closeUser, "any", true],
          [closeUser, "read-write", true],
          [closeUser, "primary", true],
          [closeUser, "prefer-standby", true],
          [closeUser, "read-only", false],
          [closeUser, "standby", false],
          [readOnlyRole, "read-only", true],
          [readOnlyRole, "read-write", false],
          [readOnlyRole, "primary", true]
        ]
      for (const [role, targetSessionAttrs, accepted] of cases) {
        const what = `${role.user} with ${targetSessionAttrs}`
        const exit = yield* Effect.exit(Effect.scoped(connect(tcp(pg, role, { targetSessionAttrs }))))
        assert.strictEqual(Exit.isSuccess(exit), accepted, what)
        if (Exit.isFailure(exit)) {
          const error = yield* Effect.flip(exit)
          assert.strictEqual(error._tag, "PgConnectionError", what)
          assert.include(error.message, "target_session_attrs", what)
        }
      }
    })
  )
})
