/**
 * MikroORM entities (defineEntity, no decorators). Table and column names are
 * snake_case; raw SQL in the read paths relies on them, and the migrations create them.
 */
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { Authentication, MembershipEventType, MembershipSource, OrganizationRole, UserStatus } from '../domain/model/index.js';

const timestamps = {
  createdAt: p.datetime().onCreate(() => new Date()),
  updatedAt: p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date()),
};

export const Organization = defineEntity({
  name: 'Organization',
  tableName: 'organizations',
  properties: {
    id: p.string().primary(),
    name: p.string().length(200),
    autoAccessEnabled: p.boolean().default(false),
    autoAccessDefaultRole: p.string().$type<OrganizationRole>().length(16).default('MEMBER'),
    /** Lower-cased email domains allowed by automatic access; empty = any domain. */
    autoAccessDomains: p.json<string[]>().default('[]'),
    /** Refuses EMAIL authentication: members must come through a trusted connection. */
    requireSso: p.boolean().default(false),
    ...timestamps,
  },
});
export type OrganizationEntity = InferEntity<typeof Organization>;

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.string().primary(),
    email: p.string().length(254).unique(),
    displayName: p.string().length(200).nullable(),
    lastVisitedOrganization: () => p.manyToOne(Organization).ref().nullable().deleteRule('set null'),
    ...timestamps,
  },
});
export type UserEntity = InferEntity<typeof User>;

export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  uniques: [{ properties: ['organization', 'user'] }],
  // Members pages: an ordered range per organization (and status), whatever the size of the database.
  indexes: [{ properties: ['organization', 'id'] }, { properties: ['organization', 'status', 'id'] }],
  properties: {
    id: p.string().primary(),
    user: () => p.manyToOne(User).ref().deleteRule('cascade').index(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    role: p.string().$type<OrganizationRole>().length(16),
    status: p.string().$type<UserStatus>().length(16),
    source: p.string().$type<MembershipSource>().length(16),
    lastVisitedAt: p.datetime().nullable(),
    ...timestamps,
  },
});
export type MembershipEntity = InferEntity<typeof Membership>;

export const Team = defineEntity({
  name: 'Team',
  tableName: 'teams',
  uniques: [{ properties: ['organization', 'teamId'] }, { properties: ['organization', 'externalId'] }],
  properties: {
    /** Internal key; the public id is `teamId`, unique per organization. */
    key: p.string().primary(),
    organization: () => p.manyToOne(Organization).ref().deleteRule('cascade'),
    teamId: p.string().length(64),
    name: p.string().length(200),
    policies: p.json<string[]>().default('[]'),
    externalId: p.string().length(255).nullable(),
    ...timestamps,
  },
});
export type TeamEntity = InferEntity<typeof Team>;

export const TeamMember = defineEntity({
  name: 'TeamMember',
  tableName: 'team_members',
  uniques: [{ properties: ['team', 'membership'] }],
  properties: {
    id: p.string().primary(),
    team: () => p.manyToOne(Team).ref().deleteRule('cascade'),
    membership: () => p.manyToOne(Membership).ref().deleteRule('cascade').index(),
    source: p.string().$type<MembershipSource>().length(16),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type TeamMemberEntity = InferEntity<typeof TeamMember>;

export const Session = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p.string().primary(),
    /** SHA-256 of the bearer secret; the secret itself is never stored. */
    tokenHash: p.string().length(64).unique(),
    kind: p.string().$type<'SESSION' | 'API_TOKEN'>().length(16),
    name: p.string().length(200).nullable(),
    user: () => p.manyToOne(User).ref().deleteRule('cascade').index(),
    currentOrganization: () => p.manyToOne(Organization).ref().nullable().deleteRule('set null'),
    /** How the user proved who they are (`SSO:<connectionId>`, `EMAIL`, `OPERATOR`); decides where the session may act. */
    authentications: p.json<Authentication[]>().default('[]'),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type SessionEntity = InferEntity<typeof Session>;

export const SigningKey = defineEntity({
  name: 'SigningKey',
  tableName: 'signing_keys',
  properties: {
    kid: p.string().primary(),
    algorithm: p.string().length(16),
    privateJwk: p.json<Record<string, unknown>>(),
    publicJwk: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** Set when a newer key takes over signing; the key stays in the JWKS until `expiresAt`. */
    retiredAt: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
  },
});
export type SigningKeyEntity = InferEntity<typeof SigningKey>;

export const MembershipEvent = defineEntity({
  name: 'MembershipEvent',
  tableName: 'membership_events',
  indexes: [
    { properties: ['organizationId', 'id'] },
    { properties: ['userId', 'id'] },
    // Organization.events filtered by types or by user (docs/audit-log.md).
    { properties: ['organizationId', 'type', 'id'] },
    { properties: ['organizationId', 'userId', 'id'] },
  ],
  properties: {
    // Written by the append: (transaction id << 20) + place in the transaction (docs/events.md).
    id: p.bigint('string').primary().autoincrement(false),
    type: p.string().$type<MembershipEventType>().length(16),
    // Plain columns, not foreign keys: the log outlives the rows it describes.
    organizationId: p.string().length(64),
    userId: p.string().length(64),
    membershipId: p.string().length(64),
    actor: p.string().length(200),
    role: p.string().$type<OrganizationRole>().length(16).nullable(),
    status: p.string().$type<UserStatus>().length(16).nullable(),
    previousRole: p.string().$type<OrganizationRole>().length(16).nullable(),
    previousStatus: p.string().$type<UserStatus>().length(16).nullable(),
    teamIds: p.json<string[]>().nullable(),
    previousTeamIds: p.json<string[]>().nullable(),
    occurredAt: p.datetime().onCreate(() => new Date()),
  },
});
export type MembershipEventEntity = InferEntity<typeof MembershipEvent>;

export const OutboxEmail = defineEntity({
  name: 'OutboxEmail',
  tableName: 'outbox_emails',
  indexes: [{ properties: ['sentAt', 'nextAttemptAt'] }],
  properties: {
    id: p.string().primary(),
    kind: p.string().length(32),
    toAddress: p.string().length(254),
    subject: p.string().length(300),
    textBody: p.text(),
    createdAt: p.datetime().onCreate(() => new Date()),
    nextAttemptAt: p.datetime().onCreate(() => new Date()),
    attempts: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    sentAt: p.datetime().nullable(),
    lastError: p.text().nullable(),
  },
});
export type OutboxEmailEntity = InferEntity<typeof OutboxEmail>;

/** The core entities; src/persistence/all-entities.ts adds the SAML and SCIM ones. */
export const CORE_ENTITIES = [
  Organization,
  User,
  Membership,
  Team,
  TeamMember,
  Session,
  SigningKey,
  MembershipEvent,
  OutboxEmail,
];
