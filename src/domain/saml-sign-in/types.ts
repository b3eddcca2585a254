/** What the SAML transport hands the domain, and what it gets back. No XML here. */
import type { OrganizationRole, UserStatus } from '../model/index.js';

/** A connection as the transport needs it to verify a response. */
export interface SamlConnectionConfig {
  id: string;
  name: string;
  ownerOrganizationId: string;
  idpEntityId: string;
  ssoUrl: string;
  /** PEM certificates; a response must be signed by one of them. */
  signingCertificates: string[];
  attributePrefix: string;
  defaultOrganizationId: string | null;
  allowIdpInitiated: boolean;
  /** PEM; present when the IdP may encrypt assertions to us. */
  spDecryptionKey: string | null;
  spCertificate: string | null;
}

/**
 * An assertion whose signature, schema, destination, audience and time window the
 * transport has verified; everything here was read from signed content except
 * `relayState` (a form field, which the domain checks against the request it started).
 */
export interface VerifiedSamlAssertion {
  connectionId: string;
  /** The NameID (email format) or the `email` attribute; null when there was neither. */
  email: string | null;
  /** Attribute name (exact) → values, in document order. */
  attributes: Readonly<Record<string, readonly string[]>>;
  assertionId: string;
  /** The replay record lives until then (NotOnOrAfter + allowed skew). */
  expiresAt: Date;
  /** From the signed SubjectConfirmationData; null for an IdP-initiated response. */
  inResponseTo: string | null;
  relayState: string | null;
  /** Optional display name for a user created by this sign-in. */
  displayName?: string | null;
}

export interface SignedInMembership {
  organizationId: string;
  role: OrganizationRole;
  status: UserStatus;
}

export interface SamlSignInResult {
  userId: string;
  email: string;
  organizationId: string;
  /** Which landing rule picked the organization (SPEC §2 step 6). */
  landing: 'RELAY_STATE' | 'LAST_VISITED' | 'FIRST_BY_NAME';
  sessionToken: string;
  sessionExpiresAt: Date | null;
  memberships: SignedInMembership[];
}

/** A refused sign-in, as recorded for the connection's ORG_ADMINs. */
export interface SamlFailureInput {
  connectionId: string;
  code: string;
  /** The safe message the user saw. */
  message: string;
  /** Internal detail for admins. */
  detail?: string | null;
  email?: string | null;
}
