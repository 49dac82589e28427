import { spawn } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createConnection } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { resolveBinaries } from "../../src/testing/Binaries.ts"
import {
  launchPostgres,
  makeClusterDir,
  runTool,
  StartFailure,
  spawnInitdb,
  waitReady,
  writeDataFile
} from "../../src/testing/Cluster.ts"
import { postgresqlConf } from "../../src/testing/ClusterConfig.ts"
import { start } from "../../src/testing/PgTestServer.ts"
import { resolveRunAs } from "../../src/testing/Process.ts"

/** Processes whose parent is this process, with their command lines ("" for zombies). */
const children = (): Array<{ readonly pid: number; readonly cmd: string }> => {
  const found: Array<{ pid: number; cmd: string }> = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8")
      if (/^PPid:\s+(\d+)/m.exec(status)?.[1] !== String(process.pid)) continue
      if (/^State:\s+Z/m.test(status)) continue
      found.push({
        pid: Number(entry),
        cmd: readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ")
      })
    } catch {
      // exited while scanning
    }
  }
  return found
}

const harnessChildren = () => children().filter((c) => /initdb|postgres|setpriv/.test(c.cmd))

/** Alive = exists and is not a zombie (a zombie has exited; only reaping by its parent is pending). */
const alive = (pid: number): boolean => {
  try {
    return !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))
  } catch {
    return false
  }
}

const refuses = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })

const freshTmp = () => {
  const dir = mkdtempSync(join(tmpdir(), "pgt-life-"))
  chmodSync(dir, 0o755) // the server's user must be able to reach the cluster below it
  return dir
}

const until = async (check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return false
}

/** After cleanup: nothing left in the dedicated tmp dir, no harness process, the postmaster gone. */
const assertClean = (tmp: string, postmaster?: { readonly pid: number; readonly port: number }) =>
  Effect.promise(async () => {
    assert.deepStrictEqual(readdirSync(tmp), [], "cluster directory removed")
    assert.deepStrictEqual(harnessChildren(), [], "no initdb/postgres child left")
    if (postmaster !== undefined) {
      assert.isFalse(alive(postmaster.pid), "postmaster gone")
      assert.isTrue(await refuses(postmaster.port), "port closed")
    }
    rmSync(tmp, { recursive: true, force: true })
  })

describe("cleanup", () => {
  it.live("closing the scope stops the server and removes its files", () =>
    Effect.gen(function* () {
      const tmp = freshTmp()
      const seen = yield* Effect.scoped(
        Effect.gen(function* () {
          const pg = yield* start({ env: {}, tls: false, tmpDir: tmp })
          if (pg.source !== "local") throw new Error("local expected")
          const pid = yield* pg.pid
          assert.isTrue(alive(pid))
          assert.isTrue(existsSync(pg.dataDir))
          return { pid, port: pg.port }
        })
      )
      yield* assertClean(tmp, seen)
    })
  )

  it.live("a failure inside the scope stops the server", () =>
    Effect.gen(function* () {
      const tmp = freshTmp()
      let seen: { pid: number; port: number } | undefined
      const error = yield* Effect.flip(
        Effect.scoped(
          Effect.gen(function* () {
            const pg = yield* start({ env: {}, tls: false, tmpDir: tmp })
            if (pg.source !== "local") throw new Error("local expected")
            seen = { pid: yield* pg.pid, port: pg.port }
            return yield* Effect.fail("boom" as const)
          })
        )
      )
      assert.strictEqual(error, "boom")
      yield* assertClean(tmp, seen)
    })
  )

  it.live.skipIf(process.getuid?.() !== 0)(
    "as root, a temp dir the server user cannot reach is a clear error",
    () =>
      Effect.gen(function* () {
        const tmp = mkdtempSync(join(tmpdir(), "pgt-life-"))
        const error = yield* Effect.flip(Effect.scoped(start({ env: {}, tls: false, tmpDir: tmp })))
        assert.strictEqual(error.reason, "Filesystem")
        assert.include(error.message, "is not searchable by the user")
        yield* assertClean(tmp)
      })
  )

  it.live("a tmpDir too long for a unix socket path is rejected before anything is created", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.scoped(start({ env: {}, tmpDir: `/tmp/${"x".repeat(90)}` })))
      assert.strictEqual(error.reason, "InvalidOptions")
      assert.include(error.message, "max 107")
    })
  )

  it.live("a server that fails to start leaves nothing behind, and the error carries its log", () =>
    Effect.gen(function* () {
      const tmp = freshTmp()
      const error = yield* Effect.flip(
        Effect.scoped(start({ env: {}, tls: false, tmpDir: tmp, settings: { shared_buffers: "bogus" } }))
      )
      assert.strictEqual(error._tag, "PgTestServerError")
      assert.strictEqual(error.reason, "Start")
      assert.include(error.message, "shared_buffers")
      yield* assertClean(tmp)
    })
  )

  const stages: ReadonlyArray<readonly [string, RegExp]> = [
    ["initdb", /initdb/],
    ["single-user setup", /--single/],
    ["postmaster starting", /postgres -D \S+ -p \d+/]
  ]
  for (const [stage, pattern] of stages) {
    it.live(`interrupting the start during ${stage} stops everything`, () =>
      Effect.gen(function* () {
        const tmp = freshTmp()
        const fiber = yield* Effect.forkChild(
          Effect.scoped(Effect.andThen(start({ env: {}, tls: false, tmpDir: tmp }), Effect.never))
        )
        const reached = yield* Effect.promise(() =>
          until(() => harnessChildren().some((c) => pattern.test(c.cmd)), 30_000)
        )
        yield* Fiber.interrupt(fiber)
        assert.isTrue(reached, `stage ${stage} observed`)
        yield* assertClean(tmp)
      })
    )
  }

  it.live("interrupting after the server is ready stops it", () =>
    Effect.gen(function* () {
      const tmp = freshTmp()
      const ready = yield* Deferred.make<{ pid: number; port: number }>()
      const fiber = yield* Effect.forkChild(
        Effect.scoped(
          Effect.gen(function* () {
            const pg = yield* start({ env: {}, tls: false, tmpDir: tmp })
            if (pg.source !== "local") throw new Error("local expected")
            yield* Deferred.succeed(ready, { pid: yield* pg.pid, port: pg.port })
            return yield* Effect.never
          })
        )
      )
      const seen = yield* Deferred.await(ready)
      yield* Fiber.interrupt(fiber)
      yield* assertClean(tmp, seen)
    })
  )
})

