/**
 * Isolation between organizations (issue point 8). Members of organization B, including
 * its ORG_ADMIN, probe every field and mutation that takes an organization, user or team
 * id of organization A: reads answer null, writes NOT_FOUND, and nothing changes anywhere.
 * Members of A who are not ORG_ADMIN (or cannot enter) are FORBIDDEN on admin mutations.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Gateway, startGateway, take } from '../helpers/gateway.js';
import { addMember, type Admin, type Member, ok, refused, snapshot, STAGE } from '../helpers/world.js';

let gw: Gateway;
/** Organization A and its people. */
let a: Admin;
let aAdminRole: Member;
let aMember: Member;
let aViewer: Member;
let aDisabledOrgAdmin: Member;
let aNoAccess: Member;
/** Organization B and its people. */
let b: Admin;
let bMember: Member;
/** VIEWER in A and ORG_ADMIN in B. */
let dual: { userId: string; email: string; token: string };

const TEAM_ONLY_IN_A = 'a-only';
const SHARED_TEAM_ID = 'ugr-same';

beforeAll(async () => {
  gw = await startGateway();
  a = await gw.bootstrap('Alpha Corp');
  b = await gw.bootstrap('Beta Corp');
  aAdminRole = await addMember(gw, a, 'ADMIN', 'ACTIVE');
  aMember = await addMember(gw, a, 'MEMBER', 'ACTIVE');
  aViewer = await addMember(gw, a, 'VIEWER', 'ACTIVE');
  aDisabledOrgAdmin = await addMember(gw, a, 'ORG_ADMIN', 'DISABLED');
  aNoAccess = await addMember(gw, a, 'NO_ACCESS', 'STAGED');
  bMember = await addMember(gw, b, 'MEMBER', 'ACTIVE');

  const dualInA = await addMember(gw, a, 'VIEWER', 'ACTIVE');
  ok(await gw.gql(STAGE, { o: b.orgId, e: dualInA.email, r: 'ORG_ADMIN' }, b.token));
  dual = { userId: dualInA.userId, email: dualInA.email, token: dualInA.token };
  ok(await gw.gql(`mutation($o: ID!) { switchOrganization(organizationId: $o) { membership { status } } }`, { o: b.orgId }, dual.token));

  for (const [admin, ids] of [
    [a, [TEAM_ONLY_IN_A, SHARED_TEAM_ID]],
    [b, [SHARED_TEAM_ID]],
  ] as const)
    for (const id of ids)
      ok(await gw.gql(`mutation($o: ID!, $i: CreateTeamInput!) { createTeam(organizationId: $o, input: $i) { id } }`, { o: admin.orgId, i: { id, name: `${id} of ${admin.orgId}`, policies: ['x:y'] } }, admin.token));
  ok(await gw.gql(`mutation($o: ID!, $u: [ID!]!) { addTeamMembers(organizationId: $o, teamId: "${SHARED_TEAM_ID}", userIds: $u) { id } }`, { o: a.orgId, u: [aMember.userId] }, a.token));
  ok(await gw.gql(`mutation($o: ID!, $u: [ID!]!) { addTeamMembers(organizationId: $o, teamId: "${SHARED_TEAM_ID}", userIds: $u) { id } }`, { o: b.orgId, u: [bMember.userId] }, b.token));
});
afterAll(() => gw?.close());

interface Probe {
  name: string;
  query: string;
  variables: Record<string, unknown>;
}

