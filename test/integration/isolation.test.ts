/**
 * Isolation between organizations. Members of organization B, including its ORG_ADMIN, probe
 * every field and mutation that takes an organization, user, team, connection or token id of
 * organization A: reads answer null, writes NOT_FOUND, and nothing changes anywhere. Members
 * of A who are not ORG_ADMIN (or cannot enter) are FORBIDDEN on admin mutations.
 *
 * Out-of-scope members (SPEC §6): ORG_ADMINs of A whose session came from a SAML sign-in
 * through a connection A does not trust (now) get exactly the answers of a non-member.
 * The probe tables are checked against schema.graphql, so a new field cannot be forgotten.
 */
import { readFileSync } from 'node:fs';
import { buildSchema, getNamedType, type GraphQLObjectType, isNonNullType, isObjectType, parse, type OperationDefinitionNode, type FieldNode } from 'graphql';
import { beforeAll, describe, expect, test } from 'vitest';
import { ALL, MEMBERSHIP_TABLES, rows, snapshot } from '../kit/db.js';
import { lastEventId } from '../kit/events.js';
import { type Gateway, take } from '../kit/gateway.js';
import { idpMetadataXml, testKeyPair } from '../kit/saml-keys.js';
import { useSamlWorld } from '../kit/saml-world.js';
import { addMember, type Admin, jwtPayload, type Member, ok, refused, STAGE } from '../kit/world.js';

// Webhook endpoints on loopback (disabled below: nothing is delivered).
const w = useSamlWorld({ env: { ORGWAY_WEBHOOK_ALLOW_PRIVATE: 'true' } });
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

/** A's own SAML connection and SCIM token (targets of the connection and token probes). */
let aConnectionId: string;
let aScimTokenId: string;
let aWebhookEndpointId: string;
let aEventId: string;
/** A domain A claimed, and a member A invited (INVITED, an invitation link outstanding). */
const A_DOMAIN = 'alpha-probe.example';
let aInvitedId: string;
/** X: the SAML world's owner organization, which trusts connection C (w.connectionId); A does not. */
let xOrg: string;
let xAdminToken: string;
/**
 * Out-of-scope members: ORG_ADMINs of A (ACTIVE) whose credentials A does not accept.
 * - ssoOnly: also a MEMBER of X; signed in through C (landing in X); A never trusted C.
 * - untrusted: signed in through C while A trusted it (landing in A: current and last visited
 *   organization), then A untrusted C.
 * - ssoApiToken: an API token ssoOnly created from that session.
 */
let ssoOnly: { userId: string; email: string; token: string };
let untrusted: { userId: string; email: string; token: string };
let ssoApiToken: string;

