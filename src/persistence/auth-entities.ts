/**
 * Sign-in without SSO and verified domains (SPEC §7): email one-time codes and links,
 * invitation links, and the DNS domains organizations prove they own.
 * Every secret is stored as its SHA-256; the secret itself only travels in the email.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Organization, User } from './entities.js';

/** One email sign-in challenge: a 6-digit code and a link token, for one email, once. */
export const EmailChallenge = defineEntity({
  name: 'EmailChallenge',
  tableName: 'email_challenges',
  indexes: [{ properties: ['email', 'createdAt'] }],
  properties: {
    id: p.string().primary(),
    /** Canonical email; not a foreign key: a challenge may be for an email that has no user yet. */
    email: p.string().length(254),
    codeHash: p.string().length(64),
    linkHash: p.string().length(64).unique(),
    /** Wrong codes entered so far; at the limit the challenge is dead. */
    attempts: p.integer().default(0),
    createdAt: p.datetime(),
    /** Set earlier than 10 minutes after creation when a newer challenge replaced this one. */
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
  },
});
export type EmailChallengeEntity = InferEntity<typeof EmailChallenge>;

/** A single-use invitation link of one membership (SPEC §7). */
export const Invitation = defineEntity({
  name: 'Invitation',
  tableName: 'invitations',
  indexes: [{ properties: ['organization', 'user'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    user: () => p.manyToOne(User).ref().deleteRule('cascade').index(),
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    /** When the link stopped working before its expiry, and why: USED, REVOKED or REPLACED (by a resend). */
    endedAt: p.datetime().nullable(),
    endedReason: p.string().$type<'USED' | 'REVOKED' | 'REPLACED'>().length(16).nullable(),
  },
});
export type InvitationEntity = InferEntity<typeof Invitation>;

/** A DNS domain an organization claims; verified once its TXT record is found. */
export const OrganizationDomain = defineEntity({
  name: 'OrganizationDomain',
  tableName: 'organization_domains',
  uniques: [{ properties: ['organization', 'domain'] }],
  properties: {
    id: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    /** Lower-case ASCII (punycode), no trailing dot. */
    domain: p.string().length(253),
    /** The value published as `orgway-verification=<token>`. */
    token: p.string().length(64),
    /** The domain again, only while verified: its unique index lets one organization at most hold it verified. */
    verifiedDomain: p.string().length(253).nullable().unique(),
    verifiedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
  },
});
export type OrganizationDomainEntity = InferEntity<typeof OrganizationDomain>;

export const AUTH_ENTITIES = [EmailChallenge, Invitation, OrganizationDomain];
