/**
 * Sessions act only where their sign-in is trusted (SPEC §6): the account takeover through a
 * SAML connection of one's own is refused at every door, untrusting cuts sessions and
 * subscriptions off, sign-ins land and report only in scope, and sign-ins of the same user
 * in one browser accumulate while another user's replace.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { rows, SAML_TABLES, snapshot } from '../kit/db.js';
import { endCode, eventually, record } from '../kit/events.js';
import { buildResponse, b64, signWithXmlCrypto, type SpContext } from '../kit/saml.js';
import { idpMetadataXml, type TestKeyPair, testKeyPair } from '../kit/saml-keys.js';
import { type OrgHandle, type PostResult, useSamlWorld } from '../kit/saml-world.js';

const w = useSamlWorld({ env: { ORGWAY_SESSION_RECHECK_MS: '60000' } });

let seq = 0;
const uniq = (label: string) => `${label}${++seq}${Math.random().toString(36).slice(2, 6)}`;

/** A second IdP, with its own keys, as a connection owned by `owner` (created through GraphQL). */
interface Idp {
  connectionId: string;
  keys: TestKeyPair;
  sp: SpContext;
  /** A signed response for `email` (base64), IdP-initiated unless inResponseTo is given. */
  response(email: string, attributes?: Record<string, string[]>, inResponseTo?: string | null): string;
}

const addIdp = async (owner: OrgHandle, name: string): Promise<Idp> => {
  const keys = testKeyPair(name);
  const entityId = `https://${name}.idp.test/metadata`;
  const r = await w.gw.gql<any>(
    `mutation($o: ID!, $x: String!) { createSamlConnection(organizationId: $o, metadataXml: $x, settings: { allowIdpInitiated: true }) { id } }`,
    { o: owner.orgId, x: idpMetadataXml(entityId, `https://${name}.idp.test/sso`, [keys]) },
    owner.adminToken,
  );
  expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
  const connectionId = r.data.createSamlConnection.id as string;
  const publicUrl = w.gw.container.config.publicUrl;
  const sp = { idpEntityId: entityId, acsUrl: `${publicUrl}/saml/${connectionId}/acs`, audience: `${publicUrl}/saml/${connectionId}/metadata` };
  return {
    connectionId,
    keys,
    sp,
    response(email, attributes = {}, inResponseTo = null) {
      const parts = buildResponse(sp, { nameId: email, attributes, inResponseTo });
      return b64(signWithXmlCrypto(parts.xml, parts.assertionId, keys));
    },
  };
};

/** Posts a response to a connection's ACS as a JSON client, optionally carrying a session cookie. */
const acs = (connectionId: string, samlResponse: string, options: { cookie?: string; relayState?: string } = {}): Promise<PostResult> =>
  w.post(samlResponse, {
    connectionId,
    json: true,
    ...(options.relayState ? { relayState: options.relayState } : {}),
    ...(options.cookie ? { cookie: `orgway_session=${options.cookie}` } : {}),
  });

const emailOf = async (userId: string) => (await rows<{ email: string }>(w.gw, 'select email from users where id = ?', [userId]))[0]!.email;
const sessionRow = async (token: string) => (await w.principal(token)).sessionId;
const gql = (query: string, variables: Record<string, unknown>, token: string) => w.gw.gql<any>(query, variables, token);
const code = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;

