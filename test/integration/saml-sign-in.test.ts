/**
 * SAML sign-in semantics (SPEC §2 steps 1–6), end to end: an in-test
 * samlify IdP signs responses, the browser (fetch) posts them to the real gateway's ACS,
 * and the database is read back. Every refusal is checked to leave users, memberships,
 * team memberships, sessions and the event log exactly as they were.
 */
import { describe, expect, test } from 'vitest';
import { rows } from '../kit/db.js';
import { take } from '../kit/gateway.js';
import { expectSamlRefused, lastSamlFailure, type OrgHandle, type PostResult, type SamlWorld, startSamlWorld, useSamlWorld } from '../kit/saml-world.js';

const w = useSamlWorld();

let n = 0;
const email = (label = 'user') => `${label}.${++n}.${Math.random().toString(36).slice(2, 7)}@corp.example.com`;

const membershipsOf = (address: string) =>
  rows<{ organization_id: string; role: string; status: string; source: string }>(
    w.gw,
    `select m.organization_id, m.role, m.status, m.source from memberships m join users u on u.id = m.user_id where u.email = ? order by m.organization_id`,
    [address],
  );

const teamsOf = (address: string, organizationId: string) =>
  rows<{ team_id: string; source: string }>(
    w.gw,
    `select t.team_id, tm.source from team_members tm join teams t on t.key = tm.team_key join memberships m on m.id = tm.membership_id
      join users u on u.id = m.user_id where u.email = ? and m.organization_id = ? order by t.team_id`,
    [address, organizationId],
  );

const lastFailure = () => lastSamlFailure(w);

/** Signs in (JSON) and expects success. */
const signIn = async (spec: Parameters<SamlWorld['samlify']>[0], options: { relayState?: string } = {}) => {
  const r = await w.post(await w.samlify(spec), { json: true, ...options });
  expect(r.status, r.text).toBe(200);
  return r;
};

/** Posts, expects the refusal, and proves nothing changed but the failure record. */
const expectRefused = (post: () => Promise<PostResult>, status: number, code: string, messageContains?: string) =>
  expectSamlRefused(w, post, status, code, { messageContains });

const adminStage = async (org: OrgHandle, address: string, role: 'ADMIN' | 'MEMBER' | 'VIEWER' | 'NO_ACCESS' | 'ORG_ADMIN' = 'MEMBER') =>
  w.gw.container.memberships.stageUser(org.principal, org.orgId, address, role);

const userId = async (address: string) => (await w.gw.container.identity.findUserByEmail(address))!.id;

describe('responses', () => {
  test('browser: session cookie (HttpOnly, SameSite=Lax, not Secure on http) and 303 to the app URL', async () => {
    const org = await w.org();
    const address = email();
    const r = await w.post(await w.samlify({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }));
    expect(r.status).toBe(303);
    expect(r.location).toBe(w.gw.container.config.appUrl);
    expect(r.session).toMatch(/^ogws_/);
    expect(r.setCookie).toMatch(/HttpOnly/i);
    expect(r.setCookie).toMatch(/SameSite=Lax/i);
    expect(r.setCookie).not.toMatch(/Secure/i);
    expect(r.setCookie).toMatch(/Path=\//);
    // The cookie is a working session for GraphQL, in the landing organization.
    const me = await fetch(`${w.gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `orgway_session=${r.session}` },
      body: JSON.stringify({ query: '{ viewer { user { email } currentOrganization { id } } }' }),
    });
    const body = (await me.json()) as any;
    expect(body.data.viewer.user.email).toBe(address);
    expect(body.data.viewer.currentOrganization.id).toBe(org.orgId);
  });

  test('JSON client: 200 with sessionToken, userId, organizationId and memberships', async () => {
    const org = await w.org();
    const address = email();
    const r = await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`] } });
    expect(Object.keys(r.json).sort()).toEqual(['memberships', 'organizationId', 'sessionToken', 'userId']);
    expect(r.json.sessionToken).toBe(r.session);
    expect(r.json.userId).toBe(await userId(address));
    expect(r.json.organizationId).toBe(org.orgId);
    expect(r.json.memberships).toEqual([{ organizationId: org.orgId, role: 'ADMIN', status: 'ACTIVE' }]);
    const principal = await w.gw.container.identity.authenticate(r.json.sessionToken);
    expect(principal).toMatchObject({ userId: r.json.userId, sessionKind: 'SESSION', currentOrganizationId: org.orgId });
  });

  test('refusals: JSON error for JSON clients, a short HTML page for browsers; the failure is recorded with detail for admins', async () => {
    const r = await w.post(await w.samlify({ nameId: email(), attributes: { OrgAndRole: ['SPOTINST-does-not-exist-ADMIN'] } }));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/^<!doctype html>/);
    expect(r.text).toContain('UNKNOWN_ORGANIZATION');
    expect(r.text).toContain('does-not-exist');
    const bad = await w.post(b64Xml('<nope/>'), { json: true });
    expect(bad.json).toEqual({ error: { code: 'INVALID_SAML', message: expect.stringContaining('not a SAML 2.0 Response') } });
    const tampered = await w.post(w.xmlCrypto({ nameId: email() }, (await import('../kit/saml-keys.js')).testKeyPair('stranger')), { json: true });
    expect(tampered.status).toBe(401);
    const failure = await lastFailure();
    expect(failure!.code).toBe('SAML_REJECTED');
    expect(failure!.message).toBe(tampered.json.error.message);
    expect(failure!.detail).toContain('verifySignature');
  });
});

