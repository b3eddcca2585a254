/**
 * membershipChanged over real graphql-ws sockets (SPEC §4 "Events"): what each
 * viewer may stream, replay with `after` (also under concurrent commits), the end of
 * a subscription when access is lost, signOut, and the metrics.
 */
import { describe, expect, test } from 'vitest';
import { metric, useGateway } from '../kit/gateway.js';
import { endCode, eventsAfter, eventually, ids, lastEventId, record, strictlyIncreasing } from '../kit/events.js';
import { addMember, ok, REMOVE, SET_ROLE, SET_STATUS, STAGE, SWITCH, uniqueEmail } from '../kit/world.js';

const gw = useGateway({ env: { ORGWAY_SESSION_RECHECK_MS: '150' } });

const activeSubscriptions = () => gw.container.metrics.activeSubscriptions.get().then((m) => m.values[0]?.value ?? 0);

/**
 * Opens subscriptions and waits until the server has started all of them (the gauge
 * counts a stream once its snapshot is taken), so later changes are certainly live.
 */
const started = async <T>(open: () => T, count = 1): Promise<T> => {
  const base = await activeSubscriptions();
  const r = open();
  await eventually(async () => expect(await activeSubscriptions()).toBeGreaterThanOrEqual(base + count));
  return r;
};

describe('who may stream what', () => {
  test("without organizationId: the viewer's own memberships in every organization, nobody else's", async () => {
    const a = await gw.bootstrap();
    const b = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'MEMBER', 'STAGED');
    ok(await gw.gql(STAGE, { o: b.orgId, e: (await gw.container.identity.getUser(viewer.userId))!.email, r: 'VIEWER' }, b.token));
    const other = await addMember(gw, a, 'MEMBER', 'STAGED');

    const own = await started(() => record(gw.ws(viewer.token)));
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: other.userId, r: 'VIEWER' }, a.token)); // not the viewer's
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: viewer.userId, r: 'ADMIN' }, a.token));
    ok(await gw.gql(SET_STATUS, { o: b.orgId, u: viewer.userId, s: 'DISABLED' }, b.token));
    ok(await gw.gql(SWITCH, { o: a.orgId }, viewer.token)); // STAGED → ACTIVE, by the viewer

    const events = await own.until(3);
    expect(events.map((e) => [e.type, e.organizationId, e.userId, e.actor])).toEqual([
      ['ROLE_CHANGED', a.orgId, viewer.userId, `user:${a.userId}`],
      ['STATUS_CHANGED', b.orgId, viewer.userId, `user:${b.userId}`],
      ['STATUS_CHANGED', a.orgId, viewer.userId, `user:${viewer.userId}`],
    ]);
    expect(events[0]).toMatchObject({ role: 'ADMIN', previousRole: 'MEMBER', status: 'STAGED' });
    expect(events[1]).toMatchObject({ status: 'DISABLED', previousStatus: 'STAGED', role: 'VIEWER' });
    // Still running after losing access to b: the own stream is about the viewer, not an organization.
    expect(own.error).toBeUndefined();
    expect(own.completed).toBe(false);
    expect(own.events).toHaveLength(3);
    own.stop();
  });

  test("with organizationId: that organization's events, for a member who can enter it; other organizations' are not included", async () => {
    const a = await gw.bootstrap();
    const b = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'VIEWER', 'STAGED');
    const rec = await started(() => record(gw.ws(viewer.token), { organizationId: a.orgId }));

    const joined = ok(await gw.gql<any>(STAGE, { o: a.orgId, e: uniqueEmail('new') }, a.token)).stageUser.user.id;
    ok(await gw.gql(STAGE, { o: b.orgId, e: uniqueEmail('elsewhere') }, b.token)); // another organization
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: joined, r: 'ADMIN' }, a.token));
    ok(await gw.gql(REMOVE, { o: a.orgId, u: joined }, a.token));

    const events = await rec.until(3);
    expect(events.map((e) => [e.type, e.organizationId, e.userId, e.actor])).toEqual([
      ['JOINED', a.orgId, joined, `user:${a.userId}`],
      ['ROLE_CHANGED', a.orgId, joined, `user:${a.userId}`],
      ['LEFT', a.orgId, joined, `user:${a.userId}`],
    ]);
    expect(events[0]).toMatchObject({ role: 'MEMBER', status: 'STAGED', previousRole: null, previousStatus: null, teamIds: [] });
    expect(events[2]).toMatchObject({ role: null, status: null, previousRole: 'ADMIN', previousStatus: 'STAGED' });
    expect(ids(events)).toEqual(ids(await eventsAfter(gw, String(BigInt(events[0]!.id) - 1n), { organizationId: a.orgId })));
    rec.stop();
  });

  test('a non-member asking for an organization gets NOT_FOUND, also for one that does not exist', async () => {
    const a = await gw.bootstrap();
    const stranger = await gw.bootstrap();
    const before = await activeSubscriptions();
    for (const organizationId of [a.orgId, 'no-such-org']) {
      const rec = record(gw.ws(stranger.token), { organizationId });
      await rec.ended;
      expect(rec.events).toEqual([]);
      expect(rec.resultErrors).toHaveLength(1);
      expect(rec.resultErrors[0]!.extensions?.code).toBe('NOT_FOUND');
      expect(rec.resultErrors[0]!.message).toContain(organizationId);
      expect(rec.completed).toBe(true);
    }
    expect(await activeSubscriptions()).toBe(before);
  });

  test('a member who cannot enter (DISABLED, or NO_ACCESS) gets FORBIDDEN', async () => {
    const a = await gw.bootstrap();
    const disabled = await addMember(gw, a, 'MEMBER', 'STAGED');
    ok(await gw.gql(SET_STATUS, { o: a.orgId, u: disabled.userId, s: 'DISABLED' }, a.token));
    const noAccess = await addMember(gw, a, 'NO_ACCESS', 'STAGED');
    const listeners = gw.container.events.subscriberCount;
    for (const [m, why] of [
      [disabled, 'DISABLED'],
      [noAccess, 'NO_ACCESS'],
    ] as const) {
      const rec = record(gw.ws(m.token), { organizationId: a.orgId });
      await rec.ended;
      expect(endCode(rec)).toBe('FORBIDDEN');
      expect(rec.resultErrors[0]!.message).toContain(why);
      expect(rec.events).toEqual([]);
    }
    // The refused streams let go of their hub listeners.
    expect(gw.container.events.subscriberCount).toBe(listeners);
  });

  test('connection_init without a token, or with an unknown one, is refused with 4401', async () => {
    for (const token of [null, 'ogws_not-a-real-token']) {
      const rec = record(gw.ws(token));
      await rec.ended;
      expect((rec.error as { code?: number }).code).toBe(4401);
      expect(String((rec.error as { reason?: string }).reason)).toMatch(/Unauthenticated|UNAUTHENTICATED/);
      expect(rec.events).toEqual([]);
    }
  });
});

