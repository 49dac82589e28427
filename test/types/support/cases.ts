/**
 * Edge values per type for the real-server agreement test: a SQL expression, the type it has,
 * and the JS value both formats must decode to (`SERVER_TEXT`: the server's own text, for the
 * types whose value is that text). `min` is the first PostgreSQL major that has the value.
 */
import {
  PgDate,
  PgInterval,
  PgRange,
  PgTime,
  PgTimestamp,
  PgTimeTz,
  withLowerBounds
} from "../../../src/types/index.ts"

export const SERVER_TEXT = Symbol("server text")

export interface Case {
  readonly sql: string
  readonly type: string
  readonly value: unknown
  readonly min?: number
  /** The server cannot receive this value as a binary parameter (an empty oidvector). */
  readonly textParameterOnly?: boolean
}

const c = (sql: string, type: string, value: unknown, min?: number): Case =>
  min === undefined ? { sql, type, value } : { sql, type, value, min }

const ts = (iso: string): PgTimestamp => PgTimestamp.fromEpochMicroseconds(isoMicros(iso))

/** Microseconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (years 0000..9999, via Date + the micros). */
const isoMicros = (iso: string): bigint => {
  const m = /^(.*?)(?:\.(\d{1,6}))?Z$/.exec(iso)!
  const ms = Date.parse(`${m[1]}Z`)
  return BigInt(ms) * 1000n + BigInt((m[2] ?? "").padEnd(6, "0"))
}

/** The instant `seconds` (and `micros`) after midnight UTC of `date`. */
const at = (date: PgDate, seconds: number, micros = 0): PgTimestamp =>
  new PgTimestamp(date.days * 86400 + seconds, micros)

const big = "9".repeat(1000)

