/**
 * The SPA's Viewer query costs a constant number of SQL statements
 * (≤ 3 for the whole request, authentication included), whatever the membership count.
 * Statements are captured from the ORM's own connection, on real PostgreSQL.
 */
import { describe, expect, test, vi } from 'vitest';
import type { Principal } from '../../src/domain/access.js';
import { DomainError } from '../../src/domain/model/index.js';
import { buildGraphQLSchema } from '../../src/transports/graphql/schema.js';
import { SwitchOrganizationDocument, ViewerOrganizationsDocument } from '../generated/graphql.js';
import { rows } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';

const VIEWER_QUERY = `query {
  viewer { organizations(first: 50) { edges {
    node { id name teams { id } }
    membership { role status permissions teams { id } }
  } } }
}`;

const gw = useGateway();

/** A user with `count` memberships; each organization has 3 teams, the user is in 2 with policies. */
const userWithMemberships = async (count: number) => {
  const email = `u${count}.${Date.now()}@example.com`;
  let token = '';
  let principal: Principal | undefined;
  for (let i = 0; i < count; i++) {
    const r = await gw.container.organizations.bootstrap({ organizationName: `N${count} org ${String(i).padStart(3, '0')}`, adminEmail: email });
    token ||= r.apiToken.token;
    principal ??= await gw.container.identity.authenticate(token);
    for (let k = 0; k < 3; k++) {
      const team = await gw.container.teams.createTeam(principal, r.organization.id, { name: `team ${k}`, policies: [`p${k}:read`] });
      if (k < 2) await gw.container.teams.addTeamMembers(principal, r.organization.id, team.teamId, [r.userId]);
    }
  }
  return token;
};


const statementsFor = async (token: string, query: string | typeof ViewerOrganizationsDocument | typeof SwitchOrganizationDocument, variables = {}) => {
  const statements: string[] = [];
  const stop = gw.container.db.observeStatements((sql, from) => {
    if (!from.background) statements.push(sql);
  });
  try {
    const r = await gw.gql<any>(query, variables, token);
    return { r, statements };
  } finally {
    stop();
  }
};

test('the Viewer query runs ≤ 3 statements (2: the session, then the page with its teams) for 1, 10 and 50 memberships', async () => {
  const counts: Record<number, number> = {};
  for (const n of [1, 10, 50]) {
    const token = await userWithMemberships(n);
    const { r, statements } = await statementsFor(token, VIEWER_QUERY);
    expect(r.errors).toBeUndefined();
    const edges = r.data.viewer.organizations.edges;
    expect(edges).toHaveLength(n);
    for (const e of edges) {
      expect(e.node.teams).toHaveLength(3);
      expect(e.membership.teams).toHaveLength(2);
      expect(e.membership.permissions).toEqual(expect.arrayContaining(['p0:read', 'p1:read', 'organization:admin']));
      expect(e.membership.permissions).not.toContain('p2:read');
    }
    counts[n] = statements.length;
    expect(statements.length, statements.join('\n---\n')).toBeLessThanOrEqual(2);
    // The query names no timestamp: the page does not write the teams' (or anyone's) out.
    expect(statements.at(-1)).not.toContain('t.created_at');
  }
  expect(new Set(Object.values(counts)).size).toBe(1);
});

test('typed documents from codegen work against the server (query and mutation)', async () => {
  const token = await userWithMemberships(2);
  const { r } = await statementsFor(token, ViewerOrganizationsDocument, { first: 1 });
  expect(r.data.viewer.organizations.totalCount).toBe(2);
  expect(r.data.viewer.organizations.pageInfo.hasNextPage).toBe(true);
  const orgId = r.data.viewer.organizations.edges[0].node.id;
  const s = await gw.gql(SwitchOrganizationDocument, { organizationId: orgId }, token);
  expect(s.errors).toBeUndefined();
  expect(s.data?.switchOrganization.viewer.currentOrganization?.id).toBe(orgId);
  expect(s.data?.switchOrganization.viewer.user.lastVisitedOrganization?.id).toBe(orgId);
  expect(s.data?.switchOrganization.membership.status).toBe('ACTIVE');
});

