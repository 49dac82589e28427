/**
 * The libpq connection keywords (libpq 18's `PQconninfoOptions`), their environment variables, and
 * what effect-pg does with each; plus the store step shared by the two connection-string parsers.
 *
 * What it does: lists every keyword libpq 18 accepts (checked against `PQconndefaults()` of the
 * libpq 18 on this machine), marks it `supported` (parsed into `ConnectConfig`), `ignored` (accepted
 * because it cannot change what we do: GSSAPI library names, the obsolete `sslcompression`), or
 * `unsupported` (accepted by libpq but not implemented here: using it is an error, never silently
 * dropped); and stores a keyword/value pair as libpq's `conninfo_storeval` does (`requiressl` alias,
 * unknown keyword error).
 *
 * What it does NOT do: validate values (see Values.ts), or know the Effect runtime.
 *
 * Invariants: keyword names are matched case-sensitively, as libpq does; a raw option map only ever
 * holds keywords of this table; a later value for a keyword replaces an earlier one.
 */
/** What effect-pg does with a libpq keyword. */
export type KeywordStatus = "supported" | "ignored" | "unsupported"

/** One libpq connection keyword. */
export interface Keyword {
  readonly name: string
  /** The environment variable libpq reads when the keyword is not set. */
  readonly env: string | undefined
  readonly status: KeywordStatus
  /** The value is a secret: it is never quoted in an error, nor is the token that follows it. */
  readonly secret: boolean
}

const k = (name: string, env: string | undefined, status: KeywordStatus, secret = false): Keyword => ({
  name,
  env,
  status,
  secret
})

/** Every keyword of libpq 18, in libpq's order. */
export const keywords: ReadonlyArray<Keyword> = [
  k("service", "PGSERVICE", "supported"),
  k("user", "PGUSER", "supported"),
  k("password", "PGPASSWORD", "supported", true),
  k("passfile", "PGPASSFILE", "supported"),
  k("channel_binding", "PGCHANNELBINDING", "supported"),
  k("connect_timeout", "PGCONNECT_TIMEOUT", "supported"),
  k("dbname", "PGDATABASE", "supported"),
  k("host", "PGHOST", "supported"),
  k("hostaddr", "PGHOSTADDR", "supported"),
  k("port", "PGPORT", "supported"),
  k("client_encoding", "PGCLIENTENCODING", "supported"),
  k("options", "PGOPTIONS", "supported"),
  k("application_name", "PGAPPNAME", "supported"),
  k("fallback_application_name", undefined, "supported"),
  k("keepalives", undefined, "supported"),
  k("keepalives_idle", undefined, "supported"),
  k("keepalives_interval", undefined, "supported"),
  k("keepalives_count", undefined, "supported"),
  k("tcp_user_timeout", undefined, "unsupported"),
  k("sslmode", "PGSSLMODE", "supported"),
  k("sslnegotiation", "PGSSLNEGOTIATION", "supported"),
  k("sslcompression", "PGSSLCOMPRESSION", "ignored"),
  k("sslcert", "PGSSLCERT", "supported"),
  k("sslkey", "PGSSLKEY", "supported"),
  k("sslcertmode", "PGSSLCERTMODE", "supported"),
  k("sslpassword", undefined, "supported", true),
  k("sslrootcert", "PGSSLROOTCERT", "supported"),
  k("sslcrl", "PGSSLCRL", "supported"),
  k("sslcrldir", "PGSSLCRLDIR", "unsupported"),
  k("sslsni", "PGSSLSNI", "supported"),
  k("requirepeer", "PGREQUIREPEER", "unsupported"),
  k("require_auth", "PGREQUIREAUTH", "supported"),
  k("min_protocol_version", "PGMINPROTOCOLVERSION", "supported"),
  k("max_protocol_version", "PGMAXPROTOCOLVERSION", "supported"),
  k("ssl_min_protocol_version", "PGSSLMINPROTOCOLVERSION", "supported"),
  k("ssl_max_protocol_version", "PGSSLMAXPROTOCOLVERSION", "supported"),
  k("gssencmode", "PGGSSENCMODE", "supported"),
  k("krbsrvname", "PGKRBSRVNAME", "ignored"),
  k("gsslib", "PGGSSLIB", "ignored"),
  k("gssdelegation", "PGGSSDELEGATION", "ignored"),
  k("replication", undefined, "supported"),
  k("target_session_attrs", "PGTARGETSESSIONATTRS", "supported"),
  k("load_balance_hosts", "PGLOADBALANCEHOSTS", "supported"),
  k("scram_client_key", undefined, "unsupported", true),
  k("scram_server_key", undefined, "unsupported", true),
  k("oauth_issuer", undefined, "unsupported"),
  k("oauth_client_id", undefined, "unsupported"),
  k("oauth_client_secret", undefined, "unsupported", true),
  k("oauth_scope", undefined, "unsupported"),
  k("sslkeylogfile", undefined, "unsupported")
]

const byName: ReadonlyMap<string, Keyword> = new Map(keywords.map((kw) => [kw.name, kw]))

/** The keyword named `name` (case-sensitive), if libpq knows it. */
export const findKeyword = (name: string): Keyword | undefined => byName.get(name)

/** Whether the value of `name` is a secret that must never be quoted. */
export const isSecretKeyword = (name: string): boolean => byName.get(name)?.secret === true

/** Keyword → raw value, in the order given; what the connection-string parsers produce. */
export type RawOptions = ReadonlyMap<string, string>

/**
 * Stores `keyword=value` as libpq's `conninfo_storeval`: `requiressl` becomes `sslmode` (`require`
 * when the value starts with `1`, else `prefer`); an unknown keyword is not stored and reported as
 * `"unknown"`, for the caller to word the error (the two parsers word it differently).
 */
export const storeOption = (
  options: Map<string, string>,
  keyword: string,
  value: string
): "stored" | "unknown" => {
  if (keyword === "requiressl") {
    options.set("sslmode", value.startsWith("1") ? "require" : "prefer")
    return "stored"
  }
  if (!byName.has(keyword)) return "unknown"
  options.set(keyword, value)
  return "stored"
}
