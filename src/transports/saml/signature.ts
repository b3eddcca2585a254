/**
 * Step 8 of the verification: the assertion's enveloped signature, by one of the connection's
 * certificates, with algorithm tables cut to the allow-list. A fast path verifies the common
 * shape (exclusive C14N, enveloped, SHA-256/512) with node:crypto; anything else goes through
 * xml-crypto. checkSignedInfo runs first, before schema validation or any digest, so junk
 * costs the same small amount whatever algorithms it names.
 */
import { createHash, createPublicKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { C14nCanonicalization, ExclusiveCanonicalization, SignedXml } from 'xml-crypto';
import { findAncestorNsForElement } from 'xml-crypto/lib/utils.js';
import { DomainError, truncate } from '../../domain/model/index.js';
import { rejected } from './refusals.js';
import {
  attr,
  child,
  children,
  COMMENT_NODE,
  descendants,
  ELEMENT_NODE,
  is,
  NS,
  nodesOfType,
  parseXml,
  PROCESSING_INSTRUCTION_NODE,
  text,
  TEXT_NODE,
  } from './xml.js';
// ---------------------------------------------------------------- 8. verifySignature

export const SIGNATURE_ALGORITHMS = [
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1',
];
export const DIGEST_ALGORITHMS = ['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512'];
/** SignedInfo's CanonicalizationMethod: exclusive or inclusive C14N, without comments. */
const SIGNED_INFO_C14N = ['http://www.w3.org/2001/10/xml-exc-c14n#', 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'];
const TRANSFORMS = [
  'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  'http://www.w3.org/2001/10/xml-exc-c14n#',
  'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments',
];

const algorithmOf = (el: Element | null): string | null => (el ? attr(el, 'Algorithm') : null);

/** How often each verification path ran (tests assert which one 'auto' took; metrics). */
export const signaturePathRuns = { fast: 0, xmlCrypto: 0 };

/**
 * Verifies the assertion's own signature over the original bytes and returns the
 * assertion re-parsed from the canonical signed reference: the only thing read afterwards.
 */
interface SignatureParts {
  id: string;
  signature: Element;
  signedInfo: Element;
  reference: Element;
  c14nMethod: string;
  signatureMethod: string;
  digestMethod: string;
}

/** The assertion's one enveloped signature and its algorithms, each checked against the allow-lists. */
const readSignature = (assertion: Element): SignatureParts => {
  const step = 'verifySignature';
  if (nodesOfType(assertion, COMMENT_NODE).length > 0)
    throw rejected(step, 'The assertion contains XML comments, which identity providers do not send; it is refused (comment injection).');
  if (nodesOfType(assertion, PROCESSING_INSTRUCTION_NODE).length > 0)
    throw rejected(step, 'The assertion contains XML processing instructions, which identity providers do not send; it is refused.');
  const id = attr(assertion, 'ID');
  if (!id) throw rejected(step, 'The assertion has no ID.');
  const signatures = children(assertion, NS.ds, 'Signature');
  if (signatures.length === 0)
    throw rejected(step, 'The assertion is not signed. Configure the identity provider to sign the assertion (signing only the response is not enough).');
  if (signatures.length > 1 || descendants(assertion, NS.ds, 'Signature').length !== 1)
    throw rejected(step, 'The assertion must carry exactly one signature.');
  const signature = signatures[0]!;
  const signedInfos = children(signature, NS.ds, 'SignedInfo');
  if (signedInfos.length !== 1) throw rejected(step, 'The assertion signature must have exactly one SignedInfo.');
  const signedInfo = signedInfos[0]!;
  const references = children(signedInfo, NS.ds, 'Reference');
  if (references.length !== 1) throw rejected(step, 'The assertion signature must have exactly one Reference.');
  const reference = references[0]!;
  if (attr(reference, 'URI') !== `#${id}`)
    throw rejected(step, 'The signature does not cover the assertion (its Reference does not point at the assertion ID).', `URI=${attr(reference, 'URI')} ID=${id}`);
  const c14nMethod = algorithmOf(child(signedInfo, NS.ds, 'CanonicalizationMethod'));
  if (!c14nMethod || !SIGNED_INFO_C14N.includes(c14nMethod))
    throw rejected(step, `The assertion signature's SignedInfo is canonicalized with ${truncate(c14nMethod ?? 'no algorithm')}; use exclusive C14N.`);
  const signatureMethod = algorithmOf(child(signedInfo, NS.ds, 'SignatureMethod'));
  if (!signatureMethod || !SIGNATURE_ALGORITHMS.includes(signatureMethod))
    throw rejected(step, `The assertion is signed with ${signatureMethod ?? 'no algorithm'}; use RSA-SHA256 or stronger (SHA-1 is refused).`);
  const digestMethod = algorithmOf(child(reference, NS.ds, 'DigestMethod'));
  if (!digestMethod || !DIGEST_ALGORITHMS.includes(digestMethod))
    throw rejected(step, `The assertion's digest uses ${digestMethod ?? 'no algorithm'}; use SHA-256 or stronger (SHA-1 is refused).`);
  const transforms = child(reference, NS.ds, 'Transforms');
  for (const t of transforms ? children(transforms, NS.ds, 'Transform') : [])
    if (!TRANSFORMS.includes(algorithmOf(t) ?? '')) throw rejected(step, `The signature uses the transform ${truncate(algorithmOf(t) ?? 'none')}, which is not allowed.`);

  for (const el of nodesOfType(assertion.ownerDocument ?? assertion, ELEMENT_NODE))
    if (el !== assertion && (el as Element).getAttribute('ID') === id)
      throw rejected(step, 'The signature does not verify: another element carries the assertion ID (signature wrapping?).', 'duplicate ID');
  return { id, signature, signedInfo, reference, c14nMethod, signatureMethod, digestMethod };
};

const NOT_VERIFIED = "The assertion's signature does not verify with this SAML connection's certificates (wrong key, or the content was changed).";

/**
 * Step 8, first half, run before schema validation: the small SignedInfo must be signed by
 * one of the connection's keys. Junk is refused here for the cost of parsing it and a few
 * RSA verifications, whatever it names; nothing large is validated or digested.
 */
export const checkSignedInfo = (assertion: Element, certificates: readonly string[]): void => {
  const { signature, signedInfo, signatureMethod, c14nMethod } = readSignature(assertion);
  const failures: string[] = [];
  if (keysVouchingFor(signature, signedInfo, signatureMethod, c14nMethod, certificates, failures).length === 0)
    throw rejected('verifySignature', NOT_VERIFIED, failures.join('; '));
};

/**
 * Triage (triage.ts): whether a Signature's SignedInfo verifies under one of the keys, with an
 * allowed canonicalization and signature algorithm. Nothing else is checked; it decides only
 * how soon the verification proper runs.
 */
export const signedInfoVouched = (signature: Element, certificates: readonly string[]): boolean => {
  const signedInfo = child(signature, NS.ds, 'SignedInfo');
  if (!signedInfo) return false;
  const c14nMethod = algorithmOf(child(signedInfo, NS.ds, 'CanonicalizationMethod'));
  const signatureMethod = algorithmOf(child(signedInfo, NS.ds, 'SignatureMethod'));
  if (!c14nMethod || !SIGNED_INFO_C14N.includes(c14nMethod) || !signatureMethod || !SIGNATURE_ALGORITHMS.includes(signatureMethod)) return false;
  try {
    return keysVouchingFor(signature, signedInfo, signatureMethod, c14nMethod, certificates, []).length > 0;
  } catch {
    return false;
  }
};

export const verifySignature = (
  xml: string,
  assertion: Element,
  certificates: readonly string[],
  /** Tests: force xml-crypto's checkSignature even where the fast path applies. */
  path: 'auto' | 'xml-crypto' = 'auto',
): Element => {
  const step = 'verifySignature';
  const { id, signature, signedInfo, reference, c14nMethod, signatureMethod, digestMethod } = readSignature(assertion);
  const failures: string[] = [];
  // SignedInfo first: only keys that vouch for it go on to the digest of the assertion.
  const keys = keysVouchingFor(signature, signedInfo, signatureMethod, c14nMethod, certificates, failures);
  const fast = path === 'auto' && fastPathApplies(signedInfo, reference);
  if (fast) signaturePathRuns.fast += 1;
  else signaturePathRuns.xmlCrypto += 1;
  const canonical =
    keys.length === 0
      ? null
      : fast
        ? digestMatches(assertion, signature, reference, digestMethod, failures)
        : verifyWithXmlCrypto(xml, signature, signatureMethod, c14nMethod, keys, failures);
  if (canonical === null) throw rejected(step, NOT_VERIFIED, failures.join('; '));
  let verified: Element;
  try {
    verified = parseXml(canonical).documentElement!;
  } catch (error) {
    throw rejected(step, 'The signed assertion could not be read.', String(error));
  }
  if (!is(verified, NS.saml, 'Assertion') || attr(verified, 'ID') !== id)
    throw rejected(step, 'The signature does not cover the assertion.', `signed element ${verified.localName}`);
  return verified;
};

/** A copy of an xml-crypto algorithm table with only the allowed entries (and no prototype). */
const only = <T>(table: Record<string, T>, allowed: readonly string[]): Record<string, T> => {
  const out = Object.create(null) as Record<string, T>;
  for (const name of allowed) if (Object.hasOwn(table, name)) out[name] = table[name]!;
  return out;
};

/**
 * The general path: xml-crypto's SignedXml.checkSignature over the original bytes, with only
 * the connection's certificates (KeyInfo ignored); returns the canonical signed reference.
 * xml-crypto's algorithm tables are cut down to our allow-lists, and the algorithms it loaded
 * (it finds SignatureMethod / CanonicalizationMethod by local name anywhere in the Signature)
 * must be the ones checked above.
 */
const verifyWithXmlCrypto = (
  xml: string,
  signature: Element,
  signatureMethod: string,
  c14nMethod: string,
  certificates: readonly string[],
  failures: string[],
): string | null => {
  for (const [i, cert] of certificates.entries()) {
    if (!isRsaCertificate(cert, i, failures)) continue;
    const sig = new SignedXml({ publicCert: cert, getCertFromKeyInfo: () => null });
    // SAML identifies elements by `ID` only. xml-crypto also scans for `Id` and `id`, a full
    // XPath pass over the document each; duplicate `ID`s are still refused by xml-crypto.
    sig.idAttributes = ['ID'];
    sig.SignatureAlgorithms = only(sig.SignatureAlgorithms, SIGNATURE_ALGORITHMS);
    sig.HashAlgorithms = only(sig.HashAlgorithms, DIGEST_ALGORITHMS);
    sig.CanonicalizationAlgorithms = only(sig.CanonicalizationAlgorithms, TRANSFORMS);
    try {
      sig.loadSignature(signature);
      if (sig.signatureAlgorithm !== signatureMethod || sig.canonicalizationAlgorithm !== c14nMethod || !SIGNED_INFO_C14N.includes(sig.canonicalizationAlgorithm))
        throw rejected(
          'verifySignature',
          'The assertion signature is ambiguous: it names more than one signature or canonicalization method.',
          `SignatureMethod ${signatureMethod}, xml-crypto read ${String(sig.signatureAlgorithm)}; CanonicalizationMethod ${c14nMethod}, xml-crypto read ${String(sig.canonicalizationAlgorithm)}`,
        );
      if (!sig.checkSignature(xml)) {
        failures.push(`certificate ${i + 1}: signature value or digest does not match`);
        continue;
      }
    } catch (error) {
      if (error instanceof DomainError) throw error;
      failures.push(`certificate ${i + 1}: ${(error as Error).message}`);
      continue;
    }
    const signed = sig.getSignedReferences();
    if (signed.length !== 1) throw rejected('verifySignature', 'The signature must cover exactly the assertion.');
    return signed[0]!;
  }
  return null;
};

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_HASH: Record<string, string> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
};
const DIGEST_HASH: Record<string, string> = {
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};

/**
 * The shape nearly every IdP sends (Okta, Entra ID, AD FS, Google, Keycloak, samlify):
 * exclusive C14N for SignedInfo, transforms exactly [enveloped-signature, exclusive C14N],
 * RSA PKCS#1 v1.5 with SHA-256/512, no InclusiveNamespaces. Anything else takes xml-crypto.
 */
const fastPathApplies = (signedInfo: Element, reference: Element): boolean => {
  const c14n = child(signedInfo, NS.ds, 'CanonicalizationMethod');
  if (!c14n || algorithmOf(c14n) !== EXC_C14N || c14n.firstChild) return false;
  if (!RSA_HASH[algorithmOf(child(signedInfo, NS.ds, 'SignatureMethod')) ?? '']) return false;
  const transforms = child(reference, NS.ds, 'Transforms');
  const list = transforms ? children(transforms, NS.ds, 'Transform') : [];
  return list.length === 2 && algorithmOf(list[0]!) === ENVELOPED && algorithmOf(list[1]!) === EXC_C14N && !list[0]!.firstChild && !list[1]!.firstChild;
};

const BASE64_VALUE = /^[A-Za-z0-9+/]+={0,2}$/;
const base64Of = (el: Element | null, what: string): Buffer => {
  if (!el || el.childNodes.length !== 1 || el.firstChild!.nodeType !== TEXT_NODE) throw rejected('verifySignature', `The signature's ${what} is malformed.`);
  const value = text(el).replace(/\s+/g, '');
  if (!BASE64_VALUE.test(value) || value.length % 4 !== 0) throw rejected('verifySignature', `The signature's ${what} is not base64.`);
  return Buffer.from(value, 'base64');
};

const keyCache = new Map<string, KeyObject>();
const publicKeyOf = (pem: string): KeyObject => {
  let key = keyCache.get(pem);
  if (!key) {
    key = createPublicKey(pem);
    if (keyCache.size > 100) keyCache.clear();
    keyCache.set(pem, key);
  }
  return key;
};

/** Only RSA keys verify (ECDSA and others are refused, also for connections saved before this rule). */
const isRsaCertificate = (cert: string, i: number, failures: string[]): boolean => {
  let type: string | undefined;
  try {
    type = publicKeyOf(cert).asymmetricKeyType;
  } catch (error) {
    failures.push(`certificate ${i + 1}: ${(error as Error).message}`);
    return false;
  }
  if (type === 'rsa') return true;
  failures.push(`certificate ${i + 1}: its key type is ${String(type)}; only RSA keys are accepted`);
  return false;
};

/**
 * Namespace declarations on an element and its ancestors: finding and canonicalizing them
 * grows with the square of their number, so more than any IdP writes are refused first.
 */
const MAX_NAMESPACE_DECLARATIONS = 64;
const namespaceDeclarationsInScope = (el: Element): number => {
  let n = 0;
  for (let e: Node | null = el; e && e.nodeType === ELEMENT_NODE; e = e.parentNode) {
    const attributes = (e as Element).attributes;
    for (let i = 0; i < attributes.length; i++) {
      const name = attributes.item(i)!.name;
      if (name === 'xmlns' || name.startsWith('xmlns:')) n += 1;
    }
  }
  return n;
};

/**
 * The signature value of the canonical SignedInfo, checked against each certificate with
 * the algorithm SignedInfo names: a small, fixed amount of work whatever the document holds.
 * Returns the certificates that verify it (usually one); nothing is digested before this.
 */
const keysVouchingFor = (
  signature: Element,
  signedInfo: Element,
  signatureMethod: string,
  c14nMethod: string,
  certificates: readonly string[],
  failures: string[],
): string[] => {
  const signatureValue = base64Of(child(signature, NS.ds, 'SignatureValue'), 'SignatureValue').toString('base64');
  if (namespaceDeclarationsInScope(signedInfo) > MAX_NAMESPACE_DECLARATIONS)
    throw rejected('verifySignature', `The signature's SignedInfo has more than ${MAX_NAMESPACE_DECLARATIONS} namespace declarations in scope; identity providers write a handful.`);
  const ancestorNamespaces = findAncestorNsForElement(signedInfo);
  // Exclusive C14N reads an InclusiveNamespaces PrefixList under CanonicalizationMethod itself.
  const canonicalizer = c14nMethod === EXC_C14N ? new ExclusiveCanonicalization() : new C14nCanonicalization();
  const material = canonicalizer.process(signedInfo, { ancestorNamespaces });
  const Algorithm = new SignedXml().SignatureAlgorithms[signatureMethod]!;
  const vouching: string[] = [];
  for (const [i, cert] of certificates.entries()) {
    if (!isRsaCertificate(cert, i, failures)) continue;
    let ok: boolean;
    try {
      ok = new Algorithm().verifySignature(material, publicKeyOf(cert), signatureValue);
    } catch (error) {
      failures.push(`certificate ${i + 1}: ${(error as Error).message}`);
      continue;
    }
    if (ok) vouching.push(cert);
    else failures.push(`certificate ${i + 1}: the SignedInfo signature does not match`);
  }
  return vouching;
};

/**
 * Reference validation for the common shape, on our own parse of the original bytes, with
 * xml-crypto's exclusive canonicalizer and node:crypto (xml-crypto's checkSignature does
 * the same with XPath passes): the assertion minus its enveloped Signature, canonicalized,
 * must digest to DigestValue. Called only once SignedInfo verified under a connection key.
 * Returns the canonical assertion — the signed bytes, the only thing read later. Tests
 * compare it with xml-crypto's path on valid and attacked documents.
 */
const digestMatches = (assertion: Element, signature: Element, reference: Element, digestMethod: string, failures: string[]): string | null => {
  const digestValue = base64Of(child(reference, NS.ds, 'DigestValue'), 'DigestValue');
  // Enveloped-signature transform: the assertion without its Signature (restored right after).
  const next = signature.nextSibling;
  assertion.removeChild(signature);
  let canonical: string;
  try {
    canonical = new ExclusiveCanonicalization().process(assertion, {});
  } finally {
    assertion.insertBefore(signature, next);
  }
  const digest = createHash(DIGEST_HASH[digestMethod]!).update(canonical, 'utf8').digest();
  if (digest.length !== digestValue.length || !timingSafeEqual(digest, digestValue)) {
    failures.push('the digest of the assertion does not match DigestValue (the content was changed)');
    return null;
  }
  return canonical;
};