test('switchOrganization into an ACTIVE membership is two statements (session, then one update that reads back)', async () => {
  const token = await userWithMemberships(3);
  const { r } = await statementsFor(token, ViewerOrganizationsDocument, { first: 3 });
  const orgIds: string[] = r.data.viewer.organizations.edges.map((e: any) => e.node.id);
  // The bootstrap memberships are ACTIVE already: re-entering changes only "last visited".
  for (const orgId of orgIds) {
    const { r: s, statements } = await statementsFor(token, SwitchOrganizationDocument, { organizationId: orgId });
    expect(s.errors).toBeUndefined();
    expect(s.data.switchOrganization.viewer.currentOrganization.id).toBe(orgId);
    expect(s.data.switchOrganization.membership.permissions).toEqual(expect.arrayContaining(['p0:read', 'p1:read']));
    expect(statements.length, statements.join('\n---\n')).toBeLessThanOrEqual(2);
  }
  const [row] = await rows<{ o: string }>(gw,
    'select u.last_visited_organization_id as o from users u join sessions s on s.user_id = u.id where s.token_hash = encode(sha256(?::bytea), ?)',
    [token, 'hex'],
  );
  expect(row?.o).toBe(orgIds.at(-1));
});

test('every field of the page reads what the database holds (timestamps, settings, teams in name order, paging)', async () => {
  const token = await userWithMemberships(3);
  const full = `query($after: String) { viewer { organizations(first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id name createdAt automaticUserAccess { enabled defaultRole allowedDomains } teams { id name policies externalId createdAt updatedAt } }
            membership { id role status source lastVisitedAt createdAt updatedAt teams { id } } } } } }`;
  const { r: first, statements } = await statementsFor(token, full);
  expect(first.errors).toBeUndefined();
  // Timestamps the selection names come with the page: still 2 statements.
  expect(statements.length, statements.join('\n---\n')).toBe(2);
  expect(statements.at(-1)).toContain('t.created_at');
  const second = await gw.gql<any>(full, { after: first.data.viewer.organizations.pageInfo.endCursor }, token);
  // Twice more: the second execution of a document runs compiled, and must read the same.
  expect(await gw.gql<any>(full, {}, token)).toEqual(first);
  expect(await gw.gql<any>(full, {}, token)).toEqual(first);
  expect(first.data.viewer.organizations).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
  expect(second.data.viewer.organizations).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: false } });
  const edges = [...first.data.viewer.organizations.edges, ...second.data.viewer.organizations.edges];
  expect(edges).toHaveLength(3);
  const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());
  for (const e of edges) {
    const [o] = await rows<any>(gw, 'select * from organizations where id = ?', [e.node.id]);
    expect(e.node).toMatchObject({ name: o.name, createdAt: iso(o.created_at), automaticUserAccess: { enabled: o.auto_access_enabled, defaultRole: o.auto_access_default_role } });
    const [m] = await rows<any>(gw, 'select * from memberships where id = ?', [e.membership.id]);
    expect(e.membership).toMatchObject({
      role: m.role,
      status: m.status,
      source: m.source,
      lastVisitedAt: iso(m.last_visited_at),
      createdAt: iso(m.created_at),
      updatedAt: iso(m.updated_at),
    });
    const teams = await rows<any>(gw, 'select * from teams where organization_id = ? order by lower(name), team_id', [e.node.id]);
    expect(e.node.teams).toEqual(
      teams.map((t) => ({ id: t.team_id, name: t.name, policies: t.policies, externalId: t.external_id, createdAt: iso(t.created_at), updatedAt: iso(t.updated_at) })),
    );
    expect(e.membership.teams.map((t: { id: string }) => t.id)).toEqual(teams.slice(0, 2).map((t) => t.team_id));
  }
});

