/**
 * SPEC §6 from the attacker's side. The attacker owns an organization, a SAML connection
 * into it and that connection's IdP keys, so it can sign any assertion for any email through
 * its own connection. The victim is an ORG_ADMIN of an organization that trusts only its own
 * connection. Every door is tried with what the attacker can get; none may read or change
 * anything in the victim's organization or reveal that the victim is a member there.
 */
import { inflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, test } from 'vitest';
import { rows } from '../kit/db.js';
import { lastEventId } from '../kit/events.js';
import { type AssertionSpec, buildResponse, samlifyResponse, type SpContext } from '../kit/saml.js';
import { idpMetadataXml, testKeyPair } from '../kit/saml-keys.js';
import { type PostResult, useSamlWorld } from '../kit/saml-world.js';
import { jwtPayload, ok, refused, STAGE, SWITCH } from '../kit/world.js';
import { take } from '../kit/gateway.js';
import { newUser, patchOp, scimClient } from '../kit/scim.js';

const ATTACKER_IDP = 'https://evil-idp.example.net/metadata';
const ATTACKER_SSO = 'https://evil-idp.example.net/sso';
const attackerKeys = testKeyPair('attacker-idp');

/** The victim's organization (trusts only the victim's connection, w.connectionId) and its admin token (OPERATOR). */
let victimOrg: string;
let victimOrgAdminToken: string;
/** The victim: ORG_ADMIN of victimOrg, signed in through the victim's connection in their browser. */
const victimEmail = `victim.${Math.random().toString(36).slice(2, 8)}@victim.example`;
let victimSession: string;
/** The attacker's organization, its connection, and a session of the attacker's own admin. */
let attackerOrg: string;
let attackerToken: string;
let attackerUserId: string;
let attackerConnection: string;
let attackerSp: SpContext;
let attackerSpMetadata: string;

/** A response for the attacker's connection, signed by the attacker's IdP. */
const forged = (spec: AssertionSpec = {}): Promise<string> =>
  samlifyResponse({ entityId: ATTACKER_IDP, keys: attackerKeys }, attackerSpMetadata, buildResponse(attackerSp, { nameId: victimEmail, ...spec }));

const postAttacker = (response: string, o: { relayState?: string; cookie?: string; json?: boolean } = {}): Promise<PostResult> =>
  postAcs(attackerConnection, response, o);

const postAcs = (connectionId: string, response: string, o: { relayState?: string; cookie?: string; json?: boolean } = {}): Promise<PostResult> =>
  w.post(response, { connectionId, ...o, json: o.json !== false });