/** Every mutation that takes an organization id, aimed at `o`, with user and team ids that exist there. */
const mutationsOn = (o: string, ids: { memberId: string; memberEmail: string; selfId: string; teamId: string }): Probe[] => [
  { name: 'stageUser (new email)', query: `mutation($o: ID!) { stageUser(organizationId: $o, email: "probe.new@example.com") { id } }`, variables: { o } },
  { name: 'stageUser (a member)', query: `mutation($o: ID!, $e: String!) { stageUser(organizationId: $o, email: $e) { id } }`, variables: { o, e: ids.memberEmail } },
  { name: 'inviteUser', query: `mutation($o: ID!) { inviteUser(organizationId: $o, email: "probe.invite@example.com", role: ORG_ADMIN) { id } }`, variables: { o } },
  { name: 'setMembershipStatus', query: `mutation($o: ID!, $u: ID!) { setMembershipStatus(organizationId: $o, userId: $u, status: DISABLED) { id } }`, variables: { o, u: ids.memberId } },
  { name: 'setMembershipRole (demote)', query: `mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: NO_ACCESS) { id } }`, variables: { o, u: ids.memberId } },
  { name: 'setMembershipRole (promote self)', query: `mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: ORG_ADMIN) { id } }`, variables: { o, u: ids.selfId } },
  { name: 'removeMember', query: `mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }`, variables: { o, u: ids.memberId } },
  {
    name: 'setAutomaticUserAccess',
    query: `mutation($o: ID!) { setAutomaticUserAccess(organizationId: $o, input: { enabled: true, defaultRole: ADMIN, allowedDomains: ["example.com"] }) { id } }`,
    variables: { o },
  },
  { name: 'createTeam', query: `mutation($o: ID!) { createTeam(organizationId: $o, input: { id: "probe", name: "Probe" }) { id } }`, variables: { o } },
  { name: 'updateTeam', query: `mutation($o: ID!, $t: ID!) { updateTeam(organizationId: $o, teamId: $t, input: { name: "x", policies: ["all:*"] }) { id } }`, variables: { o, t: ids.teamId } },
  { name: 'deleteTeam', query: `mutation($o: ID!, $t: ID!) { deleteTeam(organizationId: $o, teamId: $t) }`, variables: { o, t: ids.teamId } },
  { name: 'addTeamMembers (self)', query: `mutation($o: ID!, $t: ID!, $u: ID!) { addTeamMembers(organizationId: $o, teamId: $t, userIds: [$u]) { id } }`, variables: { o, t: ids.teamId, u: ids.selfId } },
  { name: 'removeTeamMembers', query: `mutation($o: ID!, $t: ID!, $u: ID!) { removeTeamMembers(organizationId: $o, teamId: $t, userIds: [$u]) { id } }`, variables: { o, t: ids.teamId, u: ids.memberId } },
];

const SWITCH_PROBE = (o: string): Probe => ({
  name: 'switchOrganization',
  query: `mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken { token } } }`,
  variables: { o },
});

const ORGANIZATION_READ = `query($o: ID!) { organization(id: $o) {
  id name createdAt viewerMembership { id } automaticUserAccess { enabled }
  members { totalCount edges { node { id user { id email } teams { id } permissions } } } teams { id name policies }
} }`;

/** Runs the probes as `token`; returns code and message of each. */
const run = async (token: string, probes: Probe[]) => {
  const out: { name: string; code: string | undefined; message: string }[] = [];
  for (const p of probes) {
    const e = refused(await gw.gql(p.query, p.variables, token));
    out.push({ name: p.name, code: e.code, message: e.message });
  }
  return out;
};

