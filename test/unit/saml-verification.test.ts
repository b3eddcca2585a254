/**
 * Each SAML verification step on its own (src/transports/saml/verification.ts), on
 * documents built and signed in the test with xml-crypto directly. No database.
 */
import { validate as referenceValidate } from '@authenio/samlify-xmllint-wasm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DomainError } from '../../src/domain/model/index.js';
import type { SamlConnectionConfig } from '../../src/domain/saml-sign-in/types.js';
import { SchemaValidator } from '../../src/transports/saml/schema-validator.js';
import {
  checkAudience,
  checkDestination,
  checkInResponseTo,
  checkIssuer,
  checkStructure,
  checkTimeWindow,
  decodeBase64,
  decryptAssertion,
  parseResponse,
  readAttributes,
  readEmail,
  readForm,
  rejectDtd,
  validateSchema,
  verifySamlResponse,
} from '../../src/transports/saml/verification.js';
import { signaturePathRuns, verifySignature } from '../../src/transports/saml/signature.js';
import { child, NS, parseXml } from '../../src/transports/saml/xml.js';
import { b64, buildResponse, C14N, ENVELOPED, nestedSignatureMethodResponse, RSA_SHA1, SHA1, type SpContext, signWithXmlCrypto, UNIT_SP, unitConnection } from '../kit/saml.js';
import { testKeyPair } from '../kit/saml-keys.js';

const sp: SpContext = UNIT_SP;
const idp = testKeyPair('idp');
const connection: SamlConnectionConfig = unitConnection([idp.cert]);

const failure = async (fn: () => unknown): Promise<DomainError> => {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('expected the step to refuse');
};

/** A parsed, signed response and its verified assertion. */
const signedDoc = (spec: Parameters<typeof buildResponse>[1] = {}) => {
  const parts = buildResponse(sp, { nameId: 'a@b.example', ...spec });
  const xml = signWithXmlCrypto(parts.xml, parts.assertionId, idp);
  const { doc, response } = parseResponse(xml);
  const { assertion } = checkStructure(doc, response);
  return { xml, doc, response, assertion: assertion!, parts };
};

let validator: SchemaValidator;
beforeAll(() => {
  validator = new SchemaValidator({ batchWindowMs: 2 });
});
afterAll(() => validator.close());

describe('1. readForm', () => {
  test('one SAMLResponse, optional RelayState (blank = none)', () => {
    expect(readForm({ SAMLResponse: 'abc', RelayState: ' org-1 ' })).toEqual({ samlResponse: 'abc', relayState: 'org-1' });
    expect(readForm({ SAMLResponse: 'abc', RelayState: '' })).toEqual({ samlResponse: 'abc', relayState: null });
  });
  test('refuses missing, repeated and oversized fields', async () => {
    expect((await failure(() => readForm({}))).code).toBe('INVALID_SAML');
    expect((await failure(() => readForm(null))).message).toContain('no SAMLResponse');
    expect((await failure(() => readForm({ SAMLResponse: ['a', 'b'] }))).message).toContain('exactly one');
    expect((await failure(() => readForm({ SAMLResponse: 'x'.repeat(256 * 1024 + 1) }))).message).toContain('256 KiB');
    expect((await failure(() => readForm({ SAMLResponse: 'a', RelayState: 'r'.repeat(1025) }))).code).toBe('INVALID_SAML');
  });
});

describe('2. decodeBase64', () => {
  test('strict base64 (line breaks allowed), UTF-8, BOM dropped', async () => {
    expect(decodeBase64(b64('<a>é</a>'))).toBe('<a>é</a>');
    expect(decodeBase64(b64('<a/>').replace(/(.{4})/g, '$1\r\n'))).toBe('<a/>');
    expect(decodeBase64(Buffer.from('\ufeff<a/>').toString('base64'))).toBe('<a/>');
    for (const bad of ['', 'abc', '<xml/>', 'ab$d', 'abcd=e==']) expect((await failure(() => decodeBase64(bad))).message).toContain('not base64');
    expect((await failure(() => decodeBase64(Buffer.from([0xff, 0xfe, 0xfd]).toString('base64')))).message).toContain('UTF-8');
  });
});

