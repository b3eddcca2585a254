/**
 * orgway behind a real PgBouncer in transaction pooling mode (started by the test on a
 * free port, its configuration in a temporary directory): with ORGWAY_DB_POOL_MODE=transaction
 * (no named prepared statements) and LISTEN over its own direct URL, every mutation and
 * query works, on a fresh start and on the next one, and events reach subscribers; a
 * configuration that cannot work is refused at start with what to change.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createContainer } from '../../src/app/container.js';
import { loadConfig } from '../../src/config/config.js';
import { PoolerConfigurationError } from '../../src/persistence/pooler-checks.js';
import { openDatabase } from '../../src/persistence/orm.js';
import { useDatabase } from '../kit/db.js';
import { eventsAfter, eventually, ids, record, strictlyIncreasing } from '../kit/events.js';
import { type Gateway, startGateway } from '../kit/gateway.js';
import { type PgBouncer, pgbouncerMissing, startPgbouncer } from '../kit/pgbouncer.js';
import { addMember, ok, SET_ROLE, STAGE, uniqueEmail } from '../kit/world.js';

const missing = pgbouncerMissing();
if (missing) process.stderr.write(`${missing}\n`);

const VIEWER = `query { viewer { user { id email } organizations(first: 50) { edges { node { id name } } } } }`;

describe.skipIf(missing !== null)('behind PgBouncer 1.18 in transaction mode', () => {
  const t = useDatabase();
  let bouncer: PgBouncer;
  let viaBouncer: string;
  beforeAll(async () => {
    const u = new URL(t.url);
    bouncer = await startPgbouncer({ host: u.hostname, port: Number(u.port || 5432), user: decodeURIComponent(u.username) || 'postgres' });
    viaBouncer = bouncer.via(t.url);
  });
  afterAll(() => bouncer?.stop());

  const env = () => ({ ORGWAY_DB_POOL_MODE: 'transaction', DATABASE_LISTEN_URL: t.url });

  /** Many concurrent mutations and hot queries through one gateway; a subscriber gets every event. */
  const workload = async (gw: Gateway) => {
    const admin = await gw.bootstrap();
    const viewer = await addMember(gw, admin, 'MEMBER', 'STAGED');
    const sub = record(gw.ws(viewer.token), { organizationId: admin.orgId });
    await eventually(async () => expect((await gw.container.metrics.activeSubscriptions.get()).values[0]?.value).toBeGreaterThan(0));
    const staged = await Promise.all(
      Array.from({ length: 24 }, async () => ok(await gw.gql<any>(STAGE, { o: admin.orgId, e: uniqueEmail('bouncer') }, admin.token)).stageUser.user.id as string),
    );
    const results = await Promise.all([
      ...staged.map((u) => gw.gql<any>(SET_ROLE, { o: admin.orgId, u, r: 'VIEWER' }, admin.token)),
      ...Array.from({ length: 24 }, () => gw.gql<any>(VIEWER, {}, viewer.token)),
    ]);
    for (const r of results) expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    const expected = await eventsAfter(gw, '0', { organizationId: admin.orgId });
    const got = await sub.until(expected.length - 2); // the stream began after the admin's and the viewer's JOINED
    expect(ids(got)).toEqual(ids(expected).slice(-got.length));
    expect(got.length).toBe(48);
    expect(strictlyIncreasing(ids(got))).toBe(true);
    sub.stop();
  };

  test('every mutation and query works, and events reach subscribers, on a fresh start and on the next one', async () => {
    for (let start = 0; start < 2; start++) {
      const gw = await startGateway({ t, databaseUrl: viaBouncer, env: env() });
      try {
        expect(gw.container.db.sql.prepared).toBe(gw.container.db.sql.execute); // no named statements
        await workload(gw);
        expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
      } finally {
        await gw.close();
      }
    }
  });

  test('DATABASE_URL through the transaction pooler without ORGWAY_DB_POOL_MODE=transaction is refused at start, saying what to set', async () => {
    const config = loadConfig({ DATABASE_URL: viaBouncer, LOG_LEVEL: 'silent', DATABASE_LISTEN_URL: t.url });
    const db = await openDatabase({ databaseUrl: viaBouncer, poolMax: 2, transactionPooler: true });
    try {
      const attempt = createContainer(config, { db });
      await expect(attempt).rejects.toBeInstanceOf(PoolerConfigurationError);
      await expect(attempt).rejects.toThrow(/transaction-mode pooler.*ORGWAY_DB_POOL_MODE=transaction.*DATABASE_LISTEN_URL/);
    } finally {
      await db.close();
    }
  });

  test('LISTEN through the transaction pooler (DATABASE_LISTEN_URL pointing at it) is refused at start, saying what to set', async () => {
    const config = loadConfig({ DATABASE_URL: viaBouncer, LOG_LEVEL: 'silent', ORGWAY_DB_POOL_MODE: 'transaction', DATABASE_LISTEN_URL: viaBouncer, ORGWAY_DB_CONNECT_TIMEOUT_MS: '1500' });
    const db = await openDatabase({ databaseUrl: viaBouncer, poolMax: 2, transactionPooler: true, preparedStatements: false });
    try {
      const attempt = createContainer(config, { db });
      await expect(attempt).rejects.toBeInstanceOf(PoolerConfigurationError);
      await expect(attempt).rejects.toThrow(/did not receive a test notification.*DATABASE_LISTEN_URL/);
    } finally {
      await db.close();
    }
  });

  test('a direct DATABASE_URL passes the pooler check (the check tells the two apart)', async () => {
    const gw = await startGateway({ t });
    try {
      expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});
