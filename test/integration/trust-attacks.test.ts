/**
 * SPEC §6 from the attacker's side. The attacker owns an organization, a SAML connection
 * into it and that connection's IdP keys, so it can sign any assertion for any email through
 * its own connection. The victim is an ORG_ADMIN of an organization that trusts only its own
 * connection. Every door is tried with what the attacker can get; none may read or change
 * anything in the victim's organization or reveal that the victim is a member there.
 */
import 'reflect-metadata';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type AssertionSpec, buildResponse, samlifyResponse, type SpContext } from '../helpers/saml.js';
import { idpMetadataXml, testKeyPair } from '../helpers/saml-keys.js';
import { type PostResult, type SamlWorld, startSamlWorld } from '../helpers/saml-world.js';
import { ok, refused, STAGE, SWITCH } from '../helpers/world.js';

const ATTACKER_IDP = 'https://evil-idp.example.net/metadata';
const ATTACKER_SSO = 'https://evil-idp.example.net/sso';
const attackerKeys = testKeyPair('attacker-idp');

let w: SamlWorld;
/** The victim's organization (trusts only the victim's connection, w.connectionId) and its admin token (OPERATOR). */
let victimOrg: string;
let victimOrgAdminToken: string;
/** The victim: ORG_ADMIN of victimOrg, signed in through the victim's connection in their browser. */
const victimEmail = `victim.${Math.random().toString(36).slice(2, 8)}@victim.example`;
let victimSession: string;
/** The attacker's organization, its connection, and a session of the attacker's own admin. */
let attackerOrg: string;
let attackerToken: string;
let attackerConnection: string;
let attackerSp: SpContext;
let attackerSpMetadata: string;

/** A response for the attacker's connection, signed by the attacker's IdP. */
const forged = (spec: AssertionSpec = {}): Promise<string> =>
  samlifyResponse({ entityId: ATTACKER_IDP, keys: attackerKeys }, attackerSpMetadata, buildResponse(attackerSp, { nameId: victimEmail, ...spec }));

const postAttacker = (response: string, o: { relayState?: string; cookie?: string; json?: boolean } = {}): Promise<PostResult> =>
  postAcs(attackerConnection, response, o);

const postAcs = async (connectionId: string, response: string, o: { relayState?: string; cookie?: string; json?: boolean } = {}): Promise<PostResult> => {
  const form = new URLSearchParams({ SAMLResponse: response });
  if (o.relayState !== undefined) form.set('RelayState', o.relayState);
  const res = await fetch(`${w.gw.url}/saml/${connectionId}/acs`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: o.json === false ? 'text/html' : 'application/json',
      ...(o.cookie ? { cookie: o.cookie } : {}),
    },
    body: form.toString(),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // an HTML page
  }
  const setCookie = res.headers.get('set-cookie');
  const m = setCookie ? /orgway_session=([^;]+)/.exec(setCookie) : null;
  return { status: res.status, text, json, session: m ? m[1]! : null, setCookie, location: res.headers.get('location') };
};

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

beforeAll(async () => {
  w = await startSamlWorld();
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
afterAll(() => w?.close());

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