test('an organization without teams, or whose teams the viewer is in none of, sits on the page beside ones with teams', async () => {
  const token = await userWithMemberships(2);
  const principal = await gw.container.identity.authenticate(token);
  await gw.container.organizations.createOrganization(principal, { name: 'N2 org 000a (no teams)' });
  const other = await gw.container.organizations.createOrganization(principal, { name: 'N2 org 000b (teams, none mine)' });
  await gw.container.teams.createTeam(principal, other.id, { name: 'zeta', policies: ['z:read'] });
  const r = await gw.gql<any>(VIEWER_QUERY, {}, token);
  expect(r.errors).toBeUndefined();
  const byName = new Map<string, any>(r.data.viewer.organizations.edges.map((e: any) => [e.node.name, e]));
  expect([...byName.keys()]).toEqual(['N2 org 000', 'N2 org 000a (no teams)', 'N2 org 000b (teams, none mine)', 'N2 org 001']);
  expect(byName.get('N2 org 000a (no teams)')).toMatchObject({ node: { teams: [] }, membership: { teams: [] } });
  expect(byName.get('N2 org 000b (teams, none mine)').node.teams).toHaveLength(1);
  expect(byName.get('N2 org 000b (teams, none mine)').membership.teams).toEqual([]);
  expect(byName.get('N2 org 000b (teams, none mine)').membership.permissions).not.toContain('z:read');
  for (const name of ['N2 org 000', 'N2 org 001']) {
    expect(byName.get(name).node.teams).toHaveLength(3);
    expect(byName.get(name).membership.teams).toHaveLength(2);
  }
});

test('team names and external ids with quotes, backslashes and non-ASCII text come back exactly', async () => {
  const email = `quotes.${Date.now()}@example.com`;
  const orgName = String.raw`Quote "org" \ 😀 ', "]}`;
  const r = await gw.container.organizations.bootstrap({ organizationName: orgName, adminEmail: email });
  const principal = await gw.container.identity.authenticate(r.apiToken.token);
  const name = String.raw`He said "hi" \ back\slash \u0041 ', "]}, 😀 </script>`;
  const team = await gw.container.teams.createTeam(principal, r.organization.id, { name, policies: ['p:read'] });
  const externalId = String.raw`ext "1" \n ]`;
  await rows(gw, 'update teams set external_id = ? where key = ?', [externalId, team.key]);
  const q = `query { viewer { organizations(first: 5) { edges { cursor node { name teams { id name externalId policies } } } } } }`;
  for (let i = 0; i < 2; i++) {
    const res = await gw.gql<any>(q, {}, r.apiToken.token);
    expect(res.errors).toBeUndefined();
    expect(res.data.viewer.organizations.edges[0].node.name).toBe(orgName);
    expect(res.data.viewer.organizations.edges[0].node.teams).toEqual([{ id: team.teamId, name, externalId, policies: ['p:read'] }]);
    // The cursor carries the sort key (the name in lower case) through the JSON intact.
    const after = await gw.gql<any>(`query($a: String) { viewer { organizations(first: 5, after: $a) { totalCount edges { node { id } } } } }`, { a: res.data.viewer.organizations.edges[0].cursor }, r.apiToken.token);
    expect(after.data.viewer.organizations).toEqual({ totalCount: 1, edges: [] });
    // The same teams through organization(id), which loads them apart from the page.
    const one = await gw.gql<any>(`query($o: ID!) { organization(id: $o) { name teams { id name externalId policies } } }`, { o: r.organization.id }, r.apiToken.token);
    expect(one.data.organization).toEqual({ name: orgName, teams: [{ id: team.teamId, name, externalId, policies: ['p:read'] }] });
  }
});

