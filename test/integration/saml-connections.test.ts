/**
 * SAML connection management over GraphQL (and the list of recent sign-in failures):
 * create from IdP metadata, update, trust / untrust, list, recent failures — and who may.
 */
import { describe, expect, test } from 'vitest';
import { rows, SAML_TABLES, snapshot } from '../kit/db.js';
import { useGateway } from '../kit/gateway.js';
import { b64, buildResponse, samlifyResponse } from '../kit/saml.js';
import { idpMetadataXml, testKeyPair } from '../kit/saml-keys.js';

const gw = useGateway();

const IDP = 'https://idp.graphql.test/metadata';
const SSO = 'https://idp.graphql.test/sso';
const idp = testKeyPair('idp');
const next = testKeyPair('idp-next');

const FIELDS = `id name ownerOrganizationId idpEntityId ssoUrl attributePrefix defaultOrganizationId allowIdpInitiated hasDecryptionKey
  acsUrl spEntityId loginUrl signingCertificates { fingerprintSha256 subject validTo pem } spCertificate { fingerprintSha256 }`;
const CREATE = `mutation($o: ID!, $m: String!, $s: SamlConnectionSettingsInput) { createSamlConnection(organizationId: $o, metadataXml: $m, settings: $s) { ${FIELDS} } }`;
const UPDATE = `mutation($c: ID!, $i: UpdateSamlConnectionInput!) { updateSamlConnection(connectionId: $c, input: $i) { ${FIELDS} } }`;
const TRUST = `mutation($o: ID!, $c: ID!) { trustSamlConnection(organizationId: $o, connectionId: $c) { id } }`;
const UNTRUST = `mutation($o: ID!, $c: ID!) { untrustSamlConnection(organizationId: $o, connectionId: $c) }`;
const LIST = `query($o: ID!) { organization(id: $o) { samlConnections { id ownerOrganizationId } } }`;
const FAILURES = `query($o: ID!) { organization(id: $o) { samlConnections { id recentSignInFailures(first: 5) { code message detail email occurredAt } } } }`;

const code = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;
const connectionCount = async () => (await rows<{ n: number }>(gw, 'select count(*)::int as n from saml_connections'))[0]!.n;

/** A user with a session who is `role` in the organization. */
const member = async (orgId: string, adminToken: string, role: 'ADMIN' | 'MEMBER' | 'VIEWER') => {
  const principal = await gw.container.identity.authenticate(adminToken);
  const address = `m.${Math.random().toString(36).slice(2, 8)}@members.example.com`;
  const m = await gw.container.memberships.stageUser(principal, orgId, address, role);
  const session = await gw.container.identity.createSession(m.user.id, orgId, ['OPERATOR']);
  return session.token;
};

