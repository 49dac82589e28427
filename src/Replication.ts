/**
 * Logical (and physical) replication: `Replication.connect(url)` opens a walsender session
 * (`replication=database`, or `"physical"` for `replication=true`) with IDENTIFY_SYSTEM, SHOW,
 * CREATE/DROP_REPLICATION_SLOT and START_REPLICATION … LOGICAL as a stream of decoded pgoutput
 * events that the consumer acknowledges (`handle.ack(event.lsn)`); the pure decoder, the LSN and
 * timestamp helpers come along. docs/replication.md has the API and the delivery guarantees.
 *
 * It does NOT add behaviour of its own: it names the public surface of connection/replication.ts
 * and src/replication/.
 */
export {
  type CreatedSlot,
  type CreateSlotArgs,
  connectReplication as connect,
  type IdentifySystem,
  type PgOutputStreamOptions,
  type RawStreamOptions,
  type ReplicationConnection,
  type ReplicationEvent,
  type ReplicationHandle,
  type ReplicationMode
} from "./connection/replication.ts"
export * from "./replication/index.ts"
