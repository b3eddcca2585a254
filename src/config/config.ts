/**
 * Configuration from the environment, parsed once at start with zod.
 * A bad value stops the process with a message naming the variable.
 */
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const httpUrl = z
  .string()
  .refine((u) => URL.canParse(u), 'must be an absolute URL such as https://id.example.com')
  .refine((u) => /^https?:\/\//i.test(u), 'must start with http:// or https://')
  .refine((u) => !URL.canParse(u) || (!new URL(u).search && !new URL(u).hash), 'must not have a query string or fragment')
  .transform((u) => u.replace(/\/+$/, ''));

/** A whole number written in digits (no "1e3", no "0x10"), within bounds. */
const integer = (unit: string, min: number, max: number = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number${unit ? ` of ${unit}` : ''}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, max === Number.MAX_SAFE_INTEGER ? `must be at least ${min}` : `must be between ${min} and ${max}`);

const schema = z.object({
  /** 0 picks a free port (the bound address is logged). */
  PORT: integer('', 0, 65535).default(4000),
  HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  ORGWAY_PUBLIC_URL: httpUrl.optional(),
  ORGWAY_APP_URL: httpUrl.optional(),
  LOG_LEVEL: z
    .preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }))
    .default('info'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL, e.g. postgres://user:pass@db.example.com:5432/orgway')
    .refine((u) => URL.canParse(u), 'is not a valid URL (percent-encode special characters in the password)')
    .optional(),
  /** A direct (or session-mode) URL for the event listener's LISTEN connection; default DATABASE_URL. */
  DATABASE_LISTEN_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL that reaches PostgreSQL directly or through a session-mode pooler')
    .refine((u) => URL.canParse(u), 'is not a valid URL (percent-encode special characters in the password)')
    .optional(),
  /** `session`: DATABASE_URL reaches PostgreSQL directly or through a session-mode pooler; `transaction`: through a transaction-mode pooler (PgBouncer). */
  ORGWAY_DB_POOL_MODE: z
    .preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(['session', 'transaction'], { error: 'must be session or transaction' }))
    .default('session'),
  /** Named prepared statements for the hottest queries; default on, except in transaction pool mode. */
  ORGWAY_DB_PREPARED_STATEMENTS: z
    .preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(['on', 'off'], { error: 'must be on or off' }))
    .optional(),
  /** Opening a database connection gives up after this long. */
  ORGWAY_DB_CONNECT_TIMEOUT_MS: integer('milliseconds', 100, 600_000).default(5_000),
  /** A request waiting for a pooled connection (all busy) gives up after this long. */
  ORGWAY_DB_ACQUIRE_TIMEOUT_MS: integer('milliseconds', 100, 600_000).default(10_000),
  /** PostgreSQL cancels a statement running longer than this; the client gives up on the connection 2 s later. */
  ORGWAY_DB_STATEMENT_TIMEOUT_MS: integer('milliseconds', 100, 600_000).default(15_000),
  /** Connections in the pool. */
  ORGWAY_DB_POOL_MAX: integer('', 1, 1000).default(10),
  /** How often the event hub reads the log without a notification. */
  ORGWAY_EVENT_POLL_MS: integer('milliseconds', 50, 600_000).default(2_000),
  /** No completed read of the event log for this long: subscriptions are closed (1013) and /healthz fails. */
  ORGWAY_EVENT_STALL_MS: integer('milliseconds', 100, 3_600_000).default(20_000),
  ORGWAY_DATA_DIR: z.string().min(1, 'must not be empty').default('./.orgway'),
  /** Lifetime of organization access tokens in seconds; SPEC §4 caps it at 15 minutes. */
  ORGWAY_ACCESS_TOKEN_TTL: integer('seconds', 30, 900).default(600),
  ORGWAY_ACCESS_TOKEN_AUDIENCE: z.string().min(1, 'must not be empty').default('orgway'),
  /** Lifetime of browser sessions in seconds (default 14 days). */
  ORGWAY_SESSION_TTL: integer('seconds', 60).default(14 * 24 * 3600),
  /** How long SIGTERM waits for requests to finish before closing anyway. */
  ORGWAY_SHUTDOWN_TIMEOUT_MS: integer('milliseconds', 0, 600_000).default(10_000),
  /** How often open graphql-ws connections re-check their session (signOut, expiry); 0 turns the check off. */
  ORGWAY_SESSION_RECHECK_MS: integer('milliseconds', 0).default(30_000),
  /** How often expired sign-in requests, used-assertion records, email challenges and surplus sign-in failures are removed. */
  ORGWAY_HOUSEKEEPING_MS: integer('milliseconds', 1_000, 3_600_000).default(60_000),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587')
    .optional(),
  ORGWAY_MAIL_FROM: z
    .string()
    .regex(/^(?:[^<>]*<[^<>\s]+@[^<>\s]+>|[^<>\s]+@[^<>\s]+)$/, 'must be an address such as no-reply@example.com or "orgway <no-reply@example.com>"')
    .default('orgway <no-reply@localhost>'),
  /**
   * Which address is the client (Fastify trustProxy): `false` (the socket's peer), `true`
   * (the left-most X-Forwarded-For), a number of proxy hops, or trusted proxy addresses/CIDRs.
   */
  ORGWAY_TRUST_PROXY: z
    .string()
    .trim()
    .refine((v) => /^(true|false|\d{1,2})$/i.test(v) || v.split(',').every((p) => /^[0-9a-f.:/]+$/i.test(p.trim()) && p.trim() !== ''), 'must be true, false, a number of proxy hops, or comma-separated proxy addresses/CIDRs (e.g. 10.0.0.0/8,127.0.0.1)')
    .transform((v): boolean | number | string[] => (/^true$/i.test(v) ? true : /^false$/i.test(v) ? false : /^\d+$/.test(v) ? Number(v) : v.split(',').map((p) => p.trim())))
    .default(false),
  /** Unauthenticated or failed-authentication requests one client address may make per window (0 = no limit). */
  ORGWAY_RATE_LIMIT_ADDRESS: integer('requests', 0).default(1_000),
  /** Requests one valid credential (session, API token, SCIM token) may make per window (0 = no limit). */
  ORGWAY_RATE_LIMIT_CREDENTIAL: integer('requests', 0).default(20_000),
  /** Requests all credentials of one user together may make per window: sessions, API tokens, the SCIM tokens they created (0 = no limit). */
  ORGWAY_RATE_LIMIT_OWNER: integer('requests', 0).default(40_000),
  /** The rate-limit window in seconds. */
  ORGWAY_RATE_LIMIT_WINDOW: integer('seconds', 1, 3600).default(10),
  /** How often an instance adds its count of credential requests to the shared one, in milliseconds. */
  ORGWAY_RATE_LIMIT_SYNC_MS: integer('milliseconds', 10, 60_000).default(1_000),
  /** Let webhook endpoints be http and resolve to loopback/private/link-local addresses (development and tests only). */
  ORGWAY_WEBHOOK_ALLOW_PRIVATE: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false'], { error: 'must be true or false' }))
    .transform((v) => v === 'true')
    .default(false),
  /** Deadline of one webhook request, connect to last byte read. */
  ORGWAY_WEBHOOK_TIMEOUT_MS: integer('milliseconds', 1000, 60_000).default(10_000),
  /** Webhook endpoints one instance delivers to at the same time. */
  ORGWAY_WEBHOOK_CONCURRENCY: integer('', 1, 256).default(16),
  /** Unknown emails may sign up by email code or link (SPEC §7). */
  ORGWAY_EMAIL_SIGN_UP: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  /** DNS servers for domain verification, e.g. `127.0.0.1:5353,[::1]:53`; unset: the system resolver. */
  ORGWAY_DNS_SERVERS: z
    .string()
    .refine(
      (v) => v.split(',').every((s) => /^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:]+\](:\d{1,5})?|[0-9a-fA-F:]+)$/.test(s.trim())),
      'must be a comma-separated list of IP addresses with optional ports, e.g. 127.0.0.1:5353,1.1.1.1',
    )
    .optional(),
  /** Sign-in routes (/auth/*, /invitations/*): requests per client address per minute. */
  ORGWAY_AUTH_RATE_PER_ADDRESS: integer('requests per minute', 1).default(60),
  /** Email sign-in codes sent to one email per 10 minutes. */
  ORGWAY_EMAIL_RATE_PER_EMAIL: integer('emails per 10 minutes', 1).default(5),
  /** SAML responses no connection key vouches for wait their turn; KiB of them held at most (SPEC §8). */
  ORGWAY_SAML_UNVERIFIED_QUEUE_KIB: integer('KiB', 256, 4 * 1024 * 1024).default(64 * 1024),
  /** Refused SAML sign-ins recorded per connection per minute by one instance (the rest are counted, not written). */
  ORGWAY_SAML_FAILURES_PER_MINUTE: integer('records per minute', 1, 100_000).default(30),
});

