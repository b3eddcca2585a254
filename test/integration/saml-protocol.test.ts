/**
 * The SAML protocol around sign-in (SPEC §2, and bad input):
 * SP metadata, SP-initiated login with InResponseTo (single use), IdP-initiated
 * permission, replay across two gateway instances, encrypted assertions, certificate
 * rotation, and malformed input — each refusal leaving nothing but the failure record.
 */
import { inflateRawSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { rows, SAML_TABLES, snapshot } from '../kit/db.js';
import { startGateway } from '../kit/gateway.js';
import { b64, buildResponse, samlifyResponse, signWithXmlCrypto } from '../kit/saml.js';
import { idpMetadataXml, testKeyPair } from '../kit/saml-keys.js';
import { expectSamlRefused, IDP_ENTITY_ID, IDP_SSO_URL, type PostResult, startSamlWorld, useSamlWorld } from '../kit/saml-world.js';

const w = useSamlWorld();

let n = 0;
const email = () => `p${++n}.${Math.random().toString(36).slice(2, 7)}@corp.example.com`;


const expectRefused = (post: () => Promise<PostResult>, status: number, code: string, messageContains?: string, recorded = true) =>
  expectSamlRefused(w, post, status, code, { messageContains, recorded });

describe('GET /saml/:id/metadata', () => {
  test('SP metadata: entity id = this URL, the ACS URL (HTTP-POST), signed assertions wanted', async () => {
    const res = await fetch(`${w.gw.url}/saml/${w.connectionId}/metadata`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/samlmetadata+xml');
    const xml = await res.text();
    expect(xml).toContain(`entityID="${w.sp.audience}"`);
    expect(xml).toContain(`Location="${w.sp.acsUrl}"`);
    expect(xml).toContain('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
    expect(xml).toContain('WantAssertionsSigned="true"');
    expect(xml).not.toContain('use="encryption"');
  });

  test('unknown connection → 404 NOT_FOUND (JSON or HTML)', async () => {
    const json = await fetch(`${w.gw.url}/saml/scn_nope/metadata`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(((await json.json()) as any).error.code).toBe('NOT_FOUND');
    const html = await fetch(`${w.gw.url}/saml/${'x'.repeat(100)}/metadata`);
    expect(html.status).toBe(404);
    expect(await html.text()).toContain('NOT_FOUND');
  });
});

const decodeRedirect = (location: string) => {
  const u = new URL(location);
  const xml = inflateRawSync(Buffer.from(u.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  return { url: u, xml, id: /ID="([^"]+)"/.exec(xml)![1]!, relayState: u.searchParams.get('RelayState') };
};

const startLogin = async (organizationId?: string, connectionId = w.connectionId) => {
  const res = await fetch(`${w.gw.url}/saml/${connectionId}/login${organizationId ? `?organizationId=${organizationId}` : ''}`, { redirect: 'manual' });
  expect(res.status, await res.clone().text()).toBe(302);
  return decodeRedirect(res.headers.get('location')!);
};

describe('SP-initiated sign-in and InResponseTo', () => {
  test('login redirects to the IdP with an AuthnRequest and RelayState; the answer signs in once', async () => {
    const org = await w.org();
    const login = await startLogin(org.orgId);
    expect(`${login.url.origin}${login.url.pathname}`).toBe(IDP_SSO_URL);
    expect(login.relayState).toBe(org.orgId);
    expect(login.xml).toContain(`AssertionConsumerServiceURL="${w.sp.acsUrl}"`);
    expect(login.xml).toContain(`Destination="${IDP_SSO_URL}"`);
    expect(login.xml).toContain(w.sp.audience);
    const stored = await rows(w.gw, 'select connection_id, organization_id, used_at from saml_requests where id = ?', [login.id]);
    expect(stored).toEqual([{ connection_id: w.connectionId, organization_id: org.orgId, used_at: null }]);

    const address = email();
    const r = await w.post(await w.samlify({ nameId: address, inResponseTo: login.id, attributes: { Role: ['ADMIN'] } }), { json: true, relayState: org.orgId });
    expect(r.status, r.text).toBe(200);
    expect(r.json.memberships).toEqual([{ organizationId: org.orgId, role: 'ADMIN', status: 'ACTIVE' }]);

    // A second (fresh) assertion answering the same request is refused.
    await expectRefused(async () => w.post(await w.samlify({ nameId: address, inResponseTo: login.id }), { json: true, relayState: org.orgId }), 401, 'SAML_REJECTED', 'already used');
  });

  test('the RelayState of the request is used when the IdP does not echo it; a different one is refused', async () => {
    const org = await w.org();
    const other = await w.org();
    const login = await startLogin(org.orgId);
    await expectRefused(async () => w.post(await w.samlify({ nameId: email(), inResponseTo: login.id }), { json: true, relayState: other.orgId }), 401, 'SAML_REJECTED', 'RelayState');
    const r = await w.post(await w.samlify({ nameId: email(), inResponseTo: login.id }), { json: true });
    expect(r.status, r.text).toBe(200);
    expect(r.json.organizationId).toBe(org.orgId);
  });

  test('unknown, expired and foreign InResponseTo are refused', async () => {
    const org = await w.org();
    await expectRefused(async () => w.post(await w.samlify({ nameId: email(), inResponseTo: '_never-issued' }), { json: true }), 401, 'SAML_REJECTED');
    const expired = await startLogin(org.orgId);
    await rows(w.gw, `update saml_requests set expires_at = now() - interval '1 second' where id = ?`, [expired.id]);
    await expectRefused(async () => w.post(await w.samlify({ nameId: email(), inResponseTo: expired.id }), { json: true }), 401, 'SAML_REJECTED', 'expired');
    // A request started for another connection does not answer for this one.
    const other = await startSamlWorld({ t: w.gw.t });
    try {
      const foreign = (await (async () => {
        const res = await fetch(`${other.gw.url}/saml/${other.connectionId}/login`, { redirect: 'manual' });
        return decodeRedirect(res.headers.get('location')!);
      })());
      await expectRefused(async () => w.post(await w.samlify({ nameId: email(), inResponseTo: foreign.id }), { json: true, relayState: org.orgId }), 401, 'SAML_REJECTED');
    } finally {
      await other.close();
    }
  });

  test('login for an organization that does not trust the connection → 400 UNKNOWN_ORGANIZATION; unknown connection → 404', async () => {
    const untrusting = await w.org({ trust: false });
    const r = await fetch(`${w.gw.url}/saml/${w.connectionId}/login?organizationId=${untrusting.orgId}`, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error.code).toBe('UNKNOWN_ORGANIZATION');
    const missing = await fetch(`${w.gw.url}/saml/scn_missing/login`, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect(missing.status).toBe(404);
  });

  test('IdP-initiated responses are refused unless the connection allows them', async () => {
    const strict = await startSamlWorld({ t: w.gw.t, connection: { allowIdpInitiated: false } });
    try {
      const org = await strict.org();
      const before = await snapshot(w.gw, SAML_TABLES);
      const r = await strict.post(await strict.samlify({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }), { json: true });
      expect(r.status).toBe(401);
      expect(r.json.error).toMatchObject({ code: 'SAML_REJECTED', message: expect.stringContaining('IdP-initiated') });
      expect(await snapshot(w.gw, SAML_TABLES)).toEqual(before);
      const res = await fetch(`${strict.gw.url}/saml/${strict.connectionId}/login`, { redirect: 'manual' });
      const login = decodeRedirect(res.headers.get('location')!);
      const ok = await strict.post(await strict.samlify({ nameId: email(), inResponseTo: login.id, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }), { json: true });
      expect(ok.status, ok.text).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe('replay', () => {
  test('the same assertion twice: the second is refused and changes nothing', async () => {
    const org = await w.org();
    const response = await w.samlify({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } });
    expect((await w.post(response, { json: true })).status).toBe(200);
    await expectRefused(() => w.post(response, { json: true }), 401, 'SAML_REJECTED', 'already used');
  });

  test('across two gateway instances, sequentially and concurrently: accepted exactly once', async () => {
    const second = await startGateway({ t: w.gw.t });
    try {
      const org = await w.org();
      const post = (url: string, response: string) =>
        fetch(`${url}/saml/${w.connectionId}/acs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ SAMLResponse: response }).toString(),
        });
      const one = await w.samlify({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } });
      expect((await post(w.gw.url, one)).status).toBe(200);
      const again = await post(second.url, one);
      expect(again.status).toBe(401);
      expect(((await again.json()) as any).error.code).toBe('SAML_REJECTED');

      for (let i = 0; i < 5; i++) {
        const response = await w.samlify({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } });
        const results = await Promise.all([post(w.gw.url, response), post(second.url, response), post(w.gw.url, response), post(second.url, response)]);
        expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401]);
      }
      const sessions = await rows<{ n: number }>(w.gw, `select count(*)::int as n from sessions s join memberships m on m.user_id = s.user_id where m.organization_id = ? and s.kind = 'SESSION'`, [org.orgId]);
      expect(sessions[0]!.n).toBe(6);
    } finally {
      await second.close();
    }
  });
});

describe('encrypted assertions', () => {
  test('accepted with the connection’s SP key; its certificate is in the SP metadata', async () => {
    const spKeys = testKeyPair('sp-encryption');
    const enc = await startSamlWorld({ t: w.gw.t });
    try {
      await enc.gw.container.samlConnections.update(enc.owner.principal, enc.connectionId, { spDecryptionKey: spKeys.key, spCertificate: spKeys.cert });
      enc.spMetadata = await (await fetch(`${enc.gw.url}/saml/${enc.connectionId}/metadata`)).text();
      expect(enc.spMetadata).toContain('use="encryption"');
      expect(enc.spMetadata).toContain(spKeys.certBody.slice(0, 40));
      const org = await enc.org();
      const response = await enc.samlify({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`] } }, { encrypt: true });
      expect(Buffer.from(response, 'base64').toString()).toContain('EncryptedAssertion');
      const r = await enc.post(response, { json: true });
      expect(r.status, r.text).toBe(200);
      expect(r.json.memberships).toEqual([{ organizationId: org.orgId, role: 'ADMIN', status: 'ACTIVE' }]);

      // Encrypted for another key: refused.
      const wrongMetadata = enc.spMetadata.replace(spKeys.certBody, testKeyPair('other-sp').certBody);
      const wrong = await samlifyResponse({ entityId: IDP_ENTITY_ID, keys: enc.idpKeys, encrypt: true }, wrongMetadata, buildResponse(enc.sp, { nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`] } }));
      const before = await snapshot(w.gw, SAML_TABLES);
      const refused = await enc.post(wrong, { json: true });
      expect(refused.status).toBe(401);
      expect(refused.json.error).toMatchObject({ code: 'SAML_REJECTED', message: expect.stringContaining('decrypted') });
      expect(await snapshot(w.gw, SAML_TABLES)).toEqual(before);
    } finally {
      await enc.close();
    }
  });

  test('refused when the connection has no SP key', async () => {
    const spKeys = testKeyPair('sp-encryption');
    const metadataWithKey = w.spMetadata.replace(
      '<NameIDFormat>',
      `<KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${spKeys.certBody}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor><NameIDFormat>`,
    );
    const response = await samlifyResponse({ entityId: IDP_ENTITY_ID, keys: w.idpKeys, encrypt: true }, metadataWithKey, buildResponse(w.sp, { nameId: email() }));
    await expectRefused(() => w.post(response, { json: true }), 401, 'SAML_REJECTED', 'no decryption key');
  });
});

describe('certificates', () => {
  test('two certificates during a rotation: either signs; after the rotation only the new one', async () => {
    const oldKeys = testKeyPair('idp');
    const newKeys = testKeyPair('idp-next');
    const rot = await startSamlWorld({ t: w.gw.t });
    try {
      const org = await rot.org();
      const spec = () => ({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } });
      await rot.gw.container.samlConnections.update(rot.owner.principal, rot.connectionId, { metadataXml: idpMetadataXml(IDP_ENTITY_ID, IDP_SSO_URL, [oldKeys, newKeys]) });
      // Without KeyInfo, so the gateway must try both of its certificates.
      const unsignedKeyInfo = (keys: typeof oldKeys) => {
        const parts = buildResponse(rot.sp, spec());
        return b64(signWithXmlCrypto(parts.xml, parts.assertionId, keys, { keyInfo: false }));
      };
      expect((await rot.post(unsignedKeyInfo(oldKeys), { json: true })).status).toBe(200);
      expect((await rot.post(unsignedKeyInfo(newKeys), { json: true })).status).toBe(200);
      expect((await rot.post(await rot.samlify(spec(), { keys: newKeys }), { json: true })).status).toBe(200);
      await rot.gw.container.samlConnections.update(rot.owner.principal, rot.connectionId, { metadataXml: idpMetadataXml(IDP_ENTITY_ID, IDP_SSO_URL, [newKeys]) });
      const r = await rot.post(unsignedKeyInfo(oldKeys), { json: true });
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('SAML_REJECTED');
      expect((await rot.post(rot.xmlCrypto(spec(), newKeys), { json: true })).status).toBe(200);
    } finally {
      await rot.close();
    }
  });

  test('a response signed both on the message and on the assertion is accepted', async () => {
    const org = await w.org();
    const r = await w.post(await w.samlify({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }, { signMessage: true }), { json: true });
    expect(r.status, r.text).toBe(200);
  });
});

describe('bad input → 400 INVALID_SAML, nothing written but the failure record', () => {
  test('not base64', () => expectRefused(() => w.post('%%% not base64 %%%', { json: true }), 400, 'INVALID_SAML', 'not base64'));
  test('not XML', () => expectRefused(() => w.post(b64('hello, I am not XML'), { json: true }), 400, 'INVALID_SAML', 'not well-formed XML'));
  test('truncated XML', async () => {
    const xml = Buffer.from(w.xmlCrypto({ nameId: email() }), 'base64').toString();
    await expectRefused(() => w.post(b64(xml.slice(0, xml.length - 40)), { json: true }), 400, 'INVALID_SAML', 'not well-formed XML');
  });
  test('not SAML', () => expectRefused(() => w.post(b64('<html><body>hi</body></html>'), { json: true }), 400, 'INVALID_SAML', 'not a SAML 2.0 Response'));
  test('not schema-valid SAML (signed, but elements out of order)', async () => {
    const parts = buildResponse(w.sp, { nameId: email() });
    const swapped = parts.xml.replace(/(<samlp:Status>.*?<\/samlp:Status>)(<saml:Issuer>[^<]*<\/saml:Issuer>)/, '$2$1').replace(/^(<samlp:Response[^>]*>)(<saml:Issuer>[^<]*<\/saml:Issuer>)(<samlp:Status>.*?<\/samlp:Status>)/, '$1$3$2');
    expect(swapped).not.toBe(parts.xml);
    await expectRefused(() => w.post(b64(signWithXmlCrypto(swapped, parts.assertionId, w.idpKeys)), { json: true }), 400, 'INVALID_SAML', 'schema');
  });
  test('no SAMLResponse field', () => expectRefused(() => w.post(null, { json: true, relayState: 'x' }), 400, 'INVALID_SAML', 'no SAMLResponse'));
  test('two SAMLResponse fields', () => expectRefused(() => w.post(null, { json: true, body: 'SAMLResponse=a&SAMLResponse=b' }), 400, 'INVALID_SAML', 'exactly one'));
  test('too large (over 256 KiB)', () => expectRefused(() => w.post(null, { json: true, body: `SAMLResponse=${'A'.repeat(256 * 1024 + 4)}` }), 400, 'INVALID_SAML', '256 KiB'));
  test('a body that is not a form', () => expectRefused(() => w.post(null, { json: true, body: 'hello', contentType: 'text/plain' }), 400, 'INVALID_SAML', 'application/x-www-form-urlencoded'));
  test('unknown connection → 404, nothing recorded', () =>
    expectRefused(() => w.post(w.xmlCrypto({ nameId: email() }), { json: true, connectionId: 'scn_does_not_exist' }), 404, 'NOT_FOUND', undefined, false));
  test('the IdP reported a failure status → 401', () =>
    expectRefused(() => w.post(w.xmlCrypto({ nameId: email(), statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Requester' }), { json: true }), 401, 'SAML_REJECTED', 'Requester'));
});

describe('cookie', () => {
  test('Secure when the public URL is https', async () => {
    const secure = await startSamlWorld({ t: w.gw.t, env: { ORGWAY_PUBLIC_URL: 'https://id.example.test', ORGWAY_APP_URL: 'https://app.example.test/home' } });
    try {
      const org = await secure.org();
      const r = await secure.post(await secure.samlify({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } }));
      expect(r.status, r.text).toBe(303);
      expect(r.location).toBe('https://app.example.test/home');
      expect(r.setCookie).toMatch(/; Secure/i);
      expect(r.setCookie).toMatch(/HttpOnly/i);
      expect(r.setCookie).toMatch(/SameSite=Lax/i);
    } finally {
      await secure.close();
    }
  });
});

describe('size', () => {
  test('a large but allowed response (≈ 180 KiB of XML, ≈ 240 KiB form body) signs in; several at once', async () => {
    const org = await w.org();
    const filler = Array.from({ length: 1350 }, (_, i) => `OTHERPRODUCT-tenant-${i}-ADMIN-${'x'.repeat(30)}`);
    const responses = await Promise.all(
      [0, 1, 2].map(async () => w.samlify({ nameId: email(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`, ...filler] } })),
    );
    const body = new URLSearchParams({ SAMLResponse: responses[0]! }).toString();
    expect(body.length).toBeGreaterThan(200 * 1024);
    expect(body.length).toBeLessThan(256 * 1024);
    const results = await Promise.all(responses.map((r) => w.post(r, { json: true })));
    for (const r of results) expect(r.status, r.text.slice(0, 300)).toBe(200);
  });
});