describe("port race", () => {
  it.live(
    "a postmaster that loses its port is reported as port-in-use (start then retries another port)",
    () =>
      Effect.gen(function* () {
        const tmp = freshTmp()
        const taken = yield* Effect.scoped(
          Effect.gen(function* () {
            const pg = yield* start({ env: {}, tls: false, tmpDir: tmp })
            const bins = yield* Effect.promise(() => resolveBinaries({ env: {} }))
            const runAs = yield* Effect.promise(() => resolveRunAs("pgtest"))
            const paths = yield* Effect.promise(() => makeClusterDir(tmp, runAs))
            yield* Effect.promise(() => runTool(spawnInitdb(bins, runAs, paths.dataDir), "Initdb", "initdb"))
            const conf = postgresqlConf({ socketDir: paths.socketDir, tls: false, settings: {} })
            yield* Effect.promise(() =>
              writeDataFile(join(paths.dataDir, "postgresql.conf"), conf, runAs, true)
            )
            const launched = launchPostgres(bins, runAs, paths, pg.port)
            const failure = yield* Effect.promise(() =>
              waitReady(
                launched.handle,
                paths.logFile,
                launched.logOffset,
                pg.port,
                30_000,
                new AbortController().signal
              ).then(
                () => undefined,
                (error: unknown) => error
              )
            )
            rmSync(paths.root, { recursive: true, force: true })
            return failure
          })
        )
        assert.instanceOf(taken, StartFailure)
        assert.isTrue((taken as StartFailure).portInUse)
        assert.include((taken as StartFailure).message, "Address already in use")
        yield* assertClean(tmp)
      })
  )
})

describe("when the test process dies", () => {
  const fixture = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "hold-server.ts")

  const runFixture = (mode: "hold" | "exit", tmp: string) =>
    Effect.promise(
      () =>
        new Promise<{
          child: ReturnType<typeof spawn>
          info: { pid: number; port: number; dataDir: string }
        }>((resolve, reject) => {
          const child = spawn(process.execPath, [fixture, mode, tmp], { stdio: ["ignore", "pipe", "pipe"] })
          let out = ""
          let err = ""
          child.stdout.on("data", (chunk: Buffer) => {
            out += chunk.toString()
            const line = out.split("\n")[0]
            if (out.includes("\n") && line !== undefined) resolve({ child, info: JSON.parse(line) })
          })
          child.stderr.on("data", (chunk: Buffer) => {
            err += chunk.toString()
          })
          child.once("exit", (code) => {
            if (!out.includes("\n")) reject(new Error(`fixture exited ${code}: ${err}`))
          })
        })
    )

  it.live(
    "SIGKILL of the test process: the parent-death signal stops the server; the next start sweeps the files",
    () =>
      Effect.gen(function* () {
        const tmp = freshTmp()
        const { child, info } = yield* runFixture("hold", tmp)
        assert.isTrue(alive(info.pid))
        const killedAt = performance.now()
        child.kill("SIGKILL")
        const stopped = yield* Effect.promise(() =>
          until(async () => !alive(info.pid) && (await refuses(info.port)), 10_000)
        )
        const ms = performance.now() - killedAt
        assert.isTrue(stopped, "server stopped after its parent was SIGKILLed")
        console.log(`postmaster gone ${ms.toFixed(0)} ms after SIGKILL of its parent`)
        const stale = dirname(info.dataDir)
        assert.isTrue(existsSync(stale), "SIGKILL leaves the directory")
        yield* Effect.scoped(start({ env: {}, tls: false, tmpDir: tmp }))
        assert.isFalse(existsSync(stale), "stale directory swept by the next start")
        yield* assertClean(tmp)
      })
  )

  it.live(
    "process.exit without closing the scope: the exit hook stops the server and removes the files",
    () =>
      Effect.gen(function* () {
        const tmp = freshTmp()
        const { child, info } = yield* runFixture("exit", tmp)
        yield* Effect.promise(
          () =>
            new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(null)))
        )
        assert.isFalse(alive(info.pid), "postmaster stopped by the exit hook")
        assert.isTrue(yield* Effect.promise(() => refuses(info.port)))
        assert.isFalse(existsSync(dirname(info.dataDir)), "directory removed by the exit hook")
        rmSync(tmp, { recursive: true, force: true })
      })
  )
})
