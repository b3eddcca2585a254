/**
 * SAML test kit: response XML assembled here, then signed either by an in-test samlify
 * IdentityProvider (the IdP code path) or by xml-crypto's SignedXml directly (a second,
 * independent signing path, for the attack corpus). The gateway verifies with neither of
 * those code paths' verification helpers: it runs its own steps (src/transports/saml).
 */
import { sign } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import * as samlify from 'samlify';
import { SignedXml } from 'xml-crypto';
import type { SamlConnectionConfig } from '../../src/domain/saml-sign-in/types.js';
import type { TestKeyPair } from './saml-keys.js';

export const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
export const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

let counter = 0;
export const samlId = (prefix = '_id'): string => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 10)}`;

export interface AssertionSpec {
  /** NameID text; null = no NameID. Raw XML is allowed through `nameIdXml`. */
  nameId?: string | null;
  nameIdFormat?: string | null;
  /** Overrides the whole NameID element content (e.g. comment injection). */
  nameIdXml?: string;
  attributes?: Record<string, string[]>;
  inResponseTo?: string | null;
  audience?: string;
  recipient?: string;
  destination?: string | null;
  issuer?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
  issueInstant?: Date;
  assertionId?: string;
  responseId?: string;
  statusCode?: string;
}

export interface ResponseParts {
  /** The unsigned Response XML. */
  xml: string;
  assertion: string;
  assertionId: string;
  responseId: string;
}

export interface SpContext {
  idpEntityId: string;
  acsUrl: string;
  audience: string;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export const attributeStatement = (attributes: Record<string, string[]>): string => {
  const names = Object.keys(attributes);
  if (names.length === 0) return '';
  return `<saml:AttributeStatement>${names
    .map(
      (n) =>
        `<saml:Attribute Name="${esc(n)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${attributes[n]!
          .map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`)
          .join('')}</saml:Attribute>`,
    )
    .join('')}</saml:AttributeStatement>`;
};

/** An unsigned SAML 2.0 Response with one assertion, valid for `sp` unless the spec says otherwise. */
export const buildResponse = (sp: SpContext, spec: AssertionSpec = {}): ResponseParts => {
  const now = spec.issueInstant ?? new Date();
  const notBefore = spec.notBefore ?? new Date(now.getTime() - 5_000);
  const notOnOrAfter = spec.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
  const assertionId = spec.assertionId ?? samlId('_a');
  const responseId = spec.responseId ?? samlId('_r');
  const issuer = esc(spec.issuer ?? sp.idpEntityId);
  const irt = spec.inResponseTo ? ` InResponseTo="${esc(spec.inResponseTo)}"` : '';
  const format = spec.nameIdFormat === undefined ? EMAIL_FORMAT : spec.nameIdFormat;
  const nameId =
    spec.nameIdXml !== undefined
      ? `<saml:NameID${format ? ` Format="${format}"` : ''}>${spec.nameIdXml}</saml:NameID>`
      : spec.nameId === null
        ? ''
        : `<saml:NameID${format ? ` Format="${format}"` : ''}>${esc(spec.nameId ?? 'user@example.com')}</saml:NameID>`;
  const assertion =
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${assertionId}" Version="2.0" IssueInstant="${iso(now)}">` +
    `<saml:Issuer>${issuer}</saml:Issuer>` +
    `<saml:Subject>${nameId}<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${iso(notOnOrAfter)}" Recipient="${esc(spec.recipient ?? sp.acsUrl)}"${irt}/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${iso(notBefore)}" NotOnOrAfter="${iso(notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${esc(spec.audience ?? sp.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${samlId('_s')}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    attributeStatement(spec.attributes ?? {}) +
    `</saml:Assertion>`;
  const destination = spec.destination === null ? '' : ` Destination="${esc(spec.destination ?? sp.acsUrl)}"`;
  const xml =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${responseId}" Version="2.0" IssueInstant="${iso(now)}"${destination}${irt}>` +
    `<saml:Issuer>${issuer}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${spec.statusCode ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status>` +
    assertion +
    `</samlp:Response>`;
  return { xml, assertion, assertionId, responseId };
};

export interface XmlCryptoSignOptions {
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
  /** Put the certificate in KeyInfo (the gateway must ignore it). Default true. */
  keyInfo?: boolean;
  /** SignedInfo's CanonicalizationMethod (default exclusive C14N). */
  canonicalizationAlgorithm?: string;
  /** The Reference's transforms (default enveloped-signature, exclusive C14N). */
  transforms?: string[];
}

/** Signs the element with this ID (enveloped, exc-c14n), placing the signature after its Issuer: xml-crypto directly. */
export const signWithXmlCrypto = (xml: string, id: string, keys: TestKeyPair, opts: XmlCryptoSignOptions = {}): string => {
  const sig = new SignedXml({
    privateKey: keys.key,
    publicCert: keys.cert,
    signatureAlgorithm: opts.signatureAlgorithm ?? RSA_SHA256,
    canonicalizationAlgorithm: opts.canonicalizationAlgorithm ?? EXC_C14N,
  });
  const target = `//*[@ID='${id}']`;
  sig.addReference({ xpath: target, transforms: opts.transforms ?? [ENVELOPED, EXC_C14N], digestAlgorithm: opts.digestAlgorithm ?? SHA256 });
  if (opts.keyInfo === false) sig.getKeyInfoContent = () => null;
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
};