describe('after: replay, then live', () => {
  test('replays what followed `after` from the log, then continues live: no gap, no duplicate, increasing ids', async () => {
    const a = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'MEMBER', 'STAGED');
    const users: string[] = [];
    for (let i = 0; i < 4; i++) users.push(ok(await gw.gql<any>(STAGE, { o: a.orgId, e: uniqueEmail('r') }, a.token)).stageUser.user.id);
    // A client only ever holds ids the gateway gave it, which are final: wait until these are.
    await lastEventId(gw);
    const history = await eventsAfter(gw, '0', { organizationId: a.orgId });
    const after = history.at(-3)!.id; // the client saw everything up to here

    const rec = record(gw.ws(viewer.token), { organizationId: a.orgId, after });
    await rec.until(2);
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: users[0], r: 'VIEWER' }, a.token));
    ok(await gw.gql(REMOVE, { o: a.orgId, u: users[1] }, a.token));
    const events = await rec.until(4);
    await new Promise((r) => setTimeout(r, 200)); // anything extra (a duplicate) would arrive now
    const expected = await eventsAfter(gw, after, { organizationId: a.orgId });
    expect(expected).toHaveLength(4);
    expect(ids(events)).toEqual(ids(expected));
    expect(events.map((e) => e.type)).toEqual(['JOINED', 'JOINED', 'ROLE_CHANGED', 'LEFT']);
    expect(strictlyIncreasing(ids(events))).toBe(true);
    rec.stop();
  });

  test('after = 0 replays the whole history of the organization; the own stream replays only own events', async () => {
    const a = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'MEMBER', 'STAGED');
    await addMember(gw, a, 'MEMBER', 'STAGED');
    const all = await eventsAfter(gw, '0', { organizationId: a.orgId });
    const rec = record(gw.ws(viewer.token), { organizationId: a.orgId, after: '0' });
    expect(ids(await rec.until(all.length))).toEqual(ids(all));
    expect(rec.events[0]).toMatchObject({ type: 'JOINED', userId: a.userId, actor: 'cli' }); // the bootstrap
    rec.stop();

    const own = record(gw.ws(viewer.token), { after: '0' });
    const mine = await own.until(1);
    await new Promise((r) => setTimeout(r, 150));
    expect(own.events.map((e) => [e.type, e.userId, e.organizationId])).toEqual([['JOINED', viewer.userId, a.orgId]]);
    expect(mine).toHaveLength(1);
    own.stop();
  });

  test('a bad `after` is BAD_USER_INPUT, and the stream never starts', async () => {
    const a = await gw.bootstrap();
    const latest = await lastEventId(gw);
    const beyond = String(BigInt(latest) + 1000n);
    for (const after of ['abc', '-1', '1.5', ' 1', '', '99999999999999999999', '9223372036854775808', beyond]) {
      for (const organizationId of [a.orgId, null]) {
        const rec = record(gw.ws(a.token), { organizationId, after });
        await rec.ended;
        expect(rec.resultErrors.map((e) => e.extensions?.code), `after=${JSON.stringify(after)}`).toEqual(['BAD_USER_INPUT']);
        expect(rec.resultErrors[0]!.message).toMatch(/^after: /);
        expect(rec.events).toEqual([]);
      }
    }
  });

  test('a subscriber connecting with `after` while 24 changes commit concurrently from several connections gets exactly the log after `after`', async () => {
    const a = await gw.bootstrap();
    // Three admins, so the writes come from several sessions and sockets.
    const admins = [a.token];
    for (let i = 0; i < 2; i++) {
      const m = await addMember(gw, a, 'ORG_ADMIN', 'STAGED');
      admins.push(m.token);
    }
    const viewer = await addMember(gw, a, 'VIEWER', 'STAGED');
    const wsWriters = admins.map((t) => gw.ws(t));
    const mutate = (i: number) => {
      const vars = { o: a.orgId, e: uniqueEmail(`c${i}`) };
      if (i % 2 === 0) return gw.gql(STAGE, vars, admins[i % 3]).then((r) => ok(r));
      // Over graphql-ws: a mutation on the admin's socket.
      return new Promise<void>((resolve, reject) =>
        wsWriters[i % 3]!.subscribe({ query: STAGE, variables: vars }, { next: (r) => (r.errors ? reject(new Error(JSON.stringify(r.errors))) : undefined), error: reject, complete: resolve }),
      );
    };

    const first = Array.from({ length: 12 }, (_, i) => mutate(i));
    await Promise.all(first.slice(0, 4)); // some have committed
    const after = await lastEventId(gw);
    const rec = record(gw.ws(viewer.token), { organizationId: a.orgId, after });
    const rest = Array.from({ length: 12 }, (_, i) => mutate(12 + i));
    await Promise.all([...first, ...rest]);

    const expected = await eventsAfter(gw, after, { organizationId: a.orgId });
    // `after` lies in the middle: some of the 24 JOINED events before it, at least the second dozen after it.
    const all = await eventsAfter(gw, '0', { organizationId: a.orgId });
    expect(all.filter((e) => e.type === 'JOINED').length).toBe(24 + 4);
    expect(expected.length).toBeGreaterThanOrEqual(12);
    expect(expected.length).toBeLessThan(24);
    const events = await rec.until(expected.length);
    await new Promise((r) => setTimeout(r, 300));
    expect(ids(rec.events)).toEqual(ids(expected));
    expect(strictlyIncreasing(ids(events))).toBe(true);
    expect(new Set(ids(rec.events)).size).toBe(rec.events.length);
    rec.stop();
  });
});

