/**
 * Webhooks (SPEC §10) against real HTTP receivers that verify with the `standardwebhooks`
 * library: every event once and in order, retries after failures, two instances sharing the
 * work, secret rotation, disabling after the retry window, redelivery, and who may do what.
 */
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { rows, snapshot, useDatabase } from '../kit/db.js';
import { lastEventId } from '../kit/events.js';
import { type Gateway, startGateway, useGateway } from '../kit/gateway.js';
import {
  CREATE,
  DELETE,
  DELIVERIES,
  LIST,
  movableClock,
  type Receiver,
  REDELIVER,
  ROTATE,
  skipBackoff,
  startReceiver,
  UPDATE,
  waitFor,
} from '../kit/webhooks.js';
import { addMember, type Admin, ok, refused, SET_ROLE, STAGE, uniqueEmail } from '../kit/world.js';

const env = { ORGWAY_WEBHOOK_ALLOW_PRIVATE: 'true', ORGWAY_WEBHOOK_TIMEOUT_MS: '2000' };
const clock = movableClock();
const t = useDatabase();
const gw = useGateway({ t, env, clock });
const receivers: Receiver[] = [];

const receiver = async (secrets: string[] = []) => {
  const r = await startReceiver(secrets);
  receivers.push(r);
  return r;
};

// Tests that move the clock put it back: receivers verify timestamps against the real time.
afterEach(() => {
  clock.offsetMs = 0;
});
afterAll(async () => {
  for (const r of receivers) await r.close();
});

/** The organization's event ids after `after`, in id order. */
const orgEventIds = async (orgId: string, after = '0', types?: string[]): Promise<string[]> => {
  const found = await rows<{ id: string }>(t,
      `select id::text as id from membership_events where organization_id = ? and id > ?::bigint ${types ? 'and type in (select jsonb_array_elements_text(?::jsonb))' : ''} order by membership_events.id`,
      types ? [orgId, after, JSON.stringify(types)] : [orgId, after],
    );
  return found.map((r) => r.id);
};

const endpointRow = async (id: string) => {
  const [row] = await rows<Record<string, unknown>>(t, 'select * from webhook_endpoints where id = ?', [id]);
  return row!;
};

/** An endpoint of a fresh organization pointing at a fresh receiver that knows the secret. */
const setUp = async (types?: string[], g: Gateway = gw) => {
  const admin = await g.bootstrap();
  // The endpoint starts after the newest final event: let the set-up's events become final first.
  await lastEventId(t);
  const r = await receiver();
  const created = ok(await g.gql<any>(CREATE, { o: admin.orgId, url: r.url, types }, admin.token)).createWebhookEndpoint;
  r.secrets.push(created.secret);
  return { admin, r, endpointId: created.endpoint.id as string, secret: created.secret as string, start: created.endpoint.lastEventId as string };
};

/** `n` membership events in the organization: members staged, then their roles changed. */
const makeEvents = async (g: Gateway, admin: Admin, n: number): Promise<void> => {
  const users: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0 || users.length === 0) {
      const m = ok(await g.gql<any>(STAGE, { o: admin.orgId, e: uniqueEmail('hook'), r: 'MEMBER' }, admin.token)).stageUser;
      users.push(m.user.id);
    } else ok(await g.gql(SET_ROLE, { o: admin.orgId, u: users.at(-1), r: 'VIEWER' }, admin.token));
  }
};

