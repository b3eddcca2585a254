/**
 * Verifying a SAML Response (SPEC §2 "Verification"), as small numbered steps that
 * each throw a DomainError — INVALID_SAML (400) for input that is not a well-formed
 * SAML 2.0 response, SAML_REJECTED (401) for one that is but must not be trusted — with
 * a message for the user and `details.detail` for the admins' failure list.
 *
 *  1. readForm            one SAMLResponse field (the body limit, 256 KiB, is the route's)
 *  2. decodeBase64        strict base64, UTF-8
 *  3. rejectDtd           at most 5,000 elements (counted on the raw text, before any parse);
 *                         no DOCTYPE, no ENTITY declarations
 *  4. parseResponse       well-formed XML (every parser warning fatal); root samlp:Response
 *  6. checkStructure      status Success; exactly one (Encrypted)Assertion in the whole
 *                         document, a child of the Response
 *  7. decryptAssertion    EncryptedAssertion only with the connection's SP key; the decrypted
 *                         text goes through step 3, the document through steps 4 and 6 again
 *  8a. checkSignedInfo    the SignedInfo of step 8, before anything else reads the document
 *  5. validateSchema      SAML 2.0 protocol XSD (xmllint-wasm), the response and the
 *                         decrypted one
 *  8. verifySignature     the assertion's own enveloped signature, by one of the connection's
 *                         certificates (KeyInfo is ignored): the small SignedInfo is checked
 *                         against the keys first, and only content it vouches for is digested,
 *                         whatever algorithms it names; one Reference to the assertion's
 *                         unique ID, no SHA-1, no comments, RSA keys only (xml-crypto's
 *                         tables cut to the allow-list); everything after this step reads
 *                         only the signed bytes (xml-crypto's canonical signed reference)
 *  9. checkIssuer         the IdP entity id
 * 10. checkDestination    Response@Destination and the bearer SubjectConfirmationData@Recipient
 *                         equal the ACS URL
 * 11. checkAudience       every AudienceRestriction names {PUBLIC_URL}/saml/{id}/metadata
 * 12. checkTimeWindow     NotBefore / NotOnOrAfter / SessionNotOnOrAfter within ±120 s
 * 13. checkInResponseTo   the Response's InResponseTo, when present, equals the signed one
 * 14. extract             email, attributes, assertion id, expiry → VerifiedSamlAssertion
 *
 * InResponseTo single use, IdP-initiated permission and assertion-id replay are checked by
 * the domain use case, inside the sign-in transaction (rows on unique keys, so they hold
 * across gateway instances).
 */
import { SamlLib } from 'samlify';
import { truncate } from '../../domain/model/index.js';
import type { SamlConnectionConfig, VerifiedSamlAssertion } from '../../domain/saml-sign-in/types.js';
import { MAX_BODY_BYTES } from '../shared/body-limits.js';
import { invalid, rejected, type VerificationStep } from './refusals.js';
import type { SchemaValidator } from './schema-validator.js';
import { checkSignedInfo, verifySignature } from './signature.js';
import {
  attr,
  child,
  children,
  descendants,
  DOCUMENT_TYPE_NODE,
  is,
  NS,
  nodesOfType,
  parseXml,
  PROCESSING_INSTRUCTION_NODE,
  text,
  XmlParseError,
} from './xml.js';

export const MAX_CLOCK_SKEW_SECONDS = 120;
export const MAX_RELAY_STATE_LENGTH = 1024;

export interface VerificationContext {
  connection: SamlConnectionConfig;
  /** `{PUBLIC_URL}/saml/{id}/acs` */
  acsUrl: string;
  /** The SP entity id: `{PUBLIC_URL}/saml/{id}/metadata` */
  audience: string;
  now: Date;
  /** Allowed clock skew, at most 120 s. */
  skewSeconds?: number;
}

// ---------------------------------------------------------------- 1. readForm

/** The SAMLResponse and RelayState form fields: exactly one response, an optional RelayState. */
export const readForm = (body: unknown): { samlResponse: string; relayState: string | null } => {
  const fields = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const one = (name: string): string | null => {
    const v = fields[name];
    if (v === undefined || v === null) return null;
    if (Array.isArray(v)) {
      if (v.length !== 1) throw invalid('readForm', `Send exactly one ${name} field (got ${v.length}).`);
      return typeof v[0] === 'string' ? v[0] : null;
    }
    return typeof v === 'string' ? v : null;
  };
  const samlResponse = one('SAMLResponse');
  if (samlResponse === null || samlResponse.trim() === '')
    throw invalid('readForm', 'The request has no SAMLResponse: POST the identity provider\'s response as application/x-www-form-urlencoded (SAMLResponse=…&RelayState=…).');
  if (samlResponse.length > MAX_BODY_BYTES) throw invalid('readForm', `The SAMLResponse is larger than ${MAX_BODY_BYTES / 1024} KiB.`);
  const relayState = one('RelayState');
  if (relayState !== null && relayState.length > MAX_RELAY_STATE_LENGTH)
    throw invalid('readForm', `The RelayState is longer than ${MAX_RELAY_STATE_LENGTH} characters; it should be an organization id.`);
  return { samlResponse, relayState: relayState === null || relayState.trim() === '' ? null : relayState.trim() };
};

