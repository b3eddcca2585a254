/**
 * Who may see and change what. "Not a member" is NOT_FOUND (an organization's
 * existence is never leaked); "member who cannot enter" and "not ORG_ADMIN" are FORBIDDEN.
 */
import { Membership, type MembershipEntity, Organization, type OrganizationEntity } from '../persistence/entities.js';
import type { Em } from '../persistence/orm.js';
import { canEnter, DomainError, notFound } from './model/index.js';

/** The authenticated caller of a use case. */
export interface Principal {
  userId: string;
  sessionId: string;
  sessionKind: 'SESSION' | 'API_TOKEN';
  currentOrganizationId: string | null;
  /** The user row read with the session (saves a statement per request). */
  user?: { id: string; email: string; displayName: string | null; lastVisitedOrganizationId: string | null; createdAt: Date };
}

export type AccessNeed = 'member' | 'enter' | 'admin';

export const findMembership = (em: Em, userId: string, organizationId: string): Promise<MembershipEntity | null> =>
  em.findOne(Membership, { user: userId, organization: organizationId }, { populate: ['organization'] });

export const organizationNotFound = (id: string): DomainError => notFound('Organization', id);

/**
 * Loads the caller's membership in an organization and checks it meets `need`:
 * `member` (listed, possibly unable to enter), `enter`, or `admin` (ORG_ADMIN who can enter).
 */
export const requireAccess = async (
  em: Em,
  principal: Principal,
  organizationId: string,
  need: AccessNeed,
): Promise<{ membership: MembershipEntity; organization: OrganizationEntity }> => {
  const membership = await findMembership(em, principal.userId, organizationId);
  if (!membership) throw organizationNotFound(organizationId);
  assertAccess(membership, need);
  return { membership, organization: membership.organization.getEntity() };
};

export const assertAccess = (membership: { role: MembershipEntity['role']; status: MembershipEntity['status']; organization: { id: string } }, need: AccessNeed): void => {
  if (need === 'member') return;
  if (!canEnter(membership)) {
    const why = membership.status === 'DISABLED' ? 'your membership is DISABLED' : 'your role is NO_ACCESS';
    throw new DomainError('FORBIDDEN', `You cannot enter organization "${membership.organization.id}": ${why}. Ask one of its ORG_ADMINs.`, {
      organizationId: membership.organization.id,
    });
  }
  if (need === 'admin' && membership.role !== 'ORG_ADMIN')
    throw new DomainError('FORBIDDEN', `This needs the ORG_ADMIN role in organization "${membership.organization.id}"; you are ${membership.role}.`, {
      organizationId: membership.organization.id,
      required: 'ORG_ADMIN',
    });
};

export const loadOrganization = async (em: Em, id: string): Promise<OrganizationEntity> => {
  const org = await em.findOne(Organization, { id });
  if (!org) throw organizationNotFound(id);
  return org;
};