describe('3. rejectDtd', () => {
  test('DOCTYPE and ENTITY declarations, in any case', async () => {
    expect(() => rejectDtd('<a/>')).not.toThrow();
    for (const x of ['<!DOCTYPE a><a/>', '<!doctype a [<!ENTITY e "x">]><a>&e;</a>', '<a><!ENTITY e "x"></a>'])
      expect((await failure(() => rejectDtd(x))).code).toBe('INVALID_SAML');
  });
});

describe('4. parseResponse', () => {
  test('well-formed SAML Response only; parser warnings are fatal', async () => {
    expect(parseResponse(buildResponse(sp).xml).response.localName).toBe('Response');
    expect((await failure(() => parseResponse('<a>'))).message).toContain('not well-formed');
    expect((await failure(() => parseResponse('<a></b>'))).message).toContain('not well-formed');
    expect((await failure(() => parseResponse('<a x="1" x="2"/>'))).code).toBe('INVALID_SAML');
    expect((await failure(() => parseResponse('<Response/>'))).message).toContain('not a SAML 2.0 Response');
    expect((await failure(() => parseResponse('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:1.0:protocol"/>'))).message).toContain('not a SAML 2.0 Response');
    expect((await failure(() => parseResponse(buildResponse(sp).xml.replace('<saml:Issuer>', '<?evil x?><saml:Issuer>')))).message).toContain('processing instructions');
  });
  test('processing instructions: only the XML declaration, as the first child with the exact target `xml`', async () => {
    const xml = buildResponse(sp).xml;
    expect(parseResponse(`<?xml version="1.0" encoding="UTF-8"?>${xml}`).response.localName).toBe('Response');
    const refused = [
      xml.replace('<saml:Subject>', '<saml:Subject><?xml version="1.0"?>'), // target `xml` inside the assertion
      `<?XML version="1.0"?>${xml}`, // not the exact target
      `<?xml version="1.0"?><?xml version="1.0"?>${xml}`, // a second one
      `<?xml-stylesheet href="x"?>${xml}`,
      `${xml}<?xml x?>`, // after the root
    ];
    for (const x of refused) {
      const e = await failure(() => parseResponse(x));
      expect(e.code).toBe('INVALID_SAML');
      expect(e.message).toContain('processing instructions');
    }
  });
});

describe('5. validateSchema', () => {
  test('accepts a valid response, names the first schema error otherwise', async () => {
    await validateSchema(signedDoc().xml, validator);
    const e = await failure(() => validateSchema(buildResponse(sp).xml.replace(' Version="2.0"', ''), validator));
    expect(e.code).toBe('INVALID_SAML');
    expect(e.message).toContain("'Version' is required");
  });

  test('micro-batches: concurrent documents get their own verdicts, equal to @authenio/samlify-xmllint-wasm', async () => {
    const docs = [
      signedDoc().xml,
      buildResponse(sp).xml.replace(' Version="2.0"', ''),
      buildResponse(sp).xml.replace('<samlp:Status>', '<samlp:Status><bogus/>'),
      'not xml at all',
      signedDoc({ attributes: { OrgAndRole: ['SPOTINST-a-ADMIN', 'SPOTINST-b-VIEWER'] } }).xml,
    ];
    const runsBefore = validator.stats.runs;
    const ours = await Promise.all(docs.map((d) => validator.validate(d)));
    expect(validator.stats.runs - runsBefore).toBe(1);
    const reference = await Promise.all(docs.map((d) => referenceValidate(d).then(() => true, () => false)));
    expect(ours.map((r) => r.valid)).toEqual(reference);
    expect(ours.map((r) => r.valid)).toEqual([true, false, false, false, true]);
  }, 30_000);
});