// ---------------------------------------------------------------- 2. decodeBase64

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export const decodeBase64 = (value: string): string => {
  const compact = value.replace(/[\r\n\t ]+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact))
    throw invalid('decodeBase64', 'The SAMLResponse is not base64: send the identity provider\'s response exactly as it produced it (HTTP-POST binding).');
  let xml: string;
  try {
    xml = utf8.decode(Buffer.from(compact, 'base64'));
  } catch {
    throw invalid('decodeBase64', 'The decoded SAMLResponse is not UTF-8 text; it must be an XML document.');
  }
  return xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
};

// ---------------------------------------------------------------- 3. rejectDtd

/** SPEC §8: more elements than any real response has, refused before any work that grows with size. */
export const MAX_ELEMENTS = 5_000;

/** Start tags in the raw text (`<` followed by a name): comments, PIs, CDATA and end tags are not elements. */
export const countElements = (xml: string, stopAfter = MAX_ELEMENTS): number => {
  let count = 0;
  for (let i = xml.indexOf('<'); i !== -1 && count <= stopAfter; i = xml.indexOf('<', i + 1)) {
    const c = xml.charCodeAt(i + 1);
    // Not '/', '!', '?': an element's start tag (a name start character).
    if (c !== 47 && c !== 33 && c !== 63 && !Number.isNaN(c)) count += 1;
  }
  return count;
};

export const rejectDtd = (xml: string): void => {
  if (countElements(xml) > MAX_ELEMENTS)
    throw invalid('rejectDtd', `The SAML response has more than ${MAX_ELEMENTS} elements; identity providers send a few dozen. It is refused unread.`);
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml))
    throw invalid('rejectDtd', 'The SAML response contains a DTD (<!DOCTYPE> or <!ENTITY>); SAML messages must not, and this one is refused.');
};

// ---------------------------------------------------------------- 4. parseResponse

export const parseResponse = (xml: string): { doc: Document; response: Element } => {
  let doc: Document;
  try {
    doc = parseXml(xml);
  } catch (error) {
    const why = error instanceof XmlParseError ? error.message : String(error);
    throw invalid('parseResponse', 'The SAMLResponse is not well-formed XML.', why);
  }
  if (nodesOfType(doc, DOCUMENT_TYPE_NODE).length > 0) throw invalid('rejectDtd', 'The SAML response contains a DTD; SAML messages must not.');
  // Only the XML declaration, which xmldom reports as a processing instruction: the document's
  // first child with the exact target `xml`. Any other one, anywhere, is refused.
  for (const pi of nodesOfType(doc, PROCESSING_INSTRUCTION_NODE))
    if (pi !== doc.firstChild || (pi as ProcessingInstruction).target !== 'xml')
      throw invalid('parseResponse', 'The SAML response contains XML processing instructions; SAML messages must not.');
  const root: Element = doc.documentElement!;
  if (!is(root, NS.samlp, 'Response')) {
    const name: string = root.localName ?? root.nodeName;
    throw invalid('parseResponse', `This is not a SAML 2.0 Response (the root element is ${name} in ${root.namespaceURI ?? 'no namespace'}).`);
  }
  return { doc, response: root };
};

// ---------------------------------------------------------------- 5. validateSchema

export const validateSchema = async (xml: string, validator: SchemaValidator): Promise<void> => {
  const r = await validator.validate(xml);
  if (!r.valid)
    throw invalid('validateSchema', `The SAML response does not conform to the SAML 2.0 schema: ${truncate(r.errors[0] ?? 'invalid', 300)}`, r.errors.join('\n'));
};

// ---------------------------------------------------------------- 6. checkStructure

const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

