/**
 * Memberships over GraphQL against a real gateway and PostgreSQL: the status machine
 * of SPEC §1 through every mutation that moves it, last-ORG_ADMIN protection, the
 * events each change appends (and that refused commands append nothing), effective
 * permissions and access tokens, Viewer.organizations and Organization.members paging,
 * and API tokens / sign-out.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import type { UserStatus } from '../../src/domain/model/index.js';
import { MEMBERSHIP_TABLES, rows, snapshot } from '../kit/db.js';
import { eventsAfter, lastEventId } from '../kit/events.js';
import { useGateway } from '../kit/gateway.js';
import {
  addMember,
  type Admin,
  expectNothingChanged,
  INVITE,
  jwtPayload,
  membershipRow,
  ok,
  refused,
  REMOVE,
  rowXmin,
  SET_ROLE,
  SET_STATUS,
  STAGE,
  SWITCH,
  uniqueEmail,
  refusedUnchanged as refusedUnchangedIn,
} from '../kit/world.js';

const gw = useGateway();
beforeAll(async () => {
  // Keep outbox rows as the use case wrote them (the sender would update them, and their xmin).
  await gw.container.outbox.stop();
});

const actorOf = (a: { userId: string }) => `user:${a.userId}`;

const refusedUnchanged = (code: string, run: () => Promise<any>) => refusedUnchangedIn(gw, code, run);

describe('stageUser', () => {
  test('adds a new user as STAGED (MANUAL, default role MEMBER) and appends JOINED in the same transaction', async () => {
    const a = await gw.bootstrap();
    const after = await lastEventId(gw);
    const email = uniqueEmail('Staged').replace('staged', 'StAgEd');
    const m = ok(await gw.gql<any>(STAGE, { o: a.orgId, e: `  ${email.toUpperCase()} ` }, a.token)).stageUser;
    expect(m).toMatchObject({ role: 'MEMBER', status: 'STAGED', source: 'MANUAL', user: { email: email.toLowerCase() } });

    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'JOINED',
      organization_id: a.orgId,
      user_id: m.user.id,
      membership_id: m.id,
      actor: actorOf(a),
      role: 'MEMBER',
      status: 'STAGED',
      previous_role: null,
      previous_status: null,
      team_ids: [],
    });
    // The membership row and its event were written by one transaction.
    expect(await rowXmin(gw, 'memberships', 'id = ?', [m.id])).toBe(events[0]!.xmin);
  });

  test('links an existing identity (email compared lower-cased): one user, a membership per organization', async () => {
    const a = await gw.bootstrap();
    const b = await gw.bootstrap();
    const email = uniqueEmail('linked');
    const inA = ok(await gw.gql<any>(STAGE, { o: a.orgId, e: email, r: 'VIEWER' }, a.token)).stageUser;
    const inB = ok(await gw.gql<any>(STAGE, { o: b.orgId, e: email.toUpperCase(), r: 'ADMIN' }, b.token)).stageUser;
    expect(inB.user.id).toBe(inA.user.id);
    expect(inB.role).toBe('ADMIN');
    const [row] = await rows<{ n: number }>(gw, 'select count(*)::int as n from users where email = ?', [email]);
    expect(row!.n).toBe(1);
  });

  test.each(['STAGED', 'INVITED', 'ACTIVE', 'DISABLED'] as UserStatus[])(
    'refuses an existing %s member with INVALID_TRANSITION naming what is allowed, and changes nothing',
    async (status) => {
      const a = await gw.bootstrap();
      const u = await addMember(gw, a, 'MEMBER', status);
      const e = await refusedUnchanged('INVALID_TRANSITION', () => gw.gql(STAGE, { o: a.orgId, e: u.email }, a.token));
      expect(e.message).toContain(status);
      expect(e.message).toMatch(/allowed/i);
      expect(e.message).toContain('setMembershipStatus');
      expect(e.extensions.allowed).toBeDefined();
    },
  );
});

describe('inviteUser', () => {
  test('invites a new user: INVITED, JOINED event and an outbox_emails row, all in one transaction', async () => {
    const a = await gw.bootstrap('Invite Co');
    const after = await lastEventId(gw);
    const email = uniqueEmail('invitee');
    const m = ok(await gw.gql<any>(INVITE, { o: a.orgId, e: email, r: 'VIEWER' }, a.token)).inviteUser;
    expect(m).toMatchObject({ role: 'VIEWER', status: 'INVITED', source: 'MANUAL' });
    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'JOINED', actor: actorOf(a), role: 'VIEWER', status: 'INVITED', user_id: m.user.id });
    const mails = await rows<{ id: string; subject: string; text_body: string; xmin: string }>(gw,
        'select id, subject, text_body, xmin::text as xmin from outbox_emails where to_address = ?',
        [email],
      );
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('You are invited to Invite Co');
    expect(mails[0]!.text_body).toContain(a.email);
    const xmin = await rowXmin(gw, 'memberships', 'id = ?', [m.id]);
    expect(mails[0]!.xmin).toBe(xmin);
    expect(events[0]!.xmin).toBe(xmin);
  });

  test('invites a STAGED member: STATUS_CHANGED (and ROLE_CHANGED for a new role), one email', async () => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', 'STAGED');
    const after = await lastEventId(gw);
    const m = ok(await gw.gql<any>(INVITE, { o: a.orgId, e: u.email, r: 'ADMIN' }, a.token)).inviteUser;
    expect(m).toMatchObject({ role: 'ADMIN', status: 'INVITED' });
    const events = await eventsAfter(gw, after);
    expect(events.map((e) => e.type).sort()).toEqual(['ROLE_CHANGED', 'STATUS_CHANGED']);
    expect(events.find((e) => e.type === 'ROLE_CHANGED')).toMatchObject({ role: 'ADMIN', previous_role: 'MEMBER', actor: actorOf(a) });
    expect(events.find((e) => e.type === 'STATUS_CHANGED')).toMatchObject({ status: 'INVITED', previous_status: 'STAGED', actor: actorOf(a) });
    expect(new Set(events.map((e) => e.xmin)).size).toBe(1);
    const [n] = await rows<{ n: number }>(gw, 'select count(*)::int as n from outbox_emails where to_address = ?', [u.email]);
    expect(n!.n).toBe(1);
  });

  test('invites a STAGED member with the same role: only STATUS_CHANGED', async () => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', 'STAGED');
    const after = await lastEventId(gw);
    ok(await gw.gql(INVITE, { o: a.orgId, e: u.email }, a.token));
    expect((await eventsAfter(gw, after)).map((e) => e.type)).toEqual(['STATUS_CHANGED']);
  });

  test.each(['INVITED', 'ACTIVE', 'DISABLED'] as UserStatus[])('refuses a %s member: INVALID_TRANSITION, no email, nothing changed', async (status) => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', status);
    const e = await refusedUnchanged('INVALID_TRANSITION', () => gw.gql(INVITE, { o: a.orgId, e: u.email }, a.token));
    expect(e.message).toContain(status);
    expect(e.message).toMatch(/allowed/i);
  });
});

describe('switchOrganization', () => {
  test.each(['STAGED', 'INVITED'] as UserStatus[])('%s becomes ACTIVE, last visited and current, with an access token', async (from) => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'VIEWER', from);
    const session = await gw.container.identity.createSession(u.userId, null, ['OPERATOR']);
    const after = await lastEventId(gw);
    const s = ok(await gw.gql<any>(SWITCH, { o: a.orgId }, session.token)).switchOrganization;
    expect(s.membership).toMatchObject({ status: 'ACTIVE', role: 'VIEWER', permissions: ['organization:read'] });
    expect(s.membership.lastVisitedAt).not.toBeNull();
    expect(s.viewer.currentOrganization.id).toBe(a.orgId);
    expect(s.accessToken.organizationId).toBe(a.orgId);
    expect(jwtPayload(s.accessToken.token)).toMatchObject({ sub: u.userId, org: a.orgId, role: 'VIEWER', perms: ['organization:read'] });

    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'STATUS_CHANGED', status: 'ACTIVE', previous_status: from, actor: actorOf(u), user_id: u.userId });
    expect(await rowXmin(gw, 'memberships', 'organization_id = ? and user_id = ?', [a.orgId, u.userId])).toBe(events[0]!.xmin);
    // The session now starts there.
    const v = ok(await gw.gql<any>('{ viewer { currentOrganization { id } user { lastVisitedOrganization { id } } } }', {}, session.token));
    expect(v.viewer.currentOrganization.id).toBe(a.orgId);
    expect(v.viewer.user.lastVisitedOrganization.id).toBe(a.orgId);
  });

  test('ACTIVE stays ACTIVE: no event, but the visit is recorded', async () => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', 'ACTIVE');
    const before = await membershipRow(gw, a.orgId, u.userId);
    const after = await lastEventId(gw);
    const s = ok(await gw.gql<any>(SWITCH, { o: a.orgId }, u.token)).switchOrganization;
    expect(s.membership.status).toBe('ACTIVE');
    expect(await eventsAfter(gw, after)).toEqual([]);
    expect(await membershipRow(gw, a.orgId, u.userId)).toEqual(before);
  });

  test('a DISABLED membership is never re-activated: FORBIDDEN, nothing changed', async () => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', 'DISABLED');
    const e = await refusedUnchanged('FORBIDDEN', () => gw.gql(SWITCH, { o: a.orgId }, u.token));
    expect(e.message).toContain('DISABLED');
  });

  test.each(['STAGED', 'ACTIVE'] as UserStatus[])('NO_ACCESS (%s) cannot enter: FORBIDDEN, nothing changed', async (status) => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'NO_ACCESS', 'STAGED');
    if (status === 'ACTIVE') {
      // ACTIVE first, then NO_ACCESS (as a SAML assertion would).
      ok(await gw.gql(SET_ROLE, { o: a.orgId, u: u.userId, r: 'MEMBER' }, a.token));
      ok(await gw.gql(SWITCH, { o: a.orgId }, u.token));
      ok(await gw.gql(SET_ROLE, { o: a.orgId, u: u.userId, r: 'NO_ACCESS' }, a.token));
    }
    const e = await refusedUnchanged('FORBIDDEN', () => gw.gql(SWITCH, { o: a.orgId }, u.token));
    expect(e.message).toContain('NO_ACCESS');
  });

  test('entering while an admin disables the membership never leaves it ACTIVE', async () => {
    const a = await gw.bootstrap();
    for (let i = 0; i < 8; i++) {
      const u = await addMember(gw, a, 'MEMBER', i % 2 ? 'STAGED' : 'INVITED');
      const [entered, disabled] = await Promise.all([
        gw.gql<any>(SWITCH, { o: a.orgId }, u.token),
        gw.gql<any>(SET_STATUS, { o: a.orgId, u: u.userId, s: 'DISABLED' }, a.token),
      ]);
      expect(disabled.errors).toBeUndefined();
      if (entered.errors) expect(entered.errors[0]!.extensions!.code).toBe('FORBIDDEN');
      expect((await membershipRow(gw, a.orgId, u.userId))!.status).toBe('DISABLED');
    }
  });

  test('an organization the user is not a member of is NOT_FOUND', async () => {
    const a = await gw.bootstrap();
    const b = await gw.bootstrap();
    await refusedUnchanged('NOT_FOUND', () => gw.gql(SWITCH, { o: b.orgId }, a.token));
    await refusedUnchanged('NOT_FOUND', () => gw.gql(SWITCH, { o: 'no-such-org' }, a.token));
  });
});

describe('setMembershipStatus', () => {
  test.each(['STAGED', 'INVITED', 'ACTIVE'] as UserStatus[])('%s → DISABLED appends STATUS_CHANGED', async (from) => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'ADMIN', from);
    const after = await lastEventId(gw);
    const m = ok(await gw.gql<any>(SET_STATUS, { o: a.orgId, u: u.userId, s: 'DISABLED' }, a.token)).setMembershipStatus;
    expect(m).toMatchObject({ status: 'DISABLED', role: 'ADMIN' });
    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'STATUS_CHANGED',
      actor: actorOf(a),
      user_id: u.userId,
      organization_id: a.orgId,
      status: 'DISABLED',
      previous_status: from,
      role: 'ADMIN',
      previous_role: 'ADMIN',
    });
    expect(await rowXmin(gw, 'memberships', 'id = ?', [m.id])).toBe(events[0]!.xmin);
  });

  test('DISABLED → STAGED; the user may then enter again and becomes ACTIVE', async () => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', 'DISABLED');
    const after = await lastEventId(gw);
    expect(ok(await gw.gql<any>(SET_STATUS, { o: a.orgId, u: u.userId, s: 'STAGED' }, a.token)).setMembershipStatus.status).toBe('STAGED');
    expect(ok(await gw.gql<any>(SWITCH, { o: a.orgId }, u.token)).switchOrganization.membership.status).toBe('ACTIVE');
    const events = await eventsAfter(gw, after);
    expect(events.map((e) => [e.type, e.previous_status, e.status, e.actor])).toEqual([
      ['STATUS_CHANGED', 'DISABLED', 'STAGED', actorOf(a)],
      ['STATUS_CHANGED', 'STAGED', 'ACTIVE', actorOf(u)],
    ]);
  });

  test.each(['STAGED', 'INVITED', 'ACTIVE', 'DISABLED'] as UserStatus[])('%s → the same status is a no-op: no event, row untouched', async (status) => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', status);
    const before = await snapshot(gw, MEMBERSHIP_TABLES);
    const m = ok(await gw.gql<any>(SET_STATUS, { o: a.orgId, u: u.userId, s: status }, a.token)).setMembershipStatus;
    expect(m.status).toBe(status);
    expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
  });

  const REFUSED: [UserStatus, UserStatus, string[]][] = [
    ['STAGED', 'INVITED', ['DISABLED']],
    ['STAGED', 'ACTIVE', ['DISABLED']],
    ['INVITED', 'STAGED', ['DISABLED']],
    ['INVITED', 'ACTIVE', ['DISABLED']],
    ['ACTIVE', 'STAGED', ['DISABLED']],
    ['ACTIVE', 'INVITED', ['DISABLED']],
    ['DISABLED', 'INVITED', ['DISABLED', 'STAGED']],
    ['DISABLED', 'ACTIVE', ['DISABLED', 'STAGED']],
  ];
  test.each(REFUSED)('%s → %s is INVALID_TRANSITION naming what is allowed, nothing changed', async (from, to, allowed) => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', from);
    const e = await refusedUnchanged('INVALID_TRANSITION', () => gw.gql(SET_STATUS, { o: a.orgId, u: u.userId, s: to }, a.token));
    expect(e.message).toContain(`from ${from} to ${to}`);
    expect(e.message).toContain(`allowed: ${allowed.join(', ')}`);
    expect(e.extensions).toMatchObject({ from, to, allowed });
  });

  test('a user who is not a member is NOT_FOUND', async () => {
    const a = await gw.bootstrap();
    const b = await gw.bootstrap();
    await refusedUnchanged('NOT_FOUND', () => gw.gql(SET_STATUS, { o: a.orgId, u: b.userId, s: 'DISABLED' }, a.token));
    await refusedUnchanged('NOT_FOUND', () => gw.gql(SET_STATUS, { o: a.orgId, u: 'usr_nobody', s: 'DISABLED' }, a.token));
  });
});

describe('setMembershipRole and removeMember', () => {
  test('role change appends ROLE_CHANGED with before and after; the same role is a no-op', async () => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'VIEWER', 'ACTIVE');
    const after = await lastEventId(gw);
    const m = ok(await gw.gql<any>(SET_ROLE, { o: a.orgId, u: u.userId, r: 'ORG_ADMIN' }, a.token)).setMembershipRole;
    expect(m.role).toBe('ORG_ADMIN');
    expect(m.permissions).toContain('members:manage');
    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'ROLE_CHANGED',
      actor: actorOf(a),
      role: 'ORG_ADMIN',
      previous_role: 'VIEWER',
      status: 'ACTIVE',
      previous_status: 'ACTIVE',
    });
    await expectNothingChanged(gw, async () => ok(await gw.gql(SET_ROLE, { o: a.orgId, u: u.userId, r: 'ORG_ADMIN' }, a.token)));
  });

  test('removeMember deletes the membership and its team memberships, keeps the user, appends LEFT', async () => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', 'ACTIVE');
    ok(await gw.gql(`mutation($o: ID!) { createTeam(organizationId: $o, input: { id: "t1", name: "T1" }) { id } }`, { o: a.orgId }, a.token));
    ok(await gw.gql(`mutation($o: ID!, $u: ID!) { addTeamMembers(organizationId: $o, teamId: "t1", userIds: [$u]) { id } }`, { o: a.orgId, u: u.userId }, a.token));
    const mem = await membershipRow(gw, a.orgId, u.userId);
    const after = await lastEventId(gw);
    expect(ok(await gw.gql<any>(REMOVE, { o: a.orgId, u: u.userId }, a.token)).removeMember).toBe(true);
    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'LEFT',
      actor: actorOf(a),
      membership_id: mem!.id,
      role: null,
      status: null,
      previous_role: 'MEMBER',
      previous_status: 'ACTIVE',
    });
    expect(await membershipRow(gw, a.orgId, u.userId)).toBeUndefined();
    const [tm] = await rows<{ n: number }>(gw, 'select count(*)::int as n from team_members where membership_id = ?', [mem!.id]);
    expect(tm!.n).toBe(0);
    expect(await gw.container.identity.getUser(u.userId)).not.toBeNull();
    // The removed user no longer sees the organization.
    expect(ok(await gw.gql<any>('query($o: ID!) { organization(id: $o) { id } }', { o: a.orgId }, u.token)).organization).toBeNull();
    // Removing again: NOT_FOUND, nothing changed.
    await refusedUnchanged('NOT_FOUND', () => gw.gql(REMOVE, { o: a.orgId, u: u.userId }, a.token));
  });
});

describe('the last ORG_ADMIN', () => {
  test('cannot be demoted, set to NO_ACCESS, disabled or removed (CONFLICT, nothing changed)', async () => {
    const a = await gw.bootstrap();
    for (const r of ['ADMIN', 'MEMBER', 'VIEWER', 'NO_ACCESS']) {
      const e = await refusedUnchanged('CONFLICT', () => gw.gql(SET_ROLE, { o: a.orgId, u: a.userId, r }, a.token));
      expect(e.message).toContain('without an ORG_ADMIN');
    }
    await refusedUnchanged('CONFLICT', () => gw.gql(SET_STATUS, { o: a.orgId, u: a.userId, s: 'DISABLED' }, a.token));
    await refusedUnchanged('CONFLICT', () => gw.gql(REMOVE, { o: a.orgId, u: a.userId }, a.token));
  });

  test('a DISABLED or NO_ACCESS second ORG_ADMIN does not count', async () => {
    const a = await gw.bootstrap();
    await addMember(gw, a, 'ORG_ADMIN', 'DISABLED');
    const noAccess = await addMember(gw, a, 'MEMBER', 'ACTIVE');
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: noAccess.userId, r: 'NO_ACCESS' }, a.token));
    await refusedUnchanged('CONFLICT', () => gw.gql(SET_ROLE, { o: a.orgId, u: a.userId, r: 'ADMIN' }, a.token));
    await refusedUnchanged('CONFLICT', () => gw.gql(REMOVE, { o: a.orgId, u: a.userId }, a.token));
  });

  test('with another ORG_ADMIN who can enter, an admin may step down, and is then refused admin mutations', async () => {
    const a = await gw.bootstrap();
    const other = await addMember(gw, a, 'ORG_ADMIN', 'ACTIVE');
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: a.userId, r: 'MEMBER' }, a.token));
    await refusedUnchanged('FORBIDDEN', () => gw.gql(SET_ROLE, { o: a.orgId, u: a.userId, r: 'ORG_ADMIN' }, a.token));
    // And now `other` is the last one.
    await refusedUnchanged('CONFLICT', () => gw.gql(SET_STATUS, { o: a.orgId, u: other.userId, s: 'DISABLED' }, other.token));
  });

  test('two ORG_ADMINs demoting each other at the same time leave one ORG_ADMIN', async () => {
    for (let i = 0; i < 5; i++) {
      const a = await gw.bootstrap();
      const b = await addMember(gw, a, 'ORG_ADMIN', 'ACTIVE');
      const results = await Promise.all([
        gw.gql<any>(SET_ROLE, { o: a.orgId, u: b.userId, r: 'MEMBER' }, a.token),
        gw.gql<any>(SET_ROLE, { o: a.orgId, u: a.userId, r: 'MEMBER' }, b.token),
      ]);
      expect(results.filter((r) => !r.errors)).toHaveLength(1);
      expect(['CONFLICT', 'FORBIDDEN']).toContain(results.find((r) => r.errors)!.errors![0]!.extensions!.code);
      const [n] = await rows<{ n: number }>(gw, "select count(*)::int as n from memberships where organization_id = ? and role = 'ORG_ADMIN'", [a.orgId]);
      expect(n!.n).toBe(1);
    }
  });
});

describe('a command that fails part-way leaves nothing behind', () => {
  test('the same new email staged concurrently: one membership, one user, one JOINED; the loser changed nothing', async () => {
    const a = await gw.bootstrap();
    const email = uniqueEmail('race');
    const after = await lastEventId(gw);
    const results = await Promise.all([1, 2, 3].map(() => gw.gql<any>(STAGE, { o: a.orgId, e: email }, a.token)));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    for (const r of results.filter((x) => x.errors)) expect(['INVALID_TRANSITION', 'CONFLICT']).toContain(r.errors![0]!.extensions!.code);
    expect((await eventsAfter(gw, after)).map((e) => e.type)).toEqual(['JOINED']);
    const [n] = await rows<{ users: number; memberships: number }>(gw,
      `select (select count(*) from users where email = ?)::int as users,
              (select count(*) from memberships m join users u on u.id = m.user_id where u.email = ?)::int as memberships`,
      [email, email],
    );
    expect(n).toEqual({ users: 1, memberships: 1 });
  });

  test('one new email staged into two organizations at once: a CONFLICT rolls back its membership and event', async () => {
    const orgs = [await gw.bootstrap(), await gw.bootstrap(), await gw.bootstrap()];
    const email = uniqueEmail('race2');
    const after = await lastEventId(gw);
    const results = await Promise.all(orgs.map((o) => gw.gql<any>(STAGE, { o: o.orgId, e: email }, o.token)));
    const succeeded = results.filter((r) => !r.errors).length;
    expect(succeeded).toBeGreaterThanOrEqual(1);
    for (const r of results.filter((x) => x.errors)) {
      expect(r.errors![0]!.extensions!.code).toBe('CONFLICT');
      expect(r.errors![0]!.message).toMatch(/Retry/);
    }
    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(succeeded);
    const [n] = await rows<{ users: number; memberships: number }>(gw,
      `select (select count(*) from users where email = ?)::int as users,
              (select count(*) from memberships m join users u on u.id = m.user_id where u.email = ?)::int as memberships`,
      [email, email],
    );
    expect(n).toEqual({ users: 1, memberships: succeeded });
  });
});

describe('effective permissions and the access token', () => {
  test('role built-ins ∪ team policies; empty and no access token once DISABLED or NO_ACCESS', async () => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', 'ACTIVE');
    for (const [id, policies] of [
      ['billing', ['billing:read', 'billing:write']],
      ['reports', ['reports:read', 'billing:read']],
    ] as const)
      ok(await gw.gql(`mutation($o: ID!, $i: CreateTeamInput!) { createTeam(organizationId: $o, input: $i) { id } }`, { o: a.orgId, i: { id, name: id, policies } }, a.token));
    ok(await gw.gql(`mutation($o: ID!, $u: ID!) { a: addTeamMembers(organizationId: $o, teamId: "billing", userIds: [$u]) { id } b: addTeamMembers(organizationId: $o, teamId: "reports", userIds: [$u]) { id } }`, { o: a.orgId, u: u.userId }, a.token));

    const expected = ['account:use', 'billing:read', 'billing:write', 'organization:read', 'reports:read'];
    const VIEW = '{ viewer { currentMembership { status permissions teams { id } } accessToken { token organizationId } } }';
    const v = ok(await gw.gql<any>(VIEW, {}, u.token)).viewer;
    expect(v.currentMembership.permissions).toEqual(expected);
    expect(v.currentMembership.teams.map((t: any) => t.id)).toEqual(['billing', 'reports']);
    expect(jwtPayload(v.accessToken.token)).toMatchObject({ org: a.orgId, role: 'MEMBER', perms: expected, sub: u.userId });
    // The admin sees the same permissions on the member.
    const seen = ok(
      await gw.gql<any>('query($o: ID!) { organization(id: $o) { members { edges { node { user { id } permissions } } } } }', { o: a.orgId }, a.token),
    );
    expect(seen.organization.members.edges.find((e: any) => e.node.user.id === u.userId).node.permissions).toEqual(expected);
    const s = ok(await gw.gql<any>(SWITCH, { o: a.orgId }, u.token)).switchOrganization;
    expect(jwtPayload(s.accessToken.token).perms).toEqual(expected);

    ok(await gw.gql(SET_STATUS, { o: a.orgId, u: u.userId, s: 'DISABLED' }, a.token));
    const disabled = ok(await gw.gql<any>(VIEW, {}, u.token)).viewer;
    expect(disabled.currentMembership).toMatchObject({ status: 'DISABLED', permissions: [] });
    expect(disabled.accessToken).toBeNull();

    ok(await gw.gql(SET_STATUS, { o: a.orgId, u: u.userId, s: 'STAGED' }, a.token));
    expect(ok(await gw.gql<any>(VIEW, {}, u.token)).viewer.currentMembership.permissions).toEqual(expected);
    ok(await gw.gql(SET_ROLE, { o: a.orgId, u: u.userId, r: 'NO_ACCESS' }, a.token));
    const noAccess = ok(await gw.gql<any>(VIEW, {}, u.token)).viewer;
    expect(noAccess.currentMembership.permissions).toEqual([]);
    expect(noAccess.accessToken).toBeNull();
  });

  test('Viewer.accessToken is null without a current organization', async () => {
    const a = await gw.bootstrap();
    const s = await gw.container.identity.createSession(a.userId, null, ['OPERATOR']);
    expect(ok(await gw.gql<any>('{ viewer { currentOrganization { id } accessToken { token } } }', {}, s.token)).viewer).toEqual({
      currentOrganization: null,
      accessToken: null,
    });
  });
});

describe('Viewer.organizations', () => {
  /** A user with memberships in five organizations, two of which it cannot enter. */
  const fiveOrganizations = async () => {
    const email = uniqueEmail('multi');
    const names = ['Echo', 'alpha', 'Charlie', 'Bravo', 'Delta'];
    const admins: Admin[] = [];
    let userId = '';
    for (const name of names) {
      const admin = await gw.bootstrap(`${name} ${email}`);
      admins.push(admin);
      userId = ok(await gw.gql<any>(STAGE, { o: admin.orgId, e: email }, admin.token)).stageUser.user.id;
    }
    const disabledIn = admins[2]!; // Charlie
    const noAccessIn = admins[3]!; // Bravo
    ok(await gw.gql(SET_STATUS, { o: disabledIn.orgId, u: userId, s: 'DISABLED' }, disabledIn.token));
    ok(await gw.gql(SET_ROLE, { o: noAccessIn.orgId, u: userId, r: 'NO_ACCESS' }, noAccessIn.token));
    const session = await gw.container.identity.createSession(userId, null, ['OPERATOR']);
    // By name regardless of case (the database here collates "C", where "Bravo" < "alpha").
    const expectedOrder = ['alpha', 'Bravo', 'Charlie', 'Delta', 'Echo'].map((n) => `${n} ${email}`);
    return { userId, token: session.token, admins, expectedOrder, disabledIn, noAccessIn };
  };

  const PAGE = `query($first: Int, $after: String) { viewer { organizations(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name viewerMembership { status role } } membership { status role permissions } }
  } } }`;

  test('lists every membership, also those that cannot be entered, ordered by name, paged by first/after', async () => {
    const w = await fiveOrganizations();
    const all = ok(await gw.gql<any>(PAGE, { first: 100 }, w.token)).viewer.organizations;
    expect(all.totalCount).toBe(5);
    const names = all.edges.map((e: any) => e.node.name);
    expect(names).toEqual(w.expectedOrder);
    // Every membership is there, including the DISABLED and NO_ACCESS ones.
    expect(all.edges.map((e: any) => e.node.id).sort()).toEqual(w.admins.map((a) => a.orgId).sort());
    const disabled = all.edges.find((e: any) => e.node.id === w.disabledIn.orgId);
    expect(disabled.membership).toEqual({ status: 'DISABLED', role: 'MEMBER', permissions: [] });
    expect(disabled.node.viewerMembership).toEqual({ status: 'DISABLED', role: 'MEMBER' });
    expect(all.edges.find((e: any) => e.node.id === w.noAccessIn.orgId).membership).toEqual({ status: 'STAGED', role: 'NO_ACCESS', permissions: [] });

    const seen: string[] = [];
    let after: string | null = null;
    const pages: any[] = [];
    do {
      const page: any = ok(await gw.gql<any>(PAGE, { first: 2, after }, w.token)).viewer.organizations;
      pages.push(page);
      expect(page.totalCount).toBe(5);
      seen.push(...page.edges.map((e: any) => e.node.name));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(pages.map((p) => p.edges.length)).toEqual([2, 2, 1]);
    expect(pages.map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, false]);
    expect(pages.map((p) => p.pageInfo.hasPreviousPage)).toEqual([false, true, true]);
    expect(pages[1].pageInfo.startCursor).toBe(pages[1].edges[0].cursor);
    expect(seen).toEqual(names);
    // Past the end: empty, and the total still counts every membership.
    const end = ok(await gw.gql<any>(PAGE, { first: 2, after: pages[2].pageInfo.endCursor }, w.token)).viewer.organizations;
    expect(end).toMatchObject({ totalCount: 5, edges: [], pageInfo: { hasNextPage: false, startCursor: null, endCursor: null } });
    // first: 0 counts without listing.
    expect(ok(await gw.gql<any>(PAGE, { first: 0 }, w.token)).viewer.organizations).toMatchObject({ totalCount: 5, edges: [] });
    // The default page size (50) lists all five.
    expect(ok(await gw.gql<any>('{ viewer { organizations { totalCount edges { node { id } } } } }', {}, w.token)).viewer.organizations.edges).toHaveLength(5);
  });

  test('organizations whose names differ only in case (or not at all) are each listed once across pages', async () => {
    const email = uniqueEmail('ties');
    const orgIds: string[] = [];
    let userId = '';
    for (const name of ['Same', 'same', 'SAME', 'Same']) {
      const admin = await gw.bootstrap(name);
      orgIds.push(admin.orgId);
      userId = ok(await gw.gql<any>(STAGE, { o: admin.orgId, e: email }, admin.token)).stageUser.user.id;
    }
    const { token } = await gw.container.identity.createSession(userId, null, ['OPERATOR']);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: any = ok(await gw.gql<any>(PAGE, { first: 1, after }, token)).viewer.organizations;
      expect(page.totalCount).toBe(4);
      seen.push(...page.edges.map((e: any) => e.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    // Ties on the name are broken by id.
    expect(seen).toEqual([...orgIds].sort());
  });

  test.each([
    [{ first: 101 }, 'first'],
    [{ first: -1 }, 'first'],
    [{ first: 2, after: 'not-a-cursor' }, 'after'],
    [{ first: 2, after: Buffer.from('["x"]').toString('base64url') }, 'after'],
    [{ first: 2, after: Buffer.from('{"a":1}').toString('base64url') }, 'after'],
  ])('%j is BAD_USER_INPUT naming %s', async (vars, field) => {
    const a = await gw.bootstrap();
    const e = refused(await gw.gql(PAGE, vars, a.token));
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message.startsWith(`${field}:`)).toBe(true);
    expect(e.extensions.field).toBe(field);
  });

  test('through a membership that cannot be entered only id, name and viewerMembership are readable', async () => {
    const w = await fiveOrganizations();
    for (const org of [w.disabledIn, w.noAccessIn]) {
      const basic = ok(
        await gw.gql<any>('query($o: ID!) { organization(id: $o) { id name viewerMembership { role status permissions } } }', { o: org.orgId }, w.token),
      );
      expect(basic.organization.id).toBe(org.orgId);
      for (const field of ['members { totalCount }', 'teams { id }', 'automaticUserAccess { enabled }', 'createdAt']) {
        const r = await gw.gql<any>(`query($o: ID!) { organization(id: $o) { id ${field} } }`, { o: org.orgId }, w.token);
        expect(r.errors?.[0]?.extensions?.code, field).toBe('FORBIDDEN');
        // The same through the connection.
        const c = await gw.gql<any>(`{ viewer { organizations { edges { node { id ${field} } } } } }`, {}, w.token);
        expect(c.errors?.length, field).toBeGreaterThan(0);
        for (const e of c.errors!) expect(e.extensions?.code, field).toBe('FORBIDDEN');
      }
    }
    // The enterable ones answer every field.
    const enterable = w.admins.filter((a) => a !== w.disabledIn && a !== w.noAccessIn);
    for (const org of enterable)
      ok(
        await gw.gql<any>('query($o: ID!) { organization(id: $o) { id createdAt members { totalCount } teams { id } automaticUserAccess { enabled } } }', { o: org.orgId }, w.token),
      );
  });
});