const b64Xml = (xml: string) => Buffer.from(xml).toString('base64');

describe('step 1: OrgAndRole', () => {
  test('each value sets that role for a new user; organization ids with dashes; events with actor saml:<id>', async () => {
    const a = await w.org({ id: `act-${Math.random().toString(36).slice(2, 8)}-eu` });
    const b = await w.org();
    const address = email();
    const r = await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${a.orgId}-ADMIN`, `SPOTINST-${b.orgId}-NO_ACCESS`] } });
    expect(await membershipsOf(address)).toEqual(
      [
        { organization_id: a.orgId, role: 'ADMIN', status: 'ACTIVE', source: 'SAML' },
        { organization_id: b.orgId, role: 'NO_ACCESS', status: 'ACTIVE', source: 'SAML' },
      ].sort((x, y) => (x.organization_id < y.organization_id ? -1 : 1)),
    );
    const events = await rows<{ type: string; actor: string; organization_id: string }>(w.gw, 'select type, actor, organization_id from membership_events where user_id = ? order by id', [r.json.userId]);
    expect(events.map((e) => e.type)).toEqual(['JOINED', 'JOINED']);
    for (const e of events) expect(e.actor).toBe(`saml:${w.connectionId}`);
  });

  test('the same organization twice keeps the higher role', async () => {
    const org = await w.org();
    const address = email();
    await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`, `SPOTINST-${org.orgId}-ADMIN`] } });
    expect((await membershipsOf(address))[0]!.role).toBe('ADMIN');
  });

  test('other prefixes (and other case) are ignored', async () => {
    const org = await w.org();
    const other = await w.org();
    const address = email();
    await signIn({ nameId: address, attributes: { OrgAndRole: [`OTHER-${other.orgId}-ADMIN`, `spotinst-${other.orgId}-ADMIN`, `SPOTINST-${org.orgId}-VIEWER`] } });
    expect((await membershipsOf(address)).map((m) => m.organization_id)).toEqual([org.orgId]);
  });

  test('exactly that role for an existing user, which SAML then manages (source SAML)', async () => {
    const org = await w.org();
    const address = email();
    await adminStage(org, address, 'MEMBER');
    expect(await membershipsOf(address)).toEqual([{ organization_id: org.orgId, role: 'MEMBER', status: 'STAGED', source: 'MANUAL' }]);
    await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } });
    expect(await membershipsOf(address)).toEqual([{ organization_id: org.orgId, role: 'VIEWER', status: 'ACTIVE', source: 'SAML' }]);
    const events = await rows<{ type: string; role: string; status: string }>(w.gw, `select type, role, status from membership_events where user_id = ? and actor = ? order by id`, [await userId(address), `saml:${w.connectionId}`]);
    expect(events).toEqual([
      { type: 'ROLE_CHANGED', role: 'VIEWER', status: 'STAGED' },
      { type: 'STATUS_CHANGED', role: 'VIEWER', status: 'ACTIVE' },
    ]);
  });

  test('SAML memberships no longer named get NO_ACCESS (trusting organizations only); others stay', async () => {
    const a = await w.org();
    const b = await w.org();
    const untrusting = await w.org({ trust: false });
    const manual = await w.org();
    const address = email();
    await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${a.orgId}-ADMIN`, `SPOTINST-${b.orgId}-ADMIN`] } });
    await adminStage(manual, address, 'VIEWER');
    await adminStage(untrusting, address, 'VIEWER');
    await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${a.orgId}-ADMIN`] } });
    const byOrg = Object.fromEntries((await membershipsOf(address)).map((m) => [m.organization_id, m]));
    expect(byOrg[a.orgId]).toMatchObject({ role: 'ADMIN', source: 'SAML' });
    expect(byOrg[b.orgId]).toMatchObject({ role: 'NO_ACCESS', source: 'SAML' });
    expect(byOrg[manual.orgId]).toMatchObject({ role: 'VIEWER', status: 'STAGED', source: 'MANUAL' });
    expect(byOrg[untrusting.orgId]).toMatchObject({ role: 'VIEWER', status: 'STAGED', source: 'MANUAL' });
  });

  test('an OrgAndRole attribute with none of our values names nothing: every SAML membership becomes NO_ACCESS → NO_ACCESS, committed', async () => {
    const a = await w.org();
    const address = email();
    await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${a.orgId}-ADMIN`] } });
    const r = await w.post(await w.samlify({ nameId: address, attributes: { OrgAndRole: [`OTHER-${a.orgId}-ADMIN`] } }), { json: true });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('NO_ACCESS');
    expect(r.session).toBeNull();
    // The revocation the IdP asserted took effect, although no session was created.
    expect(await membershipsOf(address)).toEqual([{ organization_id: a.orgId, role: 'NO_ACCESS', status: 'ACTIVE', source: 'SAML' }]);
  });

  test('RelayState and Role are ignored for assignment when OrgAndRole is present', async () => {
    const a = await w.org();
    const relay = await w.org();
    const address = email();
    const r = await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${a.orgId}-VIEWER`], Role: ['ADMIN'] } }, { relayState: relay.orgId });
    expect(await membershipsOf(address)).toEqual([{ organization_id: a.orgId, role: 'VIEWER', status: 'ACTIVE', source: 'SAML' }]);
    expect(r.json.organizationId).toBe(a.orgId);
  });

  test('ORG_ADMIN is never changed by SAML (granted and removed only in orgway)', async () => {
    const org = await w.org();
    const address = email();
    await adminStage(org, address, 'ORG_ADMIN');
    await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } });
    expect(await membershipsOf(address)).toEqual([{ organization_id: org.orgId, role: 'ORG_ADMIN', status: 'ACTIVE', source: 'MANUAL' }]);
  });

  test('all or nothing: a malformed value with our prefix, an unknown role, an unknown or untrusting organization', async () => {
    const a = await w.org();
    const untrusting = await w.org({ trust: false });
    const address = email();
    await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${a.orgId}-VIEWER`] } });
    const post = (values: string[]) => async () => w.post(await w.samlify({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${a.orgId}-ADMIN`, ...values] } }), { json: true });
    await expectRefused(post(['SPOTINST-ADMIN']), 400, 'INVALID_ATTRIBUTE', '"SPOTINST-ADMIN"');
    await expectRefused(post([`SPOTINST-${a.orgId}-admin`]), 400, 'INVALID_ATTRIBUTE', `"SPOTINST-${a.orgId}-admin"`);
    await expectRefused(post([`SPOTINST-${a.orgId}-MEMBER`]), 400, 'INVALID_ATTRIBUTE', 'MEMBER');
    await expectRefused(post(['SPOTINST-no-such-org-VIEWER']), 400, 'UNKNOWN_ORGANIZATION', '"no-such-org"');
    await expectRefused(post([`SPOTINST-${untrusting.orgId}-VIEWER`]), 400, 'UNKNOWN_ORGANIZATION', untrusting.orgId);
    // A new user is not created by a refused sign-in either.
    const stranger = email();
    await expectRefused(async () => w.post(await w.samlify({ nameId: stranger, attributes: { OrgAndRole: ['SPOTINST-nope-VIEWER'] } }), { json: true }), 400, 'UNKNOWN_ORGANIZATION');
    expect(await w.gw.container.identity.findUserByEmail(stranger)).toBeNull();
    expect((await membershipsOf(address))[0]!.role).toBe('VIEWER');
  });

  test('a connection with its own prefix', async () => {
    const other = await startSamlWorld({ t: w.gw.t, connection: { attributePrefix: 'ACME' } });
    try {
      const org = await other.org();
      const address = email();
      const r = await other.post(await other.samlify({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`, `ACME-${org.orgId}-VIEWER`] } }), { json: true });
      expect(r.status, r.text).toBe(200);
      expect(r.json.memberships).toEqual([{ organizationId: org.orgId, role: 'VIEWER', status: 'ACTIVE' }]);
    } finally {
      await other.close();
    }
  });
});

describe('step 2: RelayState / default organization and Role', () => {
  test('RelayState names the organization; Role sets the role of a new user', async () => {
    const org = await w.org();
    const address = email();
    const r = await signIn({ nameId: address, attributes: { Role: ['VIEWER'] } }, { relayState: org.orgId });
    expect(r.json.memberships).toEqual([{ organizationId: org.orgId, role: 'VIEWER', status: 'ACTIVE' }]);
    expect((await membershipsOf(address))[0]!.source).toBe('SAML');
  });

  test('Role overrides the role of an existing user', async () => {
    const org = await w.org();
    const address = email();
    await adminStage(org, address, 'VIEWER');
    await signIn({ nameId: address, attributes: { Role: ['ADMIN'] } }, { relayState: org.orgId });
    expect(await membershipsOf(address)).toEqual([{ organization_id: org.orgId, role: 'ADMIN', status: 'ACTIVE', source: 'SAML' }]);
  });

  test("without Role a new membership gets the organization's default role; an existing one keeps its role", async () => {
    const org = await w.org({ autoAccess: { defaultRole: 'VIEWER', domains: ['elsewhere.example'] } });
    const fresh = email();
    await signIn({ nameId: fresh }, { relayState: org.orgId });
    expect(await membershipsOf(fresh)).toEqual([{ organization_id: org.orgId, role: 'VIEWER', status: 'ACTIVE', source: 'SAML' }]);
    const existing = email();
    await adminStage(org, existing, 'ADMIN');
    await signIn({ nameId: existing }, { relayState: org.orgId });
    expect(await membershipsOf(existing)).toEqual([{ organization_id: org.orgId, role: 'ADMIN', status: 'ACTIVE', source: 'MANUAL' }]);
  });

  test("the connection's default organization when there is no RelayState", async () => {
    const org = await w.org();
    await w.gw.container.samlConnections.update(w.owner.principal, w.connectionId, { defaultOrganizationId: org.orgId });
    try {
      const address = email();
      const r = await signIn({ nameId: address, attributes: { Role: ['NO_ACCESS', 'VIEWER'] } });
      expect(r.json.memberships).toEqual([{ organizationId: org.orgId, role: 'VIEWER', status: 'ACTIVE' }]);
    } finally {
      await w.gw.container.samlConnections.update(w.owner.principal, w.connectionId, { defaultOrganizationId: null });
    }
  });

  test('refusals: unknown or untrusting RelayState organization, unknown Role', async () => {
    const untrusting = await w.org({ trust: false });
    const org = await w.org();
    const address = email();
    await expectRefused(async () => w.post(await w.samlify({ nameId: address }), { json: true, relayState: 'nowhere' }), 400, 'UNKNOWN_ORGANIZATION', 'RelayState');
    await expectRefused(async () => w.post(await w.samlify({ nameId: address }), { json: true, relayState: untrusting.orgId }), 400, 'UNKNOWN_ORGANIZATION', untrusting.orgId);
    await expectRefused(async () => w.post(await w.samlify({ nameId: address, attributes: { Role: ['Admin'] } }), { json: true, relayState: org.orgId }), 400, 'INVALID_ATTRIBUTE', '"Admin"');
  });
});

describe('step 3: automatic user access (JIT)', () => {
  test('organizations that enable it, trust the connection and allow the domain; existing roles kept', async () => {
    const jit = await w.org({ autoAccess: { defaultRole: 'VIEWER', domains: ['corp.example.com'] } });
    const anyDomain = await w.org({ autoAccess: { defaultRole: 'MEMBER' } });
    const otherDomain = await w.org({ autoAccess: { domains: ['other.example'] } });
    const untrusting = await w.org({ trust: false, autoAccess: {} });
    const kept = await w.org({ autoAccess: { defaultRole: 'VIEWER' } });
    const named = await w.org();
    const address = email();
    await adminStage(kept, address, 'ADMIN');
    const r = await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${named.orgId}-ADMIN`] } });
    const byOrg = Object.fromEntries((await membershipsOf(address)).map((m) => [m.organization_id, m]));
    expect(byOrg[jit.orgId]).toEqual({ organization_id: jit.orgId, role: 'VIEWER', status: 'ACTIVE', source: 'JIT' });
    expect(byOrg[anyDomain.orgId]).toEqual({ organization_id: anyDomain.orgId, role: 'MEMBER', status: 'ACTIVE', source: 'JIT' });
    expect(byOrg[otherDomain.orgId]).toBeUndefined();
    expect(byOrg[untrusting.orgId]).toBeUndefined();
    expect(byOrg[kept.orgId]).toEqual({ organization_id: kept.orgId, role: 'ADMIN', status: 'STAGED', source: 'MANUAL' });
    const jitEvents = await rows<{ actor: string }>(w.gw, 'select actor from membership_events where user_id = ? and organization_id = ?', [r.json.userId, jit.orgId]);
    expect(jitEvents).toEqual([{ actor: `saml:${w.connectionId}` }]);
    // Later tests create users of any domain: these organizations stop trusting the connection.
    for (const o of [jit, anyDomain, otherDomain, kept]) await w.gw.container.samlConnections.untrust(o.principal, o.orgId, w.connectionId);
  });
});

