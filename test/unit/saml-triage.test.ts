/**
 * SPEC §8: the ACS's triage (src/transports/saml/triage.ts) — whether the assertion's SignedInfo
 * is signed by one of the connection's keys, read from the raw text. Genuine responses of every
 * shape the verification accepts are vouched for (and verify in full); junk, wrong keys and
 * anything the scan does not expect are not; nothing throws. The triage decides only the order
 * of work: a response it vouches for is still refused by the verification when its content
 * was changed. Junk is bounded: the small document is refused unparsed above 8 KiB, namespace
 * floods are refused by the signature check, and a copied SignedInfo is vouched for once.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SamlConnectionConfig } from '../../src/domain/saml-sign-in/types.js';
import { SchemaValidator } from '../../src/transports/saml/schema-validator.js';
import { SIGHTING_TTL_MS, signedInfoDocument, Triage } from '../../src/transports/saml/triage.js';
import { verifySamlResponse } from '../../src/transports/saml/verification.js';
import { b64, buildResponse, C14N, ENVELOPED, signWithXmlCrypto, type SpContext, UNIT_SP, unitConnection } from '../kit/saml.js';
import { testKeyPair } from '../kit/saml-keys.js';

const sp: SpContext = UNIT_SP;
const idp = testKeyPair('idp');
const other = testKeyPair('other-idp');
const connection: SamlConnectionConfig = unitConnection([idp.cert]);

let validator: SchemaValidator;
beforeAll(() => {
  validator = new SchemaValidator({ batchWindowMs: 2 });
});
afterAll(() => validator.close());

const verify = (samlResponse: string) => verifySamlResponse({ SAMLResponse: samlResponse }, { connection, acsUrl: sp.acsUrl, audience: sp.audience, now: new Date() }, validator);

const signed = (opts: { c14n?: 'exclusive' | 'inclusive'; signResponse?: boolean; keys?: typeof idp } = {}): string => {
  const parts = buildResponse(sp, { nameId: 'ann@corp.example' });
  const keys = opts.keys ?? idp;
  const c14n = opts.c14n === 'inclusive' ? { canonicalizationAlgorithm: C14N, transforms: [ENVELOPED, C14N] } : {};
  let xml = signWithXmlCrypto(parts.xml, parts.assertionId, keys, c14n);
  if (opts.signResponse) xml = signWithXmlCrypto(xml, parts.responseId, keys);
  return xml;
};

/** The same signed assertion in the default-namespace style (no prefixes), as Entra ID writes it. */
const defaultNamespaces = (): string => {
  const now = new Date();
  const later = new Date(now.getTime() + 300_000).toISOString();
  const id = `_a${Math.random().toString(36).slice(2)}`;
  const xml =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r${id}" Version="2.0" IssueInstant="${now.toISOString()}" Destination="${sp.acsUrl}">` +
    `<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${sp.idpEntityId}</Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" IssueInstant="${now.toISOString()}" Version="2.0"><Issuer>${sp.idpEntityId}</Issuer>` +
    `<Subject><NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">ann@corp.example</NameID>` +
    `<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><SubjectConfirmationData NotOnOrAfter="${later}" Recipient="${sp.acsUrl}"/></SubjectConfirmation></Subject>` +
    `<Conditions NotBefore="${now.toISOString()}" NotOnOrAfter="${later}"><AudienceRestriction><Audience>${sp.audience}</Audience></AudienceRestriction></Conditions>` +
    `<AuthnStatement AuthnInstant="${now.toISOString()}"><AuthnContext><AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef></AuthnContext></AuthnStatement>` +
    `</Assertion></samlp:Response>`;
  return signWithXmlCrypto(xml, id, idp);
};

const responseOnlySigned = (): string => {
  const parts = buildResponse(sp, { nameId: 'ann@corp.example' });
  return signWithXmlCrypto(parts.xml, parts.responseId, idp);
};

/** A fresh triage per call: the sightings of one test do not reach another. */
const vouchedFor = (samlResponse: string, certificates: string[]) => new Triage().vouchedFor(samlResponse, certificates);

const wrapped = (base64: string): string => base64.replace(/.{76}/g, '$&\r\n');