describe('6. checkStructure', () => {
  test('exactly one assertion, a child of the Response; status Success', async () => {
    const base = buildResponse(sp);
    const two = base.xml.replace('</samlp:Response>', `${buildResponse(sp).assertion}</samlp:Response>`);
    const { doc, response } = parseResponse(two);
    expect((await failure(() => checkStructure(doc, response))).message).toContain('exactly one assertion');
    const none = parseResponse(base.xml.replace(base.assertion, ''));
    expect((await failure(() => checkStructure(none.doc, none.response))).message).toContain('carries 0');
    const nested = parseResponse(base.xml.replace(base.assertion, '').replace('</samlp:Status>', `</samlp:Status><samlp:Extensions>${base.assertion}</samlp:Extensions>`));
    expect((await failure(() => checkStructure(nested.doc, nested.response))).message).toContain('direct child');
    const failed = parseResponse(buildResponse(sp, { statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }).xml);
    const e = await failure(() => checkStructure(failed.doc, failed.response));
    expect(e.code).toBe('SAML_REJECTED');
    expect(e.message).toContain('status:Responder');
  });
});

describe('7. decryptAssertion', () => {
  test('refused without an SP key', async () => {
    const e = await failure(() => decryptAssertion('<x/>', connection));
    expect(e.code).toBe('SAML_REJECTED');
    expect(e.message).toContain('no decryption key');
  });
  test('garbage with a key → could not be decrypted', async () => {
    const sp2 = testKeyPair('sp-unit');
    const xml = '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:EncryptedAssertion><x/></saml:EncryptedAssertion></samlp:Response>';
    const e = await failure(() => decryptAssertion(xml, { ...connection, spDecryptionKey: sp2.key, spCertificate: sp2.cert }));
    expect(e.message).toContain('could not be decrypted');
  });
});

