/**
 * A fresh, migrated PostgreSQL database per test file on the machine's real server
 * (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/persistence/orm.js';

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