export const cases: ReadonlyArray<Case> = [
  // bool and integers
  c("true", "bool", true),
  c("false", "bool", false),
  c("32767::int2", "int2", 32767),
  c("(-32768)::int2", "int2", -32768),
  c("2147483647", "int4", 2147483647),
  c("(-2147483648)::int4", "int4", -2147483648),
  c("0", "int4", 0),
  c("9223372036854775807::int8", "int8", 9223372036854775807n),
  c("(-9223372036854775808)::int8", "int8", -9223372036854775808n),
  c("4294967295::oid", "oid", 4294967295),
  c("'4294967295'::xid", "xid", 4294967295),
  c("'7'::cid", "cid", 7),
  c("'18446744073709551615'::xid8", "xid8", 18446744073709551615n),
  // floats
  c("'1.1'::float4", "float4", Math.fround(1.1)),
  c("'NaN'::float4", "float4", Number.NaN),
  c("'-Infinity'::float4", "float4", -Infinity),
  c("'-0'::float4", "float4", -0),
  c("'3.4028235e38'::float4", "float4", Math.fround(3.4028235e38)),
  c("'1e-45'::float4", "float4", Math.fround(1e-45)),
  c("'0.1'::float8", "float8", 0.1),
  c("'1e-5'::float8", "float8", 1e-5),
  c("'1e100'::float8", "float8", 1e100),
  c("'-0'::float8", "float8", -0),
  c("'NaN'::float8", "float8", Number.NaN),
  c("'Infinity'::float8", "float8", Infinity),
  c("'5e-324'::float8", "float8", 5e-324),
  c("'1.7976931348623157e308'::float8", "float8", 1.7976931348623157e308),
  // numeric
  c("'NaN'::numeric", "numeric", "NaN"),
  c("'Infinity'::numeric", "numeric", "Infinity"),
  c("'-Infinity'::numeric", "numeric", "-Infinity"),
  c("0::numeric", "numeric", "0"),
  c("'0.000'::numeric", "numeric", "0.000"),
  c("'-0.001'::numeric", "numeric", "-0.001"),
  c("'1e-20'::numeric", "numeric", "0.00000000000000000001"),
  c("'1.50'::numeric", "numeric", "1.50"),
  c("'10000'::numeric", "numeric", "10000"),
  c("'123456789.123456789'::numeric", "numeric", "123456789.123456789"),
  c("'1e20'::numeric", "numeric", "100000000000000000000"),
  c(`'${big}'::numeric`, "numeric", big),
  c(`'-${big}.0${big}'::numeric`, "numeric", `-${big}.0${big}`),
  c("'-1.5e-3'::numeric", "numeric", "-0.0015"),
  // money (lc_monetary C: two fraction digits)
  c("'12.34'::money", "money", 1234n),
  c("'-12.34'::money", "money", -1234n),
  c("'92233720368547758.07'::money", "money", 9223372036854775807n),
  // strings and bytes
  c("'héllo wörld ✓ 😀'::text", "text", "héllo wörld ✓ 😀"),
  c("''::text", "text", ""),
  c(`'${"x".repeat(3000)}'::text`, "text", "x".repeat(3000)),
  c("E'tab\\tnew\\nline'::varchar", "varchar", "tab\tnew\nline"),
  c("'ab'::char(4)", "bpchar", "ab  "),
  c("'pg_class'::name", "name", "pg_class"),
  c(`'a'::"char"`, "char", "a"),
  c(`''::"char"`, "char", ""),
  c("'<a>x &amp; y</a>'::xml", "xml", "<a>x &amp; y</a>"),
  c("'\\x'::bytea", "bytea", new Uint8Array(0)),
  c("'\\x00ff00'::bytea", "bytea", new Uint8Array([0, 255, 0])),
  c("decode('5c00', 'hex')", "bytea", new Uint8Array([0x5c, 0])),
  c("'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid", "uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
  c(`'{"a":[1,2,{"b":null}],"c":"é"}'::json`, "json", { a: [1, 2, { b: null }], c: "é" }),
  c(`'"str"'::json`, "json", "str"),
  c(`'{"b":1,"a":[true,false]}'::jsonb`, "jsonb", { a: [true, false], b: 1 }),
  c("'[]'::jsonb", "jsonb", []),
  c("'$.a[*] ? (@ > 1)'::jsonpath", "jsonpath", SERVER_TEXT),
  // dates and times
  c("'2024-02-29'::date", "date", PgDate.of(2024, 2, 29)),
  c("'1900-02-28'::date", "date", PgDate.of(1900, 2, 28)),
  c("'1970-01-01'::date", "date", new PgDate(0)),
  c("'0044-03-15 BC'::date", "date", PgDate.of(-43, 3, 15)),
  c("'4713-11-24 BC'::date", "date", PgDate.of(-4712, 11, 24)),
  c("'5874897-12-31'::date", "date", PgDate.of(5874897, 12, 31)),
  c("'infinity'::date", "date", PgDate.infinity),
  c("'-infinity'::date", "date", PgDate.negativeInfinity),
  c("'00:00:00'::time", "time", new PgTime(0)),
  c("'23:59:59.999999'::time", "time", PgTime.of(23, 59, 59, 999999)),
  c("'24:00:00'::time", "time", PgTime.of(24, 0, 0)),
  c("'12:34:56.5'::time", "time", PgTime.of(12, 34, 56, 500000)),
  c("'12:00:00+05:30'::timetz", "timetz", new PgTimeTz(12 * 3600e6, 19800)),
  c("'00:00:00.000001-12'::timetz", "timetz", new PgTimeTz(1, -43200)),
  c("'23:59:59+00:17:30'::timetz", "timetz", new PgTimeTz(86399e6, 1050)),
  c("'2024-02-29 12:34:56.123456'::timestamp", "timestamp", ts("2024-02-29T12:34:56.123456Z")),
  c("'1969-12-31 23:59:59.999999'::timestamp", "timestamp", new PgTimestamp(-1, 999999)),
  c("'0001-01-01 00:00:00'::timestamp", "timestamp", ts("0001-01-01T00:00:00Z")),
  c("'4713-11-24 00:00:00 BC'::timestamp", "timestamp", at(PgDate.of(-4712, 11, 24), 0)),
  c("'294276-12-31 23:59:59.999999'::timestamp", "timestamp", at(PgDate.of(294276, 12, 31), 86399, 999999)),
  c("'infinity'::timestamp", "timestamp", PgTimestamp.infinity),
  c("'-infinity'::timestamptz", "timestamptz", PgTimestamp.negativeInfinity),
  c("'2000-01-01 00:00:00.000001+00'::timestamptz", "timestamptz", ts("2000-01-01T00:00:00.000001Z")),
  c("'2024-02-29 23:59:59.999999+05:30'::timestamptz", "timestamptz", ts("2024-02-29T18:29:59.999999Z")),
  c("'1850-06-01 00:00:00+00'::timestamptz", "timestamptz", ts("1850-06-01T00:00:00Z")),
  c("'2024-03-31 01:30:00+00'::timestamptz", "timestamptz", ts("2024-03-31T01:30:00Z")),
  c("'0044-03-15 12:00:00+00 BC'::timestamptz", "timestamptz", at(PgDate.of(-43, 3, 15), 43200)),
  c("'1 year 2 mons 3 days 04:05:06.789'::interval", "interval", new PgInterval(14, 3, 14706789000n)),
  c("'-1 days +02:00:00'::interval", "interval", new PgInterval(0, -1, 7200000000n)),
  c("'-14 mons'::interval", "interval", new PgInterval(-14, 0, 0n)),
  c("'0'::interval", "interval", new PgInterval(0, 0, 0n)),
  c("'-00:00:00.000001'::interval", "interval", new PgInterval(0, 0, -1n)),
  // PostgreSQL 14 reads at most 2147483647 hours (it prints more).
  c(
    "'2562047788 hours 54.775807 seconds'::interval",
    "interval",
    new PgInterval(0, 0, 9223372036854775807n),
    15
  ),
  c(
    "'-2562047788 hours -54.775808 seconds'::interval",
    "interval",
    new PgInterval(0, 0, -9223372036854775808n),
    15
  ),
  c(
    "'-2147483647 hours -59 mins -59.999999 secs'::interval",
    "interval",
    new PgInterval(0, 0, -7730941132799999999n)
  ),
  c("'infinity'::interval", "interval", PgInterval.infinity, 17),
  c("'-infinity'::interval", "interval", PgInterval.negativeInfinity, 17),
  // network
  c("'192.168.0.1'::inet", "inet", "192.168.0.1"),
  c("'192.168.0.1/24'::inet", "inet", "192.168.0.1/24"),
  c("'::ffff:1.2.3.4'::inet", "inet", "::ffff:1.2.3.4"),
  c("'::1.2.3.4'::inet", "inet", "::1.2.3.4"),
  c("'::2'::inet", "inet", "::2"),
  c("'::'::inet", "inet", "::"),
  c("'1:0:0:1:0:0:0:1'::inet", "inet", "1:0:0:1::1"),
  c("'2001:db8::1/64'::inet", "inet", "2001:db8::1/64"),
  c("'fe80:0:0:0:1:2:3:4'::inet", "inet", "fe80::1:2:3:4"),
  c("'10.0.0.0/8'::cidr", "cidr", "10.0.0.0/8"),
  c("'192.168.1.1/32'::cidr", "cidr", "192.168.1.1/32"),
  c("'2001:db8::/32'::cidr", "cidr", "2001:db8::/32"),
  c("'::/0'::cidr", "cidr", "::/0"),
  c("'08:00:2B:01:02:03'::macaddr", "macaddr", "08:00:2b:01:02:03"),
  c("'08:00:2b:01:02:03:04:05'::macaddr8", "macaddr8", "08:00:2b:01:02:03:04:05"),
  // the rest
  c("B'1010'::bit(4)", "bit", "1010"),
  c("B'10110011101'::varbit", "varbit", "10110011101"),
  c("''::varbit", "varbit", ""),
  c("'16/B374D848'::pg_lsn", "pg_lsn", "16/B374D848"),
  c("'FFFFFFFF/FFFFFFFF'::pg_lsn", "pg_lsn", "FFFFFFFF/FFFFFFFF"),
  c("'(4294967295,65535)'::tid", "tid", "(4294967295,65535)"),
  c("'1 2 3'::oidvector", "oidvector", [1, 2, 3]),
  { ...c("''::oidvector", "oidvector", []), textParameterOnly: true },
  c("'1 -2'::int2vector", "int2vector", [1, -2]),
  c("'pg_class'::regclass", "regclass", "pg_class"),
  c("'int4'::regtype", "regtype", "integer"),
  c("'a fat cat'::tsvector", "tsvector", SERVER_TEXT),
  c("'fat & !rat'::tsquery", "tsquery", SERVER_TEXT),
  c("'(1.5,-2)'::point", "point", "(1.5,-2)"),
  c("'(0.0001,1e-5)'::point", "point", "(0.0001,1e-05)"),
  c("'(100000000000000,1e15)'::point", "point", "(100000000000000,1e+15)"),
  c("'(-0,1.7976931348623157e308)'::point", "point", "(-0,1.7976931348623157e+308)"),
  c("'(5e-324,-123.456e10)'::point", "point", "(5e-324,-1234560000000)"),
  c("'(NaN,-Infinity)'::point", "point", "(NaN,-Infinity)"),
  c("'(0.1,2.5e-7)'::point", "point", "(0.1,2.5e-07)"),
  c("'{1,-1,0.5}'::line", "line", "{1,-1,0.5}"),
  c("'[(0,0),(1,1.5)]'::lseg", "lseg", "[(0,0),(1,1.5)]"),
  c("'(0,0),(1,1)'::box", "box", "(1,1),(0,0)"),
  c("'[(0,0),(1,1),(2,0)]'::path", "path", "[(0,0),(1,1),(2,0)]"),
  c("'((0,0),(1,1),(2,0))'::path", "path", "((0,0),(1,1),(2,0))"),
  c("'((0,0),(1,1),(1,0))'::polygon", "polygon", "((0,0),(1,1),(1,0))"),
  c("'<(0,0),2>'::circle", "circle", "<(0,0),2>"),
  // arrays
  c("'{1,2,3}'::int4[]", "_int4", [1, 2, 3]),
  c("'{{1,2},{3,4}}'::int4[]", "_int4", [
    [1, 2],
    [3, 4]
  ]),
  c("'{{{1},{2}},{{3},{NULL}}}'::int4[]", "_int4", [
    [[1], [2]],
    [[3], [null]]
  ]),
  c("'[0:1]={1,2}'::int4[]", "_int4", withLowerBounds([1, 2], [0])),
  c(
    "'[-2:-1][1:2]={{1,2},{3,4}}'::int4[]",
    "_int4",
    withLowerBounds(
      [
        [1, 2],
        [3, 4]
      ],
      [-2, 1]
    )
  ),
  c("'{}'::int4[]", "_int4", []),
  c("'{NULL,1}'::int8[]", "_int8", [null, 1n]),
  c(`'{"a b","c\\"d",NULL,"NULL","",x\\\\y,"{}", é, "a,b"}'::text[]`, "_text", [
    "a b",
    'c"d',
    null,
    "NULL",
    "",
    "x\\y",
    "{}",
    "é",
    "a,b"
  ]),
  c(`'{"(1,2)","(3,4)"}'::point[]`, "_point", ["(1,2)", "(3,4)"]),
  c("array['(1,1),(0,0)'::box, '(3,3),(2,2)'::box]", "_box", ["(1,1),(0,0)", "(3,3),(2,2)"]),
  c("'{infinity,2000-01-01 00:00:00+00}'::timestamptz[]", "_timestamptz", [
    PgTimestamp.infinity,
    new PgTimestamp(946684800, 0)
  ]),
  c("array['\\x00'::bytea, NULL, '\\x'::bytea]", "_bytea", [new Uint8Array([0]), null, new Uint8Array(0)]),
  c("'{NaN,-1.50,Infinity}'::numeric[]", "_numeric", ["NaN", "-1.50", "Infinity"]),
  c(`array['{"a":1}'::json, '[1,2]'::json]`, "_json", [{ a: 1 }, [1, 2]]),
  c(`array['"x"'::jsonb, '{"k":null}'::jsonb, NULL]`, "_jsonb", ["x", { k: null }, null]),
  c("'{t,f,NULL}'::bool[]", "_bool", [true, false, null]),
  c("'{-0,NaN,-Infinity}'::float8[]", "_float8", [-0, Number.NaN, -Infinity]),
  c("'{2024-02-29,0044-03-15 BC}'::date[]", "_date", [PgDate.of(2024, 2, 29), PgDate.of(-43, 3, 15)]),
  c(`'{"1 day","-00:00:01"}'::interval[]`, "_interval", [
    new PgInterval(0, 1, 0n),
    new PgInterval(0, 0, -1000000n)
  ]),
  c("'{::1,10.0.0.1/8}'::inet[]", "_inet", ["::1", "10.0.0.1/8"]),
  c("'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'::uuid[]", "_uuid", ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]),
  c(`'{"a","b"}'::"char"[]`, "_char", ["a", "b"]),
  // ranges and multiranges
  c("'[1,5)'::int4range", "int4range", PgRange.of(1, 5)),
  c("'[1,5]'::int4range", "int4range", PgRange.of(1, 6)),
  c("'empty'::int4range", "int4range", PgRange.empty()),
  c("'(,5]'::int4range", "int4range", PgRange.of(null, 6, "()")),
  c("'(,)'::int4range", "int4range", PgRange.of(null, null, "()")),
  c(
    "'[-9223372036854775808,9223372036854775807)'::int8range",
    "int8range",
    PgRange.of(-9223372036854775808n, 9223372036854775807n)
  ),
  c("'[1.5,2.5]'::numrange", "numrange", PgRange.of("1.5", "2.5", "[]")),
  c(
    `'["2024-01-01 00:00:00",infinity)'::tsrange`,
    "tsrange",
    PgRange.of(ts("2024-01-01T00:00:00Z"), PgTimestamp.infinity)
  ),
  c(
    "'(2024-01-01 00:00:00+00,)'::tstzrange",
    "tstzrange",
    PgRange.of(ts("2024-01-01T00:00:00Z"), null, "()")
  ),
  c(
    "'[2024-01-01,2024-02-01)'::daterange",
    "daterange",
    PgRange.of(PgDate.of(2024, 1, 1), PgDate.of(2024, 2, 1))
  ),
  c("array['[1,2)'::int4range, 'empty']", "_int4range", [PgRange.of(1, 2), PgRange.empty()]),
  c("'{[1,3), [5,7)}'::int4multirange", "int4multirange", [PgRange.of(1, 3), PgRange.of(5, 7)]),
  c("'{}'::int4multirange", "int4multirange", []),
  c("'{[1.5,2), (3,)}'::nummultirange", "nummultirange", [
    PgRange.of("1.5", "2"),
    PgRange.of("3", null, "()")
  ]),
  c("'{[2024-01-01,2024-01-05)}'::datemultirange", "datemultirange", [
    PgRange.of(PgDate.of(2024, 1, 1), PgDate.of(2024, 1, 5))
  ])
]