export const checkStructure = (doc: Document, response: Element): { assertion: Element | null; encrypted: Element | null } => {
  if (attr(response, 'Version') !== '2.0') throw invalid('checkStructure', 'The SAML response is not version 2.0.');
  const status = child(response, NS.samlp, 'Status');
  const code = status ? child(status, NS.samlp, 'StatusCode') : null;
  const top = code ? attr(code, 'Value') : null;
  if (top !== SUCCESS) {
    const second = code ? child(code, NS.samlp, 'StatusCode') : null;
    const message = status ? child(status, NS.samlp, 'StatusMessage') : null;
    const what = [top ?? 'no status', second ? attr(second, 'Value') : null, message ? text(message).trim() : null].filter(Boolean).join(' / ');
    throw rejected('checkStructure', `The identity provider did not sign you in: ${truncate(what, 300)}.`);
  }
  const assertions = descendants(doc, NS.saml, 'Assertion');
  const encrypted = descendants(doc, NS.saml, 'EncryptedAssertion');
  const total = assertions.length + encrypted.length;
  if (total !== 1)
    throw rejected('checkStructure', `A SAML response must carry exactly one assertion; this one carries ${total}.`, `${assertions.length} Assertion, ${encrypted.length} EncryptedAssertion`);
  const only = assertions[0] ?? encrypted[0]!;
  if (only.parentNode !== response) throw rejected('checkStructure', 'The assertion must be a direct child of the Response.', 'assertion nested elsewhere (signature wrapping?)');
  return { assertion: assertions[0] ?? null, encrypted: encrypted[0] ?? null };
};

// ---------------------------------------------------------------- 7. decryptAssertion

export const decryptAssertion = async (xml: string, connection: SamlConnectionConfig): Promise<{ xml: string; decrypted: string }> => {
  if (!connection.spDecryptionKey)
    throw rejected('decryptAssertion', 'The assertion is encrypted, but this SAML connection has no decryption key. Ask an ORG_ADMIN to add one, or turn off assertion encryption at the identity provider.');
  try {
    // samlify answers the response with the assertion put in, and the decrypted text as it was
    // (its DOM keeps only the root element, so a DTD there would be lost: the caller checks it).
    const [response, decrypted] = (await SamlLib.decryptAssertion({ entitySetting: { encPrivateKey: connection.spDecryptionKey } } as never, xml)) as [string, string];
    return { xml: response, decrypted };
  } catch (error) {
    throw rejected('decryptAssertion', "The encrypted assertion could not be decrypted with this connection's SP key.", String((error as Error)?.message ?? error));
  }
};

// ---------------------------------------------------------------- 9. checkIssuer

export const checkIssuer = (assertion: Element, response: Element, idpEntityId: string): void => {
  const issuer = child(assertion, NS.saml, 'Issuer');
  const value = issuer ? text(issuer).trim() : null;
  if (value !== idpEntityId)
    throw rejected('checkIssuer', `The assertion was issued by ${truncate(value ?? 'nobody')}, but this SAML connection trusts ${truncate(idpEntityId)}.`);
  const responseIssuer = child(response, NS.saml, 'Issuer');
  if (responseIssuer && text(responseIssuer).trim() !== idpEntityId)
    throw rejected('checkIssuer', `The response was issued by ${truncate(text(responseIssuer).trim())}, but this SAML connection trusts ${truncate(idpEntityId)}.`);
};

// ---------------------------------------------------------------- 10. checkDestination

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** Destination on the Response and Recipient on the signed bearer confirmation; returns that SubjectConfirmationData. */
export const checkDestination = (assertion: Element, response: Element, acsUrl: string): Element => {
  const destination = attr(response, 'Destination');
  if (destination !== acsUrl)
    throw rejected('checkDestination', `The response is addressed to ${truncate(destination ?? 'no Destination')}, not to this ACS URL (${acsUrl}). Set the ACS URL at the identity provider to ${acsUrl}.`);
  const subject = child(assertion, NS.saml, 'Subject');
  const confirmations = subject ? children(subject, NS.saml, 'SubjectConfirmation').filter((c) => attr(c, 'Method') === BEARER) : [];
  if (confirmations.length === 0) throw rejected('checkDestination', 'The assertion has no bearer SubjectConfirmation.');
  const recipients: string[] = [];
  for (const c of confirmations) {
    const data = child(c, NS.saml, 'SubjectConfirmationData');
    const recipient = data ? attr(data, 'Recipient') : null;
    if (data && recipient === acsUrl) return data;
    recipients.push(recipient ?? 'none');
  }
  throw rejected('checkDestination', `The assertion's Recipient (${truncate(recipients.join(', '))}) is not this ACS URL (${acsUrl}).`);
};

// ---------------------------------------------------------------- 11. checkAudience

