/**
 * Fills the SAML connection service's IdpMetadataParser port with samlify. Reading metadata
 * parses no SAML message, so samlify's schema validator (installed by the SAML edge) is not involved.
 */
import * as samlify from 'samlify';
import { badInput } from '../domain/model/index.js';
import type { IdpMetadata, IdpMetadataParser } from '../domain/saml-connections/connection-service.js';

const list = (v: unknown): string[] => (Array.isArray(v) ? v.flat(Infinity).filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);

/** IdP metadata XML → entity id, HTTP-Redirect SSO URL, signing certificates. */
export const samlifyMetadataParser: IdpMetadataParser = {
  parse(xml: string): IdpMetadata {
    if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) throw badInput('metadataXml', 'must not contain a DTD (<!DOCTYPE> or <!ENTITY>).');
    let idp: ReturnType<typeof samlify.IdentityProvider>;
    try {
      idp = samlify.IdentityProvider({ metadata: xml });
    } catch (error) {
      throw badInput('metadataXml', `is not SAML IdP metadata (${String((error as Error)?.message ?? error).slice(0, 200)}).`);
    }
    const meta = idp.entityMeta;
    const entityId = meta.getEntityID();
    if (typeof entityId !== 'string' || !entityId) throw badInput('metadataXml', 'has no EntityDescriptor entityID.');
    const sso = meta.getSingleSignOnService('redirect');
    if (typeof sso !== 'string' || !sso)
      throw badInput('metadataXml', 'has no SingleSignOnService with the HTTP-Redirect binding (orgway sends AuthnRequests by redirect).');
    return { entityId, ssoUrl: sso, signingCertificates: list(meta.getX509Certificate('signing')) };
  },
};
