/**
 * Teams over GraphQL: create (generated and given ids), update, delete, members,
 * the TEAMS_CHANGED events of every membership they touch, and the permissions
 * their policies add.
 */
import { describe, expect, test } from 'vitest';
import { rows } from '../kit/db.js';
import { eventsAfter, lastEventId } from '../kit/events.js';
import { useGateway } from '../kit/gateway.js';
import { addMember, type Admin, expectNothingChanged, ok, refusedUnchanged as refusedUnchangedIn } from '../kit/world.js';

const gw = useGateway();

const CREATE = `mutation($o: ID!, $i: CreateTeamInput!) { createTeam(organizationId: $o, input: $i) { id name policies externalId createdAt updatedAt } }`;
const UPDATE = `mutation($o: ID!, $t: ID!, $i: UpdateTeamInput!) { updateTeam(organizationId: $o, teamId: $t, input: $i) { id name policies updatedAt } }`;
const DELETE = `mutation($o: ID!, $t: ID!) { deleteTeam(organizationId: $o, teamId: $t) }`;
const ADD = `mutation($o: ID!, $t: ID!, $u: [ID!]!) { addTeamMembers(organizationId: $o, teamId: $t, userIds: $u) { id name } }`;
const REMOVE = `mutation($o: ID!, $t: ID!, $u: [ID!]!) { removeTeamMembers(organizationId: $o, teamId: $t, userIds: $u) { id } }`;
const TEAMS = `query($o: ID!) { organization(id: $o) { teams { id name policies } } }`;
const MEMBERSHIPS = `query($o: ID!) { organization(id: $o) { members(first: 100) { edges { node { user { id } teams { id } permissions } } } } }`;

const createTeam = async (admin: Admin, input: Record<string, unknown>) => ok(await gw.gql<any>(CREATE, { o: admin.orgId, i: input }, admin.token)).createTeam;

/** userId → { teams, permissions } as the admin sees them. */
const membersView = async (admin: Admin) => {
  const r = ok(await gw.gql<any>(MEMBERSHIPS, { o: admin.orgId }, admin.token));
  return new Map<string, { teams: string[]; permissions: string[] }>(
    r.organization.members.edges.map((e: any) => [e.node.user.id, { teams: e.node.teams.map((t: any) => t.id), permissions: e.node.permissions }]),
  );
};

const refusedUnchanged = (code: string, run: () => Promise<any>) => refusedUnchangedIn(gw, code, run);