export const checkAudience = (assertion: Element, audience: string): void => {
  const conditions = child(assertion, NS.saml, 'Conditions');
  const restrictions = conditions ? children(conditions, NS.saml, 'AudienceRestriction') : [];
  if (restrictions.length === 0)
    throw rejected('checkAudience', `The assertion has no AudienceRestriction; it must be restricted to ${audience}.`);
  for (const r of restrictions) {
    const audiences = children(r, NS.saml, 'Audience').map((a) => text(a).trim());
    if (!audiences.includes(audience))
      throw rejected('checkAudience', `The assertion is meant for ${truncate(audiences.join(', ') || 'no audience')}, not for ${audience}. Set the audience (SP entity id) at the identity provider to ${audience}.`);
  }
};

// ---------------------------------------------------------------- 12. checkTimeWindow

const instant = (step: VerificationStep, value: string | null, what: string): Date | null => {
  if (value === null) return null;
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) throw invalid(step, `The assertion's ${what} is not a time: ${truncate(value)}.`);
  return t;
};

/** Returns when the assertion stops being acceptable (the replay record lives until then). */
export const checkTimeWindow = (assertion: Element, confirmation: Element, now: Date, skewSeconds = MAX_CLOCK_SKEW_SECONDS): Date => {
  const step = 'checkTimeWindow';
  const skew = Math.min(skewSeconds, MAX_CLOCK_SKEW_SECONDS) * 1000;
  const t = now.getTime();
  const conditions = child(assertion, NS.saml, 'Conditions');
  const notBefore = instant(step, conditions ? attr(conditions, 'NotBefore') : null, 'NotBefore');
  const notOnOrAfter = instant(step, conditions ? attr(conditions, 'NotOnOrAfter') : null, 'NotOnOrAfter');
  const confirmationNotBefore = instant(step, attr(confirmation, 'NotBefore'), 'SubjectConfirmationData NotBefore');
  const confirmationNotOnOrAfter = instant(step, attr(confirmation, 'NotOnOrAfter'), 'SubjectConfirmationData NotOnOrAfter');
  const issued = instant(step, attr(assertion, 'IssueInstant'), 'IssueInstant');
  for (const [from, what] of [
    [notBefore, 'Conditions NotBefore'],
    [confirmationNotBefore, 'SubjectConfirmationData NotBefore'],
    [issued, 'IssueInstant'],
  ] as const)
    if (from && t + skew < from.getTime())
      throw rejected(step, `The assertion is not valid yet (${what} ${from.toISOString()}, now ${now.toISOString()}); check the clocks of the identity provider and orgway.`);
  const ends = [notOnOrAfter, confirmationNotOnOrAfter].filter((d): d is Date => d !== null);
  if (ends.length === 0) throw rejected(step, 'The assertion has no expiry (NotOnOrAfter); it is refused.');
  const end = new Date(Math.min(...ends.map((d) => d.getTime())));
  if (t - skew >= end.getTime()) throw rejected(step, `The assertion expired at ${end.toISOString()} (now ${now.toISOString()}). Sign in again.`);
  const authn = child(assertion, NS.saml, 'AuthnStatement');
  const sessionEnd = instant(step, authn ? attr(authn, 'SessionNotOnOrAfter') : null, 'SessionNotOnOrAfter');
  if (sessionEnd && t - skew >= sessionEnd.getTime()) throw rejected(step, `The identity provider session ended at ${sessionEnd.toISOString()}. Sign in again.`);
  return new Date(end.getTime() + skew);
};

// ---------------------------------------------------------------- 13. checkInResponseTo

/** The signed InResponseTo (from the bearer confirmation); the Response's, when present, must agree. */
export const checkInResponseTo = (response: Element, confirmation: Element): string | null => {
  const signed = attr(confirmation, 'InResponseTo');
  const outer = attr(response, 'InResponseTo');
  if (outer !== null && outer !== signed) throw rejected('checkInResponseTo', "The response's InResponseTo does not match the signed assertion's.");
  return signed === null || signed === '' ? null : signed;
};

// ---------------------------------------------------------------- 14. extract

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const UNSPECIFIED_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
/** Attribute names read as the email, in order (the spec's `email`, then Entra ID's claim). */
export const EMAIL_ATTRIBUTES = ['email', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'];
const DISPLAY_NAME_ATTRIBUTES = ['displayName', 'http://schemas.microsoft.com/identity/claims/displayname'];
const LOOKS_LIKE_EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** All attributes of the (verified) assertion: name → values, several Attribute elements of one name merged. */
export const readAttributes = (assertion: Element): Record<string, string[]> => {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const statement of children(assertion, NS.saml, 'AttributeStatement'))
    for (const a of children(statement, NS.saml, 'Attribute')) {
      const name = attr(a, 'Name');
      if (!name) continue;
      const values = (out[name] ??= []);
      for (const v of children(a, NS.saml, 'AttributeValue')) if (v.getAttributeNS(NS.xsi, 'nil') !== 'true') values.push(text(v));
    }
  return out;
};

