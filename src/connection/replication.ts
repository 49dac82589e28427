/**
 * Replication connections: a walsender session (`replication=database` for logical replication,
 * `replication=true` for physical) and its commands: IDENTIFY_SYSTEM, SHOW,
 * CREATE_REPLICATION_SLOT, DROP_REPLICATION_SLOT and START_REPLICATION … LOGICAL, the last as a
 * stream of decoded events with consumer acknowledgements (replicationStream.ts).
 *
 * Only the simple query protocol may be used in walsender mode (Frontend/Backend Protocol,
 * "Streaming Replication Protocol"); a `replication=database` session also runs SQL through it.
 * So the connection offers `simpleQuery` and the replication commands, and its `query` (the
 * extended protocol) fails at once with `PgProtocolError` reason `ReplicationConnection`,
 * `mayHaveRun: false`, on both kinds. Publications are ordinary SQL: create them on a normal
 * connection (or with `simpleQuery` on a `database` one).
 *
 * It connects like every connection (connect.ts: hosts, TLS, authentication), with the
 * `replication` startup parameter added to the resolved configuration.
 *
 * It does NOT decode column values (the events carry pgoutput's raw TupleData) nor resume by
 * itself: a new stream on the same slot starts from its confirmed_flush_lsn (docs/replication.md).
 */
import { Duration, Effect, type Scope } from "effect"
import type { Failure } from "../commands/Command.ts"
import {
  type CreateSlotArgs,
  createSlotSql,
  dropSlotSql,
  publicationNames,
  startLogicalSql
} from "../commands/replication.ts"
import { configError } from "../config/ConfigError.ts"
import type { ConnectInput } from "../config/ConnectConfig.ts"
import { resolve } from "../config/Resolve.ts"
import { type PgExpertError, PgProtocolError } from "../Errors.ts"
import { toExpertError } from "../engine/run.ts"
import { ProtocolError } from "../protocol/ProtocolError.ts"
import type { SimpleQueryResult } from "../Result.ts"
import { type Change, ChangeDecodeError, ChangeDecoder } from "../replication/changes.ts"
import { type Lsn, parseLsn } from "../replication/Lsn.ts"
import type { PgOutputMessage, PgOutputVersion } from "../replication/PgOutputMessage.ts"
import { PgOutputDecoder } from "../replication/pgoutput.ts"
import { type ConnectError, connectResolved } from "./connect.ts"
import { engineOf } from "./operations.ts"
import { openReplication, type ReplicationHandle } from "./replicationStream.ts"
import { TypeRegistry } from "./typeRegistry.ts"

export type { CreateSlotArgs } from "../commands/replication.ts"
export type { ReplicationEvent, ReplicationHandle } from "./replicationStream.ts"

/** `database`: logical replication from the configured database; `physical`: `replication=true`. */
export type ReplicationMode = "database" | "physical"

/** IDENTIFY_SYSTEM's row. */
export interface IdentifySystem {
  readonly systemId: string
  readonly timeline: number
  readonly xlogPos: Lsn
  /** The database of a `database` connection; null on a physical one. */
  readonly dbname: string | null
}

/** CREATE_REPLICATION_SLOT's row. */
export interface CreatedSlot {
  readonly slotName: string
  readonly consistentPoint: Lsn
  /** The exported snapshot (`snapshot: "export"`), valid until the next command. */
  readonly snapshotName: string | null
  readonly outputPlugin: string | null
}

/** START_REPLICATION … LOGICAL with pgoutput. */
export interface PgOutputStreamOptions {
  readonly slot: string
  readonly publications: ReadonlyArray<string>
  /** 0n (default): from the slot's confirmed_flush_lsn. */
  readonly startLsn?: Lsn | undefined
  /** pgoutput's proto_version, default 1 (2: streaming, 3: two-phase, 4: parallel streaming). */
  readonly protocolVersion?: PgOutputVersion | undefined
  /** Logical decoding messages (pg_logical_emit_message). */
  readonly messages?: boolean | undefined
  /** In-progress transactions in stream blocks (protocol ≥ 2; "parallel" needs 4). */
  readonly streaming?: boolean | "parallel" | undefined
  /** Column values in binary (send) format. */
  readonly binary?: boolean | undefined
  /** Decode prepared transactions at PREPARE (protocol ≥ 3). */
  readonly twoPhase?: boolean | undefined
  /** "none": only changes without a replication origin. */
  readonly origin?: "any" | "none" | undefined
  readonly statusInterval?: Duration.Input | undefined
  /** Socket reads buffered before the socket pauses (default 16). */
  readonly highWater?: number | undefined
}

/** START_REPLICATION … LOGICAL with any output plugin: each event's message is the raw bytes. */
export interface RawStreamOptions {
  readonly slot: string
  readonly startLsn?: Lsn | undefined
  readonly options?: ReadonlyArray<readonly [string, string]> | undefined
  readonly statusInterval?: Duration.Input | undefined
  readonly highWater?: number | undefined
}

