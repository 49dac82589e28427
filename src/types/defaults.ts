/**
 * The default registry: a codec for every built-in base type of PostgreSQL 14 to 18, the array
 * type of each, the six built-in ranges and their multiranges (PostgreSQL 14+), with the JS
 * types docs/types.md lists.
 *
 * Does: assemble the codec modules into one `Registry`.
 * Does NOT: define codecs (the modules do) or know user types (enums, composites, domains: the
 * connection layer adds them by introspection).
 */
import type { AnyCodec } from "./Codec.ts"
import { date, time, timestamp, timestamptz, timetz } from "./datetime.ts"
import { geometricTypes } from "./geometry.ts"
import { interval } from "./interval.ts"
import { bit, int2vector, oidvector, pgLsn, regTypes, textOnlyTypes, tid, varbit } from "./misc.ts"
import { cidr, inet, macaddr, macaddr8 } from "./network.ts"
import { bool, cid, float4, float8, int2, int4, int8, money, oid, xid, xid8 } from "./numbers.ts"
import { numeric } from "./numeric.ts"
import { Registry } from "./Registry.ts"
import {
  bpchar,
  bytea,
  char,
  json,
  jsonb,
  jsonpath,
  name,
  refcursor,
  text,
  unknown,
  uuid,
  varchar,
  xml
} from "./text.ts"

/** Every built-in base-type codec of the default registry. */
export const builtinCodecs: ReadonlyArray<AnyCodec> = [
  bool,
  int2,
  int4,
  int8,
  oid,
  xid,
  cid,
  xid8,
  float4,
  float8,
  numeric,
  money,
  text,
  varchar,
  bpchar,
  name,
  char,
  unknown,
  xml,
  refcursor,
  bytea,
  uuid,
  json,
  jsonb,
  jsonpath,
  date,
  time,
  timetz,
  timestamp,
  timestamptz,
  interval,
  inet,
  cidr,
  macaddr,
  macaddr8,
  bit,
  varbit,
  pgLsn,
  tid,
  int2vector,
  oidvector,
  ...geometricTypes,
  ...regTypes,
  ...textOnlyTypes
]

/** The built-in ranges: [oid, name, subtype, array oid], and their multiranges: [oid, name, range, array oid]. */
const RANGES: ReadonlyArray<readonly [number, string, number, number]> = [
  [3904, "int4range", 23, 3905],
  [3926, "int8range", 20, 3927],
  [3906, "numrange", 1700, 3907],
  [3908, "tsrange", 1114, 3909],
  [3910, "tstzrange", 1184, 3911],
  [3912, "daterange", 1082, 3913]
]

const MULTIRANGES: ReadonlyArray<readonly [number, string, number, number]> = [
  [4451, "int4multirange", 3904, 6150],
  [4536, "int8multirange", 3926, 6157],
  [4532, "nummultirange", 3906, 6151],
  [4533, "tsmultirange", 3908, 6152],
  [4534, "tstzmultirange", 3910, 6153],
  [4535, "datemultirange", 3912, 6155]
]

const build = (): Registry => {
  let registry = Registry.empty.with(...builtinCodecs)
  for (const [oid, rangeName, subtype, arrayOid] of RANGES)
    registry = registry.withRange(oid, rangeName, subtype, arrayOid)
  for (const [oid, multirangeName, range, arrayOid] of MULTIRANGES)
    registry = registry.withMultirange(oid, multirangeName, range, arrayOid)
  return registry
}

/** Every built-in type, lossless (docs/types.md). Extend it with `defaultRegistry.with(codec)`. */
export const defaultRegistry: Registry = build()
