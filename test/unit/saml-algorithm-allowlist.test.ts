/**
 * Regression: verifySignature checks the algorithm of ds:SignedInfo/ds:SignatureMethod,
 * but xml-crypto's loadSignature takes `.//*[local-name(.)='SignatureMethod']/@Algorithm` — the
 * first element of that *local name* anywhere in the Signature, in document order — and reads
 * DigestMethod by local name in any namespace. ds:CanonicalizationMethod (mixed, ##any content,
 * schema-valid) precedes ds:SignatureMethod, so a nested ds:SignatureMethod inside it is what
 * xml-crypto used; its child content also makes fastPathApplies false, so xml-crypto is the path
 * taken. An RSA-SHA1 signature was accepted although SignatureMethod said RSA-SHA256.
 * Now xml-crypto's algorithm tables hold only the allow-list, and the algorithms it loaded must be
 * the ones orgway checked; only RSA keys verify.
 */
import { expect, test } from 'vitest';
import { DomainError } from '../../src/domain/model/index.js';
import { SchemaValidator } from '../../src/transports/saml/schema-validator.js';
import { verifySignature } from '../../src/transports/saml/signature.js';
import { checkStructure, parseResponse, validateSchema } from '../../src/transports/saml/verification.js';
import { buildResponse, nestedSignatureMethodResponse, resignSignedInfo, signWithXmlCrypto, type SpContext } from '../kit/saml.js';
import { testKeyPair } from '../kit/saml-keys.js';

const sp: SpContext = { idpEntityId: 'https://idp.test/meta', acsUrl: 'https://gw.test/saml/scn_1/acs', audience: 'https://gw.test/saml/scn_1/metadata' };
const idp = testKeyPair('idp');
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const RSA_SHA512 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

/** The F2 document: SignatureMethod says RSA-SHA256, a nested one says `nested`, signed with `hash`. */
const nestedSignatureMethod = (nested: string, hash: string): { xml: string; assertionId: string } => {
  const r = nestedSignatureMethodResponse(sp, idp, nested, hash);
  expect(r.signed).toContain('xmldsig-more#rsa-sha256'); // what orgway's allow-list sees
  return { xml: r.signed, assertionId: r.assertionId };
};

const refusal = (xml: string, path: 'auto' | 'xml-crypto', certs = [idp.cert]): DomainError => {
  const { doc, response } = parseResponse(xml);
  const { assertion } = checkStructure(doc, response);
  try {
    verifySignature(xml, assertion!, certs, path);
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('expected verifySignature to refuse');
};

test('an RSA-SHA1 signature through a SignatureMethod nested in CanonicalizationMethod is refused', async () => {
  const { xml } = nestedSignatureMethod(RSA_SHA1, 'sha1');
  const v = new SchemaValidator();
  try {
    await validateSchema(xml, v); // schema-valid: the schema does not stop it
  } finally {
    await v.close();
  }
  for (const path of ['auto', 'xml-crypto'] as const) {
    const e = refusal(xml, path);
    expect(e.code).toBe('SAML_REJECTED');
    expect(e.details.step).toBe('verifySignature');
  }
});

test('a nested SignatureMethod naming another allowed algorithm (RSA-SHA512) is refused too: SignedInfo is verified with the checked one', () => {
  const { xml } = nestedSignatureMethod(RSA_SHA512, 'sha512');
  for (const path of ['auto', 'xml-crypto'] as const) {
    const e = refusal(xml, path);
    expect(e.code).toBe('SAML_REJECTED');
    // Signed with SHA-512 but declared RSA-SHA256: the SignedInfo check (before xml-crypto) fails.
    expect(String(e.details.detail)).toContain('SignedInfo signature does not match');
  }
});

test('a SHA-1 DigestMethod in another namespace ahead of ds:DigestMethod is refused (xml-crypto knows no SHA-1 here)', () => {
  const parts = buildResponse(sp, { nameId: 'a@b.example' });
  let xml = signWithXmlCrypto(parts.xml, parts.assertionId, idp, { digestAlgorithm: SHA1 });
  xml = xml.replace(`<ds:DigestMethod Algorithm="${SHA1}"/>`, `<x:DigestMethod xmlns:x="urn:x" Algorithm="${SHA1}"/><ds:DigestMethod Algorithm="${SHA256}"/>`);
  expect(xml).toContain('urn:x');
  xml = resignSignedInfo(xml, idp, 'sha256');
  const e = refusal(xml, 'xml-crypto');
  expect(e.code).toBe('SAML_REJECTED');
  expect(e.details.detail).toMatch(/sha1/i);
  expect(refusal(xml, 'auto').code).toBe('SAML_REJECTED');
});

test('an inclusive-C14N-with-comments SignedInfo is refused before any path runs', () => {
  const parts = buildResponse(sp, { nameId: 'a@b.example' });
  const xml = signWithXmlCrypto(parts.xml, parts.assertionId, idp).replace(
    /<ds:CanonicalizationMethod Algorithm="[^"]+"\/>/,
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/>',
  );
  for (const path of ['auto', 'xml-crypto'] as const) expect(refusal(xml, path).message).toContain('canonicalized with');
});

test('only RSA keys verify: an EC certificate is skipped on both paths', () => {
  const ec = testKeyPair('idp-ec', 'ec');
  const parts = buildResponse(sp, { nameId: 'a@b.example' });
  const xml = signWithXmlCrypto(parts.xml, parts.assertionId, idp);
  for (const path of ['auto', 'xml-crypto'] as const) {
    const e = refusal(xml, path, [ec.cert]);
    expect(e.code).toBe('SAML_REJECTED');
    expect(e.details.detail).toContain('certificate 1: its key type is ec; only RSA keys are accepted');
    const { doc, response } = parseResponse(xml);
    expect(() => verifySignature(xml, checkStructure(doc, response).assertion!, [ec.cert, idp.cert], path)).not.toThrow();
  }
});
