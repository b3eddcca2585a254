/** Organization.events (SPEC §10): the audit log as pages, filters, ORG_ADMIN only, one organization's events only. */
import { beforeAll, describe, expect, test } from 'vitest';
import { eventsAfter, lastEventId } from '../kit/events.js';
import { useGateway } from '../kit/gateway.js';
import { addMember, type Admin, ok, refused, SET_ROLE, SET_STATUS } from '../kit/world.js';

const EVENTS = `query($o: ID!, $first: Int, $after: ID, $types: [MembershipEventType!], $userId: ID) {
  organization(id: $o) {
    events(first: $first, after: $after, types: $types, userId: $userId) {
      edges { cursor node { id type organizationId userId membershipId actor role status previousRole previousStatus teamIds previousTeamIds occurredAt } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}`;

interface Node {
  id: string;
  type: string;
  organizationId: string;
  userId: string;
  actor: string;
  role: string | null;
  previousRole: string | null;
  status: string | null;
  previousStatus: string | null;
}
interface EventsPage {
  organization: {
    events: { edges: { cursor: string; node: Node }[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null } };
  } | null;
}

let admin: Admin;
let other: Admin;
let start: string;
let memberId: string;

const page = (vars: Record<string, unknown>, token = admin.token) => gw.gql<EventsPage>(EVENTS, { o: admin.orgId, ...vars }, token);

/** Every event of the admin's organization through the API, `first` at a time. */
const all = async (vars: Record<string, unknown>, first: number): Promise<Node[]> => {
  const nodes: Node[] = [];
  let after: string | null = null;
  for (;;) {
    const data: EventsPage = ok(await page({ ...vars, first, after }));
    const events = data.organization!.events;
    expect(events.edges.length).toBeLessThanOrEqual(first);
    for (const e of events.edges) expect(e.cursor).toBe(e.node.id);
    nodes.push(...events.edges.map((e) => e.node));
    expect(events.pageInfo.hasPreviousPage).toBe(after !== null);
    if (!events.pageInfo.hasNextPage) return nodes;
    expect(events.pageInfo.endCursor).toBe(events.edges.at(-1)!.cursor);
    after = events.pageInfo.endCursor;
  }
};

const gw = useGateway();
beforeAll(async () => {
  start = await lastEventId(gw);
  admin = await gw.bootstrap();
  other = await gw.bootstrap();
  const m = await addMember(gw, admin, 'MEMBER');
  memberId = m.userId;
  ok(await gw.gql(SET_ROLE, { o: admin.orgId, u: m.userId, r: 'VIEWER' }, admin.token));
  ok(await gw.gql(SET_STATUS, { o: admin.orgId, u: m.userId, s: 'DISABLED' }, admin.token));
  // Events in the other organization, interleaved, must never show up in the admin's log.
  await addMember(gw, other, 'MEMBER');
  await addMember(gw, admin, 'VIEWER');
  // The log shows final events (no older transaction in the cluster still running): wait until the set-up's are.
  await lastEventId(gw);
});

