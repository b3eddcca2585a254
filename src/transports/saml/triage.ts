/**
 * Triage of an ACS request, before the verification proper (SPEC §8): is the assertion's
 * SignedInfo signed by one of the connection's keys? A genuine response answers yes for the
 * cost of a short scan and one small parse; junk answers no unless it carries a SignedInfo the
 * IdP's key signed (see below). The answer decides only *when* the full verification runs —
 * at once, or in the ACS's slow lane — never whether a response is accepted: both go through
 * every step of verification.ts.
 *
 * The document is not parsed. The start of the decoded text is scanned tag by tag until the
 * SignedInfo of a Signature inside an Assertion inside the root (Response > Assertion >
 * Signature > SignedInfo); that SignedInfo and the SignatureValue after it are parsed alone,
 * wrapped in the start tags of their three ancestors, so their namespace declarations (what
 * canonicalization reads outside SignedInfo) are exactly those of the document. Anything the
 * scan does not expect (a declaration, an unbalanced tag, the SignedInfo not within the first
 * 64 KiB or 200 tags, an encrypted assertion) answers no: that response waits its turn.
 *
 * Bounded for junk too: the small document is refused unparsed above 8 KiB (a real one is about
 * 1.5 KiB), and signature.ts refuses more namespace declarations in scope than any IdP writes.
 * A SignedInfo signed by the connection's key can be copied (from signed metadata, from a
 * response of another service provider that shares the key, from one's own sign-in) into junk
 * made to look like it: its Reference must name the scanned assertion's ID, and each
 * SignatureValue is vouched for once (assertions are single-use) — seen again within
 * SIGHTING_TTL_MS, the response waits its turn like any other.
 */
import { createHash } from 'node:crypto';
import { signedInfoVouched } from './signature.js';
import { attr, child, is, NS, parseXml, text } from './xml.js';

/** Base64 characters decoded at most (about 64 KiB of XML): an assertion's SignedInfo comes within its first few KiB. */
const SCANNED_BASE64 = 87_384;
/** Tags scanned at most: a response has a few dozen before its assertion's SignedInfo. */
const SCANNED_TAGS = 200;
/** The small document at most: SignedInfo, SignatureValue and three start tags are about 1.5 KiB. */
const MAX_SMALL_DOCUMENT = 8 * 1024;
/** How long a vouched-for SignatureValue is remembered, and how many at most. */
export const SIGHTING_TTL_MS = 10 * 60_000;
const MAX_SIGHTINGS = 20_000;

/** The index of the `>` that ends the tag starting at `lt`, skipping quoted attribute values; -1 if none. */
const tagEnd = (xml: string, lt: number): number => {
  let quote = 0;
  for (let k = lt + 1; k < xml.length; k++) {
    const c = xml.charCodeAt(k);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 34 || c === 39) quote = c;
    else if (c === 62) return k;
  }
  return -1;
};

const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);

/**
 * The assertion's SignedInfo and SignatureValue inside their ancestors' start tags, as a small
 * document of its own; null when the scan finds anything it does not expect.
 */
export const signedInfoDocument = (xml: string): string | null => {
  const open: { name: string; tag: string }[] = [];
  let from = -1;
  let i = 0;
  for (let tags = 0; tags < SCANNED_TAGS; tags++) {
    const lt = xml.indexOf('<', i);
    if (lt === -1) return null;
    if (xml.startsWith('<?', lt) || xml.startsWith('<!--', lt) || xml.startsWith('<![CDATA[', lt)) {
      const close = xml.startsWith('<?', lt) ? '?>' : xml.startsWith('<!--', lt) ? '-->' : ']]>';
      const end = xml.indexOf(close, lt + 2);
      if (end === -1) return null;
      i = end + close.length;
      continue;
    }
    if (xml.charCodeAt(lt + 1) === 33) return null; // <!DOCTYPE, <!ENTITY: never in a SAML message
    const end = tagEnd(xml, lt);
    if (end === -1) return null;
    i = end + 1;
    if (xml.charCodeAt(lt + 1) === 47) {
      const name = xml.slice(lt + 2, end).trim();
      if (open.pop()?.name !== name) return null;
      // The SignatureValue closed, back inside the Signature: the part the check reads is complete.
      if (from !== -1 && open.length === 3 && localName(name) === 'SignatureValue') {
        const ancestors = open.map((o) => o.tag).join('');
        const closing = open.map((o) => `</${o.name}>`).reverse().join('');
        return ancestors + xml.slice(from, i) + closing;
      }
      continue;
    }
    const name = /^<([^\s/>]+)/.exec(xml.slice(lt, Math.min(end + 1, lt + 256)))?.[1];
    if (!name) return null;
    if (from === -1 && open.length === 3 && localName(name) === 'SignedInfo') from = lt;
    if (xml.charCodeAt(end - 1) !== 47) open.push({ name, tag: xml.slice(lt, end + 1) });
  }
  return null;
};

/** The triage of one ACS (one per gateway instance): it remembers the SignatureValues it vouched for. */
export class Triage {
  /** SHA-256 of a vouched-for SignatureValue → when it may be vouched for again (ms). */
  readonly #sightings = new Map<string, number>();

  /** Whether the SAMLResponse's assertion carries a SignedInfo that one of `certificates` signed, seen here for the first time. */
  vouchedFor(samlResponse: string, certificates: readonly string[], nowMs: number = Date.now()): boolean {
    let xml = Buffer.from(samlResponse.slice(0, SCANNED_BASE64), 'base64').toString('utf8');
    if (xml.charCodeAt(0) === 0xfeff) xml = xml.slice(1);
    const small = signedInfoDocument(xml);
    if (small === null || small.length > MAX_SMALL_DOCUMENT) return false;
    let root: Element;
    try {
      root = parseXml(small).documentElement!;
    } catch {
      return false;
    }
    const assertion = root.firstChild as Element | null;
    const signature = assertion?.firstChild as Element | null;
    if (!is(root, NS.samlp, 'Response') || !is(assertion, NS.saml, 'Assertion') || !is(signature, NS.ds, 'Signature')) return false;
    const signedInfo = child(signature!, NS.ds, 'SignedInfo');
    const reference = signedInfo ? child(signedInfo, NS.ds, 'Reference') : null;
    const id = attr(assertion!, 'ID');
    if (!reference || !id || attr(reference, 'URI') !== `#${id}`) return false;
    const signatureValue = child(signature!, NS.ds, 'SignatureValue');
    // The decoded bytes: base64 has several spellings of one value (the unused bits of its last character).
    const sighting = createHash('sha256')
      .update(Buffer.from(signatureValue ? text(signatureValue).replace(/\s+/g, '') : '', 'base64'))
      .digest('base64');
    const again = this.#sightings.get(sighting);
    if (again !== undefined && again > nowMs) return false;
    if (!signedInfoVouched(signature!, certificates)) return false;
    this.#remember(sighting, nowMs);
    return true;
  }

  #remember(sighting: string, nowMs: number): void {
    this.#sightings.delete(sighting);
    this.#sightings.set(sighting, nowMs + SIGHTING_TTL_MS);
    // Oldest first (insertion order): drop the expired, and the oldest beyond the bound.
    for (const [key, until] of this.#sightings) {
      if (until > nowMs && this.#sightings.size <= MAX_SIGHTINGS) break;
      this.#sightings.delete(key);
    }
  }
}