export interface ReplicationConnection {
  readonly mode: ReplicationMode
  readonly processId: number
  readonly serverVersionNum: number
  /** Any replication command (or SQL on a `database` connection) through the simple protocol. */
  readonly simpleQuery: (sql: string) => Effect.Effect<SimpleQueryResult, PgExpertError>
  /** Refused: the extended protocol is not allowed in walsender mode (reason `ReplicationConnection`). */
  readonly query: (sql: string, params?: ReadonlyArray<unknown>) => Effect.Effect<never, PgProtocolError>
  readonly identifySystem: Effect.Effect<IdentifySystem, PgExpertError>
  /** SHOW name (a run-time parameter's current value). */
  readonly show: (name: string) => Effect.Effect<string, PgExpertError>
  readonly createSlot: (args: CreateSlotArgs) => Effect.Effect<CreatedSlot, PgExpertError>
  readonly dropSlot: (
    slot: string,
    options?: { readonly wait?: boolean }
  ) => Effect.Effect<void, PgExpertError>
  /** A pgoutput stream; stops (CopyDone, last status update) when the scope closes. */
  readonly startPgOutput: (
    options: PgOutputStreamOptions
  ) => Effect.Effect<ReplicationHandle<PgOutputMessage>, PgExpertError, Scope.Scope>
  /**
   * A pgoutput stream of typed changes: Insert, Update and Delete rows decoded by the
   * connection's TypeRegistry into objects keyed by column name (`UNCHANGED_TOAST` for an
   * unchanged TOAST value), Truncate with its relations named, every other message as it came.
   */
  readonly startChanges: (
    options: PgOutputStreamOptions
  ) => Effect.Effect<ReplicationHandle<Change>, PgExpertError, Scope.Scope>
  /** Another output plugin's stream (test_decoding, wal2json): raw message bytes. */
  readonly startLogical: (
    options: RawStreamOptions
  ) => Effect.Effect<ReplicationHandle<Uint8Array>, PgExpertError, Scope.Scope>
  readonly close: Effect.Effect<void>
}

const refusedQuery = new PgProtocolError({
  reason: "ReplicationConnection",
  message:
    "the extended query protocol is not allowed on a replication connection (walsender mode): use simpleQuery",
  mayHaveRun: false
})

const secondStream = new PgProtocolError({
  reason: "ReplicationConnection",
  message:
    "this replication connection already streamed once: the walsender ends a second START_REPLICATION of a session at once; open a new replication connection",
  mayHaveRun: false
})

const notSent = (failure: Failure): PgExpertError =>
  failure._tag === "Protocol" ? PgProtocolError.notSent(failure) : toExpertError(failure)

const sqlOrFail = (sql: string | Failure): Effect.Effect<string, PgExpertError> =>
  typeof sql === "string" ? Effect.succeed(sql) : Effect.fail(notSent(sql))

const badRow = (command: string) =>
  new PgProtocolError({ reason: "UnexpectedRows", message: `${command} did not return the row it documents` })

const lsnOf = (text: string | null | undefined, command: string): Effect.Effect<Lsn, PgProtocolError> => {
  const lsn = text == null ? undefined : parseLsn(text)
  return lsn === undefined || lsn instanceof ProtocolError
    ? Effect.fail(badRow(command))
    : Effect.succeed(lsn)
}

/** wal_sender_timeout as SHOW prints it ("60s", "2500ms", "1min", "0") in milliseconds. */
export const parseTimeout = (text: string): number | undefined => {
  const m = /^(\d+)\s*(ms|s|min|h|d)?$/.exec(text.trim())
  if (m === null) return undefined
  const unit = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "ms"] ?? 1
  return Number(m[1]) * unit
}

/** pgoutput's options in the order the server documents them. */
const pgOutputOptions = (o: PgOutputStreamOptions): Array<readonly [string, string]> => {
  const options: Array<readonly [string, string]> = [
    ["proto_version", String(o.protocolVersion ?? 1)],
    ["publication_names", publicationNames(o.publications)]
  ]
  if (o.messages === true) options.push(["messages", "true"])
  if (o.streaming !== undefined && o.streaming !== false)
    options.push(["streaming", o.streaming === "parallel" ? "parallel" : "on"])
  if (o.binary === true) options.push(["binary", "true"])
  if (o.twoPhase === true) options.push(["two_phase", "on"])
  if (o.origin !== undefined) options.push(["origin", o.origin])
  return options
}

const pgOutputDecoder = (o: PgOutputStreamOptions) =>
  new PgOutputDecoder({
    protocolVersion: o.protocolVersion ?? 1,
    parallelStreaming: o.streaming === "parallel"
  })