describe('delivery', () => {
  test('create returns a whsec_ secret once; every event arrives once, in order, signed, as the log has it', async () => {
    const { admin, r, endpointId, secret, start } = await setUp();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    const stored = await endpointRow(endpointId);
    expect(stored.cursor).toBe(start);
    await makeEvents(gw, admin, 12);
    const expected = await orgEventIds(admin.orgId, start);
    expect(expected).toHaveLength(12);
    await waitFor('12 deliveries', () => r.received.length >= 12);
    await new Promise((res) => setTimeout(res, 200));
    expect(r.ids()).toEqual(expected);
    for (const m of r.received) {
      expect(m.verified, 'verified by standardwebhooks').not.toBeNull();
      expect(m.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(m.verified!.data.id).toBe(m.id);
      expect(m.verified!.data.organizationId).toBe(admin.orgId);
      expect(m.verified!.type).toBe(`membership.${String(m.verified!.data.type).toLowerCase()}`);
    }
    const first = r.received[0]!.verified!.data;
    const [event] = await rows<Record<string, unknown>>(t, 'select * from membership_events where id = ?', [expected[0]]);
    expect(first).toMatchObject({ type: event!.type, userId: event!.user_id, actor: event!.actor, role: event!.role, status: event!.status });
    // The secret is never listed; the cursor is at the last event.
    const list = ok(await gw.gql<any>(LIST, { o: admin.orgId }, admin.token)).organization.webhookEndpoints;
    expect(JSON.stringify(list)).not.toContain(secret.slice(6));
    expect(list).toEqual([expect.objectContaining({ id: endpointId, enabled: true, lastEventId: expected.at(-1) })]);
    const deliveries = ok(await gw.gql<any>(DELIVERIES, { o: admin.orgId, first: 50 }, admin.token)).organization.webhookEndpoints[0].deliveries;
    expect(deliveries.edges.map((e: any) => e.node.eventId)).toEqual([...expected].reverse());
    expect(deliveries.edges.every((e: any) => e.node.status === 'SUCCEEDED' && e.node.responseStatus === 200 && e.node.attempt === 1)).toBe(true);
    // Metrics count the outcomes.
    const metrics = await gw.container.metrics.registry.getSingleMetricAsString('orgway_webhook_deliveries_total');
    expect(metrics).toMatch(/outcome="success"\} [1-9]/);
    const exposed = await (await fetch(`${gw.url}/metrics`)).text();
    for (const name of ['orgway_webhook_deliveries_total', 'orgway_webhook_lag_events', 'orgway_webhook_endpoints_disabled']) expect(exposed).toContain(`# TYPE ${name}`);
  });

  test('only the selected event types are sent; the others move the cursor', async () => {
    const { admin, r, endpointId, start } = await setUp(['ROLE_CHANGED']);
    await makeEvents(gw, admin, 6);
    const expected = await orgEventIds(admin.orgId, start, ['ROLE_CHANGED']);
    expect(expected).toHaveLength(3);
    const all = await orgEventIds(admin.orgId, start);
    await waitFor('the cursor at the last event', async () => (await endpointRow(endpointId)).cursor === all.at(-1));
    expect(r.ids()).toEqual(expected);
  });

  test('a receiver that fails 3 times then recovers gets everything, in order, with only the failed event repeated', async () => {
    const { admin, r, endpointId, start } = await setUp();
    r.respond = (n) => (n <= 3 ? 500 : 200);
    await makeEvents(gw, admin, 5);
    const expected = await orgEventIds(admin.orgId, start);
    for (let failures = 1; failures <= 3; failures++) {
      await waitFor(`failure ${failures}`, () => r.received.length >= failures);
      await waitFor('the failure recorded', async () => Number((await endpointRow(endpointId)).attempts) === failures);
      await skipBackoff(gw, clock, endpointId);
    }
    await waitFor('all events', () => r.received.length >= 3 + expected.length);
    await new Promise((res) => setTimeout(res, 200));
    expect(r.ids()).toEqual([expected[0], expected[0], expected[0], ...expected]);
    expect(r.received.every((m) => m.verified !== null)).toBe(true);
    const deliveries = ok(await gw.gql<any>(DELIVERIES, { o: admin.orgId, first: 50 }, admin.token)).organization.webhookEndpoints[0].deliveries.edges.map(
      (e: any) => e.node,
    );
    const head = deliveries.filter((d: any) => d.eventId === expected[0]).reverse();
    expect(head.map((d: any) => [d.attempt, d.status, d.responseStatus])).toEqual([
      [1, 'FAILED', 500],
      [2, 'FAILED', 500],
      [3, 'FAILED', 500],
      [4, 'SUCCEEDED', 200],
    ]);
    expect(head[0].error).toContain('500');
    const row = await endpointRow(endpointId);
    expect(row).toMatchObject({ attempts: 0, failing_since: null, enabled: true });
  });

  test('the backoff doubles between attempts', async () => {
    const { admin, r, endpointId } = await setUp();
    r.respond = () => 503;
    await makeEvents(gw, admin, 1);
    const gaps: number[] = [];
    for (let n = 1; n <= 3; n++) {
      await waitFor(`attempt ${n}`, async () => Number((await endpointRow(endpointId)).attempts) === n);
      const row = await endpointRow(endpointId);
      const [last] = await rows<{ attempted_at: string }>(t, 'select attempted_at from webhook_deliveries where endpoint_id = ? order by id desc limit 1', [endpointId]);
      gaps.push(new Date(row.next_attempt_at as string).getTime() - new Date(last!.attempted_at).getTime());
      await skipBackoff(gw, clock, endpointId);
    }
    expect(gaps).toEqual([5_000, 10_000, 20_000]);
    // The event it is stuck on counts in the lag of the slowest endpoint.
    const lag = await gw.container.metrics.registry.getSingleMetricAsString('orgway_webhook_lag_events');
    expect(lag).toMatch(/orgway_webhook_lag_events [1-9]/);
    r.respond = () => 200;
    await skipBackoff(gw, clock, endpointId);
    await waitFor('caught up', async () => Number((await endpointRow(endpointId)).attempts) === 0);
  });

  test('a receiver that never answers does not hold up another endpoint', async () => {
    const slow = await setUp();
    slow.r.respond = () => null;
    const { admin: other, r: healthy, start } = await setUp();
    await makeEvents(gw, slow.admin, 2);
    await waitFor('the slow receiver got a request', () => slow.r.received.length >= 1);
    await makeEvents(gw, other, 4);
    const expected = await orgEventIds(other.orgId, start);
    await waitFor('the healthy receiver got everything', () => healthy.received.length >= expected.length);
    expect(healthy.ids()).toEqual(expected);
    // The slow one is still waiting on its first request.
    expect(slow.r.received).toHaveLength(1);
  });
});