beforeAll(async () => {
  gw = w.gw;
  xOrg = w.owner.orgId;
  xAdminToken = w.owner.adminToken;
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

  aConnectionId = ok(
    await gw.gql<any>(`mutation($o: ID!, $m: String!) { createSamlConnection(organizationId: $o, metadataXml: $m) { id } }`, { o: a.orgId, m: A_METADATA }, a.token),
  ).createSamlConnection.id;
  aScimTokenId = ok(await gw.gql<any>(`mutation($o: ID!) { createScimToken(organizationId: $o, name: "A's IdP") { scimToken { id } } }`, { o: a.orgId }, a.token)).createScimToken.scimToken.id;
  aWebhookEndpointId = ok(
    await gw.gql<any>(`mutation($o: ID!) { createWebhookEndpoint(organizationId: $o, input: { url: "http://127.0.0.1:9/hook" }) { endpoint { id } } }`, { o: a.orgId }, a.token),
  ).createWebhookEndpoint.endpoint.id;
  ok(await gw.gql(`mutation($o: ID!, $e: ID!) { updateWebhookEndpoint(organizationId: $o, endpointId: $e, input: { enabled: false }) { id } }`, { o: a.orgId, e: aWebhookEndpointId }, a.token));
  ok(await gw.gql(`mutation($o: ID!, $d: String!) { addDomain(organizationId: $o, domain: $d) { domain } }`, { o: a.orgId, d: A_DOMAIN }, a.token));
  aInvitedId = ok(await gw.gql<any>(`mutation($o: ID!) { inviteUser(organizationId: $o, email: "invited.probe@example.com", role: MEMBER) { user { id } } }`, { o: a.orgId }, a.token)).inviteUser.user.id;
  aEventId = ok(await gw.gql<any>(`query($o: ID!) { organization(id: $o) { events(first: 1) { edges { node { id } } } } }`, { o: a.orgId }, a.token)).organization.events.edges[0].node.id;

  // ssoOnly: ORG_ADMIN of A, MEMBER of X, signs in through C (which only X trusts).
  const adminOfA = await addMember(gw, a, 'ORG_ADMIN', 'ACTIVE');
  ok(await gw.gql(STAGE, { o: xOrg, e: adminOfA.email, r: 'MEMBER' }, xAdminToken));
  const signIn = await w.post(await w.samlify({ nameId: adminOfA.email }), { relayState: xOrg, json: true });
  expect(signIn.status, signIn.text).toBe(200);
  ssoOnly = { userId: adminOfA.userId, email: adminOfA.email, token: signIn.json.sessionToken };
  expect((await w.principal(ssoOnly.token)).authentications).toEqual([`SSO:${w.connectionId}`]);
  expect(signIn.json.memberships.map((m: any) => m.organizationId)).toEqual([xOrg]);
  ssoApiToken = ok(await gw.gql<any>('mutation { createApiToken(name: "script") { token } }', {}, ssoOnly.token)).createApiToken.token;

  // untrusted: ORG_ADMIN of A who signed in through C while A trusted it; then A stops trusting C.
  const aPrincipal = await w.principal(a.token);
  await gw.container.samlConnections.trust(aPrincipal, a.orgId, w.connectionId);
  const otherAdminOfA = await addMember(gw, a, 'ORG_ADMIN', 'ACTIVE');
  const landed = await w.post(await w.samlify({ nameId: otherAdminOfA.email }), { relayState: a.orgId, json: true });
  expect(landed.status, landed.text).toBe(200);
  expect(landed.json.organizationId).toBe(a.orgId);
  untrusted = { userId: otherAdminOfA.userId, email: otherAdminOfA.email, token: landed.json.sessionToken };
  expect(await gw.container.samlConnections.untrust(aPrincipal, a.orgId, w.connectionId)).toBe(true);
});

const A_METADATA = idpMetadataXml('https://idp.alpha.example/metadata', 'https://idp.alpha.example/sso', [testKeyPair('alpha-idp')]);

/** Every table a probe could change. */
const fullSnapshot = () => snapshot(gw, ALL);

interface Probe {
  name: string;
  query: string;
  variables: Record<string, unknown>;
}

interface ProbeIds {
  memberId: string;
  memberEmail: string;
  selfId: string;
  teamId: string;
  /** A connection the organization owns. */
  connectionId: string;
  /** A connection the organization does not trust (to trust). */
  otherConnectionId: string;
  scimTokenId: string;
  webhookEndpointId: string;
  eventId: string;
  domain: string;
  invitedId: string;
}