/** GET /saml/:id/login as a browser: with the browser's cookies; returns the AuthnRequest id the IdP receives. */
const startLogin = async (connectionId: string, cookie?: string, organizationId?: string) => {
  const res = await fetch(`${w.gw.url}/saml/${connectionId}/login${organizationId ? `?organizationId=${organizationId}` : ''}`, {
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
  });
  expect(res.status, await res.clone().text()).toBe(302);
  const u = new URL(res.headers.get('location')!);
  const xml = inflateRawSync(Buffer.from(u.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  return { requestId: /ID="([^"]+)"/.exec(xml)![1]!, setCookie: res.headers.get('set-cookie') };
};

const ORG_READ = `query($o: ID!) { organization(id: $o) { id name viewerMembership { role } } }`;

/** Whether `token` can see or act in the victim's organization through any read door. */
const expectLockedOut = async (token: string) => {
  expect(await w.gw.gql(ORG_READ, { o: victimOrg }, token)).toEqual({ data: { organization: null } });
  const viewer = ok(await w.gw.gql<any>('{ viewer { organizations(first: 100) { totalCount edges { node { id } } } currentOrganization { id } accessToken { organizationId } } }', {}, token));
  expect(viewer.viewer.organizations.edges.map((e: any) => e.node.id)).not.toContain(victimOrg);
  expect(viewer.viewer.currentOrganization?.id).not.toBe(victimOrg);
  expect(viewer.viewer.accessToken?.organizationId).not.toBe(victimOrg);
  expect(refused(await w.gw.gql(SWITCH, { o: victimOrg }, token)).code).toBe('NOT_FOUND');
};

const w = useSamlWorld();
beforeAll(async () => {
  victimOrg = w.owner.orgId;
  victimOrgAdminToken = w.owner.adminToken;
  // The victim becomes ORG_ADMIN of its organization and signs in through its own connection.
  ok(await w.gw.gql<any>(STAGE, { o: victimOrg, e: victimEmail, r: 'ORG_ADMIN' }, victimOrgAdminToken));
  const signIn = await w.post(await w.samlify({ nameId: victimEmail }), { relayState: victimOrg, json: true });
  expect(signIn.status, signIn.text).toBe(200);
  victimSession = signIn.json.sessionToken;
  expect((await w.principal(victimSession)).authentications).toEqual([`SSO:${w.connectionId}`]);

  // The attacker: an organization, and a connection to an IdP it controls, with a default organization.
  const attacker = await w.gw.bootstrap('Attacker Inc');
  attackerOrg = attacker.orgId;
  attackerToken = attacker.token;
  attackerUserId = attacker.userId;
  const created = ok(
    await w.gw.gql<any>(
      `mutation($o: ID!, $m: String!) { createSamlConnection(organizationId: $o, metadataXml: $m, settings: { allowIdpInitiated: true, defaultOrganizationId: $o }) { id } }`,
      { o: attackerOrg, m: idpMetadataXml(ATTACKER_IDP, ATTACKER_SSO, [attackerKeys]) },
      attackerToken,
    ),
  ).createSamlConnection;
  attackerConnection = created.id;
  const publicUrl = w.gw.container.config.publicUrl;
  attackerSp = { idpEntityId: ATTACKER_IDP, acsUrl: `${publicUrl}/saml/${attackerConnection}/acs`, audience: `${publicUrl}/saml/${attackerConnection}/metadata` };
  attackerSpMetadata = await (await fetch(`${w.gw.url}/saml/${attackerConnection}/metadata`)).text();
});

describe('SP-initiated sign-in started by the victim, answered by the attacker', () => {
  test("the AuthnRequest id a victim's browser sent to the attacker's IdP does not hand the victim's session to whoever answers it", async () => {
    // The victim follows a link to the attacker's connection (a top-level GET: the Lax cookie goes along).
    const { requestId } = await startLogin(attackerConnection, `orgway_session=${victimSession}`);
    // The attacker's IdP now knows the request id; the attacker answers it from its own machine, without the victim's cookie.
    const r = await postAttacker(await forged({ inResponseTo: requestId, attributes: { OrgAndRole: [`SPOTINST-${attackerOrg}-VIEWER`] } }));
    expect(r.status, r.text).toBe(200);
    const stolen = r.json.sessionToken as string;
    // What the attacker holds is scoped to its own connection only.
    expect((await w.principal(stolen)).authentications).toEqual([`SSO:${attackerConnection}`]);
    await expectLockedOut(stolen);
    // The victim's own session still works and still reaches its organization.
    expect(ok(await w.gw.gql<any>(ORG_READ, { o: victimOrg }, victimSession)).organization.viewerMembership.role).toBe('ORG_ADMIN');
  });
});

describe('SP-initiated sign-in: adding to the browser session needs the browser', () => {
  test("login hands the browser's session to that connection's ACS only, in an HttpOnly cookie that expires with the request", async () => {
    const { setCookie } = await startLogin(w.connectionId, `orgway_session=${victimSession}`);
    expect(setCookie).toMatch(new RegExp(`^orgway_sign_in=${victimSession}; Max-Age=600; Path=/saml/${w.connectionId}/acs; HttpOnly; SameSite=Lax$`));
    // Without a session (or with a secret that is not one) nothing is handed on.
    expect((await startLogin(w.connectionId)).setCookie).toBeNull();
    expect((await startLogin(w.connectionId, 'orgway_session=ses_forged')).setCookie).toBeNull();
    // An API token is not a browser session.
    expect((await startLogin(w.connectionId, `orgway_session=${attackerToken}`)).setCookie).toBeNull();
  });

  test("the answer posted by the victim's own browser (it carries the sign-in cookie) adds to the victim's session, and only that browser gets the new secret", async () => {
    const browserSession = (await w.post(await w.samlify({ nameId: victimEmail }), { relayState: victimOrg, json: true })).json.sessionToken as string;
    const before = await w.principal(browserSession);
    const { requestId } = await startLogin(attackerConnection, `orgway_session=${browserSession}`);
    const r = await postAttacker(await forged({ inResponseTo: requestId, attributes: { OrgAndRole: [`SPOTINST-${attackerOrg}-VIEWER`] } }), { cookie: `orgway_sign_in=${browserSession}` });
    expect(r.status, r.text).toBe(200);
    expect(r.setCookie).toContain('orgway_sign_in=;');
    const merged = await w.principal(r.json.sessionToken);
    expect(merged.sessionId).toBe(before.sessionId);
    expect([...merged.authentications].sort()).toEqual([`SSO:${attackerConnection}`, `SSO:${w.connectionId}`].sort());
    // The old secret (the one the cookie carried) stopped working.
    expect(refused(await w.gw.gql('{ viewer { user { id } } }', {}, browserSession)).code).toBe('UNAUTHENTICATED');
  });

  test("a request id answered twice: the attacker's copy and the victim's browser cannot both use it", async () => {
    const { requestId } = await startLogin(attackerConnection, `orgway_session=${victimSession}`);
    const first = await postAttacker(await forged({ inResponseTo: requestId, attributes: { OrgAndRole: [`SPOTINST-${attackerOrg}-VIEWER`] } }));
    expect(first.status).toBe(200);
    await expectLockedOut(first.json.sessionToken);
    const again = await postAttacker(await forged({ inResponseTo: requestId }), { cookie: `orgway_sign_in=${victimSession}` });
    expect(again.status).toBe(401);
    expect(again.json.error.code).toBe('SAML_REJECTED');
  });
});

/** Every row of the victim's organization, and the victim's identity. */
const victimRows = async () => {
  const q = (sql: string, p: unknown[] = []) => rows<Record<string, unknown>>(w.gw, sql, p);
  return {
    organization: await q('select * from organizations where id = ?', [victimOrg]),
    memberships: await q('select * from memberships where organization_id = ? order by id', [victimOrg]),
    teams: await q('select * from teams where organization_id = ? order by key', [victimOrg]),
    teamMembers: await q('select tm.* from team_members tm join memberships m on m.id = tm.membership_id where m.organization_id = ? order by tm.id', [victimOrg]),
    events: await q('select * from membership_events where organization_id = ? order by id', [victimOrg]),
    trusts: await q('select * from saml_trusts where organization_id = ? order by id', [victimOrg]),
    connections: await q('select * from saml_connections where owner_organization_id = ? order by id', [victimOrg]),
    scimTokens: await q('select * from scim_tokens where organization_id = ? order by id', [victimOrg]),
    victim: await q('select id, email, display_name from users where email = ?', [victimEmail]),
    victimSessions: await q("select id, token_hash, authentications, current_organization_id, revoked_at from sessions s where s.user_id = (select id from users where email = ?) and s.authentications::text like '%' || ? || '%' order by id", [victimEmail, w.connectionId]),
  };
};

/** A session for `email` signed in through the attacker's connection, landing in the attacker's organization. */
const attackerSignIn = async (email: string, spec: AssertionSpec = {}) => {
  const r = await postAttacker(await forged({ nameId: email, attributes: { OrgAndRole: [`SPOTINST-${attackerOrg}-ADMIN`] }, ...spec }));
  expect(r.status, r.text).toBe(200);
  return r;
};

describe("a session for the victim's identity, signed through the attacker's own connection", () => {
  let stolen: string;
  let before: Awaited<ReturnType<typeof victimRows>>;
  beforeAll(async () => {
    before = await victimRows();
    const r = await attackerSignIn(victimEmail, { attributes: { OrgAndRole: [`SPOTINST-${attackerOrg}-ADMIN`], displayName: ['Hacked Name'] } });
    stolen = r.json.sessionToken;
    // The JSON body lists only the attacker's organization: nothing about the victim's.
    expect(r.json.organizationId).toBe(attackerOrg);
    expect(r.json.memberships).toEqual([{ organizationId: attackerOrg, role: 'ADMIN', status: 'ACTIVE' }]);
    expect(r.text).not.toContain(victimOrg);
  });

  test('naming the victim organization in OrgAndRole, RelayState or OrgAndUserGroups is refused like an organization that does not exist; nothing changes', async () => {
    const attempts: [string, AssertionSpec, string | undefined][] = [
      ['OrgAndRole', { attributes: { OrgAndRole: [`SPOTINST-${victimOrg}-ADMIN`] } }, undefined],
      ['RelayState', { attributes: { Role: ['ADMIN'] } }, victimOrg],
      ['OrgAndUserGroups', { attributes: { OrgAndRole: [`SPOTINST-${attackerOrg}-ADMIN`], OrgAndUserGroups: [`SPOTINST-${victimOrg}:ugr-any`] } }, undefined],
    ];
    for (const [label, spec, relayState] of attempts) {
      const real = await postAttacker(await forged(spec), relayState === undefined ? {} : { relayState });
      const ghostSpec = JSON.parse(JSON.stringify(spec).replaceAll(victimOrg, 'no-such-org')) as AssertionSpec;
      const ghost = await postAttacker(await forged(ghostSpec), relayState === undefined ? {} : { relayState: 'no-such-org' });
      expect(real.status, label).toBe(400);
      expect(real.json.error.code, label).toBe('UNKNOWN_ORGANIZATION');
      expect(real.session).toBeNull();
      expect({ status: real.status, error: { ...real.json.error, message: real.json.error.message.replaceAll(victimOrg, 'no-such-org') } }, label).toEqual({ status: ghost.status, error: ghost.json.error });
    }
    // What the attacker's admins read about those refusals is the same for both too.
    const failures = ok(
      await w.gw.gql<any>(`query($o: ID!) { organization(id: $o) { samlConnections { id recentSignInFailures(first: 6) { code message detail email } } } }`, { o: attackerOrg }, attackerToken),
    ).organization.samlConnections.find((c: any) => c.id === attackerConnection).recentSignInFailures;
    for (let i = 0; i < 6; i += 2) expect(JSON.stringify(failures[i + 1]).replaceAll(victimOrg, 'no-such-org')).toBe(JSON.stringify(failures[i]));
    expect(await victimRows()).toEqual(before);
  });

  test("every door with the session: reads null, mutations and subscription NOT_FOUND, access token and API token stay out; the victim's organization is unchanged", async () => {
    await expectLockedOut(stolen);
    const doors: [string, string, Record<string, unknown>][] = [
      ['stageUser', `mutation($o: ID!) { stageUser(organizationId: $o, email: "plant@evil.example", role: ORG_ADMIN) { id } }`, { o: victimOrg }],
      ['inviteUser', `mutation($o: ID!) { inviteUser(organizationId: $o, email: "plant@evil.example", role: ORG_ADMIN) { id } }`, { o: victimOrg }],
      ['setMembershipRole', `mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: VIEWER) { id } }`, { o: victimOrg, u: w.owner.adminUserId }],
      ['removeMember', `mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }`, { o: victimOrg, u: w.owner.adminUserId }],
      ['createScimToken', `mutation($o: ID!) { createScimToken(organizationId: $o, name: "exfil") { token } }`, { o: victimOrg }],
      ['trustSamlConnection (the attacker connection into the victim organization)', `mutation($o: ID!, $c: ID!) { trustSamlConnection(organizationId: $o, connectionId: $c) { id } }`, { o: victimOrg, c: attackerConnection }],
      ['untrustSamlConnection', `mutation($o: ID!, $c: ID!) { untrustSamlConnection(organizationId: $o, connectionId: $c) }`, { o: victimOrg, c: w.connectionId }],
      ['updateSamlConnection (the victim connection)', `mutation($c: ID!, $m: String!) { updateSamlConnection(connectionId: $c, input: { metadataXml: $m, allowIdpInitiated: true }) { id } }`, { c: w.connectionId, m: idpMetadataXml(ATTACKER_IDP, ATTACKER_SSO, [attackerKeys]) }],
      ['createSamlConnection', `mutation($o: ID!, $m: String!) { createSamlConnection(organizationId: $o, metadataXml: $m) { id } }`, { o: victimOrg, m: idpMetadataXml(ATTACKER_IDP, ATTACKER_SSO, [attackerKeys]) }],
      ['setAutomaticUserAccess', `mutation($o: ID!) { setAutomaticUserAccess(organizationId: $o, input: { enabled: true, defaultRole: ADMIN }) { id } }`, { o: victimOrg }],
      ['createTeam', `mutation($o: ID!) { createTeam(organizationId: $o, input: { name: "x" }) { id } }`, { o: victimOrg }],
    ];
    for (const [label, query, variables] of doors) expect(refused(await w.gw.gql(query, variables, stolen)).code, label).toBe('NOT_FOUND');

    const sub = take<any>(w.gw.ws(stolen), 'subscription($o: ID) { membershipChanged(organizationId: $o) { id } }', { o: victimOrg }, 1, 5_000);
    await sub.done;
    expect(sub.values).toEqual([]);
    expect((sub.errors[0] as any)?.extensions?.code ?? (sub.errors[0] as any)?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // An API token made from the session is scoped like it, never wider.
    const apiToken = ok(await w.gw.gql<any>('mutation { createApiToken(name: "persist") { token } }', {}, stolen)).createApiToken.token;
    expect((await w.principal(apiToken)).authentications).toEqual([`SSO:${attackerConnection}`]);
    await expectLockedOut(apiToken);
    // The access token is for the attacker's organization only.
    const at = ok(await w.gw.gql<any>('{ viewer { accessToken { token organizationId } } }', {}, stolen)).viewer.accessToken;
    expect(at.organizationId).toBe(attackerOrg);
    expect(jwtPayload(at.token).org).toBe(attackerOrg);

    const after = await victimRows();
    expect(after).toEqual(before);
    // The victim's display name was not taken from the attacker's assertion.
    expect(after.victim[0]!.display_name).not.toBe('Hacked Name');
  });

  test("the answers do not reveal that the victim is a member of the victim's organization: the same as for an identity that is a member nowhere else", async () => {
    const stranger = await attackerSignIn(`stranger.${Math.random().toString(36).slice(2, 8)}@victim.example`);
    expect(Object.keys(stranger.json).sort()).toEqual(['memberships', 'organizationId', 'sessionToken', 'userId']);
    expect(stranger.json.memberships).toEqual([{ organizationId: attackerOrg, role: 'ADMIN', status: 'ACTIVE' }]);
    const probe = async (token: string) => {
      const out: unknown[] = [];
      out.push(await w.gw.gql(ORG_READ, { o: victimOrg }, token));
      out.push(await w.gw.gql(SWITCH, { o: victimOrg }, token));
      out.push(await w.gw.gql(`mutation($o: ID!) { stageUser(organizationId: $o, email: "x@evil.example") { id } }`, { o: victimOrg }, token));
      out.push(await w.gw.gql(`mutation($o: ID!) { createScimToken(organizationId: $o, name: "x") { token } }`, { o: victimOrg }, token));
      out.push(await w.gw.gql(`mutation($c: ID!) { updateSamlConnection(connectionId: $c, input: { name: "x" }) { id } }`, { c: w.connectionId }, token));
      out.push(ok(await w.gw.gql<any>('{ viewer { organizations { totalCount edges { node { id } membership { role status } } } } }', {}, token)));
      return out;
    };
    expect(await probe(stolen)).toEqual(await probe(stranger.json.sessionToken));
  });

  test("the session's own event stream carries none of the victim organization's events", async () => {
    const sub = take<any>(w.gw.ws(stolen), 'subscription($after: ID) { membershipChanged(after: $after) { organizationId type } }', { after: await lastEventId(w.gw) }, 1, 10_000);
    // A change to the victim's membership in the victim organization, then one in the attacker's.
    const victim = (await rows<{ id: string }>(w.gw, 'select id from users where email = ?', [victimEmail]))[0]!.id;
    ok(await w.gw.gql(`mutation($o: ID!) { createTeam(organizationId: $o, input: { id: "stream-probe", name: "Probe" }) { id } }`, { o: victimOrg }, victimOrgAdminToken));
    ok(await w.gw.gql(`mutation($o: ID!, $u: ID!) { addTeamMembers(organizationId: $o, teamId: "stream-probe", userIds: [$u]) { id } }`, { o: victimOrg, u: victim }, victimOrgAdminToken));
    ok(await w.gw.gql(`mutation($o: ID!, $u: ID!) { setMembershipRole(organizationId: $o, userId: $u, role: VIEWER) { id } }`, { o: attackerOrg, u: victim }, attackerToken));
    await sub.done;
    expect(sub.errors).toEqual([]);
    expect(sub.values.map((v) => v.membershipChanged)).toEqual([{ organizationId: attackerOrg, type: 'ROLE_CHANGED' }]);
    ok(await w.gw.gql(`mutation($o: ID!) { deleteTeam(organizationId: $o, teamId: "stream-probe") }`, { o: victimOrg }, victimOrgAdminToken));
    before = await victimRows();
  });

  test("cookies at the ACS: the attacker's session of the victim, or the attacker's own, never gains the victim's connection", async () => {
    // With its own stolen session as the cookie: same user, so the session is added to; still only the attacker's connection.
    const merged = await postAttacker(await forged({ attributes: { OrgAndRole: [`SPOTINST-${attackerOrg}-VIEWER`] } }), { cookie: `orgway_session=${stolen}` });
    expect(merged.status, merged.text).toBe(200);
    expect((await w.principal(merged.json.sessionToken)).authentications).toEqual([`SSO:${attackerConnection}`]);
    await expectLockedOut(merged.json.sessionToken);
    stolen = merged.json.sessionToken;
    // With the attacker admin's API token as the cookie (another user, not a browser session): a new session; the token is ended.
    const other = await postAttacker(await forged({ attributes: { OrgAndRole: [`SPOTINST-${attackerOrg}-VIEWER`] } }), { cookie: `orgway_sign_in=${attackerToken}` });
    expect(other.status, other.text).toBe(200);
    expect((await w.principal(other.json.sessionToken)).authentications).toEqual([`SSO:${attackerConnection}`]);
    await expectLockedOut(other.json.sessionToken);
    expect(refused(await w.gw.gql('{ viewer { user { id } } }', {}, attackerToken)).code).toBe('UNAUTHENTICATED');
    // The attacker admin's token was ended by that sign-in; a new one for the tests below.
    attackerToken = (await w.gw.container.identity.createSession(attackerUserId, attackerOrg, ['OPERATOR'])).token;
    expect(await victimRows()).toEqual(before);
  });

  test("AuthnRequest tricks: a request started at the victim's connection, or for another organization, does not answer at the attacker's", async () => {
    const atVictim = await startLogin(w.connectionId, undefined, victimOrg);
    const crossed = await postAttacker(await forged({ inResponseTo: atVictim.requestId }));
    expect(crossed.status).toBe(401);
    expect(crossed.json.error.code).toBe('SAML_REJECTED');
    // A request started for the attacker's organization, answered with the victim's organization as RelayState.
    const forAttacker = await startLogin(attackerConnection, undefined, attackerOrg);
    const mismatch = await postAttacker(await forged({ inResponseTo: forAttacker.requestId }), { relayState: victimOrg });
    expect(mismatch.status).toBe(401);
    expect(mismatch.json.error.code).toBe('SAML_REJECTED');
    // Starting at the attacker's connection for the victim's organization is refused as for an organization that does not exist.
    const res = await fetch(`${w.gw.url}/saml/${attackerConnection}/login?organizationId=${victimOrg}`, { headers: { accept: 'application/json' }, redirect: 'manual' });
    const ghost = await fetch(`${w.gw.url}/saml/${attackerConnection}/login?organizationId=no-such-org`, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect(res.status).toBe(ghost.status);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(await res.json()).replaceAll(victimOrg, 'no-such-org')).toBe(JSON.stringify(await ghost.json()));
    expect(await victimRows()).toEqual(before);
  });

  test("createOrganization with the session trusts only the session's own connection; the new organization opens no door to the victim's", async () => {
    const created = ok(await w.gw.gql<any>('mutation { createOrganization(input: { name: "Squat" }) { id } }', {}, stolen)).createOrganization.id as string;
    const trusts = await rows<{ connection_id: string }>(w.gw, 'select connection_id from saml_trusts where organization_id = ?', [created]);
    expect(trusts.map((t) => t.connection_id)).toEqual([attackerConnection]);
    expect(ok(await w.gw.gql<any>(ORG_READ, { o: created }, stolen)).organization.viewerMembership.role).toBe('ORG_ADMIN');
    await expectLockedOut(stolen);
    expect(await victimRows()).toEqual(before);
  });
});

describe("the attacker's organization trusts the victim's connection (its id is public: it is in every login URL)", () => {
  test("a trust from outside opens no door into the victim's organization, for the attacker or with the victim's own sign-ins", async () => {
    const before = await victimRows();
    const squat = await w.gw.bootstrap('Squatter');
    ok(await w.gw.gql(`mutation($o: ID!, $c: ID!) { trustSamlConnection(organizationId: $o, connectionId: $c) { id } }`, { o: squat.orgId, c: w.connectionId }, squat.token));
    // The squatter's admin may not change the connection (it is the victim organization's).
    const update = refused(await w.gw.gql(`mutation($c: ID!) { updateSamlConnection(connectionId: $c, input: { allowIdpInitiated: true, attributePrefix: "EVIL" }) { id } }`, { c: w.connectionId }, squat.token));
    expect(update.code).toBe('FORBIDDEN');
    // Nor read who failed to sign in through it (emails of the victim's people).
    const listed = await w.gw.gql<any>(`query($o: ID!) { organization(id: $o) { samlConnections { id recentSignInFailures { email } } } }`, { o: squat.orgId }, squat.token);
    expect(listed.data).toEqual({ organization: null });
    expect(listed.errors!.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(listed)).not.toContain('@');
    // Nor reach the victim organization.
    await expectLockedOut(squat.token);
    // A sign-in of the victim through the victim's connection may now land in the squatter's organization
    // only if the victim is a member there; the victim's session still acts in the victim's organization and nowhere it is not a member.
    const r = await w.post(await w.samlify({ nameId: victimEmail }), { relayState: victimOrg, json: true });
    expect(r.status, r.text).toBe(200);
    expect(r.json.memberships.map((m: any) => m.organizationId)).not.toContain(squat.orgId);
    expect(ok(await w.gw.gql<any>(ORG_READ, { o: squat.orgId }, r.json.sessionToken)).organization).toBeNull();
    expect(await w.gw.gql(`mutation($o: ID!, $c: ID!) { untrustSamlConnection(organizationId: $o, connectionId: $c) }`, { o: squat.orgId, c: w.connectionId }, squat.token)).toEqual({
      data: { untrustSamlConnection: true },
    });
    // The victim's own sign-in touched its membership and sessions; the organization's settings, connection and trusts are as they were.
    const pick = ({ organization, trusts, connections, scimTokens, teams, teamMembers }: Awaited<ReturnType<typeof victimRows>>) => ({ organization, trusts, connections, scimTokens, teams, teamMembers });
    expect(pick(await victimRows())).toEqual(pick(before));
  });

  test("after a sign-in through the attacker's connection moved the victim's last visited organization, the victim's next sign-in still lands in the victim's organization", async () => {
    await attackerSignIn(victimEmail);
    const [row] = await rows<{ last_visited_organization_id: string }>(w.gw, 'select last_visited_organization_id from users where email = ?', [victimEmail]);
    expect(row!.last_visited_organization_id).toBe(attackerOrg);
    const r = await w.post(await w.samlify({ nameId: victimEmail }), { json: true });
    expect(r.status, r.text).toBe(200);
    expect(r.json.organizationId).toBe(victimOrg);
  });
});

describe("the victim's browser cookie, ridden from the attacker's page (cross-site requests)", () => {
  const plant = () => `mutation { stageUser(organizationId: "${victimOrg}", email: "plant@evil.example", role: ORG_ADMIN) { id } }`;

  test('a mutation by GET (a top-level navigation carries the Lax cookie) is refused; nothing changes', async () => {
    const before = await victimRows();
    const res = await fetch(`${w.gw.url}/graphql?query=${encodeURIComponent(plant())}`, { headers: { cookie: `orgway_session=${victimSession}` } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await victimRows()).toEqual(before);
  });

  test('a form-encoded or text/plain POST (no preflight) with the cookie is refused; nothing changes', async () => {
    const before = await victimRows();
    for (const [type, body] of [
      ['text/plain', JSON.stringify({ query: plant() })],
      ['application/x-www-form-urlencoded', `query=${encodeURIComponent(plant())}`],
    ] as const) {
      const res = await fetch(`${w.gw.url}/graphql`, { method: 'POST', headers: { 'content-type': type, cookie: `orgway_session=${victimSession}` }, body });
      expect(res.status, type).toBeGreaterThanOrEqual(400);
    }
    expect(await victimRows()).toEqual(before);
  });

  test("a JSON POST with the cookie from the attacker's origin is FORBIDDEN; nothing changes", async () => {
    const before = await victimRows();
    const r = await w.gw.gql(plant(), {}, null, { cookie: `orgway_session=${victimSession}`, origin: 'https://evil.example.net' });
    expect(refused(r).code).toBe('FORBIDDEN');
    expect(await victimRows()).toEqual(before);
  });

  test("a WebSocket opened with the cookie from the attacker's origin gets no subscription", async () => {
    const sub = take<any>(w.gw.ws(null, { headers: { cookie: `orgway_session=${victimSession}`, origin: 'https://evil.example.net' } }), 'subscription($o: ID) { membershipChanged(organizationId: $o) { id } }', { o: victimOrg }, 1, 5_000);
    await sub.done;
    expect(sub.values).toEqual([]);
    expect(sub.errors.length).toBeGreaterThan(0);
  });
});

describe("SCIM in the attacker's organization", () => {
  test("provisioning the victim's email links the identity but reads and changes nothing of the victim's organization", async () => {
    const before = await victimRows();
    const scim = await scimClient(w.gw, { orgId: attackerOrg, token: attackerToken });
    const bodies: string[] = [];
    const created = await scim.post('/Users', newUser(victimEmail, { displayName: 'Renamed By Attacker' }));
    bodies.push(created.text);
    // Already linked by the sign-ins above (409 uniqueness) or linked now (201): either way one identity.
    expect([201, 409], created.text).toContain(created.status);
    const victimId = (await rows<{ id: string }>(w.gw, 'select id from users where email = ?', [victimEmail]))[0]!.id;
    const got = await scim.get(`/Users/${victimId}`);
    expect(got.status, got.text).toBe(200);
    bodies.push(got.text);
    const list = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${victimEmail}"`)}`);
    bodies.push(list.text);
    // The shared identity (email, display name) may not be changed from here: the victim belongs to another organization.
    const rename = await scim.patch(`/Users/${victimId}`, patchOp({ op: 'replace', value: { displayName: 'Renamed By Attacker', emails: [{ value: 'attacker@evil.example', primary: true }] } }));
    bodies.push(rename.text);
    expect(rename.status).toBeGreaterThanOrEqual(400);
    // Disabling or deleting the victim here touches only the attacker's organization.
    bodies.push((await scim.patch(`/Users/${victimId}`, patchOp({ op: 'replace', path: 'active', value: false }))).text);
    const del = await scim.del(`/Users/${victimId}`);
    expect(del.status, del.text).toBe(204);
    for (const b of bodies) expect(b).not.toContain(victimOrg);
    expect(await victimRows()).toEqual(before);
    expect((await rows<{ email: string }>(w.gw, 'select email from users where id = ?', [victimId]))[0]!.email).toBe(victimEmail);
  });
});

describe('SP-initiated sign-in behind a public URL with a path', () => {
  const prefixed = useSamlWorld({ env: { ORGWAY_PUBLIC_URL: 'http://127.0.0.1:4000/idp-gateway' } });
  test("the sign-in cookie's path is the ACS as the browser reaches it, the one the AuthnRequest names", async () => {
    const email = `prefixed.${Date.now()}@example.org`;
    ok(await prefixed.gw.gql<any>(STAGE, { o: prefixed.owner.orgId, e: email, r: 'MEMBER' }, prefixed.owner.adminToken));
    const signIn = await prefixed.post(await prefixed.samlify({ nameId: email }), { relayState: prefixed.owner.orgId, json: true });
    expect(signIn.status, signIn.text).toBe(200);
    const res = await fetch(`${prefixed.gw.url}/saml/${prefixed.connectionId}/login`, { redirect: 'manual', headers: { cookie: `orgway_session=${signIn.json.sessionToken}` } });
    expect(res.status).toBe(302);
    const xml = inflateRawSync(Buffer.from(new URL(res.headers.get('location')!).searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    const acsPath = `/idp-gateway/saml/${prefixed.connectionId}/acs`;
    expect(xml).toContain(`AssertionConsumerServiceURL="http://127.0.0.1:4000${acsPath}"`);
    expect(res.headers.get('set-cookie')).toMatch(new RegExp(`^orgway_sign_in=${signIn.json.sessionToken}; Max-Age=600; Path=${acsPath}; HttpOnly; SameSite=Lax$`));
  });
});

describe('trusting a connection needs its consent: an operator, a session signed in through it, or an ORG_ADMIN of its owner', () => {
  const TRUST = `mutation($o: ID!, $c: ID!) { trustSamlConnection(organizationId: $o, connectionId: $c) { id } }`;
  const trusts = (organizationId: string) => rows<{ connection_id: string }>(w.gw, 'select connection_id from saml_trusts where organization_id = ?', [organizationId]);

  test("an ORG_ADMIN signed in by email cannot point someone else's connection at an organization of their own (to collect its users with automatic access)", async () => {
    const harvester = await w.gw.bootstrap('Harvester', `harvester.${Date.now()}@harvest.example`);
    await w.gw.container.organizations.setAutomaticUserAccess(await w.principal(harvester.token), harvester.orgId, { enabled: true, defaultRole: 'MEMBER', allowedDomains: [] });
    const emailSession = await w.gw.container.identity.createSession(harvester.userId, harvester.orgId, ['EMAIL']);
    const before = await trusts(harvester.orgId);
    const e = refused(await w.gw.gql(TRUST, { o: harvester.orgId, c: w.connectionId }, emailSession.token));
    expect(e.code).toBe('FORBIDDEN');
    expect(JSON.stringify(e)).not.toContain(w.owner.orgId); // which organization owns a connection is not told
    expect(await trusts(harvester.orgId)).toEqual(before);
    // So a sign-in through that connection brings nobody into the harvester's organization.
    const someone = `someone.${Date.now()}@corp.example.com`;
    expect((await w.post(await w.samlify({ nameId: someone }), { json: true })).status).not.toBe(500);
    expect(await rows(w.gw, 'select 1 from memberships m join users u on u.id = m.user_id where m.organization_id = ? and u.email = ?', [harvester.orgId, someone])).toHaveLength(0);
  });

  test("a member who is not ORG_ADMIN of the owner cannot either; an ORG_ADMIN of the owner can, and so can a session signed in through the connection", async () => {
    const target = await w.gw.bootstrap('Partner', `partner.${Date.now()}@partner.example`);
    // A VIEWER of the owner organization who is ORG_ADMIN of the target: refused.
    await w.gw.container.memberships.stageUser(w.owner.principal, w.owner.orgId, target.email, 'VIEWER');
    const viewerSession = await w.gw.container.identity.createSession(target.userId, target.orgId, ['EMAIL']);
    expect(refused(await w.gw.gql(TRUST, { o: target.orgId, c: w.connectionId }, viewerSession.token)).code).toBe('FORBIDDEN');
    expect(await trusts(target.orgId)).toEqual([]);
    // A session signed in through the connection: allowed (its IdP vouches for this user).
    const ssoSession = await w.gw.container.identity.createSession(target.userId, target.orgId, [`SSO:${w.connectionId}`, 'EMAIL']);
    ok(await w.gw.gql(TRUST, { o: target.orgId, c: w.connectionId }, ssoSession.token));
    expect((await trusts(target.orgId)).map((t) => t.connection_id)).toEqual([w.connectionId]);
    await w.gw.container.samlConnections.untrust(await w.principal(target.token), target.orgId, w.connectionId);
    // An ORG_ADMIN of the owner, by email, who is ORG_ADMIN of the target too: allowed.
    const ownerAdmin = (await rows<{ email: string }>(w.gw, 'select email from users where id = ?', [w.owner.adminUserId]))[0]!.email;
    const second = await w.gw.bootstrap('Owner sister', ownerAdmin);
    const ownerAdminSession = await w.gw.container.identity.createSession(w.owner.adminUserId, second.orgId, ['EMAIL']);
    ok(await w.gw.gql(TRUST, { o: second.orgId, c: w.connectionId }, ownerAdminSession.token));
    expect((await trusts(second.orgId)).map((t) => t.connection_id)).toEqual([w.connectionId]);
  });
});

describe('a planted session, then the victim signs in through its own connection in that browser', () => {
  test('a caller still holding the old secret (an open socket, a race) mints an API token with only what it proved, not what the victim’s sign-in added', async () => {
    // The attacker signs the victim's email in through its own connection and keeps that session's principal.
    const { requestId } = await startLogin(attackerConnection);
    const planted = await postAttacker(await forged({ inResponseTo: requestId, attributes: { OrgAndRole: [`SPOTINST-${attackerOrg}-VIEWER`] } }));
    expect(planted.status, planted.text).toBe(200);
    const held = await w.principal(planted.json.sessionToken as string);
    expect(held.authentications).toEqual([`SSO:${attackerConnection}`]);
    // Planted in the victim's browser: the victim signs in through the victim's connection; the row gains it under a new secret.
    const victim = await w.post(await w.samlify({ nameId: victimEmail }), { relayState: victimOrg, json: true, cookie: `orgway_session=${planted.json.sessionToken as string}` });
    expect(victim.status, victim.text).toBe(200);
    const [row] = await rows<{ authentications: string[] }>(w.gw, 'select authentications from sessions where id = ?', [held.sessionId]);
    expect(row!.authentications).toContain(`SSO:${w.connectionId}`);
    // The held principal mints a token: only the attacker's connection, so it opens no door of the victim's.
    const minted = await w.gw.container.identity.createApiToken(held, 'exfiltrated');
    const [token] = await rows<{ authentications: string[] }>(w.gw, 'select authentications from sessions where id = ?', [minted.id]);
    expect(token!.authentications).toEqual([`SSO:${attackerConnection}`]);
    await expectLockedOut(minted.token);
  });
});