test("the viewer's own membership lists its teams only while it can enter: DISABLED and NO_ACCESS read none, like permissions", async () => {
  const a = await gw.bootstrap();
  const disabled = await addMember(gw, a, 'MEMBER', 'ACTIVE');
  const noAccess = await addMember(gw, a, 'MEMBER', 'ACTIVE');
  ok(await gw.gql(`mutation($o: ID!) { createTeam(organizationId: $o, input: { id: "secret-project", name: "Secret project", policies: ["x:read"] }) { id } }`, { o: a.orgId }, a.token));
  ok(
    await gw.gql(`mutation($o: ID!, $u: [ID!]!) { addTeamMembers(organizationId: $o, teamId: "secret-project", userIds: $u) { id } }`, { o: a.orgId, u: [disabled.userId, noAccess.userId] }, a.token),
  );
  const read = async (token: string) => {
    const own = ok(await gw.gql<any>('query($o: ID!) { organization(id: $o) { viewerMembership { teams { id } permissions } } }', { o: a.orgId }, token));
    const page = ok(await gw.gql<any>('{ viewer { organizations { edges { node { id } membership { teams { id name policies } } } } } }', {}, token));
    const edge = page.viewer.organizations.edges.find((e: any) => e.node.id === a.orgId);
    return { own: own.organization.viewerMembership, paged: edge.membership.teams };
  };
  for (const m of [disabled, noAccess]) expect((await read(m.token)).own.teams).toEqual([{ id: 'secret-project' }]);
  ok(await gw.gql(`mutation($o: ID!, $u: ID!) { setMembershipStatus(organizationId: $o, userId: $u, status: DISABLED) { id } }`, { o: a.orgId, u: disabled.userId }, a.token));
  ok(await gw.gql(`mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: NO_ACCESS) { id } }`, { o: a.orgId, u: noAccess.userId }, a.token));
  for (const m of [disabled, noAccess]) {
    const r = await read(m.token);
    expect(r.own).toEqual({ teams: [], permissions: [] });
    expect(r.paged).toEqual([]);
  }
  ok(await gw.gql(`mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: MEMBER) { id } }`, { o: a.orgId, u: noAccess.userId }, a.token));
  expect((await read(noAccess.token)).own.teams).toEqual([{ id: 'secret-project' }]);
});