/** Every mutation that takes an organization id (or an id of something it owns), aimed at `o`, with ids that exist there. */
const mutationsOn = (o: string, ids: ProbeIds): Probe[] => [
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
  { name: 'createSamlConnection', query: `mutation($o: ID!, $m: String!) { createSamlConnection(organizationId: $o, metadataXml: $m) { id } }`, variables: { o, m: PROBE_METADATA } },
  {
    name: 'updateSamlConnection',
    query: `mutation($c: ID!) { updateSamlConnection(connectionId: $c, input: { name: "probe", allowIdpInitiated: true }) { id } }`,
    variables: { c: ids.connectionId },
  },
  { name: 'trustSamlConnection', query: `mutation($o: ID!, $c: ID!) { trustSamlConnection(organizationId: $o, connectionId: $c) { id } }`, variables: { o, c: ids.otherConnectionId } },
  { name: 'untrustSamlConnection', query: `mutation($o: ID!, $c: ID!) { untrustSamlConnection(organizationId: $o, connectionId: $c) }`, variables: { o, c: ids.connectionId } },
  { name: 'createScimToken', query: `mutation($o: ID!) { createScimToken(organizationId: $o, name: "probe") { token } }`, variables: { o } },
  { name: 'revokeScimToken', query: `mutation($o: ID!, $t: ID!) { revokeScimToken(organizationId: $o, tokenId: $t) { id revokedAt } }`, variables: { o, t: ids.scimTokenId } },
  { name: 'setRequireSso', query: `mutation($o: ID!) { setRequireSso(organizationId: $o, required: true) { id } }`, variables: { o } },
  { name: 'addDomain', query: `mutation($o: ID!) { addDomain(organizationId: $o, domain: "probe-claim.example") { domain } }`, variables: { o } },
  { name: 'verifyDomain', query: `mutation($o: ID!, $d: String!) { verifyDomain(organizationId: $o, domain: $d) { verified } }`, variables: { o, d: ids.domain } },
  { name: 'removeDomain', query: `mutation($o: ID!, $d: String!) { removeDomain(organizationId: $o, domain: $d) }`, variables: { o, d: ids.domain } },
  { name: 'resendInvitation', query: `mutation($o: ID!, $u: ID!) { resendInvitation(organizationId: $o, userId: $u) { id } }`, variables: { o, u: ids.invitedId } },
  { name: 'revokeInvitation', query: `mutation($o: ID!, $u: ID!) { revokeInvitation(organizationId: $o, userId: $u) }`, variables: { o, u: ids.invitedId } },
  { name: 'createWebhookEndpoint', query: `mutation($o: ID!) { createWebhookEndpoint(organizationId: $o, input: { url: "http://127.0.0.1:9/probe" }) { secret } }`, variables: { o } },
  {
    name: 'updateWebhookEndpoint',
    query: `mutation($o: ID!, $e: ID!) { updateWebhookEndpoint(organizationId: $o, endpointId: $e, input: { url: "http://127.0.0.1:9/moved", enabled: true }) { id } }`,
    variables: { o, e: ids.webhookEndpointId },
  },
  { name: 'rotateWebhookSecret', query: `mutation($o: ID!, $e: ID!) { rotateWebhookSecret(organizationId: $o, endpointId: $e) { secret } }`, variables: { o, e: ids.webhookEndpointId } },
  { name: 'deleteWebhookEndpoint', query: `mutation($o: ID!, $e: ID!) { deleteWebhookEndpoint(organizationId: $o, endpointId: $e) }`, variables: { o, e: ids.webhookEndpointId } },
  {
    name: 'redeliverWebhookEvent',
    query: `mutation($o: ID!, $e: ID!, $v: ID!) { redeliverWebhookEvent(organizationId: $o, endpointId: $e, eventId: $v) { id } }`,
    variables: { o, e: ids.webhookEndpointId, v: ids.eventId },
  },
];

const PROBE_METADATA = idpMetadataXml('https://idp.probe.example/metadata', 'https://idp.probe.example/sso', [testKeyPair('probe-idp')]);
const GHOST = 'no-such-organization';
const GHOST_CONNECTION = 'scn_no_such_connection';
const idsInA = (selfId: string): ProbeIds => ({
  memberId: aMember.userId,
  memberEmail: aMember.email,
  selfId,
  teamId: SHARED_TEAM_ID,
  connectionId: aConnectionId,
  otherConnectionId: w.connectionId,
  scimTokenId: aScimTokenId,
  webhookEndpointId: aWebhookEndpointId,
  eventId: aEventId,
  domain: A_DOMAIN,
  invitedId: aInvitedId,
});
/** The same probes on an organization (and connection) that do not exist. */
const ghostProbes = (selfId: string): Probe[] => [...mutationsOn(GHOST, { ...idsInA(selfId), connectionId: GHOST_CONNECTION }), SWITCH_PROBE(GHOST)];
const probesOnA = (selfId: string): Probe[] => [...mutationsOn(a.orgId, idsInA(selfId)), SWITCH_PROBE(a.orgId)];
/** What an answer says once A's ids read as the ghost's. */
const asGhost = (message: string) => message.replaceAll(a.orgId, GHOST).replaceAll(aConnectionId, GHOST_CONNECTION);

const SWITCH_PROBE = (o: string): Probe => ({
  name: 'switchOrganization',
  query: `mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken { token } } }`,
  variables: { o },
});

const ORGANIZATION_READ = `query($o: ID!) { organization(id: $o) {
  id name createdAt viewerMembership { id } automaticUserAccess { enabled }
  members { totalCount edges { node { id user { id email } teams { id } permissions } } } teams { id name policies }
} }`;

const SCHEMA = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));

