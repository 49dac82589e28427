/**
 * Typed values: the codec contract, the registry with every built-in type, the value types
 * (PgDate, PgTime, PgTimeTz, PgTimestamp, PgInterval, PgRange, PgArray) and the per-statement
 * row decoder and parameter encoders (docs/types.md, decision 016).
 *
 * Does: re-export the pure value layer: nothing here imports Effect or Node, nothing does I/O.
 * Does NOT: fetch types from the server or pick formats at Bind (the connection layer does).
 */
export { arrayCodec, type PgArray, withLowerBounds } from "./array.ts"
export {
  type AnyCodec,
  type BinaryFormat,
  type Codec,
  identity,
  resultFormat,
  type TextFormat,
  textOnly
} from "./Codec.ts"
export { type CatalogEntry, type CatalogOptions, type TypeKind, withCatalog } from "./catalog.ts"
export {
  type CompositeAttribute,
  type CompositeOptions,
  compositeCodec,
  type EnumCodec,
  enumCodec,
  formatRecordText,
  type PgRecord,
  parseRecordText,
  type RecordInput
} from "./composite.ts"
export {
  date,
  dateAsDate,
  dateCodecs,
  time,
  timestamp,
  timestampAsDate,
  timestamptz,
  timestamptzAsDate,
  timetz
} from "./datetime.ts"
export { builtinCodecs, defaultRegistry } from "./defaults.ts"
export * from "./geometry.ts"
export { interval, PgInterval } from "./interval.ts"
export * from "./misc.ts"
export * from "./network.ts"
export * from "./numbers.ts"
export { numeric } from "./numeric.ts"
export { passthrough, Registry } from "./Registry.ts"
export {
  type ColumnType,
  decodeValue,
  encodeParameter,
  parameterFormat,
  RowDecoder,
  resultFormats,
  writeParameter
} from "./RowDecoder.ts"
export { multirangeCodec, PgRange, type RangeBounds, rangeCodec } from "./range.ts"
export * from "./text.ts"
export { isValueError, ValueError, type ValueErrorReason } from "./ValueError.ts"
export { PgDate, PgTime, PgTimestamp, PgTimeTz } from "./values.ts"
