/**
 * Logical replication, pure part: pgoutput messages, the replication CopyData messages, LSNs and
 * replication timestamps.
 *
 * Does: re-export the pgoutput decoder (protocol 1–4) and its message types, the XLogData /
 * Primary keepalive decoder and the Standby status update / Hot standby feedback encoder, and the
 * LSN and timestamp helpers.
 * Also the typed changes (changes.ts): rows decoded through the codec registry per relation.
 * Does NOT: connect, run START_REPLICATION, acknowledge or resume (later layers;
 * docs/replication.md); import Effect or Node APIs; throw.
 *
 * @see https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 */

export * from "./CopyData.ts"
export * from "./changes.ts"
export * from "./Lsn.ts"
export * from "./pgoutput.ts"