/**
 * Every field of a type, generated from schema.graphql (a new field is probed without editing this
 * file); object fields select their id (when they have one) and, `depth` levels down, all their fields.
 */
const selectAll = (type: GraphQLObjectType, depth: number): string =>
  Object.values(type.getFields())
    .map((f) => {
      const required = f.args.filter((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined);
      if (required.length) throw new Error(`${type.name}.${f.name} has required arguments: give the generated probe values for them`);
      const named = getNamedType(f.type);
      if (!isObjectType(named)) return f.name;
      if (depth > 0) return `${f.name} { __typename ${selectAll(named, depth - 1)} }`;
      return `${f.name} { __typename${named.getFields().id ? ' id' : ''} }`;
    })
    .join(' ');

/** organization(id) with every field of Organization and of what it links to. */
const ORGANIZATION_READ_ALL = `query($o: ID!) { organization(id: $o) { ${selectAll(SCHEMA.getType('Organization') as GraphQLObjectType, 1)} } }`;
/** viewer with every field, two levels down (currentOrganization, organizations' nodes, the user's last visited organization, ...). */
const VIEWER_READ_ALL = `{ viewer { ${selectAll(SCHEMA.getType('Viewer') as GraphQLObjectType, 2)} } }`;

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
      const before = await fullSnapshot();

      expect(await gw.gql<any>(ORGANIZATION_READ, { o: a.orgId }, token)).toEqual({ data: { organization: null } });
      expect(await gw.gql<any>(ORGANIZATION_READ_ALL, { o: a.orgId }, token)).toEqual({ data: { organization: null } });
      const listed = ok(await gw.gql<any>('{ viewer { organizations(first: 100) { totalCount edges { node { id } } } } }', {}, token));
      expect(listed.viewer.organizations.edges.map((e: any) => e.node.id)).not.toContain(a.orgId);

      const results = await run(token, probesOnA(userId));
      for (const r of results) expect(r, r.name).toMatchObject({ code: 'NOT_FOUND' });

      // Indistinguishable from an organization that does not exist: same code, same message.
      const ghostResults = await run(token, ghostProbes(userId));
      for (const [i, r] of results.entries()) expect(asGhost(r.message), r.name).toBe(ghostResults[i]!.message);
      expect(await gw.gql<any>(ORGANIZATION_READ, { o: GHOST }, token)).toEqual({ data: { organization: null } });

      expect(await fullSnapshot()).toEqual(before);
    });

  asOutsider(() => b, "B's ORG_ADMIN");
  asOutsider(() => bMember, "B's MEMBER");

  test("B's ORG_ADMIN cannot reach A's users or teams through B's own organization id (NOT_FOUND, nothing changed)", async () => {
    const before = await snapshot(gw, MEMBERSHIP_TABLES);
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
    expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
  });

  test("a team id both organizations use: B's ORG_ADMIN changes only B's team", async () => {
    const teamsOfA = () =>
      rows(gw, 'select t.*, (select count(*) from team_members tm where tm.team_key = t.key)::int as n from teams t where organization_id = ? order by key', [a.orgId]);
    const before = await teamsOfA();
    const eventsOfA = () => rows(gw, 'select id from membership_events where organization_id = ? order by id', [a.orgId]);
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
    const before = await snapshot(gw, MEMBERSHIP_TABLES);
    const results = await run(a.token, [
      { name: 'setMembershipRole', query: `mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: VIEWER) { id } }`, variables: { o: a.orgId, u: bMember.userId } },
      { name: 'setMembershipStatus', query: `mutation($o: ID!, $u: ID!) { setMembershipStatus(organizationId: $o, userId: $u, status: DISABLED) { id } }`, variables: { o: a.orgId, u: b.userId } },
      { name: 'removeMember', query: `mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }`, variables: { o: a.orgId, u: bMember.userId } },
      { name: 'addTeamMembers', query: `mutation($o: ID!, $u: ID!) { addTeamMembers(organizationId: $o, teamId: "${SHARED_TEAM_ID}", userIds: [$u]) { id } }`, variables: { o: a.orgId, u: bMember.userId } },
    ]);
    for (const r of results) expect(r, r.name).toMatchObject({ code: 'NOT_FOUND' });
    expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
  });

  test("staging a user of B into A links the identity and changes nothing in B", async () => {
    const inB = () => rows(gw, 'select * from memberships where organization_id = ? order by id', [b.orgId]);
    const userRow = () => rows(gw, 'select id, email, display_name, last_visited_organization_id from users where id = ?', [bMember.userId]);
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
  const adminProbes = () => mutationsOn(a.orgId, idsInA(aViewer.userId));

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
    const before = await snapshot(gw, MEMBERSHIP_TABLES);
    const probes = adminProbes().map((p) => ({ ...p, variables: { ...p.variables, ...(p.name.includes('self') ? { u: userId } : {}) } }));
    const results = await run(token, probes);
    for (const r of results) {
      expect(r, r.name).toMatchObject({ code });
      expect(r.message, r.name).toMatch(/ORG_ADMIN/);
    }
    expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
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
      const before = await snapshot(gw, MEMBERSHIP_TABLES);
      expect(refused(await gw.gql(SWITCH_PROBE(a.orgId).query, { o: a.orgId }, m.token)).code).toBe('FORBIDDEN');
      expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
    }
  });
});

