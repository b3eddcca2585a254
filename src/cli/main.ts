/**
 * The `orgway` command: bootstrap, grant-admin, migrate, serve, rotate-signing-key. Uses the container,
 * never Fastify (serve builds the server through app/server.ts).
 *
 * stdout carries only the command's result (so `--json` output is pure JSON); logs go to
 * stderr at `warn` or quieter. Exit codes: 0 ok, 1 failure, 2 usage or an invalid flag
 * value, 78 invalid configuration (EX_CONFIG).
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import type { Container } from '../app/container.js';
import { type Config, ConfigError, loadConfig } from '../config/config.js';
import { checkName, checkOrganizationId, isDomainError, normalizeEmail } from '../domain/model/index.js';
import { DataDirLockedError, lockDataDir } from './data-dir-lock.js';

// The database, ORM and server are imported when a command needs them, so usage errors
// and --help answer at once. Production mode unless told otherwise (see src/main.ts);
// it must be set before graphql loads.
process.env.NODE_ENV ??= 'production';

const USAGE = `Usage:
  orgway bootstrap --org-name <name> --admin-email <email> [--org-id <id>] [--json]
      Creates an organization, its ORG_ADMIN and an API token for that admin, and prints them.
  orgway grant-admin --org-id <id> --admin-email <email> [--json]
      Recovery: makes that user an ACTIVE ORG_ADMIN of the organization (creating user and
      membership when needed) and prints an OPERATOR API token for them.
  orgway migrate
      Applies pending database migrations (safe to run again).
  orgway serve [--migrate]
      Runs the gateway (the embedded database is migrated automatically; PostgreSQL needs
      'orgway migrate' first, or --migrate).
  orgway rotate-signing-key [--json]
      Makes a new access-token signing key; tokens signed by the old one stay verifiable
      until they expire.

Configuration comes from the environment: DATABASE_URL, ORGWAY_DATA_DIR, PORT, HOST,
ORGWAY_PUBLIC_URL, ORGWAY_APP_URL, LOG_LEVEL, SMTP_URL (see README).`;

class CliExit extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

const usageError = (message: string): CliExit => new CliExit(`${message}\n\n${USAGE}`, 2);

/** Writes to stdout and resolves once the data is handed to the OS (before process.exit). */
const out = (text: string): Promise<void> => new Promise((resolve, reject) => process.stdout.write(text, (e) => (e ? reject(e) : resolve())));

type FlagSpec = Record<string, { type: 'string' | 'boolean' }>;
type FlagValues = Record<string, string | boolean | undefined>;

const parse = (args: string[], options: FlagSpec): FlagValues => {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (error) {
    throw usageError((error as Error).message);
  }
};

/** Logs of a CLI run: stderr, never more verbose than `warn` unless LOG_LEVEL asks for less. */
const cliLogger = async (config: Config) => {
  const { pino } = await import('pino');
  const quieter = ['error', 'fatal', 'silent'].includes(config.logLevel);
  return pino({ level: quieter ? config.logLevel : 'warn', base: { service: 'orgway' } }, pino.destination(2));
};

/** The embedded database admits one process at a time (see data-dir-lock.ts). */
const lockEmbedded = (config: Config): void => {
  if (config.databaseUrl) return;
  try {
    lockDataDir(config.dataDir);
  } catch (error) {
    if (error instanceof DataDirLockedError) throw new CliExit(error.message, 1);
    throw error;
  }
};

const openContainer = async (config: Config): Promise<Container> => {
  lockEmbedded(config);
  const { createContainer, NotMigratedError } = await import('../app/container.js');
  try {
    return await createContainer(config, { startBackground: false, logger: await cliLogger(config) });
  } catch (error) {
    if (error instanceof NotMigratedError) throw new CliExit(error.message, 1);
    throw new CliExit(`cannot open the database: ${(error as Error).message}`, 1);
  }
};

/** Validates a flag value with the domain's rules; the message names the flag. */
const flag = <T>(check: () => T): T => {
  try {
    return check();
  } catch (error) {
    if (isDomainError(error)) throw new CliExit(error.message, 2);
    throw error;
  }
};