/**
 * The user's email: the NameID in emailAddress format, else the `email` attribute, else a
 * NameID of unspecified format that is an email address. Persistent and transient
 * NameIDs are never taken as the email.
 */
export const readEmail = (assertion: Element, attributes: Record<string, string[]>): string | null => {
  const subject = child(assertion, NS.saml, 'Subject');
  if (subject && child(subject, NS.saml, 'EncryptedID')) throw invalid('extract', 'Encrypted NameIDs are not supported; send the email as the NameID or the email attribute.');
  const nameId = subject ? child(subject, NS.saml, 'NameID') : null;
  const format = nameId ? attr(nameId, 'Format') : null;
  const value = nameId ? text(nameId).trim() : '';
  if (nameId && format === EMAIL_FORMAT && value) return value;
  for (const name of EMAIL_ATTRIBUTES) {
    const v = attributes[name]?.map((s) => s.trim()).find((s) => s !== '');
    if (v) return v;
  }
  if (nameId && (format === null || format === UNSPECIFIED_FORMAT) && LOOKS_LIKE_EMAIL.test(value)) return value;
  return null;
};

// ---------------------------------------------------------------- the pipeline

export interface VerifiedResponse {
  assertion: VerifiedSamlAssertion;
}

/** What the caller may hook into the steps (the ACS's slow lane does). */
export interface VerificationHooks {
  /** Runs the synchronous stretches that come after an await, so the caller can count their time. */
  measure?: <R>(fn: () => R) => R;
  /** Told once the SignedInfo verified under a connection key (step 8a): the IdP's key vouches for what follows. */
  signedInfoVerified?: () => void;
}

const direct = <R>(fn: () => R): R => fn();

/** Steps 1–14. Throws DomainError (INVALID_SAML / SAML_REJECTED) with `details.step`. */
export const verifySamlResponse = async (
  body: unknown,
  ctx: VerificationContext,
  validator: SchemaValidator,
  hooks: VerificationHooks = {},
): Promise<VerifiedSamlAssertion> => {
  const measure = hooks.measure ?? direct;
  const { samlResponse, relayState } = readForm(body);
  const outer = decodeBase64(samlResponse);
  rejectDtd(outer);
  const parsed = parseResponse(outer);
  // Structure and the SignedInfo check come before schema validation: they cost the same
  // small amount for any document, so junk never reaches the validator's queue.
  const structure = checkStructure(parsed.doc, parsed.response);
  const opened = structure.encrypted ? await decryptAssertion(outer, ctx.connection) : null;
  const { xml, response, assertion } = (opened ? measure : direct)(() => {
    if (!opened) return { xml: outer, response: parsed.response, assertion: structure.assertion! };
    rejectDtd(opened.decrypted);
    rejectDtd(opened.xml);
    const decrypted = parseResponse(opened.xml);
    const inner = checkStructure(decrypted.doc, decrypted.response).assertion;
    if (!inner) throw rejected('decryptAssertion', 'The decrypted assertion is not an assertion.');
    return { xml: opened.xml, response: decrypted.response, assertion: inner };
  });
  (opened ? measure : direct)(() => checkSignedInfo(assertion, ctx.connection.signingCertificates));
  hooks.signedInfoVerified?.();
  await validateSchema(outer, validator);
  if (xml !== outer) await validateSchema(xml, validator);
  return measure(() => {
    const verified = verifySignature(xml, assertion, ctx.connection.signingCertificates);
    checkIssuer(verified, response, ctx.connection.idpEntityId);
    const confirmation = checkDestination(verified, response, ctx.acsUrl);
    checkAudience(verified, ctx.audience);
    const expiresAt = checkTimeWindow(verified, confirmation, ctx.now, ctx.skewSeconds);
    const inResponseTo = checkInResponseTo(response, confirmation);
    const attributes = readAttributes(verified);
    const displayName = DISPLAY_NAME_ATTRIBUTES.map((n) => attributes[n]?.[0]?.trim()).find((v) => !!v) ?? null;
    return {
      connectionId: ctx.connection.id,
      email: readEmail(verified, attributes),
      attributes,
      assertionId: attr(verified, 'ID')!,
      expiresAt,
      inResponseTo,
      relayState,
      displayName,
    };
  });
};
