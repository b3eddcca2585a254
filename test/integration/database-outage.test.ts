/**
 * A gateway whose path to PostgreSQL breaks: a hung path (a TCP proxy that stops
 * forwarding without closing) and a stopped one (the proxy closed: connections refused).
 * Nothing hangs, every transport answers "retry later" (503, Retry-After, UNAVAILABLE),
 * the event hub stalls visibly (/healthz, subscriptions closed with 1013), and after the
 * path comes back the instance recovers and a resubscription with `after` gets everything.
 * A second instance reaches PostgreSQL directly and keeps writing through the outage.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rows, useDatabase } from '../kit/db.js';
import { eventsAfter, eventually, ids, lastEventId, record, strictlyIncreasing } from '../kit/events.js';
import { type Gateway, useGateway } from '../kit/gateway.js';
import { scimFetch } from '../kit/scim.js';
import { startTcpProxy, type TcpProxy } from '../kit/tcp-proxy.js';
import { addMember, ok, SET_ROLE, STAGE, uniqueEmail } from '../kit/world.js';

const t = useDatabase();
let proxy: TcpProxy;
let scimToken: string;

const LIMITS = {
  ORGWAY_DB_CONNECT_TIMEOUT_MS: '500',
  ORGWAY_DB_ACQUIRE_TIMEOUT_MS: '1000',
  ORGWAY_DB_STATEMENT_TIMEOUT_MS: '800',
  ORGWAY_EVENT_POLL_MS: '100',
  ORGWAY_EVENT_STALL_MS: '1500',
};

beforeAll(async () => {
  const u = new URL(t.url);
  proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
});
afterAll(() => proxy?.stop());
const a = useGateway(() => ({ t, databaseUrl: proxy.via(t.url), env: LIMITS })); // through the proxy
const b = useGateway({ t }); // direct
// The gateways close (hooks run in reverse) with the proxy forwarding again.
afterAll(async () => {
  proxy?.resume();
  await proxy?.start();
});

const get = async (gw: Gateway, path: string) => {
  const res = await fetch(`${gw.url}${path}`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
};

const post = async (gw: Gateway, query: string, variables: Record<string, unknown>, token: string) => {
  const res = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { errors?: { extensions?: { code?: string } }[] } };
};

const closeCode = (error: unknown): number | undefined => (error && typeof error === 'object' && 'code' in error ? Number((error as { code: unknown }).code) : undefined);

/** Breaks the path, checks every door answers "retry later", brings it back, checks recovery. */
const outage = async (name: string, breakPath: () => Promise<void> | void, restore: () => Promise<void> | void) => {
  const admin = await b.bootstrap();
  const viewer = await addMember(b, admin, 'MEMBER', 'STAGED');
  const sub = record(a.ws(viewer.token), { organizationId: admin.orgId });
  const staged: string[] = [];
  const stage = async () => staged.push(ok(await b.gql<any>(STAGE, { o: admin.orgId, e: uniqueEmail(name) }, admin.token)).stageUser.user.id);
  await eventually(async () => {
    await stage();
    expect(sub.events.length).toBeGreaterThan(0);
  });
  const mark = await lastEventId(b);
  await eventually(() => expect(sub.events.at(-1)?.id).toBe(mark));
  expect(ids(sub.events)).toEqual(ids(await eventsAfter(b, '0', { organizationId: admin.orgId })).slice(-sub.events.length));

  await breakPath();

  // A mutation through A: 503, Retry-After, UNAVAILABLE, and nothing changed.
  const refused = await post(a, SET_ROLE, { o: admin.orgId, u: staged[0], r: 'ADMIN' }, admin.token);
  expect(refused.status).toBe(503);
  expect(refused.retryAfter).toMatch(/^\d+$/);
  expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAVAILABLE']);

  // SCIM and SAML: 503 with Retry-After too.
  const scim = await scimFetch(a, scimToken, 'GET', '/Users');
  expect(scim.status).toBe(503);
  expect(scim.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(scim.body).toMatchObject({ status: '503' });
  const saml = await get(a, '/saml/sc_unknown/login');
  expect(saml.status).toBe(503);
  expect(saml.retryAfter).toMatch(/^\d+$/);

  // Meanwhile B writes: events A's subscriber must get after reconnecting.
  for (let i = 0; i < 3; i++) await stage();

  // The hub stalls: liveness fails, the subscription is closed with 1013 (reconnect).
  await eventually(async () => expect((await get(a, '/healthz')).status).toBe(503), 20_000);
  await sub.ended;
  expect(closeCode(sub.error)).toBe(1013);
  const ready = await get(a, '/readyz');
  expect(ready.status).toBe(503);
  expect(ready.retryAfter).toMatch(/^\d+$/);
  // A new WebSocket connection is refused with "try again later" too.
  const early = record(a.ws(viewer.token), { organizationId: admin.orgId, after: mark });
  await early.ended;
  expect(closeCode(early.error)).toBe(1013);
  // The role change was refused whole.
  const [role] = await rows<{ role: string }>(t, 'select role from memberships where user_id = ? and organization_id = ?', [staged[0], admin.orgId]);
  expect(role!.role).not.toBe('ADMIN');

  await restore();

  await eventually(async () => {
    expect((await get(a, '/readyz')).status).toBe(200);
    expect((await get(a, '/healthz')).status).toBe(200);
  }, 30_000);
  // Resubscribe with the last id seen: everything since, once, in order; then live.
  const lastSeen = sub.events.at(-1)!.id;
  const again = record(a.ws(viewer.token), { organizationId: admin.orgId, after: lastSeen });
  const expected = await eventsAfter(b, lastSeen, { organizationId: admin.orgId });
  expect(expected.length).toBeGreaterThanOrEqual(3);
  expect(ids(await again.until(expected.length, 20_000))).toEqual(ids(expected));
  await stage();
  const all = await eventsAfter(b, lastSeen, { organizationId: admin.orgId });
  expect(ids(await again.until(all.length, 20_000))).toEqual(ids(all));
  expect(strictlyIncreasing([...ids(sub.events), ...ids(again.events)])).toBe(true);
  // And A writes again.
  expect((await post(a, SET_ROLE, { o: admin.orgId, u: staged[0], r: 'ADMIN' }, admin.token)).status).toBe(200);
  again.stop();
};

describe('PostgreSQL unreachable from one instance', () => {
  beforeAll(async () => {
    const admin = await b.bootstrap();
    const r = ok(await b.gql<any>(`mutation($o: ID!, $n: String!) { createScimToken(organizationId: $o, name: $n) { token } }`, { o: admin.orgId, n: 'IdP' }, admin.token));
    scimToken = r.createScimToken.token;
  });

  test('a hung path (bytes stop, nothing closes): 503s, stalled hub, 1013, then full recovery', async () => {
    await outage(
      'hung',
      () => proxy.pause(),
      () => proxy.resume(),
    );
  });

  test('a stopped path (connections refused): 503s, stalled hub, 1013, then full recovery', async () => {
    await outage(
      'stopped',
      () => proxy.stop(),
      () => proxy.start(),
    );
  });

  test('a hung path then a stopped one, back to back: recovers again', async () => {
    await outage(
      'both',
      async () => {
        proxy.pause();
        await eventually(async () => expect((await get(a, '/healthz')).status).toBe(503), 20_000);
        await proxy.stop();
      },
      () => proxy.start(),
    );
  });
});