test('through Apollo, a query runs compiled from its second execution on, with the same answer; a mutation never', async () => {
  const token = await userWithMemberships(2);
  const compiled = async () => (await gw.container.metrics.compiledOperations.get()).values[0]?.value ?? 0;
  const query = `query CompiledProbe { viewer { organizations(first: 5) { totalCount edges { node { id name teams { id } } membership { role permissions } } } } }`;
  const first = await gw.gql<any>(query, {}, token);
  const before = await compiled();
  const second = await gw.gql<any>(query, {}, token);
  expect(await compiled()).toBe(before + 1);
  expect(second).toEqual(first);
  expect(first.errors).toBeUndefined();
  const mutation = 'mutation CompiledProbeMutation($n: String!) { createApiToken(name: $n) { apiToken { name } } }';
  for (let i = 0; i < 3; i++) expect((await gw.gql<any>(mutation, { n: `probe ${i}` }, token)).errors).toBeUndefined();
  expect(await compiled()).toBe(before + 1);
});

test('a page read without timestamps reads them in one statement when a field asks, and a row deleted since is NOT_FOUND', async () => {
  const token = await userWithMemberships(3);
  const principal = await gw.container.identity.authenticate(token);
  // A visit (lastVisitedAt not null), and organizations created at another time than their memberships.
  const [visited] = await rows<{ organization_id: string }>(gw, 'select organization_id from memberships where user_id = ? limit 1', [principal.userId]);
  await gw.container.memberships.switchOrganization(principal, visited!.organization_id);
  await rows(gw,
    `update organizations set created_at = created_at - interval '1 day' where id in (select organization_id from memberships where user_id = ?)`,
    [principal.userId],
  );
  const scope = gw.container.readScope(principal);
  const statements: string[] = [];
  const stop = gw.container.db.observeStatements((sql, from) => {
    if (!from.background) statements.push(sql);
  });
  try {
    const page = await scope.viewerOrganizations(5, null, { withTeams: true, withTimestamps: false });
    expect(statements).toHaveLength(1);
    expect(page.items).toHaveLength(3);
    // Other reads of the same organizations get the page's views (primed) and their timestamps.
    const teams = (await Promise.all(page.items.map((i) => scope.teams(i.node.organization.id)))).flat();
    const read = await Promise.all([
      ...page.items.flatMap(({ node: { membership: m, organization: o } }) => [m.createdAt, m.updatedAt, m.lastVisitedAt, o.createdAt]),
      ...teams.flatMap((t) => [t.createdAt, t.updatedAt]),
    ]);
    expect(statements, statements.join('\n---\n')).toHaveLength(2);
    const expected: (Date | null)[] = [];
    for (const { node } of page.items) {
      const [m] = await rows<any>(gw, 'select * from memberships where id = ?', [node.membership.id]);
      const [o] = await rows<any>(gw, 'select * from organizations where id = ?', [node.organization.id]);
      expected.push(new Date(m.created_at), new Date(m.updated_at), m.last_visited_at ? new Date(m.last_visited_at) : null, new Date(o.created_at));
    }
    for (const t of teams) {
      const [row] = await rows<any>(gw, 'select * from teams where key = ?', [t.key]);
      expected.push(new Date(row.created_at), new Date(row.updated_at));
    }
    expect(read).toEqual(expected);
    expect(teams).toHaveLength(9);
    expect(read.filter((d) => d === null)).toHaveLength(2);

    // A team deleted after the page was read: its timestamp is NOT_FOUND, the others still answer.
    const fresh = gw.container.readScope(principal);
    const again = await fresh.viewerOrganizations(5, null, { withTeams: true, withTimestamps: false });
    const orgId = again.items[0]!.node.organization.id;
    const [gone, kept] = await fresh.teams(orgId);
    await rows(gw, 'delete from teams where key = ?', [gone!.key]);
    const [lost, still] = await Promise.allSettled([gone!.createdAt, kept!.createdAt]);
    expect(lost.status === 'rejected' && lost.reason instanceof DomainError && lost.reason.code).toBe('NOT_FOUND');
    expect(still.status).toBe('fulfilled');
  } finally {
    stop();
  }
});