describe('createTeam', () => {
  test('generates an id ugr-… when none is given; trims the name; sorts and de-duplicates policies; appends no event', async () => {
    const a = await gw.bootstrap();
    const after = await lastEventId(gw);
    const t = await createTeam(a, { name: '  Billing  ', policies: ['billing:write', 'billing:read', 'billing:write'] });
    expect(t.id).toMatch(/^ugr-[0-9a-f]{8}$/);
    expect(t).toMatchObject({ name: 'Billing', policies: ['billing:read', 'billing:write'], externalId: null });
    expect(await eventsAfter(gw, after)).toEqual([]);
    const other = await createTeam(a, { name: 'Other' });
    expect(other.id).not.toBe(t.id);
    expect(other.policies).toEqual([]);
    expect(ok(await gw.gql<any>(TEAMS, { o: a.orgId }, a.token)).organization.teams.map((x: any) => x.id)).toEqual([t.id, other.id]);
  });

  test('takes a given id; the same id in another organization is a different team', async () => {
    const a = await gw.bootstrap();
    const b = await gw.bootstrap();
    expect((await createTeam(a, { id: 'ugr-1a3a', name: 'Ops' })).id).toBe('ugr-1a3a');
    expect((await createTeam(b, { id: 'ugr-1a3a', name: 'Ops of B' })).id).toBe('ugr-1a3a');
    expect((await createTeam(a, { id: 'Team.With_All-Chars.9', name: 'Chars' })).id).toBe('Team.With_All-Chars.9');
    expect((await createTeam(a, { id: 'x'.repeat(64), name: 'Long' })).id).toHaveLength(64);
    expect(ok(await gw.gql<any>(TEAMS, { o: b.orgId }, b.token)).organization.teams).toEqual([{ id: 'ugr-1a3a', name: 'Ops of B', policies: [] }]);
  });

  test('a duplicate id is CONFLICT, nothing changed', async () => {
    const a = await gw.bootstrap();
    await createTeam(a, { id: 'dup', name: 'First' });
    const e = await refusedUnchanged('CONFLICT', () => gw.gql(CREATE, { o: a.orgId, i: { id: 'dup', name: 'Second' } }, a.token));
    expect(e.message).toContain('"dup"');
    expect(e.message).toMatch(/choose another id/);
  });

  test.each([['has space'], ['x'.repeat(65)], ['ümlaut'], ['a/b'], ['']])('a bad id %j is BAD_USER_INPUT naming the rule, nothing changed', async (id) => {
    const a = await gw.bootstrap();
    const e = await refusedUnchanged('BAD_USER_INPUT', () => gw.gql(CREATE, { o: a.orgId, i: { id, name: 'T' } }, a.token));
    expect(e.message).toMatch(/^id: /);
    expect(e.message).toContain('letters, digits');
  });

  test.each([[{ name: '' }, 'name'], [{ name: '   ' }, 'name'], [{ name: 'x'.repeat(201) }, 'name'], [{ name: 'ok', policies: ['has space'] }, 'policies']])(
    '%j is BAD_USER_INPUT naming %s, nothing changed',
    async (input, field) => {
      const a = await gw.bootstrap();
      const e = await refusedUnchanged('BAD_USER_INPUT', () => gw.gql(CREATE, { o: a.orgId, i: input }, a.token));
      expect(e.message).toContain(`${field}:`);
    },
  );
});

describe('updateTeam', () => {
  test('changes name and/or policies; the members permissions follow; no membership event', async () => {
    const a = await gw.bootstrap();
    const u = await addMember(gw, a, 'VIEWER', 'ACTIVE');
    await createTeam(a, { id: 'fin', name: 'Finance', policies: ['billing:read'] });
    ok(await gw.gql(ADD, { o: a.orgId, t: 'fin', u: [u.userId] }, a.token));
    expect((await membersView(a)).get(u.userId)!.permissions).toEqual(['billing:read', 'organization:read']);

    const after = await lastEventId(gw);
    const renamed = ok(await gw.gql<any>(UPDATE, { o: a.orgId, t: 'fin', i: { name: 'Money' } }, a.token)).updateTeam;
    expect(renamed).toMatchObject({ id: 'fin', name: 'Money', policies: ['billing:read'] });
    const repolicied = ok(await gw.gql<any>(UPDATE, { o: a.orgId, t: 'fin', i: { policies: ['reports:read', 'billing:write'] } }, a.token)).updateTeam;
    expect(repolicied).toMatchObject({ name: 'Money', policies: ['billing:write', 'reports:read'] });
    ok(await gw.gql(UPDATE, { o: a.orgId, t: 'fin', i: { name: 'Both', policies: [] } }, a.token));
    expect(ok(await gw.gql<any>(TEAMS, { o: a.orgId }, a.token)).organization.teams).toEqual([{ id: 'fin', name: 'Both', policies: [] }]);
    expect(await eventsAfter(gw, after)).toEqual([]);
    // The member's own view of its permissions.
    const own = ok(await gw.gql<any>('{ viewer { currentMembership { permissions teams { id name } } } }', {}, u.token)).viewer.currentMembership;
    expect(own).toEqual({ permissions: ['organization:read'], teams: [{ id: 'fin', name: 'Both' }] });
  });

  test('refuses an empty patch, an empty name, a bad policy (BAD_USER_INPUT) and an unknown team (NOT_FOUND)', async () => {
    const a = await gw.bootstrap();
    await createTeam(a, { id: 't', name: 'T' });
    expect((await refusedUnchanged('BAD_USER_INPUT', () => gw.gql(UPDATE, { o: a.orgId, t: 't', i: {} }, a.token))).message).toMatch(/name, policies, or both/);
    expect((await refusedUnchanged('BAD_USER_INPUT', () => gw.gql(UPDATE, { o: a.orgId, t: 't', i: { name: ' ' } }, a.token))).message).toMatch(/^input\.name:/);
    expect((await refusedUnchanged('BAD_USER_INPUT', () => gw.gql(UPDATE, { o: a.orgId, t: 't', i: { policies: ['no spaces'] } }, a.token))).message).toMatch(
      /^input\.policies:/,
    );
    expect((await refusedUnchanged('NOT_FOUND', () => gw.gql(UPDATE, { o: a.orgId, t: 'nope', i: { name: 'x' } }, a.token))).message).toContain('"nope"');
  });
});