test('without a token every probe is UNAUTHENTICATED and nothing changes', async () => {
  const before = await snapshot(gw, MEMBERSHIP_TABLES);
  const probes = probesOnA(aMember.userId);
  for (const p of probes) expect(refused(await gw.gql(p.query, p.variables)).code, p.name).toBe('UNAUTHENTICATED');
  expect(refused(await gw.gql(ORGANIZATION_READ, { o: a.orgId })).code).toBe('UNAUTHENTICATED');
  expect(await snapshot(gw, MEMBERSHIP_TABLES)).toEqual(before);
});

describe('out-of-scope members of A (SPEC §6): ORG_ADMINs of A whose credentials A does not accept', () => {
  const cases: [string, () => { token: string; userId: string; membershipOfA: () => Promise<string> }][] = [
    ['signed in through a connection A never trusted', () => ({ ...ssoOnly, membershipOfA: () => membershipIdInA(ssoOnly.userId) })],
    ['API token made from that session', () => ({ token: ssoApiToken, userId: ssoOnly.userId, membershipOfA: () => membershipIdInA(ssoOnly.userId) })],
    ['signed in into A through a connection A untrusted since', () => ({ ...untrusted, membershipOfA: () => membershipIdInA(untrusted.userId) })],
  ];
  const membershipIdInA = async (userId: string) =>
    (await rows<{ id: string }>(gw, 'select id from memberships where organization_id = ? and user_id = ?', [a.orgId, userId]))[0]!.id;

  test('the out-of-scope members are ACTIVE ORG_ADMINs of A (what they are refused, they could do in scope)', async () => {
    for (const who of [ssoOnly, untrusted]) {
      const row = (await rows<any>(gw, 'select role, status from memberships where organization_id = ? and user_id = ?', [a.orgId, who.userId]))[0];
      expect(row).toEqual({ role: 'ORG_ADMIN', status: 'ACTIVE' });
    }
    // The same user with an OPERATOR session reads all of A through the generated query.
    const operator = await gw.container.identity.createSession(ssoOnly.userId, a.orgId, ['OPERATOR']);
    const read = await gw.gql<any>(ORGANIZATION_READ_ALL, { o: a.orgId }, operator.token);
    expect(read.errors).toBeUndefined();
    expect(read.data.organization.id).toBe(a.orgId);
    expect(read.data.organization.scimTokens.map((t: any) => t.id)).toContain(aScimTokenId);
  });

  test.each(cases)('%s: every probe answers exactly what a non-member gets, and nothing changes', async (_label, who) => {
    const { token, userId } = who();
    const before = await fullSnapshot();

    expect(await gw.gql<any>(ORGANIZATION_READ_ALL, { o: a.orgId }, token)).toEqual({ data: { organization: null } });
    const results = await run(token, probesOnA(userId));
    const nonMember = await run(b.token, probesOnA(b.userId));
    const ghost = await run(token, ghostProbes(userId));
    for (const [i, r] of results.entries()) {
      expect(r, r.name).toMatchObject({ code: 'NOT_FOUND' });
      expect(r.message.replaceAll(userId, '<self>'), r.name).toBe(nonMember[i]!.message.replaceAll(b.userId, '<self>'));
      expect(asGhost(r.message), r.name).toBe(ghost[i]!.message);
    }
    // Nothing of the refused attempts stuck: still nothing of A is readable.
    expect(await gw.gql<any>(ORGANIZATION_READ_ALL, { o: a.orgId }, token)).toEqual({ data: { organization: null } });
    expect(await fullSnapshot()).toEqual(before);
  });

  test.each(cases)('%s: the whole viewer (every field, two levels down) never mentions A', async (_label, who) => {
    const { token } = who();
    const membershipOfA = await who().membershipOfA();
    const before = await fullSnapshot();
    const r = await gw.gql<any>(VIEWER_READ_ALL, {}, token);
    // A MEMBER of X may not read X's connections and tokens; nothing else is refused, and no refusal names A.
    for (const e of r.errors ?? []) expect({ code: e.extensions?.code, path: e.path?.slice(-1) }).toEqual({ code: 'FORBIDDEN', path: [expect.stringMatching(/^(samlConnections|trustedSamlConnectionIds|scimTokens|webhookEndpoints|events|domains)$/)] });
    expect(JSON.stringify(r.errors ?? [])).not.toContain(a.orgId);
    const text = JSON.stringify(r.data);
    expect(text).not.toContain(a.orgId);
    expect(text).not.toContain(membershipOfA);
    if (r.data.viewer.accessToken) expect(JSON.stringify(jwtPayload(r.data.viewer.accessToken.token))).not.toContain(a.orgId);
    expect(r.data.viewer.organizations.edges.map((e: any) => e.node.id)).not.toContain(a.orgId);
    expect(await fullSnapshot()).toEqual(before);
  });

  test('the session that landed in A before the untrust: current organization, current membership, access token and last visited organization read as none', async () => {
    const [row] = await rows<any>(gw, 'select s.current_organization_id, u.last_visited_organization_id from sessions s join users u on u.id = s.user_id where s.user_id = ? and s.kind = ?', [untrusted.userId, 'SESSION']);
    expect(row).toEqual({ current_organization_id: a.orgId, last_visited_organization_id: a.orgId });
    const r = ok(await gw.gql<any>('{ viewer { currentOrganization { id } currentMembership { id } accessToken { token } user { lastVisitedOrganization { id } } organizations { totalCount } } }', {}, untrusted.token));
    expect(r.viewer).toEqual({ currentOrganization: null, currentMembership: null, accessToken: null, user: { lastVisitedOrganization: null }, organizations: { totalCount: 0 } });
  });

  test('after the refused switch, the access token is still for the organization the session is in (X), never A', async () => {
    expect(refused(await gw.gql(SWITCH_PROBE(a.orgId).query, { o: a.orgId }, ssoOnly.token)).code).toBe('NOT_FOUND');
    const r = ok(await gw.gql<any>('{ viewer { currentOrganization { id } accessToken { token organizationId } } }', {}, ssoOnly.token));
    expect(r.viewer.currentOrganization.id).toBe(xOrg);
    expect(r.viewer.accessToken.organizationId).toBe(xOrg);
    expect(jwtPayload(r.viewer.accessToken.token).org).toBe(xOrg);
  });

  test.each(cases)("%s: subscribing to A's membership events is NOT_FOUND, with a non-member's message", async (_label, who) => {
    const subscribe = async (token: string, o: string) => {
      const sub = take<any>(gw.ws(token), 'subscription($o: ID) { membershipChanged(organizationId: $o) { id } }', { o }, 1, 5_000);
      await sub.done;
      expect(sub.values).toEqual([]);
      expect(sub.errors).toHaveLength(1);
      const e = sub.errors[0] as any;
      return { code: e.extensions?.code ?? e[0]?.extensions?.code, message: e.message ?? e[0]?.message };
    };
    const outOfScope = await subscribe(who().token, a.orgId);
    expect(outOfScope).toEqual(await subscribe(b.token, a.orgId));
    expect(outOfScope.code).toBe('NOT_FOUND');
    expect({ ...outOfScope, message: asGhost(outOfScope.message) }).toEqual(await subscribe(who().token, GHOST));
  });

  test("the viewer's own event stream passes the viewer's events of X and none of A", async () => {
    // From the last event on: whether the changes below arrive replayed or live, each comes once, in order; the first must be X's.
    const sub = take<any>(gw.ws(ssoOnly.token), 'subscription($after: ID) { membershipChanged(after: $after) { id organizationId type } }', { after: await lastEventId(gw) }, 1, 10_000);
    ok(await gw.gql(`mutation($o: ID!, $u: ID!) { addTeamMembers(organizationId: $o, teamId: "${TEAM_ONLY_IN_A}", userIds: [$u]) { id } }`, { o: a.orgId, u: ssoOnly.userId }, a.token));
    ok(await gw.gql(`mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: VIEWER) { id } }`, { o: xOrg, u: ssoOnly.userId }, xAdminToken));
    await sub.done;
    expect(sub.errors).toEqual([]);
    expect(sub.values.map((v) => v.membershipChanged)).toEqual([expect.objectContaining({ organizationId: xOrg, type: 'ROLE_CHANGED' })]);
    // Replaying the log from before both changes skips A's event too.
    ok(await gw.gql(`mutation($o: ID!, $u: ID!) { removeTeamMembers(organizationId: $o, teamId: "${TEAM_ONLY_IN_A}", userIds: [$u]) { id } }`, { o: a.orgId, u: ssoOnly.userId }, a.token));
    const replay = take<any>(gw.ws(ssoOnly.token), 'subscription($after: ID) { membershipChanged(after: $after) { organizationId } }', { after: '0' }, 50, 3_000);
    await replay.done;
    expect(replay.errors).toEqual([]);
    expect(replay.values.length).toBeGreaterThan(0);
    expect(replay.values.map((v) => v.membershipChanged.organizationId)).not.toContain(a.orgId);
  });
});