test('timestamp fields of the schema have resolvers, so a compiled query awaits a view that reads them later', async () => {
  // graphql-jit reads a field without a resolver as a plain value and does not await it;
  // type-graphql gives every field one. If that changed, views read without timestamps would
  // answer errors instead of dates from the second execution of a query on.
  const schema = await buildGraphQLSchema();
  for (const [type, names] of [['Membership', ['createdAt', 'updatedAt', 'lastVisitedAt']], ['Organization', ['createdAt']], ['Team', ['createdAt', 'updatedAt']]] as const) {
    const fields = (schema.getType(type) as import('graphql').GraphQLObjectType).getFields();
    for (const name of names) expect(typeof fields[name]?.resolve, `${type}.${name}`).toBe('function');
  }
});

test("organizations' members pages: one statement for every organization's page, read by index range whatever the number of users", async () => {
  const pagesQuery = `query($first: Int!) { viewer { organizations(first: 10) { edges { node { id
    members(first: $first) { totalCount pageInfo { hasNextPage endCursor } edges { node { role status user { id email } } } } } } } } }`;
  const counts: number[] = [];
  for (const n of [1, 5]) {
    const token = await userWithMemberships(n);
    const principal = await gw.container.identity.authenticate(token);
    const orgIds: string[] = (await statementsFor(token, `query { viewer { organizations(first: 10) { edges { node { id } } } } }`)).r.data.viewer.organizations.edges.map(
      (e: any) => e.node.id,
    );
    // Each organization gets i extra members, so pages differ.
    for (const [i, orgId] of orgIds.entries())
      for (let k = 0; k < i + 1; k++) await gw.container.memberships.stageUser(principal, orgId, `m${k}.${orgId}@example.com`, 'MEMBER');
    const { r, statements } = await statementsFor(token, pagesQuery, { first: 2 });
    expect(r.errors).toBeUndefined();
    const byOrg = new Map<string, any>(r.data.viewer.organizations.edges.map((e: any) => [e.node.id, e.node.members]));
    for (const [i, orgId] of orgIds.entries()) {
      const members = byOrg.get(orgId);
      const [row] = await rows<{ n: number }>(gw, 'select count(*)::int as n from memberships where organization_id = ?', [orgId]);
      expect(members.totalCount).toBe(row!.n);
      expect(members.totalCount).toBe(i + 2);
      expect(members.edges).toHaveLength(2);
      expect(members.pageInfo.hasNextPage).toBe(i + 2 > 2);
    }
    counts.push(statements.length);
    // The session, the viewer's page, the members pages of all organizations.
    expect(statements.length, statements.join('\n---\n')).toBeLessThanOrEqual(3);
  }
  expect(counts[0]).toBe(counts[1]);
});

test('a members page continues after its cursor, and the next page of a status filter keeps the filter', async () => {
  const token = await userWithMemberships(1);
  const principal = await gw.container.identity.authenticate(token);
  const orgId = principal.currentOrganizationId ?? (await statementsFor(token, `query { viewer { organizations(first: 1) { edges { node { id } } } } }`)).r.data.viewer.organizations.edges[0].node.id;
  for (let k = 0; k < 5; k++) await gw.container.memberships.stageUser(principal, orgId, `p${k}.${orgId}@example.com`, 'MEMBER');
  const page = `query($o: ID!, $after: String, $status: UserStatus) { organization(id: $o) { members(first: 2, after: $after, status: $status) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id status } } } } }`;
  const seen: string[] = [];
  let after: string | null = null;
  for (;;) {
    const r: any = await gw.gql<any>(page, { o: orgId, after, status: 'STAGED' }, token);
    expect(r.errors).toBeUndefined();
    const m = r.data.organization.members;
    expect(m.totalCount).toBe(5);
    for (const e of m.edges) expect(e.node.status).toBe('STAGED');
    seen.push(...m.edges.map((e: any) => e.node.id));
    if (!m.pageInfo.hasNextPage) break;
    after = m.pageInfo.endCursor;
  }
  const found = await rows<{ id: string }>(gw, "select id from memberships where organization_id = ? and status = 'STAGED' order by id", [orgId]);
  expect(seen).toEqual(found.map((r) => r.id));
});