describe('vouched for: genuine responses of every accepted shape (and each verifies in full)', () => {
  const cases: [string, () => string][] = [
    ['exclusive C14N', () => b64(signed())],
    ['inclusive C14N (namespaces declared on the Response)', () => b64(signed({ c14n: 'inclusive' }))],
    ['the Response signed too (its own Signature comes first)', () => b64(signed({ signResponse: true }))],
    ['default namespaces, no prefixes', () => b64(defaultNamespaces())],
    ['an XML declaration, a comment and a byte-order mark before the root', () => b64(`\ufeff<?xml version="1.0" encoding="UTF-8"?><!-- idp -->${signed()}`)],
    ['base64 wrapped at 76 characters', () => wrapped(b64(signed()))],
    ['attribute values holding > and quotes', () => b64(signed().replace('<samlp:Response ', '<samlp:Response Consent="urn:a?x=&quot;>&quot;" '))],
  ];
  test.each(cases)('%s', async (_label, make) => {
    const samlResponse = make();
    expect(vouchedFor(samlResponse, [idp.cert])).toBe(true);
    expect(vouchedFor(samlResponse, [other.cert, idp.cert])).toBe(true);
    await expect(verify(samlResponse)).resolves.toMatchObject({ email: 'ann@corp.example' });
  });
});

