/**
 * samlify where it serves us: reading IdP metadata, writing our SP metadata, and building
 * SP-initiated AuthnRequests (HTTP-Redirect binding). Responses are verified by our own
 * steps (verification.ts), not by samlify's parseLoginResponse.
 */
import * as samlify from 'samlify';
import type { IdpMetadata, IdpMetadataParser } from '../../domain/saml-connections/connection-service.js';
import { badInput } from '../../domain/model/index.js';
import type { SamlConnectionConfig } from '../../domain/saml-sign-in/types.js';
import { SchemaValidator } from './schema-validator.js';

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

let validatorInstalled = false;
let sharedValidator: SchemaValidator | undefined;
/**
 * samlify refuses to parse messages without a schema validator. None of the samlify paths
 * orgway uses parses a message (responses go through verification.ts), so this is a
 * safety net: a validator of its own, created on first use.
 */
export const installSamlifyValidator = (): void => {
  if (validatorInstalled) return;
  validatorInstalled = true;
  samlify.setSchemaValidator({
    validate: async (xml: string) => {
      const r = await (sharedValidator ??= new SchemaValidator()).validate(xml);
      if (!r.valid) throw new Error(`ERR_EXCEPTION_VALIDATE_XML: ${r.errors[0] ?? ''}`);
      return true;
    },
  });
};

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

export interface SpEndpoints {
  acsUrl: string;
  /** The SP entity id and Audience. */
  entityId: string;
}

export const endpointsOf = (publicUrl: string, connectionId: string): SpEndpoints => ({
  acsUrl: `${publicUrl}/saml/${connectionId}/acs`,
  entityId: `${publicUrl}/saml/${connectionId}/metadata`,
});

const serviceProvider = (connection: SamlConnectionConfig, endpoints: SpEndpoints, requestId?: string) =>
  samlify.ServiceProvider({
    entityID: endpoints.entityId,
    assertionConsumerService: [{ Binding: POST, Location: endpoints.acsUrl }],
    nameIDFormat: [EMAIL_FORMAT],
    wantAssertionsSigned: true,
    wantMessageSigned: false,
    authnRequestsSigned: false,
    ...(connection.spCertificate ? { encryptCert: connection.spCertificate } : {}),
    ...(requestId ? { generateID: () => requestId } : {}),
  });

const xmlAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** The IdP as samlify needs it for an AuthnRequest (built from metadata: no SingleLogoutService warning). */
const identityProvider = (connection: SamlConnectionConfig) =>
  samlify.IdentityProvider({
    metadata:
      `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${xmlAttr(connection.idpEntityId)}">` +
      `<IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
      `<SingleSignOnService Binding="${REDIRECT}" Location="${xmlAttr(connection.ssoUrl)}"/></IDPSSODescriptor></EntityDescriptor>`,
  });

/** Our SP metadata for one connection (what the IdP administrator imports). */
export const spMetadataXml = (connection: SamlConnectionConfig, endpoints: SpEndpoints): string =>
  serviceProvider(connection, endpoints).getMetadata();

/** The IdP URL to redirect the browser to: a plain (unsigned) AuthnRequest with our id and RelayState. */
export const authnRequestUrl = (connection: SamlConnectionConfig, endpoints: SpEndpoints, requestId: string, relayState: string | null): string => {
  const sp = serviceProvider(connection, endpoints, requestId);
  const { context } = sp.createLoginRequest(identityProvider(connection), 'redirect', relayState ? { relayState } : {});
  return context;
};