describe('create', () => {
  test('an ORG_ADMIN creates a connection from IdP metadata; its organization owns and trusts it', async () => {
    const a = await gw.bootstrap();
    const r = await gw.gql<any>(CREATE, { o: a.orgId, m: idpMetadataXml(IDP, SSO, [idp]) }, a.token);
    expect(r.errors).toBeUndefined();
    const c = r.data.createSamlConnection;
    expect(c).toMatchObject({
      name: 'idp.graphql.test',
      ownerOrganizationId: a.orgId,
      idpEntityId: IDP,
      ssoUrl: SSO,
      attributePrefix: 'SPOTINST',
      defaultOrganizationId: null,
      allowIdpInitiated: false,
      hasDecryptionKey: false,
      spCertificate: null,
      acsUrl: `${gw.container.config.publicUrl}/saml/${c.id}/acs`,
      spEntityId: `${gw.container.config.publicUrl}/saml/${c.id}/metadata`,
      loginUrl: `${gw.container.config.publicUrl}/saml/${c.id}/login`,
    });
    expect(c.signingCertificates).toHaveLength(1);
    expect(c.signingCertificates[0].fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(c.signingCertificates[0].subject).toContain('orgway-test-idp');
    const list = await gw.gql<any>(LIST, { o: a.orgId }, a.token);
    expect(list.data.organization.samlConnections).toEqual([{ id: c.id, ownerOrganizationId: a.orgId }]);
  });

  test('settings at creation: prefix, IdP-initiated, default organization (the owner), decryption key pair', async () => {
    const a = await gw.bootstrap();
    const sp = testKeyPair('sp-graphql');
    const r = await gw.gql<any>(
      CREATE,
      { o: a.orgId, m: idpMetadataXml(IDP, SSO, [idp, next]), s: { name: 'Okta prod', attributePrefix: 'ACME', allowIdpInitiated: true, defaultOrganizationId: a.orgId, spDecryptionKey: sp.key, spCertificate: sp.cert } },
      a.token,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.createSamlConnection).toMatchObject({ name: 'Okta prod', attributePrefix: 'ACME', allowIdpInitiated: true, defaultOrganizationId: a.orgId, hasDecryptionKey: true });
    expect(r.data.createSamlConnection.signingCertificates).toHaveLength(2);
    expect(r.data.createSamlConnection.spCertificate.fingerprintSha256).toMatch(/:/);
    const metadata = await (await fetch(`${gw.url}/saml/${r.data.createSamlConnection.id}/metadata`)).text();
    expect(metadata).toContain('use="encryption"');
    expect(JSON.stringify(r)).not.toContain('PRIVATE KEY');
  });

  test('refused input changes nothing: bad metadata, DTD, three certificates, an EC certificate, bad prefix, a key that is not the certificate’s', async () => {
    const a = await gw.bootstrap();
    const before = await connectionCount();
    const attempts: [Record<string, unknown>, string][] = [
      [{ m: '<not metadata' }, 'metadataXml'],
      [{ m: '' }, 'metadataXml'],
      [{ m: `<!DOCTYPE x [<!ENTITY e "e">]>${idpMetadataXml(IDP, SSO, [idp])}` }, 'DTD'],
      [{ m: idpMetadataXml(IDP, SSO, [idp, next, testKeyPair('third')]) }, 'at most 2'],
      [{ m: idpMetadataXml(IDP, SSO, []) }, 'no signing certificate'],
      [{ m: idpMetadataXml(IDP, SSO, [testKeyPair('idp-ec', 'ec')]) }, 'RSA signatures only'],
      [{ m: idpMetadataXml(IDP, SSO, [idp, testKeyPair('idp-ec', 'ec')]) }, 'an EC (ECDSA) key'],
      [{ m: idpMetadataXml(IDP, SSO, [idp]), s: { attributePrefix: 'SPOT-INST' } }, 'no dash'],
      [{ m: idpMetadataXml(IDP, SSO, [idp]), s: { spDecryptionKey: testKeyPair('sp-a').key, spCertificate: testKeyPair('sp-b').cert } }, 'not the certificate'],
      [{ m: idpMetadataXml(IDP, SSO, [idp]), s: { spDecryptionKey: testKeyPair('sp-a').key } }, 'together'],
      [{ m: idpMetadataXml(IDP, 'ftp://x', [idp]) }, 'http'],
      // A certificate padded past 16 KiB of PEM (refused before it is parsed).
      [{ m: idpMetadataXml(IDP, SSO, [{ ...idp, certBody: idp.certBody + 'A'.repeat(17_000) }]) }, 'at most 16384 characters'],
    ];
    for (const [vars, message] of attempts) {
      const r = await gw.gql<any>(CREATE, { o: a.orgId, ...vars }, a.token);
      expect(code(r), JSON.stringify(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.message).toContain(message);
    }
    const other = await gw.bootstrap();
    const r = await gw.gql<any>(CREATE, { o: a.orgId, m: idpMetadataXml(IDP, SSO, [idp]), s: { defaultOrganizationId: other.orgId } }, a.token);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(await connectionCount()).toBe(before);
  });

  test('only ORG_ADMINs: members get FORBIDDEN, outsiders NOT_FOUND, anonymous UNAUTHENTICATED', async () => {
    const a = await gw.bootstrap();
    const before = await connectionCount();
    for (const role of ['ADMIN', 'MEMBER', 'VIEWER'] as const) {
      const token = await member(a.orgId, a.token, role);
      expect(code(await gw.gql(CREATE, { o: a.orgId, m: idpMetadataXml(IDP, SSO, [idp]) }, token))).toBe('FORBIDDEN');
      expect(code(await gw.gql(LIST, { o: a.orgId }, token))).toBe('FORBIDDEN');
    }
    const outsider = await gw.bootstrap();
    expect(code(await gw.gql(CREATE, { o: a.orgId, m: idpMetadataXml(IDP, SSO, [idp]) }, outsider.token))).toBe('NOT_FOUND');
    expect(code(await gw.gql(CREATE, { o: a.orgId, m: idpMetadataXml(IDP, SSO, [idp]) }))).toBe('UNAUTHENTICATED');
    expect(await connectionCount()).toBe(before);
  });
});

describe('update, trust, untrust', () => {
  test('the owner’s ORG_ADMINs change it; trusting organizations’ admins and members cannot; outsiders do not see it', async () => {
    const owner = await gw.bootstrap();
    const trusting = await gw.bootstrap();
    const outsider = await gw.bootstrap();
    const c = (await gw.gql<any>(CREATE, { o: owner.orgId, m: idpMetadataXml(IDP, SSO, [idp]) }, owner.token)).data.createSamlConnection;
    expect((await gw.gql<any>(TRUST, { o: trusting.orgId, c: c.id }, trusting.token)).errors).toBeUndefined();
    expect((await gw.gql<any>(LIST, { o: trusting.orgId }, trusting.token)).data.organization.samlConnections).toEqual([{ id: c.id, ownerOrganizationId: owner.orgId }]);

    const ok = await gw.gql<any>(UPDATE, { c: c.id, i: { attributePrefix: 'NEWP', allowIdpInitiated: true, defaultOrganizationId: trusting.orgId, name: 'Renamed' } }, owner.token);
    expect(ok.errors).toBeUndefined();
    expect(ok.data.updateSamlConnection).toMatchObject({ attributePrefix: 'NEWP', allowIdpInitiated: true, defaultOrganizationId: trusting.orgId, name: 'Renamed' });

    const forbidden = await gw.gql<any>(UPDATE, { c: c.id, i: { allowIdpInitiated: false } }, trusting.token);
    expect(code(forbidden)).toBe('FORBIDDEN');
    expect(forbidden.errors![0]!.message).toContain(owner.orgId);
    expect(code(await gw.gql(UPDATE, { c: c.id, i: { allowIdpInitiated: false } }, await member(owner.orgId, owner.token, 'ADMIN')))).toBe('FORBIDDEN');
    expect(code(await gw.gql(UPDATE, { c: c.id, i: { allowIdpInitiated: false } }, outsider.token))).toBe('NOT_FOUND');
    expect(code(await gw.gql(UPDATE, { c: 'scn_nope', i: { allowIdpInitiated: false } }, owner.token))).toBe('NOT_FOUND');
    // A member of a trusting organization cannot trust or untrust for it.
    expect(code(await gw.gql(UNTRUST, { o: trusting.orgId, c: c.id }, await member(trusting.orgId, trusting.token, 'ADMIN')))).toBe('FORBIDDEN');
    // Trusting an unknown connection.
    expect(code(await gw.gql(TRUST, { o: outsider.orgId, c: 'scn_nope' }, outsider.token))).toBe('NOT_FOUND');

    // Default organization must trust; untrusting clears it.
    expect(code(await gw.gql(UPDATE, { c: c.id, i: { defaultOrganizationId: outsider.orgId } }, owner.token))).toBe('BAD_USER_INPUT');
    expect((await gw.gql<any>(UNTRUST, { o: trusting.orgId, c: c.id }, trusting.token)).data.untrustSamlConnection).toBe(true);
    expect((await gw.gql<any>(UNTRUST, { o: trusting.orgId, c: c.id }, trusting.token)).data.untrustSamlConnection).toBe(false);
    expect((await gw.gql<any>(LIST, { o: trusting.orgId }, trusting.token)).data.organization.samlConnections).toEqual([]);
    const after = await gw.gql<any>(`query($o: ID!) { organization(id: $o) { samlConnections { defaultOrganizationId } } }`, { o: owner.orgId }, owner.token);
    expect(after.data.organization.samlConnections).toEqual([{ defaultOrganizationId: null }]);
    // Clearing explicitly.
    await gw.gql(UPDATE, { c: c.id, i: { defaultOrganizationId: owner.orgId } }, owner.token);
    const cleared = await gw.gql<any>(UPDATE, { c: c.id, i: { clearDefaultOrganization: true } }, owner.token);
    expect(cleared.data.updateSamlConnection.defaultOrganizationId).toBeNull();
  });

  test('certificate rotation through new metadata; decryption key set and removed', async () => {
    const owner = await gw.bootstrap();
    const c = (await gw.gql<any>(CREATE, { o: owner.orgId, m: idpMetadataXml(IDP, SSO, [idp]) }, owner.token)).data.createSamlConnection;
    const rotated = await gw.gql<any>(UPDATE, { c: c.id, i: { metadataXml: idpMetadataXml(IDP, 'https://idp.graphql.test/sso2', [idp, next]) } }, owner.token);
    expect(rotated.data.updateSamlConnection.signingCertificates).toHaveLength(2);
    expect(rotated.data.updateSamlConnection.ssoUrl).toBe('https://idp.graphql.test/sso2');
    const ec = await gw.gql<any>(UPDATE, { c: c.id, i: { metadataXml: idpMetadataXml(IDP, SSO, [idp, testKeyPair('idp-ec', 'ec')]) } }, owner.token);
    expect(code(ec)).toBe('BAD_USER_INPUT');
    expect(ec.errors![0]!.message).toContain('RSA signatures only');
    const sp = testKeyPair('sp-graphql');
    const withKey = await gw.gql<any>(UPDATE, { c: c.id, i: { spDecryptionKey: sp.key, spCertificate: sp.cert } }, owner.token);
    expect(withKey.data.updateSamlConnection.hasDecryptionKey).toBe(true);
    expect(code(await gw.gql(UPDATE, { c: c.id, i: { removeDecryptionKey: true, spDecryptionKey: sp.key, spCertificate: sp.cert } }, owner.token))).toBe('BAD_USER_INPUT');
    const removed = await gw.gql<any>(UPDATE, { c: c.id, i: { removeDecryptionKey: true } }, owner.token);
    expect(removed.data.updateSamlConnection).toMatchObject({ hasDecryptionKey: false, spCertificate: null });
  });
});

describe('sign-in through a connection managed over GraphQL', () => {
  test('trust lets an organization’s users in, untrust stops it; failures are listed for the owner’s ORG_ADMINs only', async () => {
    const owner = await gw.bootstrap();
    const other = await gw.bootstrap();
    const c = (await gw.gql<any>(CREATE, { o: owner.orgId, m: idpMetadataXml(IDP, SSO, [idp]), s: { allowIdpInitiated: true } }, owner.token)).data.createSamlConnection;
    await gw.gql(TRUST, { o: other.orgId, c: c.id }, other.token);
    const spMetadata = await (await fetch(`${gw.url}/saml/${c.id}/metadata`)).text();
    const sp = { idpEntityId: IDP, acsUrl: c.acsUrl, audience: c.spEntityId };
    const post = async (orgId: string) => {
      const response = await samlifyResponse({ entityId: IDP, keys: idp }, spMetadata, buildResponse(sp, { nameId: 'gql.user@corp.example.com', attributes: { OrgAndRole: [`SPOTINST-${orgId}-VIEWER`] } }));
      const res = await fetch(`${gw.url}/saml/${c.id}/acs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ SAMLResponse: response }).toString(),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    expect((await post(other.orgId)).status).toBe(200);
    await gw.gql(UNTRUST, { o: other.orgId, c: c.id }, other.token);
    const before = await snapshot(gw, SAML_TABLES);
    const refused = await post(other.orgId);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('UNKNOWN_ORGANIZATION');
    expect(await snapshot(gw, SAML_TABLES)).toEqual(before);
    // An unverifiable response, too.
    await fetch(`${gw.url}/saml/${c.id}/acs`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `SAMLResponse=${encodeURIComponent(b64('<x/>'))}` });

    const failures = await gw.gql<any>(FAILURES, { o: owner.orgId }, owner.token);
    expect(failures.errors).toBeUndefined();
    const list = failures.data.organization.samlConnections[0].recentSignInFailures;
    expect(list.map((f: any) => f.code)).toEqual(['INVALID_SAML', 'UNKNOWN_ORGANIZATION']);
    expect(list[1]).toMatchObject({ message: refused.body.error.message, email: 'gql.user@corp.example.com' });
    expect(list[0]).toMatchObject({ email: null, detail: expect.stringContaining('parseResponse') });

    await gw.gql(TRUST, { o: other.orgId, c: c.id }, other.token);
    const fromTrusting = await gw.gql<any>(FAILURES, { o: other.orgId }, other.token);
    expect(code(fromTrusting)).toBe('FORBIDDEN');
    expect(code(await gw.gql(`query($o: ID!) { organization(id: $o) { samlConnections { recentSignInFailures(first: 500) { code } } } }`, { o: owner.orgId }, owner.token))).toBe('BAD_USER_INPUT');
  });
});