describe('team members', () => {
  test('addTeamMembers: one TEAMS_CHANGED per member whose teams changed, before and after, in one transaction', async () => {
    const a = await gw.bootstrap();
    const u1 = await addMember(gw, a, 'MEMBER', 'ACTIVE');
    const u2 = await addMember(gw, a, 'VIEWER', 'STAGED');
    await createTeam(a, { id: 'a-team', name: 'A', policies: ['a:read'] });
    await createTeam(a, { id: 'b-team', name: 'B', policies: ['b:read'] });
    ok(await gw.gql(ADD, { o: a.orgId, t: 'b-team', u: [u1.userId] }, a.token));

    const after = await lastEventId(gw);
    const team = ok(await gw.gql<any>(ADD, { o: a.orgId, t: 'a-team', u: [u1.userId, u2.userId, u1.userId] }, a.token)).addTeamMembers;
    expect(team).toEqual({ id: 'a-team', name: 'A' });
    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(2);
    const byUser = new Map(events.map((e) => [e.user_id, e]));
    expect(byUser.get(u1.userId)).toMatchObject({
      type: 'TEAMS_CHANGED',
      actor: `user:${a.userId}`,
      organization_id: a.orgId,
      previous_team_ids: ['b-team'],
      team_ids: ['a-team', 'b-team'],
      role: 'MEMBER',
      status: 'ACTIVE',
    });
    expect(byUser.get(u2.userId)).toMatchObject({ type: 'TEAMS_CHANGED', previous_team_ids: [], team_ids: ['a-team'], role: 'VIEWER', status: 'STAGED' });
    expect(new Set(events.map((e) => e.xmin)).size).toBe(1);

    const view = await membersView(a);
    expect(view.get(u1.userId)).toEqual({ teams: ['a-team', 'b-team'], permissions: ['a:read', 'account:use', 'b:read', 'organization:read'] });
    expect(view.get(u2.userId)).toEqual({ teams: ['a-team'], permissions: ['a:read', 'organization:read'] });
    const [row] = await rows<{ source: string }>(gw,
      `select tm.source from team_members tm join memberships m on m.id = tm.membership_id join teams t on t.key = tm.team_key
        where m.user_id = ? and t.team_id = 'a-team' and t.organization_id = ?`,
      [u2.userId, a.orgId],
    );
    expect(row!.source).toBe('MANUAL');

    // Adding members who already have the team changes nothing.
    await expectNothingChanged(gw, async () => ok(await gw.gql(ADD, { o: a.orgId, t: 'a-team', u: [u1.userId, u2.userId] }, a.token)));
  });

  test('adding or removing 2 or 30 members runs the same number of statements (their teams are read at once)', async () => {
    const a = await gw.bootstrap();
    const members = [];
    for (let i = 0; i < 30; i++) members.push(await addMember(gw, a, 'MEMBER', 'ACTIVE'));
    await createTeam(a, { id: 'many', name: 'Many' });
    const statements = async (mutation: string, userIds: string[]) => {
      let n = 0;
      const stop = gw.container.db.observeStatements((_sql, from) => {
        if (!from.background) n += 1;
      });
      try {
        ok(await gw.gql(mutation, { o: a.orgId, t: 'many', u: userIds }, a.token));
      } finally {
        stop();
      }
      return n;
    };
    const ids = members.map((m) => m.userId);
    expect(await statements(ADD, ids.slice(0, 2))).toBe(await statements(ADD, ids.slice(2)));
    expect(await statements(REMOVE, ids.slice(0, 2))).toBe(await statements(REMOVE, ids.slice(2)));
    expect((await membersView(a)).get(ids[29]!)).toEqual({ teams: [], permissions: ['account:use', 'organization:read'] });
  });

  test('a user who is not a member of the organization is NOT_FOUND, and nobody is added', async () => {
    const a = await gw.bootstrap();
    const b = await gw.bootstrap();
    const u = await addMember(gw, a, 'MEMBER', 'ACTIVE');
    await createTeam(a, { id: 't', name: 'T' });
    const e = await refusedUnchanged('NOT_FOUND', () => gw.gql(ADD, { o: a.orgId, t: 't', u: [u.userId, b.userId] }, a.token));
    expect(e.message).toContain(b.userId);
    expect(e.extensions.missing).toEqual([b.userId]);
    await refusedUnchanged('NOT_FOUND', () => gw.gql(ADD, { o: a.orgId, t: 't', u: ['usr_nobody'] }, a.token));
    await refusedUnchanged('NOT_FOUND', () => gw.gql(REMOVE, { o: a.orgId, t: 't', u: [b.userId] }, a.token));
    // Unknown team; empty list.
    await refusedUnchanged('NOT_FOUND', () => gw.gql(ADD, { o: a.orgId, t: 'nope', u: [u.userId] }, a.token));
    expect((await refusedUnchanged('BAD_USER_INPUT', () => gw.gql(ADD, { o: a.orgId, t: 't', u: [] }, a.token))).message).toMatch(/^userIds:/);
  });

  test('removeTeamMembers: TEAMS_CHANGED for members who had the team, nothing for those who did not', async () => {
    const a = await gw.bootstrap();
    const u1 = await addMember(gw, a, 'MEMBER', 'ACTIVE');
    const u2 = await addMember(gw, a, 'MEMBER', 'ACTIVE');
    await createTeam(a, { id: 'ops', name: 'Ops', policies: ['ops:run'] });
    ok(await gw.gql(ADD, { o: a.orgId, t: 'ops', u: [u1.userId] }, a.token));
    const after = await lastEventId(gw);
    ok(await gw.gql(REMOVE, { o: a.orgId, t: 'ops', u: [u1.userId, u2.userId] }, a.token));
    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'TEAMS_CHANGED', user_id: u1.userId, previous_team_ids: ['ops'], team_ids: [], actor: `user:${a.userId}` });
    expect((await membersView(a)).get(u1.userId)).toEqual({ teams: [], permissions: ['account:use', 'organization:read'] });
    await expectNothingChanged(gw, async () => ok(await gw.gql(REMOVE, { o: a.orgId, t: 'ops', u: [u1.userId] }, a.token)));
  });
});