describe('the probe tables cover schema.graphql', () => {
  /** Root fields probed elsewhere in this file, or that take no organization (with where they are tried). */
  const EXEMPT: Record<string, string> = {
    'Query.viewer': 'VIEWER_READ_ALL (every field, generated)',
    'Query.organization': 'ORGANIZATION_READ_ALL (every field, generated)',
    'Subscription.membershipChanged': 'the subscription probes above',
    'Mutation.createOrganization': 'takes no organization id (trust-attacks.test.ts tries it)',
    'Mutation.createApiToken': 'takes no organization id (the API token case above)',
    'Mutation.signOut': 'takes no organization id',
  };

  test('every root field that takes an organization, connection or token id has a probe; every other root field is listed as exempt', () => {
    const probed = new Set(
      probesOnA('u').map((p) => {
        const op = parse(p.query).definitions[0] as OperationDefinitionNode;
        return `Mutation.${(op.selectionSet.selections[0] as FieldNode).name.value}`;
      }),
    );
    const missing: string[] = [];
    const roots = [SCHEMA.getQueryType()!, SCHEMA.getMutationType()!, SCHEMA.getSubscriptionType()!];
    const fields = new Set(roots.flatMap((root) => Object.keys(root.getFields()).map((f) => `${root.name}.${f}`)));
    // A renamed or removed field must not leave a probe or an exemption that no longer covers anything.
    expect([...probed, ...Object.keys(EXEMPT)].filter((key) => !fields.has(key))).toEqual([]);
    for (const root of roots)
      for (const f of Object.values(root.getFields())) {
        const key = `${root.name}.${f.name}`;
        if (!probed.has(key) && !EXEMPT[key]) missing.push(`${key}(${f.args.map((x) => x.name).join(', ')})`);
        if (EXEMPT[key] && f.args.some((x) => /^(organizationId|connectionId|tokenId|endpointId)$/.test(x.name)) && !key.startsWith('Subscription.'))
          missing.push(`${key} is exempt but takes ${f.args.map((x) => x.name).join(', ')}`);
      }
    expect(missing).toEqual([]);
  });

  test('the generated reads select every field of Organization and Viewer', () => {
    for (const [typeName, query] of [
      ['Organization', ORGANIZATION_READ_ALL],
      ['Viewer', VIEWER_READ_ALL],
    ] as const) {
      const op = parse(query).definitions[0] as OperationDefinitionNode;
      let set = (op.selectionSet.selections[0] as FieldNode).selectionSet!;
      if (typeName === 'Organization') expect((op.selectionSet.selections[0] as FieldNode).name.value).toBe('organization');
      set = set ?? op.selectionSet;
      const selected = set.selections.map((x) => (x as FieldNode).name.value).filter((n) => n !== '__typename');
      expect(selected.sort()).toEqual(Object.keys((SCHEMA.getType(typeName) as GraphQLObjectType).getFields()).sort());
    }
  });
});
