/**
 * Runs the measurements: for each workload, `runs` rounds of every client in turn (A B C A B C),
 * each measurement in a fresh child process (child.ts) bounded by the workload's time limit.
 *
 * Does: spawn, time-limit (SIGKILL on expiry), collect samples and failures; remember why a
 * client does not run a workload. Does NOT: compute statistics or format (stats.ts, report.ts).
 * Invariants: a client/workload pair ends up with samples, a failure message, or an
 * "unsupported" reason — never nothing.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { clients } from "./clients/index.ts"
import { type BenchContext, isUnsupported, type Sample, type WorkloadName } from "./types.ts"
import { workloadInfo } from "./workloads.ts"

const childPath = fileURLToPath(new URL("./child.ts", import.meta.url))

export interface Cell {
  readonly samples: Array<Sample>
  readonly failures: Array<string>
  /** Set when the client does not run the workload: the text shown instead of a number. */
  readonly unsupported?: string
}

export type Results = Map<WorkloadName, Map<string, Cell>>

export interface ChildOptions {
  readonly nodeArgs?: ReadonlyArray<string>
  readonly timeoutSeconds: number
}

/** Runs one measurement in a child process. */
export const runChild = (
  workload: WorkloadName,
  clientId: string,
  ctx: BenchContext,
  options: ChildOptions
): Promise<Sample> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), childPath, workload, clientId], {
      env: { ...process.env, BENCH_CTX: JSON.stringify(ctx) },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d
    })
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGKILL")
    }, options.timeoutSeconds * 1000)
    child.on("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      if (timedOut) return reject(new Error(`timed out after ${options.timeoutSeconds} s`))
      const line = out.split("\n").find((l) => l.startsWith("RESULT "))
      if (code !== 0 || line === undefined) {
        const first = err.trim().split("\n").slice(0, 6).join(" | ")
        return reject(new Error(`exit ${code}: ${first.slice(0, 400)}`))
      }
      resolve(JSON.parse(line.slice("RESULT ".length)) as Sample)
    })
  })

export interface Plan {
  readonly workloads: ReadonlyArray<WorkloadName>
  readonly runs: number
  readonly ctx: BenchContext
  readonly log: (line: string) => void
}

const missingTool = (ctx: BenchContext, clientId: string, workload: WorkloadName): string | undefined => {
  if (clientId !== "libpq") return undefined
  if (workload === "copy") return ctx.psql === undefined ? "n/a (not installed)" : undefined
  return ctx.pgbench === undefined ? "n/a (not installed)" : undefined
}

export const runAll = async (plan: Plan): Promise<Results> => {
  const results: Results = new Map()
  for (const workload of plan.workloads) {
    const info = workloadInfo(workload)
    const row = new Map<string, Cell>()
    results.set(workload, row)
    const active: Array<string> = []
    for (const client of clients) {
      const entry = client.workloads[workload]
      const reason = isUnsupported(entry) ? entry.unsupported : missingTool(plan.ctx, client.id, workload)
      const noScram =
        workload === "connect-scram" && plan.ctx.scramUrl === undefined
          ? "not run (no scram role: set PG_SCRAM_URL)"
          : undefined
      const why = reason ?? noScram
      row.set(
        client.id,
        why === undefined ? { samples: [], failures: [] } : { samples: [], failures: [], unsupported: why }
      )
      if (why === undefined) active.push(client.id)
    }
    for (let run = 1; run <= plan.runs; run++) {
      for (const clientId of active) {
        const cell = row.get(clientId)!
        const started = performance.now()
        try {
          const sample = await runChild(workload, clientId, plan.ctx, { timeoutSeconds: info.timeoutSeconds })
          cell.samples.push(sample)
          const rate = Math.round(sample.count / sample.seconds).toLocaleString("en-US")
          const rss = sample.peakRssMb === undefined ? "" : `, peak RSS ${Math.round(sample.peakRssMb)} MB`
          plan.log(`  ${workload} run ${run}/${plan.runs} ${clientId}: ${rate} ${info.unit}${rss}`)
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e)
          cell.failures.push(message)
          const took = ((performance.now() - started) / 1000).toFixed(1)
          plan.log(`  ${workload} run ${run}/${plan.runs} ${clientId}: FAILED after ${took} s: ${message}`)
        }
      }
    }
  }
  return results
}