describe('losing access ends the subscription with FORBIDDEN', () => {
  const cases = [
    ['membership DISABLED', 'STATUS_CHANGED', (o: string, u: string, t: string) => gw.gql(SET_STATUS, { o, u, s: 'DISABLED' }, t)],
    ['role NO_ACCESS', 'ROLE_CHANGED', (o: string, u: string, t: string) => gw.gql(SET_ROLE, { o, u, r: 'NO_ACCESS' }, t)],
    ['removed from the organization', 'LEFT', (o: string, u: string, t: string) => gw.gql(REMOVE, { o, u }, t)],
  ] as const;

  test.each(cases)('%s: the event arrives, then FORBIDDEN; the same socket keeps serving', async (_why, type, change) => {
    const a = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'MEMBER', 'STAGED');
    const client = gw.ws(viewer.token);
    const [org, own] = await started(() => [record(client, { organizationId: a.orgId }), record(client) /* same socket */] as const, 2);
    const gauge = await activeSubscriptions();

    ok(await change(a.orgId, viewer.userId, a.token));
    await org.ended;
    expect(org.events.map((e) => [e.type, e.userId])).toEqual([[type, viewer.userId]]);
    expect(org.completed).toBe(false);
    expect(Array.isArray(org.error)).toBe(true);
    expect(endCode(org)).toBe('FORBIDDEN');
    expect((org.error as { message: string }[])[0]!.message).toContain(a.orgId);
    await eventually(async () => expect(await activeSubscriptions()).toBe(gauge - 1));

    // The own stream on the same socket got the same event and is still live.
    await own.until(1);
    expect(own.events.map((e) => e.type)).toEqual([type]);
    const b = await gw.bootstrap();
    ok(await gw.gql(STAGE, { o: b.orgId, e: (await gw.container.identity.getUser(viewer.userId))!.email }, b.token));
    expect((await own.until(2))[1]).toMatchObject({ type: 'JOINED', organizationId: b.orgId, userId: viewer.userId });
    expect(own.error).toBeUndefined();
    own.stop();
  });

  test('a later subscription of the same viewer to that organization is refused', async () => {
    const a = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'MEMBER', 'STAGED');
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: viewer.userId, r: 'NO_ACCESS' }, a.token));
    const again = record(gw.ws(viewer.token), { organizationId: a.orgId, after: '0' });
    await again.ended;
    expect(endCode(again)).toBe('FORBIDDEN');
    expect(again.events).toEqual([]);
  });

  test('replayed history in which the viewer lost and regained access does not end the stream; others\u2019 events from that window are left out', async () => {
    const a = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'MEMBER', 'STAGED');
    const after = await lastEventId(gw);
    ok(await gw.gql(SET_STATUS, { o: a.orgId, u: viewer.userId, s: 'DISABLED' }, a.token));
    const hidden = ok(await gw.gql<any>(STAGE, { o: a.orgId, e: uniqueEmail('while-disabled') }, a.token)).stageUser.user.id;
    ok(await gw.gql(SET_STATUS, { o: a.orgId, u: viewer.userId, s: 'STAGED' }, a.token));
    const visible = ok(await gw.gql<any>(STAGE, { o: a.orgId, e: uniqueEmail('after') }, a.token)).stageUser.user.id;

    const rec = record(gw.ws(viewer.token), { organizationId: a.orgId, after });
    await rec.until(3);
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: visible, r: 'VIEWER' }, a.token)); // live
    const events = await rec.until(4);
    expect(events.map((e) => [e.type, e.userId, e.status])).toEqual([
      ['STATUS_CHANGED', viewer.userId, 'DISABLED'],
      ['STATUS_CHANGED', viewer.userId, 'STAGED'],
      ['JOINED', visible, 'STAGED'],
      ['ROLE_CHANGED', visible, 'STAGED'],
    ]);
    expect(events.some((e) => e.userId === hidden)).toBe(false);
    expect(rec.error).toBeUndefined();
    rec.stop();
  });
});