describe('the takeover through a connection of one’s own is refused at every door', () => {
  let victim: OrgHandle;
  let victimEmail: string;
  let attackerOrg: OrgHandle;
  let rogue: Idp;
  let rogueToken: string;
  let before: Awaited<ReturnType<typeof victimState>>;

  /** Everything of the victim's organization an attacker could change. */
  const victimState = async () => {
    const all = await snapshot(w.gw, SAML_TABLES);
    return {
      memberships: all.memberships.filter((m: any) => m.organization_id === victim.orgId),
      events: all.membership_events.filter((e: any) => e.organization_id === victim.orgId),
      scimTokens: await rows(w.gw, 'select id from scim_tokens where organization_id = ?', [victim.orgId]),
      trusts: await rows(w.gw, 'select connection_id from saml_trusts where organization_id = ? order by 1', [victim.orgId]),
      organization: await rows(w.gw, 'select * from organizations where id = ?', [victim.orgId]),
    };
  };

  beforeAll(async () => {
    // The victim: ORG_ADMIN of an organization that trusts only its own IdP (the world's connection).
    victim = w.owner;
    victimEmail = await emailOf(victim.adminUserId);
    // The attacker: any user can make an organization and a SAML connection whose IdP they hold.
    attackerOrg = await w.org({ trust: false, name: 'Attacker org' });
    rogue = await addIdp(attackerOrg, uniq('rogue'));
    before = await victimState();
    const r = await acs(rogue.connectionId, rogue.response(victimEmail, { OrgAndRole: [`SPOTINST-${attackerOrg.orgId}-ADMIN`] }));
    expect(r.status, r.text).toBe(200);
    rogueToken = r.json.sessionToken;
  });

  test('the ACS answers a session for the victim’s identity scoped to the attacker’s organization only', async () => {
    const r = await acs(rogue.connectionId, rogue.response(victimEmail, { OrgAndRole: [`SPOTINST-${attackerOrg.orgId}-ADMIN`] }));
    expect(r.json.userId).toBe(victim.adminUserId);
    expect(r.json.organizationId).toBe(attackerOrg.orgId);
    expect(r.json.memberships).toEqual([{ organizationId: attackerOrg.orgId, role: 'ADMIN', status: 'ACTIVE' }]);
    expect((await w.principal(rogueToken)).authentications).toEqual([`SSO:${rogue.connectionId}`]);
  });

  test('Viewer.organizations and organization(id) do not show the victim’s organization', async () => {
    const r = await gql(`{ viewer { organizations { totalCount edges { node { id } } } currentOrganization { id } } }`, {}, rogueToken);
    expect(r.data.viewer.organizations).toEqual({ totalCount: 1, edges: [{ node: { id: attackerOrg.orgId } }] });
    const o = await gql(`query($id: ID!) { organization(id: $id) { id name members { totalCount } } }`, { id: victim.orgId }, rogueToken);
    expect(o).toEqual({ data: { organization: null } });
  });

  test('User.lastVisitedOrganization is null when that organization is out of scope', async () => {
    await w.gw.container.memberships.switchOrganization(victim.principal, victim.orgId);
    before = await victimState();
    const r = await gql(`{ viewer { user { lastVisitedOrganization { id } } } }`, {}, rogueToken);
    expect(r.data.viewer.user.lastVisitedOrganization).toBeNull();
  });

  test('switchOrganization, admin mutations and SCIM token creation answer NOT_FOUND exactly as for a non-member', async () => {
    const nonMember = (await w.org({ trust: false })).adminToken;
    const doors: [string, Record<string, unknown>][] = [
      [`mutation($o: ID!) { switchOrganization(organizationId: $o) { organization { id } } }`, { o: victim.orgId }],
      [`mutation($o: ID!) { stageUser(organizationId: $o, email: "x@evil.example") { id } }`, { o: victim.orgId }],
      [`mutation($o: ID!) { inviteUser(organizationId: $o, email: "x@evil.example") { id } }`, { o: victim.orgId }],
      [`mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: VIEWER) { id } }`, { o: victim.orgId, u: victim.adminUserId }],
      [`mutation($o: ID!, $u: ID!) { setMembershipStatus(organizationId: $o, userId: $u, status: DISABLED) { id } }`, { o: victim.orgId, u: victim.adminUserId }],
      [`mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }`, { o: victim.orgId, u: victim.adminUserId }],
      [`mutation($o: ID!) { createScimToken(organizationId: $o, name: "pwn") { token } }`, { o: victim.orgId }],
      [`mutation($o: ID!, $c: ID!) { trustSamlConnection(organizationId: $o, connectionId: $c) { id } }`, { o: victim.orgId, c: rogue.connectionId }],
      [`mutation($o: ID!) { setAutomaticUserAccess(organizationId: $o, input: { enabled: true, defaultRole: MEMBER, allowedDomains: [] }) { id } }`, { o: victim.orgId }],
    ];
    for (const [query, variables] of doors) {
      const attacker = await gql(query, variables, rogueToken);
      const stranger = await gql(query, variables, nonMember);
      expect(code(attacker), query).toBe('NOT_FOUND');
      expect(attacker.errors![0]!.message, query).toBe(stranger.errors![0]!.message);
    }
    expect(await victimState()).toEqual(before);
  });

  test('an API token made from the rogue session is scoped like it, never wider', async () => {
    const t = await gql(`mutation { createApiToken(name: "keep") { token } }`, {}, rogueToken);
    const apiToken = t.data.createApiToken.token as string;
    expect((await w.principal(apiToken)).authentications).toEqual([`SSO:${rogue.connectionId}`]);
    expect(await gql(`query($id: ID!) { organization(id: $id) { id } }`, { id: victim.orgId }, apiToken)).toEqual({ data: { organization: null } });
    expect(code(await gql(`mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken { token } } }`, { o: victim.orgId }, apiToken))).toBe('NOT_FOUND');
    expect(await victimState()).toEqual(before);
  });

  test('subscriptions: the victim’s organization is NOT_FOUND; the viewer stream carries no event of it', async () => {
    const refused = record(w.gw.ws(rogueToken), { organizationId: victim.orgId });
    await refused.ended;
    expect(endCode(refused)).toBe('NOT_FOUND');

    const own = record(w.gw.ws(rogueToken));
    await eventually(async () => expect((await w.gw.container.metrics.activeSubscriptions.get()).values[0]?.value ?? 0).toBeGreaterThan(0));
    // An event about the victim's membership in its own organization, then one in the attacker's.
    const team = await gql(`mutation($o: ID!) { createTeam(organizationId: $o, input: { id: "t-${uniq('x')}", name: "Ops" }) { id } }`, { o: victim.orgId }, victim.adminToken);
    expect(team.errors).toBeUndefined();
    const teamId = team.data.createTeam.id;
    const added = await gql(`mutation($o: ID!, $t: ID!, $u: ID!) { addTeamMembers(organizationId: $o, teamId: $t, userIds: [$u]) { id } }`, { o: victim.orgId, t: teamId, u: victim.adminUserId }, victim.adminToken);
    expect(added.errors, JSON.stringify(added.errors)).toBeUndefined();
    await gql(`mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: VIEWER) { id } }`, { o: attackerOrg.orgId, u: victim.adminUserId }, attackerOrg.adminToken);
    const got = await own.until(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(own.events.map((e) => e.organizationId)).toEqual([attackerOrg.orgId]);
    expect(got[0]!.type).toBe('ROLE_CHANGED');
    own.stop();
  });

  test('Viewer.accessToken is only ever for an organization in scope', async () => {
    const r = await gql(`{ viewer { accessToken { organizationId } } }`, {}, rogueToken);
    expect(r.data.viewer.accessToken?.organizationId ?? null).not.toBe(victim.orgId);
  });
});

describe('untrusting a connection cuts its sessions off at once', () => {
  test('requests answer as for a non-member, and an open subscription ends with FORBIDDEN', async () => {
    const org = await w.org({ name: 'Trusting org' });
    const email = `${uniq('u')}@members.example`;
    const signIn = await w.post(await w.samlify({ nameId: email, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }), { json: true });
    expect(signIn.status, signIn.text).toBe(200);
    const token = signIn.json.sessionToken as string;
    expect((await gql(`query($id: ID!) { organization(id: $id) { id } }`, { id: org.orgId }, token)).data.organization).toEqual({ id: org.orgId });

    const client = w.gw.ws(token);
    const rec = record(client, { organizationId: org.orgId });
    await eventually(async () => expect(w.gw.container.events.subscriberCount).toBeGreaterThan(0));
    const r = await gql(`mutation($o: ID!, $c: ID!) { untrustSamlConnection(organizationId: $o, connectionId: $c) }`, { o: org.orgId, c: w.connectionId }, org.adminToken);
    expect(r.data.untrustSamlConnection).toBe(true);

    await rec.ended;
    expect(endCode(rec)).toBe('FORBIDDEN');
    expect(await gql(`query($id: ID!) { organization(id: $id) { id } }`, { id: org.orgId }, token)).toEqual({ data: { organization: null } });
    expect(code(await gql(`mutation($o: ID!) { switchOrganization(organizationId: $o) { organization { id } } }`, { o: org.orgId }, token))).toBe('NOT_FOUND');
    expect((await gql(`{ viewer { organizations { totalCount } currentOrganization { id } accessToken { token } } }`, {}, token)).data.viewer).toEqual({
      organizations: { totalCount: 0 },
      currentOrganization: null,
      accessToken: null,
    });
    // Trusting again restores it: trust is read at the time of each request.
    await gql(`mutation($o: ID!, $c: ID!) { trustSamlConnection(organizationId: $o, connectionId: $c) { id } }`, { o: org.orgId, c: w.connectionId }, org.adminToken);
    expect((await gql(`query($id: ID!) { organization(id: $id) { id } }`, { id: org.orgId }, token)).data.organization).toEqual({ id: org.orgId });
  });

  test('a subscription on another instance ends too (the trust change travels by NOTIFY)', async () => {
    const { startGateway } = await import('../kit/gateway.js');
    const other = await startGateway({ t: w.gw.t, env: { ORGWAY_SESSION_RECHECK_MS: '600000' } });
    try {
      const org = await w.org({ name: 'Trusting org 2' });
      const email = `${uniq('u')}@members.example`;
      const signIn = await w.post(await w.samlify({ nameId: email, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }), { json: true });
      const rec = record(other.ws(signIn.json.sessionToken), { organizationId: org.orgId });
      await eventually(async () => expect(other.container.events.subscriberCount).toBe(1));
      await gql(`mutation($o: ID!, $c: ID!) { untrustSamlConnection(organizationId: $o, connectionId: $c) }`, { o: org.orgId, c: w.connectionId }, org.adminToken);
      await rec.ended;
      expect(endCode(rec)).toBe('FORBIDDEN');
    } finally {
      await other.close();
    }
  });
});

describe('a sign-in lands and reports only in organizations that trust its connection', () => {
  test('the last visited organization out of scope is passed over; the body lists only memberships in scope', async () => {
    const outside = await w.org({ trust: false, name: 'AAA outside' });
    const inside = await w.org({ name: 'ZZZ inside' });
    const email = `${uniq('l')}@members.example`;
    // A member of both; last visited the one that does not trust the connection.
    await w.gw.container.memberships.stageUser(outside.principal, outside.orgId, email, 'MEMBER');
    await w.gw.container.memberships.stageUser(inside.principal, inside.orgId, email, 'MEMBER');
    const user = (await rows<{ id: string }>(w.gw, 'select id from users where email = ?', [email]))[0]!;
    const s = await w.gw.container.identity.createSession(user.id, null, ['OPERATOR']);
    await w.gw.container.memberships.switchOrganization(await w.principal(s.token), outside.orgId);

    // No RelayState: the last visited organization (and the first by name) is out of scope.
    const r = await w.post(await w.samlify({ nameId: email, attributes: { displayName: ['Mallory'] } }), { json: true });
    expect(r.status, r.text).toBe(200);
    expect(r.json.organizationId).toBe(inside.orgId);
    expect(r.json.memberships).toEqual([{ organizationId: inside.orgId, role: 'MEMBER', status: 'STAGED' }]);
    // Only an organization out of scope left to enter: NO_ACCESS, though the user has a membership there.
    await w.gw.container.memberships.setMembershipStatus(inside.principal, inside.orgId, user.id, 'DISABLED');
    const again = await w.post(await w.samlify({ nameId: email }), { json: true });
    expect(again.status, again.text).toBe(403);
    expect(again.json.error.code).toBe('NO_ACCESS');
    // No shared identity attribute changed (the user belongs to an organization that does not trust the connection).
    expect((await rows(w.gw, 'select display_name from users where id = ?', [user.id]))[0]).toEqual({ display_name: null });
  });
});

describe('sign-ins in one browser', () => {
  let c1: OrgHandle;
  let c2: OrgHandle;
  let second: Idp;
  beforeAll(async () => {
    c1 = await w.org({ name: 'Through C' });
    c2 = await w.org({ trust: false, name: 'Through D' });
    second = await addIdp(c2, uniq('second'));
  });

  const names = (r: any) => r.data.viewer.organizations.edges.map((e: any) => e.node.id).sort();
  const ORGS = `{ viewer { organizations { edges { node { id } } } } }`;

  test('the same user signing in through a second connection adds it to the session (a new secret; the old one ends)', async () => {
    const email = `${uniq('acc')}@members.example`;
    const first = await w.post(await w.samlify({ nameId: email, attributes: { OrgAndRole: [`SPOTINST-${c1.orgId}-VIEWER`] } }), { json: true });
    expect(first.status, first.text).toBe(200);
    const sessionId = await sessionRow(first.json.sessionToken);
    const next = await acs(second.connectionId, second.response(email, { OrgAndRole: [`SPOTINST-${c2.orgId}-VIEWER`] }), { cookie: first.session! });
    expect(next.status, next.text).toBe(200);
    expect(next.json.memberships).toEqual([{ organizationId: c2.orgId, role: 'VIEWER', status: 'ACTIVE' }]);
    const token = next.json.sessionToken as string;
    expect(next.session).toBe(token);
    expect(await sessionRow(token)).toBe(sessionId);
    expect([...(await w.principal(token)).authentications].sort()).toEqual([`SSO:${second.connectionId}`, `SSO:${w.connectionId}`].sort());
    await expect(w.principal(first.json.sessionToken)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(names(await gql(ORGS, {}, token))).toEqual([c1.orgId, c2.orgId].sort());
    for (const o of [c1.orgId, c2.orgId]) expect(code(await gql(`mutation($o: ID!) { switchOrganization(organizationId: $o) { organization { id } } }`, { o }, token))).toBeUndefined();
  });

  test('an SP-initiated sign-in started with the session cookie adds to that session through the ACS-only sign-in cookie', async () => {
    const email = `${uniq('sp')}@members.example`;
    const first = await w.post(await w.samlify({ nameId: email, attributes: { OrgAndRole: [`SPOTINST-${c1.orgId}-VIEWER`] } }), { json: true });
    const login = await fetch(`${w.gw.url}/saml/${second.connectionId}/login?organizationId=${c2.orgId}`, { redirect: 'manual', headers: { cookie: `orgway_session=${first.session}` } });
    expect(login.status).toBe(302);
    const signInCookie = /orgway_sign_in=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')![1]!;
    const requestId = (await rows<{ id: string }>(w.gw, 'select id from saml_requests where connection_id = ? order by created_at desc limit 1', [second.connectionId]))[0]!;
    const res = await fetch(`${w.gw.url}/saml/${second.connectionId}/acs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', cookie: `orgway_sign_in=${signInCookie}` },
      body: new URLSearchParams({ SAMLResponse: second.response(email, { OrgAndRole: [`SPOTINST-${c2.orgId}-VIEWER`] }, requestId.id) }).toString(),
    });
    const next = { status: res.status, json: (await res.json()) as any, text: '' };
    expect(next.status, next.text).toBe(200);
    expect(names(await gql(ORGS, {}, next.json.sessionToken))).toEqual([c1.orgId, c2.orgId].sort());
  });

  test('a sign-in as a different user replaces the session: the browser’s old session ends, nothing is merged', async () => {
    const alice = `${uniq('alice')}@members.example`;
    const bob = `${uniq('bob')}@members.example`;
    const a = await w.post(await w.samlify({ nameId: alice, attributes: { OrgAndRole: [`SPOTINST-${c1.orgId}-VIEWER`] } }), { json: true });
    const b = await acs(second.connectionId, second.response(bob, { OrgAndRole: [`SPOTINST-${c2.orgId}-VIEWER`] }), { cookie: a.session! });
    expect(b.status, b.text).toBe(200);
    expect(await sessionRow(b.json.sessionToken)).not.toBe(undefined);
    expect((await w.principal(b.json.sessionToken)).authentications).toEqual([`SSO:${second.connectionId}`]);
    expect(names(await gql(ORGS, {}, b.json.sessionToken))).toEqual([c2.orgId]);
    await expect(w.principal(a.json.sessionToken)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  test('a session that started a login gains nothing when someone else’s browser answers it', async () => {
    // An attacker holding a session for the victim's identity starts a login at the victim's
    // connection; the victim completes it. The attacker's secret stops working.
    const email = `${uniq('fix')}@members.example`;
    const attacker = await acs(second.connectionId, second.response(email, { OrgAndRole: [`SPOTINST-${c2.orgId}-VIEWER`] }));
    await fetch(`${w.gw.url}/saml/${w.connectionId}/login?organizationId=${c1.orgId}`, { redirect: 'manual', headers: { cookie: `orgway_session=${attacker.session}` } });
    const requestId = (await rows<{ id: string }>(w.gw, 'select id from saml_requests where connection_id = ? order by created_at desc limit 1', [w.connectionId]))[0]!.id;
    const victim = await w.post(await w.samlify({ nameId: email, inResponseTo: requestId, attributes: { OrgAndRole: [`SPOTINST-${c1.orgId}-VIEWER`] } }), { json: true });
    expect(victim.status, victim.text).toBe(200);
    expect((await w.principal(attacker.json.sessionToken)).authentications).toEqual([`SSO:${second.connectionId}`]);
    expect(await sessionRow(victim.json.sessionToken)).not.toBe(await sessionRow(attacker.json.sessionToken));
  });
});

describe('createOrganization', () => {
  test('the new organization trusts the connections its creator signed in through, so the creator can enter it', async () => {
    const email = `${uniq('c')}@members.example`;
    const org = await w.org({ name: 'Home' });
    const s = await w.post(await w.samlify({ nameId: email, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }), { json: true });
    const r = await gql(`mutation { createOrganization(input: { name: "Mine" }) { id } }`, {}, s.json.sessionToken);
    const id = r.data.createOrganization.id as string;
    expect(code(await gql(`mutation($o: ID!) { switchOrganization(organizationId: $o) { membership { role } } }`, { o: id }, s.json.sessionToken))).toBeUndefined();
    expect(await rows(w.gw, 'select connection_id from saml_trusts where organization_id = ?', [id])).toEqual([{ connection_id: w.connectionId }]);
  });
});

describe('Migration0004Trust gives sessions made before it a safe meaning', () => {
  test('the bootstrap API token becomes OPERATOR; every other session and API token is revoked', async () => {
    const { createTestDatabase } = await import('../kit/db.js');
    const t = await createTestDatabase({ migrate: false });
    try {
      await t.db.orm.migrator.up({ to: 'Migration0003Scim' });
      const sql = (q: string) => rows(t, q);
      await sql(`insert into organizations (id, name, created_at, updated_at) values ('org-a', 'A', now(), now()), ('org-b', 'B', now(), now())`);
      await sql(`insert into users (id, email, created_at, updated_at) values ('usr-a', 'a@example.com', now(), now()), ('usr-b', 'b@example.com', now(), now())`);
      await sql(`insert into membership_events (type, organization_id, user_id, membership_id, actor, occurred_at) values
                   ('JOINED', 'org-a', 'usr-a', 'mem-a', 'cli', now()), ('JOINED', 'org-b', 'usr-b', 'mem-b', 'user:usr-b', now())`);
      await sql(`insert into sessions (id, token_hash, kind, name, user_id, current_organization_id, created_at) values
                   ('tok-boot', 'h1', 'API_TOKEN', 'bootstrap org-a', 'usr-a', 'org-a', now()),
                   ('tok-fake', 'h2', 'API_TOKEN', 'bootstrap org-b', 'usr-b', 'org-b', now()),
                   ('tok-user', 'h3', 'API_TOKEN', 'script', 'usr-a', 'org-a', now()),
                   ('ses-saml', 'h4', 'SESSION', null, 'usr-a', 'org-a', now())`);
      await t.db.orm.migrator.up();
      const found = await rows<{ id: string; authentications: string[]; revoked: boolean }>(t,
        'select id, authentications, revoked_at is not null as revoked from sessions order by id',
      );
      expect(found).toEqual([
        { id: 'ses-saml', authentications: [], revoked: true },
        { id: 'tok-boot', authentications: ['OPERATOR'], revoked: false },
        { id: 'tok-fake', authentications: [], revoked: true },
        { id: 'tok-user', authentications: [], revoked: true },
      ]);
    } finally {
      await t.drop();
    }
  });
});