describe('rotation', () => {
  test('during the overlap both secrets sign each message; after it, and without overlap, only the new one', async () => {
    const { admin, r, endpointId, secret: oldSecret } = await setUp();
    const rotated = ok(await gw.gql<any>(ROTATE, { o: admin.orgId, e: endpointId, overlap: 3600 }, admin.token)).rotateWebhookSecret;
    const newSecret = rotated.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(new Date(rotated.endpoint.previousSecretExpiresAt).getTime() - clock.now().getTime()).toBeGreaterThan(3500_000);
    await makeEvents(gw, admin, 1);
    await waitFor('a delivery', () => r.received.length >= 1);
    const m = r.received[0]!;
    const signatures = m.signature.split(' ');
    expect(signatures).toHaveLength(2);
    const headers = { 'webhook-id': m.id, 'webhook-timestamp': m.timestamp, 'webhook-signature': m.signature };
    expect(() => new Webhook(oldSecret).verify(m.body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(m.body, headers)).not.toThrow();
    // Each signature on its own is one of the two secrets'.
    expect(() => new Webhook(newSecret).verify(m.body, { ...headers, 'webhook-signature': signatures[0]! })).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(m.body, { ...headers, 'webhook-signature': signatures[1]! })).not.toThrow();

    // After the overlap window only the new secret signs.
    clock.offsetMs += 3600_000 + 1000;
    await makeEvents(gw, admin, 1);
    await waitFor('a second delivery', () => r.received.length >= 2);
    const later = r.received[1]!;
    expect(later.signature.split(' ')).toHaveLength(1);
    const laterHeaders = { 'webhook-id': later.id, 'webhook-timestamp': later.timestamp, 'webhook-signature': later.signature };
    // The receiver's clock is the real one: check the signature, not the age.
    const sign = (s: string) => new Webhook(s).sign(later.id, new Date(Number(later.timestamp) * 1000), later.body);
    expect(later.signature).toBe(sign(newSecret));
    expect(laterHeaders['webhook-signature']).not.toBe(sign(oldSecret));

    const again = ok(await gw.gql<any>(ROTATE, { o: admin.orgId, e: endpointId, overlap: 0 }, admin.token)).rotateWebhookSecret;
    expect(again.endpoint.previousSecretExpiresAt).toBeNull();
    await makeEvents(gw, admin, 1);
    await waitFor('a third delivery', () => r.received.length >= 3);
    const third = r.received[2]!;
    expect(third.signature).toBe(new Webhook(again.secret).sign(third.id, new Date(Number(third.timestamp) * 1000), third.body));
    expect(third.signature.split(' ')).toHaveLength(1);
  });
});