describe('Organization.events', () => {
  test('pages through the whole log oldest first, with the ids, actors and before/after values of the log', async () => {
    // Sorted here: the helper orders by the id's text.
    const expected = (await eventsAfter(gw, start))
      .filter((e) => e.organization_id === admin.orgId)
      .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    expect(expected.length).toBeGreaterThanOrEqual(6);
    for (const first of [1, 2, 100]) {
      const nodes = await all({}, first);
      expect(nodes.map((n) => n.id)).toEqual(expected.map((e) => e.id));
    }
    const nodes = await all({}, 100);
    nodes.forEach((n, i) => {
      const e = expected[i]!;
      expect(n).toMatchObject({ type: e.type, organizationId: admin.orgId, userId: e.user_id, actor: e.actor, role: e.role, previousRole: e.previous_role });
      expect(n.status).toBe(e.status);
      expect(n.previousStatus).toBe(e.previous_status);
    });
    const roleChange = nodes.find((n) => n.type === 'ROLE_CHANGED')!;
    expect(roleChange).toMatchObject({ userId: memberId, actor: `user:${admin.userId}`, previousRole: 'MEMBER', role: 'VIEWER' });
    const disabled = nodes.find((n) => n.type === 'STATUS_CHANGED' && n.status === 'DISABLED')!;
    expect(disabled).toMatchObject({ userId: memberId, previousStatus: 'ACTIVE' });
  });

  test('`after` takes an event id (as membershipChanged gives them); an empty page past the end', async () => {
    const nodes = await all({}, 100);
    const rest = ok(await page({ after: nodes[2]!.id, first: 100 })).organization!.events;
    expect(rest.edges.map((e) => e.node.id)).toEqual(nodes.slice(3).map((n) => n.id));
    const end = ok(await page({ after: nodes.at(-1)!.id })).organization!.events;
    expect(end.edges).toEqual([]);
    expect(end.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
    const none = ok(await page({ first: 0 })).organization!.events;
    expect(none.edges).toEqual([]);
    expect(none.pageInfo.hasNextPage).toBe(true);
  });

  test('filters by types and by user, alone and together, with paging', async () => {
    const nodes = await all({}, 100);
    const statusOrRole = nodes.filter((n) => n.type === 'STATUS_CHANGED' || n.type === 'ROLE_CHANGED');
    expect(statusOrRole.length).toBeGreaterThanOrEqual(3);
    expect((await all({ types: ['STATUS_CHANGED', 'ROLE_CHANGED'] }, 1)).map((n) => n.id)).toEqual(statusOrRole.map((n) => n.id));
    expect((await all({ types: ['ROLE_CHANGED', 'ROLE_CHANGED', 'STATUS_CHANGED'] }, 2)).map((n) => n.id)).toEqual(statusOrRole.map((n) => n.id));
    expect(await all({ types: ['LEFT'] }, 10)).toEqual([]);
    const mine = nodes.filter((n) => n.userId === memberId);
    expect(mine.length).toBeGreaterThanOrEqual(4);
    expect((await all({ userId: memberId }, 1)).map((n) => n.id)).toEqual(mine.map((n) => n.id));
    const both = mine.filter((n) => n.type === 'STATUS_CHANGED');
    expect((await all({ userId: memberId, types: ['STATUS_CHANGED'] }, 1)).map((n) => n.id)).toEqual(both.map((n) => n.id));
    expect((await all({ types: ['JOINED', 'ROLE_CHANGED', 'STATUS_CHANGED', 'TEAMS_CHANGED', 'LEFT'] }, 3)).map((n) => n.id)).toEqual(nodes.map((n) => n.id));
    expect(await all({ userId: other.userId }, 10)).toEqual([]);
  });

  test('first above 100, a negative first, and an after that is not an event id are BAD_USER_INPUT', async () => {
    const tooMany = refused(await page({ first: 101 }));
    expect(tooMany.code).toBe('BAD_USER_INPUT');
    expect(tooMany.message).toContain('100');
    expect(refused(await page({ first: -1 })).code).toBe('BAD_USER_INPUT');
    expect(refused(await page({ after: 'abc' })).code).toBe('BAD_USER_INPUT');
    expect(refused(await page({ after: '99999999999999999999' })).code).toBe('BAD_USER_INPUT');
  });

  test('members who are not ORG_ADMIN are refused with FORBIDDEN', async () => {
    for (const role of ['ADMIN', 'MEMBER', 'VIEWER'] as const) {
      const m = await addMember(gw, admin, role);
      const e = refused(await page({}, m.token));
      expect(e.code).toBe('FORBIDDEN');
      expect(e.message).toContain('ORG_ADMIN');
    }
    const disabledAdmin = await addMember(gw, admin, 'ORG_ADMIN', 'DISABLED');
    expect(refused(await page({}, disabledAdmin.token)).code).toBe('FORBIDDEN');
  });

  test("another organization's admin sees no organization (null), and the domain answers NOT_FOUND", async () => {
    const r = await page({}, other.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.organization).toBeNull();
    const principal = await gw.container.identity.authenticate(other.token);
    await expect(gw.container.auditLog.events(principal!, admin.orgId, { first: 10, after: null })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Its own log holds only its own events.
    const own = ok(await gw.gql<EventsPage>(EVENTS, { o: other.orgId, first: 100 }, other.token)).organization!.events;
    expect(own.edges.length).toBeGreaterThan(0);
    expect(own.edges.every((e) => e.node.organizationId === other.orgId)).toBe(true);
  });

  test('anonymous callers are UNAUTHENTICATED', async () => {
    expect(refused(await gw.gql(EVENTS, { o: admin.orgId })).code).toBe('UNAUTHENTICATED');
  });
});
