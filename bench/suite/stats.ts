/**
 * Statistics over the collected samples: median, min and max throughput per client and workload,
 * and each client's ratio to the fastest JS peer (the fastest median among the "js" clients).
 *
 * Does: pure arithmetic. Does NOT: format.
 * Invariants: throughput is count / seconds of each run; the median of an even number of runs is
 * the mean of the two middle values; a ratio above 1 means faster than the fastest JS peer.
 */
import { clients } from "./clients/index.ts"
import type { Cell, Results } from "./harness.ts"
import type { WorkloadName } from "./types.ts"

export interface Summary {
  readonly runs: number
  readonly median: number
  readonly min: number
  readonly max: number
  /** Median MB/s when the samples carry bytes. */
  readonly mbPerSecond?: number
  /** Median and max of the peak RSS over runs, MB. */
  readonly rssMedian?: number
  readonly rssMax?: number
  /** Median client CPU time per operation, microseconds. */
  readonly cpuMicros?: number
  /** Median RSS right after the client library was loaded, MB. */
  readonly rssLoaded?: number
}

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export const summarize = (cell: Cell): Summary | undefined => {
  if (cell.samples.length === 0) return undefined
  const rates = cell.samples.map((s) => s.count / s.seconds)
  const rss = cell.samples.flatMap((s) => (s.peakRssMb === undefined ? [] : [s.peakRssMb]))
  const cpu = cell.samples.flatMap((s) =>
    s.cpuSeconds === undefined ? [] : [(s.cpuSeconds * 1e6) / s.count]
  )
  const loaded = cell.samples.flatMap((s) => (s.loadedRssMb === undefined ? [] : [s.loadedRssMb]))
  const mb = cell.samples.flatMap((s) => (s.bytes === undefined ? [] : [s.bytes / 1e6 / s.seconds]))
  return {
    runs: rates.length,
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    ...(mb.length > 0 ? { mbPerSecond: median(mb) } : {}),
    ...(rss.length > 0 ? { rssMedian: median(rss), rssMax: Math.max(...rss) } : {}),
    ...(cpu.length > 0 ? { cpuMicros: median(cpu) } : {}),
    ...(loaded.length > 0 ? { rssLoaded: median(loaded) } : {})
  }
}

export interface WorkloadSummary {
  readonly workload: WorkloadName
  readonly byClient: ReadonlyMap<string, Summary | undefined>
  /** The fastest JS peer's id and median, when any JS peer ran. */
  readonly fastestPeer: { readonly id: string; readonly median: number } | undefined
}

export const summarizeAll = (results: Results): Array<WorkloadSummary> =>
  [...results].map(([workload, row]) => {
    const byClient = new Map([...row].map(([id, cell]) => [id, summarize(cell)] as const))
    let fastestPeer: WorkloadSummary["fastestPeer"]
    for (const client of clients) {
      const s = byClient.get(client.id)
      if (client.kind !== "js" || s === undefined) continue
      if (fastestPeer === undefined || s.median > fastestPeer.median)
        fastestPeer = { id: client.id, median: s.median }
    }
    return { workload, byClient, fastestPeer }
  })

export const ratio = (summary: Summary | undefined, w: WorkloadSummary): number | undefined =>
  summary === undefined || w.fastestPeer === undefined ? undefined : summary.median / w.fastestPeer.median