describe('8. verifySignature', () => {
  test('returns the assertion re-parsed from the signed bytes', () => {
    const d = signedDoc({ nameId: 'signed@b.example' });
    const verified = verifySignature(d.xml, d.assertion, [idp.cert]);
    expect(verified.ownerDocument).not.toBe(d.doc);
    expect(child(child(verified, NS.saml, 'Subject')!, NS.saml, 'NameID')!.textContent).toBe('signed@b.example');
  });
  test('either of two certificates; KeyInfo is ignored', async () => {
    const other = testKeyPair('other-unit');
    const d = signedDoc();
    expect(() => verifySignature(d.xml, d.assertion, [other.cert, idp.cert])).not.toThrow();
    const e = await failure(() => verifySignature(d.xml, d.assertion, [other.cert]));
    expect(e.code).toBe('SAML_REJECTED');
    expect(e.details.detail).toContain('certificate 1');
  });
  test('unsigned, two signatures, comments, no ID, foreign Reference, SHA-1', async () => {
    const unsigned = parseResponse(buildResponse(sp).xml);
    expect((await failure(() => verifySignature(buildResponse(sp).xml, checkStructure(unsigned.doc, unsigned.response).assertion!, [idp.cert]))).message).toContain('not signed');
    const d = signedDoc();
    const sig = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(d.xml)![0];
    const doubled = d.xml.replace(sig, sig + sig);
    const p2 = parseResponse(doubled);
    expect((await failure(() => verifySignature(doubled, checkStructure(p2.doc, p2.response).assertion!, [idp.cert]))).message).toContain('exactly one signature');
    const commented = d.xml.replace('a@b.example', 'a@b<!-- x -->.example');
    const p3 = parseResponse(commented);
    expect((await failure(() => verifySignature(commented, checkStructure(p3.doc, p3.response).assertion!, [idp.cert]))).message).toContain('comments');
    const foreign = d.xml.replace(`URI="#${d.parts.assertionId}"`, `URI="#${d.parts.responseId}"`);
    const p4 = parseResponse(foreign);
    expect((await failure(() => verifySignature(foreign, checkStructure(p4.doc, p4.response).assertion!, [idp.cert]))).message).toContain('does not cover');
    const parts = buildResponse(sp);
    const sha1 = signWithXmlCrypto(parts.xml, parts.assertionId, idp, { signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1' });
    const p5 = parseResponse(sha1);
    expect((await failure(() => verifySignature(sha1, checkStructure(p5.doc, p5.response).assertion!, [idp.cert]))).message).toContain('SHA-1');
  });
  test('a processing instruction in the assertion is refused like a comment (also without parseResponse)', async () => {
    const d = signedDoc();
    const xml = d.xml.replace('<saml:Subject>', '<saml:Subject><?xml x?>');
    const doc = parseXml(xml);
    const { assertion } = checkStructure(doc, doc.documentElement!);
    for (const path of ['auto', 'xml-crypto'] as const) {
      const e = await failure(() => verifySignature(xml, assertion!, [idp.cert], path));
      expect(e.code).toBe('SAML_REJECTED');
      expect(e.message).toContain('processing instructions');
    }
  });
  test('the full NameID text is read (no first-text-node truncation)', () => {
    const d = signedDoc({ nameIdXml: 'a@b.example<![CDATA[.evil.test]]>' });
    const verified = verifySignature(d.xml, d.assertion, [idp.cert]);
    expect(readEmail(verified, {})).toBe('a@b.example.evil.test');
  });
});

describe('8b. the fast path agrees with xml-crypto’s checkSignature', () => {
  type Path = 'fast' | 'xml-crypto' | 'none';
  /** The outcome, and which verification path ran (signaturePathRuns) — none when refused before. */
  const attempt = (xml: string, path: 'auto' | 'xml-crypto', certs = [idp.cert]) => {
    const before = { ...signaturePathRuns };
    const outcome = (() => {
      try {
        const { doc, response } = parseResponse(xml);
        const { assertion } = checkStructure(doc, response);
        return { ok: true as const, canonical: verifySignature(xml, assertion!, certs, path).toString() };
      } catch (e) {
        return { ok: false as const, code: (e as DomainError).code };
      }
    })();
    const fast = signaturePathRuns.fast - before.fast;
    const xmlCrypto = signaturePathRuns.xmlCrypto - before.xmlCrypto;
    expect(fast + xmlCrypto).toBeLessThanOrEqual(1);
    const ran: Path = fast ? 'fast' : xmlCrypto ? 'xml-crypto' : 'none';
    return { outcome, ran };
  };
  const other = testKeyPair('other-unit');
  const signed = (opts: Parameters<typeof signWithXmlCrypto>[3]) => {
    const parts = buildResponse(sp, { nameId: 'a@b.example' });
    return signWithXmlCrypto(parts.xml, parts.assertionId, idp, opts);
  };
  // [name, document, the path 'auto' takes, certificates]; names starting with "valid" must verify.
  const cases: [string, () => string, Path, string[]?][] = [
    ['valid', () => signedDoc({ attributes: { OrgAndRole: ['SPOTINST-a-ADMIN', 'x & <y> "z"'] } }).xml, 'fast'],
    ['valid, default-namespace assertion', () => {
      const parts = buildResponse(sp, { nameId: 'a@b.example' });
      const rewritten = parts.assertion.replace('xmlns:saml=', 'xmlns=').replace(/<(\/?)saml:/g, '<$1');
      return signWithXmlCrypto(parts.xml.replace(parts.assertion, rewritten), parts.assertionId, idp);
    }, 'fast'],
    ['valid, other prefix', () => {
      const parts = buildResponse(sp, { nameId: 'a@b.example' });
      const rewritten = parts.assertion.replace('xmlns:saml=', 'xmlns:as=').replace(/<(\/?)saml:/g, '<$1as:');
      return signWithXmlCrypto(parts.xml.replace(parts.assertion, rewritten), parts.assertionId, idp);
    }, 'fast'],
    ['valid, second certificate', () => signedDoc().xml, 'fast', [other.cert, idp.cert]],
    ['valid, RSA-SHA512', () => signed({ signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha512' }), 'fast'],
    ['valid, inclusive C14N (SignedInfo and transform)', () => signed({ canonicalizationAlgorithm: C14N, transforms: [ENVELOPED, C14N] }), 'xml-crypto'],
    ['wrong key', () => signedDoc().xml, 'fast', [other.cert]],
    ['tampered attribute', () => signedDoc({ attributes: { OrgAndRole: ['SPOTINST-a-VIEWER'] } }).xml.replace('-VIEWER<', '-ADMIN<'), 'fast'],
    ['tampered NameID', () => signedDoc({ nameId: 'a@b.example' }).xml.replace('a@b.example<', 'c@b.example<'), 'fast'],
    ['tampered SignedInfo', () => signedDoc().xml.replace(/(<ds:DigestValue>)([^<]{4})/, '$1AAAA'), 'fast'],
    ['tampered SignatureValue', () => signedDoc().xml.replace(/(<ds:SignatureValue>)([^<]{8})/, '$1AAAAAAAA'), 'fast'],
    ['whitespace added inside the assertion', () => signedDoc().xml.replace('<saml:Subject>', '<saml:Subject> '), 'fast'],
    ['inclusive C14N, tampered', () => signed({ canonicalizationAlgorithm: C14N, transforms: [ENVELOPED, C14N] }).replace('a@b.example<', 'c@b.example<'), 'xml-crypto'],
    ['SHA-1 signature (RSA-SHA1)', () => signed({ signatureAlgorithm: RSA_SHA1 }), 'none'],
    ['SHA-1 digest', () => signed({ digestAlgorithm: SHA1 }), 'none'],
    ['RSA-SHA1 through a SignatureMethod nested in CanonicalizationMethod', () => nestedSignatureMethodResponse(sp, idp, RSA_SHA1, 'sha1').signed, 'xml-crypto'],
    ['nested SignatureMethod naming RSA-SHA512, signed with it', () => nestedSignatureMethodResponse(sp, idp, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', 'sha512').signed, 'xml-crypto'],
  ];
  test.each(cases)('%s', (name, make, expectedPath, certs) => {
    const xml = make();
    const fast = attempt(xml, 'auto', certs);
    const reference = attempt(xml, 'xml-crypto', certs);
    expect(fast.outcome).toEqual(reference.outcome);
    expect(fast.ran).toBe(expectedPath);
    expect(reference.ran).toBe(expectedPath === 'none' ? 'none' : 'xml-crypto');
    if (name.startsWith('valid')) expect(fast.outcome.ok).toBe(true);
    else expect(fast.outcome).toEqual({ ok: false, code: 'SAML_REJECTED' });
  });
});

const verified = (spec: Parameters<typeof buildResponse>[1] = {}) => {
  const d = signedDoc(spec);
  return { ...d, verified: verifySignature(d.xml, d.assertion, [idp.cert]) };
};

describe('9. checkIssuer', () => {
  test('the IdP entity id, on the assertion and (when present) the Response', async () => {
    const v = verified();
    expect(() => checkIssuer(v.verified, v.response, sp.idpEntityId)).not.toThrow();
    expect((await failure(() => checkIssuer(v.verified, v.response, 'https://other-idp')).then((e) => e.message))).toContain('issued by');
  });
});

describe('10. checkDestination', () => {
  test('Destination and Recipient equal the ACS URL', async () => {
    const v = verified();
    expect(checkDestination(v.verified, v.response, sp.acsUrl).localName).toBe('SubjectConfirmationData');
    expect((await failure(() => checkDestination(v.verified, v.response, 'https://gw.test/other'))).message).toContain('addressed to');
    const r = verified({ recipient: 'https://evil/acs' });
    expect((await failure(() => checkDestination(r.verified, r.response, sp.acsUrl))).message).toContain('Recipient');
    const d = verified({ destination: null });
    expect((await failure(() => checkDestination(d.verified, d.response, sp.acsUrl))).message).toContain('no Destination');
  });
});

describe('11. checkAudience', () => {
  test('every AudienceRestriction names the SP entity id', async () => {
    const v = verified();
    expect(() => checkAudience(v.verified, sp.audience)).not.toThrow();
    const e = await failure(() => checkAudience(verified({ audience: 'https://x/metadata' }).verified, sp.audience));
    expect(e.code).toBe('SAML_REJECTED');
    expect(e.message).toContain('https://x/metadata');
  });
});

describe('12. checkTimeWindow', () => {
  const at = (s: number) => new Date(Date.parse('2030-01-01T00:00:00Z') + s * 1000);
  const window = (spec: { notBefore: number; notOnOrAfter: number; issued?: number }) => {
    const v = verified({ notBefore: at(spec.notBefore), notOnOrAfter: at(spec.notOnOrAfter), issueInstant: at(spec.issued ?? spec.notBefore) });
    return (now: number) => checkTimeWindow(v.verified, checkDestination(v.verified, v.response, sp.acsUrl), at(now));
  };
  test('inside the window; expiry for the replay record = NotOnOrAfter + 120 s', () => {
    expect(window({ notBefore: 0, notOnOrAfter: 300 })(10)).toEqual(at(420));
  });
  test('NotBefore up to 120 s in the future is tolerated, beyond is not', async () => {
    const check = window({ notBefore: 0, notOnOrAfter: 300 });
    expect(() => check(-120)).not.toThrow();
    expect((await failure(() => check(-121))).message).toContain('not valid yet');
  });
  test('NotOnOrAfter up to 120 s in the past is tolerated, then expired', async () => {
    const check = window({ notBefore: 0, notOnOrAfter: 300 });
    expect(() => check(419)).not.toThrow();
    expect((await failure(() => check(420))).message).toContain('expired');
  });
  test('an IssueInstant in the future is refused like NotBefore', async () => {
    expect((await failure(() => window({ notBefore: 0, notOnOrAfter: 900, issued: 500 })(100))).message).toContain('IssueInstant');
  });
});

describe('13. checkInResponseTo', () => {
  test('the signed value; a different one on the Response is refused; none = IdP-initiated', async () => {
    const v = verified({ inResponseTo: '_req1' });
    const scd = checkDestination(v.verified, v.response, sp.acsUrl);
    expect(checkInResponseTo(v.response, scd)).toBe('_req1');
    v.response.setAttribute('InResponseTo', '_other');
    expect((await failure(() => checkInResponseTo(v.response, scd))).code).toBe('SAML_REJECTED');
    const idpInitiated = verified();
    expect(checkInResponseTo(idpInitiated.response, checkDestination(idpInitiated.verified, idpInitiated.response, sp.acsUrl))).toBeNull();
  });
});

describe('14. extract', () => {
  test('attributes: multi-valued, several elements of one name merged, values exact', () => {
    const v = verified({ attributes: { OrgAndRole: ['SPOTINST-a-ADMIN', 'x & <y>'], email: ['e@x.example'] } });
    expect(readAttributes(v.verified)).toEqual({ OrgAndRole: ['SPOTINST-a-ADMIN', 'x & <y>'], email: ['e@x.example'] });
  });
  test('email: NameID in emailAddress format, else the email attribute, else an unspecified NameID that is an email', () => {
    expect(readEmail(verified({ nameId: 'n@x.example' }).verified, { email: ['e@x.example'] })).toBe('n@x.example');
    expect(readEmail(verified({ nameId: 'opaque', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' }).verified, { email: ['e@x.example'] })).toBe('e@x.example');
    expect(readEmail(verified({ nameId: 'u@x.example', nameIdFormat: null }).verified, {})).toBe('u@x.example');
    expect(readEmail(verified({ nameId: 'u@x.example', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient' }).verified, {})).toBeNull();
    expect(readEmail(verified({ nameId: null }).verified, {})).toBeNull();
  });
});

describe('the pipeline', () => {
  test('a valid response becomes a plain VerifiedSamlAssertion', async () => {
    const d = signedDoc({ nameId: 'p@x.example', inResponseTo: '_r1', attributes: { OrgAndRole: ['SPOTINST-o-ADMIN'] } });
    const v = await verifySamlResponse({ SAMLResponse: b64(d.xml), RelayState: 'o' }, { connection, acsUrl: sp.acsUrl, audience: sp.audience, now: new Date() }, validator);
    expect(v).toMatchObject({
      connectionId: 'scn_1',
      email: 'p@x.example',
      attributes: { OrgAndRole: ['SPOTINST-o-ADMIN'] },
      assertionId: d.parts.assertionId,
      inResponseTo: '_r1',
      relayState: 'o',
    });
    expect(v.expiresAt.getTime()).toBeGreaterThan(Date.now() + 5 * 60_000);
  });
});
