/**
 * Configuration from the environment, parsed once at start with zod.
 * A bad value stops the process with a message naming the variable.
 */
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const httpUrl = z
  .string()
  .url('must be an absolute URL such as https://id.example.com')
  .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
  .transform((u) => u.replace(/\/+$/, ''));

const schema = z.object({
  PORT: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be between 0 and 65535')
    .max(65535, 'must be between 0 and 65535')
    .default(4000),
  HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  ORGWAY_PUBLIC_URL: httpUrl.optional(),
  ORGWAY_APP_URL: httpUrl.optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  ORGWAY_DATA_DIR: z.string().min(1, 'must not be empty').default('./.orgway'),
  /** Lifetime of organization access tokens in seconds; SPEC §4 caps it at 15 minutes. */
  ORGWAY_ACCESS_TOKEN_TTL: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(30, 'must be at least 30 seconds')
    .max(900, 'must be at most 900 seconds (15 minutes)')
    .default(600),
  ORGWAY_ACCESS_TOKEN_AUDIENCE: z.string().min(1, 'must not be empty').default('orgway'),
  /** Lifetime of browser sessions in seconds (default 14 days). */
  ORGWAY_SESSION_TTL: z.coerce.number({ error: 'must be a number of seconds' }).int().min(60).default(14 * 24 * 3600),
  /** How long SIGTERM waits for requests to finish before closing anyway. */
  ORGWAY_SHUTDOWN_TIMEOUT_MS: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(0).default(10_000),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587')
    .optional(),
  ORGWAY_MAIL_FROM: z.string().min(3).default('orgway <no-reply@localhost>'),
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
  smtpUrl: string | undefined;
  mailFrom: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const loadConfig = (env: Record<string, string | undefined> = process.env): Config => {
  // Empty strings count as unset, as shells and compose files often leave them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(cleaned[String(i.path[0])])})`);
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
    smtpUrl: e.SMTP_URL,
    mailFrom: e.ORGWAY_MAIL_FROM,
  };
};