describe('refused changes, actors, metrics, lifecycle', () => {
  test('a refused mutation appends nothing: the subscriber sees only the next successful change', async () => {
    const a = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'MEMBER', 'STAGED');
    const target = await addMember(gw, a, 'MEMBER', 'STAGED');
    ok(await gw.gql(SET_STATUS, { o: a.orgId, u: target.userId, s: 'DISABLED' }, a.token));
    const rec = await started(() => record(gw.ws(viewer.token), { organizationId: a.orgId }));
    const before = await eventsAfter(gw, '0');

    const refusals = [
      [await gw.gql(SET_STATUS, { o: a.orgId, u: target.userId, s: 'ACTIVE' }, a.token), 'INVALID_TRANSITION'],
      [await gw.gql(SET_ROLE, { o: a.orgId, u: target.userId, r: 'ADMIN' }, viewer.token), 'FORBIDDEN'],
      [await gw.gql(SET_ROLE, { o: a.orgId, u: 'usr_nobody', r: 'ADMIN' }, a.token), 'NOT_FOUND'],
      [await gw.gql(STAGE, { o: a.orgId, e: 'not-an-email' }, a.token), 'BAD_USER_INPUT'],
      [await gw.gql(REMOVE, { o: a.orgId, u: a.userId }, a.token), undefined], // the last ORG_ADMIN
    ] as const;
    for (const [r, code] of refusals) {
      expect(r.errors, JSON.stringify(r.data)).toBeDefined();
      if (code) expect(r.errors![0]!.extensions?.code).toBe(code);
    }
    expect(await eventsAfter(gw, '0')).toEqual(before);

    ok(await gw.gql(SET_STATUS, { o: a.orgId, u: target.userId, s: 'STAGED' }, a.token));
    const [e] = await rec.until(1);
    await new Promise((r) => setTimeout(r, 150));
    expect(rec.events).toHaveLength(1);
    expect(e).toMatchObject({ type: 'STATUS_CHANGED', userId: target.userId, status: 'STAGED', previousStatus: 'DISABLED', actor: `user:${a.userId}` });
    expect(BigInt(e!.id)).toBeGreaterThan(BigInt(before.at(-1)!.id));
    rec.stop();
  });

  test('orgway_active_subscriptions goes up and down; orgway_membership_events_published_total counts appended events', async () => {
    const a = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'MEMBER', 'STAGED');
    await eventually(async () => expect(await metric(gw, 'orgway_active_subscriptions')).toBe(await activeSubscriptions()));
    const base = await metric(gw, 'orgway_active_subscriptions');

    const client = gw.ws(viewer.token);
    const s1 = record(client, { organizationId: a.orgId });
    const s2 = record(client);
    const s3 = record(gw.ws(a.token), { organizationId: a.orgId, after: '0' });
    await eventually(async () => expect(await metric(gw, 'orgway_active_subscriptions')).toBe(base + 3));
    // Idle subscriptions end promptly on the client's complete, without waiting for an event.
    s1.stop();
    await eventually(async () => expect(await metric(gw, 'orgway_active_subscriptions')).toBe(base + 2));
    s2.stop();
    s3.stop();
    await eventually(async () => expect(await metric(gw, 'orgway_active_subscriptions')).toBe(base));

    const published = await metric(gw, 'orgway_membership_events_published_total');
    const logBefore = (await eventsAfter(gw, '0')).length;
    ok(await gw.gql(STAGE, { o: a.orgId, e: uniqueEmail() }, a.token)); // 1 event
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: viewer.userId, r: 'ADMIN' }, a.token)); // 1 event
    await gw.gql(SET_ROLE, { o: a.orgId, u: viewer.userId, r: 'ADMIN' }, a.token); // unchanged: none
    await gw.gql(SET_STATUS, { o: a.orgId, u: viewer.userId, s: 'INVITED' }, a.token); // refused: none
    const appended = (await eventsAfter(gw, '0')).length - logBefore;
    expect(appended).toBe(2);
    expect(await metric(gw, 'orgway_membership_events_published_total')).toBe(published + appended);
  });

  test('closing the socket ends its subscriptions and releases their listeners', async () => {
    const a = await gw.bootstrap();
    const listeners = gw.container.events.subscriberCount;
    const gauge = await activeSubscriptions();
    const client = gw.ws(a.token);
    await started(() => [record(client, { organizationId: a.orgId }), record(client)], 2);
    expect(gw.container.events.subscriberCount).toBe(listeners + 2);
    await client.dispose();
    await eventually(async () => expect(gw.container.events.subscriberCount).toBe(listeners));
    await eventually(async () => expect(await activeSubscriptions()).toBe(gauge));
  });

  test('signOut ends the connections that authenticated with that session (4401), others keep running', async () => {
    const a = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'MEMBER', 'STAGED');
    const second = await gw.container.identity.createSession(viewer.userId, a.orgId, ['OPERATOR']);
    const [signedOut, kept] = await started(
      () => [record(gw.ws(viewer.token), { organizationId: a.orgId }), record(gw.ws(second.token), { organizationId: a.orgId })] as const,
      2,
    );

    ok(await gw.gql(`mutation { signOut }`, {}, viewer.token));
    await signedOut.ended;
    expect((signedOut.error as { code?: number }).code).toBe(4401);
    expect(String((signedOut.error as { reason?: string }).reason)).toContain('signed out');

    ok(await gw.gql(STAGE, { o: a.orgId, e: uniqueEmail() }, a.token));
    expect(await kept.until(1)).toHaveLength(1);
    expect(kept.error).toBeUndefined();
    kept.stop();

    // The revoked token cannot open a new connection either.
    const again = record(gw.ws(viewer.token));
    await again.ended;
    expect((again.error as { code?: number }).code).toBe(4401);
  });
});

describe('the socket', () => {
  test("a query over the socket is answered for the connection's viewer, after the upgrade request is let go", async () => {
    const a = await gw.bootstrap();
    const client = gw.ws(a.token);
    const ask = () =>
      new Promise<unknown>((resolve, reject) => {
        let result: unknown;
        client.subscribe({ query: '{ viewer { user { id email } } }' }, { next: (v) => (result = v), error: reject, complete: () => resolve(result) });
      });
    expect(await ask()).toEqual({ data: { viewer: { user: { id: a.userId, email: a.email } } } });
    // A second operation on the same connection: it still knows who is asking.
    expect(await ask()).toEqual({ data: { viewer: { user: { id: a.userId, email: a.email } } } });
    await client.dispose();
  });
});
