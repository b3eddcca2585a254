/**
 * A fresh PostgreSQL database for one benchmark run on the machine's server
 * (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres),
 * migrated through the gateway's own migrator and dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../../src/persistence/orm.js';

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const withDatabaseName = (url: string, name: string): string => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
};

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export const createBenchDatabase = async (): Promise<BenchDatabase> => {
  const name = `orgway_bench_${randomBytes(5).toString('hex')}`;
  const host = new URL(ADMIN_URL).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host))
    throw new Error(`The benchmark only talks to a loopback PostgreSQL; ${host} is not one.`);
  await admin((c) => c.query(`create database ${name}`));
  const url = withDatabaseName(ADMIN_URL, name);
  const db = await openDatabase({ databaseUrl: url, poolMax: 2 });
  try {
    await db.orm.migrator.up();
  } finally {
    await db.close();
  }
  let dropped = false;
  return {
    name,
    url,
    async drop() {
      if (dropped) return;
      dropped = true;
      // BENCH_KEEP_DATABASE=1 keeps it for a look afterwards (EXPLAIN, psql); drop it yourself.
      if (process.env.BENCH_KEEP_DATABASE === '1') return void process.stderr.write(`kept database ${name}\n`);
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
};

/** Server facts for the report. */
export const serverVersion = (): Promise<string> =>
  admin(async (c) => (await c.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v ?? 'unknown');
