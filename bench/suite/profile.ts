/**
 * CPU profiles of effect-pg: runs the effect-pg child of a workload under `node --cpu-prof` and
 * summarizes the profile as the functions with the most self time (sampled), with file and line,
 * as a share of the busy (non-idle) samples.
 *
 * Does NOT: profile the peers, or attribute time to callers (self time only).
 * Invariants: the .cpuprofile files are kept in the given directory for closer reading
 * (Chrome DevTools / speedscope); `*.cpuprofile` is git-ignored.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { runChild } from "./harness.ts"
import type { BenchContext, WorkloadName } from "./types.ts"
import { workloadInfo } from "./workloads.ts"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

export interface SelfTime {
  readonly name: string
  readonly where: string
  readonly percent: number
  readonly ms: number
}

const shortUrl = (url: string): string => {
  const at = url.indexOf("/node_modules/")
  if (at !== -1) return url.slice(at + "/node_modules/".length)
  const src = url.indexOf("/src/")
  if (src !== -1) return url.slice(src + 1)
  return url.replace(/^file:\/\//, "").replace(/^node:/, "node:")
}

/** Self time per function (name + location), largest first. */
export const selfTimes = (profile: CpuProfile): Array<SelfTime> => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n] as const))
  const totals = new Map<string, { name: string; where: string; us: number }>()
  let all = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    all += dt
    const frame = byId.get(id)?.callFrame
    const name = frame?.functionName || "(anonymous)"
    const where =
      frame === undefined || frame.url === "" ? "" : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`
    const key = `${name}@${where}`
    const t = totals.get(key) ?? { name, where, us: 0 }
    t.us += dt
    totals.set(key, t)
  })
  const idle = [...totals.values()].filter((t) => t.name === "(idle)").reduce((s, t) => s + t.us, 0)
  const busy = Math.max(1, all - idle)
  return [...totals.values()]
    .filter((t) => t.name !== "(idle)")
    .sort((a, b) => b.us - a.us)
    .map((t) => ({ name: t.name, where: t.where, percent: (100 * t.us) / busy, ms: t.us / 1000 }))
}

/** Runs effect-pg on `workload` with --cpu-prof into `dir` and returns the top self times. */
export const profileWorkload = async (
  workload: WorkloadName,
  ctx: BenchContext,
  dir: string,
  top = 15
): Promise<Array<SelfTime>> => {
  const before = new Set(readdirSync(dir))
  await runChild(workload, "effect-pg", ctx, {
    nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=effect-pg-${workload}.cpuprofile`],
    timeoutSeconds: workloadInfo(workload).timeoutSeconds
  })
  const file = readdirSync(dir).find(
    (f) => f.endsWith(".cpuprofile") && f.includes(workload) && !before.has(f)
  )
  const name = file ?? `effect-pg-${workload}.cpuprofile`
  return selfTimes(JSON.parse(readFileSync(join(dir, name), "utf8")) as CpuProfile).slice(0, top)
}

export const formatSelfTimes = (workload: string, rows: ReadonlyArray<SelfTime>): string =>
  [
    `effect-pg ${workload}: top self time, % of busy (non-idle) samples (whole process, warm-up and connect included)`,
    ...rows.map(
      (r) =>
        `  ${r.percent.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}  ${r.where}`
    )
  ].join("\n")
