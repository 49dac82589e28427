/**
 * node-postgres (`pg` 8, `pg-pool`, `pg-copy-streams`) in the peer benchmark, used as its README
 * shows: `client.query(text, values)` with its default type parsers and object rows, `pg.Pool`
 * with `max: 8`, and `pg-copy-streams` `from()` for COPY. A second entry, "pg (text rows)", runs
 * only the rows workload with `rowMode: "array"` and every type parser replaced by the identity:
 * the text-only reference (what effect-pg returned before typed values). `mixed` reads the mixed
 * table with the default parsers (int8 and numeric stay strings, pg's documented default).
 *
 * Does NOT: stream rows: pg itself has no streaming API (that needs pg-cursor or pg-query-stream,
 * which are separate packages and not installed), so the stream workloads say so.
 * Invariants: a pg.Client runs one query at a time (it queues, it does not pipeline); `pipe`
 * measures exactly that behaviour.
 */
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import pg from "pg"
import copyStreams from "pg-copy-streams"
import { checkMixed } from "../mixed.ts"
import type { BenchContext, ClientModule } from "../types.ts"
import {
  CONCURRENCY,
  CONNECTS,
  COPY_ROWS,
  COPY_SQL,
  COPY_TABLE,
  check,
  concurrently,
  copyChunks,
  MIXED_QUERIES,
  MIXED_SQL,
  MIXED_TABLE_ROWS,
  MIXED_WARMUP_QUERIES,
  PIPE_QUERIES,
  POOL_QUERIES,
  POOL_SIZE,
  ROWS,
  ROWS_SQL,
  SELECT_INT,
  SEQ_QUERIES,
  timed,
  WARMUP_QUERIES,
  WARMUP_ROWS
} from "../workloads.ts"

const noStream = {
  unsupported: "— no streaming API (needs pg-cursor / pg-query-stream, separate packages, not installed)"
}

const withClient = async <A>(url: string, use: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

type Queryable = Pick<pg.Client, "query">

const fanOut = async (target: Queryable, n: number) => {
  let sum = 0
  await concurrently(n, CONCURRENCY, async (i) => {
    const r = await target.query(SELECT_INT, [i])
    sum += r.rows[0].int4 as number
  })
  return sum
}

const seq = (ctx: BenchContext) =>
  withClient(ctx.url, async (client) => {
    for (let i = 0; i < WARMUP_QUERIES; i++) await client.query(SELECT_INT, [i])
    let last: unknown
    const sample = await timed(SEQ_QUERIES, async () => {
      for (let i = 0; i < SEQ_QUERIES; i++) last = (await client.query(SELECT_INT, [i])).rows[0].int4
    })
    check(last === SEQ_QUERIES - 1, "last seq value")
    return sample
  })

const pipe = (ctx: BenchContext) =>
  withClient(ctx.url, async (client) => {
    await fanOut(client, WARMUP_QUERIES)
    let sum = 0
    const sample = await timed(PIPE_QUERIES, async () => {
      sum = await fanOut(client, PIPE_QUERIES)
    })
    check(sum === (PIPE_QUERIES * (PIPE_QUERIES - 1)) / 2, "sum of values")
    return sample
  })

const pool = async (ctx: BenchContext) => {
  const p = new pg.Pool({ connectionString: ctx.url, max: POOL_SIZE })
  try {
    await fanOut(p, WARMUP_QUERIES)
    let sum = 0
    const sample = await timed(POOL_QUERIES, async () => {
      sum = await fanOut(p, POOL_QUERIES)
    })
    check(sum === (POOL_QUERIES * (POOL_QUERIES - 1)) / 2, "sum of values")
    return sample
  } finally {
    await p.end()
  }
}

const identity = (value: string) => value
const textTypes = { getTypeParser: () => identity } as unknown as pg.CustomTypesConfig

const rows = (text: boolean) => (ctx: BenchContext) =>
  withClient(ctx.url, async (client) => {
    const config = (n: number): pg.QueryConfig | pg.QueryArrayConfig =>
      text
        ? { text: ROWS_SQL, values: [n], rowMode: "array", types: textTypes }
        : { text: ROWS_SQL, values: [n] }
    await client.query(config(WARMUP_ROWS))
    let got = 0
    const sample = await timed(ROWS, async () => {
      got = (await client.query(config(ROWS))).rows.length
    })
    check(got === ROWS, "row count")
    return sample
  })

/** The mixed row with pg's default parsers (int8 and numeric stay strings: pg's documented default). */
const mixed = (ctx: BenchContext) =>
  withClient(ctx.url, async (client) => {
    for (let i = 0; i < MIXED_WARMUP_QUERIES; i++) await client.query(MIXED_SQL)
    let last: ReadonlyArray<unknown> = []
    const sample = await timed(MIXED_QUERIES * MIXED_TABLE_ROWS, async () => {
      for (let i = 0; i < MIXED_QUERIES; i++) last = (await client.query(MIXED_SQL)).rows
    })
    checkMixed(last, { int8AsString: true })
    return sample
  })

const copy = (ctx: BenchContext) =>
  withClient(ctx.url, async (client) => {
    const input = copyChunks(ctx.copyFile)
    await client.query(`truncate ${COPY_TABLE}`)
    let rowCount = 0
    const sample = await timed(
      COPY_ROWS,
      async () => {
        const target = client.query(copyStreams.from(COPY_SQL))
        await pipeline(Readable.from(input.chunks), target)
        rowCount = target.rowCount
      },
      input.bytes
    )
    check(rowCount === COPY_ROWS, "COPY row count")
    return sample
  })

const connectMany = (url: string | undefined) => async () => {
  if (url === undefined) throw new Error("no scram role on this server")
  const cycle = () => withClient(url, async (client) => (await client.query("select 1 as x")).rows[0].x)
  await cycle()
  let ok = 0
  const sample = await timed(CONNECTS, async () => {
    for (let i = 0; i < CONNECTS; i++) if ((await cycle()) === 1) ok++
  })
  check(ok === CONNECTS, "select 1 after each connect")
  return sample
}

export const pgClient: ClientModule = {
  id: "pg",
  label: "pg",
  kind: "js",
  how: "`new pg.Client(url)`, `client.query(text, [i])` (default type parsers, object rows), `new pg.Pool({ max: 8 })`, `client.query(copyFrom(sql))` from pg-copy-streams fed by `stream.pipeline`",
  workloads: {
    seq,
    pipe,
    pool,
    rows: rows(false),
    "rows-stream": noStream,
    mixed,
    copy,
    "connect-trust": (ctx) => connectMany(ctx.url)(),
    "connect-scram": (ctx) => connectMany(ctx.scramUrl)(),
    memory: noStream
  }
}

const rowsOnly = { unsupported: "— variant measured for the row workloads only" }

export const pgText: ClientModule = {
  id: "pg-text",
  label: "pg (text rows)",
  kind: "js",
  how: 'pg with `rowMode: "array"` and identity type parsers: rows as arrays of strings (no parsing), the text-only reference',
  workloads: {
    seq: rowsOnly,
    pipe: rowsOnly,
    pool: rowsOnly,
    rows: rows(true),
    "rows-stream": noStream,
    mixed: { unsupported: "— variant measured for the rows workload only (text, no parsing)" },
    copy: rowsOnly,
    "connect-trust": rowsOnly,
    "connect-scram": rowsOnly,
    memory: noStream
  }
}
