/**
 * samlify where the SAML edge uses it: writing our SP metadata and building SP-initiated
 * AuthnRequests (HTTP-Redirect binding). Responses are verified by our own steps
 * (verification.ts), not by samlify's parseLoginResponse; IdP metadata is read by
 * src/adapters/samlify-metadata-parser.ts.
 */
import * as samlify from 'samlify';
import type { SamlEndpoints } from '../../domain/saml-connections/endpoints.js';
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

/** The SP URLs samlify writes into metadata and AuthnRequests (samlEndpoints in the domain makes them). */
type SpEndpoints = Pick<SamlEndpoints, 'acsUrl' | 'entityId'>;

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
