/**
 * postgres.js (`postgres` 3) in the peer benchmark, used as its README shows: tagged templates
 * (prepared statements by default, type parsers on, object rows), `max: 1` for one connection
 * (it pipelines concurrent queries on it) and `max: 8` for the pool, `.cursor(n)` for streaming
 * with backpressure and `.writable()` for COPY.
 *
 * Does NOT: fetch array types on the connect workload (`fetch_types: false`): that one-off query
 * of postgres.js would otherwise add a round trip to every connect, and the workload times the
 * connection cycle itself.
 * Invariants: every instance is ended before the runner returns.
 */
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import postgres from "postgres"
import { checkMixed } from "../mixed.ts"
import type { BenchContext, ClientModule } from "../types.ts"
import {
  CONCURRENCY,
  CONNECTS,
  COPY_ROWS,
  COPY_TABLE,
  check,
  concurrently,
  copyChunks,
  MEMORY_ROWS,
  MIXED_QUERIES,
  MIXED_TABLE,
  MIXED_TABLE_ROWS,
  MIXED_WARMUP_QUERIES,
  PIPE_QUERIES,
  POOL_QUERIES,
  POOL_SIZE,
  ROWS,
  ROWS_SQL,
  SEQ_QUERIES,
  timed,
  WARMUP_QUERIES,
  WARMUP_ROWS
} from "../workloads.ts"

/** Rows per cursor batch for the stream workloads. */
const CURSOR_ROWS = 1000

const withSql = async <A>(url: string, max: number, use: (sql: postgres.Sql) => Promise<A>): Promise<A> => {
  const sql = postgres(url, { max, onnotice: () => {} })
  try {
    return await use(sql)
  } finally {
    await sql.end()
  }
}

const one = async (sql: postgres.Sql, i: number) => (await sql`select ${i}::int`)[0]!.int4 as number

const fanOut = async (sql: postgres.Sql, n: number) => {
  let sum = 0
  await concurrently(n, CONCURRENCY, async (i) => {
    const v = await one(sql, i)
    sum += v
  })
  return sum
}

const seq = (ctx: BenchContext) =>
  withSql(ctx.url, 1, async (sql) => {
    for (let i = 0; i < WARMUP_QUERIES; i++) await one(sql, i)
    let last = -1
    const sample = await timed(SEQ_QUERIES, async () => {
      for (let i = 0; i < SEQ_QUERIES; i++) last = await one(sql, i)
    })
    check(last === SEQ_QUERIES - 1, "last seq value")
    return sample
  })

const concurrent = (max: number, n: number) => (ctx: BenchContext) =>
  withSql(ctx.url, max, async (sql) => {
    await fanOut(sql, WARMUP_QUERIES)
    let sum = 0
    const sample = await timed(n, async () => {
      sum = await fanOut(sql, n)
    })
    check(sum === (n * (n - 1)) / 2, "sum of values")
    return sample
  })

const rows = (ctx: BenchContext) =>
  withSql(ctx.url, 1, async (sql) => {
    await sql.unsafe(ROWS_SQL, [WARMUP_ROWS])
    let got = 0
    const sample = await timed(ROWS, async () => {
      got = (await sql.unsafe(ROWS_SQL, [ROWS])).length
    })
    check(got === ROWS, "row count")
    return sample
  })

const streamed = (n: number) => (ctx: BenchContext) =>
  withSql(ctx.url, 1, async (sql) => {
    const count = async (m: number) => {
      let c = 0
      for await (const batch of sql.unsafe(ROWS_SQL, [m]).cursor(CURSOR_ROWS)) c += batch.length
      return c
    }
    await count(WARMUP_ROWS)
    let got = 0
    const sample = await timed(n, async () => {
      got = await count(n)
    })
    check(got === n, "streamed row count")
    return sample
  })

/**
 * The mixed row as a tagged template (a prepared statement, postgres.js's default), default
 * parsers: int8 and numeric stay strings (its documented default), arrays parsed from the types it
 * fetches at connect.
 */
const mixed = (ctx: BenchContext) =>
  withSql(ctx.url, 1, async (sql) => {
    const read = () =>
      sql`select id, amount, created_at, email, active, attrs, tags from ${sql(MIXED_TABLE)} order by id`
    for (let i = 0; i < MIXED_WARMUP_QUERIES; i++) await read()
    let last: ReadonlyArray<unknown> = []
    const sample = await timed(MIXED_QUERIES * MIXED_TABLE_ROWS, async () => {
      for (let i = 0; i < MIXED_QUERIES; i++) last = await read()
    })
    checkMixed(last, { int8AsString: true })
    return sample
  })

const copy = (ctx: BenchContext) =>
  withSql(ctx.url, 1, async (sql) => {
    const input = copyChunks(ctx.copyFile)
    await sql.unsafe(`truncate ${COPY_TABLE}`)
    const sample = await timed(
      COPY_ROWS,
      async () => {
        const target = await sql.unsafe(`copy ${COPY_TABLE} (a, b, c) from stdin`).writable()
        await pipeline(Readable.from(input.chunks), target)
      },
      input.bytes
    )
    const [counted] = await sql.unsafe(`select count(*)::int as n from ${COPY_TABLE}`)
    check(counted?.n === COPY_ROWS, "COPY row count")
    return sample
  })

const connectMany = (url: string | undefined) => async () => {
  if (url === undefined) throw new Error("no scram role on this server")
  const cycle = async () => {
    const sql = postgres(url, { max: 1, fetch_types: false })
    try {
      return (await sql`select 1 as x`)[0]!.x as number
    } finally {
      await sql.end()
    }
  }
  await cycle()
  let ok = 0
  const sample = await timed(CONNECTS, async () => {
    for (let i = 0; i < CONNECTS; i++) if ((await cycle()) === 1) ok++
  })
  check(ok === CONNECTS, "select 1 after each connect")
  return sample
}

export const postgresJs: ClientModule = {
  id: "postgres",
  label: "postgres.js",
  kind: "js",
  how: `\`postgres(url, { max: 1 })\` (pool: \`max: 8\`), tagged templates (prepared, default parsers, object rows), \`.cursor(${CURSOR_ROWS})\` for streams, \`.writable()\` for COPY; connect uses \`fetch_types: false\``,
  workloads: {
    seq,
    pipe: concurrent(1, PIPE_QUERIES),
    pool: concurrent(POOL_SIZE, POOL_QUERIES),
    rows,
    "rows-stream": streamed(ROWS),
    mixed,
    copy,
    "connect-trust": (ctx) => connectMany(ctx.url)(),
    "connect-scram": (ctx) => connectMany(ctx.scramUrl)(),
    memory: streamed(MEMORY_ROWS)
  }
}