describe('not vouched for (verified in full, in turn)', () => {
  const junkSignature =
    `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${C14N}"/>` +
    `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_j"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>` +
    `<ds:DigestValue>${Buffer.alloc(32).toString('base64')}</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>${Buffer.alloc(256, 90).toString('base64')}</ds:SignatureValue></ds:Signature>`;
  const junk = (before = '', after = '') =>
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0">${before}` +
    `<saml:Assertion ID="_j" Version="2.0"><saml:Issuer>x</saml:Issuer>${junkSignature}${after}</saml:Assertion></samlp:Response>`;
  const cases: [string, string][] = [
    ['a made-up signature value', b64(junk())],
    ['signed by another key', b64(signed({ keys: other }))],
    ['signed by another key, inclusive C14N', b64(signed({ keys: other, c14n: 'inclusive' }))],
    ['only the Response signed (the assertion is not)', b64(responseOnlySigned())],
    ['the SignedInfo after more than 200 tags', b64(signed().replace('</samlp:Status>', `<samlp:StatusDetail>${'<x/>'.repeat(250)}</samlp:StatusDetail></samlp:Status>`))],
    ['the SignedInfo beyond the first 64 KiB', b64(signed().replace('</samlp:Status>', `<samlp:StatusMessage>${'m'.repeat(70_000)}</samlp:StatusMessage></samlp:Status>`))],
    ['a DOCTYPE', b64(`<!DOCTYPE samlp:Response>${signed()}`)],
    ['an unbalanced end tag', b64(signed().replace('</samlp:Status>', '</samlp:Status></samlp:Other>'))],
    ['a SignedInfo nested deeper than Response > Assertion > Signature', b64(junk('', `<saml:Advice>${junkSignature}</saml:Advice>`))],
    ['an encrypted assertion', b64(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:EncryptedAssertion><x/></saml:EncryptedAssertion></samlp:Response>`)],
    ['not base64', '!!!! not base64 at all <<<>>>'],
    ['empty', ''],
    ['an unterminated tag', b64('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="')],
    ['an unterminated comment', b64('<!-- <samlp:Response>')],
  ];
  test.each(cases)('%s', (_label, samlResponse) => {
    expect(vouchedFor(samlResponse, [idp.cert])).toBe(false);
  });

  test('the signed SignedInfo moved under the wrong ancestors (Response > Signature) is not vouched for', () => {
    const xml = signed();
    const signature = /<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(xml)![0];
    const moved = xml.replace(signature, '').replace('</samlp:Status>', `</samlp:Status>${signature}`);
    expect(vouchedFor(b64(moved), [idp.cert])).toBe(false);
  });
});

describe('the triage decides the order, not the verdict', () => {
  test('content changed under an intact SignedInfo: vouched for, and refused by the verification', async () => {
    const tampered = signed().replace('ann@corp.example', 'mallory@corp.example');
    expect(vouchedFor(b64(tampered), [idp.cert])).toBe(true);
    await expect(verify(b64(tampered))).rejects.toMatchObject({ code: 'SAML_REJECTED', details: { step: 'verifySignature' } });
  });

  test('the small document holds the SignedInfo and SignatureValue inside their ancestors’ start tags, nothing of the rest', () => {
    const xml = signed({ signResponse: true });
    const small = signedInfoDocument(xml)!;
    expect(small).toMatch(/^<samlp:Response [^>]*><saml:Assertion [^>]*><ds:Signature [^>]*><ds:SignedInfo>/);
    expect(small).toMatch(/<\/ds:SignatureValue><\/ds:Signature><\/saml:Assertion><\/samlp:Response>$/);
    expect(small).not.toContain('ann@corp.example');
    expect(small).not.toContain('X509Certificate');
    expect(small.length).toBeLessThan(2_000);
  });
});

describe('bounded for junk', () => {
  const nsFlood = (n: number) => Array.from({ length: n }, (_, i) => `xmlns:n${i}="urn:n${i}"`).join(' ');

  test('a namespace flood on the Response (inclusive C14N renders every one): not parsed beyond 8 KiB, refused by the signature check below it', async () => {
    const genuine = signed({ c14n: 'inclusive' });
    const flooded = genuine.replace('<samlp:Response ', `<samlp:Response ${nsFlood(3_000)} `);
    expect(signedInfoDocument(flooded)!.length).toBeGreaterThan(8 * 1024);
    const c0 = process.cpuUsage();
    expect(vouchedFor(b64(flooded), [idp.cert])).toBe(false);
    const cpuMs = (process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1000;
    expect(cpuMs).toBeLessThan(1_000); // a sanity bound only: the unbounded version took 90–200 ms

    // Under 8 KiB but more than 64 declarations in scope: the signature check refuses before canonicalizing.
    // (Exclusive C14N: the added declarations do not change what was signed, only the count refuses.)
    const exclusive = signed();
    const some = exclusive.replace('<samlp:Response ', `<samlp:Response ${nsFlood(100)} `);
    expect(signedInfoDocument(some)!.length).toBeLessThan(8 * 1024);
    expect(vouchedFor(b64(some), [idp.cert])).toBe(false);
    // The full verification refuses it too (it still verifies the same bytes: the declarations are on the Response, outside the signed assertion).
    await expect(verify(b64(some))).rejects.toMatchObject({ code: 'SAML_REJECTED', details: { step: 'verifySignature' } });
    // 50 more declarations stay within the bound: vouched for, and verified.
    const fine = exclusive.replace('<samlp:Response ', `<samlp:Response ${nsFlood(50)} `);
    expect(vouchedFor(b64(fine), [idp.cert])).toBe(true);
    await expect(verify(b64(fine))).resolves.toMatchObject({ email: 'ann@corp.example' });
  });

  test('a SignedInfo whose Reference does not name the scanned assertion is not vouched for', () => {
    const xml = signed();
    const id = /<saml:Assertion [^>]*ID="([^"]+)"/.exec(xml)![1]!;
    expect(vouchedFor(b64(xml.replace(`<saml:Assertion ID="${id}"`, '<saml:Assertion ID="_other"').replace(/(<saml:Assertion [^>]*)ID="[^"]+"/, '$1ID="_other"')), [idp.cert])).toBe(false);
  });

  test('each SignatureValue is vouched for once within SIGHTING_TTL_MS: a copied SignedInfo takes the fast path at most once', () => {
    const triage = new Triage();
    const response = b64(signed());
    const t = 1_000_000;
    expect(triage.vouchedFor(response, [idp.cert], t)).toBe(true);
    expect(triage.vouchedFor(response, [idp.cert], t + 1)).toBe(false);
    // Copied into junk made to look like it: the same SignatureValue, refused the fast path.
    const copied = b64(Buffer.from(response, 'base64').toString().replace('ann@corp.example', 'mallory@corp.example'));
    expect(triage.vouchedFor(copied, [idp.cert], t + 2)).toBe(false);
    // Another genuine response is vouched for; the first one again after the TTL.
    expect(triage.vouchedFor(b64(signed()), [idp.cert], t + 3)).toBe(true);
    expect(triage.vouchedFor(response, [idp.cert], t + SIGHTING_TTL_MS + 1)).toBe(true);
    // Another spelling of the same value (the unused bits of the last base64 character) is the same sighting.
    const xml = signed();
    const value = /<ds:SignatureValue>([^<]+)<\/ds:SignatureValue>/.exec(xml)![1]!.replace(/\s+/g, '');
    const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
    const last = value.length - padding - 1;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const respelled = value.slice(0, last) + alphabet[alphabet.indexOf(value[last]!) ^ 1] + value.slice(last + 1);
    expect(padding).toBeGreaterThan(0); // RSA-2048: 256 bytes, the last character has unused bits
    expect(Buffer.from(respelled, 'base64').equals(Buffer.from(value, 'base64'))).toBe(true);
    expect(triage.vouchedFor(b64(xml), [idp.cert], t + 5)).toBe(true);
    expect(triage.vouchedFor(b64(xml.replace(/<ds:SignatureValue>[^<]+</, `<ds:SignatureValue>${respelled}<`)), [idp.cert], t + 6)).toBe(false);
    // Junk is never remembered: it does not push genuine sightings out.
    expect(triage.vouchedFor(b64(signed({ keys: other })), [idp.cert], t + 4)).toBe(false);
  });
});
