/**
 * SAML attack corpus. Every document here is signed by xml-crypto's
 * SignedXml directly — a code path independent of the in-test samlify IdP and of the
 * gateway's verifier — and then attacked. Each must be refused, with no session and no
 * change to users, memberships, team memberships, sessions or the event log (only the
 * failure record is written).
 *
 * The attacker holds a genuine assertion for attacker@… (VIEWER in the organization)
 * and wants to be victim@… with ADMIN.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { rows, SAML_TABLES, snapshot } from '../kit/db.js';
import { b64, buildResponse, RSA_SHA1, SHA1, signWithXmlCrypto } from '../kit/saml.js';
import { testKeyPair } from '../kit/saml-keys.js';
import { type OrgHandle, type PostResult, useSamlWorld } from '../kit/saml-world.js';

let org: OrgHandle;
const victim = 'victim@corp.example.com';
let attackerSeq = 0;
const attacker = () => `attacker${++attackerSeq}@corp.example.com`;

const w = useSamlWorld();
beforeAll(async () => {
  org = await w.org();
  // The victim exists and is ADMIN: an attack that worked would produce a session for them.
  await w.gw.container.memberships.stageUser(org.principal, org.orgId, victim, 'ADMIN');
});

const genuine = (nameId = attacker(), role = 'VIEWER') => {
  const parts = buildResponse(w.sp, { nameId, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-${role}`] } });
  const signed = signWithXmlCrypto(parts.xml, parts.assertionId, w.idpKeys);
  const assertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(signed)![0];
  return { ...parts, signed, signedAssertion: assertion };
};

const evilAssertion = () => buildResponse(w.sp, { nameId: victim, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`] } }).assertion;

const failureCount = async () => (await rows<{ n: number }>(w.gw, 'select count(*)::int as n from saml_sign_in_failures'))[0]!.n;

const expectRefused = async (samlResponseOrBody: { response?: string; body?: string }, status: number, code: string, messageContains?: string) => {
  const before = await snapshot(w.gw, SAML_TABLES);
  const failures = await failureCount();
  const r: PostResult = await w.post(samlResponseOrBody.response ?? null, { json: true, ...(samlResponseOrBody.body ? { body: samlResponseOrBody.body } : {}) });
  expect(r.status, r.text).toBe(status);
  expect(r.json?.error?.code, r.text).toBe(code);
  if (messageContains) expect(r.json.error.message).toContain(messageContains);
  expect(r.session).toBeNull();
  expect(r.setCookie).toBeNull();
  expect(await snapshot(w.gw, SAML_TABLES)).toEqual(before);
  expect(await failureCount()).toBe(failures + 1);
  return r;
};

const xml = (s: string) => ({ response: b64(s) });

test('baseline: a genuine xml-crypto-signed response signs in (the corpus is otherwise valid)', async () => {
  const g = genuine();
  const r = await w.post(b64(g.signed), { json: true });
  expect(r.status, r.text).toBe(200);
  expect(r.json.memberships).toEqual([{ organizationId: org.orgId, role: 'VIEWER', status: 'ACTIVE' }]);
});

describe('signatures', () => {
  test('unsigned assertion', () => expectRefused(xml(genuine().xml), 401, 'SAML_REJECTED', 'not signed'));

  test('signed by another key (its own certificate in KeyInfo)', async () => {
    const parts = buildResponse(w.sp, { nameId: victim, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`] } });
    await expectRefused(xml(signWithXmlCrypto(parts.xml, parts.assertionId, testKeyPair('attacker'))), 401, 'SAML_REJECTED', 'does not verify');
  });

  test("signed by another key, KeyInfo claiming the IdP's certificate", async () => {
    const parts = buildResponse(w.sp, { nameId: victim, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`] } });
    const forged = { ...testKeyPair('attacker'), cert: w.idpKeys.cert };
    await expectRefused(xml(signWithXmlCrypto(parts.xml, parts.assertionId, forged)), 401, 'SAML_REJECTED', 'does not verify');
  });

  test('signed content changed afterwards (role, then NameID)', async () => {
    const g = genuine();
    await expectRefused(xml(g.signed.replace(`-VIEWER<`, `-ADMIN<`)), 401, 'SAML_REJECTED', 'does not verify');
    const h = genuine();
    await expectRefused(xml(h.signed.replace(/(<saml:NameID[^>]*>)[^<]+/, `$1${victim}`)), 401, 'SAML_REJECTED', 'does not verify');
  });

  test('SHA-1 signature and digest are refused', async () => {
    const parts = buildResponse(w.sp, { nameId: attacker(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] } });
    await expectRefused(xml(signWithXmlCrypto(parts.xml, parts.assertionId, w.idpKeys, { signatureAlgorithm: RSA_SHA1 })), 401, 'SAML_REJECTED', 'SHA-1');
    const p2 = buildResponse(w.sp, { nameId: attacker() });
    await expectRefused(xml(signWithXmlCrypto(p2.xml, p2.assertionId, w.idpKeys, { digestAlgorithm: SHA1 })), 401, 'SAML_REJECTED', 'SHA-1');
  });

  test('only the Response is signed, not the assertion', async () => {
    const parts = buildResponse(w.sp, { nameId: victim, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`] } });
    await expectRefused(xml(signWithXmlCrypto(parts.xml, parts.responseId, w.idpKeys)), 401, 'SAML_REJECTED', 'not signed');
  });

  test("a genuine Response signature moved into a forged assertion (Reference is the Response's ID)", async () => {
    const parts = buildResponse(w.sp, { nameId: victim, attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-ADMIN`] } });
    const signedResponse = signWithXmlCrypto(parts.xml, parts.responseId, w.idpKeys);
    const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signedResponse)![0];
    const moved = parts.xml.replace(/(<saml:Assertion[^>]*><saml:Issuer>[^<]*<\/saml:Issuer>)/, `$1${signature}`);
    await expectRefused(xml(moved), 401, 'SAML_REJECTED', 'does not cover the assertion');
  });

  test('a signature with two References (the assertion and something else)', async () => {
    const { SignedXml } = await import('xml-crypto');
    const parts = buildResponse(w.sp, { nameId: attacker() });
    const sig = new SignedXml({ privateKey: w.idpKeys.key, publicCert: w.idpKeys.cert, signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#' });
    for (const target of [`//*[@ID='${parts.assertionId}']`, `//*[@ID='${parts.responseId}']`])
      sig.addReference({ xpath: target, transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
    sig.computeSignature(parts.xml, { prefix: 'ds', location: { reference: `//*[@ID='${parts.assertionId}']/*[local-name(.)='Issuer']`, action: 'after' } });
    await expectRefused(xml(sig.getSignedXml()), 401, 'SAML_REJECTED', 'exactly one Reference');
  });
});

describe('signature wrapping', () => {
  test('XSW: a forged assertion next to the genuine signed one', async () => {
    const g = genuine();
    await expectRefused(xml(g.signed.replace(g.signedAssertion, evilAssertion() + g.signedAssertion)), 401, 'SAML_REJECTED', 'exactly one assertion');
    await expectRefused(xml(genuine().signed.replace(/(<\/samlp:Status>)/, `$1${evilAssertion()}`)), 401, 'SAML_REJECTED', 'exactly one assertion');
  });

  test('XSW: the genuine assertion hidden in the Response Extensions, a forged one carrying its signature', async () => {
    const g = genuine();
    const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(g.signedAssertion)![0];
    const forged = evilAssertion().replace(/(<saml:Issuer>[^<]*<\/saml:Issuer>)/, `$1${signature}`);
    const wrapped = g.signed.replace(g.signedAssertion, forged).replace(/(<samlp:Response[^>]*>\s*<saml:Issuer>[^<]*<\/saml:Issuer>)/, `$1<samlp:Extensions>${g.signedAssertion}</samlp:Extensions>`);
    await expectRefused(xml(wrapped), 401, 'SAML_REJECTED', 'exactly one assertion');
  });

  test('XSW: the genuine assertion inside the forged one (Advice)', async () => {
    const g = genuine();
    const forged = evilAssertion().replace('<saml:AuthnStatement', `<saml:Advice>${g.signedAssertion}</saml:Advice><saml:AuthnStatement`);
    await expectRefused(xml(g.signed.replace(g.signedAssertion, forged)), 401, 'SAML_REJECTED', 'exactly one assertion');
  });

  test('XSW: the genuine assertion inside the forged SubjectConfirmationData (CVE-2025-47949 style)', async () => {
    const g = genuine();
    const forged = evilAssertion().replace(/<saml:SubjectConfirmationData([^>]*)\/>/, `<saml:SubjectConfirmationData$1>${g.signedAssertion}</saml:SubjectConfirmationData>`);
    await expectRefused(xml(g.signed.replace(g.signedAssertion, forged)), 401, 'SAML_REJECTED', 'exactly one assertion');
  });

  test('XSW: a forged assertion with the genuine ID and signature, the genuine one hidden in an unknown element', async () => {
    const g = genuine();
    const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(g.signedAssertion)![0];
    const forged = evilAssertion()
      .replace(/ ID="[^"]+"/, ` ID="${g.assertionId}"`)
      .replace(/(<saml:Issuer>[^<]*<\/saml:Issuer>)/, `$1${signature}`);
    // Hidden as a different element, so the document carries one assertion and two elements with that ID.
    const hidden = g.signedAssertion.replace('<saml:Assertion ', '<saml:Wrapper ').replace('</saml:Assertion>', '</saml:Wrapper>');
    const wrapped = g.signed.replace(g.signedAssertion, forged).replace(/(<samlp:Response[^>]*>\s*<saml:Issuer>[^<]*<\/saml:Issuer>)/, `$1<samlp:Extensions>${hidden}</samlp:Extensions>`);
    await expectRefused(xml(wrapped), 401, 'SAML_REJECTED', 'another element carries the assertion ID');
    // …and without the hidden copy, the forged assertion's digest does not match.
    await expectRefused(xml(g.signed.replace(g.signedAssertion, forged)), 401, 'SAML_REJECTED', 'does not verify');
  });

  test('two genuinely signed assertions', async () => {
    const a = genuine();
    const b = genuine(victim, 'ADMIN');
    await expectRefused(xml(a.signed.replace(a.signedAssertion, a.signedAssertion + b.signedAssertion)), 401, 'SAML_REJECTED', 'carries 2');
  });
});

describe('content', () => {
  test('comment injection in the NameID (signature still valid after the comment)', async () => {
    // The IdP signs "victim@corp.example.com.evil.test" for the attacker; the comment would
    // make a naive reader see "victim@corp.example.com".
    const g = genuine('victim@corp.example.com.evil.test');
    const injected = g.signed.replace('victim@corp.example.com.evil.test', 'victim@corp.example.com<!---->.evil.test');
    await expectRefused(xml(injected), 401, 'SAML_REJECTED', 'comments');
  });

  test('expired', () =>
    expectRefused(
      xml(signed({ notOnOrAfter: new Date(Date.now() - 121_000), issueInstant: new Date(Date.now() - 600_000), notBefore: new Date(Date.now() - 600_000) })),
      401,
      'SAML_REJECTED',
      'expired',
    ));

  test('NotBefore in the future (beyond the 120 s skew)', () =>
    expectRefused(xml(signed({ notBefore: new Date(Date.now() + 150_000), notOnOrAfter: new Date(Date.now() + 600_000) })), 401, 'SAML_REJECTED', 'not valid yet'));

  test('wrong audience', () => expectRefused(xml(signed({ audience: 'https://other-sp.example/metadata' })), 401, 'SAML_REJECTED', 'meant for'));
  test('wrong Destination', () => expectRefused(xml(signed({ destination: 'https://evil.example/acs' })), 401, 'SAML_REJECTED', 'addressed to'));
  test('no Destination', () => expectRefused(xml(signed({ destination: null })), 401, 'SAML_REJECTED', 'addressed to'));
  test('wrong Recipient', () => expectRefused(xml(signed({ recipient: 'https://evil.example/acs' })), 401, 'SAML_REJECTED', 'Recipient'));
  test('wrong issuer (signed with the right key)', () => expectRefused(xml(signed({ issuer: 'https://evil-idp.example' })), 401, 'SAML_REJECTED', 'issued by'));
  test('missing email', () => expectRefused(xml(signed({ nameId: null })), 400, 'INVALID_SAML', 'email'));

  test('replay', async () => {
    const response = b64(signed({}));
    expect((await w.post(response, { json: true })).status).toBe(200);
    await expectRefused({ response }, 401, 'SAML_REJECTED', 'already used');
  });
});

function signed(spec: Parameters<typeof buildResponse>[1]) {
  const parts = buildResponse(w.sp, { nameId: attacker(), attributes: { OrgAndRole: [`SPOTINST-${org.orgId}-VIEWER`] }, ...spec });
  return signWithXmlCrypto(parts.xml, parts.assertionId, w.idpKeys);
}

describe('XML', () => {
  test('DOCTYPE with entity expansion (billion laughs)', async () => {
    const laughs = `<!DOCTYPE samlp:Response [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>`;
    const g = genuine();
    await expectRefused(xml(laughs + g.signed.replace(attacker.toString(), '&lol3;')), 400, 'INVALID_SAML', 'DTD');
  });

  test('external entity (XXE)', async () => {
    const g = genuine();
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + g.signed.replace('<saml:AudienceRestriction>', '<saml:AudienceRestriction>&x;');
    await expectRefused(xml(xxe), 400, 'INVALID_SAML', 'DTD');
  });

  test('oversized body', () => expectRefused({ body: `SAMLResponse=${b64(genuine().signed)}${'A'.repeat(260 * 1024)}` }, 400, 'INVALID_SAML', '256 KiB'));
  test('not base64', () => expectRefused({ body: 'SAMLResponse=%3C%3Fxml' }, 400, 'INVALID_SAML', 'base64'));
  test('not XML', () => expectRefused(xml('{"saml": true}'), 400, 'INVALID_SAML', 'XML'));
});

test('the victim never got a session', async () => {
  const sessions = await rows(w.gw, `select s.id from sessions s join users u on u.id = s.user_id where u.email = ?`, [victim]);
  expect(sessions).toEqual([]);
});
