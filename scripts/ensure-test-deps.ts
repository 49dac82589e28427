/**
 * `npm test`'s pretest step: makes sure the system tools the integration tests need are there, so
 * the README's test command works on a fresh Debian 12 machine.
 *
 * Needed: `openssl` (run-time TLS certificates of the test clusters), Debian's PostgreSQL 15
 * server and client (`/usr/lib/postgresql/15/bin`, one of the versions the suite runs against, and
 * the psql the config tests compare with; 14/16/17/18 come from npm) and `pgbouncer` (the
 * PgTestBouncer tests). When one is missing and we are root with apt-get, it is installed
 * (`apt-get install postgresql-15 openssl pgbouncer`); otherwise the step fails with the exact
 * command to run.
 * Set `EFFECT_PG_SKIP_DEPS=1` to skip the check.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"

if (process.env.EFFECT_PG_SKIP_DEPS === "1") process.exit(0)

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0
const missing: Array<string> = []
if (!has("openssl")) missing.push("openssl")
if (!existsSync("/usr/lib/postgresql/15/bin/postgres")) missing.push("postgresql-15")
if (!has("pgbouncer") && !existsSync("/usr/sbin/pgbouncer")) missing.push("pgbouncer")
if (missing.length === 0) process.exit(0)

const command = `apt-get install -y --no-install-recommends ${missing.join(" ")}`
if (process.getuid?.() !== 0 || !has("apt-get")) {
  console.error(`effect-pg tests need: ${missing.join(", ")}. Install them with: sudo ${command}`)
  process.exit(1)
}
console.error(`effect-pg: installing what the tests need: ${missing.join(" ")}`)
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env })
execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
  stdio: ["ignore", "inherit", "inherit"],
  env
})
