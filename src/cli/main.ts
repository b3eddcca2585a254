/**
 * The `orgway` command: bootstrap, migrate, serve. Uses the container, never Fastify
 * (serve builds the server through app/server.ts).
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { createContainer } from '../app/container.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { isDomainError } from '../domain/model/index.js';
import { openDatabase } from '../persistence/orm.js';
import { serve } from './serve.js';

const USAGE = `Usage:
  orgway bootstrap --org-name <name> --admin-email <email> [--org-id <id>] [--json]
      Creates an organization, its ORG_ADMIN and an API token for that admin, and prints them.
  orgway migrate
      Applies pending database migrations.
  orgway serve [--migrate]
      Runs the gateway (the embedded database is migrated automatically; PostgreSQL needs
      'orgway migrate' first, or --migrate).

Configuration comes from the environment: DATABASE_URL, ORGWAY_DATA_DIR, PORT, HOST,
ORGWAY_PUBLIC_URL, ORGWAY_APP_URL, LOG_LEVEL, SMTP_URL (see README).`;

/** Exit codes: 0 ok, 1 failure, 2 usage, 78 configuration (EX_CONFIG). */
const fail = (message: string, code: number): never => {
  process.stderr.write(`orgway: ${message}\n`);
  process.exit(code);
};

const main = async (argv: string[]): Promise<void> => {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 78);
    throw error;
  }
  switch (command) {
    case 'migrate': {
      parseArgs({ args: rest, options: {}, strict: true });
      const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const applied = await db.orm.migrator.up();
        process.stdout.write(applied.length ? `Applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}\n` : 'The database is up to date.\n');
      } finally {
        await db.close();
      }
      return;
    }
    case 'bootstrap': {
      let values;
      try {
        ({ values } = parseArgs({
          args: rest,
          options: { 'org-name': { type: 'string' }, 'admin-email': { type: 'string' }, 'org-id': { type: 'string' }, json: { type: 'boolean' } },
          strict: true,
        }));
      } catch (error) {
        return fail(`${(error as Error).message}\n\n${USAGE}`, 2);
      }
      if (!values['org-name'] || !values['admin-email']) return fail(`bootstrap needs --org-name and --admin-email.\n\n${USAGE}`, 2);
      const container = await createContainer(config, { startBackground: false, logger: undefined });
      try {
        const r = await container.organizations.bootstrap({
          organizationName: values['org-name'],
          organizationId: values['org-id'] ?? null,
          adminEmail: values['admin-email'],
        });
        const out = {
          organization: { id: r.organization.id, name: r.organization.name },
          admin: { userId: r.userId, email: r.email, role: 'ORG_ADMIN' },
          apiToken: { id: r.apiToken.id, token: r.apiToken.token },
        };
        if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        else
          process.stdout.write(
            `Created organization ${out.organization.name} (${out.organization.id})\n` +
              `ORG_ADMIN: ${out.admin.email} (${out.admin.userId})\n` +
              `API token (shown once; use as "Authorization: Bearer <token>"):\n  ${out.apiToken.token}\n`,
          );
      } catch (error) {
        if (isDomainError(error)) fail(`${error.code}: ${error.message}`, 1);
        throw error;
      } finally {
        await container.close();
      }
      return;
    }
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { migrate: { type: 'boolean' } }, strict: true });
      await serve(values.migrate ? { migrate: true } : {});
      return;
    }
    default:
      fail(`unknown command "${command}".\n\n${USAGE}`, 2);
  }
};

await main(process.argv.slice(2));
