/** loadConfig: defaults, and every variable refused with a message that names it. */
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const refusal = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
};

describe('defaults', () => {
  test('an empty environment gives the embedded database on ./.orgway, port 4000 on loopback', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      publicUrl: 'http://localhost:4000',
      appUrl: 'http://localhost:4000/',
      logLevel: 'info',
      databaseUrl: undefined,
      dataDir: './.orgway',
      accessTokenTtlSeconds: 600,
      accessTokenAudience: 'orgway',
      sessionTtlSeconds: 14 * 24 * 3600,
      shutdownTimeoutMs: 10_000,
      smtpUrl: undefined,
    });
  });

  test('values are read and normalised; empty strings count as unset', () => {
    const c = loadConfig({
      PORT: ' 8080 ',
      HOST: '0.0.0.0',
      ORGWAY_PUBLIC_URL: 'https://id.example.com/',
      ORGWAY_APP_URL: 'https://app.example.com/home',
      LOG_LEVEL: 'WARN',
      DATABASE_URL: 'postgresql://orgway:s3cret@db.example.com:5432/orgway?sslmode=require',
      ORGWAY_DATA_DIR: '',
      ORGWAY_ACCESS_TOKEN_TTL: '900',
      ORGWAY_SHUTDOWN_TIMEOUT_MS: '0',
      SMTP_URL: 'smtps://u:p@mail.example.com:465',
      ORGWAY_MAIL_FROM: 'Acme <no-reply@acme.example>',
    });
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      publicUrl: 'https://id.example.com',
      appUrl: 'https://app.example.com/home',
      logLevel: 'warn',
      databaseUrl: 'postgresql://orgway:s3cret@db.example.com:5432/orgway?sslmode=require',
      dataDir: './.orgway',
      accessTokenTtlSeconds: 900,
      shutdownTimeoutMs: 0,
      smtpUrl: 'smtps://u:p@mail.example.com:465',
      mailFrom: 'Acme <no-reply@acme.example>',
    });
    expect(loadConfig({})).toMatchObject({ emailSignUp: true, dnsServers: [], authRatePerAddress: 60, emailRatePerEmail: 5 });
    expect(loadConfig({ ORGWAY_EMAIL_SIGN_UP: 'false', ORGWAY_DNS_SERVERS: '127.0.0.1:5353, [::1]:53,1.1.1.1' })).toMatchObject({
      emailSignUp: false,
      dnsServers: ['127.0.0.1:5353', '[::1]:53', '1.1.1.1'],
    });
    // The app URL defaults to the public URL.
    expect(loadConfig({ ORGWAY_PUBLIC_URL: 'https://id.example.com' }).appUrl).toBe('https://id.example.com/');
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
  });
});