export interface RateLimitConfig {
  addressPoints: number;
  credentialPoints: number;
  ownerPoints: number;
  windowSeconds: number;
  syncMs: number;
}

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  appUrl: string;
  logLevel: (typeof LOG_LEVELS)[number];
  databaseUrl: string | undefined;
  databaseListenUrl: string | undefined;
  dataDir: string;
  database: DatabaseTimeouts;
  eventPollMs: number;
  eventStallMs: number;
  accessTokenTtlSeconds: number;
  accessTokenAudience: string;
  sessionTtlSeconds: number;
  shutdownTimeoutMs: number;
  sessionRecheckMs: number;
  housekeepingMs: number;
  smtpUrl: string | undefined;
  mailFrom: string;
  trustProxy: boolean | number | string[];
  rateLimits: RateLimitConfig;
  webhookAllowPrivate: boolean;
  webhookTimeoutMs: number;
  webhookConcurrency: number;
  emailSignUp: boolean;
  /** Empty: the system resolver. */
  dnsServers: string[];
  authRatePerAddress: number;
  emailRatePerEmail: number;
  samlUnverifiedQueueBytes: number;
  samlFailuresPerMinute: number;
}

export interface DatabaseTimeouts {
  connectTimeoutMs: number;
  acquireTimeoutMs: number;
  statementTimeoutMs: number;
  poolMax: number;
  /** `transaction`: DATABASE_URL goes through a transaction-mode pooler. */
  poolMode: 'session' | 'transaction';
  preparedStatements: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Variables that may carry credentials: an error message shows them with the password masked. */
const SECRET_URLS = new Set(['DATABASE_URL', 'DATABASE_LISTEN_URL', 'SMTP_URL']);

const shown = (name: string, value: string | undefined): string => {
  if (value === undefined || !SECRET_URLS.has(name)) return JSON.stringify(value);
  return JSON.stringify(value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@'));
};

export const loadConfig = (env: Record<string, string | undefined> = process.env): Config => {
  // Empty strings count as unset, as shells and compose files often leave them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return `  ${name}: ${i.message} (got ${shown(name, cleaned[name])})`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const poolerProblems: string[] = [];
  if (e.ORGWAY_DB_POOL_MODE === 'transaction') {
    if (e.ORGWAY_DB_PREPARED_STATEMENTS === 'on')
      poolerProblems.push(
        '  ORGWAY_DB_PREPARED_STATEMENTS: must be off with ORGWAY_DB_POOL_MODE=transaction (a transaction-mode pooler such as PgBouncer 1.18 runs each transaction on any server connection, where a named statement prepared on another does not exist); remove it or set it to off (got "on")',
      );
    if (!e.DATABASE_LISTEN_URL)
      poolerProblems.push(
        '  DATABASE_LISTEN_URL: required with ORGWAY_DB_POOL_MODE=transaction (LISTEN needs one server connection for the whole session); set it to a URL that reaches PostgreSQL directly or through a session-mode pool (got nothing)',
      );
    if (!e.DATABASE_URL) poolerProblems.push('  ORGWAY_DB_POOL_MODE: transaction applies to DATABASE_URL, which is not set (the embedded database has no pooler); remove it (got "transaction")');
  }
  if (poolerProblems.length) throw new ConfigError(`Invalid configuration:\n${poolerProblems.join('\n')}`);
  if (e.ORGWAY_EVENT_STALL_MS < 2 * e.ORGWAY_EVENT_POLL_MS)
    throw new ConfigError(
      `Invalid configuration:\n  ORGWAY_EVENT_STALL_MS: must be at least twice ORGWAY_EVENT_POLL_MS (${e.ORGWAY_EVENT_POLL_MS} ms) (got "${e.ORGWAY_EVENT_STALL_MS}")`,
    );
  const publicUrl = e.ORGWAY_PUBLIC_URL ?? `http://localhost:${e.PORT}`;
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    appUrl: e.ORGWAY_APP_URL ?? `${publicUrl}/`,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    databaseListenUrl: e.DATABASE_LISTEN_URL,
    database: {
      connectTimeoutMs: e.ORGWAY_DB_CONNECT_TIMEOUT_MS,
      acquireTimeoutMs: e.ORGWAY_DB_ACQUIRE_TIMEOUT_MS,
      statementTimeoutMs: e.ORGWAY_DB_STATEMENT_TIMEOUT_MS,
      poolMax: e.ORGWAY_DB_POOL_MAX,
      poolMode: e.ORGWAY_DB_POOL_MODE,
      preparedStatements: (e.ORGWAY_DB_PREPARED_STATEMENTS ?? (e.ORGWAY_DB_POOL_MODE === 'transaction' ? 'off' : 'on')) === 'on',
    },
    eventPollMs: e.ORGWAY_EVENT_POLL_MS,
    eventStallMs: e.ORGWAY_EVENT_STALL_MS,
    dataDir: e.ORGWAY_DATA_DIR,
    accessTokenTtlSeconds: e.ORGWAY_ACCESS_TOKEN_TTL,
    accessTokenAudience: e.ORGWAY_ACCESS_TOKEN_AUDIENCE,
    sessionTtlSeconds: e.ORGWAY_SESSION_TTL,
    shutdownTimeoutMs: e.ORGWAY_SHUTDOWN_TIMEOUT_MS,
    sessionRecheckMs: e.ORGWAY_SESSION_RECHECK_MS,
    housekeepingMs: e.ORGWAY_HOUSEKEEPING_MS,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.ORGWAY_MAIL_FROM,
    trustProxy: e.ORGWAY_TRUST_PROXY,
    rateLimits: {
      addressPoints: e.ORGWAY_RATE_LIMIT_ADDRESS,
      credentialPoints: e.ORGWAY_RATE_LIMIT_CREDENTIAL,
      ownerPoints: e.ORGWAY_RATE_LIMIT_OWNER,
      windowSeconds: e.ORGWAY_RATE_LIMIT_WINDOW,
      syncMs: e.ORGWAY_RATE_LIMIT_SYNC_MS,
    },
    webhookAllowPrivate: e.ORGWAY_WEBHOOK_ALLOW_PRIVATE,
    webhookTimeoutMs: e.ORGWAY_WEBHOOK_TIMEOUT_MS,
    webhookConcurrency: e.ORGWAY_WEBHOOK_CONCURRENCY,
    emailSignUp: e.ORGWAY_EMAIL_SIGN_UP === 'true',
    dnsServers: e.ORGWAY_DNS_SERVERS ? e.ORGWAY_DNS_SERVERS.split(',').map((s) => s.trim()) : [],
    authRatePerAddress: e.ORGWAY_AUTH_RATE_PER_ADDRESS,
    emailRatePerEmail: e.ORGWAY_EMAIL_RATE_PER_EMAIL,
    samlUnverifiedQueueBytes: e.ORGWAY_SAML_UNVERIFIED_QUEUE_KIB * 1024,
    samlFailuresPerMinute: e.ORGWAY_SAML_FAILURES_PER_MINUTE,
  };
};
