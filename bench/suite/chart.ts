/**
 * The report's chart as a self-made SVG: for each workload, one horizontal bar per client showing
 * its median throughput as a ratio to the fastest JS peer (1.0 = as fast as the fastest peer),
 * with a dashed line at 1.0 and the value printed at the end of each bar. The axis stops at 2.5×:
 * a longer bar (the C reference pipelines far faster) is cut there, drawn with a jagged end, and
 * still labelled with its real value.
 *
 * Does NOT: depend on any package, or draw clients without a number (they are in the table).
 * Invariants: the output is a standalone SVG document; all text is XML-escaped.
 */
import { clients } from "./clients/index.ts"
import { ratio, type WorkloadSummary } from "./stats.ts"
import { workloadInfo } from "./workloads.ts"

const palette: Readonly<Record<string, string>> = {
  "effect-pg": "#d9480f",
  "effect-pg-rr": "#ffa94d",
  pg: "#1c7ed6",
  "pg-text": "#74c0fc",
  postgres: "#2b8a3e",
  "effect-pg-sql": "#2f9e44",
  "sql-pg": "#7048e8",
  "sql-pg-mux": "#b197fc",
  libpq: "#495057"
}

const escapeXml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

export const renderChart = (summaries: ReadonlyArray<WorkloadSummary>): string => {
  const left = 150
  const width = 900
  const plotWidth = width - left - 130
  const bar = 13
  const groupGap = 16
  const perRow = 3
  const legendHeight = 22 * Math.ceil(clients.length / perRow) + 34
  const groups = summaries.map((w) => ({
    w,
    bars: clients.flatMap((c) => {
      const r = ratio(w.byClient.get(c.id), w)
      return r === undefined ? [] : [{ id: c.id, label: c.label, r }]
    })
  }))
  const cap = 2.5
  const maxRatio = Math.min(cap, Math.max(1.5, ...groups.flatMap((g) => g.bars.map((b) => b.r))))
  const scale = plotWidth / maxRatio
  const height =
    legendHeight + groups.reduce((h, g) => h + Math.max(1, g.bars.length) * bar + groupGap, 0) + 30
  const out: Array<string> = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${left}" y="16" font-size="13" font-weight="bold">Median throughput ÷ fastest JS peer (higher is better)</text>`
  )
  clients.forEach((c, i) => {
    const x = left + (i % perRow) * 240
    const y = 30 + Math.floor(i / perRow) * 22
    out.push(
      `<rect x="${x}" y="${y}" width="12" height="12" fill="${palette[c.id] ?? "#868e96"}"/>`,
      `<text x="${x + 17}" y="${y + 10}">${escapeXml(c.label)}</text>`
    )
  })
  let y = legendHeight
  const top = y
  for (const g of groups) {
    const groupHeight = Math.max(1, g.bars.length) * bar
    out.push(
      `<text x="${left - 8}" y="${y + groupHeight / 2 + 4}" text-anchor="end" font-weight="bold">${escapeXml(workloadInfo(g.w.workload).title)}</text>`
    )
    if (g.bars.length === 0)
      out.push(`<text x="${left + 4}" y="${y + 10}" fill="#868e96">no JS peer ran this workload</text>`)
    g.bars.forEach((b, i) => {
      const by = y + i * bar
      const cut = b.r > maxRatio
      const w = Math.max(1, Math.min(b.r, maxRatio) * scale)
      const fill = palette[b.id] ?? "#868e96"
      out.push(
        `<rect x="${left}" y="${by + 1}" width="${w.toFixed(1)}" height="${bar - 2}" fill="${fill}"><title>${escapeXml(`${b.label}: ${b.r.toFixed(2)}×`)}</title></rect>`,
        `<text x="${(left + w + (cut ? 12 : 4)).toFixed(1)}" y="${by + bar - 3}">${b.r.toFixed(2)}×${cut ? " (axis cut)" : ""}</text>`
      )
      if (cut) {
        const x = left + w
        out.push(
          `<polygon points="${x},${by + 1} ${x + 6},${by + 1 + (bar - 2) / 4} ${x},${by + 1 + (bar - 2) / 2} ${x + 6},${by + 1 + (3 * (bar - 2)) / 4} ${x},${by + bar - 1}" fill="${fill}"/>`
        )
      }
    })
    y += groupHeight + groupGap
  }
  const one = left + scale
  out.push(
    `<line x1="${left}" y1="${top - 4}" x2="${left}" y2="${y}" stroke="#212529"/>`,
    `<line x1="${one.toFixed(1)}" y1="${top - 4}" x2="${one.toFixed(1)}" y2="${y}" stroke="#212529" stroke-dasharray="4 3"/>`,
    `<text x="${one.toFixed(1)}" y="${y + 14}" text-anchor="middle">1.0× (fastest JS peer)</text>`,
    `<text x="${left}" y="${y + 14}" text-anchor="end">0 </text>`,
    "</svg>"
  )
  return `${out.join("\n")}\n`
}
