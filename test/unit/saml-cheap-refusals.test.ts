/**
 * SPEC §8 "Unauthenticated work is bounded", on junk documents built here by hand (not by
 * the signing helpers): more than 5,000 elements refused before any parse; a SignedInfo
 * that no connection key signed refused before anything is digested, on both verification
 * paths, for exclusive and inclusive canonicalization, with one and two certificates;
 * a DTD in the decrypted assertion refused.
 */
import xmlenc from '@authenio/xml-encryption';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { SignedXml } from 'xml-crypto';
import { DomainError } from '../../src/domain/model/index.js';
import type { SamlConnectionConfig } from '../../src/domain/saml-sign-in/types.js';
import { SchemaValidator } from '../../src/transports/saml/schema-validator.js';
import { signaturePathRuns } from '../../src/transports/saml/signature.js';
import { countElements, MAX_ELEMENTS, verifySamlResponse } from '../../src/transports/saml/verification.js';
import { b64, buildResponse, C14N, ENVELOPED, EXC_C14N, junkSamlResponse, signWithXmlCrypto, type SpContext, UNIT_SP, unitConnection } from '../kit/saml.js';
import { testKeyPair } from '../kit/saml-keys.js';

const sp: SpContext = UNIT_SP;
const idp = testKeyPair('idp');
const other = testKeyPair('other-idp');
const spEnc = testKeyPair('sp-encryption');
const connection = (certs: string[], spDecryptionKey: string | null = null): SamlConnectionConfig => unitConnection(certs, spDecryptionKey);

let validator: SchemaValidator;
beforeAll(() => {
  validator = new SchemaValidator({ batchWindowMs: 2 });
});
afterAll(() => validator.close());

const verify = (xml: string, certs: string[] = [idp.cert], key: string | null = null) =>
  verifySamlResponse({ SAMLResponse: b64(xml) }, { connection: connection(certs, key), acsUrl: sp.acsUrl, audience: sp.audience, now: new Date() }, validator);

const refusal = async (p: Promise<unknown>): Promise<DomainError> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('expected a refusal');
};

const junkResponse = (junk: number, c14n: string, opts: { wellFormed?: boolean; filler?: string } = {}): string => junkSamlResponse(sp, junk, c14n, opts);

describe('element count, before any parse', () => {
  test('counts start tags only (not end tags, comments, processing instructions, declarations)', () => {
    expect(countElements('<?xml version="1.0"?><a><!-- <b> --><c/><d x="1"></d></a>')).toBe(4); // a, (b in the comment), c, d
    expect(countElements('<a></a>')).toBe(1);
    expect(countElements('no tags')).toBe(0);
  });

  test.each([MAX_ELEMENTS + 1, 25_000])('%i elements: refused as such, even when the document is not well-formed', async (n) => {
    const base = countElements(junkResponse(0, EXC_C14N));
    const xml = junkResponse(n - base, C14N, { wellFormed: false, filler: '<j/>' });
    expect(countElements(xml, Infinity)).toBeGreaterThan(MAX_ELEMENTS);
    const e = await refusal(verify(xml));
    expect(e.code).toBe('INVALID_SAML');
    expect(e.details.step).toBe('rejectDtd');
    expect(e.message).toMatch(/more than 5000 elements/);
  });

  test('just under the limit, the junk gets to the signature step (and no further)', async () => {
    const xml = junkResponse(MAX_ELEMENTS - countElements(junkResponse(0, EXC_C14N)), EXC_C14N, { filler: '<saml:AttributeValue/>' });
    expect(countElements(xml, Infinity)).toBe(MAX_ELEMENTS);
    const e = await refusal(verify(xml));
    expect(e.details.step).toBe('verifySignature');
  });
});

