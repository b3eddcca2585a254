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
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587')
    .optional(),
  ORGWAY_MAIL_FROM: z
    .string()
    .regex(/^(?:[^<>]*<[^<>\s]+@[^<>\s]+>|[^<>\s]+@[^<>\s]+)$/, 'must be an address such as no-reply@example.com or "orgway <no-reply@example.com>"')
    .default('orgway <no-reply@localhost>'),
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
});

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  appUrl: string;
  logLevel: (typeof LOG_LEVELS)[number];
  databaseUrl: string | undefined;
  dataDir: string;
  accessTokenTtlSeconds: number;
  accessTokenAudience: string;
  sessionTtlSeconds: number;
  shutdownTimeoutMs: number;
  sessionRecheckMs: number;
  smtpUrl: string | undefined;
  mailFrom: string;
  emailSignUp: boolean;
  /** Empty: the system resolver. */
  dnsServers: string[];
  authRatePerAddress: number;
  emailRatePerEmail: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Variables that may carry credentials: an error message shows them with the password masked. */
const SECRET_URLS = new Set(['DATABASE_URL', 'SMTP_URL']);

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
  const publicUrl = e.ORGWAY_PUBLIC_URL ?? `http://localhost:${e.PORT}`;
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    appUrl: e.ORGWAY_APP_URL ?? `${publicUrl}/`,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.ORGWAY_DATA_DIR,
    accessTokenTtlSeconds: e.ORGWAY_ACCESS_TOKEN_TTL,
    accessTokenAudience: e.ORGWAY_ACCESS_TOKEN_AUDIENCE,
    sessionTtlSeconds: e.ORGWAY_SESSION_TTL,
    shutdownTimeoutMs: e.ORGWAY_SHUTDOWN_TIMEOUT_MS,
    sessionRecheckMs: e.ORGWAY_SESSION_RECHECK_MS,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.ORGWAY_MAIL_FROM,
    emailSignUp: e.ORGWAY_EMAIL_SIGN_UP === 'true',
    dnsServers: e.ORGWAY_DNS_SERVERS ? e.ORGWAY_DNS_SERVERS.split(',').map((s) => s.trim()) : [],
    authRatePerAddress: e.ORGWAY_AUTH_RATE_PER_ADDRESS,
    emailRatePerEmail: e.ORGWAY_EMAIL_RATE_PER_EMAIL,
  };
};