describe('step 4: OrgAndUserGroups', () => {
  test('merged values; SAML teams replaced, admin-assigned teams kept', async () => {
    const org = await w.org();
    for (const id of ['ugr-a', 'ugr-b', 'ugr-c', 'ugr-manual']) await w.gw.container.teams.createTeam(org.principal, org.orgId, { id, name: id });
    const address = email();
    await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`], OrgAndUserGroups: [`SPOTINST-${org.orgId}:ugr-a`, `SPOTINST-${org.orgId}:ugr-b`] } });
    expect(await teamsOf(address, org.orgId)).toEqual([
      { team_id: 'ugr-a', source: 'SAML' },
      { team_id: 'ugr-b', source: 'SAML' },
    ]);
    await w.gw.container.teams.addTeamMembers(org.principal, org.orgId, 'ugr-manual', [await userId(address)]);
    await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`], OrgAndUserGroups: [`SPOTINST-${org.orgId}:ugr-c,ugr-b`] } });
    expect(await teamsOf(address, org.orgId)).toEqual([
      { team_id: 'ugr-b', source: 'SAML' },
      { team_id: 'ugr-c', source: 'SAML' },
      { team_id: 'ugr-manual', source: 'MANUAL' },
    ]);
    const events = await rows<{ team_ids: string[]; previous_team_ids: string[] }>(
    w.gw,
      `select team_ids, previous_team_ids from membership_events where user_id = ? and type = 'TEAMS_CHANGED' order by id desc limit 1`,
      [await userId(address)],
    );
    expect(events[0]).toEqual({ team_ids: ['ugr-b', 'ugr-c', 'ugr-manual'], previous_team_ids: ['ugr-a', 'ugr-b', 'ugr-manual'] });
  });

  test('teams for a membership that JIT or step 2 created in the same sign-in', async () => {
    const org = await w.org({ autoAccess: {} });
    await w.gw.container.teams.createTeam(org.principal, org.orgId, { id: 'ugr-jit', name: 'jit' });
    const address = email();
    await signIn({ nameId: address, attributes: { OrgAndUserGroups: [`SPOTINST-${org.orgId}:ugr-jit`] } });
    expect(await teamsOf(address, org.orgId)).toEqual([{ team_id: 'ugr-jit', source: 'SAML' }]);
    await w.gw.container.samlConnections.untrust(org.principal, org.orgId, w.connectionId);
  });

  test('refusals: unknown team, untrusting organization, organization where the user is no member, malformed value', async () => {
    const org = await w.org();
    const lonely = await w.org();
    const untrusting = await w.org({ trust: false });
    await w.gw.container.teams.createTeam(org.principal, org.orgId, { id: 'ugr-x', name: 'x' });
    await w.gw.container.teams.createTeam(lonely.principal, lonely.orgId, { id: 'ugr-x', name: 'x' });
    const address = email();
    await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`], OrgAndUserGroups: [`SPOTINST-${org.orgId}:ugr-x`] } });
    const post = (groups: string[]) => async () =>
      w.post(await w.samlify({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`], OrgAndUserGroups: groups } }), { json: true });
    await expectRefused(post([`SPOTINST-${org.orgId}:ugr-x,ugr-missing`]), 400, 'UNKNOWN_TEAM', '"ugr-missing"');
    await expectRefused(post([`SPOTINST-${untrusting.orgId}:ugr-x`]), 400, 'UNKNOWN_ORGANIZATION', untrusting.orgId);
    await expectRefused(post([`SPOTINST-${lonely.orgId}:ugr-x`]), 400, 'INVALID_ATTRIBUTE', lonely.orgId);
    await expectRefused(post([`SPOTINST-${org.orgId}`]), 400, 'INVALID_ATTRIBUTE', `"SPOTINST-${org.orgId}"`);
    expect(await teamsOf(address, org.orgId)).toEqual([{ team_id: 'ugr-x', source: 'SAML' }]);
  });
});