describe('retry window', () => {
  test('an endpoint failing for 24 hours is disabled with the reason; re-enabled, it resumes at that event', async () => {
    const { admin, r, endpointId, start } = await setUp();
    r.respond = () => 503;
    await makeEvents(gw, admin, 2);
    const expected = await orgEventIds(admin.orgId, start);
    await waitFor('the first failure', async () => Number((await endpointRow(endpointId)).attempts) === 1);
    const failingSince = new Date((await endpointRow(endpointId)).failing_since as string).getTime();
    // Still retried within the window.
    clock.offsetMs += failingSince + 23 * 3600_000 - clock.now().getTime();
    await skipBackoff(gw, clock, endpointId);
    await waitFor('a retry at 23 h', async () => Number((await endpointRow(endpointId)).attempts) === 2);
    expect((await endpointRow(endpointId)).enabled).toBe(true);
    clock.offsetMs += failingSince + 24 * 3600_000 - clock.now().getTime();
    await skipBackoff(gw, clock, endpointId);
    await waitFor('disabled', async () => (await endpointRow(endpointId)).enabled === false);
    const listed = ok(await gw.gql<any>(LIST, { o: admin.orgId }, admin.token)).organization.webhookEndpoints[0];
    expect(listed.enabled).toBe(false);
    expect(listed.disabledReason).toContain(`event ${expected[0]} could not be delivered for 24 hours`);
    expect(listed.disabledReason).toContain('503');
    expect(listed.disabledAt).toBeTruthy();
    const disabledGauge = await gw.container.metrics.registry.getSingleMetricAsString('orgway_webhook_endpoints_disabled');
    expect(disabledGauge).toMatch(/orgway_webhook_endpoints_disabled [1-9]/);

    // Nothing more is attempted while disabled.
    const attemptsBefore = r.received.length;
    clock.offsetMs += 7200_000;
    gw.container.webhookDispatcher.wake();
    await new Promise((res) => setTimeout(res, 300));
    expect(r.received.length).toBe(attemptsBefore);

    r.respond = () => 200;
    const enabled = ok(await gw.gql<any>(UPDATE, { o: admin.orgId, e: endpointId, input: { enabled: true } }, admin.token)).updateWebhookEndpoint;
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
    await waitFor('the cursor at the end', async () => (await endpointRow(endpointId)).cursor === expected.at(-1));
    expect(r.ids().slice(attemptsBefore)).toEqual(expected);
  });
});