describe('Organization.members', () => {
  test('pages with first/after, filters by status, totalCount follows the filter', async () => {
    const a = await gw.bootstrap();
    const staged = [await addMember(gw, a, 'MEMBER', 'STAGED'), await addMember(gw, a, 'VIEWER', 'STAGED')];
    const invited = [await addMember(gw, a, 'MEMBER', 'INVITED')];
    const disabled = [await addMember(gw, a, 'ADMIN', 'DISABLED')];
    const active = [await addMember(gw, a, 'MEMBER', 'ACTIVE')]; // plus the ORG_ADMIN
    const Q = `query($o: ID!, $first: Int, $after: String, $status: UserStatus) { organization(id: $o) {
      members(first: $first, after: $after, status: $status) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { status role user { id email } organization { id } } }
      } } }`;
    const counts: Record<string, number> = { STAGED: 2, INVITED: 1, DISABLED: 1, ACTIVE: 2 };
    const total = (status: UserStatus | null) => (status ? counts[status]! : 6);
    const collect = async (status: UserStatus | null, first: number) => {
      const ids: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const page: any = ok(await gw.gql<any>(Q, { o: a.orgId, first, after, status }, a.token)).organization.members;
        pages++;
        for (const e of page.edges) {
          if (status) expect(e.node.status).toBe(status);
          expect(e.node.organization.id).toBe(a.orgId);
          ids.push(e.node.user.id);
        }
        expect(page.totalCount).toBe(total(status));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      return { ids, pages };
    };
    const everyone = await collect(null, 2);
    expect(everyone.pages).toBe(3);
    expect(new Set(everyone.ids)).toEqual(new Set([a.userId, ...[...staged, ...invited, ...disabled, ...active].map((m) => m.userId)]));
    expect((await collect('STAGED', 1)).ids.sort()).toEqual(staged.map((m) => m.userId).sort());
    expect((await collect('INVITED', 5)).ids).toEqual(invited.map((m) => m.userId));
    expect((await collect('DISABLED', 5)).ids).toEqual(disabled.map((m) => m.userId));
    expect((await collect('ACTIVE', 1)).ids.sort()).toEqual([a.userId, active[0]!.userId].sort());

    // Past the end the total is still right.
    const first = ok(await gw.gql<any>(Q, { o: a.orgId, first: 100, status: 'STAGED' }, a.token)).organization.members;
    const end = ok(await gw.gql<any>(Q, { o: a.orgId, first: 5, after: first.pageInfo.endCursor, status: 'STAGED' }, a.token)).organization.members;
    expect(end).toMatchObject({ totalCount: 2, edges: [] });

    for (const vars of [{ first: 101 }, { first: 1, after: 'zzz' }]) {
      const e = refused(await gw.gql(Q, { o: a.orgId, ...vars }, a.token));
      expect(e.code).toBe('BAD_USER_INPUT');
    }
    // Unknown status: the schema refuses it.
    expect(refused(await gw.gql(Q, { o: a.orgId, status: 'GONE' }, a.token)).code).toBe('BAD_USER_INPUT');
  });

  test('every member who can enter may read the members; the list shows other users, never their other organizations', async () => {
    const a = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'VIEWER', 'ACTIVE');
    const r = ok(
      await gw.gql<any>('query($o: ID!) { organization(id: $o) { members { totalCount edges { node { user { id lastVisitedOrganization { id } } } } } } }', { o: a.orgId }, viewer.token),
    );
    expect(r.organization.members.totalCount).toBe(2);
    const adminNode = r.organization.members.edges.find((e: any) => e.node.user.id === a.userId);
    expect(adminNode.node.user.lastVisitedOrganization).toBeNull();
  });
});