describe('step 5: activation', () => {
  test('STAGED and INVITED become ACTIVE; DISABLED is never re-activated', async () => {
    const staged = await w.org();
    const invited = await w.org();
    const disabled = await w.org();
    const address = email();
    await adminStage(staged, address, 'VIEWER');
    await w.gw.container.memberships.inviteUser(invited.principal, invited.orgId, address, 'VIEWER');
    await adminStage(disabled, address, 'VIEWER');
    await w.gw.container.memberships.setMembershipStatus(disabled.principal, disabled.orgId, await userId(address), 'DISABLED');
    await signIn({ nameId: address, attributes: { OrgAndRole: [staged, invited, disabled].map((o) => `SPOTINST-${o.orgId}-ADMIN`) } });
    const byOrg = Object.fromEntries((await membershipsOf(address)).map((m) => [m.organization_id, m]));
    expect(byOrg[staged.orgId]).toMatchObject({ role: 'ADMIN', status: 'ACTIVE' });
    expect(byOrg[invited.orgId]).toMatchObject({ role: 'ADMIN', status: 'ACTIVE' });
    expect(byOrg[disabled.orgId]).toMatchObject({ role: 'ADMIN', status: 'DISABLED' });
  });

  test('only a DISABLED membership → NO_ACCESS, and it stays DISABLED', async () => {
    const org = await w.org();
    const address = email();
    await adminStage(org, address, 'VIEWER');
    await w.gw.container.memberships.setMembershipStatus(org.principal, org.orgId, await userId(address), 'DISABLED');
    const r = await w.post(await w.samlify({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }), { json: true });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('NO_ACCESS');
    expect((await membershipsOf(address))[0]!.status).toBe('DISABLED');
  });
});