test('organization(id) with its members is two statements (the session, then the membership and the page together); refusals are unchanged', async () => {
  const token = await userWithMemberships(1);
  const principal = await gw.container.identity.authenticate(token);
  const orgId = (await statementsFor(token, `query { viewer { organizations(first: 1) { edges { node { id } } } } }`)).r.data.viewer.organizations.edges[0].node.id;
  for (let k = 0; k < 3; k++) await gw.container.memberships.stageUser(principal, orgId, `w${k}.${orgId}@example.com`, 'MEMBER');
  const query = `query($o: ID!, $first: Int, $status: UserStatus) { organization(id: $o) { id name
    members(first: $first, status: $status) { totalCount pageInfo { hasNextPage } edges { node { role status user { id email displayName } } } } } }`;
  const { r, statements } = await statementsFor(token, query, { o: orgId, first: 2 });
  expect(r.errors).toBeUndefined();
  expect(r.data.organization.id).toBe(orgId);
  expect(r.data.organization.members.totalCount).toBe(4);
  expect(r.data.organization.members.pageInfo.hasNextPage).toBe(true);
  const firstTwo = await rows<{ email: string }>(gw, 'select u.email from memberships m join users u on u.id = m.user_id where m.organization_id = ? order by m.id limit 2', [orgId]);
  expect(r.data.organization.members.edges.map((e: any) => e.node.user.email)).toEqual(firstTwo.map((row) => row.email));
  expect(statements.length, statements.join('\n---\n')).toBe(2);
  // The second execution runs compiled (graphql-jit): the same answer, the same statements.
  const again = await statementsFor(token, query, { o: orgId, first: 2 });
  expect(again.r).toEqual(r);
  expect(again.statements).toHaveLength(2);

  // The same through an inline fragment and with a status filter.
  const viaFragment = await statementsFor(token, `query($o: ID!) { organization(id: $o) { ... on Organization { members(status: STAGED) { totalCount } } } }`, { o: orgId });
  expect(viaFragment.r.errors).toBeUndefined();
  expect(viaFragment.r.data.organization.members.totalCount).toBe(3);
  expect(viaFragment.statements).toHaveLength(2);

  // Refused arguments are refused as before.
  const tooMany = await statementsFor(token, query, { o: orgId, first: 101 });
  expect(tooMany.r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(tooMany.r.data.organization).toBeNull();

  // A non-member: null, no members.
  const other = await gw.container.organizations.bootstrap({ organizationName: `Other ${Date.now()}`, adminEmail: `other.${Date.now()}@example.com` });
  const outsider = await statementsFor(token, query, { o: other.organization.id, first: 2 });
  expect(outsider.r.errors).toBeUndefined();
  expect(outsider.r.data.organization).toBeNull();

  // A member who cannot enter: FORBIDDEN on members (the statement reads no page for it).
  const { token: blockedToken, userId: blockedUserId } = await (async () => {
    const email = `blocked.${Date.now()}@example.com`;
    await gw.container.memberships.stageUser(principal, orgId, email, 'MEMBER');
    const b = await gw.container.organizations.bootstrap({ organizationName: `Blocked home ${Date.now()}`, adminEmail: email });
    return { token: b.apiToken.token, userId: b.userId };
  })();
  await gw.container.memberships.setMembershipStatus(principal, orgId, blockedUserId, 'DISABLED');
  const blocked = await statementsFor(blockedToken, query, { o: orgId, first: 2 });
  expect(blocked.r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(blocked.r.data.organization).toBeNull();
  expect(blocked.statements).toHaveLength(2);
});

test("statements of the gateway's own background work (the webhook dispatcher's and the event hub's polls) are told apart from a request's", async () => {
  const seen: { sql: string; background: boolean }[] = [];
  const stop = gw.container.db.observeStatements((sql, from) => seen.push({ sql, background: from.background }));
  try {
    // The dispatcher checks for endpoints on every poll (every few seconds), whatever the traffic.
    await vi.waitFor(() => expect(seen.some((s) => s.sql.includes('from webhook_endpoints'))).toBe(true), { timeout: 15_000, interval: 100 });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => !s.background)).toEqual([]);
    const token = await userWithMemberships(1);
    seen.length = 0;
    const r = await gw.gql<any>(`{ viewer { user { id } } }`, {}, token);
    expect(r.errors).toBeUndefined();
    const own = seen.filter((s) => !s.background).map((s) => s.sql);
    expect(own.some((sql) => /from sessions s join users u/.test(sql))).toBe(true);
  } finally {
    stop();
  }
});