describe('API tokens and sign-out', () => {
  const CREATE = 'mutation($n: String!) { createApiToken(name: $n) { token apiToken { id name createdAt } } }';
  const WHO = '{ viewer { user { id } currentOrganization { id } } }';

  test('createApiToken returns a working token for yourself, starting in your current organization', async () => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', 'ACTIVE');
    const t = ok(await gw.gql<any>(CREATE, { n: ' ci script ' }, u.token)).createApiToken;
    expect(t.token).toMatch(/^ogwa_/);
    expect(t.apiToken.name).toBe('ci script');
    expect(ok(await gw.gql<any>(WHO, {}, t.token)).viewer).toEqual({ user: { id: u.userId }, currentOrganization: { id: a.orgId } });
    // Stored hashed: the secret is nowhere in the database.
    const [row] = await rows<{ n: number }>(gw, 'select count(*)::int as n from sessions where token_hash = ? or id = ?', [t.token, t.token]);
    expect(row!.n).toBe(0);
    // A token creates no membership event.
    const after = await lastEventId(gw);
    ok(await gw.gql(CREATE, { n: 'another' }, t.token));
    expect(await eventsAfter(gw, after)).toEqual([]);
  });

  test('createApiToken refuses an empty or too long name', async () => {
    const a = await gw.bootstrap();
    for (const n of ['', '   ', 'x'.repeat(101)]) {
      const e = await refusedUnchanged('BAD_USER_INPUT', () => gw.gql(CREATE, { n }, a.token));
      expect(e.message).toMatch(/^name:/);
    }
  });

  test('signOut revokes the token in use; the next request is UNAUTHENTICATED; other tokens keep working', async () => {
    const a = await gw.bootstrap();
    const session = await gw.container.identity.createSession(a.userId, a.orgId, ['OPERATOR']);
    const api = ok(await gw.gql<any>(CREATE, { n: 'script' }, session.token)).createApiToken.token as string;
    expect(ok(await gw.gql<any>('mutation { signOut }', {}, session.token)).signOut).toBe(true);
    expect(refused(await gw.gql(WHO, {}, session.token)).code).toBe('UNAUTHENTICATED');
    expect(refused(await gw.gql('mutation { signOut }', {}, session.token)).code).toBe('UNAUTHENTICATED');
    // The API token and the bootstrap token are separate sessions.
    expect(ok(await gw.gql<any>(WHO, {}, api)).viewer.user.id).toBe(a.userId);
    expect(ok(await gw.gql<any>(WHO, {}, a.token)).viewer.user.id).toBe(a.userId);
    // An API token signs itself out the same way.
    expect(ok(await gw.gql<any>('mutation { signOut }', {}, api)).signOut).toBe(true);
    expect(refused(await gw.gql(WHO, {}, api)).code).toBe('UNAUTHENTICATED');
    // Signing out changes no membership.
    expect(await membershipRow(gw, a.orgId, a.userId)).toMatchObject({ role: 'ORG_ADMIN', status: 'ACTIVE' });
  });

  test('without a token every operation is UNAUTHENTICATED', async () => {
    for (const q of [WHO, 'mutation { signOut }', 'mutation { createApiToken(name: "x") { token } }']) expect(refused(await gw.gql(q)).code).toBe('UNAUTHENTICATED');
    expect(refused(await gw.gql(WHO, {}, 'ogws_not-a-real-token')).code).toBe('UNAUTHENTICATED');
  });
});