describe('two gateway instances on one database', () => {
  test('deliver each event once', async () => {
    const second = await startGateway({ t, env, clock });
    try {
      const { admin, r, endpointId, start } = await setUp(undefined, second);
      await makeEvents(gw, admin, 10);
      await makeEvents(second, admin, 10);
      const expected = await orgEventIds(admin.orgId, start);
      expect(expected).toHaveLength(20);
      await waitFor('the cursor at the end', async () => (await endpointRow(endpointId)).cursor === expected.at(-1));
      expect(r.ids()).toEqual(expected);
      const [count] = await rows<{ n: number }>(t, 'select count(*)::int as n from webhook_deliveries where endpoint_id = ?', [endpointId]);
      expect(count!.n).toBe(20);
    } finally {
      await second.close();
    }
  });
});

describe('leases', () => {
  test('an endpoint leased by another instance is left alone until the lease ends', async () => {
    const { admin, r, endpointId, start } = await setUp();
    const lease = new Date(clock.now().getTime() + 3600_000);
    await rows(t, 'update webhook_endpoints set locked_until = ? where id = ?', [lease, endpointId]);
    await makeEvents(gw, admin, 2);
    const expected = await orgEventIds(admin.orgId, start);
    gw.container.webhookDispatcher.wake();
    await new Promise((res) => setTimeout(res, 300));
    expect(r.received).toHaveLength(0);
    // The other instance's lease expires (it stalled): this instance takes over.
    clock.offsetMs += 3600_000 + 1000;
    gw.container.webhookDispatcher.wake();
    await waitFor('the cursor at the end', async () => (await endpointRow(endpointId)).cursor === expected.at(-1));
    expect(r.ids()).toEqual(expected);
    // The lease is let go after the last slice's cursor is saved.
    await waitFor('the lease released', async () => (await endpointRow(endpointId)).locked_until === null);
  });

  test('a failing endpoint whose URL is changed is tried at once', async () => {
    const { admin, r, endpointId, secret } = await setUp();
    r.respond = () => 500;
    await makeEvents(gw, admin, 1);
    await waitFor('a failure', async () => Number((await endpointRow(endpointId)).attempts) === 1);
    const fixed = await receiver([secret]);
    ok(await gw.gql(UPDATE, { o: admin.orgId, e: endpointId, input: { url: fixed.url } }, admin.token));
    gw.container.webhookDispatcher.wake();
    await waitFor('the delivery to the new URL', () => fixed.received.length >= 1);
    expect(fixed.received[0]!.verified).not.toBeNull();
  });
});

describe('redelivery', () => {
  test('sends one event again with the same webhook-id and records the attempt', async () => {
    const { admin, r, endpointId, start } = await setUp();
    await makeEvents(gw, admin, 3);
    const expected = await orgEventIds(admin.orgId, start);
    await waitFor('3 deliveries', () => r.received.length >= 3);
    const redelivery = ok(await gw.gql<any>(REDELIVER, { o: admin.orgId, e: endpointId, ev: expected[1] }, admin.token)).redeliverWebhookEvent;
    expect(redelivery).toMatchObject({ eventId: expected[1], status: 'PENDING', redelivery: true, attempt: 2 });
    await waitFor('the redelivery', () => r.received.length >= 4);
    expect(r.ids()).toEqual([...expected, expected[1]]);
    expect(r.received[3]!.verified).not.toBeNull();
    await waitFor('the attempt recorded', async () => {
      const [row] = await rows<{ status: string }>(t, 'select status from webhook_deliveries where id = ?', [redelivery.id]);
      return row!.status === 'SUCCEEDED';
    });
    // Events of another organization, unknown events and bad ids are refused.
    const stranger = await gw.bootstrap();
    const [foreign] = await orgEventIds(stranger.orgId);
    expect(refused(await gw.gql(REDELIVER, { o: admin.orgId, e: endpointId, ev: foreign }, admin.token)).code).toBe('NOT_FOUND');
    expect(refused(await gw.gql(REDELIVER, { o: admin.orgId, e: endpointId, ev: '999999999' }, admin.token)).code).toBe('NOT_FOUND');
    expect(refused(await gw.gql(REDELIVER, { o: admin.orgId, e: endpointId, ev: 'x' }, admin.token)).code).toBe('BAD_USER_INPUT');
  });
});