/** Re-signs a (modified) signature's SignedInfo with `hash` (node:crypto), over exactly the bytes xml-crypto verifies. */
export const resignSignedInfo = (xml: string, keys: TestKeyPair, hash: string): string => {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const sigNode = doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0]!;
  const probe = new SignedXml({ publicCert: keys.cert });
  probe.loadSignature(sigNode as unknown as Node);
  const canon = (probe as unknown as { getCanonSignedInfoXml(d: unknown): string }).getCanonSignedInfoXml(doc);
  const value = sign(hash, Buffer.from(canon), keys.key).toString('base64');
  return xml.replace(/<ds:SignatureValue>[^<]*<\/ds:SignatureValue>/, `<ds:SignatureValue>${value}</ds:SignatureValue>`);
};

/**
 * A response signed with RSA-SHA256 declared in SignedInfo/SignatureMethod, plus a
 * ds:SignatureMethod `nested` inside ds:CanonicalizationMethod (schema-valid), actually signed with `hash`.
 */
export const nestedSignatureMethodResponse = (sp: SpContext, keys: TestKeyPair, nested: string, hash: string): ResponseParts & { signed: string } => {
  const parts = buildResponse(sp, { nameId: 'a@b.example' });
  const signed = signWithXmlCrypto(parts.xml, parts.assertionId, keys).replace(
    /<ds:CanonicalizationMethod Algorithm="([^"]+)"\/>/,
    `<ds:CanonicalizationMethod Algorithm="$1"><ds:SignatureMethod Algorithm="${nested}"/></ds:CanonicalizationMethod>`,
  );
  return { ...parts, signed: resignSignedInfo(signed, keys, hash) };
};

/**
 * A junk response by hand: an assertion with `junk` attribute values and a Signature whose
 * SignedInfo names `c14n`, a plausible digest and a random signature value.
 */
export const junkSamlResponse = (sp: SpContext, junk: number, c14n: string, opts: { wellFormed?: boolean; filler?: string } = {}): string => {
  const now = new Date().toISOString();
  const values = (opts.filler ?? '<saml:AttributeValue>x</saml:AttributeValue>').repeat(junk);
  const sigValue = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 37) % 256)).toString('base64');
  const signature =
    `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="${c14n}"/>` +
    `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_junk"><ds:Transforms>` +
    `<ds:Transform Algorithm="${ENVELOPED}"/><ds:Transform Algorithm="${c14n}"/></ds:Transforms>` +
    `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>${Buffer.alloc(32, 7).toString('base64')}</ds:DigestValue></ds:Reference></ds:SignedInfo>` +
    `<ds:SignatureValue>${sigValue}</ds:SignatureValue></ds:Signature>`;
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0" IssueInstant="${now}" Destination="${sp.acsUrl}">` +
    `<saml:Issuer>${sp.idpEntityId}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion ID="_junk" Version="2.0" IssueInstant="${now}"><saml:Issuer>${sp.idpEntityId}</saml:Issuer>${signature}` +
    `<saml:Subject><saml:NameID>a@b.example</saml:NameID></saml:Subject>` +
    `<saml:AttributeStatement><saml:Attribute Name="junk">${values}</saml:Attribute></saml:AttributeStatement></saml:Assertion>` +
    (opts.wellFormed === false ? '<unclosed>' : '') +
    `</samlp:Response>`
  );
};

/** The SP of the verification unit tests (no gateway: the steps are called directly). */
export const UNIT_SP: SpContext = { idpEntityId: 'https://idp.test/meta', acsUrl: 'https://gw.test/saml/scn_1/acs', audience: 'https://gw.test/saml/scn_1/metadata' };

/** A connection of UNIT_SP's IdP with these signing certificates (and SP decryption key). */
export const unitConnection = (certificates: readonly string[], spDecryptionKey: string | null = null): SamlConnectionConfig => ({
  id: 'scn_1',
  name: 'test',
  ownerOrganizationId: 'o',
  idpEntityId: UNIT_SP.idpEntityId,
  ssoUrl: 'https://idp.test/sso',
  signingCertificates: [...certificates],
  attributePrefix: 'SPOTINST',
  defaultOrganizationId: null,
  allowIdpInitiated: true,
  spDecryptionKey,
  spCertificate: null,
});

export const b64 = (xml: string): string => Buffer.from(xml, 'utf8').toString('base64');

/**
 * The in-test IdP: a samlify IdentityProvider signing (and optionally encrypting) the
 * response for the SP described by our own SP metadata (GET /saml/:id/metadata).
 */
export const samlifyResponse = async (
  idp: { entityId: string; keys: TestKeyPair; encrypt?: boolean; signMessage?: boolean },
  spMetadataXml: string,
  parts: ResponseParts,
): Promise<string> => {
  const identityProvider = samlify.IdentityProvider({
    entityID: idp.entityId,
    privateKey: idp.keys.key,
    signingCert: idp.keys.cert,
    isAssertionEncrypted: idp.encrypt ?? false,
    nameIDFormat: [EMAIL_FORMAT],
    singleSignOnService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: 'https://idp.example.test/sso' }],
    singleLogoutService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: 'https://idp.example.test/slo' }],
  });
  const serviceProvider = samlify.ServiceProvider({ metadata: spMetadataXml, wantMessageSigned: idp.signMessage ?? false });
  const { context } = await identityProvider.createLoginResponse(serviceProvider, { extract: { request: { id: 'unused' } } }, 'post', { email: 'unused' }, {
    customTagReplacement: () => ({ id: parts.responseId, context: parts.xml }),
  });
  return context;
};