const bootstrap = async (config: Config, args: string[]): Promise<void> => {
  const values = parse(args, {
    'org-name': { type: 'string' },
    'admin-email': { type: 'string' },
    'org-id': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return out(`${USAGE}\n`);
  const orgName = values['org-name'] as string | undefined;
  const adminEmail = values['admin-email'] as string | undefined;
  const orgId = values['org-id'] as string | undefined;
  const missing = [!orgName && '--org-name', !adminEmail && '--admin-email'].filter(Boolean);
  if (missing.length) throw usageError(`bootstrap needs ${missing.join(' and ')}.`);
  // Checked before the database is opened, with the domain's rules.
  const input = {
    organizationName: flag(() => checkName(orgName!, '--org-name')),
    adminEmail: flag(() => normalizeEmail(adminEmail!, '--admin-email')),
    organizationId: orgId === undefined ? null : flag(() => checkOrganizationId(orgId, '--org-id')),
  };
  const container = await openContainer(config);
  try {
    const r = await container.organizations.bootstrap(input);
    const result = {
      organization: { id: r.organization.id, name: r.organization.name },
      admin: { userId: r.userId, email: r.email, role: 'ORG_ADMIN' },
      apiToken: { id: r.apiToken.id, token: r.apiToken.token },
    };
    await out(
      values.json
        ? `${JSON.stringify(result, null, 2)}\n`
        : `Created organization ${result.organization.name} (${result.organization.id})\n` +
            `ORG_ADMIN: ${result.admin.email} (${result.admin.userId})\n` +
            `API token (shown once; use as "Authorization: Bearer <token>"):\n  ${result.apiToken.token}\n`,
    );
  } catch (error) {
    if (isDomainError(error)) throw new CliExit(`${error.code}: ${error.message}`, 1);
    throw error;
  } finally {
    await container.close();
  }
};

const grantAdmin = async (config: Config, args: string[]): Promise<void> => {
  const values = parse(args, { 'org-id': { type: 'string' }, 'admin-email': { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) return out(`${USAGE}\n`);
  const orgId = values['org-id'] as string | undefined;
  const adminEmail = values['admin-email'] as string | undefined;
  const missing = [!orgId && '--org-id', !adminEmail && '--admin-email'].filter(Boolean);
  if (missing.length) throw usageError(`grant-admin needs ${missing.join(' and ')}.`);
  const input = {
    organizationId: flag(() => checkOrganizationId(orgId!, '--org-id')),
    adminEmail: flag(() => normalizeEmail(adminEmail!, '--admin-email')),
  };
  const container = await openContainer(config);
  try {
    const r = await container.organizations.grantAdmin(input);
    const result = {
      organization: { id: r.organization.id, name: r.organization.name },
      admin: { userId: r.userId, email: r.email, role: 'ORG_ADMIN', status: 'ACTIVE' },
      apiToken: { id: r.apiToken.id, token: r.apiToken.token, authentications: ['OPERATOR'] },
    };
    await out(
      values.json
        ? `${JSON.stringify(result, null, 2)}\n`
        : `${result.admin.email} (${result.admin.userId}) is now an ACTIVE ORG_ADMIN of ${result.organization.name} (${result.organization.id})\n` +
            `OPERATOR API token (shown once; use as "Authorization: Bearer <token>"):\n  ${result.apiToken.token}\n`,
    );
  } catch (error) {
    if (isDomainError(error)) throw new CliExit(`${error.code}: ${error.message}`, 1);
    throw error;
  } finally {
    await container.close();
  }
};

const migrate = async (config: Config, args: string[]): Promise<void> => {
  if (parse(args, {}).help) return out(`${USAGE}\n`);
  lockEmbedded(config);
  const { openDatabase } = await import('../persistence/orm.js');
  let db;
  try {
    db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  } catch (error) {
    throw new CliExit(`cannot open the database: ${(error as Error).message}`, 1);
  }
  try {
    const applied = await db.orm.migrator.up();
    await out(applied.length ? `Applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}\n` : 'The database is up to date.\n');
  } catch (error) {
    throw new CliExit(`migration failed, nothing of it was applied: ${(error as Error).message}`, 1);
  } finally {
    await db.close();
  }
};

const rotateSigningKey = async (config: Config, args: string[]): Promise<void> => {
  const values = parse(args, { json: { type: 'boolean' } });
  if (values.help) return out(`${USAGE}\n`);
  const container = await openContainer(config);
  try {
    const kid = await container.tokens.rotate();
    const published = (await container.tokens.jwks()).keys.map((k) => k.kid);
    await out(values.json ? `${JSON.stringify({ kid, published })}\n` : `New signing key ${kid}; published keys: ${published.join(', ')}\n`);
  } finally {
    await container.close();
  }
};

const main = async (argv: string[]): Promise<void> => {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') return out(`${USAGE}\n`);
  if (!['bootstrap', 'grant-admin', 'migrate', 'serve', 'rotate-signing-key'].includes(command)) throw usageError(`unknown command "${command}".`);
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliExit(error.message, 78);
    throw error;
  }
  switch (command) {
    case 'bootstrap':
      return bootstrap(config, rest);
    case 'grant-admin':
      return grantAdmin(config, rest);
    case 'migrate':
      return migrate(config, rest);
    case 'rotate-signing-key':
      return rotateSigningKey(config, rest);
    case 'serve': {
      const values = parse(rest, { migrate: { type: 'boolean' } });
      if (values.help) return out(`${USAGE}\n`);
      // Keeps running until a signal drains it.
      const { serve } = await import('./serve.js');
      return serve({ config, ...(values.migrate ? { migrate: true } : {}) });
    }
  }
};

const command = process.argv[2];
main(process.argv.slice(2)).then(
  () => {
    // serve keeps the process alive; every other command is done.
    if (command !== 'serve') process.exit(0);
  },
  (error: unknown) => {
    if (error instanceof CliExit) {
      process.stderr.write(`orgway: ${error.message}\n`);
      process.exit(error.code);
    }
    process.stderr.write(`orgway: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
