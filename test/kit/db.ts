/**
 * The tests' one way to the database: a fresh, migrated PostgreSQL database per test file on
 * the machine's real server (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres),
 * dropped afterwards; `rows` to run SQL on it; `snapshot` of named table sets to prove that
 * nothing changed.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { type Database, openDatabase } from '../../src/persistence/orm.js';
import { started } from './started.js';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const withDatabaseName = (url: string, name: string): string => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

export interface TestDatabase {
  url: string;
  name: string;
  db: Database;
  /** Opens another handle on the same database (a second gateway instance). */
  open(): Promise<Database>;
  drop(): Promise<void>;
}

const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
};

export const createTestDatabase = async (options: { migrate?: boolean } = {}): Promise<TestDatabase> => {
  const name = `orgway_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = withDatabaseName(ADMIN_URL, name);
  const db = await openDatabase({ databaseUrl: url, poolMax: 5 });
  if (options.migrate !== false) await db.orm.migrator.up();
  const handles: Database[] = [db];
  return {
    url,
    name,
    db,
    async open() {
      const h = await openDatabase({ databaseUrl: url, poolMax: 5 });
      handles.push(h);
      return h;
    },
    async drop() {
      for (const h of handles) await h.close().catch(() => undefined);
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
};

/** A database for the file (or describe block): created before its tests, dropped after them. */
export const useDatabase = (options: { migrate?: boolean } = {}): TestDatabase => {
  const handle = started<TestDatabase>('useDatabase');
  beforeAll(async () => handle.set(await createTestDatabase(options)));
  afterAll(() => handle.current()?.drop());
  return handle.value;
};

/** What SQL runs on: a test database, or a gateway's (through the file's own handle, not the gateway's pool). */
export type On = TestDatabase | { t: TestDatabase };

const database = (on: On): Database => ('t' in on ? on.t.db : on.db);

/** Runs `sql` (`?` placeholders) and returns its rows. */
export const rows = <T = Record<string, any>>(on: On, sql: string, params: unknown[] = []): Promise<T[]> => database(on).em().execute<T[]>(sql, params);

/** Every row of each table, in a stable order (columns that background work moves are left out). */
const TABLES = {
  organizations: 'select * from organizations order by id',
  organization_domains: 'select * from organization_domains order by id',
  users: 'select * from users order by id',
  memberships: 'select * from memberships order by id',
  teams: 'select * from teams order by key',
  team_members: 'select * from team_members order by id',
  membership_events: 'select * from membership_events order by id',
  invitations: 'select * from invitations order by id',
  sessions: 'select * from sessions order by id',
  // The outbox sender updates delivery columns in the background; compare what a command writes.
  outbox_emails: 'select id, kind, to_address, subject, text_body from outbox_emails order by id',
  scim_users: 'select * from scim_users order by membership_id',
  scim_tokens: 'select * from scim_tokens order by id',
  saml_connections: 'select * from saml_connections order by id',
  saml_trusts: 'select * from saml_trusts order by id',
  // The dispatcher moves cursors and attempt counts in the background; compare what a command writes.
  webhook_endpoints:
    'select id, organization_id, url, event_types, secret, previous_secret, previous_secret_expires_at, enabled, disabled_reason, updated_at from webhook_endpoints order by id',
  // Redeliveries are what a command writes; other attempts are the dispatcher's.
  webhook_redeliveries: 'select id, endpoint_id, event_id from webhook_deliveries where redelivery order by id',
} as const;

export type Table = keyof typeof TABLES;

/** The tables a membership command (GraphQL) may touch. */
export const MEMBERSHIP_TABLES = ['organizations', 'users', 'memberships', 'teams', 'team_members', 'membership_events', 'outbox_emails', 'sessions'] as const satisfies readonly Table[];
/** The tables a SCIM request may touch. */
export const SCIM_TABLES = ['users', 'memberships', 'scim_users', 'teams', 'team_members', 'membership_events', 'scim_tokens', 'sessions'] as const satisfies readonly Table[];
/** The tables a SAML sign-in may touch (its failure record aside). */
export const SAML_TABLES = ['users', 'memberships', 'team_members', 'sessions', 'membership_events'] as const satisfies readonly Table[];
/** Every table a request could change. */
export const ALL = Object.keys(TABLES) as Table[];

export type Snapshot<T extends Table = Table> = Record<T, Record<string, unknown>[]>;

/** The rows of `tables` (JSON-normalised, so dates compare as text), to compare before and after. */
export const snapshot = async <T extends Table>(on: On, tables: readonly T[]): Promise<Snapshot<T>> => {
  const out = {} as Snapshot<T>;
  for (const table of tables) out[table] = JSON.parse(JSON.stringify(await rows(on, TABLES[table])));
  return out;
};