describe('endpoint management', () => {
  // What the mutations write (the dispatcher moves cursors and records attempts meanwhile).
  const tables = () => snapshot(t, ['webhook_endpoints', 'webhook_redeliveries']);

  test('update changes url and types, disable stops deliveries, delete removes the endpoint and its attempts', async () => {
    const { admin, r, endpointId } = await setUp();
    const other = await receiver();
    const updated = ok(await gw.gql<any>(UPDATE, { o: admin.orgId, e: endpointId, input: { url: other.url, eventTypes: ['LEFT', 'JOINED'] } }, admin.token))
      .updateWebhookEndpoint;
    expect(updated).toMatchObject({ url: other.url, eventTypes: ['JOINED', 'LEFT'], enabled: true });
    const disabled = ok(await gw.gql<any>(UPDATE, { o: admin.orgId, e: endpointId, input: { enabled: false } }, admin.token)).updateWebhookEndpoint;
    expect(disabled.enabled).toBe(false);
    expect(disabled.disabledReason).toBe(`Disabled by user:${admin.userId}.`);
    await makeEvents(gw, admin, 1);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.received).toHaveLength(0);
    expect(other.received).toHaveLength(0);
    await rows(t, "insert into webhook_deliveries (endpoint_id, event_id, attempt, status, requested_at) values (?, 1, 1, 'FAILED', now())", [endpointId]);
    expect(ok(await gw.gql<any>(DELETE, { o: admin.orgId, e: endpointId }, admin.token)).deleteWebhookEndpoint).toBe(true);
    expect(ok(await gw.gql<any>(LIST, { o: admin.orgId }, admin.token)).organization.webhookEndpoints).toEqual([]);
    const [left] = await rows<{ n: number }>(t, 'select count(*)::int as n from webhook_deliveries where endpoint_id = ?', [endpointId]);
    expect(left!.n).toBe(0);
    expect(refused(await gw.gql(DELETE, { o: admin.orgId, e: endpointId }, admin.token)).code).toBe('NOT_FOUND');
  });

  test('non-admins are FORBIDDEN, non-members NOT_FOUND, anonymous UNAUTHENTICATED; nothing changes', async () => {
    const { admin, endpointId } = await setUp();
    const member = await addMember(gw, admin, 'ADMIN');
    const stranger = await gw.bootstrap();
    const before = await tables();
    const attempts = (token?: string) => [
      () => gw.gql(CREATE, { o: admin.orgId, url: 'http://127.0.0.1:1/x' }, token),
      () => gw.gql(UPDATE, { o: admin.orgId, e: endpointId, input: { enabled: false } }, token),
      () => gw.gql(ROTATE, { o: admin.orgId, e: endpointId }, token),
      () => gw.gql(DELETE, { o: admin.orgId, e: endpointId }, token),
      () => gw.gql(REDELIVER, { o: admin.orgId, e: endpointId, ev: '1' }, token),
    ];
    for (const run of attempts(member.token)) expect(refused(await run()).code).toBe('FORBIDDEN');
    for (const run of attempts(stranger.token)) expect(refused(await run()).code).toBe('NOT_FOUND');
    for (const run of attempts(undefined)) expect(refused(await run()).code).toBe('UNAUTHENTICATED');
    const listed = await gw.gql<any>(LIST, { o: admin.orgId }, member.token);
    expect(listed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gw.gql<any>(LIST, { o: admin.orgId }, stranger.token)).data.organization).toBeNull();
    // Another organization's admin cannot reach this endpoint through their own organization.
    for (const run of [
      () => gw.gql(UPDATE, { o: stranger.orgId, e: endpointId, input: { enabled: false } }, stranger.token),
      () => gw.gql(ROTATE, { o: stranger.orgId, e: endpointId }, stranger.token),
      () => gw.gql(DELETE, { o: stranger.orgId, e: endpointId }, stranger.token),
    ])
      expect(refused(await run()).code).toBe('NOT_FOUND');
    const principal = await gw.container.identity.authenticate(stranger.token);
    await expect(gw.container.webhooks.list(principal, admin.orgId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(gw.container.webhooks.deliveries(principal, admin.orgId, endpointId, 10, null)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await tables()).toEqual(before);
  });

  test('bad input is BAD_USER_INPUT and changes nothing', async () => {
    const { admin, endpointId } = await setUp();
    const before = await tables();
    for (const url of ['not a url', 'ftp://example.com/x', 'http://user:pass@127.0.0.1/x', 'https://example.com/x#frag', `https://example.com/${'a'.repeat(2048)}`]) {
      const e = refused(await gw.gql(CREATE, { o: admin.orgId, url }, admin.token));
      expect(e.code, url).toBe('BAD_USER_INPUT');
      expect(e.extensions.field).toBe('input.url');
    }
    expect(refused(await gw.gql(CREATE, { o: admin.orgId, url: 'http://127.0.0.1:1/x', types: [] }, admin.token)).code).toBe('BAD_USER_INPUT');
    expect(refused(await gw.gql(CREATE, { o: admin.orgId, url: 'http://127.0.0.1:1/x', types: ['NOPE'] }, admin.token)).code).toBe('BAD_USER_INPUT');
    expect(refused(await gw.gql(UPDATE, { o: admin.orgId, e: endpointId, input: { url: 'nope' } }, admin.token)).code).toBe('BAD_USER_INPUT');
    expect(refused(await gw.gql(ROTATE, { o: admin.orgId, e: endpointId, overlap: -1 }, admin.token)).code).toBe('BAD_USER_INPUT');
    expect(refused(await gw.gql(ROTATE, { o: admin.orgId, e: endpointId, overlap: 604801 }, admin.token)).code).toBe('BAD_USER_INPUT');
    const tooMany = await gw.gql<any>(`query($o: ID!) { organization(id: $o) { webhookEndpoints { deliveries(first: 101) { edges { node { id } } } } } }`, { o: admin.orgId }, admin.token);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooMany.errors?.[0]?.message).toContain('100');
    expect(refused(await gw.gql(UPDATE, { o: admin.orgId, e: 'whep_nope', input: { enabled: true } }, admin.token)).code).toBe('NOT_FOUND');
    expect(await tables()).toEqual(before);
  });

  test('attempts older than 30 days are pruned (hourly)', async () => {
    const { endpointId } = await setUp();
    const old = new Date(clock.now().getTime() - 31 * 24 * 3600_000);
    const insert = (at: Date) =>
      rows<{ id: string }>(t, "insert into webhook_deliveries (endpoint_id, event_id, attempt, status, requested_at) values (?, 1, 1, 'FAILED', ?) returning id::text as id", [
          endpointId,
          at,
        ]);
    const [stale] = await insert(old);
    const [recent] = await insert(new Date(clock.now().getTime() - 29 * 24 * 3600_000));
    clock.offsetMs += 3600_000 + 1000;
    gw.container.webhookDispatcher.wake();
    const exists = async (id: string) => (await rows<unknown>(t, 'select 1 from webhook_deliveries where id = ?', [id])).length > 0;
    await waitFor('the stale attempt pruned', async () => !(await exists(stale!.id)));
    expect(await exists(recent!.id)).toBe(true);
  });

  test('an organization has at most 20 endpoints (CONFLICT)', async () => {
    const admin = await gw.bootstrap();
    for (let i = 0; i < 20; i++) ok(await gw.gql(CREATE, { o: admin.orgId, url: `http://127.0.0.1:1/${i}` }, admin.token));
    const e = refused(await gw.gql(CREATE, { o: admin.orgId, url: 'http://127.0.0.1:1/21' }, admin.token));
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toContain('20');
  });
});
