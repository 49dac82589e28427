/**
 * `ConnectConfig`: the one resolved connection configuration that every layer of effect-pg reads, and
 * `ConnectConfigInput`: what a user writes (any subset of fields, plus a connection string).
 *
 * What it does: defines both records and the libpq option types (`SslMode`, `ChannelBinding`, ...);
 * field names are the camelCase of libpq's keywords (`sslmode`, `channelBinding`,
 * `keepalivesIdle`, `sslMinProtocolVersion`), except `dbname`, which is `database`.
 *
 * What it does NOT do: parse or merge (Resolve.ts), read files (PgPass.ts, Tls.ts), or connect.
 *
 * Invariants of a `ConnectConfig` (built only by `resolve`): every libpq rule has been checked
 * (enumerations, integers, list lengths, `sslrootcert=system` and `sslnegotiation=direct` need a strong
 * sslmode, min ≤ max protocol versions); `hosts` is non-empty; `user` and `database` are non-empty;
 * `password`, when set, is a `Redacted` or an Effect yielding one, so a config prints no secret.
 */
import type { Duration, Effect, Redacted } from "effect"
import type { HostSpec } from "./Hosts.ts"
import type { RequireAuth } from "./RequireAuth.ts"
import type { ProtocolVersion, TlsVersion } from "./Values.ts"

export type { HostSpec } from "./Hosts.ts"
export type { AuthMethod, RequireAuth } from "./RequireAuth.ts"
export type { ProtocolVersion, TlsVersion } from "./Values.ts"

export const sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const
/** libpq `sslmode`; the default is `prefer` (`verify-full` when `sslrootcert=system`). */
export type SslMode = (typeof sslModes)[number]

export const sslNegotiations = ["postgres", "direct"] as const
/** libpq 17 `sslnegotiation`: `postgres` (SSLRequest first) or `direct` (TLS at once, ALPN). */
export type SslNegotiation = (typeof sslNegotiations)[number]

export const sslCertModes = ["disable", "allow", "require"] as const
/** libpq 16 `sslcertmode`: whether to send a client certificate. Default `allow`. */
export type SslCertMode = (typeof sslCertModes)[number]

export const channelBindings = ["disable", "prefer", "require"] as const
/** libpq `channel_binding` (SCRAM-SHA-256-PLUS). Default `prefer`. */
export type ChannelBinding = (typeof channelBindings)[number]

export const gssEncModes = ["disable", "prefer", "require"] as const
/** libpq `gssencmode`. effect-pg has no GSSAPI encryption: `require` is refused, `prefer` = `disable`. */
export type GssEncMode = (typeof gssEncModes)[number]

export const targetSessionAttrsValues = [
  "any",
  "read-write",
  "read-only",
  "primary",
  "standby",
  "prefer-standby"
] as const
/** libpq `target_session_attrs`. Default `any`. */
export type TargetSessionAttrs = (typeof targetSessionAttrsValues)[number]

export const loadBalanceHostsValues = ["disable", "random"] as const
/** libpq 16 `load_balance_hosts`. Default `disable`. */
export type LoadBalanceHosts = (typeof loadBalanceHostsValues)[number]

/**
 * A password: a fixed `Redacted`, or an Effect run at every connect that yields a fresh one (rotating
 * cloud IAM tokens). A failure of the Effect fails the connect with a `PgConfigError`
 * (`PasswordSource`) whose `cause` is the failure.
 */
export type PasswordSource = Redacted.Redacted<string> | Effect.Effect<Redacted.Redacted<string>, unknown>

/** Our default for `maxMessageSize`: 1 GiB, PostgreSQL's own limit for most messages. */
export const defaultMaxMessageSize = 1024 * 1024 * 1024

/** Our default for `statementCacheSize`: prepared statements kept per connection. */
export const defaultStatementCacheSize = 100

/** The resolved configuration. Build it with `resolve` (or `make`); never by hand. */
export interface ConnectConfig {
  readonly _tag: "ConnectConfig"
  /** The servers to try, in order (libpq multi-host). */
  readonly hosts: ReadonlyArray<HostSpec>
  readonly database: string
  readonly user: string
  readonly password: PasswordSource | undefined
  /** The password file consulted at connect time when no password is given (`~/.pgpass`). */
  readonly passfile: string | undefined
  readonly sslmode: SslMode
  readonly sslnegotiation: SslNegotiation
  /** A root CA file, or `system`; defaults to `~/.postgresql/root.crt` (used only if it exists). */
  readonly sslrootcert: string | undefined
  /** Client certificate; defaults to `~/.postgresql/postgresql.crt` (used only if it exists). */
  readonly sslcert: string | undefined
  /** Client key; defaults to `~/.postgresql/postgresql.key`. */
  readonly sslkey: string | undefined
  readonly sslpassword: Redacted.Redacted<string> | undefined
  /** Certificate revocation list; defaults to `~/.postgresql/root.crl` (used only if it exists). */
  readonly sslcrl: string | undefined
  /** Send the host name in the TLS SNI extension (libpq: the value starts with `1`). */
  readonly sslsni: boolean
  readonly sslcertmode: SslCertMode
  readonly sslMinProtocolVersion: TlsVersion | undefined
  readonly sslMaxProtocolVersion: TlsVersion | undefined
  readonly channelBinding: ChannelBinding
  readonly requireAuth: RequireAuth
  readonly gssencmode: GssEncMode
  readonly applicationName: string | undefined
  readonly fallbackApplicationName: string | undefined
  /** Per host; `undefined` = wait forever. libpq: whole seconds, 1 counts as 2, ≤ 0 means none. */
  readonly connectTimeout: Duration.Duration | undefined
  readonly keepalives: boolean
  /** Seconds; `undefined` = the system default (libpq: unset). */
  readonly keepalivesIdle: number | undefined
  readonly keepalivesInterval: number | undefined
  readonly keepalivesCount: number | undefined
  /** The command-line options sent as the `options` startup parameter (`-c search_path=x`). */
  readonly options: string
  /** The `replication` startup parameter: a walsender session, logical or physical; absent: none. */
  readonly replication?: "database" | "physical" | undefined
  /** Extra startup parameters (ours; plus PGDATESTYLE/PGTZ/PGGEQO from the environment). */
  readonly params: Readonly<Record<string, string>>
  readonly targetSessionAttrs: TargetSessionAttrs
  readonly loadBalanceHosts: LoadBalanceHosts
  readonly minProtocolVersion: ProtocolVersion
  readonly maxProtocolVersion: ProtocolVersion
  /**
   * Ours: retry a host once with protocol 3.0 when it answers the 3.2 StartupMessage with a FATAL
   * 08P01 (protocol violation) instead of NegotiateProtocolVersion, as PgBouncer 1.18 does. True
   * when `max_protocol_version` was not set (the 3.2 is our default, not the user's demand) and
   * the minimum is 3.0: docs/decisions/018-protocol-fallback-for-poolers.md. Absent means false.
   */
  readonly protocolFallback?: boolean
  /** Largest backend message accepted, in bytes (ours; default 1 GiB). */
  readonly maxMessageSize: number
  /**
   * How many statements each connection keeps prepared (ours; default 100, 0 disables). Set 0
   * behind a pooler in transaction mode that does not track named statements (PgBouncer < 1.21).
   */
  readonly statementCacheSize: number
  /** A pre-computed GSSAPI token to answer AuthenticationGSS with (ours). */
  readonly gssToken: Uint8Array | undefined
}

