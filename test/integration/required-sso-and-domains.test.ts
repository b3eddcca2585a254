/**
 * Required SSO, verified domains and home-realm discovery (SPEC §6, §7) end to end: a real
 * DNS server on loopback answers the TXT lookups, a real SMTP server shows what was (not) sent.
 */
import { describe, expect, test } from 'vitest';
import { rows } from '../kit/db.js';
import { useDns } from '../kit/dns.js';
import { endCode, eventually, record } from '../kit/events.js';
import { codeAndLink, useMailbox } from '../kit/mailbox.js';
import { type OrgHandle, useSamlWorld } from '../kit/saml-world.js';
import { idpMetadataXml, testKeyPair } from '../kit/saml-keys.js';
import { ok, refused, uniqueEmail } from '../kit/world.js';

const mail = useMailbox();
const dns = useDns();
const w = useSamlWorld(() => ({
  env: { SMTP_URL: mail.url, ORGWAY_DNS_SERVERS: dns.server, ORGWAY_AUTH_RATE_PER_ADDRESS: '100000', ORGWAY_EMAIL_RATE_PER_EMAIL: '1000', ORGWAY_SESSION_RECHECK_MS: '600000' },
}));

const gql = (q: string, v: Record<string, unknown>, token: string) => w.gw.gql<any>(q, v, token);
const SET_REQUIRE_SSO = 'mutation($o: ID!, $r: Boolean!) { setRequireSso(organizationId: $o, required: $r) { id requireSso } }';
const ADD = 'mutation($o: ID!, $d: String!) { addDomain(organizationId: $o, domain: $d) { domain verified verifiedAt txtRecordName txtRecordValue } }';
const VERIFY = 'mutation($o: ID!, $d: String!) { verifyDomain(organizationId: $o, domain: $d) { domain verified verifiedAt } }';
const REMOVE = 'mutation($o: ID!, $d: String!) { removeDomain(organizationId: $o, domain: $d) }';
const DOMAINS = 'query($o: ID!) { organization(id: $o) { domains { domain verified txtRecordName txtRecordValue } } }';
const post = (path: string, body: Record<string, string>, json = true) =>
  fetch(`${w.gw.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: json ? { 'content-type': 'application/json' } : { 'content-type': 'application/x-www-form-urlencoded' },
    body: json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
  });
const loginUrl = (orgId: string) => `http://127.0.0.1:4000/saml/${w.connectionId}/login?organizationId=${orgId}`;
let domainSeq = 0;
const newDomain = () => `corp${++domainSeq}-${Math.random().toString(36).slice(2, 7)}.example`;

/** A member of `org` signed in by email (an invitation link): its session carries only EMAIL. */
const emailMember = async (org: OrgHandle) => {
  const email = uniqueEmail('mailbox');
  const since = mail.received.length;
  ok(await gql('mutation($o: ID!, $e: String!) { inviteUser(organizationId: $o, email: $e) { id } }', { o: org.orgId, e: email }, org.adminToken));
  const link = /(http:\/\/127\.0\.0\.1:4000\/invitations\/\S+)/.exec((await mail.next(email, since)).text)![1]!.replace('http://127.0.0.1:4000', w.gw.url);
  const r = await fetch(link, { headers: { accept: 'application/json' } });
  expect(r.status).toBe(200);
  return { email, token: ((await r.json()) as { sessionToken: string }).sessionToken };
};

/** A domain claimed and verified by `org` through the test DNS server. */
const verifiedDomain = async (org: OrgHandle, domain = newDomain()) => {
  const added = ok(await gql(ADD, { o: org.orgId, d: domain }, org.adminToken)).addDomain;
  dns.txt.set(added.txtRecordName, [added.txtRecordValue]);
  expect(ok(await gql(VERIFY, { o: org.orgId, d: domain }, org.adminToken)).verifyDomain.verified).toBe(true);
  return domain;
};

describe('setRequireSso', () => {
  test('an EMAIL session loses the organization at once: organization(id) null, switch NOT_FOUND, not listed, its subscription ends FORBIDDEN', async () => {
    const org = await w.org({ name: 'Goes strict' });
    const member = await emailMember(org);
    expect(ok(await gql('query($o: ID!) { organization(id: $o) { id requireSso } }', { o: org.orgId }, member.token)).organization).toEqual({ id: org.orgId, requireSso: false });
    const rec = record(w.gw.ws(member.token), { organizationId: org.orgId });
    await eventually(async () => expect(w.gw.container.events.subscriberCount).toBeGreaterThan(0));

    expect(ok(await gql(SET_REQUIRE_SSO, { o: org.orgId, r: true }, org.adminToken)).setRequireSso).toEqual({ id: org.orgId, requireSso: true });
    await rec.ended;
    expect(endCode(rec)).toBe('FORBIDDEN');
    expect(await gql('query($o: ID!) { organization(id: $o) { id } }', { o: org.orgId }, member.token)).toEqual({ data: { organization: null } });
    expect(refused(await gql('mutation($o: ID!) { switchOrganization(organizationId: $o) { organization { id } } }', { o: org.orgId }, member.token)).code).toBe('NOT_FOUND');
    expect(ok(await gql('{ viewer { organizations { totalCount } currentOrganization { id } accessToken { token } } }', {}, member.token)).viewer).toEqual({
      organizations: { totalCount: 0 },
      currentOrganization: null,
      accessToken: null,
    });
    // A new email sign-in neither lands there nor reports it.
    const since = mail.received.length;
    expect((await post('/auth/email/start', { email: member.email })).status).toBe(202);
    const { code } = codeAndLink(await mail.next(member.email, since));
    const v = await fetch(`${w.gw.url}/auth/email/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: member.email, code }) });
    expect(await v.json()).toMatchObject({ organizationId: null, memberships: [] });
    // An SSO session of the admin still acts there; turning it off restores the EMAIL session.
    const sso = await w.gw.container.identity.createSession(org.adminUserId, org.orgId, [`SSO:${w.connectionId}`]);
    expect(ok(await gql('query($o: ID!) { organization(id: $o) { id } }', { o: org.orgId }, sso.token)).organization).toEqual({ id: org.orgId });
    ok(await gql(SET_REQUIRE_SSO, { o: org.orgId, r: false }, org.adminToken));
    expect(ok(await gql('query($o: ID!) { organization(id: $o) { id } }', { o: org.orgId }, member.token)).organization).toEqual({ id: org.orgId });
  });

  test('refused without a trusted connection, for a caller it would lock out, and for non-admins; nothing changes', async () => {
    const lonely = await w.org({ trust: false });
    const e = refused(await gql(SET_REQUIRE_SSO, { o: lonely.orgId, r: true }, lonely.adminToken));
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toMatch(/trusts no SSO connection/);

    const org = await w.org();
    const emailAdmin = await w.gw.container.identity.createSession(org.adminUserId, org.orgId, ['EMAIL']);
    const lockout = refused(await gql(SET_REQUIRE_SSO, { o: org.orgId, r: true }, emailAdmin.token));
    expect(lockout.code).toBe('CONFLICT');
    expect(lockout.message).toMatch(/lock you out/);
    const member = await emailMember(org);
    expect(refused(await gql(SET_REQUIRE_SSO, { o: org.orgId, r: true }, member.token)).code).toBe('FORBIDDEN');
    expect(refused(await gql(SET_REQUIRE_SSO, { o: org.orgId, r: true }, lonely.adminToken)).code).toBe('NOT_FOUND');
    const found = await rows<{ require_sso: boolean }>(w.gw, 'select require_sso from organizations where id in (?, ?)', [org.orgId, lonely.orgId]);
    expect(found.map((r) => r.require_sso)).toEqual([false, false]);
    // An admin signed in through the trusted connection may.
    const ssoAdmin = await w.gw.container.identity.createSession(org.adminUserId, org.orgId, [`SSO:${w.connectionId}`]);
    expect(ok(await gql(SET_REQUIRE_SSO, { o: org.orgId, r: true }, ssoAdmin.token)).setRequireSso.requireSso).toBe(true);
    // The admin's EMAIL session is now a stranger there: admin mutations and reads answer NOT_FOUND.
    for (const [q, v] of [
      ['mutation($o: ID!) { inviteUser(organizationId: $o, email: "x@example.com") { id } }', { o: org.orgId }],
      [SET_REQUIRE_SSO, { o: org.orgId, r: false }],
      [ADD, { o: org.orgId, d: newDomain() }],
      ['mutation($o: ID!) { switchOrganization(organizationId: $o) { organization { id } } }', { o: org.orgId }],
    ] as const)
      expect(refused(await gql(q, v, emailAdmin.token)).code, q).toBe('NOT_FOUND');
    expect(ok(await gql('query($o: ID!) { organization(id: $o) { id } }', { o: org.orgId }, emailAdmin.token)).organization).toBeNull();
  });
  test('the last trusted connection of an organization that requires SSO cannot be untrusted (that would lock every member out), nor one by a caller it would lock out; another first, then it can', async () => {
    const UNTRUST = 'mutation($o: ID!, $c: ID!) { untrustSamlConnection(organizationId: $o, connectionId: $c) }';
    const org = await w.org();
    const ssoAdmin = await w.gw.container.identity.createSession(org.adminUserId, org.orgId, [`SSO:${w.connectionId}`]);
    ok(await gql(SET_REQUIRE_SSO, { o: org.orgId, r: true }, ssoAdmin.token));
    const lockout = refused(await gql(UNTRUST, { o: org.orgId, c: w.connectionId }, ssoAdmin.token));
    expect(lockout.code).toBe('CONFLICT');
    expect(lockout.message).toMatch(/requires SSO/);
    expect(await rows(w.gw, 'select 1 from saml_trusts where organization_id = ? and connection_id = ?', [org.orgId, w.connectionId])).toHaveLength(1);
    expect(ok(await gql('query($o: ID!) { organization(id: $o) { id } }', { o: org.orgId }, ssoAdmin.token)).organization).toEqual({ id: org.orgId });
    // With another trusted connection left, or once SSO is no longer required, untrusting works.
    const other = await w.org({ trust: false });
    const second = await w.gw.container.samlConnections.create(other.principal, other.orgId, {
      metadataXml: idpMetadataXml('https://idp2.example.test/metadata', 'https://idp2.example.test/sso', [testKeyPair('idp2')]),
    });
    ok(await gql('mutation($o: ID!, $c: ID!) { trustSamlConnection(organizationId: $o, connectionId: $c) { id } }', { o: org.orgId, c: second.id }, org.adminToken)); // (the operator: trusting another organization's connection needs its consent)
    // Not by an admin who signed in only through the connection going away (the one left may not work for anyone).
    const selfLockout = refused(await gql(UNTRUST, { o: org.orgId, c: w.connectionId }, ssoAdmin.token));
    expect(selfLockout.code).toBe('CONFLICT');
    expect(selfLockout.message).toMatch(/lock you out/);
    const viaSecond = await w.gw.container.identity.createSession(org.adminUserId, org.orgId, [`SSO:${second.id}`]);
    expect(ok(await gql(UNTRUST, { o: org.orgId, c: w.connectionId }, viaSecond.token)).untrustSamlConnection).toBe(true);
    ok(await gql(SET_REQUIRE_SSO, { o: org.orgId, r: false }, org.adminToken));
    expect(ok(await gql(UNTRUST, { o: org.orgId, c: second.id }, org.adminToken)).untrustSamlConnection).toBe(true);
  });
});

describe('verified domains', () => {
  test('addDomain returns the TXT record; verifyDomain finds it through ORGWAY_DNS_SERVERS; Organization.domains lists it', async () => {
    const org = await w.org();
    const domain = newDomain();
    const added = ok(await gql(ADD, { o: org.orgId, d: ` ${domain.toUpperCase()}. ` }, org.adminToken)).addDomain;
    expect(added).toEqual({
      domain,
      verified: false,
      verifiedAt: null,
      txtRecordName: `_orgway-challenge.${domain}`,
      txtRecordValue: expect.stringMatching(/^orgway-verification=[A-Za-z0-9_-]{32}$/),
    });
    expect(ok(await gql(ADD, { o: org.orgId, d: domain }, org.adminToken)).addDomain).toEqual(added); // idempotent

    const missing = refused(await gql(VERIFY, { o: org.orgId, d: domain }, org.adminToken));
    expect(missing.code).toBe('BAD_USER_INPUT');
    expect(missing.message).toContain(added.txtRecordName);
    dns.txt.set(added.txtRecordName, ['orgway-verification=wrong']);
    expect(refused(await gql(VERIFY, { o: org.orgId, d: domain }, org.adminToken)).message).toContain('orgway-verification=wrong');
    expect(ok(await gql(DOMAINS, { o: org.orgId }, org.adminToken)).organization.domains[0].verified).toBe(false);

    dns.txt.set(added.txtRecordName, ['v=spf1 -all', added.txtRecordValue]);
    const verified = ok(await gql(VERIFY, { o: org.orgId, d: domain }, org.adminToken)).verifyDomain;
    expect(verified).toEqual({ domain, verified: true, verifiedAt: expect.any(String) });
    expect(ok(await gql(DOMAINS, { o: org.orgId }, org.adminToken)).organization.domains).toEqual([
      { domain, verified: true, txtRecordName: added.txtRecordName, txtRecordValue: added.txtRecordValue },
    ]);
  });

  test('a domain verified by one organization cannot be claimed or verified by another, until it is removed', async () => {
    const first = await w.org();
    const second = await w.org();
    const domain = newDomain();
    // Both claim it; the first verifies.
    const secondClaim = ok(await gql(ADD, { o: second.orgId, d: domain }, second.adminToken)).addDomain;
    await verifiedDomain(first, domain);
    dns.txt.set(secondClaim.txtRecordName, [secondClaim.txtRecordValue]);
    const e = refused(await gql(VERIFY, { o: second.orgId, d: domain }, second.adminToken));
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toMatch(/already verified by another organization/);
    expect(ok(await gql(DOMAINS, { o: second.orgId }, second.adminToken)).organization.domains[0].verified).toBe(false);
    const third = await w.org();
    expect(refused(await gql(ADD, { o: third.orgId, d: domain }, third.adminToken)).code).toBe('CONFLICT');

    expect(ok(await gql(REMOVE, { o: first.orgId, d: domain }, first.adminToken)).removeDomain).toBe(true);
    expect(ok(await gql(DOMAINS, { o: first.orgId }, first.adminToken)).organization.domains).toEqual([]);
    expect(ok(await gql(VERIFY, { o: second.orgId, d: domain }, second.adminToken)).verifyDomain.verified).toBe(true);
  });

  test('bad domains, unknown domains and non-admins are refused; nothing is stored', async () => {
    const org = await w.org();
    for (const bad of ['', '1.2.3.4', '[::1]', 'localhost', '-bad.example', 'a..example', 'x'.repeat(64) + '.example', 'example.123'])
      expect(refused(await gql(ADD, { o: org.orgId, d: bad }, org.adminToken)).code, bad).toBe('BAD_USER_INPUT');
    expect(refused(await gql(VERIFY, { o: org.orgId, d: 'never-added.example' }, org.adminToken)).code).toBe('NOT_FOUND');
    expect(refused(await gql(REMOVE, { o: org.orgId, d: 'never-added.example' }, org.adminToken)).code).toBe('NOT_FOUND');
    const member = await emailMember(org);
    expect(refused(await gql(ADD, { o: org.orgId, d: newDomain() }, member.token)).code).toBe('FORBIDDEN');
    expect(refused(await gql(DOMAINS, { o: org.orgId }, member.token)).code).toBe('FORBIDDEN');
    const found = await rows(w.gw, 'select id from organization_domains where organization_id = ?', [org.orgId]);
    expect(found).toEqual([]);
  });

  test('an IDN domain is stored in its ASCII form', async () => {
    const org = await w.org();
    expect(ok(await gql(ADD, { o: org.orgId, d: 'bücher-test.example' }, org.adminToken)).addDomain.domain).toBe('xn--bcher-test-9db.example');
  });
});

describe('home-realm discovery', () => {
  test('an email of a verified domain whose organization requires SSO is sent to its connection; nothing is sent', async () => {
    const org = await w.org({ name: 'Routed org' });
    const domain = await verifiedDomain(org);
    ok(await gql(SET_REQUIRE_SSO, { o: org.orgId, r: true }, org.adminToken));
    const email = `someone.${Math.random().toString(36).slice(2, 8)}@${domain}`;
    const expected = { sso: { connectionId: w.connectionId, loginUrl: loginUrl(org.orgId) } };

    const r = await post('/auth/email/start', { email: email.toUpperCase() });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual(expected);
    const form = await post('/auth/email/start', { email }, false);
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe(loginUrl(org.orgId));
    const d = await fetch(`${w.gw.url}/auth/discover?email=${encodeURIComponent(email)}`);
    expect(d.status).toBe(200);
    expect(await d.json()).toEqual(expected);
    // A user who exists gets the same answer as one who does not: it is the domain's routing.
    const known = `known.${Math.random().toString(36).slice(2, 8)}@${domain}`;
    await w.gw.container.memberships.stageUser(org.principal, org.orgId, known, 'MEMBER');
    const k = await post('/auth/email/start', { email: known });
    expect({ status: k.status, body: await k.json() }).toEqual({ status: 200, body: expected });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mail.received.some((m) => m.to.includes(email))).toBe(false);
    const found = await rows(w.gw, 'select id from email_challenges where email = ?', [email]);
    expect(found).toEqual([]);
  });

  test('no routing when the domain is not verified or the organization does not require SSO: a code is sent', async () => {
    const org = await w.org();
    const domain = await verifiedDomain(org);
    const email = `someone@${domain}`;
    expect(await (await fetch(`${w.gw.url}/auth/discover?email=${encodeURIComponent(email)}`)).json()).toEqual({ sso: null });
    expect(await (await fetch(`${w.gw.url}/auth/discover?email=${encodeURIComponent('x@unclaimed.example')}`)).json()).toEqual({ sso: null });
    const since = mail.received.length;
    const r = await post('/auth/email/start', { email });
    expect(r.status).toBe(202);
    expect(await mail.next(email, since)).toBeDefined();
    const bad = await fetch(`${w.gw.url}/auth/discover?email=nope`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe('BAD_USER_INPUT');
  });
});
