/**
 * `target_session_attrs` and `load_balance_hosts` against a real PG18 primary and its streaming
 * standby, for single connections and for the Pool, each case also given to libpq (Debian's psql,
 * libpq 15; libpq 18 from the npm package for load_balance_hosts, which libpq 15 lacks).
 *
 * The primary is writable for `postgres` and read-only for `ro_user` (its sessions default to
 * read-only, reported as `default_transaction_read_only=on`): libpq counts that server as
 * read-only, but still as a primary. Every combination of host order, user and the six values
 * must land on the same server as libpq, or fail where libpq fails, with libpq's reason.
 */
import { execFile } from "node:child_process"
import { assert, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { type TargetSessionAttrs, targetSessionAttrsValues } from "../../src/config/ConnectConfig.ts"
import { connect } from "../../src/Expert.ts"
import * as Pool from "../../src/Pool.ts"
import { PgTestReplication } from "../../src/testing/index.ts"

const psqlBin = "/usr/lib/postgresql/15/bin/psql"
const libpq18 = new URL("../../node_modules/pg-bin-18/native/lib", import.meta.url).pathname
const values = targetSessionAttrsValues

/** libpq's answer: the port it connected to, or its last reason ("session is read-only"...). */
const psql = (conninfo: string, extraEnv: Record<string, string> = {}) =>
  Effect.promise(
    () =>
      new Promise<string>((resolve) => {
        execFile(
          psqlBin,
          ["-X", "-w", "-At", "-c", "select inet_server_port()", conninfo],
          {
            env: { PATH: process.env.PATH, LC_ALL: "C", HOME: "/nonexistent", ...extraEnv },
            timeout: 20_000
          },
          (error, stdout, stderr) =>
            resolve(
              error === null
                ? String(stdout).trim()
                : (/failed: (.*)$/m.exec(String(stderr))?.[1] ?? String(stderr))
            )
        )
      })
  )

/** effect-pg's answer in the same form. */
const ours = (conninfo: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const connection = yield* connect(conninfo)
      return String((yield* connection.query("select inet_server_port()")).rows[0]?.inet_server_port ?? "")
    })
  ).pipe(
    Effect.catch((error) =>
      Effect.succeed(/: ([^:]*) \(target_session_attrs=/.exec(error.message)?.[1] ?? error.message)
    )
  )

layer(
  PgTestReplication.layer({
    version: 18,
    tls: false,
    env: {},
    hba: ["local all ro_user trust", "host all ro_user 127.0.0.1/32 trust"]
  }),
  { timeout: 120_000, excludeTestServices: true }
)("target_session_attrs on a primary and a standby", (it) => {
  const setup = Effect.gen(function* () {
    const rep = yield* PgTestReplication.PgTestReplication
    yield* Effect.scoped(
      Effect.flatMap(connect(`${rep.primary.url}?sslmode=disable`), (c) =>
        c.simpleQuery(
          "drop role if exists ro_user; create role ro_user login; " +
            "alter role ro_user set default_transaction_read_only = on"
        )
      )
    )
    yield* rep.standby.caughtUp
    const P = String(rep.primary.port)
    const S = String(rep.standby.port)
    const conninfo = (ports: ReadonlyArray<string>, user: string, extra: string) =>
      `host=${ports.map(() => "127.0.0.1").join(",")} port=${ports.join(",")} user=${user} dbname=postgres ` +
      `sslmode=disable ${extra}`
    return { rep, P, S, conninfo }
  })

  it.effect("single connections land where libpq lands, for every value, host order and user", () =>
    Effect.gen(function* () {
      const { P, S, conninfo } = yield* setup
      // libpq's documentation as a model: a standby is read-only; the primary is read-only for ro_user.
      const reason = (port: string, user: string, value: TargetSessionAttrs): string | undefined => {
        const standby = port === S
        const readOnly = standby || user === "ro_user"
        if (value === "read-write") return readOnly ? "session is read-only" : undefined
        if (value === "read-only") return readOnly ? undefined : "session is not read-only"
        if (value === "primary") return standby ? "server is in hot standby mode" : undefined
        if (value === "standby" || value === "prefer-standby")
          return standby ? undefined : "server is not in hot standby mode"
        return undefined
      }
      const expected = (order: ReadonlyArray<string>, user: string, value: TargetSessionAttrs): string => {
        const fit = order.find((port) => reason(port, user, value) === undefined)
        if (fit !== undefined) return fit
        return value === "prefer-standby" ? order[0]! : reason(order[order.length - 1]!, user, value)!
      }
      let checked = 0
      for (const order of [[P, S], [S, P], [P], [S]]) {
        for (const user of ["postgres", "ro_user"]) {
          for (const value of values) {
            const info = conninfo(order, user, `target_session_attrs=${value}`)
            const want = expected(order, user, value)
            const what = `${user} on [${order.map((p) => (p === P ? "primary" : "standby")).join(", ")}] with ${value}`
            assert.strictEqual(yield* psql(info), want, `libpq: ${what}`)
            assert.strictEqual(yield* ours(info), want, `effect-pg: ${what}`)
            checked++
          }
        }
      }
      assert.strictEqual(checked, 48)
    })
  )

  it.effect("a rejected server gets libpq's reason, every host is named when all are rejected", () =>
    Effect.gen(function* () {
      const { P, S, conninfo } = yield* setup
      const exit = yield* Effect.exit(
        Effect.scoped(connect(conninfo([P, S], "ro_user", "target_session_attrs=read-write")))
      )
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(exit)
      assert.strictEqual(error._tag, "PgConnectionError")
      assert.include(
        error.message,
        `server at 127.0.0.1:${P}: session is read-only (target_session_attrs=read-write)`
      )
      assert.include(
        error.message,
        `server at 127.0.0.1:${S}: session is read-only (target_session_attrs=read-write)`
      )
    })
  )

  it.effect("every connection of a Pool goes where the value says", () =>
    Effect.gen(function* () {
      const { P, S, conninfo } = yield* setup
      for (const [value, want] of [
        ["read-write", P],
        ["primary", P],
        ["read-only", S],
        ["standby", S],
        ["prefer-standby", S],
        ["any", S]
      ] as const) {
        const ports = yield* Effect.scoped(
          Effect.gen(function* () {
            const { expert } = yield* Pool.make({
              connect: conninfo([S, P], "postgres", `target_session_attrs=${value}`),
              max: 4
            })
            // Four borrowers at once: four connections, each opened through the host list.
            return yield* Effect.all(
              Array.from({ length: 4 }, () =>
                expert.withConnection((c) =>
                  Effect.map(
                    Effect.andThen(
                      c.query("select pg_sleep(0.05)"),
                      c.query("select inet_server_port(), pg_backend_pid()")
                    ),
                    (r) => r.rows[0] ?? {}
                  )
                )
              ),
              { concurrency: 4 }
            )
          })
        )
        assert.strictEqual(
          new Set(ports.map((row) => row.pg_backend_pid)).size,
          4,
          `${value}: four connections`
        )
        assert.deepStrictEqual(
          [...new Set(ports.map((row) => row.inet_server_port))],
          [Number(want)],
          `pool with ${value}`
        )
      }
      // No server fits: the pool's statements fail with the connect error.
      const failed = yield* Effect.scoped(
        Effect.gen(function* () {
          const { expert } = yield* Pool.make({
            connect: conninfo([S], "postgres", "target_session_attrs=primary"),
            max: 2
          })
          return yield* Effect.flip(expert.query("select 1"))
        })
      )
      assert.include(failed.message, "server is in hot standby mode")
    })
  )

  it.effect("load_balance_hosts=random spreads connections over the hosts; disable keeps the order", () =>
    Effect.gen(function* () {
      const { P, S, conninfo } = yield* setup
      const tally = (info: string, n: number) =>
        Effect.gen(function* () {
          const counts = new Map<string, number>()
          for (let i = 0; i < n; i++) {
            const port = yield* ours(info)
            counts.set(port, (counts.get(port) ?? 0) + 1)
          }
          return counts
        })
      const n = 100
      const random = yield* tally(conninfo([P, S], "postgres", "load_balance_hosts=random"), n)
      // Binomial(100, 1/2): 25..75 is 5 standard deviations each side (a false failure: ~6e-7).
      assert.deepStrictEqual([...random.keys()].sort(), [P, S].sort())
      for (const port of [P, S]) {
        const count = random.get(port) ?? 0
        assert.isTrue(count >= 25 && count <= 75, `${count} of ${n} on ${port}`)
      }
      assert.deepStrictEqual(
        [...(yield* tally(conninfo([P, S], "postgres", "load_balance_hosts=disable"), 20))],
        [[P, 20]]
      )
      // Targeting still applies to the shuffled list.
      assert.deepStrictEqual(
        [
          ...(yield* tally(
            conninfo([P, S], "postgres", "load_balance_hosts=random target_session_attrs=standby"),
            20
          ))
        ],
        [[S, 20]]
      )
      // libpq 18 (npm build, psql 15 on top) spreads too: 30 tries reach both hosts (chance it would not: 2^-29).
      const seen = new Set<string>()
      for (let i = 0; i < 30; i++) {
        seen.add(
          yield* psql(conninfo([P, S], "postgres", "load_balance_hosts=random"), { LD_LIBRARY_PATH: libpq18 })
        )
      }
      assert.deepStrictEqual([...seen].sort(), [P, S].sort())
    })
  )
})