describe('refusals name the variable', () => {
  const cases: [string, string, RegExp][] = [
    ['PORT', 'abc', /must be a whole number/],
    ['PORT', '70000', /between 0 and 65535/],
    ['PORT', '-1', /whole number/],
    ['PORT', '80.5', /whole number/],
    ['PORT', '1e3', /whole number/],
    ['LOG_LEVEL', 'verbose', /must be one of fatal, error, warn, info, debug, trace, silent/],
    ['ORGWAY_PUBLIC_URL', 'id.example.com', /absolute URL/],
    ['ORGWAY_PUBLIC_URL', 'ftp://id.example.com', /http:\/\/ or https:\/\//],
    ['ORGWAY_PUBLIC_URL', 'https://id.example.com/?x=1', /query string/],
    ['ORGWAY_APP_URL', 'not a url', /absolute URL/],
    ['DATABASE_URL', 'mysql://db/orgway', /postgres:\/\/ or postgresql:\/\//],
    ['DATABASE_URL', 'postgres://user:p@ss:word@[db/orgway', /not a valid URL/],
    ['ORGWAY_ACCESS_TOKEN_TTL', '3600', /between 30 and 900/],
    ['ORGWAY_ACCESS_TOKEN_TTL', 'ten', /whole number of seconds/],
    ['ORGWAY_SESSION_TTL', '10', /at least 60/],
    ['ORGWAY_SHUTDOWN_TIMEOUT_MS', 'soon', /whole number of milliseconds/],
    ['SMTP_URL', 'mail.example.com', /smtp:\/\/ or smtps:\/\//],
    ['ORGWAY_MAIL_FROM', 'nobody', /address/],
    ['ORGWAY_EMAIL_SIGN_UP', 'yes', /true or false/],
    ['ORGWAY_DNS_SERVERS', 'dns.example.com', /IP addresses with optional ports/],
    ['ORGWAY_DNS_SERVERS', '127.0.0.1:53,', /IP addresses/],
    ['ORGWAY_AUTH_RATE_PER_ADDRESS', '0', /at least 1/],
    ['ORGWAY_EMAIL_RATE_PER_EMAIL', 'many', /whole number/],
  ];
  test.each(cases)('%s=%j', (name, value, why) => {
    const message = refusal({ [name]: value });
    const line = message.split('\n').find((l) => l.trim().startsWith(`${name}:`));
    expect(line, message).toBeDefined();
    expect(line).toMatch(why);
  });

  test('every bad variable is reported at once', () => {
    const message = refusal({ PORT: 'abc', LOG_LEVEL: 'loud', ORGWAY_PUBLIC_URL: 'nope', DATABASE_URL: 'sqlite:x' });
    for (const name of ['PORT', 'LOG_LEVEL', 'ORGWAY_PUBLIC_URL', 'DATABASE_URL']) expect(message).toContain(`${name}:`);
  });

  test('the message shows the value, but never a password', () => {
    expect(refusal({ PORT: 'abc' })).toContain('(got "abc")');
    const db = refusal({ DATABASE_URL: 'mysql://admin:hunter2@db.example.com/orgway' });
    expect(db).not.toContain('hunter2');
    expect(db).toContain('mysql://admin:***@db.example.com/orgway');
    const smtp = refusal({ SMTP_URL: 'http://u:topsecret@mail.example.com' });
    expect(smtp).not.toContain('topsecret');
  });
});

describe('database time limits and the event hub', () => {
  test('defaults: 5 s connect, 10 s acquire, 15 s statement, 10 connections; poll every 2 s, stalled after 20 s', () => {
    const c = loadConfig({});
    expect(c.database).toEqual({ connectTimeoutMs: 5_000, acquireTimeoutMs: 10_000, statementTimeoutMs: 15_000, poolMax: 10, poolMode: 'session', preparedStatements: true });
    expect(c).toMatchObject({ eventPollMs: 2_000, eventStallMs: 20_000, databaseListenUrl: undefined });
  });

  test('values are read', () => {
    const c = loadConfig({
      ORGWAY_DB_CONNECT_TIMEOUT_MS: '1000',
      ORGWAY_DB_ACQUIRE_TIMEOUT_MS: '2000',
      ORGWAY_DB_STATEMENT_TIMEOUT_MS: '3000',
      ORGWAY_DB_POOL_MAX: '4',
      ORGWAY_EVENT_POLL_MS: '500',
      ORGWAY_EVENT_STALL_MS: '1000',
      DATABASE_LISTEN_URL: 'postgres://u:p@db:5432/orgway',
    });
    expect(c.database).toEqual({ connectTimeoutMs: 1000, acquireTimeoutMs: 2000, statementTimeoutMs: 3000, poolMax: 4, poolMode: 'session', preparedStatements: true });
    expect(c).toMatchObject({ eventPollMs: 500, eventStallMs: 1000, databaseListenUrl: 'postgres://u:p@db:5432/orgway' });
  });

  test.each([
    ['ORGWAY_DB_CONNECT_TIMEOUT_MS', '0'],
    ['ORGWAY_DB_ACQUIRE_TIMEOUT_MS', '5s'],
    ['ORGWAY_DB_STATEMENT_TIMEOUT_MS', '-1'],
    ['ORGWAY_DB_POOL_MAX', '0'],
    ['ORGWAY_EVENT_POLL_MS', '10'],
    ['ORGWAY_EVENT_STALL_MS', '1e4'],
    ['DATABASE_LISTEN_URL', 'mysql://db/orgway'],
  ])('%s=%s is refused, naming the variable', (name, value) => {
    expect(refusal({ [name]: value })).toContain(name);
  });

  test('a stall time under two poll intervals is refused, naming both', () => {
    const message = refusal({ ORGWAY_EVENT_POLL_MS: '1000', ORGWAY_EVENT_STALL_MS: '1500' });
    expect(message).toContain('ORGWAY_EVENT_STALL_MS');
    expect(message).toContain('ORGWAY_EVENT_POLL_MS');
  });

  test('DATABASE_LISTEN_URL is shown with its password masked', () => {
    expect(refusal({ DATABASE_LISTEN_URL: 'postgres://u:secret@db:port/orgway' })).not.toContain('secret');
  });
});

describe('connection poolers', () => {
  const base = { DATABASE_URL: 'postgres://u:p@bouncer:6432/orgway' };

  test('default: session mode, named prepared statements on', () => {
    expect(loadConfig(base).database).toMatchObject({ poolMode: 'session', preparedStatements: true });
    expect(loadConfig({ ...base, ORGWAY_DB_PREPARED_STATEMENTS: 'off' }).database.preparedStatements).toBe(false);
  });

  test('transaction mode with a listen URL: prepared statements off by default', () => {
    const c = loadConfig({ ...base, ORGWAY_DB_POOL_MODE: 'transaction', DATABASE_LISTEN_URL: 'postgres://u:p@db:5432/orgway' });
    expect(c.database).toMatchObject({ poolMode: 'transaction', preparedStatements: false });
    expect(c.databaseListenUrl).toBe('postgres://u:p@db:5432/orgway');
  });

  test('transaction mode without DATABASE_LISTEN_URL is refused, saying what to set', () => {
    const message = refusal({ ...base, ORGWAY_DB_POOL_MODE: 'transaction' });
    expect(message).toMatch(/DATABASE_LISTEN_URL: required with ORGWAY_DB_POOL_MODE=transaction .*directly or through a session-mode pool/);
  });

  test('transaction mode with prepared statements on is refused, saying to turn them off', () => {
    const message = refusal({ ...base, ORGWAY_DB_POOL_MODE: 'transaction', DATABASE_LISTEN_URL: 'postgres://db/orgway', ORGWAY_DB_PREPARED_STATEMENTS: 'on' });
    expect(message).toMatch(/ORGWAY_DB_PREPARED_STATEMENTS: must be off with ORGWAY_DB_POOL_MODE=transaction/);
  });

  test('transaction mode without DATABASE_URL (the embedded database) is refused', () => {
    expect(refusal({ ORGWAY_DB_POOL_MODE: 'transaction', DATABASE_LISTEN_URL: 'postgres://db/orgway' })).toMatch(/ORGWAY_DB_POOL_MODE: transaction applies to DATABASE_URL/);
  });

  test.each([
    ['ORGWAY_DB_POOL_MODE', 'statement'],
    ['ORGWAY_DB_PREPARED_STATEMENTS', 'yes'],
  ])('%s=%s is refused, naming the variable', (name, value) => {
    expect(refusal({ ...base, [name]: value })).toContain(name);
  });
});