describe('organization(id) with members: what a caller who cannot read the members gets', () => {
  const world = async () => {
    const stamp = `${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
    const owner = await gw.container.organizations.bootstrap({ organizationName: `Held ${stamp}`, adminEmail: `owner.${stamp}@example.com` });
    const admin = await gw.container.identity.authenticate(owner.apiToken.token);
    const orgId = owner.organization.id;
    for (let k = 0; k < 3; k++) await gw.container.memberships.stageUser(admin, orgId, `secret${k}.${stamp}@example.com`, 'MEMBER');
    const email = `blocked.${stamp}@example.com`;
    await gw.container.memberships.stageUser(admin, orgId, email, 'MEMBER');
    const home = await gw.container.organizations.bootstrap({ organizationName: `Home ${stamp}`, adminEmail: email });
    const stranger = await gw.container.organizations.bootstrap({ organizationName: `Stranger ${stamp}`, adminEmail: `stranger.${stamp}@example.com` });
    return { admin, adminToken: owner.apiToken.token, orgId, blockedToken: home.apiToken.token, blockedUserId: home.userId, strangerToken: stranger.apiToken.token };
  };
  const codes = (r: any): string[] => (r.errors ?? []).map((e: any) => e.extensions?.code);
  const SHAPES: [string, string][] = [
    ['plain', `query($o: ID!) { organization(id: $o) { id name members(first: 100) { totalCount edges { node { user { email } } } } } }`],
    ['inline fragment', `query($o: ID!) { organization(id: $o) { ... on Organization { members { totalCount edges { node { user { email } } } } } } }`],
    ['named fragment', `query($o: ID!) { organization(id: $o) { ...F } } fragment F on Organization { members { totalCount edges { node { user { email } } } } }`],
    ['aliases and two keys', `query($o: ID!) { a: organization(id: $o) { m1: members(first: 1) { totalCount edges { node { user { email } } } } m2: members(first: 2, status: STAGED) { totalCount } } }`],
    ['@skip on one of them', `query($o: ID!, $s: Boolean = true) { organization(id: $o) { x: members(first: 1) @skip(if: $s) { totalCount } members { totalCount edges { node { user { email } } } } } }`],
  ];

  for (const how of ['DISABLED', 'NO_ACCESS'] as const)
    test.each(SHAPES)(`a ${how} member, %s: FORBIDDEN, no member data (also compiled)`, async (_name, query) => {
      const w = await world();
      if (how === 'DISABLED') await gw.container.memberships.setMembershipStatus(w.admin, w.orgId, w.blockedUserId, 'DISABLED');
      else await gw.container.memberships.setMembershipRole(w.admin, w.orgId, w.blockedUserId, 'NO_ACCESS');
      for (let run = 0; run < 2; run++) {
        const r = await gw.gql<any>(query, { o: w.orgId }, w.blockedToken);
        expect(JSON.stringify(r.data)).not.toMatch(/secret|totalCount/);
        expect(codes(r).length).toBeGreaterThan(0);
        expect(codes(r).every((c) => c === 'FORBIDDEN')).toBe(true);
      }
    });

  test.each(SHAPES)('a non-member, %s: null and no error', async (_name, query) => {
    const w = await world();
    const r = await gw.gql<any>(query, { o: w.orgId }, w.strangerToken);
    expect(r.errors).toBeUndefined();
    expect(Object.values(r.data ?? {})).toEqual([null]);
  });

  test('refusals keep their order: a DISABLED member with a foreign cursor gets FORBIDDEN; a stranger with a cursor holding NUL gets null; a member gets BAD_USER_INPUT', async () => {
    const w = await world();
    await gw.container.memberships.setMembershipStatus(w.admin, w.orgId, w.blockedUserId, 'DISABLED');
    const q = `query($o: ID!, $a: String) { organization(id: $o) { id members(after: $a) { totalCount } } }`;
    expect(codes(await gw.gql<any>(q, { o: w.orgId, a: 'nope' }, w.blockedToken))).toEqual(['FORBIDDEN']);
    const nul = Buffer.from(JSON.stringify(['x\u0000'])).toString('base64url');
    expect(await gw.gql<any>(q, { o: w.orgId, a: nul }, w.strangerToken)).toEqual({ data: { organization: null } });
    expect(codes(await gw.gql<any>(q, { o: w.orgId, a: nul }, w.adminToken))).toEqual(['BAD_USER_INPUT']);
  });

  test('a skipped members field is not the one read with the organization (two statements, the right page)', async () => {
    const w = await world();
    const q = `query($o: ID!, $s: Boolean = true) { organization(id: $o) { x: members(first: 1) @skip(if: $s) { totalCount } members(first: 2) { totalCount edges { node { id } } } } }`;
    const { r, statements } = await statementsFor(w.adminToken, q, { o: w.orgId });
    expect(r.errors).toBeUndefined();
    expect(r.data.organization.x).toBeUndefined();
    expect(r.data.organization.members.edges).toHaveLength(2);
    expect(statements.length, statements.join('\n---\n')).toBe(2);
  });

  test('display names with quotes, backslashes and control characters come back exactly', async () => {
    const w = await world();
    const nasty = 'a"b\\c\n\t\u0001\u2028</script>"],"x":1,["';
    await rows(gw, 'update users set display_name = ? where id in (select user_id from memberships where organization_id = ?)', [nasty, w.orgId]);
    const r = await gw.gql<any>(`query($o: ID!) { organization(id: $o) { members { edges { node { user { displayName } } } } } }`, { o: w.orgId }, w.adminToken);
    expect(r.errors).toBeUndefined();
    expect(r.data.organization.members.edges.map((e: any) => e.node.user.displayName)).toEqual(Array(5).fill(nasty));
  });
});

describe('sessions looked up together', () => {
  test('authentications that start in one turn of the event loop share one statement; each caller gets its own principal, a dead secret only its own refusal', async () => {
    const users = await Promise.all(
      [1, 2, 3, 4].map((i) => gw.container.organizations.bootstrap({ organizationName: `Batch ${i} ${Date.now()}`, adminEmail: `batch${i}.${Date.now()}@example.com` })),
    );
    const revoked = users[3]!.apiToken.token;
    await gw.container.identity.signOut(await gw.container.identity.authenticate(revoked));
    const statements: string[] = [];
    const stop = gw.container.db.observeStatements((sql, from) => {
      if (!from.background) statements.push(sql);
    });
    let results: PromiseSettledResult<Principal>[];
    try {
      results = await Promise.allSettled(users.map((u) => gw.container.identity.authenticate(u.apiToken.token)));
    } finally {
      stop();
    }
    expect(statements.filter((s) => /from sessions s join users u/.test(s))).toHaveLength(1);
    expect(results.slice(0, 3).map((r) => (r.status === 'fulfilled' ? r.value.userId : null))).toEqual(users.slice(0, 3).map((u) => u.userId));
    expect(results[3]!.status).toBe('rejected');
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'UNAUTHENTICATED' });
    // One at a time: still one statement each, and a revoked secret stays refused.
    await expect(gw.container.identity.authenticate(revoked)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