describe('step 6: landing', () => {
  test('RelayState if it can be entered, else the last visited one, else the first by name; lastVisited updated', async () => {
    const zulu = await w.org({ name: 'Zulu corp' });
    const alpha = await w.org({ name: 'alpha corp' });
    const mid = await w.org({ name: 'Mike corp' });
    const address = email();
    const all = [zulu, alpha, mid].map((o) => `SPOTINST-${o.orgId}-VIEWER`);
    let r = await signIn({ nameId: address, attributes: { OrgAndRole: all } });
    expect(r.json.organizationId).toBe(alpha.orgId); // first by name
    r = await signIn({ nameId: address, attributes: { OrgAndRole: all } }, { relayState: zulu.orgId });
    expect(r.json.organizationId).toBe(zulu.orgId); // RelayState
    r = await signIn({ nameId: address, attributes: { OrgAndRole: all } });
    expect(r.json.organizationId).toBe(zulu.orgId); // last visited
    r = await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${zulu.orgId}-NO_ACCESS`, `SPOTINST-${alpha.orgId}-VIEWER`, `SPOTINST-${mid.orgId}-VIEWER`] } }, { relayState: zulu.orgId });
    expect(r.json.organizationId).toBe(alpha.orgId); // RelayState and last visited cannot be entered
    const user = await w.gw.container.identity.findUserByEmail(address);
    expect(user!.lastVisitedOrganization?.id).toBe(alpha.orgId);
  });

  test('no organization can be entered → 403 NO_ACCESS, no session, nothing written for a new user', async () => {
    const address = email();
    await expectRefused(async () => w.post(await w.samlify({ nameId: address }), { json: true }), 403, 'NO_ACCESS', address);
    expect(await w.gw.container.identity.findUserByEmail(address)).toBeNull();
  });
});

describe('the user', () => {
  test('the email attribute when the NameID is not an email; emails compared lower-cased', async () => {
    const org = await w.org();
    const address = email('Mixed.Case');
    const r = await signIn({ nameId: 'opaque-4711', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', attributes: { email: [address.toUpperCase()], OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } });
    expect(r.json.userId).toBe(await userId(address.toLowerCase()));
    const again = await signIn({ nameId: address, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } });
    expect(again.json.userId).toBe(r.json.userId);
  });

  test('missing email → 400 INVALID_SAML, nothing written', async () => {
    const org = await w.org();
    await expectRefused(
      async () => w.post(await w.samlify({ nameId: 'opaque', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }), { json: true }),
      400,
      'INVALID_SAML',
      'email',
    );
  });
});

describe('events', () => {
  test('every change of a sign-in reaches subscribers, with actor saml:<connectionId>', async () => {
    const org = await w.org();
    await w.gw.container.teams.createTeam(org.principal, org.orgId, { id: 'ugr-live', name: 'live' });
    const client = w.gw.ws(org.adminToken);
    const sub = take<any>(client, `subscription($o: ID) { membershipChanged(organizationId: $o) { type actor organizationId role status teamIds } }`, { o: org.orgId }, 2);
    await new Promise((r) => setTimeout(r, 300));
    await signIn({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`], OrgAndUserGroups: [`SPOTINST-${org.orgId}:ugr-live`] } });
    await sub.done;
    sub.unsubscribe();
    expect(sub.errors).toEqual([]);
    expect(sub.values.map((v) => v.membershipChanged)).toEqual([
      { type: 'JOINED', actor: `saml:${w.connectionId}`, organizationId: org.orgId, role: 'ADMIN', status: 'ACTIVE', teamIds: [] },
      { type: 'TEAMS_CHANGED', actor: `saml:${w.connectionId}`, organizationId: org.orgId, role: 'ADMIN', status: 'ACTIVE', teamIds: ['ugr-live'] },
    ]);
  });
});