describe('deleteTeam', () => {
  test('removes the team; each member gets TEAMS_CHANGED without it, in one transaction; permissions drop its policies', async () => {
    const a = await gw.bootstrap();
    const u1 = await addMember(gw, a, 'MEMBER', 'ACTIVE');
    const u2 = await addMember(gw, a, 'ADMIN', 'DISABLED');
    await createTeam(a, { id: 'gone', name: 'Gone', policies: ['gone:use'] });
    await createTeam(a, { id: 'kept', name: 'Kept', policies: ['kept:use'] });
    ok(await gw.gql(ADD, { o: a.orgId, t: 'gone', u: [u1.userId, u2.userId] }, a.token));
    ok(await gw.gql(ADD, { o: a.orgId, t: 'kept', u: [u1.userId] }, a.token));
    expect((await membersView(a)).get(u1.userId)!.permissions).toContain('gone:use');

    const after = await lastEventId(gw);
    expect(ok(await gw.gql<any>(DELETE, { o: a.orgId, t: 'gone' }, a.token)).deleteTeam).toBe(true);
    const events = await eventsAfter(gw, after);
    expect(events).toHaveLength(2);
    const byUser = new Map(events.map((e) => [e.user_id, e]));
    expect(byUser.get(u1.userId)).toMatchObject({ type: 'TEAMS_CHANGED', previous_team_ids: ['gone', 'kept'], team_ids: ['kept'], actor: `user:${a.userId}` });
    expect(byUser.get(u2.userId)).toMatchObject({ type: 'TEAMS_CHANGED', previous_team_ids: ['gone'], team_ids: [], status: 'DISABLED' });
    expect(new Set(events.map((e) => e.xmin)).size).toBe(1);

    const [counts] = await rows<{ teams: number; members: number }>(gw,
      `select (select count(*) from teams where organization_id = ? and team_id = 'gone')::int as teams,
              (select count(*) from team_members tm join memberships m on m.id = tm.membership_id where m.organization_id = ?)::int as members`,
      [a.orgId, a.orgId],
    );
    expect(counts).toEqual({ teams: 0, members: 1 });
    const view = await membersView(a);
    expect(view.get(u1.userId)).toEqual({ teams: ['kept'], permissions: ['account:use', 'kept:use', 'organization:read'] });
    expect(view.get(u2.userId)).toEqual({ teams: [], permissions: [] });
    // The memberships themselves stay.
    expect(view.size).toBe(3);

    await refusedUnchanged('NOT_FOUND', () => gw.gql(DELETE, { o: a.orgId, t: 'gone' }, a.token));
  });

  test('a team without members is deleted without events; its id can be used again', async () => {
    const a = await gw.bootstrap();
    await createTeam(a, { id: 'empty', name: 'Empty' });
    const after = await lastEventId(gw);
    ok(await gw.gql(DELETE, { o: a.orgId, t: 'empty' }, a.token));
    expect(await eventsAfter(gw, after)).toEqual([]);
    expect((await createTeam(a, { id: 'empty', name: 'Again' })).name).toBe('Again');
  });
});

describe('reading teams', () => {
  test('every member who can enter reads the teams, ordered by name; Membership.teams lists a member’s teams', async () => {
    const a = await gw.bootstrap();
    const viewer = await addMember(gw, a, 'VIEWER', 'ACTIVE');
    await createTeam(a, { id: 'z', name: 'Zulu' });
    await createTeam(a, { id: 'y', name: 'alpha' });
    await createTeam(a, { id: 'x', name: 'Mike' });
    ok(await gw.gql(ADD, { o: a.orgId, t: 'x', u: [a.userId] }, a.token));
    const r = ok(await gw.gql<any>(TEAMS, { o: a.orgId }, viewer.token));
    // By name regardless of case (the database here collates "C", where "Zulu" < "alpha").
    expect(r.organization.teams.map((t: any) => t.name)).toEqual(['alpha', 'Mike', 'Zulu']);
    const own = ok(await gw.gql<any>('{ viewer { currentMembership { teams { id } } } }', {}, a.token));
    expect(own.viewer.currentMembership.teams).toEqual([{ id: 'x' }]);
    expect((await membersView(a)).get(a.userId)!.teams).toEqual(['x']);
    expect((await membersView(a)).get(viewer.userId)!.teams).toEqual([]);
  });
});