/** Opens a replication connection that closes with the scope. */
export const connectReplication = (
  input: ConnectInput,
  mode: ReplicationMode = "database"
): Effect.Effect<ReplicationConnection, ConnectError, Scope.Scope> =>
  Effect.gen(function* () {
    const config = yield* resolve(input)
    const { registry } = yield* TypeRegistry
    // connect.ts checks the other values with an extended-protocol query, refused in walsender mode.
    if (config.targetSessionAttrs !== "any")
      return yield* Effect.fail(
        configError("UnsupportedOption", "target_session_attrs must be any on a replication connection", {
          key: "target_session_attrs"
        })
      )
    // The mode asked for here wins over a `replication` keyword in the connection string.
    const conn = yield* connectResolved({
      ...config,
      replication: mode === "physical" ? "physical" : "database"
    })
    const engine = engineOf(conn)
    if (engine === undefined) return yield* Effect.die("a connection without an engine")

    const simpleQuery = (sql: string) => conn.simpleQuery(sql)
    const firstRow = (sql: string, command: string) =>
      Effect.flatMap(simpleQuery(sql), (r) => {
        const row = r.results[0]?.rows[0]
        return row === undefined ? Effect.fail(badRow(command)) : Effect.succeed(row)
      })

    const show = (name: string) =>
      Effect.map(firstRow(`SHOW ${name.replace(/[^a-z0-9_.]/gi, "")}`, "SHOW"), (row) => row[0] ?? "")

    /** The status period: the option, else 10 s, at most half of wal_sender_timeout. */
    const statusInterval = (wanted: Duration.Input | undefined) =>
      wanted !== undefined
        ? Effect.succeed(wanted)
        : Effect.map(
            Effect.orElseSucceed(show("wal_sender_timeout"), () => ""),
            (text) => {
              const timeout = parseTimeout(text)
              return Duration.millis(
                timeout === undefined || timeout === 0 ? 10_000 : Math.min(10_000, timeout / 2)
              )
            }
          )

    // The walsender ends a second logical START_REPLICATION of a session at once (PG15, PG18).
    let streamed = false
    const startRaw = <A>(
      sql: string | Failure,
      decode: (data: Uint8Array) => A | ProtocolError,
      o: { readonly statusInterval?: Duration.Input | undefined; readonly highWater?: number | undefined }
    ) =>
      Effect.gen(function* () {
        const text = yield* sqlOrFail(sql)
        if (streamed) return yield* Effect.fail(secondStream)
        const interval = yield* statusInterval(o.statusInterval)
        const handle = yield* openReplication(engine, {
          sql: text,
          decode,
          statusInterval: interval,
          highWater: o.highWater
        })
        // Only a stream that started spoils the session (a refused START_REPLICATION does not).
        streamed = true
        return handle
      })

    const connection: ReplicationConnection = {
      mode,
      processId: conn.processId,
      serverVersionNum: conn.serverVersionNum,
      simpleQuery,
      query: () => Effect.fail(refusedQuery),
      identifySystem: Effect.gen(function* () {
        const row = yield* firstRow("IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM")
        return {
          systemId: row[0] ?? "",
          timeline: Number(row[1]),
          xlogPos: yield* lsnOf(row[2], "IDENTIFY_SYSTEM"),
          dbname: row[3] ?? null
        }
      }),
      show,
      createSlot: (args) =>
        Effect.gen(function* () {
          const row = yield* firstRow(yield* sqlOrFail(createSlotSql(args)), "CREATE_REPLICATION_SLOT")
          return {
            slotName: row[0] ?? args.slot,
            consistentPoint: yield* lsnOf(row[1], "CREATE_REPLICATION_SLOT"),
            snapshotName: row[2] ?? null,
            outputPlugin: row[3] ?? null
          }
        }),
      dropSlot: (slot, options) =>
        Effect.asVoid(Effect.flatMap(sqlOrFail(dropSlotSql(slot, options?.wait === true)), simpleQuery)),
      startPgOutput: (o) => {
        const decoder = pgOutputDecoder(o)
        const sql = startLogicalSql({ slot: o.slot, startLsn: o.startLsn, options: pgOutputOptions(o) })
        return startRaw(sql, (data) => decoder.decode(data), o)
      },
      startChanges: (o) => {
        const decoder = pgOutputDecoder(o)
        const changes = new ChangeDecoder(registry)
        const sql = startLogicalSql({ slot: o.slot, startLsn: o.startLsn, options: pgOutputOptions(o) })
        return startRaw(
          sql,
          (data) => {
            const message = decoder.decode(data)
            if (message instanceof ProtocolError) return message
            const change = changes.decode(message)
            return change instanceof ChangeDecodeError
              ? new ProtocolError("InvalidValue", change.message)
              : change
          },
          o
        )
      },
      startLogical: (o) => startRaw(startLogicalSql(o), (data: Uint8Array) => data, o),
      close: conn.close
    }
    return connection
  })
