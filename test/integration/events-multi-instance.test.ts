/**
 * How membership events travel: between two gateway instances on one PostgreSQL
 * database by LISTEN/NOTIFY, and in-process on the embedded PGlite database.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { describe, expect, test } from 'vitest';
import { createContainer } from '../../src/app/container.js';
import { buildServer } from '../../src/app/server.js';
import { loadConfig } from '../../src/config/config.js';
import { openDatabase } from '../../src/persistence/orm.js';
import { rows, useDatabase } from '../kit/db.js';
import { type Gateway, useGateway } from '../kit/gateway.js';
import { endCode, eventsAfter, eventually, ids, lastEventId, record, strictlyIncreasing } from '../kit/events.js';
import { addMember, ok, SET_ROLE, SET_STATUS, STAGE, uniqueEmail } from '../kit/world.js';

describe('two gateway instances on one database', () => {
  const t = useDatabase();
  // A poll interval far beyond the tests' waits: what arrives came by NOTIFY.
  const env = { ORGWAY_SESSION_RECHECK_MS: '150', ORGWAY_EVENT_POLL_MS: '120000', ORGWAY_EVENT_STALL_MS: '600000' };
  const a = useGateway({ t, env });
  const b = useGateway({ t, env });

  const active = (gw: Gateway) => gw.container.metrics.activeSubscriptions.get().then((m) => m.values[0]?.value ?? 0);
  const started = async <T>(gw: Gateway, open: () => T, count = 1): Promise<T> => {
    const base = await active(gw);
    const r = open();
    await eventually(async () => expect(await active(gw)).toBeGreaterThanOrEqual(base + count));
    return r;
  };

  test('a change made through instance A reaches subscribers connected to instance B, in order', async () => {
    const admin = await a.bootstrap();
    const viewer = await addMember(a, admin, 'MEMBER', 'STAGED');
    const [org, own] = await started(b, () => [record(b.ws(viewer.token), { organizationId: admin.orgId }), record(b.ws(viewer.token))] as const, 2);

    const mark = await lastEventId(a);
    // One at a time: each reaches B long before B's poll (120 s), so by NOTIFY.
    const users: string[] = [];
    for (let i = 0; i < 3; i++) {
      users.push(ok(await a.gql<any>(STAGE, { o: admin.orgId, e: uniqueEmail('x') }, admin.token)).stageUser.user.id);
      expect(await org.until(i + 1)).toHaveLength(i + 1);
    }
    for (let i = 0; i < 2; i++) users.push(ok(await a.gql<any>(STAGE, { o: admin.orgId, e: uniqueEmail('x') }, admin.token)).stageUser.user.id);
    ok(await a.gql(SET_ROLE, { o: admin.orgId, u: viewer.userId, r: 'ADMIN' }, admin.token));
    // And some at the same time.
    await Promise.all(users.map((u) => a.gql(SET_ROLE, { o: admin.orgId, u, r: 'VIEWER' }, admin.token).then(ok)));

    const expected = await eventsAfter(a, mark, { organizationId: admin.orgId });
    expect(expected).toHaveLength(11);
    const got = await org.until(11);
    expect(ids(got)).toEqual(ids(expected));
    expect(strictlyIncreasing(ids(got))).toBe(true);
    expect(got.every((e) => e.actor === `user:${admin.userId}`)).toBe(true);
    expect((await own.until(1)).map((e) => [e.type, e.userId, e.role])).toEqual([['ROLE_CHANGED', viewer.userId, 'ADMIN']]);
    // Instance A never had a subscriber: B read the log itself after A's NOTIFY.
    expect(a.container.events.subscriberCount).toBe(0);
    org.stop();
    own.stop();
  });

  test('and the other way round; `after` on B replays what A wrote', async () => {
    const admin = await b.bootstrap();
    const viewer = await addMember(b, admin, 'MEMBER', 'STAGED');
    const live = await started(a, () => record(a.ws(viewer.token), { organizationId: admin.orgId }));
    const first = ok(await b.gql<any>(STAGE, { o: admin.orgId, e: uniqueEmail('y') }, admin.token)).stageUser.user.id;
    const [e1] = await live.until(1);
    expect(e1).toMatchObject({ type: 'JOINED', userId: first });

    ok(await a.gql(SET_ROLE, { o: admin.orgId, u: first, r: 'ADMIN' }, admin.token));
    ok(await a.gql(SET_ROLE, { o: admin.orgId, u: first, r: 'VIEWER' }, admin.token));
    const replay = record(b.ws(viewer.token), { organizationId: admin.orgId, after: e1!.id });
    expect((await replay.until(2)).map((e) => e.role)).toEqual(['ADMIN', 'VIEWER']);
    expect(ids(replay.events)).toEqual(ids(await eventsAfter(a, e1!.id, { organizationId: admin.orgId })));
    live.stop();
    replay.stop();
  });

  test('a subscriber on B who loses access through A is ended with FORBIDDEN', async () => {
    const admin = await a.bootstrap();
    const viewer = await addMember(a, admin, 'MEMBER', 'STAGED');
    const rec = await started(b, () => record(b.ws(viewer.token), { organizationId: admin.orgId }));
    ok(await a.gql(SET_STATUS, { o: admin.orgId, u: viewer.userId, s: 'DISABLED' }, admin.token));
    await rec.ended;
    expect(rec.events.map((e) => [e.type, e.status])).toEqual([['STATUS_CHANGED', 'DISABLED']]);
    expect(endCode(rec)).toBe('FORBIDDEN');
  });

  test('a lost LISTEN connection is re-established, and nothing committed meanwhile is lost', async () => {
    const admin = await a.bootstrap();
    const viewer = await addMember(a, admin, 'MEMBER', 'STAGED');
    const rec = await started(b, () => record(b.ws(viewer.token), { organizationId: admin.orgId }));
    const listeners = async () =>
      (
        await rows<{ n: number }>(t, `select count(*)::int as n from pg_stat_activity where application_name = 'orgway-events' and datname = current_database()`)
      )[0]!.n;
    expect(await listeners()).toBe(2);
    await rows(t, `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'orgway-events' and datname = current_database()`);
    // Committed while nobody listens.
    const mark = await lastEventId(a);
    ok(await a.gql(STAGE, { o: admin.orgId, e: uniqueEmail('gap') }, admin.token));
    await eventually(async () => expect(await listeners()).toBe(2), 5_000);
    ok(await a.gql(STAGE, { o: admin.orgId, e: uniqueEmail('after') }, admin.token));
    const got = await rec.until(2, 8_000);
    expect(ids(got)).toEqual(ids(await eventsAfter(a, mark, { organizationId: admin.orgId })));
    rec.stop();
  });

  test('signOut on A ends the connection on B that used that session', async () => {
    const admin = await a.bootstrap();
    const viewer = await addMember(a, admin, 'MEMBER', 'STAGED');
    const rec = await started(b, () => record(b.ws(viewer.token)));
    ok(await a.gql(`mutation { signOut }`, {}, viewer.token));
    await rec.ended;
    expect((rec.error as { code?: number }).code).toBe(4401);
  });
});

describe('embedded database (PGlite)', () => {
  test('events travel in-process: a subscriber receives a change', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    await db.orm.migrator.up();
    const container = await createContainer(loadConfig({ LOG_LEVEL: 'silent', PORT: '0' }), { db });
    const server = await buildServer(container);
    try {
      await server.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = server.app.server.address() as { port: number };
      const admin = await container.organizations.bootstrap({ organizationName: 'Embedded', adminEmail: 'admin@example.com' });
      const client = createClient({
        url: `ws://127.0.0.1:${port}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${admin.apiToken.token}` },
        retryAttempts: 0,
      });
      const rec = record(client, { organizationId: admin.organization.id });
      await eventually(async () => expect((await container.metrics.activeSubscriptions.get()).values[0]?.value).toBe(1));

      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.apiToken.token}` },
        body: JSON.stringify({ query: STAGE, variables: { o: admin.organization.id, e: 'new@example.com' } }),
      });
      expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
      const [e] = await rec.until(1);
      expect(e).toMatchObject({ type: 'JOINED', organizationId: admin.organization.id, actor: `user:${admin.userId}`, status: 'STAGED' });
      await client.dispose();
    } finally {
      await server.drain();
      await db.close();
    }
  });
});