/** A string, or a list joined with commas (libpq multi-host syntax). */
export type ListInput<A> = A | ReadonlyArray<A>

/**
 * What a user writes. Every field is optional; empty strings count as absent (libpq's
 * `PQconnectdbParams` rule). Fields win over `url`, which wins over the environment.
 */
export interface ConnectConfigInput {
  /** A connection string: `postgresql://...` / `postgres://...`, or libpq `key=value` pairs. */
  readonly url?: string | undefined
  /**
   * A section of a connection service file (libpq `service`, PGSERVICE): its values fill what
   * the other fields and `url` leave unset, before the environment (docs/config.md).
   */
  readonly service?: string | undefined
  readonly host?: ListInput<string> | undefined
  readonly hostaddr?: ListInput<string> | undefined
  readonly port?: ListInput<number | string> | undefined
  /** The host list as records; cannot be combined with host, hostaddr or port. */
  readonly hosts?:
    | ReadonlyArray<{
        readonly host?: string | undefined
        readonly hostaddr?: string | undefined
        readonly port?: number | undefined
      }>
    | undefined
  readonly database?: string | undefined
  readonly user?: string | undefined
  readonly password?: PasswordSource | undefined
  readonly passfile?: string | undefined
  readonly sslmode?: SslMode | undefined
  readonly sslnegotiation?: SslNegotiation | undefined
  readonly sslrootcert?: string | undefined
  readonly sslcert?: string | undefined
  readonly sslkey?: string | undefined
  readonly sslpassword?: Redacted.Redacted<string> | undefined
  readonly sslcrl?: string | undefined
  readonly sslsni?: boolean | undefined
  readonly sslcertmode?: SslCertMode | undefined
  readonly sslMinProtocolVersion?: TlsVersion | "" | undefined
  readonly sslMaxProtocolVersion?: TlsVersion | "" | undefined
  readonly channelBinding?: ChannelBinding | undefined
  /** libpq syntax: `scram-sha-256`, `password,md5`, `!password,!md5`, `none`... */
  readonly requireAuth?: string | undefined
  readonly gssencmode?: GssEncMode | undefined
  readonly applicationName?: string | undefined
  readonly fallbackApplicationName?: string | undefined
  /** Seconds with libpq's rules (1 → 2, ≤ 0 → none), or a Duration used exactly (ours). */
  readonly connectTimeout?: number | Duration.Duration | undefined
  readonly keepalives?: boolean | undefined
  readonly keepalivesIdle?: number | undefined
  readonly keepalivesInterval?: number | undefined
  readonly keepalivesCount?: number | undefined
  /**
   * Command-line options for the server: one string as libpq takes it (`-c search_path=x`), or a
   * list of arguments, each escaped here (`["-c", "search_path=my schema"]`).
   */
  readonly options?: string | ReadonlyArray<string> | undefined
  /**
   * A walsender session (`replication=database` / `true`): only the simple protocol works on it;
   * Replication.connect is the API made for it.
   */
  readonly replication?: "database" | "physical" | boolean | undefined
  readonly params?: Readonly<Record<string, string>> | undefined
  readonly targetSessionAttrs?: TargetSessionAttrs | undefined
  readonly loadBalanceHosts?: LoadBalanceHosts | undefined
  readonly minProtocolVersion?: ProtocolVersion | "latest" | undefined
  readonly maxProtocolVersion?: ProtocolVersion | "latest" | undefined
  readonly maxMessageSize?: number | undefined
  readonly statementCacheSize?: number | undefined
  readonly gssToken?: Uint8Array | undefined
}

/** Anything the library accepts as a configuration: a connection string, an input, or a resolved config. */
export type ConnectInput = string | ConnectConfigInput | ConnectConfig

/** Whether `u` is a resolved `ConnectConfig`. */
export const isConnectConfig = (u: unknown): u is ConnectConfig =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "ConnectConfig"