describe('a member of B probing organization A', () => {
  const asOutsider = (who: () => { token: string; userId: string }, label: string) =>
    test(`${label}: organization(A) is null, A is not listed, every mutation on A is NOT_FOUND, nothing changed`, async () => {
      const { token, userId } = who();
      const before = await snapshot(gw);

      const read = await gw.gql<any>(ORGANIZATION_READ, { o: a.orgId }, token);
      expect(read).toEqual({ data: { organization: null } });
      const listed = ok(await gw.gql<any>('{ viewer { organizations(first: 100) { totalCount edges { node { id } } } } }', {}, token));
      expect(listed.viewer.organizations.edges.map((e: any) => e.node.id)).not.toContain(a.orgId);

      const probes = [...mutationsOn(a.orgId, { memberId: aMember.userId, memberEmail: aMember.email, selfId: userId, teamId: SHARED_TEAM_ID }), SWITCH_PROBE(a.orgId)];
      const results = await run(token, probes);
      for (const r of results) expect(r, r.name).toMatchObject({ code: 'NOT_FOUND' });

      // Indistinguishable from an organization that does not exist: same code, same message.
      const ghost = 'no-such-organization';
      const ghostResults = await run(token, [
        ...mutationsOn(ghost, { memberId: aMember.userId, memberEmail: aMember.email, selfId: userId, teamId: SHARED_TEAM_ID }),
        SWITCH_PROBE(ghost),
      ]);
      for (const [i, r] of results.entries()) expect(r.message.replaceAll(a.orgId, ghost), r.name).toBe(ghostResults[i]!.message);
      expect(await gw.gql<any>(ORGANIZATION_READ, { o: ghost }, token)).toEqual({ data: { organization: null } });

      expect(await snapshot(gw)).toEqual(before);
    });

  asOutsider(() => b, "B's ORG_ADMIN");
  asOutsider(() => bMember, "B's MEMBER");

  test("B's ORG_ADMIN cannot reach A's users or teams through B's own organization id (NOT_FOUND, nothing changed)", async () => {
    const before = await snapshot(gw);
    const results = await run(b.token, [
      { name: 'setMembershipStatus', query: `mutation($o: ID!, $u: ID!) { setMembershipStatus(organizationId: $o, userId: $u, status: DISABLED) { id } }`, variables: { o: b.orgId, u: aMember.userId } },
      { name: 'setMembershipRole', query: `mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: VIEWER) { id } }`, variables: { o: b.orgId, u: aMember.userId } },
      { name: 'removeMember', query: `mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }`, variables: { o: b.orgId, u: aMember.userId } },
      { name: 'addTeamMembers (A user)', query: `mutation($o: ID!, $u: ID!) { addTeamMembers(organizationId: $o, teamId: "${SHARED_TEAM_ID}", userIds: [$u]) { id } }`, variables: { o: b.orgId, u: aMember.userId } },
      { name: 'removeTeamMembers (A user)', query: `mutation($o: ID!, $u: ID!) { removeTeamMembers(organizationId: $o, teamId: "${SHARED_TEAM_ID}", userIds: [$u]) { id } }`, variables: { o: b.orgId, u: aMember.userId } },
      { name: 'updateTeam (A team)', query: `mutation($o: ID!) { updateTeam(organizationId: $o, teamId: "${TEAM_ONLY_IN_A}", input: { name: "x" }) { id } }`, variables: { o: b.orgId } },
      { name: 'deleteTeam (A team)', query: `mutation($o: ID!) { deleteTeam(organizationId: $o, teamId: "${TEAM_ONLY_IN_A}") }`, variables: { o: b.orgId } },
      { name: 'addTeamMembers (A team)', query: `mutation($o: ID!, $u: ID!) { addTeamMembers(organizationId: $o, teamId: "${TEAM_ONLY_IN_A}", userIds: [$u]) { id } }`, variables: { o: b.orgId, u: bMember.userId } },
    ]);
    for (const r of results) expect(r, r.name).toMatchObject({ code: 'NOT_FOUND' });
    expect(await snapshot(gw)).toEqual(before);
  });

  test("a team id both organizations use: B's ORG_ADMIN changes only B's team", async () => {
    const teamsOfA = () =>
      gw.t.db.em().execute('select t.*, (select count(*) from team_members tm where tm.team_key = t.key)::int as n from teams t where organization_id = ? order by key', [a.orgId]);
    const before = await teamsOfA();
    const eventsOfA = () => gw.t.db.em().execute('select id from membership_events where organization_id = ? order by id', [a.orgId]);
    const eventsBefore = await eventsOfA();
    ok(await gw.gql(`mutation($o: ID!) { updateTeam(organizationId: $o, teamId: "${SHARED_TEAM_ID}", input: { name: "Renamed", policies: ["b:only"] }) { id } }`, { o: b.orgId }, b.token));
    ok(await gw.gql(`mutation($o: ID!, $u: [ID!]!) { removeTeamMembers(organizationId: $o, teamId: "${SHARED_TEAM_ID}", userIds: $u) { id } }`, { o: b.orgId, u: [bMember.userId] }, b.token));
    ok(await gw.gql(`mutation($o: ID!, $u: [ID!]!) { addTeamMembers(organizationId: $o, teamId: "${SHARED_TEAM_ID}", userIds: $u) { id } }`, { o: b.orgId, u: [bMember.userId] }, b.token));
    expect(await teamsOfA()).toEqual(before);
    expect(await eventsOfA()).toEqual(eventsBefore);
    const own = ok(await gw.gql<any>('query($o: ID!) { organization(id: $o) { teams { id name policies } } }', { o: b.orgId }, b.token));
    expect(own.organization.teams).toEqual([{ id: SHARED_TEAM_ID, name: 'Renamed', policies: ['b:only'] }]);
  });

  test("B's ORG_ADMIN cannot subscribe to A's membership events (NOT_FOUND)", async () => {
    const client = gw.ws(b.token);
    const sub = take<any>(client, 'subscription($o: ID) { membershipChanged(organizationId: $o) { id } }', { o: a.orgId }, 1, 5_000);
    await sub.done;
    expect(sub.values).toEqual([]);
    expect(sub.errors).toHaveLength(1);
    expect((sub.errors[0] as any).extensions?.code ?? (sub.errors[0] as any)[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe("A's ORG_ADMIN and B's users", () => {
  test("A's ORG_ADMIN cannot touch a user of B through A's mutations (NOT_FOUND, nothing changed)", async () => {
    const before = await snapshot(gw);
    const results = await run(a.token, [
      { name: 'setMembershipRole', query: `mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: VIEWER) { id } }`, variables: { o: a.orgId, u: bMember.userId } },
      { name: 'setMembershipStatus', query: `mutation($o: ID!, $u: ID!) { setMembershipStatus(organizationId: $o, userId: $u, status: DISABLED) { id } }`, variables: { o: a.orgId, u: b.userId } },
      { name: 'removeMember', query: `mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }`, variables: { o: a.orgId, u: bMember.userId } },
      { name: 'addTeamMembers', query: `mutation($o: ID!, $u: ID!) { addTeamMembers(organizationId: $o, teamId: "${SHARED_TEAM_ID}", userIds: [$u]) { id } }`, variables: { o: a.orgId, u: bMember.userId } },
    ]);
    for (const r of results) expect(r, r.name).toMatchObject({ code: 'NOT_FOUND' });
    expect(await snapshot(gw)).toEqual(before);
  });

  test("staging a user of B into A links the identity and changes nothing in B", async () => {
    const inB = () => gw.t.db.em().execute('select * from memberships where organization_id = ? order by id', [b.orgId]);
    const userRow = () => gw.t.db.em().execute('select id, email, display_name, last_visited_organization_id from users where id = ?', [bMember.userId]);
    const [membershipsBefore, userBefore] = [await inB(), await userRow()];
    const m = ok(await gw.gql<any>(STAGE, { o: a.orgId, e: bMember.email, r: 'VIEWER' }, a.token)).stageUser;
    expect(m.user.id).toBe(bMember.userId);
    expect(await inB()).toEqual(membershipsBefore);
    expect(await userRow()).toEqual(userBefore);
    // A sees only A's membership of that user; B's stays invisible to A.
    const seen = ok(await gw.gql<any>('query($o: ID!) { organization(id: $o) { id } }', { o: b.orgId }, a.token));
    expect(seen.organization).toBeNull();
    ok(await gw.gql(`mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }`, { o: a.orgId, u: bMember.userId }, a.token));
    expect(await inB()).toEqual(membershipsBefore);
  });
});

describe('members of A without ORG_ADMIN', () => {
  const adminProbes = () =>
    mutationsOn(a.orgId, { memberId: aMember.userId, memberEmail: aMember.email, selfId: aViewer.userId, teamId: SHARED_TEAM_ID });

  const cases: [string, () => { token: string; userId: string }, string][] = [
    ['ADMIN', () => aAdminRole, 'FORBIDDEN'],
    ['MEMBER', () => aMember, 'FORBIDDEN'],
    ['VIEWER', () => aViewer, 'FORBIDDEN'],
    ['VIEWER of A who is ORG_ADMIN of B', () => dual, 'FORBIDDEN'],
    ['DISABLED ORG_ADMIN', () => aDisabledOrgAdmin, 'FORBIDDEN'],
    ['NO_ACCESS', () => aNoAccess, 'FORBIDDEN'],
  ];
  test.each(cases)('%s gets FORBIDDEN on every admin mutation, nothing changed', async (_label, who, code) => {
    const { token, userId } = who();
    const before = await snapshot(gw);
    const probes = adminProbes().map((p) => ({ ...p, variables: { ...p.variables, ...(p.name.includes('self') ? { u: userId } : {}) } }));
    const results = await run(token, probes);
    for (const r of results) {
      expect(r, r.name).toMatchObject({ code });
      expect(r.message, r.name).toMatch(/ORG_ADMIN/);
    }
    expect(await snapshot(gw)).toEqual(before);
  });

  test('non-admin members who can enter read members and teams; those who cannot are FORBIDDEN beyond id/name/viewerMembership', async () => {
    for (const m of [aAdminRole, aMember, aViewer]) {
      const r = ok(await gw.gql<any>(ORGANIZATION_READ, { o: a.orgId }, m.token));
      expect(r.organization.id).toBe(a.orgId);
      expect(r.organization.members.totalCount).toBeGreaterThan(5);
    }
    const dualRead = ok(await gw.gql<any>(ORGANIZATION_READ, { o: a.orgId }, dual.token));
    expect(dualRead.organization.teams.map((t: any) => t.id).sort()).toEqual([TEAM_ONLY_IN_A, SHARED_TEAM_ID].sort());
    for (const m of [aDisabledOrgAdmin, aNoAccess]) {
      const r = await gw.gql<any>(ORGANIZATION_READ, { o: a.orgId }, m.token);
      expect(r.errors?.length).toBeGreaterThan(0);
      for (const e of r.errors!) expect(e.extensions?.code).toBe('FORBIDDEN');
      const basic = ok(await gw.gql<any>('query($o: ID!) { organization(id: $o) { id name viewerMembership { role status } } }', { o: a.orgId }, m.token));
      expect(basic.organization.id).toBe(a.orgId);
    }
  });

  test('switchOrganization is not an admin mutation: members who can enter may switch; DISABLED and NO_ACCESS may not', async () => {
    for (const m of [aAdminRole, aMember, aViewer])
      expect(ok(await gw.gql<any>(SWITCH_PROBE(a.orgId).query, { o: a.orgId }, m.token)).switchOrganization.accessToken.token).toBeTruthy();
    for (const m of [aDisabledOrgAdmin, aNoAccess]) {
      const before = await snapshot(gw);
      expect(refused(await gw.gql(SWITCH_PROBE(a.orgId).query, { o: a.orgId }, m.token)).code).toBe('FORBIDDEN');
      expect(await snapshot(gw)).toEqual(before);
    }
  });
});

test('without a token every probe is UNAUTHENTICATED and nothing changes', async () => {
  const before = await snapshot(gw);
  const probes = [...mutationsOn(a.orgId, { memberId: aMember.userId, memberEmail: aMember.email, selfId: aMember.userId, teamId: SHARED_TEAM_ID }), SWITCH_PROBE(a.orgId)];
  for (const p of probes) expect(refused(await gw.gql(p.query, p.variables)).code, p.name).toBe('UNAUTHENTICATED');
  expect(refused(await gw.gql(ORGANIZATION_READ, { o: a.orgId })).code).toBe('UNAUTHENTICATED');
  expect(await snapshot(gw)).toEqual(before);
});
