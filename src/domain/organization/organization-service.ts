/** Organizations and their automatic user access settings. */
import { LockMode } from '@mikro-orm/core';
import { Membership, Organization, type OrganizationEntity, User } from '../../persistence/entities.js';
import { SamlConnection, SamlTrust } from '../../persistence/saml-entities.js';
import { type Principal, requireAccess } from '../access.js';
import { ACCESS_CHANNEL } from '../events/access-watch.js';
import { findOrCreateUser, type IssuedSecret, issueSession } from '../identity/identity-service.js';
import { membershipWriter } from '../membership/membership-writer.js';
import {
  type Actor,
  type AutomaticUserAccessSettings,
  badInput,
  checkName,
  checkOrganizationId,
  DomainError,
  canonicalDomain,
  normalizeEmail,
  notFound,
  ROLES_GRANTABLE_BY_AUTOMATION,
} from '../model/index.js';
import { newId } from '../runtime.js';
import type { TransactionRunner, UnitOfWork } from '../unit-of-work.js';

const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

export interface BootstrapResult {
  organization: OrganizationEntity;
  userId: string;
  email: string;
  apiToken: IssuedSecret;
}

export class OrganizationService {
  constructor(private readonly tx: TransactionRunner) {}

  /** Creates an organization; the creator becomes its ORG_ADMIN. */
  createOrganization(principal: Principal, input: { id?: string | null; name: string }): Promise<OrganizationEntity> {
    const name = checkName(input.name, 'name');
    const id = input.id == null ? null : checkOrganizationId(input.id, 'id');
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const user = await uow.em.findOneOrFail(User, { id: principal.userId });
      const org = await this.insertOrganization(uow, id, name);
      membershipWriter(uow).join(user, org, { role: 'ORG_ADMIN', status: 'ACTIVE', source: 'MANUAL' });
      // Its creator must be able to enter it: it trusts the connections the creating session signed in through.
      for (const connectionId of principal.scope.connectionIds)
        uow.em.create(SamlTrust, { id: newId('str'), connection: uow.em.getReference(SamlConnection, connectionId), organization: org, createdAt: uow.now });
      return org;
    });
  }

  /** CLI: an organization, its first ORG_ADMIN and an API token for that admin. */
  bootstrap(input: { organizationName: string; organizationId?: string | null; adminEmail: string }, actor: Actor = { kind: 'cli' }): Promise<BootstrapResult> {
    const name = checkName(input.organizationName, 'org-name');
    const email = normalizeEmail(input.adminEmail, 'admin-email');
    const id = input.organizationId == null ? null : checkOrganizationId(input.organizationId, 'org-id');
    return this.tx.run(actor, async (uow) => {
      const org = await this.insertOrganization(uow, id, name);
      const user = await findOrCreateUser(uow, email);
      membershipWriter(uow).join(user, org, { role: 'ORG_ADMIN', status: 'ACTIVE', source: 'MANUAL' });
      const apiToken = issueSession(uow, user, 'API_TOKEN', { organizationId: org.id, name: `bootstrap ${org.id}`, ttlSeconds: null, authentications: ['OPERATOR'] });
      return { organization: org, userId: user.id, email, apiToken };
    });
  }

  /**
   * CLI recovery of a locked-out organization: the user (created when new) becomes an ACTIVE
   * ORG_ADMIN there — from any status, DISABLED included, as only the operator can decide — and
   * gets an OPERATOR API token. Events carry the actor `cli`.
   */
  grantAdmin(input: { organizationId: string; adminEmail: string }, actor: Actor = { kind: 'cli' }): Promise<BootstrapResult> {
    const organizationId = checkOrganizationId(input.organizationId, 'org-id');
    const email = normalizeEmail(input.adminEmail, 'admin-email');
    return this.tx.run(actor, async (uow) => {
      const org = await uow.em.findOne(Organization, { id: organizationId });
      if (!org) throw notFound('Organization', organizationId);
      const user = await findOrCreateUser(uow, email);
      const writer = membershipWriter(uow);
      const existing = await uow.em.findOne(Membership, { user, organization: org }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!existing) writer.join(user, org, { role: 'ORG_ADMIN', status: 'ACTIVE', source: 'MANUAL' });
      else {
        if (existing.role !== 'ORG_ADMIN') writer.setRole(existing, 'ORG_ADMIN');
        if (existing.status !== 'ACTIVE') writer.setStatus(existing, 'ACTIVE');
      }
      const apiToken = issueSession(uow, user, 'API_TOKEN', { organizationId: org.id, name: `grant-admin ${org.id}`, ttlSeconds: null, authentications: ['OPERATOR'] });
      return { organization: org, userId: user.id, email, apiToken };
    });
  }

  setAutomaticUserAccess(principal: Principal, organizationId: string, input: AutomaticUserAccessSettings): Promise<OrganizationEntity> {
    if (!ROLES_GRANTABLE_BY_AUTOMATION.includes(input.defaultRole))
      throw badInput('input.defaultRole', `${input.defaultRole} cannot be granted automatically; use one of ${ROLES_GRANTABLE_BY_AUTOMATION.join(', ')}.`, {
        allowed: ROLES_GRANTABLE_BY_AUTOMATION,
      });
    const domains = [...new Set(input.allowedDomains.map((d) => d.trim().replace(/^@/, '')).map((d) => canonicalDomain(d) ?? d.toLowerCase()))];
    for (const d of domains)
      if (!DOMAIN_PATTERN.test(d)) throw badInput('input.allowedDomains', `"${d}" is not a domain name (expected e.g. example.com).`);
    if (domains.length > 100) throw badInput('input.allowedDomains', 'at most 100 domains.');
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      const { organization } = await requireAccess(uow.em, principal, organizationId, 'admin');
      organization.autoAccessEnabled = input.enabled;
      organization.autoAccessDefaultRole = input.defaultRole;
      organization.autoAccessDomains = domains.sort();
      organization.updatedAt = uow.now;
      return organization;
    });
  }

  /** The organization's own settings (automatic access, required SSO). Needs a membership that can enter it. */
  async settings(principal: Principal, organizationId: string): Promise<OrganizationEntity> {
    return this.tx.read(async (em) => (await requireAccess(em, principal, organizationId, 'enter')).organization);
  }

  /**
   * Required SSO (SPEC §7): the organization stops accepting EMAIL authentication, at once —
   * sessions signed in by email lose it, and open subscriptions on every instance are re-checked
   * (NOTIFY in the transaction). Needs ORG_ADMIN, a trusted connection to send members to, and a
   * caller who would still be accepted (no one locks themselves out by accident).
   */
  setRequireSso(principal: Principal, organizationId: string, required: boolean): Promise<OrganizationEntity> {
    return this.tx.run({ kind: 'user', userId: principal.userId }, async (uow) => {
      await uow.em.execute('select id from organizations where id = ? for no key update', [organizationId]);
      const { organization } = await requireAccess(uow.em, principal, organizationId, 'admin');
      if (organization.requireSso === required) return organization;
      if (required) {
        const trusted = await uow.em.find(SamlTrust, { organization }, { fields: ['connection'] });
        if (trusted.length === 0)
          throw new DomainError(
            'CONFLICT',
            `Organization "${organizationId}" trusts no SSO connection, so its members would have no way in. Create or trust a SAML connection first, then require SSO.`,
            { organizationId },
          );
        const ids = new Set(trusted.map((t) => t.connection.id));
        if (!principal.scope.operator && !principal.scope.connectionIds.some((id) => ids.has(id)))
          throw new DomainError(
            'CONFLICT',
            `Your session did not sign in through one of organization "${organizationId}"'s trusted connections, so requiring SSO would lock you out. Sign in through its SSO connection first, then require SSO.`,
            { organizationId },
          );
      }
      organization.requireSso = required;
      organization.updatedAt = uow.now;
      await uow.em.execute('select pg_notify(?, ?)', [ACCESS_CHANNEL, organization.id]);
      return organization;
    });
  }

  private async insertOrganization(uow: UnitOfWork, id: string | null, name: string): Promise<OrganizationEntity> {
    if (id && (await uow.em.count(Organization, { id })) > 0)
      throw new DomainError('CONFLICT', `Organization id "${id}" is taken; choose another id or leave it out to have one generated.`, { field: 'id' });
    return uow.em.create(Organization, {
      id: id ?? newId('org'),
      name,
      autoAccessEnabled: false,
      autoAccessDefaultRole: 'MEMBER',
      autoAccessDomains: [],
      createdAt: uow.now,
      updatedAt: uow.now,
    });
  }
}

