/**
 * SCIM 2.0 provisioning (SPEC §3): bearer tokens scoped to one organization, and the
 * per-organization SCIM view of a membership (userName, externalId and the other
 * attributes an identity provider keeps for this organization only).
 *
 * The shared identity (email, display name) stays on `users`; everything an IdP sends
 * that belongs to one organization lives here, so one organization's provisioning
 * never changes what another organization sees.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Membership, Organization } from './entities.js';

export const ScimToken = defineEntity({
  name: 'ScimToken',
  tableName: 'scim_tokens',
  indexes: [{ properties: ['organization', 'createdAt'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    name: p.string().length(100),
    /** SHA-256 (hex) of the bearer secret; the secret itself is never stored. */
    tokenHash: p.string().length(64).unique(),
    /** The ORG_ADMIN who created it (plain column: the audit outlives the user). */
    createdByUserId: p.string().length(64).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
  },
});
export type ScimTokenEntity = InferEntity<typeof ScimToken>;

/**
 * One row per membership that SCIM has provisioned or changed. Members without a row
 * (added by GraphQL, SAML or JIT) appear in SCIM with their email as userName.
 */
export const ScimUser = defineEntity({
  name: 'ScimUser',
  tableName: 'scim_users',
  uniques: [
    // userName is unique per organization and compared case-insensitively (RFC 7643 §4.1.1).
    { properties: ['organization', 'userNameKey'] },
    // externalId is the IdP's key; unique per organization, case-exact.
    { properties: ['organization', 'externalId'] },
  ],
  properties: {
    membership: () => p.manyToOne(Membership).ref().primary().deleteRule('cascade'),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    userName: p.string().length(255),
    /** lower(userName): the lookup key of `filter=userName eq "…"`. */
    userNameKey: p.string().length(255),
    externalId: p.string().length(255).nullable(),
    /** Other User attributes kept for this organization: name, title, phoneNumbers, the enterprise extension, … */
    attributes: p.json<Record<string, unknown>>().default('{}'),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type ScimUserEntity = InferEntity<typeof ScimUser>;

export const SCIM_ENTITIES = [ScimToken, ScimUser];
