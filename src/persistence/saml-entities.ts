/**
 * SAML entities (SPEC §2). A connection is one IdP application; organizations
 * trust it; requests and used assertions make InResponseTo and replay protection
 * hold across gateway instances (atomic statements on unique keys).
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization } from './entities.js';

export const SamlConnection = defineEntity({
  name: 'SamlConnection',
  tableName: 'saml_connections',
  properties: {
    id: p.string().primary(),
    /** The organization whose ORG_ADMIN created it; only its ORG_ADMINs change it. */
    ownerOrganization: () => p.manyToOne(Organization).ref().deleteRule('cascade').index(),
    name: p.string().length(200),
    idpEntityId: p.string().length(1024),
    ssoUrl: p.string().length(2048),
    /** 1–2 PEM certificates (two during a rotation). */
    signingCertificates: p.json<string[]>(),
    attributePrefix: p.string().length(64).default('SPOTINST'),
    defaultOrganization: () => p.manyToOne(Organization).ref().nullable().deleteRule('set null'),
    allowIdpInitiated: p.boolean().default(false),
    /** PEM key + certificate for encrypted assertions (optional). */
    spDecryptionKey: p.text().nullable(),
    spCertificate: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type SamlConnectionEntity = InferEntity<typeof SamlConnection>;

export const SamlTrust = defineEntity({
  name: 'SamlTrust',
  tableName: 'saml_trusts',
  uniques: [{ properties: ['connection', 'organization'] }],
  properties: {
    id: p.string().primary(),
    connection: () => p.manyToOne(SamlConnection).ref().deleteRule('cascade'),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade').index(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type SamlTrustEntity = InferEntity<typeof SamlTrust>;

/** Our AuthnRequest ids: InResponseTo must name an unused, unexpired one. */
export const SamlRequest = defineEntity({
  name: 'SamlRequest',
  tableName: 'saml_requests',
  indexes: [{ properties: ['expiresAt'] }],
  properties: {
    id: p.string().length(128).primary(),
    connection: () => p.manyToOne(SamlConnection).ref().deleteRule('cascade'),
    /** The organization the sign-in was started for (the RelayState we sent). */
    organizationId: p.string().length(64).nullable(),
    /** The browser session that started it, if any (a record only: a sign-in adds to a session only when the ACS request presents its secret). */
    sessionId: p.string().length(64).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
  },
});
export type SamlRequestEntity = InferEntity<typeof SamlRequest>;

/** Assertion ids already accepted, until they expire: insert-or-fail on the unique key. */
export const UsedAssertion = defineEntity({
  name: 'UsedAssertion',
  tableName: 'used_assertions',
  uniques: [{ properties: ['connection', 'assertionId'] }],
  indexes: [{ properties: ['expiresAt'] }],
  properties: {
    id: p.string().primary(),
    connection: () => p.manyToOne(SamlConnection).ref().deleteRule('cascade'),
    assertionId: p.string().length(256),
    expiresAt: p.datetime(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type UsedAssertionEntity = InferEntity<typeof UsedAssertion>;

/** A refused sign-in, for the connection's ORG_ADMINs (the user saw only the safe message). */
export const SamlSignInFailure = defineEntity({
  name: 'SamlSignInFailure',
  tableName: 'saml_sign_in_failures',
  indexes: [{ properties: ['connection', 'occurredAt'] }],
  properties: {
    id: p.string().primary(),
    connection: () => p.manyToOne(SamlConnection).ref().deleteRule('cascade'),
    code: p.string().length(32),
    /** What the user was shown. */
    message: p.text(),
    /** Internal detail for admins (library error, expected vs. received values). */
    detail: p.text().nullable(),
    email: p.string().length(254).nullable(),
    occurredAt: p.datetime(),
  },
});
export type SamlSignInFailureEntity = InferEntity<typeof SamlSignInFailure>;

export const SAML_ENTITIES = [SamlConnection, SamlTrust, SamlRequest, UsedAssertion, SamlSignInFailure];
