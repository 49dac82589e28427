/**
 * Shared setup of the effect-pg/sql tests: a real server (PgTestServer) and a PgClient layer on it.
 */
import { Effect, Layer, Redacted } from "effect"
import * as PgClient from "../../src/sql/PgClient.ts"
import { PgTestServer } from "../../src/testing/index.ts"

export const versions = [18, 15] as const

/** The server layer for one version. */
export const server = (version: 18 | 15) => PgTestServer.layer({ version, tls: false })

/** A PgClient (and SqlClient) on the server of the context, plus the server itself. */
export const client = (version: 18 | 15, config?: Omit<PgClient.PgPoolConfig, "url">) =>
  Layer.unwrap(
    Effect.map(Effect.service(PgTestServer.PgTestServer), (s) =>
      PgClient.layer({ url: Redacted.make(s.url), ...config })
    )
  ).pipe(Layer.provideMerge(server(version)))

let n = 0
/** A table name no other test uses. */
export const table = (prefix: string): string => `${prefix}_${process.pid}_${n++}`