describe('SignedInfo is checked against the keys before anything is digested', () => {
  test.each([
    ['exclusive C14N, one certificate', EXC_C14N, [idp.cert]],
    ['exclusive C14N, two certificates', EXC_C14N, [other.cert, idp.cert]],
    ['inclusive C14N, one certificate', C14N, [idp.cert]],
    ['inclusive C14N, two certificates', C14N, [other.cert, idp.cert]],
  ])('junk, %s: refused (SAML_REJECTED) without xml-crypto reading the document or any digest', async (_label, c14n, certs) => {
    const checkSignature = vi.spyOn(SignedXml.prototype, 'checkSignature');
    try {
      const e = await refusal(verify(junkResponse(3_000, c14n), certs));
      expect(e.code).toBe('SAML_REJECTED');
      expect(e.details.step).toBe('verifySignature');
      const detail = String(e.details.detail);
      expect(detail.match(/SignedInfo signature does not match/g)).toHaveLength(certs.length);
      expect(detail).not.toMatch(/digest/);
      expect(checkSignature).not.toHaveBeenCalled();
    } finally {
      checkSignature.mockRestore();
    }
  });

  test.each([
    ['exclusive C14N (fast path)', EXC_C14N, [ENVELOPED, EXC_C14N], 'fast'],
    ['inclusive C14N (xml-crypto path)', C14N, [ENVELOPED, C14N], 'xmlCrypto'],
  ] as const)('a genuine response, %s, verifies with one or two certificates', async (_label, c14n, transforms, path) => {
    for (const certs of [[idp.cert], [other.cert, idp.cert]]) {
      const parts = buildResponse(sp, { nameId: 'Genuine@Example.com' });
      const xml = signWithXmlCrypto(parts.xml, parts.assertionId, idp, { canonicalizationAlgorithm: c14n, transforms: [...transforms] });
      const before = { ...signaturePathRuns };
      const v = await verify(xml, certs);
      expect(v.email).toBe('Genuine@Example.com'); // canonical form is the domain's (normalizeEmail)
      expect(signaturePathRuns[path]).toBe(before[path] + 1);
    }
  });

  test('a genuine SignedInfo over changed content: the key vouches, the digest then refuses (both paths)', async () => {
    for (const [c14n, transforms] of [
      [EXC_C14N, [ENVELOPED, EXC_C14N]],
      [C14N, [ENVELOPED, C14N]],
    ] as const) {
      const parts = buildResponse(sp, { nameId: 'a@b.example' });
      const xml = signWithXmlCrypto(parts.xml, parts.assertionId, idp, { canonicalizationAlgorithm: c14n, transforms: [...transforms] }).replace('a@b.example', 'admin@b.example');
      const e = await refusal(verify(xml));
      expect(e.code).toBe('SAML_REJECTED');
      expect(String(e.details.detail)).not.toMatch(/SignedInfo signature does not match/);
    }
  });
});

describe('a DTD in the decrypted assertion', () => {
  const encryptedResponse = async (plaintext: string): Promise<string> => {
    const encrypted = await new Promise<string>((resolve, reject) =>
      xmlenc.encrypt(
        plaintext,
        {
          rsa_pub: Buffer.from(spEnc.cert),
          pem: Buffer.from(spEnc.cert),
          encryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
          keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
        },
        (err: Error | null, res?: string) => (err || !res ? reject(err ?? new Error('no result')) : resolve(res)),
      ),
    );
    const parts = buildResponse(sp, { nameId: 'a@b.example' });
    return parts.xml.replace(parts.assertion, `<saml:EncryptedAssertion>${encrypted}</saml:EncryptedAssertion>`);
  };

  test('is refused (the decrypted text is checked before samlify parses it)', async () => {
    const parts = buildResponse(sp, { nameId: 'a@b.example' });
    const signed = signWithXmlCrypto(parts.xml, parts.assertionId, idp);
    const assertion = signed.slice(signed.indexOf('<saml:Assertion'), signed.indexOf('</saml:Assertion>') + '</saml:Assertion>'.length);
    // The same signed assertion decrypts and verifies without the DTD: the refusal is the DTD's.
    const plain = await verify(await encryptedResponse(assertion), [idp.cert], spEnc.key);
    expect(plain.email).toBe('a@b.example');
    const e = await refusal(verify(await encryptedResponse(`<!DOCTYPE saml:Assertion [<!ENTITY e "x">]>${assertion}`), [idp.cert], spEnc.key));
    expect(e.code).toBe('INVALID_SAML');
    expect(e.details.step).toBe('rejectDtd');
  });
});
